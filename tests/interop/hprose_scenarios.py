"""The original's test scenarios (leither-facts §9), driven through the real hprose Python client.
Usage: hprose_scenarios.py URL USER.ppt — asserts every value; prints one line per scenario.
The user is any passport holder the node lets make MiMeis (not necessarily its owner)."""
import sys

import hprose

from checks import check, refused

url, user_ppt = sys.argv[1], open(sys.argv[2]).read()
c = hprose.HttpClient(url)


def pairs(ps):
    return [(p["member"], p["score"]) for p in ps]


# key-auth-login: the user's passport logs in; GetVar userid is the passport's holder.
login = c.LoginWithPPT(user_ppt)
sid, uid = login["Sid"], login["Uid"]
check("sid", len(sid), 40)
check("userid", c.GetVar(sid, "userid"), uid)
# SignPPT: the node signs a passport for the session's user; reserved keys are not the caller's.
signed = c.SignPPT(sid, {"App": "demo", "Userid": "forged", "CertFor": "Self"}, 60)
assert '"SignerID"' in signed and "App=demo" in signed and f"Userid={uid}" in signed, signed
assert "forged" not in signed and "CertFor" not in signed, signed
refused("signppt period", lambda: c.SignPPT(sid, {}, 20000), "out of range")
refused("signppt guest", lambda: c.SignPPT(c.Login()["Sid"], {}, 60), "logged-in session")
print("ok key-auth-login")

# mimei.lua: create a DB, open cur, strings, a table value keeps its keys' case, hashes.
mid = c.MMCreate(sid, "", "", "testMiMei", 2, 0x07276705)
check("mid", len(mid), 27)
mm = c.MMOpen(sid, mid, "cur")
check("set", c.Set(mm, "key0", "value0"), "OK")
check("get", c.Get(mm, "key0"), "value0")
c.Set(mm, "tbl", {"name": "lua", "Age": 3})
check("table value", c.Get(mm, "tbl"), {"name": "lua", "Age": 3})
check("hset", c.Hset(mm, "h", "f0", "v0"), 1)
check("hget", c.Hget(mm, "h", "f0"), "v0")
check("hmset", c.Hmset(mm, "h", {"Field": "f1", "Value": "v1"}, {"Field": "f2", "Value": "v2"}), "OK")
check("hmget", c.Hmget(mm, "h", "f0", "f2", "nope"), ["v0", "v2", None])
print("ok mimei.lua")

# hset.lua: a table in a hash field comes back as a map.
c.Hset(mm, "ht", "conf", {"k": "v", "K2": 2})
check("hset table", c.Hget(mm, "ht", "conf"), {"k": "v", "K2": 2})
print("ok hset.lua")

# zset.lua: negative scores; ZRange(2, -1) in Redis rank order.
members = [{"Score": -i, "Member": f"m{i}"} for i in range(1, 6)]
check("zadd", c.Zadd(mm, "z", *members), 5)
check("zrange", pairs(c.Zrange(mm, "z", 2, -1)), [("m3", -3), ("m2", -2), ("m1", -1)])
check("zrangebyscore", pairs(c.Zrangebyscore(mm, "z", -4, -3, 0, -1)), [("m4", -4), ("m3", -3)])
print("ok zset.lua")

# guest.lua: a guest opens cur of a 0x07276705 database and reads; writing is refused.
gsid = c.Login()["Sid"]
gm = c.MMOpen(gsid, mid, "cur")
check("guest get", c.Get(gm, "key0"), "value0")
check("guest without a session", c.Get(c.MMOpen("", mid, "cur"), "key0"), "value0")
check("guest hget", c.Hget(gm, "h", "f1"), "v1")
refused("guest set", lambda: c.Set(gm, "key0", "evil"), "read-only")
check("unchanged", c.Get(mm, "key0"), "value0")
# A database whose word has no guest bits keeps guests out.
private = c.MMCreate(sid, "", "", "private", 2, 0x07276700)
refused("guest open private", lambda: c.MMOpen(gsid, private, "cur"), "does not let guests read")
# An empty session id is the original's guest for every method: reads answer, writes are refused.
check("guest getvar", c.GetVar("", "mminfo", mid)["Mark"], "testMiMei")
check("guest ver", c.GetVar("", "ver") != "", True)
refused("guest backup", lambda: c.MMBackup("", mid, ""), "needs its API token")
refused("guest publish", lambda: c.MiMeiPublish("", "", mid), "needs its API token")
refused("guest right", lambda: c.MMSetRight("", mid, "", 7), "needs its API token")
print("ok guest.lua")

# backup.lua: 101 keys and 101 hash fields, MMBackup, read `last`; cur stays readable.
for i in range(101):
    c.Set(mm, f"k{i}", f"value{i}")
    c.Hset(mm, "hb", f"field{i}", f"value{i}")
