#!/usr/bin/env python3
"""One real kubo 0.22 peer (libkubo from PyPI `kubo-python`, driven with ctypes) on loopback.

    kubo_peer.py --repo DIR --port P [--key ed25519|rsa] [--seed HEX] [--wan-server]

Creates the repo (once), rewrites its config for loopback (no bootstrap, no mDNS, TCP only on
127.0.0.1:P; P = 0 picks a free port), starts the node and prints one JSON line
{"id", "addrs", "key", "pid"} with the addresses it really listens on. kubo ignores SIGTERM:
end it with "quit" or SIGKILL. Then it reads
JSON-line commands on stdin and answers each with one JSON line, {"ok": true, ...} or
{"error": "..."}:

    {"cmd": "connect", "maddr": "/ip4/127.0.0.1/tcp/4001/p2p/12D3..."}
    {"cmd": "peers"}                                    -> {"peers": [{"id", "addr"}]}
    {"cmd": "add", "path": "/abs/file"}                 -> {"cid": "Qm..."}
    {"cmd": "download", "cid": ..., "dest": ..., "timeout_s": 30}
    {"cmd": "findpeer", "id": "12D3...", "timeout_s": 10} -> {"addrs": [...]}
    {"cmd": "quit"}

Every libkubo call runs in a worker thread and is bounded: past its timeout the reply is
{"error": "timeout"} (libkubo's `Download` never returns without a provider; the stuck thread
is left behind and dies with the process). libkubo links no HTTP RPC API and no gateway, so
there is no api_url; `AddFile` announces every block to the DHT itself (no explicit provide).
libkubo writes kubo.log into the working directory: this process works in DIR's parent.
`GOLOG_LOG_LEVEL` (e.g. "dht=debug,bitswap=debug") is read by kubo from the environment.
"""

import argparse
import base64
import ctypes
import glob
import hashlib
import json
import os
import sys
import threading

START_CWD = os.getcwd()  # relative paths in commands are relative to where this started


def here(path):
    return os.path.join(START_CWD, path).encode()


def load_libkubo():
    pattern = os.path.join(sys.prefix, "lib", "python3*", "site-packages", "ipfs_node", "libkubo", "libkubo_*.so")
    found = sorted(glob.glob(pattern))
    if not found:
        sys.exit(f"libkubo not found under {sys.prefix}: run tests/ipfs/setup.sh")
    lib = ctypes.CDLL(found[0])
    s, i, b = ctypes.c_char_p, ctypes.c_int, ctypes.c_bool
    p = ctypes.c_void_p  # returned C strings: read, then FreeString
    for name, args, res in [
        ("CreateRepo", [s], i),
        ("RunNode", [s], i),
        ("CleanupNode", [s], i),
        ("GetNodeID", [s], p),
        ("GetNodeMultiAddrs", [s], p),
        ("ConnectToPeer", [s, s], i),
        ("ListPeers", [s], p),
        ("AddFile", [s, s, b], p),
        ("Download", [s, s, s], i),
        ("FindPeer", [s, s, i], p),
        ("FreeString", [p], None),
    ]:
        f = getattr(lib, name)
        f.argtypes, f.restype = args, res
    return lib


LIB = None


def take(ptr):
    """A C string returned by libkubo, freed after reading."""
    if not ptr:
        return None
    text = ctypes.string_at(ptr).decode("utf-8", "replace")
    LIB.FreeString(ptr)
    return text


# --- ed25519 public key from a seed (RFC 8032 §5.1.5), enough to write a kubo Identity ---

_P = 2**255 - 19
_D = -121665 * pow(121666, _P - 2, _P) % _P
_Q = 2**252 + 27742317777372353535851937790883648493


