#!/usr/bin/env python3
"""Users benchmark (issue 18), one run on loopback:
  1. logins per second (`LoginWithPPT`: the certificate's and the passport's ed25519 signatures,
     JSON, a session) from THREADS clients, beside `openssl speed ed25519` verifications per
     second on the same machine (a passport needs two, so the ceiling is verify/s / 2);
  2. Set/Get through the real Python hprose client on a database MiMei, as a user (their own
     passport, their own MiMei) and as the owner, beside redis-py against a real redis-server.
    scripts/bench-users.py [--logins 4000] [--threads 4] [--ops 3000]
"""
import argparse, http.client, json, os, re, subprocess, sys, tempfile, threading, time

import hprose
import redis

ap = argparse.ArgumentParser()
ap.add_argument("--logins", type=int, default=4000)
ap.add_argument("--threads", type=int, default=4)
ap.add_argument("--ops", type=int, default=3000)
a = ap.parse_args()
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
subprocess.run(["cargo", "build", "--release", "-q", "-p", "cli"], cwd=root, check=True)
BIN = os.path.join(root, "target/release/leither")
work = tempfile.mkdtemp(prefix="leither-ubench.")
repo = os.path.join(work, "n")


def cli(*args):
    return subprocess.run([BIN, "--repo", repo, *args], check=True, capture_output=True, text=True).stdout


cli("init", "-p", "0", "--peer-port", "0", "--listen", "127.0.0.1", "--resp-addr", "off")
cfg_path = os.path.join(repo, "config.json")
cfg = json.load(open(cfg_path))
# The login limits (10 a minute per identity, 120 per node) would cap this at 2/s: raised here.
cfg.setdefault("users", {}).update({"logins_per_identity_per_minute": 10**9, "logins_per_node_per_minute": 10**9})
cfg.setdefault("ipfs", {})["bootstrap"] = []
json.dump(cfg, open(cfg_path, "w"))
node = subprocess.Popen([BIN, "--repo", repo, "run"], stdout=subprocess.PIPE, text=True)
for line in node.stdout:
    if line.startswith("API and gateway on "):
        api = line.split()[-1]
        break
threading.Thread(target=lambda: [None for _ in node.stdout], daemon=True).start()
host, port = api.removeprefix("http://").split(":")
token = open(os.path.join(repo, "api.token")).read().strip()
k = lambda f: os.path.join(work, f)
cli("lpki", "genkey", "-o", k("u.key"))
cli("lpki", "gencert", "-k", k("u.key"), "-o", k("u.cert"))
cli("lpki", "signppt", "-c", k("u.cert"), "-m", "CertFor=Self", "-o", k("u.ppt"))
cli("lpki", "reqservice", "-c", k("u.cert"))
cli("lpki", "gencert", "-k", os.path.join(repo, "identity.key"), "-o", k("o.cert"))
cli("lpki", "signppt", "-c", k("o.cert"), "-m", "CertFor=Self", "-o", k("o.ppt"))
user_ppt, owner_ppt = open(k("u.ppt")).read(), open(k("o.ppt")).read()

# 1. Logins per second, keep-alive JSON calls from several threads.
body = json.dumps([user_ppt]).encode()
per = a.logins // a.threads


def logins():
    c = http.client.HTTPConnection(host, int(port))
    for _ in range(per):
        c.request("POST", "/api/LoginWithPPT", body, {"Content-Type": "application/json"})
        r = c.getresponse()
        assert r.status == 200 and b'"Sid"' in r.read()


t0 = time.perf_counter()
ts = [threading.Thread(target=logins) for _ in range(a.threads)]
[t.start() for t in ts]
[t.join() for t in ts]
login_rate = per * a.threads / (time.perf_counter() - t0)
out = subprocess.run(["openssl", "speed", "-seconds", "3", "ed25519"], capture_output=True, text=True).stdout
verify = float(re.search(r"253 bits \S+ \(Ed25519\)\s+\S+s\s+\S+s\s+\S+\s+([\d.]+)", out).group(1))
print(f"{os.cpu_count()} cores; {a.threads} client threads")
print(f"logins/s            {login_rate:9.0f}")
print(f"openssl verify/s    {verify:9.0f}  (a passport is 2 verifications: ceiling {verify / 2:.0f}/s)")
print(f"ratio logins / (verify/2) = {login_rate / (verify / 2):.2f}")

# 2. Set/Get through hprose as a user and as the owner; redis-py against redis-server.
c = hprose.HttpClient(f"{api}/webapi/")


def kv(sid, mark):
    mid = c.MMCreate(sid, "", "", mark, 2, 0x07276705)
    mm = c.MMOpen(sid, mid, "cur")
    t = time.perf_counter()
    for i in range(a.ops):
        c.Set(mm, f"k{i}", f"v{i}")
    s = a.ops / (time.perf_counter() - t)
    t = time.perf_counter()
    for i in range(a.ops):
        assert c.Get(mm, f"k{i}") == f"v{i}"
    return s, a.ops / (time.perf_counter() - t)


user = kv(c.LoginWithPPT(user_ppt)["Sid"], "bench-user")
owner = kv(c.LoginWithPPT(owner_ppt)["Sid"], "bench-owner")
rp = subprocess.run(["python3", "-c", "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])"],
                    capture_output=True, text=True).stdout.strip()
rs = subprocess.Popen(["redis-server", "--port", rp, "--bind", "127.0.0.1", "--save", ""], stdout=subprocess.DEVNULL,
                      cwd=work)
r = redis.Redis(port=int(rp))
for _ in range(100):
    try:
        r.ping()
        break
    except redis.ConnectionError:
        time.sleep(0.05)
t = time.perf_counter()
for i in range(a.ops):
    r.set(f"k{i}", f"v{i}")
rset = a.ops / (time.perf_counter() - t)
t = time.perf_counter()
for i in range(a.ops):
    assert r.get(f"k{i}") == f"v{i}".encode()
rget = a.ops / (time.perf_counter() - t)
rs.terminate()
print(f"\n{a.ops} unpipelined calls, one client (ops/s)   SET      GET")
print(f"hprose, a user's session          {user[0]:8.0f} {user[1]:8.0f}")
print(f"hprose, the owner's session       {owner[0]:8.0f} {owner[1]:8.0f}")
print(f"redis-py -> redis-server          {rset:8.0f} {rget:8.0f}")
print(f"user / owner                      {user[0] / owner[0]:8.2f} {user[1] / owner[1]:8.2f}")
print(f"user / redis                      {user[0] / rset:8.2f} {user[1] / rget:8.2f}")
cli("stop")
