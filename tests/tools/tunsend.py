#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Drive a tun device as the far end of a point-to-point link would.

    tunsend.py IFNAME DST4 DST6 COUNT SRC...

Attaches to the existing tun device IFNAME (IFF_TUN, no packet info), so the
packets written here are *received* by IFNAME: they go through its XDP program
and into the stack like packets arriving over a VPN.  For each SRC (IPv4 or
IPv6) it writes COUNT UDP datagrams to DST4/DST6 port 9999, while UDP sockets
bound to that port count what the stack delivers.  Prints one line per source:
"SRC SENT RECEIVED".  Run it inside the namespace that holds IFNAME.
"""
import fcntl
import ipaddress
import os
import select
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
PORT = 9999


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def udp4(src, dst, payload, sport):
    udp_len = 8 + len(payload)
    pseudo = src + dst + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", sport, PORT, udp_len, 0) + payload
    udp = udp[:6] + struct.pack("!H", csum(pseudo + udp) or 0xFFFF) + udp[8:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0x4000, 64, 17, 0, src, dst)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + udp


def udp6(src, dst, payload, sport):
    udp_len = 8 + len(payload)
    pseudo = src + dst + struct.pack("!I3xB", udp_len, 17)
    udp = struct.pack("!HHHH", sport, PORT, udp_len, 0) + payload
    udp = udp[:6] + struct.pack("!H", csum(pseudo + udp) or 0xFFFF) + udp[8:]
    hdr = struct.pack("!IHBB16s16s", 6 << 28, udp_len, 17, 64, src, dst)
    return hdr + udp


def main():
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    ifname, dst4, dst6, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    srcs = sys.argv[5:]

    tun = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(tun, TUNSETIFF, struct.pack("16sH", ifname.encode(), IFF_TUN | IFF_NO_PI))

    s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s4.bind((dst4, PORT))
    s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s6.bind((dst6, PORT))

    got = {}
    for i, src in enumerate(srcs):
        a = ipaddress.ip_address(src)
        got[str(a)] = 0
        for n in range(count):
            payload = b"geofw tun %d %d" % (i, n)
            if a.version == 4:
                pkt = udp4(a.packed, ipaddress.ip_address(dst4).packed, payload, 20000 + i)
            else:
                pkt = udp6(a.packed, ipaddress.ip_address(dst6).packed, payload, 20000 + i)
            os.write(tun, pkt)

    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        ready, _, _ = select.select([s4, s6], [], [], 0.2)
        for s in ready:
            _, addr = s.recvfrom(2048)
            src = str(ipaddress.ip_address(addr[0]))
            got[src] = got.get(src, 0) + 1
    for src in srcs:
        print(src, count, got.get(str(ipaddress.ip_address(src)), 0))


if __name__ == "__main__":
    main()