def _recover_x(y, sign):
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P)
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P != 0:
        x = x * pow(2, (_P - 1) // 4, _P) % _P
    if (x & 1) != sign:
        x = _P - x
    return x


_GY = 4 * pow(5, _P - 2, _P) % _P
_G = (_recover_x(_GY, 0), _GY, 1, _recover_x(_GY, 0) * _GY % _P)


def _add(a, b):
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    A = (y1 - x1) * (y2 - x2) % _P
    B = (y1 + x1) * (y2 + x2) % _P
    C = 2 * t1 * t2 * _D % _P
    D = 2 * z1 * z2 % _P
    E, F, G, H = B - A, D - C, D + C, B + A
    return (E * F % _P, G * H % _P, F * G % _P, E * H % _P)


def _mul(k, pt):
    acc = (0, 1, 1, 0)
    while k:
        if k & 1:
            acc = _add(acc, pt)
        pt = _add(pt, pt)
        k >>= 1
    return acc


def ed25519_public(seed):
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    x, y, z, _ = _mul(a, _G)
    zi = pow(z, _P - 2, _P)
    x, y = x * zi % _P, y * zi % _P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58btc(data):
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = _B58[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def ed25519_identity(seed):
    """kubo's Identity section: PeerID (identity multihash of the public key protobuf) and
    PrivKey (base64 of the private key protobuf, type 1 = Ed25519, seed ‖ public)."""
    pub = ed25519_public(seed)
    pub_pb = bytes([0x08, 0x01, 0x12, 0x20]) + pub
    priv_pb = bytes([0x08, 0x01, 0x12, 0x40]) + seed + pub
    return {"PeerID": base58btc(bytes([0x00, len(pub_pb)]) + pub_pb), "PrivKey": base64.b64encode(priv_pb).decode()}


# --- repo and config ---


def configure(repo, port, key, seed, wan_server):
    path = os.path.join(repo, "config")
    with open(path) as f:
        cfg = json.load(f)
    if key == "ed25519":
        cfg["Identity"] = ed25519_identity(seed)
    addrs = cfg["Addresses"]
    addrs["Swarm"] = [f"/ip4/127.0.0.1/tcp/{port}"]
    addrs["API"] = "/ip4/127.0.0.1/tcp/0"
    addrs["Gateway"] = "/ip4/127.0.0.1/tcp/0"
    cfg["Bootstrap"] = []
    cfg.setdefault("Discovery", {}).setdefault("MDNS", {})["Enabled"] = False
    swarm = cfg["Swarm"]
    swarm["DisableNatPortMap"] = True
    swarm["RelayClient"] = {"Enabled": False}
    swarm["RelayService"] = {"Enabled": False}
    swarm.setdefault("Transports", {})["Network"] = {
        "QUIC": False,
        "WebTransport": False,
        "Websocket": False,
        "WebRTCDirect": False,
        "Relay": False,
        "TCP": True,
    }
    cfg.setdefault("AutoNAT", {})["ServiceMode"] = "disabled"
    if wan_server:
        cfg.setdefault("Internal", {})["Libp2pForceReachability"] = "public"
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)
    return cfg["Identity"]["PeerID"]


def bounded(secs, fn):
    """Runs fn in a daemon thread; its result, or raises TimeoutError after secs."""
    box = {}

    def run():
        try:
            box["v"] = fn()
        except Exception as e:  # reported to the test as an error line
            box["e"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(secs)
    if t.is_alive():
        raise TimeoutError
    if "e" in box:
        raise box["e"]
    return box["v"]


def as_json(text):
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


# --- commands ---


def cmd_connect(repo, req):
    rc = bounded(req.get("timeout_s", 10), lambda: LIB.ConnectToPeer(repo, req["maddr"].encode()))
    return {"ok": True} if rc >= 0 else {"error": f"ConnectToPeer returned {rc}"}


def cmd_peers(repo, req):
    raw = bounded(req.get("timeout_s", 5), lambda: take(LIB.ListPeers(repo)))
    peers = []
    for entry in as_json(raw) or []:  # libkubo lists "<maddr>/<peer id>"
        addr, _, pid = str(entry).rpartition("/")
        peers.append({"id": pid, "addr": addr})
    return {"ok": True, "peers": peers}


def cmd_add(repo, req):
    path = here(req["path"])
    cid = bounded(req.get("timeout_s", 60), lambda: take(LIB.AddFile(repo, path, False)))
    if not cid or cid.startswith("Error") or " " in cid.strip():
        return {"error": f"AddFile: {cid}"}
    return {"ok": True, "cid": cid.strip()}


def cmd_download(repo, req):
    dest = here(req["dest"])
    rc = bounded(req.get("timeout_s", 30), lambda: LIB.Download(repo, req["cid"].encode(), dest))
    return {"ok": True} if rc >= 0 else {"error": f"Download returned {rc}"}


def cmd_findpeer(repo, req):
    secs = int(req.get("timeout_s", 10))
    raw = bounded(secs + 2, lambda: take(LIB.FindPeer(repo, req["id"].encode(), secs)))
    found = as_json(raw)
    if isinstance(found, dict) and found.get("error"):
        return {"error": str(found["error"])}
    return {"ok": True, "result": found}


COMMANDS = {
    "connect": cmd_connect,
    "peers": cmd_peers,
    "add": cmd_add,
    "download": cmd_download,
    "findpeer": cmd_findpeer,
}


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    global LIB
    ap = argparse.ArgumentParser(description="one kubo peer on loopback, driven by JSON lines")
    ap.add_argument("--repo", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--key", choices=["ed25519", "rsa"], default="ed25519")
    ap.add_argument("--seed", help="64 hex digits: the ed25519 seed (random if absent)")
    ap.add_argument("--wan-server", action="store_true", help="force public reachability: serve /ipfs/kad/1.0.0")
    a = ap.parse_args()
    LIB = load_libkubo()
    repo_dir = os.path.abspath(a.repo)
    os.makedirs(os.path.dirname(repo_dir), exist_ok=True)
    os.chdir(os.path.dirname(repo_dir))  # kubo.log lands next to the repo
    repo = repo_dir.encode()
    if not os.path.exists(os.path.join(repo_dir, "config")):
        if LIB.CreateRepo(repo) <= 0:
            sys.exit("CreateRepo failed")
        seed = bytes.fromhex(a.seed) if a.seed else os.urandom(32)
        configure(repo_dir, a.port, a.key, seed, a.wan_server)
    if LIB.RunNode(repo) <= 0:
        sys.exit("RunNode failed")
    peer_id = take(LIB.GetNodeID(repo))
    addrs = as_json(take(LIB.GetNodeMultiAddrs(repo))) or []
    reply({"id": peer_id, "addrs": addrs, "key": a.key, "pid": os.getpid()})
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            name = req.get("cmd")
            if name == "quit":
                reply({"ok": True})
                break
            if name not in COMMANDS:
                reply({"error": f"unknown command {name!r}"})
                continue
            reply(COMMANDS[name](repo, req))
        except TimeoutError:
            reply({"error": "timeout"})
        except Exception as e:
            reply({"error": f"{type(e).__name__}: {e}"})
    try:
        bounded(3, lambda: LIB.CleanupNode(repo))
    except Exception:
        pass
    os._exit(0)  # worker threads stuck in libkubo must not keep the process alive


if __name__ == "__main__":
    main()
