#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Stand in for `vfmig receive` and keep what a parallel send writes.

lane_capture.py PORT LANES DIR: accept LANES connections on PORT, write
each one's bytes to DIR/conn<N> until the sender's end of stream, then
answer on the first connection "ERR captured" (the sender then starts its
devices again).  The files are whole lane streams for `vfmig inspect`."""
import os
import socket
import sys
import threading

port, lanes, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port))
ls.listen(16)
conns = [ls.accept()[0] for _ in range(lanes)]


def drain(i, c):
    with open(os.path.join(out, "conn%d" % i), "wb") as f:
        while True:
            b = c.recv(1 << 20)
            if not b:
                break
            f.write(b)


ts = [threading.Thread(target=drain, args=(i, c)) for i, c in enumerate(conns)]
for t in ts:
    t.start()
for t in ts:
    t.join()
conns[0].sendall(b"ERR captured\n")
for c in conns:
    c.close()
