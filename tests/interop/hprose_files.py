"""The original's file scenarios through the real hprose Python client, as the node's owner:
the Go examples `files` (GetLocalPassport → LoginWithPPT → FilesRm → MFOpenTempFile → MFSetData →
MFTemp2Files → MMOpenUrl → MFGetData → FilesStat/Mkdir/Ls/Rm) and `mfile`, and OpenByUrl.lua
(MMOpen of a file MiMei's `last`, MFReaddir). Usage: hprose_files.py URL — prints one line per
scenario and "all ok"."""
import sys
import urllib.error
import urllib.request

import hprose

from checks import check, refused

c = hprose.HttpClient(sys.argv[1])


# example/rpc files, call for call.
ppt = c.GetLocalPassport(24)
sid = c.LoginWithPPT(ppt)["Sid"]
try:
    c.FilesRm(sid, "/testfiles.txt", False, True)
except Exception:
    pass  # the example ignores a missing file
fs = c.MFOpenTempFile(sid)
check("setdata", c.MFSetData(fs, "hello world", 0), 11)
cid = c.MFTemp2Files(fs, "/testfiles.txt")
# kubo 0.22 adds "hello world" as Qmf412…; "0123" as QmZGtA… (below).
check("temp2files cid", cid, "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD")
refused("temp file gone", lambda: c.MFGetSize(fs), "unknown or closed fsid")
f2 = c.MMOpenUrl(sid, "files://testfiles.txt")
check("getdata", c.MFGetData(f2, 0, -1), "hello world")
check("getdata from the end", c.MFGetData(f2, -6, -1), "world")
check("getdata count", c.MFGetData(f2, 6, 3), "wor")
st = c.FilesStat(sid, "/testfiles.txt")
check("filesstat", (st["Hash"], st["Size"], st["Type"]), (cid, 11, "file"))
c.FilesMkdir(sid, "/testdir", True)
ls = {e["Name"]: e["Type"] for e in c.FilesLs(sid, "/")}
check("filesls", (ls["testdir"], ls["testfiles.txt"]), (1, 0))
c.FilesRm(sid, "/testdir", True, True)
check("filesrm", "testdir" in {e["Name"] for e in c.FilesLs(sid, "/")}, False)
print("ok go files")

# A site in a file MiMei: temp files into the file system, its CID set as a version.
for name, text in [("index.html", "<h1>hi</h1>"), ("a.txt", "hello world")]:
    t = c.MFOpenTempFile(sid)
    c.MFSetData(t, text[:4], 0)
    c.MFSetData(t, text[4:], -1)  # -1: at the end
    c.MFTemp2Files(t, f"/site/{name}")
t = c.MFOpenTempFile(sid)
c.MFSetData(t, "0123456789", 0)
c.MFTruncate(t, 4)
check("truncate", (c.MFGetSize(t), c.MFGetData(t, 0, -1)), (4, "0123"))
check("temp stat", c.MFStat(t)["FSize"], 4)
pinned = c.MFTemp2Ipfs(t, "")
check("temp2ipfs", pinned, "QmZGtAhs86E7gsiKfU3Q7gsAuzsTk8jMkt1wuNJEySyHSa")
site = c.FilesFlush(sid, "/site")
mid = c.MMCreate(sid, "", "", "files site", 1, 0x07276705)
c.MFSetCid(sid, mid, site)
# OpenByUrl.lua: MMOpen of the file MiMei's last version, then MFReaddir.
fsid = c.MMOpen(sid, mid, "last", "")
entries = c.MFReaddir(fsid, 10)
check("readdir", [(e["FName"], e["FSize"], e["FIsDir"]) for e in entries], [("a.txt", 11, False), ("index.html", 11, False)])
check("readdir count", len(c.MFReaddir(fsid, 1)), 1)
check("isexist", (c.MFIsExist(fsid, "a.txt"), c.MFIsExist(fsid, "nope")), (True, False))
page = c.MMOpenUrl(sid, f"mm://{mid}:last/index.html")
check("mimetype", c.MFGetMimeType(page), "text/html; charset=utf-8")
check("mm url data", c.MFGetData(page, 0, -1), "<h1>hi</h1>")
check("short mm url", c.MFGetData(c.MMOpenUrl(sid, f"{mid}:last/a.txt"), 0, 5), "hello")
check("ipfs url", c.MFGetData(c.MMOpenUrl(sid, f"ipfs://{site}/a.txt"), 0, -1), "hello world")
# /mf streams an open file, or a path inside an open directory, with ranges.
base = sys.argv[1].rsplit("/webapi/", 1)[0]
with urllib.request.urlopen(f"{base}/mf?mmsid={page}") as r:
    check("mf page", (r.status, r.headers["Content-Type"], r.read()), (200, "text/html; charset=utf-8", b"<h1>hi</h1>"))
