#!/usr/bin/env python3
"""A test function that sleeps `?sleep=MS` per request and reports, in its body, its pid
and the most requests it has ever had in flight at once: what a test needs to see that a
containerConcurrency limit held and that load spread over several replicas."""
import http.server
import os
import threading
import time
import urllib.parse

lock = threading.Lock()
in_flight = 0
most = 0


class Counter(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Buffer the response so its head and body leave in one write (the server flushes
    # after each request): two small writes meet Nagle on this side and delayed ACKs on
    # the client's, a ~40 ms stall per request.
    wbufsize = -1

    def do_GET(self):
        global in_flight, most
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        sleep_ms = int(query.get("sleep", ["0"])[0])
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        try:
            time.sleep(sleep_ms / 1000)
        finally:
            with lock:
                in_flight -= 1
        body = f"pid={os.getpid()} most={most}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Counter).serve_forever()
