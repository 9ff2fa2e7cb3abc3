# SPDX-License-Identifier: GPL-2.0
"""VM suite "qemu": QEMU 7.2 as a real VFIO migration protocol v1 client.

Inside the test VM, nested qemu-system-x86_64 processes (TCG, 32 MiB,
firmware only, no disk) get a vfmig mdev with
  -device vfio-pci,sysfsdev=/sys/bus/mdev/devices/<uuid>,addr=04.0,x-enable-migration=on
and are driven over QMP.  Each scenario migrates a source device (dirty
generation on) to a second QEMU with another mdev of the same type and
checks: the device is realized, no migration blocker, status completed,
vfio bytes transferred, the destination device RUNNING after "cont" with
the checksum the source device had when it stopped, and the vfio bytes
QEMU loaded equal to those it saved.  Covered: trapped data section,
whole-section mmap, sparse mmap with rotate/gap/straddle data offsets,
x-no-mmap, vfmig-large as it comes, a 90%-zero state (ZERO and SPARSE records); sources paused with -S, running, or
stopped; file and live unix-socket transports; a cancelled pre-copy; a
destination that refuses the stream (injected EIO, or a wrong device type):
the source device is RUNNING again with its state and migrates fine after.
QEMU 7.2 quirks this relies on are in Documentation/qemu-interop.md.
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmtap import (Fail, Qemu, QmpError, Skip, check, check_eq,  # noqa: E402
                   create, diag, knob, knob_int, load_module, remove_all, set_knob)
from qemu_mig import (SLOT, WORK, check_slot, check_unblocked, destination_continued,  # noqa: E402
                      destination_loaded, next_n, qemu_args, qemus, source_stopped,
                      test_unload, trace_sum, wait_generation)
import qemu_mig  # noqa: E402

SUITE = "qemu"
TYPE = "vfmig-small"
MIG_REGION, REGION_SHIFT = 9, 40   # region 9 at fd offset 9 << 40 (include/vfmig/abi.h)
# BAR0 registers (include/vfmig/abi.h) and where the qtest "firmware" maps it.
REG_MAGIC, REG_SCRATCH, REG_DEVICE_STATE, BAR0_MAGIC = 0x00, 0x20, 0x24, 0x67696D66
BAR0_ADDR, SCRATCH = 0xE0000000, 0x5EED1234
DIRTY_RATE = qemu_mig.DIRTY_RATE
LOGDIR = os.path.join(os.environ.get("TMPDIR", "/tmp"), "vfmig-qemu-%d" % os.getpid())

S_STOP, S_RUNNING, S_STOP_COPY, S_PRE_COPY, S_RESUMING = 0, 1, 2, 3, 4


def have_qemu():
    if not os.access(Qemu.BINARY, os.X_OK):
        raise Skip("%s not installed (Debian package qemu-system-x86; "
                   "VFMIG_QEMU names another binary)" % Qemu.BINARY)


def vfio_dev(uuid, migration=True, props=""):
    return ["-device", "vfio-pci,sysfsdev=/sys/bus/mdev/devices/%s,addr=%02x.0,"
            "x-enable-migration=%s%s" % (uuid, SLOT, "on" if migration else "off", props)]


def start(name, uuid, paused=True, incoming=False, props="", extra=(), qtest=False):
    # -only-migratable: a failed vfio migration probe fails realize.
    args = vfio_dev(uuid, props=props) + ["-only-migratable", "-msg", "timestamp=off"]
    args += qemu_args(("vfio_region_mmap", "vfio_save_buffer", "vfio_load_state_device_data"),
                      paused, incoming)
    return Qemu(name, args + list(extra), LOGDIR, qtest=qtest)


def check_realized(q):
    """QEMU realized our device at the slot and added no migration blocker."""
    check_slot(q)
    check_unblocked(q)


def mmap_count(q):
    """How many mmaps of the migration region QEMU's vfio_region_mmap trace
    shows (its memory regions are named "migration mmaps[N]")."""
    return sum(1 for line in q.output().splitlines()
               if "vfio_region_mmap" in line and "migration mmaps" in line)


def new_pair(layout=None, policy=None, data_size=None, type_name=TYPE, dst_type=None,
             dirty_rate=DIRTY_RATE):
    """Source (dirty generation on) and destination mdevs, seeded differently;
    layout knobs left out keep the type's defaults."""
    return qemu_mig.new_pair(type_name, dst_type, dirty_rate, data_size=data_size,
                             mmap_layout=layout, data_offset_policy=policy)


