#!/usr/bin/env python3
"""A function that records every request exactly as its bytes arrive.

It parses HTTP/1.1 itself, by the framing on the wire (Content-Length or chunked; no
framing means no body), so a request a proxy framed wrongly shows up as it really
reached the function: a body cut short, or a second request made of body bytes. Each
request is appended as one JSON line to the file named by RECORD_FILE and answered
with that same JSON.
"""
import json
import os
import socket
import threading

RECORD_FILE = os.environ.get("RECORD_FILE", "/dev/null")
lock = threading.Lock()


def read_until(conn, buf, marker):
    while marker not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buf.extend(chunk)
    return buf.index(marker)


def read_exact(conn, buf, n):
    while len(buf) < n:
        chunk = conn.recv(65536)
        if not chunk:
            return False
        buf.extend(chunk)
    return True


def read_chunked(conn, buf):
    body = bytearray()
    while True:
        end = read_until(conn, buf, b"\r\n")
        if end is None:
            return None
        size = int(bytes(buf[:end]).split(b";")[0].strip(), 16)
        del buf[: end + 2]
        if size == 0:
            while True:  # trailers, then the empty line
                end = read_until(conn, buf, b"\r\n")
                if end is None:
                    return None
                line = bytes(buf[:end])
                del buf[: end + 2]
                if not line:
                    return bytes(body)
        if not read_exact(conn, buf, size + 2):
            return None
        body.extend(buf[:size])
        del buf[: size + 2]


def serve(conn):
    buf = bytearray()
    with conn:
        while True:
            end = read_until(conn, buf, b"\r\n\r\n")
            if end is None:
                return
            head = bytes(buf[:end]).decode("latin-1").split("\r\n")
            del buf[: end + 4]
            method, target, version = (head[0].split(" ") + ["", "", ""])[:3]
            headers = [line.split(":", 1) for line in head[1:]]
            headers = [[n, v.strip()] for n, v in headers]
            names = {n.lower(): v for n, v in headers}
            if "transfer-encoding" in names:
                body = read_chunked(conn, buf)
                if body is None:
                    return
            else:
                length = int(names.get("content-length", "0"))
                if not read_exact(conn, buf, length):
                    return
                body = bytes(buf[:length])
                del buf[:length]
            seen = {
                "method": method,
                "target": target,
                "version": version,
                "headers": headers,
                "body": body.decode("latin-1"),
            }
            line = json.dumps(seen)
            with lock, open(RECORD_FILE, "a") as out:
                out.write(line + "\n")
            answer = line.encode()
            conn.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                + b"content-length: %d\r\n\r\n" % len(answer)
                + answer
            )


if __name__ == "__main__":
    listener = socket.create_server(("127.0.0.1", int(os.environ["PORT"])))
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()
