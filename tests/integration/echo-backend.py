#!/usr/bin/env python3
# Test backend for the verifier's integration tests: answers every request
# with 200 and a body echoing the request line, the header fields exactly as
# received, and the request body. Every request line is appended to the log
# file so a test can tell whether a request reached the backend at all.
# /slow answers after 3 s; /status/NNN answers NNN with a Content-Length
# and no body. Expect: 100-continue is answered with 100 before the body
# is read.
# Usage: echo-backend.py PORT|unix:/PATH LOGFILE [once]
#   once: answer the first request of each connection only; a later one
#   on the same connection is read, logged as "dropped: ..." and the
#   connection closed unanswered (a keep-alive connection the backend gave
#   up on just as it was reused).
import http.server
import os
import socketserver
import sys


class Echo(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(length) if length else b""

    def _any(self):
        self.served = getattr(self, "served", 0) + 1
        if MODE == "once" and self.served > 1:
            with open(LOG, "a") as f:
                f.write("dropped: " + self.requestline + "\n")
            self.close_connection = True
            return
        with open(LOG, "a") as f:
            f.write(self.requestline + "\n")
        body = self._body()
        out = (self.requestline + "\n").encode()
        for name, value in self.headers.items():
            out += ("%s: %s\n" % (name, value)).encode("latin-1")
        out += b"\n" + body
        if self.path.startswith("/slow"):
            import time
            time.sleep(3)
        if self.path.startswith("/status/"):
            # A bodiless status that still announces a length (RFC 9110
            # allows it for 304): a proxy reading that body would hang.
            self.send_response(int(self.path[8:11]))
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = do_OPTIONS = _any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # load tests connect by the thousand


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    request_queue_size = 1024


class UnixEcho(Echo):
    # A unix peer has no address; http.server wants a printable one.
    def address_string(self):
        return "unix"


LOG = sys.argv[2]
MODE = sys.argv[3] if len(sys.argv) > 3 else ""
if sys.argv[1].startswith("unix:"):
    path = sys.argv[1][5:]
    if os.path.exists(path):
        os.unlink(path)
    UnixServer(path, UnixEcho).serve_forever()
else:
    Server(("127.0.0.1", int(sys.argv[1])), Echo).serve_forever()