def trace_bytes(q, event):
    """vfio_save_buffer (source) and vfio_load_state_device_data
    (destination) log each device data chunk QEMU moved with "size 0x...";
    their sum."""
    return trace_sum(q, event)


def finish_source(q, uuid, info, dirty=True):
    """Source after a completed migration: stats, device stopped, checksum stable."""
    # QEMU 7.2 never fills query-migrate's "vfio" member nor HMP's "vfio
    # device transferred" line (populate_vfio_info is compiled without
    # CONFIG_VFIO; fixed in QEMU 8.0), so count the bytes from its own
    # vfio_save_buffer trace; use the QMP figure if a QEMU reports it.
    vfio = trace_bytes(q, "vfio_save_buffer")
    if "vfio" in info:
        check_eq(info["vfio"]["transferred"], vfio, "query-migrate vfio transferred vs trace")
    check(vfio > 0, "QEMU moved no vfio device data")
    sum0 = source_stopped(q, uuid, dirty)
    check_eq(knob_int(uuid, "device_state"), S_STOP, "source device_state after completion")
    diag("source %s: vfio transferred %d bytes, total %.1f ms, downtime %s ms, checksum %s"
         % (q.name, vfio, info.get("total-time", 0), info.get("downtime", "?"), sum0))
    return sum0, vfio


def finish_destination(q, uuid, want_sum, src_paused):
    """Destination (-S) after the load: still RESUMING; RUNNING after cont
    with the source's checksum.  Returns the vfio bytes QEMU loaded."""
    check_eq(destination_loaded(q), "prelaunch" if src_paused else "paused",
             "destination run state")
    check_eq(knob_int(uuid, "device_state"), S_RESUMING, "destination device_state before cont")
    destination_continued(q, uuid, want_sum)
    check_eq(knob_int(uuid, "device_state"), S_RUNNING, "destination device_state after cont")
    return trace_bytes(q, "vfio_load_state_device_data")


def migrate_via_file(layout=None, policy=None, src_paused=False, data_size=None, areas=0,
                     stop_cont=False, stop_first=False, type_name=TYPE, props="", fill=None,
                     window=None, chunk_offload=(False, False)):
    """One scenario: source QEMU (paused with -S, or running; stop_cont
    pauses and resumes it first, stop_first migrates it paused with "stop")
    to a file, destination QEMU loads it and continues.  @areas: the mmaps
    QEMU must make of the migration region on each side.  @fill: the
    source's vfmig/fill, seeded again with it.  @window: both devices'
    vfmig/data_window.  @chunk_offload: the source's and the destination's
    vfmig/chunk_offload."""
    src, dst = new_pair(layout, policy, data_size, type_name)
    for u, on in zip((src, dst), chunk_offload):
        if on:
            set_knob(u, "chunk_offload", "1")
    if window:
        for u in (src, dst):
            set_knob(u, "data_window", window)
            check_eq(knob(u, "data_window"), window, "data_window")
    if fill:
        set_knob(src, "fill", fill)
        set_knob(src, "seed", "77")
        check_eq(knob(src, "fill"), fill, "source fill")
    path = os.path.join(WORK, "vfmig-mig-%d.bin" % os.getpid())
    # Both QEMUs start together: start-up dominates under nested TCG.
    s = start("src", src, paused=src_paused, props=props)
    d = start("dst", dst, paused=True, incoming=True, props=props)
    with qemus(s, d):
        s.connect()
        d.connect()
        check_realized(s)
        check_realized(d)
        check_eq(s.status(), "prelaunch" if src_paused else "running", "source run state")
        if stop_cont:
            s.cmd("stop")
            check_eq(knob_int(src, "device_state"), S_STOP, "device_state after stop")
            s.cmd("cont")
            check_eq(knob_int(src, "device_state"), S_RUNNING, "device_state after cont")
        wait_generation(src)
        if stop_first:
            s.cmd("stop")
            check_eq(knob_int(src, "device_state"), S_STOP, "device_state after stop")
        s.cmd("migrate", uri="exec:cat > %s" % path)
        info = s.wait_migration(timeout=120)
        src_sum, sent = finish_source(s, src, info)
        check_eq(mmap_count(s), areas, "source migration-region mmaps")
        check(os.path.getsize(path) > sent, "stream file has only %d bytes" % os.path.getsize(path))
        d.cmd("migrate-incoming", uri="exec:cat %s" % path)
        check_eq(finish_destination(d, dst, src_sum, src_paused), sent,
                 "vfio bytes loaded vs saved")
        check_eq(mmap_count(d), areas, "destination migration-region mmaps")
    os.unlink(path)


