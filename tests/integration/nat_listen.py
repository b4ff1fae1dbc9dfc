#!/usr/bin/env python3
"""TCP listener for the nat integration tests: logs each peer's address to LOG (one line per
connection) and answers 'hello from NAME'. Usage: nat_listen.py ADDR PORT LOG NAME"""
import socket
import sys

addr, port, log, name = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
s.listen(16)
open(log, "a").close()
while True:
    c, peer = s.accept()
    with open(log, "a") as f:
        f.write(peer[0] + "\n")
    try:
        c.settimeout(2)
        c.sendall(("hello from %s\n" % name).encode())
    except OSError:
        pass
    c.close()
