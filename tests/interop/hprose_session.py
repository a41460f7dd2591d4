"""Sessions through the real hprose Python client.
Usage: hprose_session.py URL CID OWNER.ppt OTHER.ppt TAMPERED.ppt EXPIRED.ppt GIFT.ppt — prints JSON."""
import json
import sys

import hprose

url, cid = sys.argv[1:3]
owner, other, tampered, expired, gift = [open(p).read() for p in sys.argv[3:8]]
c = hprose.HttpClient(url)
out = {}


def attempt(name, f):
    try:
        out[name] = f()
    except Exception as e:  # the server's E message
        out[name] = {"error": str(e)}


attempt("guest", lambda: c.Login())
gsid = out["guest"]["Sid"]
attempt("guest_getvar", lambda: c.GetVar(gsid, "nodeid"))
attempt("guest_write", lambda: c.PinRm(gsid, cid))
attempt("guest_userid", lambda: c.GetVar(gsid, "userid"))
attempt("owner", lambda: c.Login(owner))
osid = out["owner"]["Sid"]
attempt("owner_pins", lambda: c.PinLs(osid))
attempt("owner_write", lambda: c.PinRm(osid, cid))
attempt("other", lambda: c.LoginWithPPT(other))
attempt("other_write", lambda: c.PinAdd(out["other"]["Sid"], cid))
attempt("tampered", lambda: c.Login(tampered))
attempt("expired", lambda: c.Login(expired))
attempt("gift", lambda: c.Login(gift))
attempt("logout", lambda: c.Logout(osid))
attempt("after_logout", lambda: c.PinAdd(osid, cid))
attempt("register", lambda: c.Register("alice", "s3cret", "alice@example.org"))
attempt("register_again", lambda: c.Register("alice", "other", ""))
attempt("register_empty_pass", lambda: c.Register("bob", "", ""))
attempt("login_name", lambda: c.Login("alice", "s3cret"))
attempt("alice_userid", lambda: c.GetVar(out["login_name"]["Sid"], "userid"))
attempt("login_name_bad", lambda: c.Login("alice", "wrong"))
attempt("login_name_unknown", lambda: c.Login("nobody", "s3cret"))
for i in range(12):
    attempt("flood", lambda: c.Login(tampered))
print(json.dumps(out))
