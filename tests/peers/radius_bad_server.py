#!/usr/bin/env python3
"""A misbehaving RADIUS server for robustness tests. Answers every request (auth or accounting)
according to --mode: garbage (random bytes), short (10 bytes), badlen (length field beyond the
datagram), badauth (well-formed Access-Accept/Accounting-Response with a wrong Response
Authenticator), badid (right authenticator for another identifier), badma (Access-Accept whose
Message-Authenticator is wrong), badattr (attribute length overruns the packet), silent."""
import argparse
import hashlib
import hmac
import os
import socket
import struct


def reply(code, ident, req_auth, attrs, secret, ma=None):
    if ma is not None:
        attrs = bytes([80, 18]) + b"\0" * 16 + attrs
    length = 20 + len(attrs)
    if ma is not None:
        pkt = struct.pack("!BBH", code, ident, length) + req_auth + attrs
        mac = hmac.new(secret, pkt, hashlib.md5).digest()
        if ma == "bad":
            mac = bytes([mac[0] ^ 1]) + mac[1:]
        attrs = bytes([80, 18]) + mac + attrs[18:]
    ra = hashlib.md5(struct.pack("!BBH", code, ident, length) + req_auth + attrs + secret).digest()
    return struct.pack("!BBH", code, ident, length) + ra + attrs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--mode", required=True)
    a = ap.parse_args()
    secret = a.secret.encode()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.listen, a.port))
    print("radius_bad_server listening on %d mode %s" % (a.port, a.mode), flush=True)
    while True:
        data, peer = s.recvfrom(4096)
        if len(data) < 20:
            continue
        code, ident = data[0], data[1]
        req_auth = data[4:20]
        rcode = 2 if code == 1 else 5
        m = a.mode
        if m == "silent":
            continue
        if m == "garbage":
            out = os.urandom(64)
        elif m == "short":
            out = os.urandom(10)
        elif m == "badlen":
            out = bytearray(reply(rcode, ident, req_auth, b"", secret))
            out[2:4] = struct.pack("!H", len(out) + 40)
            out = bytes(out)
        elif m == "badauth":
            out = bytearray(reply(rcode, ident, req_auth, b"", secret))
            out[4] ^= 0xFF
            out = bytes(out)
        elif m == "badid":
            out = reply(rcode, (ident + 1) & 255, req_auth, b"", secret)
        elif m == "badma":
            out = reply(rcode, ident, req_auth, b"", secret, ma="bad")
        elif m == "badattr":
            out = bytearray(reply(rcode, ident, req_auth, bytes([18, 200]) + b"hello", secret))
            out = bytes(out)
        else:
            raise SystemExit("unknown mode " + m)
        s.sendto(out, peer)


if __name__ == "__main__":
    main()
