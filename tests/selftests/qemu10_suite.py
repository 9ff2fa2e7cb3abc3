# SPDX-License-Identifier: GPL-2.0
"""VM suite "qemu10": QEMU 10.0 as a real VFIO migration protocol v2 client.

QEMU 10 (scripts/qemu10.sh: Debian bookworm-backports in a private root;
VFMIG_QEMU10 names the binary, the suite skips when it is absent) gets vfmig
mdevs with vfmig/protocol = v2 (or both) through
  -device vfio-pci,sysfsdev=<mdev>,addr=04.0,enable-migration=on,
          x-device-dirty-page-tracking=off
(the device has no DMA logging: without the last property QEMU 10.0 fails
the migration with "Failed to get DMA logging report").  Scenarios, each
ending with the destination device's checksum equal to the stopped source's
and QEMU's loaded vfio bytes equal to its saved ones: paused and running
sources to a file; pre-copy paced by VFIO_MIG_GET_PRECOPY_INFO (QEMU's
vfio_save_iterate / vfio_state_pending_estimate traces carry the sizes it
read); live over a unix socket with switchover-ack; multifd device-state
transfer; a corrupted stream and a destination fault refused with the source
running again; a `both` device carried by QEMU 7.2 (v1) then QEMU 10 (v2);
QEMU 10 refusing a v1-only device and QEMU 7.2 a v2-only one, cleanly.
Kernels without PRE_COPY (6.1) run the stop-copy cases only.  When
the kernel's mtty sample is built for the running kernel (scripts/build-mtty.sh
puts it in build/mtty/<release>/; VFMIG_MTTY names another), two control
cases migrate it first: the harness against a known v2 driver.
"""
import glob
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmtap import (MDEVS, TOP, Fail, Qemu, QmpError, Skip, check, check_eq,  # noqa: E402
                   create, diag, knob, knob_int, load_module, remove_all, set_knob, sh)
from qemu_mig import (SLOT, WORK, blocked_reasons, check_slot, check_unblocked,  # noqa: E402
                      destination_continued, destination_loaded, log_mark, next_n, qemu_args,
                      qemus, source_stopped, test_unload, trace_sum, trace_values,
                      wait_generation)
import qemu_mig  # noqa: E402

SUITE = "qemu10"
TYPE = "vfmig-small"
LOGDIR = os.path.join(os.environ.get("TMPDIR", "/tmp"), "vfmig-qemu10-%d" % os.getpid())
QEMU72 = os.environ.get("VFMIG_QEMU", "/usr/bin/qemu-system-x86_64")
DEV_PROPS = "enable-migration=on,x-device-dirty-page-tracking=off"
# QEMU 10's vfio stream flags (hw/vfio/migration.c): the destination logs
# each with its vfio_load_state trace.
FLAG_DEV_INIT_DATA_SENT = 0xffffffffef100005
PAYLOAD_MAGIC = b"VFMIGST1"     # VFMIG_PAYLOAD_MAGIC, little endian (payload.h)
# Pre-copy cases: every page of the 64 KiB state dirtied on every 10 ms tick
# (at 256 KiB/s QEMU's exact queries never happened to see dirty bytes).
PRECOPY_DIRTY_RATE = 16 << 20
# On a quiet host QEMU moved the whole 16 MiB pre-copy source in 0.6 s, one
# exact query and no dirty bytes seen: the pre-copy cases cap QEMU's
# bandwidth so the first pass lasts seconds, and dirty only a 1 MiB working
# set, so the dirty bytes stay below what fits the downtime and it converges.
PRECOPY_BANDWIDTH = 4 << 20
PRECOPY_WORKING_SET = 1 << 20


def qemu10_binary():
    b = os.environ.get("VFMIG_QEMU10")
    if b:
        return b
    found = sorted(glob.glob("/var/cache/vfmig/qemu10/*/qemu-system-x86_64"))
    return found[-1] if found else ""


QEMU10 = qemu10_binary()


def have_qemu10():
    if not QEMU10 or not os.access(QEMU10, os.X_OK):
        raise Skip("QEMU 10 not installed (make deps runs scripts/qemu10.sh; "
                   "VFMIG_QEMU10 names the binary)")


