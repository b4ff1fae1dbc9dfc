#!/usr/bin/env python3
"""A small TACACS+ server (RFC 8907) for the Portcullis test suite.

Authentication: ASCII login (GETUSER/GETPASS prompts) and PAP; authorization: PASS_ADD for known
users; accounting: SUCCESS. Every request it understood is written as one JSON line to --log
(passwords are never logged). --mode makes it misbehave for robustness tests:
  normal, silent (accepts, never answers), garbage (random bytes), truncated (header promises
  more than is sent, then closes), badkey (obfuscates replies with a wrong key), badseq (wrong
  sequence number), badlen (body length field inconsistent with the body), close (closes at once).
"""
import argparse
import hashlib
import json
import os
import socket
import struct
import sys
import threading
import time

AUTHEN, AUTHOR, ACCT = 1, 2, 3
ST_PASS, ST_FAIL, ST_GETUSER, ST_GETPASS, ST_ERROR = 1, 2, 4, 5, 7


def pad(session_id, key, version, seq, length):
    out = b""
    prev = b""
    base = struct.pack("!I", session_id) + key + bytes([version, seq])
    while len(out) < length:
        prev = hashlib.md5(base + prev).digest()
        out += prev
    return out[:length]


def crypt(hdr, key, body):
    if not key:
        return body
    p = pad(hdr["session"], key, hdr["version"], hdr["seq"], len(body))
    return bytes(a ^ b for a, b in zip(body, p))


def recv_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


