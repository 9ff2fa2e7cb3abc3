// SPDX-License-Identifier: GPL-2.0
/* vfmig info UUID: regions, capabilities, sparse areas, state, knobs. */
#include <dirent.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "vfio.h"

static const char info_usage[] =
	"usage: vfmig info UUID\n\n"
	"Open the device through VFIO and print what it reports: device flags,\n"
	"regions with their capabilities and sparse-mmap areas, then the\n"
	"device's vfmig/ knobs (checksum, state size, ...).\n";

static const char *region_name(uint32_t i)
{
	static const char *const names[] = {
		"BAR0", "BAR1", "BAR2", "BAR3", "BAR4", "BAR5", "ROM", "config", "VGA",
	};

	return i < VFIO_PCI_NUM_REGIONS ? names[i] : "device-specific";
}

static void print_knobs(const char *uuid)
{
	char dir[PATH_MAX], path[PATH_MAX], val[256];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s/vfmig", VFMIG_SYSFS_MDEVS, uuid);
	d = opendir(dir);
	if (!d)
		return;
	printf("knobs (%s):\n", dir);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (VFMIG_FMT_OVERFLOW(path, "%s/%s", dir, de->d_name))
			continue;
		if (vfmig_sysfs_read(path, val, sizeof(val)) == 0)
			printf("  %-20s %s\n", de->d_name, val);
	}
	closedir(d);
}

int cmd_info(int argc, char **argv)
{
	struct vfmig_err err = { 0 };
	struct vfmig_vfio_dev d;

	if (cli_wants_help(argc, argv) || argc != 2) {
		fputs(info_usage, argc != 2 ? stderr : stdout);
		return argc != 2 ? 2 : 0;
	}
	if (vfmig_vfio_open(&d, argv[1], &err))
		return cli_fail(&err);

	printf("device %s (IOMMU group %d)\n", d.uuid, d.group_id);
	printf("flags: %s%s (%#x), %u regions, %u irq indexes\n",
	       d.flags & VFIO_DEVICE_FLAGS_PCI ? "PCI" : "not-PCI",
	       d.flags & VFIO_DEVICE_FLAGS_RESET ? " RESET" : "", d.flags,
	       d.num_regions, d.num_irqs);
	for (uint32_t i = 0; i < d.num_regions; i++) {
		struct vfmig_region_desc r;

		if (vfmig_vfio_region_info(&d, i, &r, &err)) {
			printf("  region %u: %s\n", i, err.msg);
			vfmig_err_clear(&err);
			continue;
		}
		printf("  region %u %-15s size %#10llx offset %#llx flags %s%s%s%s\n", i,
		       region_name(i), (unsigned long long)r.size, (unsigned long long)r.offset,
		       r.flags & VFIO_REGION_INFO_FLAG_READ ? "R" : "-",
		       r.flags & VFIO_REGION_INFO_FLAG_WRITE ? "W" : "-",
		       r.flags & VFIO_REGION_INFO_FLAG_MMAP ? "M" : "-",
		       r.flags & VFIO_REGION_INFO_FLAG_CAPS ? "C" : "-");
		if (r.has_type)
			printf("    type %u subtype %u%s\n", r.type, r.subtype,
			       (int)i == d.mig_index ? " (VFIO migration protocol v1)" : "");
		for (unsigned int a = 0; r.has_sparse && a < r.nr_areas; a++)
			printf("    sparse mmap area %u: offset %#llx size %#llx\n", a,
			       (unsigned long long)r.areas[a].offset,
			       (unsigned long long)r.areas[a].size);
	}
	vfmig_vfio_close(&d);
	print_knobs(argv[1]);
	return 0;
}
