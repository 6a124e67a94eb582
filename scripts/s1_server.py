#!/usr/bin/env python3
"""Serves the S1 stream of benches/providers.rs for the client-only peak-RSS measurement
(tests/providers_rss.rs): 20,000 OpenAI-style content events (~200 B each), one chunked write
each, then a finish event and [DONE], on POST .../chat/completions.

    python3 scripts/s1_server.py 8765 &
    BLAZEN_RSS_URL=http://127.0.0.1:8765/v1 \
        /usr/bin/time -v target/release/deps/providers_rss-<hash> --ignored --nocapture
"""
import http.server
import sys

EVENTS = 20_000


def content_event(i: int) -> bytes:
    return (
        'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":0,'
        '"model":"gpt-4.1-mini","choices":[{"index":0,"delta":{"content":"tok%05d "},'
        '"finish_reason":null}]}\n\n' % i
    ).encode()


FINISH = [
    b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","choices":[{"index":0,'
    b'"delta":{},"finish_reason":"stop"}]}\n\n',
    b"data: [DONE]\n\n",
]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("content-length", "0"))
        self.rfile.read(length)
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for piece in [content_event(i) for i in range(EVENTS)] + FINISH:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8765
    http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
