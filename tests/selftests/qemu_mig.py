# SPDX-License-Identifier: GPL-2.0
"""Migration scenario helpers shared by the QEMU suites (qemu_suite.py for
QEMU 7.2 over protocol v1, qemu10_suite.py for QEMU 10 over v2): vfmig mdev
pairs, waiting for dirty generation, QEMU command lines and processes that
are always stopped, sums from QEMU's own trace lines, the realized-device
check, the checks every finished source and destination pass, and the
suites' test_unload, cleanup and main."""
import contextlib
import os
import re
import time

from vmtap import (Fail, Qemu, Timeout, check, check_eq, create, knob, knob_int, remove_all,
                   run, unload_module)

VENDOR, DEVICE = 0x1234, 0x7F10
SLOT = 4
DIRTY_RATE = 262144            # bytes/s on every dirtying source device
WORK = "/dev/shm"

_seq = [0]


def next_n():
    """A fresh number for an mdev UUID (vmtap.make_uuid)."""
    _seq[0] += 1
    return _seq[0]


def wait_generation(uuid, timeout=20):
    """Dirty generation is running: the generation counter moves."""
    g0 = knob_int(uuid, "generation")
    deadline = time.monotonic() + timeout
    while knob_int(uuid, "generation") == g0:
        check(time.monotonic() < deadline,
              "%s: generation stuck at %d with dirty_rate %s"
              % (uuid, g0, knob(uuid, "dirty_rate")))
        time.sleep(0.05)


@contextlib.contextmanager
def qemus(*procs):
    """Stop the QEMUs at the end; on failure add the tail of their output."""
    try:
        yield procs
    except (Fail, Timeout) as e:
        msg = [str(e)]
        for q in procs:
            msg.append("--- QEMU %s (%s):" % (q.name, q.logpath))
            msg += q.output().splitlines()[-15:]
        raise type(e)("\n".join(msg))
    finally:
        for q in procs:
            q.stop()


def new_pair(type_name, dst_type=None, dirty_rate=DIRTY_RATE, **knobs):
    """Source (dirty generation at @dirty_rate) and destination mdevs, seeded
    differently; @knobs are set on both after the seed, in the order given
    (None values skipped: those keep the type's defaults)."""
    knobs = {k: v for k, v in knobs.items() if v is not None}
    src_n, dst_n = next_n(), next_n()
    src = create(type_name, src_n, seed=1000 + src_n, dirty_rate=dirty_rate, **knobs)
    dst = create(dst_type or type_name, dst_n, seed=1000 + dst_n, **knobs)
    check(knob(src, "checksum") != knob(dst, "checksum"), "seeds give equal checksums")
    return src, dst


def trace_values(q, event, field, since=0):
    """The values of "<field> N" (decimal or 0x hex) in QEMU's trace lines of
    @event, in order, from output line @since on (see log_mark)."""
    out = []
    pat = re.compile(re.escape(event) + r" .*\b" + re.escape(field) + r" (0x[0-9a-f]+|\d+)")
    for line in q.output().splitlines()[since:]:
        m = pat.search(line)
        if m:
            out.append(int(m.group(1), 0))
    return out


def trace_sum(q, event, field="size", since=0):
    return sum(trace_values(q, event, field, since))


def log_mark(q):
    """Where QEMU's output is now: trace sums from here cover what follows."""
    return len(q.output().splitlines())


def check_slot(q, vendor=VENDOR, device=DEVICE, slot=SLOT):
    """QEMU realized the device at the slot with these IDs."""
    devs = q.cmd("query-pci")[0]["devices"]
    ours = [d for d in devs if d["slot"] == slot]
    check(ours, "QEMU %s: no PCI device in slot %d: %r" % (q.name, slot, devs))
    d = ours[0]
    check((d["id"]["vendor"], d["id"]["device"]) == (vendor, device),
          "QEMU %s: slot %d is %04x:%04x" % (q.name, slot, d["id"]["vendor"], d["id"]["device"]))


def blocked_reasons(q):
    return q.cmd("query-migrate").get("blocked-reasons", [])


def check_unblocked(q):
    reasons = blocked_reasons(q)
    check(not reasons, "QEMU %s: migration blocked: %r" % (q.name, reasons))


def qemu_args(traces, paused, incoming):
    """QEMU arguments after the device: its @traces, -S when @paused, a
    deferred incoming migration when @incoming."""
    args = []
    for ev in traces:
        args += ["-trace", ev]
    if paused:
        args.append("-S")
    if incoming:
        args += ["-incoming", "defer"]
    return args


def source_stopped(q, uuid, dirty):
    """A source after a completed migration: the VM postmigrate, the device
    saved data (and dirtied some, with @dirty), its checksum holds still.
    Returns that checksum."""
    check_eq(q.wait_status("postmigrate"), "postmigrate", "source run state")
    check(knob_int(uuid, "stat_bytes_saved") > 0, "source stat_bytes_saved is 0")
    if dirty:
        check(knob_int(uuid, "stat_bytes_dirtied") > 0, "source dirtied nothing")
    sum0 = knob(uuid, "checksum")
    time.sleep(0.3)
    check_eq(knob(uuid, "checksum"), sum0, "stopped source checksum")
    return sum0


def destination_loaded(q):
    """The destination's incoming migration completed; returns its run state."""
    info = q.wait_migration(timeout=120)
    check_eq(info["status"], "completed", "destination migration status")
    return q.status()


def destination_continued(q, uuid, want_sum):
    """The destination after "cont": running, restored, the source's checksum."""
    q.cmd("cont")
    check_eq(q.status(), "running", "destination run state after cont")
    check(knob_int(uuid, "stat_bytes_restored") > 0, "destination stat_bytes_restored is 0")
    check_eq(knob(uuid, "checksum"), want_sum, "destination checksum vs stopped source")


def test_unload():
    Qemu.stop_all()
    unload_module()


def cleanup():
    Qemu.stop_all()
    remove_all()


def main(suite, logdir, tests, only_env):
    """Run @tests ((function, timeout s), test_load first, test_unload last)
    with their logs in @logdir; the environment variable @only_env, a comma
    list of test names, keeps only those (and test_load, test_unload)."""
    os.makedirs(logdir, exist_ok=True)
    only = os.environ.get(only_env)
    if only:
        keep = set(only.split(",")) | {"test_load", "test_unload"}
        tests = [t for t in tests if t[0].__name__ in keep]
    return run(suite, tests, cleanup=cleanup)
