#!/usr/bin/env python3
"""Stand-in telnet service for the web server host. usage: web_telnetd.py [ADDR]"""
# Minimal line service on port 23 standing in for the web server's telnet daemon.
import socketserver
import sys
class H(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"web-telnet-service ready\r\n")
        for raw in self.rfile:
            out, i = bytearray(), 0
            while i < len(raw):  # drop telnet option negotiation and control bytes
                if raw[i] == 255 and i + 1 < len(raw):
                    i += 3 if raw[i + 1] in (251, 252, 253, 254) else 2
                    continue
                if 32 <= raw[i] < 127:
                    out.append(raw[i])
                i += 1
            line = out.decode()
            self.wfile.write(("echo: " + line + "\r\n").encode())
            if line == "quit":
                break
class S(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
S((sys.argv[1] if len(sys.argv) > 1 else "0.0.0.0", 23), H).serve_forever()