ver = c.MMBackup(sid, mid, "first backup")
check("backup ver", ver, 1)
# The original's scripts wait for the backup's message with PullMsg.
check("backup message", c.PullMsg(sid, 3), "ver=1")
check("no more messages", c.PullMsg(sid, 0.2), "")
last = c.MMOpen(sid, mid, "last")
check("last hmget", c.Hmget(last, "hb", "field99"), ["value99"])
refused("last is read-only", lambda: c.Set(last, "k0", "x"), "read-only")
check("cur still", c.Get(mm, "k100"), "value100")
print("ok backup.lua")

# backupReadDb.lua: the same create parameters give the same mid; `last` reads back.
check("idempotent create", c.MMCreate(sid, "", "", "testMiMei", 2, 0x07276705), mid)
last = c.MMOpen(sid, mid, "last")
check("last hmget 2", c.Hmget(last, "hb", "field99", "field0"), ["value99", "value0"])
check("last hgetall", len(c.Hgetall(last, "hb")), 101)
print("ok backupReadDb.lua")

# Transactions (Go tx example): Begin, overwrite, read new, Rollback → old; Commit keeps new.
for i in range(10):
    c.Hset(mm, "tx", f"f{i}", "old")
c.Begin(mm, 10)
for i in range(10):
    c.Hset(mm, "tx", f"f{i}", "new")
check("inside tx", c.Hget(mm, "tx", "f3"), "new")
c.Rollback(mm)
check("rolled back", c.Hget(mm, "tx", "f3"), "old")
c.Begin(mm, 10)
c.Hset(mm, "tx", "f3", "new")
c.Commit(mm)
check("committed", c.Hget(mm, "tx", "f3"), "new")
print("ok transactions")

# The Go examples (example/rpc), call for call: getvar ver, getstat, mdb base, backup.
check("go getvar ver", c.GetVar(sid, "ver") != "", True)
cpus = c.GetVar(sid, "cpu")
assert len(cpus) >= 1 and all(0 <= x <= 100 for x in cpus), cpus
check("go getstat disk", c.GetVar(sid, "disk")["total"] > 0, True)
check("go getstat memory", c.GetVar(sid, "virtualmemory")["total"] > 0, True)
base = c.MMCreate(sid, "", "", "mark testmdbbase", 2, 0x07276705)
bm = c.MMOpen(sid, base, "cur")
for i in range(10):
    c.Set(bm, f"key{i}", f"value{i}")
check("go mdb base", [c.Get(bm, f"key{i}") for i in range(10)], [f"value{i}" for i in range(10)])
for i in range(10):
    c.Lpush(bm, "list", f"item{i}")
bver = c.MMBackup(sid, base, "")
check("go backup message", c.PullMsg(sid, 3), f"ver={bver}")
old = c.MMOpen(sid, base, str(bver))
check("go backup lindex", [c.Lindex(old, "list", i) for i in range(10)], [f"item{9 - i}" for i in range(10)])
print("ok go examples")

# dht.lua: publish, then the info and versions through GetVar, and MiMeiShow.
pub = c.MiMeiPublish(sid, "", mid)
check("publish eol", pub["eol"], "168h")
info = c.GetVar(sid, "mminfo", mid)
check("mminfo", (info["Author"], info["Mark"], info["DataType"], info["Right"]), (uid, "testMiMei", 2, 0x07276705))
check("mmversions", [v["ver"] for v in c.GetVar(sid, "mmversions", mid)["versions"]], [1])
c.MiMeiShow(sid, "", mid)
print("ok dht.lua")

# delver.lua: 11 keys, MMDelVers(mid, "cur") wipes the current data; the open mmsid sees it.
for i in range(11):
    c.Set(mm, f"d{i}", i)
check("before delvers", c.Get(mm, "d10"), "10")
c.MMDelVers(sid, mid, "cur")
check("after delvers", [c.Get(mm, f"d{i}") for i in (0, 10)], [None, None])
check("version 1 kept", c.Hmget(c.MMOpen(sid, mid, "1"), "hb", "field5"), ["value5"])
print("ok delver.lua")

# Security: without a session writes are refused; an expired (logged out) session too.
refused("create without session", lambda: c.MMCreate("", "", "", "x", 2, 0), "needs its API token")
refused("create as guest", lambda: c.MMCreate(gsid, "", "", "x", 2, 0), "needs its API token")
refused("set right as guest", lambda: c.MMSetRight(gsid, mid, "", 7), "needs its API token")
# Logout tells the user's other sessions: their queue hears "offline".
other = c.LoginWithPPT(user_ppt)["Sid"]
c.Logout(sid)
refused("after logout", lambda: c.MMOpen(sid, mid, "cur"), "unknown or expired session")
check("offline notice", c.PullMsg(other, 3), "offline")
check("a guest has no queue", c.PullMsg(c.Login()["Sid"], 0.2), "")
print("all ok")
