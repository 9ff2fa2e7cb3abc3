# SPDX-License-Identifier: GPL-2.0
"""VM suite "mdevctl": the distribution's mdevctl (1.2) drives vfmig.

mdevctl finds our parent under /sys/class/mdev_bus/vfmig, lists its types
with description and available instances, starts, lists and stops transient
devices, and keeps persistent definitions in /etc/mdevctl.d (a tmpfs in the
test VM).  Its attribute mechanism writes "<attr> = <value>" pairs to sysfs
files relative to the mdev's directory at start, in order, so our
vfmig/<knob> files work as mdevctl attributes; a value the device refuses
makes the start fail and mdevctl removes the half-made device.
"""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmtap import (MDEVS, PARENT, PARENT_NAME, Fail, Skip, check, check_eq,  # noqa: E402
                   knob, knob_int, load_module, make_uuid, read, remove_all,
                   run, set_knob, sh, unload_module)

SUITE = "mdevctl"
TYPES = ("vfmig-small", "vfmig-large")


def mdevctl(*args, ok=True):
    path = shutil.which("mdevctl")
    if not path:
        raise Skip("mdevctl not installed (Debian package mdevctl)")
    return sh(path, *args, check_rc=ok)


def available(t):
    return int(read("%s/mdev_supported_types/%s/available_instances" % (PARENT, t)))


def exists(uuid):
    return os.path.isdir("%s/%s" % (MDEVS, uuid))


def listed(*args):
    """mdevctl list [args] --dumpjson as {uuid: (type, attrs)} for our parent."""
    _, out = mdevctl("list", *args, "--dumpjson")
    out = out.strip()
    res = {}
    if not out:
        return res
    for parent in json.loads(out):
        for p, devs in parent.items():
            if p != PARENT_NAME:
                continue
            for d in devs:
                for u, conf in d.items():
                    res[u] = (conf.get("mdev_type"), conf.get("attrs", []))
    return res


def test_load():
    remove_all()
    load_module()
    mdevctl("--version")


def test_types():
    """`mdevctl types` lists both types with our description and the count."""
    _, js = mdevctl("types", "--dumpjson")
    _, text = mdevctl("types")
    seen = {}
    for parent in json.loads(js):
        for p, types in parent.items():
            if p == PARENT_NAME:
                for t in types:
                    seen.update(t)
    check(set(TYPES) <= set(seen), "types of %s: %r" % (PARENT_NAME, sorted(seen)))
    for t in TYPES:
        desc = read("%s/mdev_supported_types/%s/description" % (PARENT, t))
        check(desc.startswith("vfmig "), "%s description %r" % (t, desc))
        check_eq(seen[t].get("description"), desc, "%s description (json)" % t)
        check_eq(seen[t].get("available_instances"), available(t), "%s instances (json)" % t)
        check_eq(seen[t].get("device_api"), "vfio-pci", "%s device_api" % t)
        check("Description: " + desc in text, "text output lacks %r:\n%s" % (desc, text))
    check("Available instances: %d" % available(TYPES[0]) in text,
          "text output lacks the instance count:\n" + text)


def test_start_list_stop():
    """A transient device: start, it is a working vfmig device, list, stop."""
    uuid = make_uuid(0x101)
    before = available("vfmig-small")
    mdevctl("start", "-u", uuid, "-p", PARENT_NAME, "-t", "vfmig-small")
    check(exists(uuid), "%s not in %s after mdevctl start" % (uuid, MDEVS))
    check_eq(os.path.basename(os.readlink("%s/%s/mdev_type" % (MDEVS, uuid))),
             "vfmig-small", "type of the started device")
    check_eq(available("vfmig-small"), before - 1, "available instances after start")
    # It is one of ours and works: seeding changes the checksum, RUNNING.
    check_eq(knob_int(uuid, "device_state"), 1, "device_state")
    c0 = knob(uuid, "checksum")
    set_knob(uuid, "seed", 42)
    check(knob(uuid, "checksum") != c0, "seed did not change the checksum")
    check(os.path.exists("%s/%s/iommu_group" % (MDEVS, uuid)), "no iommu_group")
    devs = listed()
    check(uuid in devs, "mdevctl list does not show %s: %r" % (uuid, devs))
    check_eq(devs[uuid][0], "vfmig-small", "listed type")
    _, text = mdevctl("list")
    check(uuid in text and PARENT_NAME in text, "text list:\n" + text)
    mdevctl("stop", "-u", uuid)
    check(not exists(uuid), "%s still there after mdevctl stop" % uuid)
    check_eq(available("vfmig-small"), before, "available instances after stop")
    check(uuid not in listed(), "mdevctl list still shows %s" % uuid)