def migrate_live(s, src, d, dst, sock):
    d.cmd("migrate-incoming", uri="unix:" + sock)
    s.cmd("migrate", uri="unix:" + sock)


# ---------------------------------------------------------------------- tests

def test_load():
    remove_all()
    load_module()
    check(os.path.exists("/dev/vfio/vfio"), "no /dev/vfio/vfio (vfio_iommu_type1 missing?)")


def test_blocker_detected_without_migration():
    """Control: with x-enable-migration=off QEMU blocks migration, and we see it."""
    have_qemu()
    uuid = create(TYPE, next_n())
    q = Qemu("ctl", vfio_dev(uuid, migration=False) + ["-S"], LOGDIR)
    with qemus(q):
        q.connect()
        info = q.cmd("query-migrate")
        reasons = " ".join(info.get("blocked-reasons", []))
        check("VFIO device doesn't support migration" in reasons,
              "no vfio blocker reported: %r" % info)
        try:
            q.cmd("migrate", uri="exec:cat > /dev/null")
            raise Fail("migrate with a blocker was accepted")
        except QmpError as e:
            check("doesn't support migration" in str(e), "unexpected refusal: %s" % e)


def test_file_trapped_paused():
    have_qemu()
    migrate_via_file("none", "fixed", src_paused=True)


def test_file_trapped_rotate_running():
    have_qemu()
    migrate_via_file("none", "rotate", src_paused=False)


def test_file_whole_mmap_running():
    have_qemu()
    migrate_via_file("whole", "fixed", src_paused=False, areas=1, stop_cont=True)


def test_file_sparse4_rotate_running():
    have_qemu()
    migrate_via_file("sparse:4", "rotate", src_paused=False, data_size=32768, areas=4)


def test_file_sparse4_gap_paused():
    have_qemu()
    migrate_via_file("sparse:4", "gap", src_paused=True, data_size=32768, areas=4)


def test_file_sparse4_straddle_running():
    have_qemu()
    migrate_via_file("sparse:4", "straddle", src_paused=False, data_size=32768, areas=4)


def test_file_zero90_whole_running():
    """A 90%-zero state (fill zero:90): its ZERO and SPARSE records are payload like any
    other to QEMU 7.2, and the destination's checksum equals the source's."""
    have_qemu()
    migrate_via_file("whole", "fixed", src_paused=False, areas=1, fill="zero:90",
                     type_name="vfmig-large")


def test_file_direct_window_running():
    """data_window=direct: data_offset points into device memory at the
    region's end, 4 MiB PAGES payloads as chunks of their own, the window a
    sparse area of its own (two mmaps).  QEMU 7.2's v1 client follows it
    unchanged, running with dirty generation on."""
    have_qemu()
    migrate_via_file("whole", "fixed", src_paused=False, data_size=8 << 20, areas=2,
                     type_name="vfmig-large", window="direct")


