# SPDX-License-Identifier: GPL-2.0
"""qemu_bench.py UUID [TIMEOUT]: QEMU 7.2's own VFIO v1 client saving a paused
guest that holds vfmig device UUID, for the `make bench` QEMU row.

Two runs of the same nested QEMU (TCG, 32 MiB, firmware only, started with
-S, as the "qemu" VM suite starts it, through its helpers): one with the
device, one without (RAM only), each migrating to "exec:cat > /dev/null".
Prints one JSON line with QEMU's query-migrate total-time of each and their
difference, the device's share.  The device is left STOP (postmigrate), as a
saved source is.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "selftests"))
import qemu_suite  # noqa: E402
from qemu_suite import check_realized, start, vfio_dev  # noqa: E402
from vmtap import Fail, Qemu, check_eq, knob_int  # noqa: E402

LOGDIR = qemu_suite.LOGDIR   # start() logs there


def save_time(q, timeout, device):
    """Migrate the paused guest to /dev/null; QEMU's total-time in ms."""
    try:
        q.connect()
        if device:
            check_realized(q)
        check_eq(q.status(), "prelaunch", "QEMU %s run state" % q.name)
        q.cmd("migrate", uri="exec:cat > /dev/null")
        info = q.wait_migration(timeout=timeout)
        return float(info["total-time"])
    except Fail as e:
        raise Fail("%s\n%s" % (e, q.output()[-2000:]))
    finally:
        q.stop()


def main():
    if len(sys.argv) not in (2, 3):
        print("usage: qemu_bench.py UUID [TIMEOUT]", file=sys.stderr)
        return 2
    uuid = sys.argv[1]
    timeout = int(sys.argv[2]) if len(sys.argv) == 3 else 1800
    if not os.access(Qemu.BINARY, os.X_OK):
        print("qemu_bench: %s not installed" % Qemu.BINARY, file=sys.stderr)
        return 77
    os.makedirs(LOGDIR, exist_ok=True)
    try:
        dev_ms = save_time(start("bench-dev", uuid, paused=True), timeout, True)
        check_eq(knob_int(uuid, "device_state"), 0, "device_state after QEMU's save")
        # The same QEMU configuration without the device: what RAM costs.
        ram = Qemu("bench-ram", ["-only-migratable", "-msg", "timestamp=off", "-S"], LOGDIR)
        ram_ms = save_time(ram, timeout, False)
    except Fail as e:
        print("qemu_bench: %s" % e, file=sys.stderr)
        return 1
    print(json.dumps({"qemu-total-ms": dev_ms, "qemu-ram-only-ms": ram_ms,
                      "qemu-device-ms": round(dev_ms - ram_ms, 1),
                      "device-arg": vfio_dev(uuid)[1]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
