# SPDX-License-Identifier: GPL-2.0
"""TAP harness and helpers for the VM suites written in Python.

The output matches tap.h's: "TAP version 13", a plan, "# suite: test"
before each test, "ok N suite.test" / "not ok N suite.test" /
"ok N suite.test # SKIP reason", and a final kselftest-like
"# Totals: ..." line.  Each test runs with a timeout (SIGALRM), so a hang
becomes a "not ok" and the suite goes on.  Exit status 0 when nothing failed.

Helpers: the vfmig module and its mdevs through sysfs, a small QMP client and
a QEMU process wrapper (sockets on /dev/shm, logs kept for diagnostics).
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import traceback

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MDEVS = "/sys/bus/mdev/devices"
PARENT_NAME = "vfmig"
PARENT = "/sys/class/mdev_bus/" + PARENT_NAME
CLI = os.path.join(TOP, "user", "build", "vfmig")


class Fail(Exception):
    """A failed check; the message becomes a TAP diagnostic."""


class Skip(Exception):
    """Skip the current test; the message is the SKIP reason."""


class Timeout(Exception):
    pass


def diag(msg):
    for line in str(msg).splitlines() or [""]:
        print("# " + line, flush=True)


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def check_eq(got, want, what):
    if got != want:
        raise Fail("%s: got %r, want %r" % (what, got, want))


def _alarm(signum, frame):
    raise Timeout("timed out")


def run(suite, tests, cleanup=None):
    """tests: list of (function, timeout seconds).  Returns the exit status."""
    npass = nfail = nskip = 0
    signal.signal(signal.SIGALRM, _alarm)
    print("TAP version 13\n1..%d" % len(tests), flush=True)
    for i, (fn, tmo) in enumerate(tests, 1):
        name = fn.__name__
        diag("%s: %s" % (suite, name))
        t0 = time.monotonic()
        res, reason = "fail", ""
        signal.alarm(tmo)
        try:
            fn()
            res = "pass"
        except Skip as e:
            res, reason = "skip", str(e)
        except Fail as e:
            diag("%s: %s" % (name, e))
        except Timeout as e:
            diag("%s: timed out after %d s%s"
                 % (name, tmo, "" if str(e) == "timed out" else ": %s" % e))
        except Exception:
            diag("%s: %s" % (name, traceback.format_exc()))
        finally:
            signal.alarm(0)
        if cleanup:
            try:
                cleanup()
            except Exception:
                diag("cleanup after %s: %s" % (name, traceback.format_exc()))
        diag("%s: %.1f s" % (name, time.monotonic() - t0))
        if res == "pass":
            npass += 1
            print("ok %d %s.%s" % (i, suite, name), flush=True)
        elif res == "skip":
            nskip += 1
            print("ok %d %s.%s # SKIP %s" % (i, suite, name, reason), flush=True)
        else:
            nfail += 1
            print("not ok %d %s.%s" % (i, suite, name), flush=True)
    print("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:%d error:0"
          % (npass, nfail, nskip), flush=True)
    return 1 if nfail else 0


# ---------------------------------------------------------------- sysfs, mdevs

def read(path):
    with open(path) as f:
        return f.read().strip()


def write(path, value):
    with open(path, "w") as f:
        f.write(str(value))


def knob(uuid, name):
    return read("%s/%s/vfmig/%s" % (MDEVS, uuid, name))


def set_knob(uuid, name, value):
    write("%s/%s/vfmig/%s" % (MDEVS, uuid, name), value)


def knob_int(uuid, name):
    return int(knob(uuid, name), 0)


def sh(*args, timeout=60, check_rc=True):
    """Run a command; returns (rc, combined output)."""
    p = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout, text=True)
    if check_rc and p.returncode:
        raise Fail("%s exited with %d:\n%s" % (" ".join(args), p.returncode, p.stdout))
    return p.returncode, p.stdout


def module_loaded():
    return os.path.exists("/sys/module/vfmig/initstate")


def vfmig_devices():
    """UUIDs of the existing vfmig mdevs."""
    out = []
    if not os.path.isdir(MDEVS):
        return out
    for u in sorted(os.listdir(MDEVS)):
        if os.path.isdir("%s/%s/vfmig" % (MDEVS, u)):
            out.append(u)
    return out


def remove_all():
    for u in vfmig_devices():
        try:
            write("%s/%s/remove" % (MDEVS, u), 1)
        except OSError as e:
            diag("remove %s: %s" % (u, e))


def load_module(*params):
    """Load vfmig.ko ($VFMIG_MODULE) and what it needs, with the project's CLI."""
    sh(CLI, "module", "load", *params)
    check(os.path.isdir(PARENT), "no parent %s after loading" % PARENT)


