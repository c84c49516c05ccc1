#!/usr/bin/env python3
"""A test function that holds each request for `?sleep=MS` and then answers with the
revision and the process that served it: what a reliability test needs to see which
revision and which replica answered, and to keep a request in flight for a while."""
import http.server
import os
import time
import urllib.parse


class SlowHello(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Buffer the response so its head and body leave in one write (the server flushes
    # after each request): two small writes meet Nagle on this side and delayed ACKs on
    # the client's, a ~40 ms stall per request.
    wbufsize = -1

    def do_GET(self):
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        sleep_ms = int(query.get("sleep", ["0"])[0])
        time.sleep(sleep_ms / 1000)
        body = (
            f"K_REVISION={os.environ.get('K_REVISION', '')} "
            f"pid={os.getpid()} slept={sleep_ms}\n"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), SlowHello).serve_forever()
