#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""One JetStream API request over the NATS protocol, its reply on stdout.

    jsapi.py HOST:PORT USER PASSWORD SUBJECT [PAYLOAD]

For the fleet tests: what an operator would do with the nats CLI (not in
Debian), e.g. list the consumers of the bucket's stream
($JS.API.CONSUMER.NAMES.KV_geofw) or delete one
($JS.API.CONSUMER.DELETE.KV_geofw.NAME).  Exits 1 without a reply in 5 s.
"""
import json
import socket
import sys


def main():
    if len(sys.argv) not in (5, 6):
        sys.stderr.write(__doc__)
        return 2
    host, port = sys.argv[1].rsplit(":", 1)
    user, password, subject = sys.argv[2:5]
    payload = (sys.argv[5] if len(sys.argv) == 6 else "").encode()
    s = socket.create_connection((host, int(port)), timeout=5)
    f = s.makefile("rb")
    if not f.readline().startswith(b"INFO "):
        sys.stderr.write("jsapi: no INFO from the server\n")
        return 1
    connect = {"verbose": False, "pedantic": False, "user": user, "pass": password,
               "lang": "python", "version": "0", "protocol": 1}
    inbox = "_INBOX.jsapi%d" % (id(s) & 0xffffff)
    s.sendall(b"CONNECT " + json.dumps(connect).encode() + b"\r\n" +
              b"SUB " + inbox.encode() + b" 1\r\n" +
              b"PUB " + subject.encode() + b" " + inbox.encode() + b" " +
              str(len(payload)).encode() + b"\r\n" + payload + b"\r\nPING\r\n")
    while True:
        line = f.readline()
        if not line:
            sys.stderr.write("jsapi: connection closed\n")
            return 1
        if line.startswith(b"PING"):
            s.sendall(b"PONG\r\n")
        elif line.startswith(b"-ERR"):
            sys.stderr.write("jsapi: " + line.decode(errors="replace"))
            return 1
        elif line.startswith(b"MSG "):
            size = int(line.split()[-1])
            body = f.read(size + 2)[:size]
            sys.stdout.write(body.decode(errors="replace") + "\n")
            return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, ValueError) as e:
        sys.stderr.write("jsapi: %s\n" % e)
        sys.exit(1)