ranged = urllib.request.Request(f"{base}/mf/a.txt?mmsid={fsid}", headers={"Range": "bytes=6-10"})
with urllib.request.urlopen(ranged) as r:
    check("mf range", (r.status, r.headers["Content-Range"], r.read()), (206, "bytes 6-10/11", b"world"))
c.MMClose(page)
try:
    urllib.request.urlopen(f"{base}/mf?mmsid={page}")
    raise AssertionError("a closed fsid is still served")
except urllib.error.HTTPError as e:
    check("mf closed", e.code, 404)
refused("closed", lambda: c.MFGetData(page, 0, 1), "unknown or closed fsid")
print("ok openbyurl.lua")

# The author's MMOpen of cur is the writable working copy: writes go into cur, a backup keeps them.
cur = c.MMOpen(sid, mid, "cur")
check("cur lists the tree", len(c.MFReaddir(cur, -1)), 2)
notes = c.MFOpenByPath(sid, mid, "notes/today.txt", 0)
check("cur write", c.MFSetData(notes, "draft", 0), 5)
c.MFSetData(notes, " two", -1)
check("cur read", c.MFGetData(notes, 0, -1), "draft two")
c.MFTruncate(notes, 5)
check("cur truncate", (c.MFGetSize(notes), c.MFGetData(notes, 0, -1)), (5, "draft"))
check("cur sees the new file", c.MFIsExist(c.MMOpenUrl(sid, f"mm://{mid}:cur/notes"), "today.txt"), True)
ver = c.MMBackup(sid, mid, "")
check("backup of cur", c.MFGetData(c.MMOpenUrl(sid, f"mm://{mid}:{ver}/notes/today.txt"), 0, -1), "draft")
check("version 1 unchanged", c.MFIsExist(c.MMOpen(sid, mid, "1"), "notes"), False)
print("ok writable cur")

# fang2.lua: a temp file becomes a mac file of a MiMei; a second one holds the first's id.
t1 = c.MFOpenTempFile(sid)
c.MFSetData(t1, "\x89PNG not really an image", 0)
mac1 = c.MFTemp2MacFile(t1, mid)
t2 = c.MFOpenTempFile(sid)
c.MFSetData(t2, mac1, 0)
mac2 = c.MFTemp2MacFile(t2, mid)
check("mac ids", (len(mac1), len(mac2), mac1 != mac2), (27, 27, True))
check("mac file 2 holds mac 1's id", c.MFGetData(c.MFOpenMacFile(sid, mid, mac2), 0, -1), mac1)
check("mac file 1", c.MFGetData(c.MFOpenMacFile(sid, mid, mac1), 0, -1), "\x89PNG not really an image")
check("mac files are references", len(c.MMGetRef(sid, mid, "cur")), 2)
refused("no such mac file", lambda: c.MFOpenMacFile(sid, mid, "AAAAAAAAAAAAAAAAAAAAAAAAAAA"), "has no mac file")
print("ok fang2.lua")

# A guest reads the MiMei (right 0x07276705 lets guests read) but not the owner's file system.
guest = c.Login()["Sid"]
gf = c.MMOpen(guest, mid, "last", "")
check("guest readdir", sorted(e["FName"] for e in c.MFReaddir(gf, -1)), ["a.txt", "index.html", "notes"])
gcur = c.MMOpen(guest, mid, "cur")
refused("guest writes cur", lambda: c.MFSetData(gcur, "x", 0), "read-only content")
refused("guest files url", lambda: c.MMOpenUrl(guest, "/testfiles.txt"), "its owner's")
refused("guest temp file", lambda: c.MFOpenTempFile(""), "needs a session")
refused("guest filesls", lambda: c.FilesLs(guest, "/"), "needs its API token")
print("all ok")