def has_precopy():
    """PRE_COPY (VFIO_MIGRATION_PRE_COPY) is in the uAPI from Linux 6.2."""
    major, minor = (int(x) for x in os.uname().release.split(".")[:2])
    return (major, minor) >= (6, 2)


def has_data_size():
    """VFIO_DEVICE_FEATURE_MIG_DATA_SIZE (migration_get_data_size) is in the
    kernel from Linux 6.3."""
    major, minor = (int(x) for x in os.uname().release.split(".")[:2])
    return (major, minor) >= (6, 3)


def migrate10(s, uri, max_bandwidth=0):
    """migrate on a QEMU 10 source.  Where the kernel cannot tell the
    stop-copy size (6.1: no MIG_DATA_SIZE) QEMU 10 assumes 100 GiB
    (VFIO_MIG_STOP_COPY_SIZE) and would never meet any downtime limit: it
    gets a switchover bandwidth (1 TiB/s) that lets it switch over.
    @max_bandwidth (bytes/s): QEMU's own cap, for the pre-copy cases."""
    if not has_data_size():
        s.cmd("migrate-set-parameters", **{"avail-switchover-bandwidth": 1 << 40})
    if max_bandwidth:
        s.cmd("migrate-set-parameters", **{"max-bandwidth": max_bandwidth})
    s.cmd("migrate", uri=uri)


def need_precopy():
    if not has_precopy():
        raise Skip("Linux %s has no VFIO PRE_COPY" % os.uname().release)


def vfio10(sysfsdev, props=DEV_PROPS):
    return ["-device", "vfio-pci,sysfsdev=%s,addr=%02x.0,%s" % (sysfsdev, SLOT, props)]


TRACES10 = ("vfio_save_block", "vfio_save_iterate", "vfio_state_pending_estimate",
            "vfio_state_pending_exact",
            "vfio_load_state", "vfio_load_state_device_data",
            "vfio_save_complete_precopy_thread_start", "vfio_load_bufs_thread_start",
            "vfio_migration_set_device_state")


def start10(name, sysfsdev, paused=True, incoming=False, props=DEV_PROPS, extra=()):
    args = vfio10(sysfsdev, props) + ["-msg", "timestamp=off"] + qemu_args(TRACES10, paused,
                                                                          incoming)
    return Qemu(name, args + list(extra), LOGDIR, binary=QEMU10)


def mdev(uuid):
    return "%s/%s" % (MDEVS, uuid)


def new_pair(protocol="v2", dirty_rate=qemu_mig.DIRTY_RATE, type_name=TYPE, **knobs):
    return qemu_mig.new_pair(type_name, dirty_rate=dirty_rate, protocol=protocol, **knobs)


def migration_done(q, want=("completed",), timeout=120):
    return q.wait_migration(want=want, timeout=timeout)


def finish_source10(q, uuid, info, dirty=True, since=0):
    """Source after a completed migration: QEMU's vfio figure covers its
    vfio_save_block sum (since output line @since: this migration), the VM
    is postmigrate, the device's checksum holds still.  Returns (checksum,
    vfio bytes)."""
    saved = trace_sum(q, "vfio_save_block", "data_size", since)
    check("vfio" in info, "QEMU 10 reports no vfio member in query-migrate: %r" % info)
    check(info["vfio"]["transferred"] >= saved,
          "query-migrate vfio transferred %d < traced %d" % (info["vfio"]["transferred"], saved))
    check(info["vfio"]["transferred"] > 0, "QEMU moved no vfio device data")
    sum0 = source_stopped(q, uuid, dirty)
    diag("source %s: vfio transferred %d bytes (%d traced), total %s ms, downtime %s ms, "
         "checksum %s" % (q.name, info["vfio"]["transferred"], saved, info.get("total-time"),
                          info.get("downtime", "?"), sum0))
    return sum0, info["vfio"]["transferred"]


def finish_destination10(q, uuid, want_sum):
    """Destination after the load: cont, running, the source's checksum.
    Returns the vfio bytes QEMU wrote to the device."""
    state = destination_loaded(q)
    check(state in ("prelaunch", "paused"), "destination run state %r" % state)
    destination_continued(q, uuid, want_sum)
    return trace_sum(q, "vfio_load_state_device_data", "size")


