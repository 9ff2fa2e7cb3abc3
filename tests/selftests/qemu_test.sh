#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# VM suite "qemu": QEMU 7.2 migrates vfmig mdevs (see qemu_suite.py).
here=$(cd "$(dirname "$0")" && pwd)
PYTHONDONTWRITEBYTECODE=1 exec /usr/bin/python3 "$here/qemu_suite.py" "$@"