def unload_module():
    remove_all()
    if module_loaded():
        sh(CLI, "module", "unload")
    check(not module_loaded(), "vfmig still loaded")


def make_uuid(n):
    return "f1e0%04x-0000-4000-8000-%012x" % (0x9000 + n, n)


def create(type_name, n, **knobs):
    """Create a vfmig mdev of @type_name, then set @knobs in order."""
    uuid = make_uuid(n)
    write("%s/mdev_supported_types/%s/create" % (PARENT, type_name), uuid)
    for k, v in knobs.items():
        try:
            set_knob(uuid, k, v)
        except OSError as e:
            raise Fail("%s: %s=%s refused: %s" % (uuid, k, v, e))
    return uuid


def remove(uuid):
    if os.path.exists("%s/%s" % (MDEVS, uuid)):
        write("%s/%s/remove" % (MDEVS, uuid), 1)


# ------------------------------------------------------------------------ QMP

class QmpError(Exception):
    def __init__(self, cmd, err):
        super().__init__("%s: %s: %s" % (cmd, err.get("class"), err.get("desc")))
        self.err = err


class Qmp:
    """Minimal QMP client on a unix socket; events are kept in .events."""

    def __init__(self, path, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.rfile = self.sock.makefile("r", encoding="utf-8")
        self.events = []
        greeting = self._recv()
        if "QMP" not in greeting:
            raise Fail("no QMP greeting: %r" % greeting)
        self.cmd("qmp_capabilities")

    def _recv(self):
        line = self.rfile.readline()
        if not line:
            raise Fail("QMP connection closed")
        return json.loads(line)

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall((json.dumps(msg) + "\n").encode())
        while True:
            r = self._recv()
            if "event" in r:
                self.events.append(r)
            elif "return" in r:
                return r["return"]
            elif "error" in r:
                raise QmpError(name, r["error"])

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Qtest:
    """QEMU's qtest protocol (-qtest; Debian's QEMU has no qtest accelerator,
    but the protocol works beside TCG): the test makes guest accesses, e.g.
    "outl 0xcf8 0x80002010", "writel ADDR VAL", "readl ADDR"."""

    def __init__(self, path):
        self.path = path
        if os.path.exists(path):
            os.unlink(path)
        self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.lsock.bind(path)
        self.lsock.listen(1)
        self.sock = None

    def accept(self, timeout=60):
        self.lsock.settimeout(timeout)
        self.sock, _ = self.lsock.accept()
        self.sock.settimeout(30)
        self.rfile = self.sock.makefile("r", encoding="ascii")

    def cmd(self, line):
        self.sock.sendall((line + "\n").encode())
        while True:
            r = self.rfile.readline()
            if not r:
                raise Fail("qtest connection closed after %r" % line)
            if r.startswith("IRQ"):
                continue
            if not r.startswith("OK"):
                raise Fail("qtest %r: %s" % (line, r.strip()))
            return r.split()[1:]

    def readl(self, addr):
        return int(self.cmd("readl 0x%x" % addr)[0], 16)

    def close(self):
        for so in (self.sock, self.lsock):
            if so:
                so.close()
        if os.path.exists(self.path):
            os.unlink(self.path)


class Qemu:
    """A nested qemu-system-x86_64 (@binary, default BINARY): tiny
    firmware-only guest, QMP on /dev/shm.  With qtest=True, .qtest makes guest accesses (keep the guest paused with
    -S so that the firmware does not reprogram what the test set up)."""

    BINARY = os.environ.get("VFMIG_QEMU", "/usr/bin/qemu-system-x86_64")
    started = []

    def __init__(self, name, args, logdir, qtest=False, binary=None):
        self.name = name
        self.sock = "/dev/shm/vfmig-%s-%d.qmp" % (name, os.getpid())
        self.qtest = None
        accel_args = ["-accel", "tcg"]
        if qtest:
            self.qtest = Qtest("/dev/shm/vfmig-%s-%d.qtest" % (name, os.getpid()))
            accel_args += ["-qtest", "unix:" + self.qtest.path, "-qtest-log", "/dev/null"]
        self.logpath = os.path.join(logdir, "qemu-%s.log" % name)
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        self.argv = [binary or self.BINARY] + accel_args + ["-machine", "pc", "-m", "32",
                     "-nodefaults", "-no-user-config", "-display", "none",
                     "-qmp", "unix:%s,server=on,wait=off" % self.sock] + list(args)
        self.log = open(self.logpath, "w")
        self.log.write(" ".join(self.argv) + "\n")
        self.log.flush()
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.qmp = None
        Qemu.started.append(self)

    def output(self):
        self.log.flush()
        with open(self.logpath) as f:
            return f.read().split("\n", 1)[-1]

    def connect(self, timeout=90):
        deadline = time.monotonic() + timeout
        while self.qmp is None:
            if self.proc.poll() is not None:
                raise Fail("QEMU %s exited with %d before QMP was up:\n%s"
                           % (self.name, self.proc.returncode, self.output()))
            if os.path.exists(self.sock):
                try:
                    self.qmp = Qmp(self.sock)
                    if self.qtest:
                        self.qtest.accept()
                    break
                except OSError:
                    pass
            if time.monotonic() > deadline:
                raise Fail("QEMU %s: no QMP after %d s" % (self.name, timeout))
            time.sleep(0.1)
        return self

    def cmd(self, name, **args):
        return self.qmp.cmd(name, **args)

    def hmp(self, line):
        return self.cmd("human-monitor-command", **{"command-line": line})

    def status(self):
        return self.cmd("query-status")["status"]

    def wait_status(self, want, timeout=10):
        """The run state, once it is want (or whatever it is at the timeout).
        QEMU reports a migration completed a moment before the source's run
        state becomes postmigrate."""
        deadline = time.monotonic() + timeout
        while True:
            st = self.status()
            if st == want or time.monotonic() > deadline:
                return st
            time.sleep(0.05)

    def wait_migration(self, want=("completed",), timeout=120):
        """Poll query-migrate until its status is final; returns the info."""
        deadline = time.monotonic() + timeout
        while True:
            info = self.cmd("query-migrate")
            st = info.get("status")
            if st in ("completed", "failed", "cancelled"):
                if st not in want:
                    raise Fail("QEMU %s: migration %s (%s)\n%s"
                               % (self.name, st, info.get("error-desc", ""),
                                  self.output()))
                return info
            if time.monotonic() > deadline:
                raise Fail("QEMU %s: migration still '%s' after %d s"
                           % (self.name, st, timeout))
            time.sleep(0.2)

    def wait_exit(self, timeout=30):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Fail("QEMU %s did not exit within %d s" % (self.name, timeout))

    def stop(self):
        """Quit (kill if it does not) and reap; the device is closed after."""
        if self.proc.poll() is None:
            try:
                if self.qmp:
                    self.qmp.sock.settimeout(5)
                    self.cmd("quit")
            except Exception:
                pass
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(15)
        if self.qmp:
            self.qmp.close()
        if self.qtest:
            self.qtest.close()
        self.log.close()
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        if self in Qemu.started:
            Qemu.started.remove(self)

    @classmethod
    def stop_all(cls):
        for q in list(cls.started):
            q.stop()
