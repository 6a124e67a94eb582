#!/usr/bin/env python3
"""Writes the seed corpus of fuzz/corpus/ (but snapshot_resume's snapshots, which come from
the fixed workflow: `cargo test --test fuzz_corpus -- --ignored write_snapshot_seeds`).

Sources: the recorded provider traffic of tests/fixtures/ and /work/shared/fixtures/recorded/
(rig's cassettes, MIT licence: see tests/fixtures/README.md), plus a few hand-written edge
cases. Run from the repository root: python3 fuzz/seeds.py"""
import base64, glob, json, os, struct, zlib

OUT = "fuzz/corpus"
SOURCES = ["tests/fixtures", "/work/shared/fixtures/recorded"]
# Read-length prefixes of the decoder targets (see fuzz/src/lib.rs `split_reads`).
SPLITS = [b"\x00", b"\x01\x07", b"\x03\x05\x00\x40", b"\x02\x01\xff", b"\x04\x02\x03\x0d\x80"]
KEY = "sk-proj-fuzz0123456789abcdef"
FAL_KEY = "3f2a9c1e-7b4d-4e8a-9c21-0a1b2c3d4e5f:9f8e7d6c5b4a39281706f5e4d3c2b1a0"


def responses():
    seen = set()
    for root in SOURCES:
        for path in sorted(glob.glob(root + "/*/*.json")):
            name = os.path.basename(os.path.dirname(path)) + "__" + os.path.basename(path)[:-5]
            try:
                cassette = json.load(open(path))
            except (OSError, ValueError):
                continue
            for i, it in enumerate(cassette.get("interactions", [])):
                r = it["response"]
                if r["body"] in seen:
                    continue
                seen.add(r["body"])
                yield f"{name}_{i}", r


def write(target, name, data):
    os.makedirs(f"{OUT}/{target}", exist_ok=True)
    with open(f"{OUT}/{target}/{name[:90]}", "wb") as f:
        f.write(data)


def frame(headers, payload):
    """An AWS event-stream message with string headers."""
    h = b"".join(
        bytes([len(n)]) + n.encode() + b"\x07" + struct.pack(">H", len(v)) + v.encode()
        for n, v in headers
    )
    total = 16 + len(h) + len(payload)
    prelude = struct.pack(">II", total, len(h))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    msg = prelude + h + payload
    return msg + struct.pack(">I", zlib.crc32(msg))


def main():
    sse, es, errors = [], [], []
    for name, r in responses():
        ct = str(r.get("headers", {}).get("content-type", ""))
        body = r["body"]
        if r["status"] >= 400:
            errors.append((name, r))
        elif ct.startswith("text/event-stream") and len(body) <= 6000:
            sse.append((name, body.encode()))
        elif ct.startswith("application/vnd.amazon.eventstream") and len(body) <= 20000:
            es.append((name, base64.b64decode(body)))

    # SSE: a recorded body per provider family and size, with different read splits.
    picked = {}
    for name, body in sse:
        picked.setdefault(name.split("__")[0], []).append((name, body))
    n = 0
    for provider, items in sorted(picked.items()):
        for name, body in items[:2]:
            write("sse_split", name, SPLITS[n % len(SPLITS)] + body)
            n += 1
    edge = [
        b"\xef\xbb\xbfdata: bom\n\n",
        b"data: a\r\ndata: b\r\n\r\nevent: x\rdata: c\r\r",
        b": comment\nid: 7\nretry: 1500\ndata\ndata:  two spaces\n\nid: a\x00b\ndata: z\n\n",
        b"event: message_stop\ndata: {\"type\":\"message_stop\"}",
        b"data: {\"partial\": \"cut insi",
        b"data: \xff\xfe not utf-8 \xe2\x82\n\n",
    ]
    for i, body in enumerate(edge):
        write("sse_split", f"edge_{i}", SPLITS[i % len(SPLITS)] + body)

    # Event stream: the recorded Bedrock bodies, hand-made exception / error / damaged frames.
    for i, (name, body) in enumerate(es):
        write("event_stream", name, SPLITS[i % len(SPLITS)] + body)
    ok = frame([(":message-type", "event"), (":event-type", "messageStop")], b'{"stopReason":"end_turn"}')
    exc = frame(
        [(":message-type", "exception"), (":exception-type", "throttlingException")],
        b'{"message":"Too many requests"}',
    )
    err = frame(
        [(":message-type", "error"), (":error-code", "InternalFailure"), (":error-message", "boom")], b""
    )
    damaged = bytearray(ok)
    damaged[20] ^= 1
    for name, body in [
        ("exception", ok + exc),
        ("error_frame", err),
        ("bad_crc", bytes(damaged)),
        ("truncated", ok + exc[:30]),
    ]:
        write("event_stream", name, b"\x02\x09\x00" + body)

    # Error classifier: every recorded error response, some echoing the key.
    for i, (name, r) in enumerate(errors[:24]):
        key = FAL_KEY if i % 5 == 4 else KEY
        body = r["body"]
        if i % 2:
            body = body.replace("REDACTED", key, 1) if "REDACTED" in body else body + " " + key
        head = "".join(f"{k}: {v}\n" for k, v in r.get("headers", {}).items())
        if i % 3 == 0:
            head += f"x-request-id: req_{key}\nretry-after: 2\n"
        write("error_classify", name, f"{r['status']} {key}\n{head}\n{body}".encode())
    hand = [
        ("litellm", f"400 {KEY}\ncontent-type: application/json\nllm_provider-retry-after: 3\n\n"
         '{"error":{"message":"litellm.BadRequestError: Invalid model name passed in model=gpt-x","type":"invalid_request_error","param":null,"code":"400"}}'),
        ("html", f"502 {KEY}\ncontent-type: text/html\n\n<html><body>Bad gateway Bearer {KEY}</body></html>"),
        ("fal_echo", f"401 {FAL_KEY}\n\n{{\"detail\":\"authorization: Key {FAL_KEY}\"}}"),
        ("aws", f"429 {KEY}\nx-amzn-errortype: ThrottlingException:http://internal.amazon.com/\n\n{{\"message\":\"{KEY}\"}}"),
        ("empty", "500 \n\n"),
    ]
    for name, text in hand:
        write("error_classify", name, text.encode())

    # Tool arguments.
    tools = [
        {"city": "Paris", "unit": "celsius", "days": 3, "hours": [9, 12]},
        {"city": "Oslo", "unit": "kelvin", "hours": []},
        {"city": 7, "hours": "all"},
        {"query": "fuzz", "limit": 5, "filters": {"score": 0.5}},
        {"query": "x", "limit": 0, "extra": True},
        {"query": None},
        [],
        "{\"city\":\"Rome\",\"hours\":[1]}",
        "",
        {"city": "a" * 40, "days": 300, "hours": [-1]},
    ]
    for i, t in enumerate(tools):
        write("tool_args", f"args_{i}", json.dumps(t).encode())
    write("tool_args", "not_json", b'{"city": "Paris", hours: [1,')


if __name__ == "__main__":
    main()