def file_scenario(src_paused, stop_first=False, precopy=False, dirty_rate=qemu_mig.DIRTY_RATE,
                  type_name=TYPE, max_bandwidth=0, **knobs):
    """Source QEMU 10 (-S, running, or stopped with "stop") to a file, a
    destination QEMU 10 loads it and continues; returns the source's QEMU
    output lines for further checks."""
    src, dst = new_pair(dirty_rate=dirty_rate, type_name=type_name, **knobs)
    path = os.path.join(WORK, "vfmig-q10-%d.bin" % os.getpid())
    s = start10("src", mdev(src), paused=src_paused)
    d = start10("dst", mdev(dst), incoming=True)
    with qemus(s, d):
        s.connect()
        d.connect()
        for q in (s, d):
            check_slot(q)
            check_unblocked(q)
        wait_generation(src)
        if stop_first:
            s.cmd("stop")
        migrate10(s, "exec:cat > %s" % path, max_bandwidth)
        info = migration_done(s)
        src_sum, sent = finish_source10(s, src, info)
        d.cmd("migrate-incoming", uri="exec:cat %s" % path)
        loaded = finish_destination10(d, dst, src_sum)
        check_eq(loaded, trace_sum(s, "vfio_save_block", "data_size"),
                 "vfio bytes loaded vs saved")
        iters = trace_values(s, "vfio_save_iterate", "precopy initial size")
        if precopy:
            check_precopy_info(s, dirty=True)
        elif not has_precopy():
            check_eq(len(iters), 0, "vfio_save_iterate lines without PRE_COPY")
        out = s.output()
    os.unlink(path)
    return out


def check_precopy_info(s, dirty=False):
    """QEMU's pre-copy ran on VFIO_MIG_GET_PRECOPY_INFO, the only source of
    the "precopy initial size" / "precopy dirty size" it traces.  It asks in
    save_setup (the first vfio_state_pending_estimate offers the whole state
    as initial bytes) and in each exact pending query
    (vfio_state_pending_exact, when the estimate says little is left);
    pre-copy iterations (vfio_save_iterate) ran.  Dirty bytes in an exact
    query are required only with @dirty, for a state large enough that
    QEMU asks while it still reads its first pass (vfmig-large: 1 MiB per
    read of 16 MiB): with the small type QEMU drains the data fd right
    before it asks, and whether a generator tick (every 10 ms) falls in
    between is chance."""
    init = trace_values(s, "vfio_state_pending_estimate", "precopy initial size")
    exact_init = trace_values(s, "vfio_state_pending_exact", "precopy initial size")
    exact_dirty = trace_values(s, "vfio_state_pending_exact", "precopy dirty size")
    iters = trace_values(s, "vfio_save_iterate", "precopy initial size")
    diag("PRECOPY_INFO as QEMU traced it: first estimate initial %s; %d iterations; "
         "%d exact queries, initial %s, dirty %s" % (init[:1], len(iters), len(exact_dirty),
                                                     exact_init[:8], exact_dirty[:8]))
    check(init and init[0] > 0, "no pending estimate with initial bytes: %r" % init)
    check(iters, "QEMU ran no pre-copy iteration (no vfio_save_iterate)")
    check(exact_dirty, "QEMU made no exact pending query (PRECOPY_INFO during pre-copy)")
    if dirty:
        check(max(exact_dirty) > 0, "dirty generation on, no exact query saw dirty bytes")


# ---------------------------------------------------------------------- tests

def test_load():
    remove_all()
    load_module()
    check(os.path.exists("/dev/vfio/vfio"), "no /dev/vfio/vfio (vfio_iommu_type1 missing?)")
    if QEMU10:
        _, out = sh(QEMU10, "--version")
        check(re.match(r"QEMU emulator version 10\.0\.", out), "not QEMU 10.0: %r" % out)
        diag(out.splitlines()[0])


