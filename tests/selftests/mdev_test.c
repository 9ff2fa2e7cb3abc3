// SPDX-License-Identifier: GPL-2.0
/*
 * VM suite "mdev": the module loads through libkmod, registers its parent and
 * types, creates and removes devices within the instance limit, refuses bad
 * input, opens through VFIO as a PCI device, and unloads cleanly.
 * Tests run in order and build on each other's module state.
 */
#include <fcntl.h>
#include <linux/vfio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "util.h"
#include "vfmig/abi.h"

#define MAX_DEVICES 4

static int test_module_load(void)
{
	struct stat st;

	st_remove_all();
	if (vfmig_module_is_loaded())
		CHECK(vfmig_module_unload(st_ctx()) == 0, "%s", st_err());
	CHECK(st_load_module("max_devices=4") == 0, "module load");
	CHECK(vfmig_module_is_loaded(), "/sys/module/vfmig missing after load");
	CHECK(stat(VFMIG_SYSFS_PARENT "/mdev_supported_types", &st) == 0,
	      "parent has no mdev_supported_types");
	/* Loading again is a no-op success. */
	CHECK(st_load_module(NULL) == 0, "second load");
	return TAP_PASS;
}

static int test_types_listed(void)
{
	struct vfmig_mdev_type t[8];
	int n = vfmig_mdev_types(st_ctx(), t, 8), seen = 0;

	CHECK(n == 2, "expected 2 types, got %d (%s)", n, st_err());
	for (int i = 0; i < n; i++) {
		CHECK(!strcmp(t[i].id, "vfmig-small") || !strcmp(t[i].id, "vfmig-large"),
		      "unexpected type %s", t[i].id);
		CHECK(!strcmp(t[i].device_api, "vfio-pci"), "%s device_api %s", t[i].id,
		      t[i].device_api);
		CHECK(t[i].name[0] && t[i].description[0], "%s lacks name/description", t[i].id);
		CHECK(t[i].available == MAX_DEVICES, "%s available %u", t[i].id, t[i].available);
		seen++;
	}
	CHECK(seen == 2, "types");
	return TAP_PASS;
}

static int test_create_remove(void)
{
	char uuid[VFMIG_UUID_LEN + 1], path[256];
	struct vfmig_mdev devs[8];
	unsigned int avail;
	struct stat st;
	uint64_t size;

	CHECK(st_create("vfmig-small", 1, uuid) == 0, "create");
	snprintf(path, sizeof(path), VFMIG_SYSFS_MDEVS "/%s/vfmig/checksum", uuid);
	CHECK(stat(path, &st) == 0, "%s missing", path);
	CHECK(st_available("vfmig-small", &avail) == 0 && avail == MAX_DEVICES - 1,
	      "available %u after one create", avail);
	CHECK(vfmig_mdev_list(st_ctx(), devs, 8) == 1, "list: %s", st_err());
	CHECK(!strcmp(devs[0].uuid, uuid) && !strcmp(devs[0].type, "vfmig-small"),
	      "listed %s %s", devs[0].uuid, devs[0].type);
	CHECK(st_knob_u64(uuid, "state_size", &size) == 0 && size == 64 * 1024,
	      "small state_size %llu", (unsigned long long)size);
	CHECK(vfmig_mdev_remove(st_ctx(), uuid) == 0, "%s", st_err());
	snprintf(path, sizeof(path), VFMIG_SYSFS_MDEVS "/%s", uuid);
	CHECK(stat(path, &st) < 0 && errno == ENOENT, "device still present after remove");
	CHECK(st_available("vfmig-small", &avail) == 0 && avail == MAX_DEVICES,
	      "available %u after remove", avail);
	return TAP_PASS;
}