def test_file_direct_window_trapped():
    """The same with x-no-mmap=on: QEMU's 8-byte preads and pwrites reach
    device memory through the trapped window."""
    have_qemu()
    migrate_via_file("whole", "fixed", src_paused=True, data_size=8 << 20, areas=0,
                     props=",x-no-mmap=on", window="direct")


def test_file_chunk_offload_running():
    """chunk_offload on both ends: data_offset moves between the data
    section's four slots, each chunk staged while QEMU 7.2 reads the one
    before; its destination writes each piece up to the area's end, and
    the device waits for the copies still reading from there."""
    have_qemu()
    migrate_via_file("whole", "fixed", src_paused=False, data_size=8 << 20, areas=1,
                     type_name="vfmig-large", chunk_offload=(True, True))


def test_file_chunk_offload_destination_only():
    """Only the destination offloads: QEMU writes the source's 8 MiB chunks
    from each slot to the region's end, over the slots the worker may still
    be copying from."""
    have_qemu()
    migrate_via_file("whole", "fixed", src_paused=True, data_size=8 << 20, areas=1,
                     type_name="vfmig-large", chunk_offload=(False, True))


def test_live_unix_socket():
    """Source running with dirty generation, live over a unix socket."""
    have_qemu()
    src, dst = new_pair("sparse:4", "rotate", 32768)
    sock = os.path.join(WORK, "vfmig-live-%d.sock" % os.getpid())
    s = start("src", src, paused=False)
    d = start("dst", dst, paused=True, incoming=True)
    with qemus(s, d):
        s.connect()
        d.connect()
        check_realized(s)
        check_realized(d)
        wait_generation(src)
        migrate_live(s, src, d, dst, sock)
        info = s.wait_migration(timeout=120)
        src_sum, sent = finish_source(s, src, info)
        check_eq(finish_destination(d, dst, src_sum, src_paused=False), sent,
                 "vfio bytes loaded vs saved")


def test_destination_refuses():
    """resume_chunk fault on the destination: QEMU fails the migration, the
    source device is RUNNING again with its state, and migrates fine after."""
    have_qemu()
    src, dst = new_pair("none", "fixed", dirty_rate=0)
    dst2 = create(TYPE, next_n(), seed=7)
    sock = os.path.join(WORK, "vfmig-fail-%d.sock" % os.getpid())
    rp = [{"capability": "return-path", "state": True}]
    s = start("src", src, paused=False)
    d = start("dst", dst, paused=True, incoming=True)
    d2 = start("dst2", dst2, paused=True, incoming=True)
    with qemus(s, d, d2):
        s.connect()
        d.connect()
        d2.connect()
        check_realized(s)
        sum0 = knob(src, "checksum")
        for q in (s, d, d2):
            q.cmd("migrate-set-capabilities", capabilities=rp)
        set_knob(dst, "fault", "resume_chunk")
        migrate_live(s, src, d, dst, sock)
        info = s.wait_migration(want=("failed",), timeout=120)
        diag("source: %s" % info.get("error-desc", "(no error-desc)"))
        rc = d.wait_exit(60)
        check_eq(rc, 1, "refusing destination QEMU exit status")
        out = d.output()
        check("load of migration failed" in out, "destination did not report the failure:\n" + out)
        # The data_size write (offset 0x18 of region 9) got the injected EIO.
        check("vfio_mig_write 8 byte %s: failed at offset 0x%x, err: Input/output error"
              % (dst, (MIG_REGION << REGION_SHIFT) + 0x18) in out,
              "destination did not fail at the data_size write:\n" + out)
        check(re.search(r"error while loading state section id \d+\(0000:00:%02x.0/vfio\)" % SLOT,
                        out), "destination did not name the vfio section:\n" + out)
        check_eq(s.status(), "running", "source run state after the failure")
        check_eq(knob_int(src, "device_state"), S_RUNNING, "source device_state after the failure")
        check_eq(knob(src, "checksum"), sum0, "source checksum after the failure")
        # The same source migrates fine afterwards.
        os.unlink(sock)
        migrate_live(s, src, d2, dst2, sock)
        info = s.wait_migration(timeout=120)
        check_eq(finish_source(s, src, info, dirty=False)[0], sum0, "source checksum after the second migration")
        finish_destination(d2, dst2, sum0, src_paused=False)


