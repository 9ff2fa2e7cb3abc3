#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# VM suite "qemu10": QEMU 10 migrates vfmig mdevs over protocol v2 (see qemu10_suite.py).
here=$(cd "$(dirname "$0")" && pwd)
PYTHONDONTWRITEBYTECODE=1 exec /usr/bin/python3 "$here/qemu10_suite.py" "$@"
