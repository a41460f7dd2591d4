"""Drives a node through the real hprose 2.0 Python client (PyPI hprose 1.4.3).
Usage: hprose_client.py URL CID DIRCID — prints one JSON object with what the node answered."""
import json
import sys

import hprose

url, cid, dircid = sys.argv[1:4]
c = hprose.HttpClient(url)
out = {}
out["nodeid"] = c.GetVar("", "nodeid")
out["nodeid_any_case"] = c.getVAR("", "NodeID")
out["unknown_var"] = c.GetVar("", "no-such-var")
out["stat"] = c.IpfsStat("", cid)
out["ls"] = c.IpfsLs("", dircid)
for name, call in [("unknown_method", lambda: c.NoSuchMethod(1)), ("write_refused", lambda: c.PinRm("", cid)), ("bad_cid", lambda: c.IpfsStat("", "Qmnope"))]:
    try:
        call()
        out[name] = None
    except Exception as e:  # the client raises the server's E message
        out[name] = str(e)
print(json.dumps(out))