static int test_instance_limit(void)
{
	char uuid[MAX_DEVICES + 1][VFMIG_UUID_LEN + 1];
	unsigned int avail;

	for (int i = 0; i < MAX_DEVICES; i++)
		CHECK(st_create(i & 1 ? "vfmig-large" : "vfmig-small", 10 + i, uuid[i]) == 0,
		      "create #%d", i);
	CHECK(st_available("vfmig-large", &avail) == 0 && avail == 0, "available %u", avail);
	CHECK(st_create("vfmig-small", 99, uuid[MAX_DEVICES]) == -EUSERS,
	      "create beyond max_devices must fail with EUSERS");
	st_remove_all();
	CHECK(st_available("vfmig-large", &avail) == 0 && avail == MAX_DEVICES,
	      "available %u after removing all", avail);
	return TAP_PASS;
}

static int test_bad_input_refused(void)
{
	const char *create = VFMIG_SYSFS_PARENT "/mdev_supported_types/vfmig-small/create";
	char uuid[VFMIG_UUID_LEN + 1];
	int ret;

	ret = st_write(create, "not-a-uuid");
	CHECK(ret == -EINVAL, "bad UUID gave %d", ret);
	ret = st_write(create, "f1e00000-0000-4000-8000-00000000000g");
	CHECK(ret == -EINVAL, "non-hex UUID gave %d", ret);
	CHECK(st_create("vfmig-small", 2, uuid) == 0, "create");
	ret = st_write(create, uuid);
	CHECK(ret == -EEXIST, "double create gave %d", ret);
	/* Knob input is validated too. */
	ret = vfmig_knob_write(uuid, "state_size", "12345", &(struct vfmig_err){ 0 });
	CHECK(ret == -EINVAL, "unaligned state_size gave %d", ret);
	ret = vfmig_knob_write(uuid, "seed", "banana", &(struct vfmig_err){ 0 });
	CHECK(ret == -EINVAL, "non-numeric seed gave %d", ret);
	st_remove_all();
	return TAP_PASS;
}

static int test_vfio_open_pci(void)
{
	char uuid[VFMIG_UUID_LEN + 1];
	struct vfmig_err err = { 0 };
	struct vfmig_region_desc r;
	struct vfmig_vfio_dev d;
	struct vfio_irq_info irq = { .argsz = sizeof(irq), .index = VFIO_PCI_ERR_IRQ_INDEX };
	uint32_t v32;
	uint16_t v16;

	CHECK(st_create("vfmig-small", 3, uuid) == 0, "create");
	CHECK(vfmig_vfio_open(&d, uuid, &err) == 0, "%s", err.msg);
	CHECK((d.flags & (VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET)) ==
	      (VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET), "flags %#x", d.flags);
	CHECK(d.num_regions == VFMIG_NUM_REGIONS && d.num_irqs == VFIO_PCI_NUM_IRQS,
	      "%u regions %u irqs", d.num_regions, d.num_irqs);

	CHECK(vfmig_vfio_region_info(&d, VFIO_PCI_CONFIG_REGION_INDEX, &r, &err) == 0, "%s", err.msg);
	CHECK(r.size == 256, "config size %llu", (unsigned long long)r.size);
	CHECK(pread(d.device, &v16, 2, r.offset) == 2 && v16 == VFMIG_PCI_VENDOR_ID,
	      "vendor %#x", v16);
	CHECK(pread(d.device, &v16, 2, r.offset + 2) == 2 && v16 == VFMIG_PCI_DEVICE_ID,
	      "device %#x", v16);
	/* BAR sizing: all-ones write reads back the size mask. */
	v32 = 0xffffffff;
	CHECK(pwrite(d.device, &v32, 4, r.offset + 0x10) == 4, "BAR0 write");
	CHECK(pread(d.device, &v32, 4, r.offset + 0x10) == 4 && v32 == 0xfffff000,
	      "BAR0 size mask %#x", v32);
	CHECK(pread(d.device, &v32, 4, r.offset + 0x14) == 4 && v32 == 0, "BAR1 %#x", v32);
	CHECK(pread(d.device, &v32, 4, r.offset + 300) < 0 && errno == EINVAL,
	      "read beyond config space must fail");

	CHECK(vfmig_vfio_region_info(&d, VFIO_PCI_BAR0_REGION_INDEX, &r, &err) == 0, "%s", err.msg);
	CHECK(r.size == VFMIG_BAR0_SIZE, "BAR0 size %llu", (unsigned long long)r.size);
	CHECK(pread(d.device, &v32, 4, r.offset + VFMIG_REG_MAGIC) == 4 &&
	      v32 == VFMIG_BAR0_MAGIC, "magic %#x", v32);
	CHECK(pread(d.device, &v32, 4, r.offset + 2) < 0 && errno == EINVAL,
	      "unaligned BAR0 access must fail");
	CHECK(vfmig_vfio_region_info(&d, VFIO_PCI_BAR1_REGION_INDEX, &r, &err) == 0 && r.size == 0,
	      "BAR1 must be empty");
	CHECK(vfmig_vfio_region_info(&d, VFMIG_NUM_REGIONS, &r, &err) == -EINVAL,
	      "region index beyond num_regions must fail");

	CHECK(ioctl(d.device, VFIO_DEVICE_GET_IRQ_INFO, &irq) < 0 && errno == EINVAL,
	      "ERR irq index must be refused");
	CHECK(vfmig_vfio_reset(&d, &err) == 0, "%s", err.msg);
	vfmig_vfio_close(&d);
	st_remove_all();
	return TAP_PASS;
}