def test_define_modify_start_undefine():
    """A persistent definition whose attributes are vfmig knobs."""
    uuid = make_uuid(0x102)
    if not os.access("/etc/mdevctl.d", os.W_OK):
        raise Fail("/etc/mdevctl.d is not writable (the VM mounts a tmpfs there)")
    mdevctl("define", "-u", uuid, "-p", PARENT_NAME, "-t", "vfmig-small")
    check(not exists(uuid), "define created the device")
    check(uuid in listed("--defined"), "mdevctl list --defined lacks %s" % uuid)
    attrs = [("vfmig/data_size", "32768"), ("vfmig/mmap_layout", "sparse:4"),
             ("vfmig/data_offset_policy", "rotate"), ("vfmig/dirty_working_set", "8192")]
    for a, v in attrs:
        mdevctl("modify", "-u", uuid, "--addattr=" + a, "--value=" + v)
    got = listed("--defined")[uuid][1]
    check_eq([(k, v) for d in got for k, v in d.items()], attrs, "defined attributes")
    mdevctl("start", "-u", uuid)
    check(exists(uuid), "defined device not started")
    check_eq(knob(uuid, "data_size"), "32768", "data_size written by mdevctl")
    check_eq(knob(uuid, "mmap_layout"), "sparse:4", "mmap_layout written by mdevctl")
    check_eq(knob(uuid, "data_offset_policy"), "rotate", "policy written by mdevctl")
    check_eq(knob(uuid, "dirty_working_set"), "8192", "dirty_working_set written by mdevctl")
    check(uuid in listed(), "started definition not listed as running")
    mdevctl("stop", "-u", uuid)
    check(not exists(uuid), "still there after stop")
    check(uuid in listed("--defined"), "definition lost by stop")
    mdevctl("undefine", "-u", uuid)
    check(uuid not in listed("--defined"), "still defined after undefine")
    check(not os.path.exists("/etc/mdevctl.d/%s/%s" % (PARENT_NAME, uuid)),
          "definition file left behind")


def test_refused_attribute_fails_start():
    """A JSON definition with a value vfmig refuses: start fails, no device."""
    uuid = make_uuid(0x103)
    conf = {"mdev_type": "vfmig-small", "start": "manual",
            "attrs": [{"vfmig/mmap_layout": "sparse:99"}]}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(conf, f)
    try:
        mdevctl("define", "-u", uuid, "-p", PARENT_NAME, "--jsonfile", f.name)
    finally:
        os.unlink(f.name)
    before = available("vfmig-small")
    rc, out = mdevctl("start", "-u", uuid, ok=False)
    check(rc != 0, "start with a refused attribute succeeded:\n" + out)
    check("mmap_layout" in out, "error does not name the attribute:\n" + out)
    check(not exists(uuid), "half-made device left behind")
    check_eq(available("vfmig-small"), before, "available instances")
    mdevctl("undefine", "-u", uuid)


def test_unload():
    unload_module()


def cleanup():
    remove_all()
    d = "/etc/mdevctl.d/" + PARENT_NAME
    if os.path.isdir(d) and os.access(d, os.W_OK):
        for u in os.listdir(d):
            os.unlink(os.path.join(d, u))


def main():
    tests = [
        (test_load, 60),
        (test_types, 60),
        (test_start_list_stop, 60),
        (test_define_modify_start_undefine, 90),
        (test_refused_attribute_fails_start, 60),
        (test_unload, 60),
    ]
    return run(SUITE, tests, cleanup=cleanup)


if __name__ == "__main__":
    sys.exit(main())
