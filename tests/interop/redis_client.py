"""Drives a node's RESP endpoint with the real Python Redis client (PyPI redis).
Usage: redis_client.py HOST PORT TOKEN DBMID — asserts as it goes; prints one line per check."""
import sys

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

# Refused logins raise at once instead of being retried with backoff (the client's default).
NO_RETRY = dict(retry=Retry(NoBackoff(), 0))

host, port, token, dbmid = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
r = redis.Redis(host=host, port=port, password=token, decode_responses=True)


def check(name, got, want):
    assert got == want, f"{name}: got {got!r}, want {want!r}"
    print(f"ok {name}")


check("ping", r.ping(), True)
r.flushdb()
check("set/get", (r.set("a", "1"), r.get("a")), (True, "1"))
check("incrby", r.incrby("a", 41), 42)
check("hash", (r.hset("h", mapping={"x": "1", "y": "2"}), r.hgetall("h")), (2, {"x": "1", "y": "2"}))
check("list", (r.rpush("l", "a", "b", "c"), r.lrange("l", 0, -1)), (3, ["a", "b", "c"]))
check("zset", (r.zadd("z", {"m": 1.5, "n": -2}), r.zrange("z", 0, -1, withscores=True)), (2, [("n", -2.0), ("m", 1.5)]))
check("set", (r.sadd("s", "p", "q"), sorted(r.smembers("s"))), (2, ["p", "q"]))
r.expire("a", 100)
check("ttl", 99 <= r.ttl("a") <= 100, True)
try:
    r.lpush("a", "x")
    raise AssertionError("WRONGTYPE expected")
except redis.ResponseError as e:
    check("wrongtype", str(e), "WRONGTYPE Operation against a key holding the wrong kind of value")

# A pipeline without a transaction: 200 commands in one round trip, replies in order.
p = r.pipeline(transaction=False)
for i in range(100):
    p.set(f"p{i}", i)
    p.incr(f"p{i}")
res = p.execute()
check("pipeline", res, [x for i in range(100) for x in (True, i + 1)])

# MULTI/EXEC through the client's transaction pipeline.
p = r.pipeline(transaction=True)
p.set("t1", "a").append("t1", "b").get("t1").lpush("t1", "x")
res = p.execute(raise_on_error=False)
check("multi/exec", res[:3], [True, 2, "ab"])
check("multi/exec error inside", isinstance(res[3], redis.ResponseError), True)

# WATCH: another client's write makes EXEC fail; a retry succeeds.
other = redis.Redis(host=host, port=port, password=token, decode_responses=True)
r.set("w", "0")
with r.pipeline() as p:
    p.watch("w")
    v = int(p.get("w"))
    other.set("w", "100")
    p.multi()
    p.set("w", v + 1)
    try:
        p.execute()
        raise AssertionError("WatchError expected")
    except redis.WatchError:
        print("ok watch conflict")
check("watched key kept the other write", r.get("w"), "100")


def bump(pipe):
    v = int(pipe.get("w"))
    pipe.multi()
    pipe.set("w", v + 1)


r.transaction(bump, "w")
check("transaction helper", r.get("w"), "101")

# Without the token: reads work, writes are refused.
guest = redis.Redis(host=host, port=port, decode_responses=True, **NO_RETRY)
check("guest read", guest.get("w"), "101")
try:
    guest.set("w", "0")
    raise AssertionError("NOAUTH expected")
except redis.exceptions.AuthenticationError as e:
    check("guest write refused", "NOAUTH" in str(e) or "Authentication required" in str(e), True)
try:
    redis.Redis(host=host, port=port, password="wrong", **NO_RETRY).ping()
    raise AssertionError("WRONGPASS expected")
except redis.exceptions.AuthenticationError:
    print("ok wrong password refused")

# Another DB MiMei: a separate keyspace.
r.execute_command("SELECT", dbmid)
check("other db is separate", (r.get("w"), r.set("w", "other"), r.get("w")), (None, True, "other"))
r.execute_command("SELECT", "0")
check("default db kept its value", r.get("w"), "101")
check("scan", sorted(r.scan_iter(match="p1*", count=7))[:3], ["p1", "p10", "p11"])
check("dbsize", r.dbsize(), 107)
print("all ok")