static int test_seed_checksum(void)
{
	char a[VFMIG_UUID_LEN + 1], b[VFMIG_UUID_LEN + 1];
	struct vfmig_err err = { 0 };
	uint64_t ca, cb, cz;
	struct vfmig_vfio_dev d;

	CHECK(st_create("vfmig-small", 4, a) == 0 && st_create("vfmig-small", 5, b) == 0, "create");
	CHECK(st_knob_u64(a, "checksum", &cz) == 0, "checksum");
	CHECK(vfmig_knob_write(a, "seed", "42", &err) == 0, "%s", err.msg);
	CHECK(vfmig_knob_write(b, "seed", "42", &err) == 0, "%s", err.msg);
	CHECK(st_knob_u64(a, "checksum", &ca) == 0 && st_knob_u64(b, "checksum", &cb) == 0, "read");
	CHECK(ca == cb && ca != cz, "same seed must give equal checksums (%llx %llx %llx)",
	      (unsigned long long)ca, (unsigned long long)cb, (unsigned long long)cz);
	CHECK(vfmig_knob_write(b, "seed", "43", &err) == 0, "%s", err.msg);
	CHECK(st_knob_u64(b, "checksum", &cb) == 0 && cb != ca, "different seed, same checksum");

	/* Resizing is allowed while closed and refused while open. */
	CHECK(vfmig_knob_write(a, "state_size", "1048576", &err) == 0, "%s", err.msg);
	CHECK(vfmig_vfio_open(&d, a, &err) == 0, "%s", err.msg);
	CHECK(vfmig_knob_write(a, "state_size", "65536", &err) == -EBUSY, "resize while open");
	vfmig_vfio_close(&d);
	st_remove_all();
	return TAP_PASS;
}

static int test_module_unload(void)
{
	char uuid[VFMIG_UUID_LEN + 1];
	struct vfmig_err err = { 0 };
	struct vfmig_vfio_dev d;

	CHECK(st_create("vfmig-large", 6, uuid) == 0, "create");
	CHECK(vfmig_vfio_open(&d, uuid, &err) == 0, "%s", err.msg);
	CHECK(vfmig_module_unload(st_ctx()) == -EBUSY, "unload with an open device: %s", st_err());
	vfmig_vfio_close(&d);
	vfmig_err_clear(&err);
	/* Unloading with a device left (closed) removes it. */
	CHECK(vfmig_module_unload(st_ctx()) == 0, "%s", st_err());
	CHECK(!vfmig_module_is_loaded(), "module still loaded");
	return TAP_PASS;
}

static const struct tap_test tests[] = {
	TAP_TEST(test_module_load),
	TAP_TEST(test_types_listed),
	TAP_TEST(test_create_remove),
	TAP_TEST(test_instance_limit),
	TAP_TEST(test_bad_input_refused),
	TAP_TEST(test_vfio_open_pci),
	TAP_TEST(test_seed_checksum),
	TAP_TEST(test_module_unload),
};

int main(void)
{
	return tap_run("mdev", tests, TAP_COUNT(tests));
}