class Server:
    def __init__(self, args):
        self.args = args
        self.key = args.key.encode()
        self.users = {}
        for u in args.user:
            name, _, pw = u.partition(":")
            self.users[name] = pw
        self.lock = threading.Lock()

    def log(self, rec):
        if not self.args.log:
            return
        with self.lock, open(self.args.log, "a") as f:
            f.write(json.dumps(rec) + "\n")

    def send(self, conn, hdr, seq, body, key=None, flags=None):
        key = self.key if key is None else key
        h = {"version": hdr["version"], "seq": seq, "session": hdr["session"]}
        mode = self.args.mode
        if mode == "badseq":
            h["seq"] = seq + 2
        enc = crypt(h, key if mode != "badkey" else key + b"-wrong", body)
        length = len(enc)
        if mode == "badlen":
            length += 7
        fl = (0 if self.key else 1) if flags is None else flags
        pkt = struct.pack("!BBBBII", h["version"], hdr["type"], h["seq"], fl, h["session"], length) + enc
        if mode == "truncated":
            conn.sendall(pkt[: max(13, len(pkt) // 2)])
            conn.shutdown(socket.SHUT_WR)
            return
        conn.sendall(pkt)

    def authen_reply(self, conn, hdr, seq, status, msg=b"", noecho=False):
        body = struct.pack("!BBHH", status, 1 if noecho else 0, len(msg), 0) + msg
        self.send(conn, hdr, seq, body)

    def handle(self, conn, peer):
        mode = self.args.mode
        state = {}
        try:
            while True:
                raw = recv_exact(conn, 12)
                if raw is None:
                    return
                version, ptype, seq, flags, session, length = struct.unpack("!BBBBII", raw)
                if length > 65536:
                    return
                body = recv_exact(conn, length)
                if body is None:
                    return
                hdr = {"version": version, "type": ptype, "seq": seq, "session": session}
                key = self.key if not (flags & 1) else b""
                body = crypt(hdr, key, body)
                if mode == "close":
                    return
                if mode == "silent":
                    time.sleep(3600)
                    return
                if mode == "garbage":
                    conn.sendall(os.urandom(40))
                    continue
                if ptype == AUTHEN:
                    self.authen(conn, hdr, body, state, peer)
                elif ptype == ACCT:
                    self.acct(conn, hdr, body, peer)
                elif ptype == AUTHOR:
                    self.author(conn, hdr, body, peer)
                else:
                    return
        except (ConnectionError, OSError):
            return
        finally:
            conn.close()

    def authen(self, conn, hdr, body, state, peer):
        seq = hdr["seq"]
        if seq == 1:  # START
            action, priv, atype, svc, ul, pl, rl, dl = struct.unpack("!8B", body[:8])
            off = 8
            user = body[off:off + ul].decode(errors="replace"); off += ul
            port = body[off:off + pl].decode(errors="replace"); off += pl
            rem = body[off:off + rl].decode(errors="replace"); off += rl
            data = body[off:off + dl]
            state.update(user=user, atype=atype, port=port, rem=rem, priv=priv, svc=svc,
                         action=action, version=hdr["version"])
            if atype == 2:  # PAP
                return self.decide(conn, hdr, seq + 1, state, data.decode(errors="replace"))
            if not user:
                return self.authen_reply(conn, hdr, seq + 1, ST_GETUSER, b"Username: ")
            return self.authen_reply(conn, hdr, seq + 1, ST_GETPASS, b"Password: ", True)
        # CONTINUE
        uml, dl, cflags = struct.unpack("!HHB", body[:5])
        msg = body[5:5 + uml].decode(errors="replace")
        if cflags & 1:
            return
        if not state.get("user"):
            state["user"] = msg
            return self.authen_reply(conn, hdr, seq + 1, ST_GETPASS, b"Password: ", True)
        return self.decide(conn, hdr, seq + 1, state, msg)

    def decide(self, conn, hdr, seq, state, password):
        ok = state["user"] in self.users and self.users[state["user"]] == password
        self.log({"type": "authen", "user": state["user"], "authen_type": state["atype"],
                  "version": state["version"], "port": state["port"], "rem_addr": state["rem"],
                  "priv_lvl": state["priv"], "service": state["svc"], "result": "pass" if ok else "fail"})
        self.authen_reply(conn, hdr, seq, ST_PASS if ok else ST_FAIL)

    def args_of(self, body, off, ul, pl, rl, n):
        lens = list(body[off:off + n]); off += n
        user = body[off:off + ul].decode(errors="replace"); off += ul
        port = body[off:off + pl].decode(errors="replace"); off += pl
        rem = body[off:off + rl].decode(errors="replace"); off += rl
        args = []
        for ln in lens:
            args.append(body[off:off + ln].decode(errors="replace")); off += ln
        return user, port, rem, args

    def acct(self, conn, hdr, body, peer):
        flags, meth, priv, atype, svc, ul, pl, rl, n = struct.unpack("!9B", body[:9])
        user, port, rem, args = self.args_of(body, 9, ul, pl, rl, n)
        kind = {2: "start", 4: "stop", 8: "watchdog"}.get(flags & 0x0e, "?")
        self.log({"type": "acct", "flags": kind, "user": user, "port": port, "rem_addr": rem,
                  "args": args})
        self.send(conn, hdr, hdr["seq"] + 1, struct.pack("!HHB", 0, 0, 1))

    def author(self, conn, hdr, body, peer):
        meth, priv, atype, svc, ul, pl, rl, n = struct.unpack("!8B", body[:8])
        user, port, rem, args = self.args_of(body, 8, ul, pl, rl, n)
        ok = user in self.users and user not in self.args.deny_author
        self.log({"type": "author", "user": user, "args": args, "result": "pass" if ok else "fail"})
        status = 1 if ok else 0x10
        self.send(conn, hdr, hdr["seq"] + 1, struct.pack("!BBHH", status, 0, 0, 0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=49)
    ap.add_argument("--key", default="")
    ap.add_argument("--user", action="append", default=[], help="NAME:PASSWORD")
    ap.add_argument("--deny-author", action="append", default=[])
    ap.add_argument("--log")
    ap.add_argument("--mode", default="normal",
                    choices=["normal", "silent", "garbage", "truncated", "badkey", "badseq",
                             "badlen", "close"])
    ap.add_argument("--pidfile")
    args = ap.parse_args()
    srv = Server(args)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((args.listen, args.port))
    s.listen(64)
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write(str(os.getpid()))
    print("tacacs_server listening on %s:%d mode %s" % (args.listen, args.port, args.mode), flush=True)
    while True:
        conn, peer = s.accept()
        threading.Thread(target=srv.handle, args=(conn, peer), daemon=True).start()


if __name__ == "__main__":
    main()
