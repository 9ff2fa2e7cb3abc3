// SPDX-License-Identifier: GPL-2.0
/* What VFIO and sysfs report about a device, as text (vfmig info). */
#include <dirent.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdio.h>

#include "v2.h"
#include "vfio.h"

static const char *region_name(uint32_t i)
{
	static const char *const names[] = {
		"BAR0", "BAR1", "BAR2", "BAR3", "BAR4", "BAR5", "ROM", "config", "VGA",
	};

	return i < VFIO_PCI_NUM_REGIONS ? names[i] : "device-specific";
}

static void describe_region(struct vfmig_vfio_dev *d, uint32_t i, FILE *out)
{
	struct vfmig_err err = { 0 };
	struct vfmig_region_desc r;

	if (vfmig_vfio_region_info(d, i, &r, &err)) {
		fprintf(out, "  region %u: %s\n", i, err.msg);
		return;
	}
	fprintf(out, "  region %u %-15s size %#10llx offset %#llx flags %s%s%s%s\n", i,
		region_name(i), (unsigned long long)r.size, (unsigned long long)r.offset,
		r.flags & VFIO_REGION_INFO_FLAG_READ ? "R" : "-",
		r.flags & VFIO_REGION_INFO_FLAG_WRITE ? "W" : "-",
		r.flags & VFIO_REGION_INFO_FLAG_MMAP ? "M" : "-",
		r.flags & VFIO_REGION_INFO_FLAG_CAPS ? "C" : "-");
	if (r.has_type)
		fprintf(out, "    type %u subtype %u%s\n", r.type, r.subtype,
			(int)i == d->mig_index ? " (VFIO migration protocol v1)" : "");
	for (unsigned int a = 0; r.has_sparse && a < r.nr_areas; a++)
		fprintf(out, "    sparse mmap area %u: offset %#llx size %#llx\n", a,
			(unsigned long long)r.areas[a].offset,
			(unsigned long long)r.areas[a].size);
}

static void describe_knobs(const char *uuid, FILE *out)
{
	char dir[PATH_MAX], path[PATH_MAX], val[256];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s/vfmig", VFMIG_SYSFS_MDEVS, uuid);
	d = opendir(dir);
	if (!d)
		return;
	fprintf(out, "knobs (%s):\n", dir);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (VFMIG_FMT_OVERFLOW(path, "%s/%s", dir, de->d_name))
			continue;
		if (vfmig_sysfs_read(path, val, sizeof(val)) == 0)
			fprintf(out, "  %-20s %s\n", de->d_name, val);
	}
	closedir(d);
}

/* What a migration session would find: the v1 region, the v2 feature. */
static void describe_protocols(struct vfmig_vfio_dev *d, FILE *out)
{
	uint64_t flags = 0, size;
	bool v2 = !vfmig_v2_probe(d->device, &flags);

	fprintf(out, "migration protocols: %s", vfmig_protocols_name(d->mig_index >= 0, v2));
	if (v2)
		fprintf(out, " (v2: %s%s%s; auto picks v2)", flags & VFIO_MIGRATION_STOP_COPY ?
			"STOP_COPY" : "", flags & VFIO_MIGRATION_P2P ? " P2P" : "",
			flags & VFIO_MIGRATION_PRE_COPY ? " PRE_COPY" : ", no PRE_COPY");
	fputc('\n', out);
	/* 6.3+ kernels: what a stop-copy would hand out now. */
	if (v2 && !vfmig_v2_data_size(d->device, &size, NULL))
		fprintf(out, "v2 stop-copy size: %llu bytes (MIG_DATA_SIZE)\n",
			(unsigned long long)size);
}

int vfmig_mdev_describe(struct vfmig_ctx *ctx, const char *uuid, FILE *out)
{
	struct vfmig_err *err = vfmig_ctx_begin(ctx);
	struct vfmig_vfio_dev d;
	int ret;

	ret = vfmig_vfio_open(&d, uuid, err);
	if (ret)
		return ret;
	fprintf(out, "device %s (IOMMU group %d)\n", d.uuid, d.group_id);
	fprintf(out, "flags: %s%s (%#x), %u regions, %u irq indexes\n",
		d.flags & VFIO_DEVICE_FLAGS_PCI ? "PCI" : "not-PCI",
		d.flags & VFIO_DEVICE_FLAGS_RESET ? " RESET" : "", d.flags,
		d.num_regions, d.num_irqs);
	describe_protocols(&d, out);
	for (uint32_t i = 0; i < d.num_regions; i++)
		describe_region(&d, i, out);
	vfmig_vfio_close(&d);
	describe_knobs(uuid, out);
	return 0;
}