def mtty_live(caps, props, check_fn):
    """The kernel's own mtty sample (a v2 driver with STOP_COPY, P2P and
    PRE_COPY, no dirtying), live between two QEMU 10 with @caps: the
    harness against a known v2 driver."""
    have_qemu10()
    if not has_precopy():
        raise Skip("Linux %s's mtty sample has no migration code"
                   % os.uname().release)
    ko = os.environ.get("VFMIG_MTTY") or os.path.join(
        TOP, "build", "mtty", os.uname().release, "mtty.ko")
    if not os.path.exists(ko):
        raise Skip("no %s (scripts/build-mtty.sh builds the 6.12 sample)" % ko)
    sh("insmod", ko)
    uuids = ["d00dfeed-0000-4000-8000-00000000000%d" % i for i in (1, 2)]
    try:
        parent = "/sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2/create"
        for u in uuids:
            with open(parent, "w") as f:
                f.write(u)
        sock = os.path.join(WORK, "vfmig-mtty-%d.sock" % os.getpid())
        s = start10("mtty-src", mdev(uuids[0]), props=props)
        d = start10("mtty-dst", mdev(uuids[1]), incoming=True, props=props)
        capl = [{"capability": c, "state": True} for c in caps]
        with qemus(s, d):
            for q in (s, d):
                q.connect()
                check_unblocked(q)
                q.cmd("migrate-set-capabilities", capabilities=capl)
            d.cmd("migrate-incoming", uri="unix:" + sock)
            migrate10(s, "unix:" + sock)
            info = migration_done(s)
            check(info.get("vfio", {}).get("transferred", 0) > 0, "no vfio data: %r" % info)
            check_eq(d.wait_migration()["status"], "completed", "mtty destination")
            d.cmd("cont")
            check_eq(d.status(), "running", "mtty destination after cont")
            check_fn(s, d)
            diag("mtty: %d vfio bytes" % info["vfio"]["transferred"])
    finally:
        for u in uuids:
            if os.path.exists(mdev(u)):
                with open(mdev(u) + "/remove", "w") as f:
                    f.write("1")
        subprocess.run(["rmmod", "mtty"], check=False)


def check_switchover_ack(s, d):
    """PRECOPY_INFO's initial bytes in QEMU's estimates, INIT_DATA_SENT at
    the destination, bytes loaded = saved."""
    check_eq(trace_sum(d, "vfio_load_state_device_data", "size"),
             trace_sum(s, "vfio_save_block", "data_size"), "vfio bytes loaded vs saved")
    init = trace_values(s, "vfio_state_pending_estimate", "precopy initial size")
    check(init and init[0] > 0, "no PRECOPY_INFO initial bytes: %r" % init)
    flags = trace_values(d, "vfio_load_state", "data")
    check(FLAG_DEV_INIT_DATA_SENT in flags,
          "destination never got INIT_DATA_SENT: %s" % [hex(f) for f in flags])


def check_multifd_threads(s, d):
    check("vfio_save_complete_precopy_thread_start" in s.output(),
          "source did not save the device state in its multifd thread")
    check("vfio_load_bufs_thread_start" in d.output(),
          "destination did not load the device state in its multifd thread")


def test_mtty_switchover_ack():
    """Control: mtty live with return-path and switchover-ack."""
    mtty_live(("return-path", "switchover-ack"), DEV_PROPS, check_switchover_ack)


def test_mtty_multifd():
    """Control: mtty live with multifd device-state transfer."""
    mtty_live(("multifd",), DEV_PROPS + ",x-migration-multifd-transfer=on",
              check_multifd_threads)


def test_v1_device_refused():
    """A v1-only vfmig device (protocol v1): QEMU 10 has no v1 client.
    enable-migration=on fails realize naming the cause; auto adds a
    migration blocker and migrate is refused; nothing crashes."""
    have_qemu10()
    uuid = create(TYPE, next_n())
    if os.path.exists(mdev(uuid) + "/vfmig/protocol"):
        set_knob(uuid, "protocol", "v1")
    check_eq(knob_int(uuid, "device_state"), 1, "v1 device_state (RUNNING)")
    t0 = time.monotonic()
    q = start10("v1on", mdev(uuid))
    check_eq(q.wait_exit(60), 1, "QEMU 10 exit status with enable-migration=on on a v1 device")
    out = q.output()
    diag("%.1f s: %s" % (time.monotonic() - t0,
                         out.strip().splitlines()[-1] if out.strip() else "(no output)"))
    check("migration" in out.lower() and uuid in out, "no migration error naming the device:\n" + out)
    q.stop()
    q = start10("v1auto", mdev(uuid), props="enable-migration=auto")
    with qemus(q):
        q.connect()
        check_slot(q)
        reasons = " ".join(blocked_reasons(q))
        check(reasons and uuid in reasons, "no blocker naming %s: %r" % (uuid, reasons))
        diag("blocker: %s" % reasons)
        try:
            q.cmd("migrate", uri="exec:cat > /dev/null")
            raise Fail("migrate with a blocker was accepted")
        except QmpError as e:
            diag("migrate refused: %s" % e)
            # Refused for the device's blocker, not for anything else (a bad URI).
            check(uuid in str(e) or str(e).strip() in reasons,
                  "refused for another reason: %s (blockers: %s)" % (e, reasons))
        check_eq(q.status(), "prelaunch", "QEMU still answers")


