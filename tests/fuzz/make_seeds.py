#!/usr/bin/env python3
"""Writes the seed corpora under tests/fuzz/corpus/ from the emulator's scenarios and the
hostile cases of issue 11. Rerun after changing a scenario; crash inputs found by fuzzing
are added beside these seeds as crash-* files and never regenerated."""
import json
import pathlib

here = pathlib.Path(__file__).resolve().parent
scenario = json.loads((here.parent / "emulator/scenarios/default.json").read_text())

# allEndpoints() order in fs/tree/catalog.cpp; the snapshot harness picks by byte >> 1.
endpoints = ["instance", "initialization", "network_interfaces", "network_attachments",
             "volume_attachments", "cluster_network_attachments", "software_attachments",
             "virtual_network_interfaces", "keys", "placement_groups"]


def body(name):
    value = scenario.get(name)
    return {name: value} if isinstance(value, list) else value


hostile_objects = [
    '{"a":0,"a":0,"a":0,"a~2":1,"a":0}',
    '{"initialization":1,"initialization.json":{"x":1},"network_interfaces.json":2}',
    '{"a/b":1,"a%2Fb":2,"":3,".":4,"..":5,"\\u0000":6,"\\n":7,"\\u007f":8}',
    '{"%s":1,"%s":2}' % ("x" * 300, "x" * 300 + "y"),
    '{"huge":1e999,"neg":-0,"big":123456789012345678901234567890,"half":0.50,"e":1E2}',
    '{"bad":"\xff\xfe","name":"ok"}',
    '{"deep":' + "[" * 70 + "]" * 70 + "}",
    '{"x":[' + ",".join("0" for _ in range(2000)) + "]}",
]
hostile_lists = [
    '{"keys":[{"id":"../../etc","name":"/root"},{"id":"..","name":".."},{"id":"a/b","name":"a%2Fb"}]}',
    '{"keys":[{"id":"k","name":"n"},{"id":"k","name":"n"}]}',
    '{"keys":[{"id":"by-name"}]}',
    '{"keys":[{"id":"x","name":"dup"},{"id":"y","name":"dup"},{"id":"z","name":""}]}',
    '{"keys":[' + ",".join("{}" for _ in range(1000)) + "]}",
]


def write(harness, name, data):
    d = here / "corpus" / harness
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "surrogateescape"))


def latin(s):
    return s.encode("latin-1") if all(ord(c) < 256 for c in s) else s.encode()


for i, name in enumerate(endpoints):
    write("snapshot", f"seed-{name}", bytes([i << 1]) + json.dumps(body(name)).encode())
for i, doc in enumerate(hostile_objects):
    write("snapshot", f"seed-hostile-object-{i}", bytes([0]) + latin(doc))
for i, doc in enumerate(hostile_lists):
    write("snapshot", f"seed-hostile-list-{i}", bytes([8 << 1]) + latin(doc))

keys = scenario["keys"]
pages = [{"keys": keys[:1], "limit": 1, "next": {"href": "http://h/v1/keys?start=p2&limit=1"},
          "total_count": len(keys)},
         {"keys": keys[1:], "limit": 1, "next": {"start": "p3"}},
         {"keys": [], "next": None}]
write("collection", "seed-pages", b"\x01".join(json.dumps(p).encode() for p in pages))
write("collection", "seed-numbers",
      b'{"keys":[{"v":0.50},{"v":-0}],"next":{"start":"2"}}\x01{"keys":[{"v":1E2},{"v":1e999}]}')
for i, doc in enumerate(hostile_lists):
    write("collection", f"seed-hostile-{i}", latin(doc))

write("service_bodies", "seed-token",
      b'\x01{"access_token":"eyJhbGciOi.x.y","created_at":"2025-01-01T00:00:00Z",'
      b'"expires_at":"2025-01-01T00:05:00Z","expires_in":300}')
write("service_bodies", "seed-token-dup",
      b'\x01{"access_token":"a","access_token":"b","expires_in":1e999}')
write("service_bodies", "seed-error",
      b'\x00{"errors":[{"code":"not_found","message":"no such thing"}],"trace":"abc"}')
write("service_bodies", "seed-error-odd", b'\x00{"errors":[5],"trace":"\\u0000\xff"}')

write("options", "seed-config",
      b"ttl=30\n# comment\nttl.keys=5\ntimeout=3\nendpoint=http://127.0.0.1:8080\n"
      b"\x00-o\x00uid=1000,gid=1000,newline=off\x00-f")
write("options", "seed-bad", b"nope\nttl=-1\n\x00-o\x00ttl=99999999999999999999\x00--help")
