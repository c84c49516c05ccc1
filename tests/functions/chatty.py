#!/usr/bin/env python3
"""A test function that talks: it prints a greeting to stdout and stderr when it starts,
prints `?say=TEXT` to stdout when asked, answers every request with its pid, and exits
with code 3 on `/crash` (after saying so on stderr): what a test of `kubectl logs`,
restarts and `--previous` needs."""
import http.server
import os
import sys
import urllib.parse


class Chatty(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Buffer the response so its head and body leave in one write (the server flushes
    # after each request): two small writes meet Nagle on this side and delayed ACKs on
    # the client's, a ~40 ms stall per request.
    wbufsize = -1

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/crash":
            print(f"crashing on purpose, pid {os.getpid()}", file=sys.stderr, flush=True)
            os._exit(3)
        for text in query.get("say", []):
            print(text, flush=True)
        body = f"pid={os.getpid()}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    # `/crash` by POST, which no proxy resends (a GET that killed its replica may be).
    do_POST = do_GET

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    print(f"chatty starting, pid {os.getpid()}", flush=True)
    print("chatty stderr says hello", file=sys.stderr, flush=True)
    http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Chatty).serve_forever()