def test_file_large_sparse_running():
    """vfmig-large as it comes (16 MiB state, 1 MiB data section in four
    mmapped areas), running, dirty generation on."""
    have_qemu()
    migrate_via_file(type_name="vfmig-large", areas=4)


def test_file_no_mmap_straddle_stopped():
    """x-no-mmap=on: QEMU traps a sparse layout too; source paused with stop."""
    have_qemu()
    migrate_via_file("sparse:4", "straddle", data_size=32768, areas=0, stop_first=True,
                     props=",x-no-mmap=on")


def test_cancel_precopy():
    """migrate_cancel during pre-copy: the device is RUNNING again, state
    untouched, and the next migration of it succeeds."""
    have_qemu()
    src, dst = new_pair("whole", "fixed", dirty_rate=0)
    path = os.path.join(WORK, "vfmig-cancel-%d.bin" % os.getpid())
    s = start("src", src, paused=False)
    d = start("dst", dst, paused=True, incoming=True)
    with qemus(s, d):
        s.connect()
        d.connect()
        sum0 = knob(src, "checksum")
        # Slow and strict: pre-copy cannot finish for tens of seconds.
        s.cmd("migrate-set-parameters", **{"max-bandwidth": 32768, "downtime-limit": 1})
        s.cmd("migrate", uri="exec:cat > %s" % path)
        deadline = time.monotonic() + 30
        while knob_int(src, "device_state") != S_PRE_COPY:
            check(time.monotonic() < deadline, "device never entered pre-copy")
            st = s.cmd("query-migrate").get("status")
            check(st in ("setup", "active"), "migration status %r before cancel" % st)
            time.sleep(0.05)
        s.cmd("migrate_cancel")
        s.wait_migration(want=("cancelled",), timeout=60)
        check_eq(s.status(), "running", "source run state after cancel")
        check_eq(knob_int(src, "device_state"), S_RUNNING, "device_state after cancel")
        check_eq(knob(src, "checksum"), sum0, "checksum after cancel")
        s.cmd("migrate-set-parameters", **{"max-bandwidth": 128 << 20, "downtime-limit": 300})
        s.cmd("migrate", uri="exec:cat > %s" % path)
        src_sum, _ = finish_source(s, src, s.wait_migration(timeout=120), dirty=False)
        check_eq(src_sum, sum0, "checksum after the second migration")
        d.cmd("migrate-incoming", uri="exec:cat %s" % path)
        finish_destination(d, dst, sum0, src_paused=False)
    os.unlink(path)


def test_wrong_type_refused():
    """A vfmig-small stream into a vfmig-large device: the destination's
    data_size write fails with EINVAL and QEMU abandons the load."""
    have_qemu()
    src, dst = new_pair(dirty_rate=0, dst_type="vfmig-large")
    path = os.path.join(WORK, "vfmig-wrong-%d.bin" % os.getpid())
    s = start("src", src, paused=True)
    d = start("dst", dst, paused=True, incoming=True)
    with qemus(s, d):
        s.connect()
        d.connect()
        dst_sum = knob(dst, "checksum")
        s.cmd("migrate", uri="exec:cat > %s" % path)
        s.wait_migration(timeout=120)
        d.cmd("migrate-incoming", uri="exec:cat %s" % path)
        check_eq(d.wait_exit(60), 1, "destination QEMU exit status")
        out = d.output()
        check("vfio_mig_write 8 byte %s: failed at offset 0x%x, err: Invalid argument"
              % (dst, (MIG_REGION << REGION_SHIFT) + 0x18) in out,
              "destination did not refuse at the data_size write:\n" + out)
        check("load of migration failed" in out, "no load failure reported:\n" + out)
        # Closed in the middle of a resume: the device keeps its own state.
        check_eq(knob(dst, "checksum"), dst_sum, "refusing device's checksum")
    os.unlink(path)


