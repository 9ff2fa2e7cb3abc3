#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# VM suite "mdevctl": mdevctl manages vfmig mdevs (see mdevctl_suite.py).
here=$(cd "$(dirname "$0")" && pwd)
PYTHONDONTWRITEBYTECODE=1 exec /usr/bin/python3 "$here/mdevctl_suite.py" "$@"
