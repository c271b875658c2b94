#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""NATS operator (JWT) mode for a test, without nsc: an operator, a system
account, an account with JetStream, and users as .creds files.

Usage: natsjwt.py DIR USER[:ro] ...

Writes DIR/server.conf (operator, system_account, a MEMORY resolver with
the accounts preloaded; include it from a nats-server config) and
DIR/USER.creds per user; a user named with ":ro" may publish only what a
read-only geofw host needs for bucket geofw (docs/operations.md).

Keys are nkeys (Ed25519, base32 with a type prefix and a CRC-16), JWTs are
signed with them ("ed25519-nkey"), as nsc makes them.  Test keys only.
"""
import base64
import hashlib
import json
import os
import sys
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

PREFIX = {"operator": 14 << 3, "account": 0, "user": 20 << 3}
PREFIX_SEED = 18 << 3

READ_ONLY_PUB = [
    "$JS.API.INFO", "$JS.API.STREAM.NAMES", "$JS.API.STREAM.INFO.KV_geofw",
    "$JS.API.CONSUMER.CREATE.KV_geofw", "$JS.API.CONSUMER.CREATE.KV_geofw.>",
    "$JS.API.CONSUMER.DELETE.KV_geofw.>", "$JS.FC.KV_geofw.>", "$JS.ACK.KV_geofw.>",
]


def crc16(data):
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def b32(data):
    return base64.b32encode(data).decode().rstrip("=")


def b64url(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class Key:
    def __init__(self, kind):
        self.kind = kind
        self.sk = Ed25519PrivateKey.generate()
        raw = self.sk.private_bytes(serialization.Encoding.Raw,
                                    serialization.PrivateFormat.Raw,
                                    serialization.NoEncryption())
        pub = self.sk.public_key().public_bytes(serialization.Encoding.Raw,
                                                serialization.PublicFormat.Raw)
        p = bytes([PREFIX[kind]]) + pub
        self.public = b32(p + crc16(p).to_bytes(2, "little"))
        t = PREFIX[kind]
        s = bytes([PREFIX_SEED | (t >> 5), (t & 31) << 3]) + raw
        self.seed = b32(s + crc16(s).to_bytes(2, "little"))


def jwt(issuer, subject, name, nats):
    claims = {"iat": int(time.time()), "iss": issuer.public, "name": name,
              "sub": subject.public, "nats": dict(nats, version=2)}
    body = json.dumps(claims, separators=(",", ":")).encode()
    claims["jti"] = b32(hashlib.new("sha512_256", body).digest())
    head = b64url(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"},
                             separators=(",", ":")).encode())
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    sig = issuer.sk.sign((head + "." + payload).encode())
    return head + "." + payload + "." + b64url(sig)


def main():
    if len(sys.argv) < 3:
        print(__doc__.strip().splitlines()[3], file=sys.stderr)
        return 2
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    op, sys_acc, acc = Key("operator"), Key("account"), Key("account")
    unlimited = {"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
                 "wildcards": True, "conn": -1, "leaf": -1}
    op_jwt = jwt(op, op, "geofw-test", {"type": "operator",
                                         "system_account": sys_acc.public})
    sys_jwt = jwt(op, sys_acc, "SYS", {"type": "account", "limits": unlimited})
    acc_jwt = jwt(op, acc, "EDGE", {"type": "account", "limits": dict(
        unlimited, mem_storage=-1, disk_storage=-1, streams=-1, consumer=-1)})
    with open(os.path.join(out, "server.conf"), "w") as f:
        f.write("operator: %s\nsystem_account: %s\nresolver: MEMORY\n"
                "resolver_preload: {\n  %s: %s\n  %s: %s\n}\n"
                % (op_jwt, sys_acc.public, sys_acc.public, sys_jwt, acc.public, acc_jwt))
    for spec in sys.argv[2:]:
        name, _, mode = spec.partition(":")
        u = Key("user")
        perms = {"pub": {"allow": READ_ONLY_PUB} if mode == "ro" else {},
                 "sub": {"allow": ["_INBOX.>"]} if mode == "ro" else {}}
        user_jwt = jwt(acc, u, name, dict({"type": "user", "subs": -1, "data": -1,
                                           "payload": -1}, **perms))
        path = os.path.join(out, name + ".creds")
        with open(path, "w") as f:
            f.write("-----BEGIN NATS USER JWT-----\n%s\n------END NATS USER JWT------\n\n"
                    "************************* IMPORTANT *************************\n"
                    "NKEY Seed printed below can be used to sign and prove identity.\n"
                    "NKEYs are sensitive and should be treated as secrets.\n\n"
                    "-----BEGIN USER NKEY SEED-----\n%s\n------END USER NKEY SEED------\n\n"
                    "*************************************************************\n"
                    % (user_jwt, u.seed))
        os.chmod(path, 0o600)
    return 0


if __name__ == "__main__":
    sys.exit(main())