def program_bar0(qt, addr):
    """As firmware would: BAR0 of 00:04.0 at @addr, memory decoding on."""
    cfg = 0x80000000 | (SLOT << 11)
    qt.cmd("outl 0xcf8 0x%x" % (cfg | 0x10))
    qt.cmd("outl 0xcfc 0x%x" % addr)
    qt.cmd("outl 0xcf8 0x%x" % (cfg | 0x04))
    qt.cmd("outw 0xcfc 0x2")


def test_guest_scratch_qtest():
    """The guest side through QEMU's trapped BAR0 (qtest makes the guest's
    accesses; both VMs paused, so no firmware interferes): a SCRATCH value the
    source guest wrote is what the destination guest reads back after the
    migration; the guest sees device_state 4 while resuming."""
    have_qemu()
    src, dst = new_pair()
    path = os.path.join(WORK, "vfmig-qtest-%d.bin" % os.getpid())
    s = start("src", src, paused=True, qtest=True)
    d = start("dst", dst, paused=True, incoming=True, qtest=True)
    with qemus(s, d):
        s.connect()
        d.connect()
        check_realized(s)
        program_bar0(s.qtest, BAR0_ADDR)
        check_eq(s.qtest.readl(BAR0_ADDR + REG_MAGIC), BAR0_MAGIC, "MAGIC through QEMU")
        check_eq(s.qtest.readl(BAR0_ADDR + REG_DEVICE_STATE), S_RUNNING, "guest-visible state")
        s.qtest.cmd("writel 0x%x 0x%x" % (BAR0_ADDR + REG_SCRATCH, SCRATCH))
        check_eq(s.qtest.readl(BAR0_ADDR + REG_SCRATCH), SCRATCH, "SCRATCH read back")
        wait_generation(src)
        s.cmd("migrate", uri="exec:cat > %s" % path)
        src_sum, _ = finish_source(s, src, s.wait_migration(timeout=120))
        d.cmd("migrate-incoming", uri="exec:cat %s" % path)
        d.wait_migration(timeout=120)
        # QEMU restored BAR0's address from the stream; the device is resuming.
        check_eq(d.qtest.readl(BAR0_ADDR + REG_DEVICE_STATE), S_RESUMING,
                 "guest-visible state before cont")
        finish_destination(d, dst, src_sum, src_paused=True)
        check_eq(d.qtest.readl(BAR0_ADDR + REG_SCRATCH), SCRATCH, "SCRATCH on the destination")
        check_eq(d.qtest.readl(BAR0_ADDR + REG_DEVICE_STATE), S_RUNNING,
                 "guest-visible state after cont")
    os.unlink(path)


def main():
    tests = [
        (test_load, 60),
        (test_blocker_detected_without_migration, 120),
        (test_file_trapped_paused, 240),
        (test_file_trapped_rotate_running, 240),
        (test_file_whole_mmap_running, 240),
        (test_file_sparse4_rotate_running, 240),
        (test_file_sparse4_gap_paused, 240),
        (test_file_sparse4_straddle_running, 240),
        (test_file_large_sparse_running, 300),
        (test_file_no_mmap_straddle_stopped, 240),
        (test_file_zero90_whole_running, 300),
        (test_file_direct_window_running, 300),
        (test_file_direct_window_trapped, 300),
        (test_file_chunk_offload_running, 300),
        (test_file_chunk_offload_destination_only, 300),
        (test_live_unix_socket, 240),
        (test_cancel_precopy, 300),
        (test_guest_scratch_qtest, 240),
        (test_destination_refuses, 300),
        (test_wrong_type_refused, 240),
        (test_unload, 60),
    ]
    return qemu_mig.main(SUITE, LOGDIR, tests, "VFMIG_QEMU_ONLY")


if __name__ == "__main__":
    sys.exit(main())
