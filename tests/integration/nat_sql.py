#!/usr/bin/env python3
"""Runs SQL files against a Portcullis database with the ip4()/ip4_mask_ok() functions that
db_open registers (the schema's CHECK constraints call them). Usage: nat_sql.py DB FILE|- ..."""
import sqlite3
import sys


def ip4(s):
    try:
        parts = [int(p) for p in s.split(".")]
    except (AttributeError, ValueError):
        return None
    if len(parts) != 4 or any(p < 0 or p > 255 for p in parts):
        return None
    return (parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]


def ip4_mask_ok(s):
    v = ip4(s)
    if v is None:
        return 0
    inv = (~v) & 0xFFFFFFFF
    return 1 if (inv & (inv + 1)) == 0 else 0


db = sqlite3.connect(sys.argv[1])
db.create_function("ip4", 1, ip4, deterministic=True)
db.create_function("ip4_mask_ok", 1, ip4_mask_ok, deterministic=True)
db.execute("PRAGMA foreign_keys = ON")
for name in sys.argv[2:]:
    text = sys.stdin.read() if name == "-" else open(name).read()
    db.executescript(text)
db.commit()
