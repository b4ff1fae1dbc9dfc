#!/usr/bin/env python3
"""Runs SQL (argv[2], or stdin) on a Portcullis database (argv[1]) with the ip4() and
ip4_mask_ok() SQL functions the schema's CHECK constraints use registered, as db_open does."""
import socket
import sqlite3
import struct
import sys


def ip4(s):
    try:
        if s is None or s.count(".") != 3:
            return None
        return struct.unpack("!I", socket.inet_aton(s))[0]
    except OSError:
        return None


def ip4_mask_ok(s):
    v = ip4(s)
    if v is None:
        return 0
    inv = (~v) & 0xFFFFFFFF
    return 1 if (inv & (inv + 1)) == 0 else 0


con = sqlite3.connect(sys.argv[1])
con.create_function("ip4", 1, ip4)
con.create_function("ip4_mask_ok", 1, ip4_mask_ok)
sql = sys.argv[2] if len(sys.argv) > 2 else sys.stdin.read()
con.executescript(sql)
con.commit()
con.close()
