# SPDX-License-Identifier: GPL-2.0
"""qemu_bench.py [--qemu10] UUID [TIMEOUT [RUNS]]: QEMU 7.2's own VFIO v1 client
(or, with --qemu10, QEMU 10's v2 client; the device must speak v2) saving a
paused guest that holds vfmig device UUID, for the `make bench` QEMU rows.

Two runs of the same nested QEMU (TCG, 32 MiB, firmware only, started with
-S, as the "qemu" VM suite starts it, through its helpers): one with the
device, one without (RAM only), each migrating to "exec:cat > /dev/null".
RUNS such pairs (default 1).  Prints one JSON line with the medians of
QEMU's query-migrate total-time of each and their difference, the device's
share.  The device is left STOP (postmigrate), as a saved source is.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "selftests"))
import qemu10_suite  # noqa: E402
import qemu_suite  # noqa: E402
from qemu_suite import check_realized, start, vfio_dev  # noqa: E402
from vmtap import Fail, Qemu, check_eq, knob_int  # noqa: E402

LOGDIR = qemu_suite.LOGDIR   # start() logs there


def save_time(q, timeout, device, qemu10=False):
    """Migrate the paused guest to /dev/null; QEMU's total-time in ms."""
    uri = "exec:cat > /dev/null"
    try:
        q.connect()
        if device:
            check_realized(q)
        check_eq(q.status(), "prelaunch", "QEMU %s run state" % q.name)
        if qemu10:
            # Where the kernel cannot tell the stop-copy size, QEMU 10 needs
            # a switchover bandwidth to switch over at all (qemu10_suite).
            qemu10_suite.migrate10(q, uri)
        else:
            q.cmd("migrate", uri=uri)
        info = q.wait_migration(timeout=timeout)
        if float(info.get("total-time", 0)) <= 0:
            # QEMU 7.2 sets the status to completed in its migration thread
            # and only then, under the BQL, the total time (with the run
            # state postmigrate): a query between the two reads 0 (seen
            # with guest kernel 6.1, trapped and sparse:4 rows of one run).
            # Later QEMUs set the time first.  Once postmigrate, the time
            # is there.
            check_eq(q.wait_status("postmigrate"), "postmigrate",
                     "QEMU %s run state after the save" % q.name)
            info = q.cmd("query-migrate")
        if float(info.get("total-time", 0)) <= 0:
            # A zero would print 0x.
            raise Fail("QEMU %s: migration completed with total-time %r: %s"
                       % (q.name, info.get("total-time"), json.dumps(info)))
        return float(info["total-time"])
    except Fail as e:
        raise Fail("%s\n%s" % (e, q.output()[-2000:]))
    finally:
        q.stop()


def qemu10_pair(uuid):
    """QEMU 10 with the device (no trace events: they would slow the save)
    and the same QEMU without it."""
    common = ["-only-migratable", "-msg", "timestamp=off", "-S"]
    binary = qemu10_suite.QEMU10
    return (Qemu("bench10-dev", qemu10_suite.vfio10(qemu10_suite.mdev(uuid)) + common, LOGDIR,
                 binary=binary),
            Qemu("bench10-ram", common, LOGDIR, binary=binary))


def run_pair(uuid, timeout, qemu10):
    """One save with the device and one without: (device ms, RAM-only ms)."""
    if qemu10:
        dev, ram = qemu10_pair(uuid)
    else:
        dev = start("bench-dev", uuid, paused=True)
        # The same QEMU configuration without the device: what RAM costs.
        ram = Qemu("bench-ram", ["-only-migratable", "-msg", "timestamp=off", "-S"], LOGDIR)
    try:
        dev_ms = save_time(dev, timeout, True, qemu10)
        check_eq(knob_int(uuid, "device_state"), 0, "device_state after QEMU's save")
    except Fail:
        ram.stop()
        raise
    return dev_ms, save_time(ram, timeout, False, qemu10)


def median(v):
    v = sorted(v)
    return v[(len(v) - 1) // 2]


def main():
    args = sys.argv[1:]
    qemu10 = bool(args) and args[0] == "--qemu10"
    if qemu10:
        args = args[1:]
    if len(args) not in (1, 2, 3):
        print("usage: qemu_bench.py [--qemu10] UUID [TIMEOUT [RUNS]]", file=sys.stderr)
        return 2
    uuid = args[0]
    timeout = int(args[1]) if len(args) >= 2 else 1800
    runs = int(args[2]) if len(args) == 3 else 1
    binary = qemu10_suite.QEMU10 if qemu10 else Qemu.BINARY
    if not binary or not os.access(binary, os.X_OK):
        print("qemu_bench: %s not installed" % (binary or "QEMU 10"), file=sys.stderr)
        return 77
    os.makedirs(LOGDIR, exist_ok=True)
    dev_ms, ram_ms = [], []
    try:
        for _ in range(runs):
            pair_ms = run_pair(uuid, timeout, qemu10)
            dev_ms.append(pair_ms[0])
            ram_ms.append(pair_ms[1])
    except Fail as e:
        print("qemu_bench: %s" % e, file=sys.stderr)
        return 1
    # Medians of the runs; a device share below the RAM-only run's spread
    # can come out negative: it is reported as 0 ("below the noise").
    dev_med, ram_med = median(dev_ms), median(ram_ms)
    print(json.dumps({"qemu-total-ms": dev_med, "qemu-ram-only-ms": ram_med,
                      "qemu-device-ms": max(0.0, round(dev_med - ram_med, 1)),
                      "below-noise": dev_med <= ram_med,
                      "runs-total-ms": dev_ms, "runs-ram-only-ms": ram_ms,
                      "qemu": binary,
                      "device-arg": (qemu10_suite.vfio10(qemu10_suite.mdev(uuid)) if qemu10
                                     else vfio_dev(uuid))[1]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