def test_file_paused():
    """Source started with -S (its device RUNNING), to a file."""
    have_qemu10()
    file_scenario(src_paused=True)


def test_file_stopped():
    """Source running, paused with "stop" (device STOP: straight to STOP_COPY)."""
    have_qemu10()
    out = file_scenario(src_paused=False, stop_first=True)
    check(not re.search(r"vfio_save_iterate ", out), "pre-copy iterations with the VM stopped")


def test_file_running_precopy():
    """Running vfmig-large source (16 MiB) with dirty generation: QEMU 10's
    pre-copy runs on VFIO_MIG_GET_PRECOPY_INFO, whose dirty bytes it sees
    (6.12); on 6.1 (the small type) the device goes straight from RUNNING
    to STOP_COPY."""
    have_qemu10()
    if has_precopy():
        file_scenario(src_paused=False, precopy=True, dirty_rate=PRECOPY_DIRTY_RATE,
                      type_name="vfmig-large", max_bandwidth=PRECOPY_BANDWIDTH,
                      dirty_working_set=PRECOPY_WORKING_SET)
    else:
        file_scenario(src_paused=False, dirty_rate=PRECOPY_DIRTY_RATE)


def live(caps=(), props=DEV_PROPS, check_fn=None, dirty_rate=qemu_mig.DIRTY_RATE,
         type_name=TYPE, max_bandwidth=0, **knobs):
    """Live between two QEMU 10 over a unix socket with capabilities @caps
    on both sides."""
    src, dst = new_pair(dirty_rate=dirty_rate, type_name=type_name, **knobs)
    sock = os.path.join(WORK, "vfmig-q10live-%d.sock" % os.getpid())
    s = start10("src", mdev(src), paused=False, props=props)
    d = start10("dst", mdev(dst), incoming=True, props=props)
    with qemus(s, d):
        s.connect()
        d.connect()
        capl = [{"capability": c, "state": True} for c in caps]
        if capl:
            for q in (s, d):
                q.cmd("migrate-set-capabilities", capabilities=capl)
        wait_generation(src)
        d.cmd("migrate-incoming", uri="unix:" + sock)
        migrate10(s, "unix:" + sock, max_bandwidth)
        info = migration_done(s)
        src_sum, _ = finish_source10(s, src, info)
        loaded = finish_destination10(d, dst, src_sum)
        if check_fn:
            check_fn(s, d, loaded)
        else:
            check_eq(loaded, trace_sum(s, "vfio_save_block", "data_size"),
                     "vfio bytes loaded vs saved")


def test_live_switchover_ack():
    """switchover-ack (with return-path): the source tells the destination
    when the device's initial bytes are sent (INIT_DATA_SENT, after
    PRECOPY_INFO reported initial_bytes 0), and switches over only after the
    destination's ack."""
    have_qemu10()
    need_precopy()

    def acked(s, d, loaded):
        check_switchover_ack(s, d)
        check_precopy_info(s)
    live(caps=("return-path", "switchover-ack"), check_fn=acked, dirty_rate=PRECOPY_DIRTY_RATE,
         type_name="vfmig-large", max_bandwidth=PRECOPY_BANDWIDTH,
         dirty_working_set=PRECOPY_WORKING_SET)


def test_live_multifd():
    """x-migration-multifd-transfer=on with the multifd capability: the
    stop-copy device state goes through multifd channels (QEMU's save thread
    reads the data fd, the destination's load thread writes it)."""
    have_qemu10()

    def threads(s, d, loaded):
        check_multifd_threads(s, d)
    live(caps=("multifd",), props=DEV_PROPS + ",x-migration-multifd-transfer=on",
         check_fn=threads)


