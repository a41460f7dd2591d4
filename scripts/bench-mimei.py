#!/usr/bin/env python3
"""MiMei benchmark (issue 5): time from `publish` to "all N providers hold the new version" on
N+1 real node processes on loopback, p50/p99 over PUBLISHES publishes, beside the DHT lookup
time (findpeer) measured in the same run.
    scripts/bench-mimei.py [--providers 20] [--publishes 50]
"""
import argparse, json, os, subprocess, sys, tempfile, threading, time, urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("--providers", type=int, default=20)
ap.add_argument("--publishes", type=int, default=50)
a = ap.parse_args()
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
subprocess.run(["cargo", "build", "--release", "-q", "-p", "cli"], cwd=root, check=True)
BIN = os.path.join(root, "target/release/leither")
work = tempfile.mkdtemp(prefix="leither-mbench.")
procs = []


def cli(repo, *args):
    return subprocess.run([BIN, "--repo", repo, *args], check=True, capture_output=True, text=True).stdout


def start(i, boot=None):
    repo = os.path.join(work, f"n{i}")
    cli(repo, "init", "-p", "0", "--peer-port", "0", "--listen", "127.0.0.1", *(["-b", boot] if boot else []))
    p = subprocess.Popen([BIN, "--repo", repo, "run"], stdout=subprocess.PIPE, text=True)
    for line in p.stdout:
        if line.startswith("API and gateway on "):
            api = line.split()[-1]
            break
    threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()
    procs.append(p)
    return repo, api


def call(api, method, args, token=None):
    req = urllib.request.Request(f"{api}/api/{method}", data=json.dumps(args).encode(), method="POST")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)["result"]


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, round((len(v) - 1) * q))]


try:
    author, aapi = start(0)
    boot = call(aapi, "SwarmLocal", [])[0]
    nodes = [start(i + 1, boot) for i in range(a.providers)]
    time.sleep(1)
    tok = open(os.path.join(author, "api.token")).read().strip()
    mid = call(aapi, "MMCreate", ["", "", "bench", 1], tok)
    f = os.path.join(work, "v.txt")
    open(f, "w").write("v0\n")
    cid = cli(author, "ipfs", "add", f).split()[-1].split("/")[-1]
    call(aapi, "MFSetCid", [mid, cid], tok)
    call(aapi, "MiMeiPublish", [mid], tok)
    for repo, api in nodes:
        call(api, "MiMeiProvide", [mid], open(os.path.join(repo, "api.token")).read().strip())
    # DHT lookups in the same run: every provider finds the author.
    author_id = call(aapi, "GetVar", ["nodeid"])
    lookups = []
    for repo, api in nodes:
        t = time.time()
        call(api, "DhtFindPeer", [author_id])
        lookups.append(time.time() - t)
    times = []
    for k in range(1, a.publishes + 1):
        open(f, "w").write(f"version {k}\n")
        cid = cli(author, "ipfs", "add", f).split()[-1].split("/")[-1]
        ver = call(aapi, "MFSetCid", [mid, cid], tok)["ver"]
        t0 = time.time()
        call(aapi, "MiMeiPublish", [mid], tok)
        pending = list(nodes)
        while pending:
            pending = [(r, api) for r, api in pending if call(api, "GetVar", ["mmversions", mid]).get("last") != ver]
            if time.time() - t0 > 30:
                sys.exit(f"publish {k}: {len(pending)} providers did not follow within 30 s")
            if pending:
                time.sleep(0.005)
        times.append(time.time() - t0)
    ms = lambda x: f"{x * 1000:.0f} ms"
    print(f"publish → all {a.providers} providers hold the new version, {a.publishes} publishes on {a.providers + 1} processes:")
    print(f"  p50 {ms(pct(times, 0.5))}  p99 {ms(pct(times, 0.99))}  max {ms(max(times))}")
    print(f"DHT findpeer in the same run ({len(lookups)} lookups): p50 {ms(pct(lookups, 0.5))}  p99 {ms(pct(lookups, 0.99))}")
finally:
    for p in procs:
        p.kill()
