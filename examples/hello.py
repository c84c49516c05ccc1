#!/usr/bin/env python3
"""A hello function: answers every request with a greeting and the Knative env it runs with."""
import http.server
import os


class Hello(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Buffer the response so its head and body leave in one write (the server flushes
    # after each request): two small writes meet Nagle on this side and delayed ACKs on
    # the client's, a ~40 ms stall per request.
    wbufsize = -1

    def do_GET(self):
        body = (
            f"Hello {os.environ.get('TARGET', 'World')}! "
            f"K_SERVICE={os.environ.get('K_SERVICE', '')} "
            f"K_CONFIGURATION={os.environ.get('K_CONFIGURATION', '')} "
            f"K_REVISION={os.environ.get('K_REVISION', '')}\n"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Hello).serve_forever()