def flip_payload(path):
    """Change one byte of the device payload in a saved stream: the byte
    right after the payload's magic (its HEADER)."""
    with open(path, "r+b") as f:
        data = f.read()
        at = data.find(PAYLOAD_MAGIC)
        check(at >= 0, "no vfmig payload magic in %s (%d bytes)" % (path, len(data)))
        f.seek(at + len(PAYLOAD_MAGIC))
        f.write(bytes([data[at + len(PAYLOAD_MAGIC)] ^ 0x5A]))
    return at


def test_corrupt_stream_refused():
    """One flipped payload byte in a saved stream: the destination device
    refuses it, QEMU abandons the load (exit 1) and the device keeps its own
    state; the source, continued, runs with its checksum."""
    have_qemu10()
    src, dst = new_pair(dirty_rate=0)
    path = os.path.join(WORK, "vfmig-q10bad-%d.bin" % os.getpid())
    s = start10("src", mdev(src), paused=False)
    d = start10("dst", mdev(dst), incoming=True)
    with qemus(s, d):
        s.connect()
        d.connect()
        src_sum = knob(src, "checksum")
        dst_sum = knob(dst, "checksum")
        migrate10(s, "exec:cat > %s" % path)
        finish_source10(s, src, migration_done(s), dirty=False)
        diag("payload magic at stream offset %d" % flip_payload(path))
        d.cmd("migrate-incoming", uri="exec:cat %s" % path)
        check_eq(d.wait_exit(60), 1, "destination QEMU exit status")
        out = d.output()
        diag("\n".join(line for line in out.splitlines() if "vfio_" not in line)[-600:])
        check("load of migration failed" in out, "no load failure reported:\n" + out)
        check_eq(knob(dst, "checksum"), dst_sum, "refusing device's checksum")
        s.cmd("cont")
        check_eq(s.status(), "running", "source run state after cont")
        check_eq(knob(src, "checksum"), src_sum, "source checksum after cont")
    os.unlink(path)


def test_destination_fault():
    """fault=resume_chunk on the destination device, live with return-path:
    QEMU fails the migration, the source runs again with its state, and
    the same source then migrates fine to a fresh destination."""
    have_qemu10()
    src, dst = new_pair(dirty_rate=0)
    dst2 = create(TYPE, next_n(), seed=7, protocol="v2")
    sock = os.path.join(WORK, "vfmig-q10fail-%d.sock" % os.getpid())
    rp = [{"capability": "return-path", "state": True}]
    s = start10("src", mdev(src), paused=False)
    d = start10("dst", mdev(dst), incoming=True)
    d2 = start10("dst2", mdev(dst2), incoming=True)
    with qemus(s, d, d2):
        for q in (s, d, d2):
            q.connect()
            q.cmd("migrate-set-capabilities", capabilities=rp)
        sum0 = knob(src, "checksum")
        set_knob(dst, "fault", "resume_chunk")
        d.cmd("migrate-incoming", uri="unix:" + sock)
        migrate10(s, "unix:" + sock)
        info = migration_done(s, want=("failed",))
        diag("source: %s" % info.get("error-desc", "(no error-desc)"))
        check_eq(d.wait_exit(60), 1, "refusing destination QEMU exit status")
        out = d.output()
        check("load of migration failed" in out, "destination did not report the failure:\n" + out)
        check_eq(knob(dst, "fault"), "none", "the armed fault did not fire")
        check_eq(s.wait_status("running"), "running", "source run state after the failure")
        check_eq(knob(src, "checksum"), sum0, "source checksum after the failure")
        if os.path.exists(sock):
            os.unlink(sock)
        mark = log_mark(s)
        d2.cmd("migrate-incoming", uri="unix:" + sock)
        migrate10(s, "unix:" + sock)
        src_sum, _ = finish_source10(s, src, migration_done(s), dirty=False, since=mark)
        check_eq(src_sum, sum0, "source checksum after the second migration")
        finish_destination10(d2, dst2, sum0)


