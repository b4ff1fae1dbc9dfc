#!/usr/bin/env python3
"""Stand-in FTP server for the web server host (Debian's busybox has no ftpd).
usage: web_ftpd.py [USER PASS [ADDR]]"""
# Minimal FTP server (USER/PASS/PWD/TYPE/EPSV/SIZE/RETR/QUIT) for the test; one file.
import socket, socketserver, sys
USER = sys.argv[1] if len(sys.argv) > 1 else "webuser"
PASS = sys.argv[2] if len(sys.argv) > 2 else "webpass"
DATA = b"ftp-file-content-ok\n"
class H(socketserver.StreamRequestHandler):
    def handle(self):
        w = lambda s: self.wfile.write((s + "\r\n").encode())
        w("220 web ftp ready")
        user, authed, pasv = None, False, None
        for raw in self.rfile:
            line = raw.decode(errors="replace").strip()
            cmd, _, arg = line.partition(" ")
            cmd = cmd.upper()
            print("ftpd:", cmd, arg if cmd != "PASS" else "***", file=sys.stderr, flush=True)
            if cmd == "USER":
                user = arg; w("331 password please")
            elif cmd == "PASS":
                if user == USER and arg == PASS:
                    authed = True; w("230 logged in as " + user)
                else:
                    w("530 login incorrect")
            elif cmd == "QUIT":
                w("221 bye"); break
            elif not authed:
                w("530 not logged in")
            elif cmd == "PWD":
                w('257 "/"')
            elif cmd == "TYPE":
                w("200 type set")
            elif cmd == "EPSV":
                pasv = socket.socket(); pasv.bind(("0.0.0.0", 0)); pasv.listen(1)
                w("229 Entering Extended Passive Mode (|||%d|)" % pasv.getsockname()[1])
            elif cmd == "SIZE":
                w("213 %d" % len(DATA))
            elif cmd == "RETR" and pasv is not None:
                w("150 sending")
                c, _ = pasv.accept(); c.sendall(DATA); c.close(); pasv.close(); pasv = None
                w("226 done")
            else:
                w("502 not implemented")
class S(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
S((sys.argv[3] if len(sys.argv) > 3 else "0.0.0.0", 21), H).serve_forever()