def test_both_by_qemu72_then_qemu10():
    """One state, two clients: a `both` device saved by QEMU 7.2 (v1 region)
    into another `both` device, which QEMU 10 then migrates (v2 data fd)
    into a third; all three checksums equal."""
    have_qemu10()
    if not os.access(QEMU72, os.X_OK):
        raise Skip("%s (QEMU 7.2) not installed" % QEMU72)
    a, b = new_pair("both")
    c = create(TYPE, next_n(), seed=3, protocol="both")
    path = os.path.join(WORK, "vfmig-both-%d.bin" % os.getpid())
    v1dev = ["-device", "vfio-pci,sysfsdev=%s,addr=%02x.0,x-enable-migration=on" % (mdev(a), SLOT)]
    s = Qemu("72src", v1dev + ["-S", "-only-migratable"], LOGDIR)
    d = Qemu("72dst", [x.replace(a, b) for x in v1dev] + ["-S", "-incoming", "defer"], LOGDIR)
    with qemus(s, d):
        s.connect()
        d.connect()
        check_unblocked(s)
        wait_generation(a)
        s.cmd("migrate", uri="exec:cat > %s" % path)
        check_eq(s.wait_migration()["status"], "completed", "QEMU 7.2 source")
        sum_a = knob(a, "checksum")
        d.cmd("migrate-incoming", uri="exec:cat %s" % path)
        check_eq(d.wait_migration()["status"], "completed", "QEMU 7.2 destination")
        d.cmd("cont")
        check_eq(knob(b, "checksum"), sum_a, "checksum after QEMU 7.2 (v1)")
    os.unlink(path)
    s = start10("10src", mdev(b))
    d = start10("10dst", mdev(c), incoming=True)
    with qemus(s, d):
        s.connect()
        d.connect()
        check_unblocked(s)
        migrate10(s, "exec:cat > %s" % path)
        migration_done(s)
        d.cmd("migrate-incoming", uri="exec:cat %s" % path)
        finish_destination10(d, c, sum_a)
    os.unlink(path)
    diag("checksum %s through QEMU 7.2 (v1) and QEMU 10 (v2)" % sum_a)


def test_qemu72_v2_only_blocked():
    """QEMU 7.2 (v1 client only) on a v2-only device: the probe finds no v1
    region, QEMU says the device doesn't support migration (a blocker, or a
    realize error with -only-migratable), nothing crashes."""
    if not os.access(QEMU72, os.X_OK):
        raise Skip("%s (QEMU 7.2) not installed" % QEMU72)
    uuid = create(TYPE, next_n(), protocol="v2")
    dev = ["-device", "vfio-pci,sysfsdev=%s,addr=%02x.0,x-enable-migration=on" % (mdev(uuid), SLOT)]
    q = Qemu("72v2", dev + ["-S"], LOGDIR)
    with qemus(q):
        q.connect()
        check_slot(q)
        reasons = " ".join(blocked_reasons(q))
        check("VFIO device doesn't support migration" in reasons,
              "no vfio blocker reported: %r" % reasons)
        try:
            q.cmd("migrate", uri="exec:cat > /dev/null")
            raise Fail("migrate with a blocker was accepted")
        except QmpError as e:
            check("doesn't support migration" in str(e), "unexpected refusal: %s" % e)
        check_eq(q.status(), "prelaunch", "QEMU 7.2 still answers")
    q = Qemu("72v2only", dev + ["-S", "-only-migratable"], LOGDIR)
    check_eq(q.wait_exit(60), 1, "QEMU 7.2 -only-migratable exit status")
    out = q.output()
    check("doesn't support migration" in out, "no clean error:\n" + out)
    diag(out.strip().splitlines()[-1])
    q.stop()


def main():
    tests = [
        (test_load, 60),
        (test_mtty_switchover_ack, 240),
        (test_mtty_multifd, 240),
        (test_v1_device_refused, 120),
        (test_qemu72_v2_only_blocked, 120),
        (test_file_paused, 240),
        (test_file_stopped, 240),
        (test_file_running_precopy, 240),
        (test_live_switchover_ack, 240),
        (test_live_multifd, 240),
        (test_corrupt_stream_refused, 240),
        (test_destination_fault, 300),
        (test_both_by_qemu72_then_qemu10, 360),
        (test_unload, 60),
    ]
    return qemu_mig.main(SUITE, LOGDIR, tests, "VFMIG_QEMU10_ONLY")


if __name__ == "__main__":
    sys.exit(main())
