// SPDX-License-Identifier: GPL-2.0
/*
 * VFIO access for vfmig devices.  Debian's 6.1 and 6.12 kernels have no
 * iommufd, so the legacy path is the only one: container + group + type1.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vfmig/abi.h"
#include "kmod.h"
#include "vfio.h"

static int group_of(const char *uuid, int *id, struct vfmig_err *err)
{
	char path[PATH_MAX], link[PATH_MAX], *base, *end;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s/iommu_group", VFMIG_SYSFS_MDEVS, uuid);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0 && errno == ENOENT) {
		if (!vfmig_module_is_loaded())
			return vfmig_err_set(err, -ENODEV, "device %s: the vfmig module is not loaded",
					     uuid);
		snprintf(path, sizeof(path), "%s/%s", VFMIG_SYSFS_MDEVS, uuid);
		if (access(path, F_OK))
			return vfmig_err_set(err, -ENODEV, "device %s: no such mdev device", uuid);
	}
	if (n < 0)
		return vfmig_err_set(err, -errno, "device %s: no IOMMU group (%s): %s",
				     uuid, path, strerror(errno));
	link[n] = '\0';
	base = strrchr(link, '/');
	base = base ? base + 1 : link;
	*id = (int)strtol(base, &end, 10);
	if (*end || end == base)
		return vfmig_err_set(err, -EINVAL, "device %s: odd IOMMU group link %s", uuid, link);
	return 0;
}

int vfmig_vfio_open(struct vfmig_vfio_dev *d, const char *uuid, struct vfmig_err *err)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	struct vfio_device_info info = { .argsz = sizeof(info) };
	char path[64];
	int ret;

	memset(d, 0, sizeof(*d));
	d->container = d->group = d->device = -1;
	d->mig_index = -1;
	if (vfmig_uuid_valid(uuid))
		return vfmig_err_set(err, -EINVAL, "'%s' is not a device UUID", uuid);
	snprintf(d->uuid, sizeof(d->uuid), "%s", uuid);

	ret = group_of(uuid, &d->group_id, err);
	if (ret)
		return ret;

	d->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (d->container < 0) {
		ret = vfmig_err_set(err, -errno, "device %s: open /dev/vfio/vfio: %s", uuid,
				    strerror(errno));
		goto fail;
	}
	if (ioctl(d->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    ioctl(d->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0) {
		ret = vfmig_err_set(err, -ENODEV, "device %s: VFIO type1v2 IOMMU not available (vfio_iommu_type1 loaded?)",
				    uuid);
		goto fail;
	}
	snprintf(path, sizeof(path), "/dev/vfio/%d", d->group_id);
	d->group = open(path, O_RDWR | O_CLOEXEC);
	if (d->group < 0) {
		ret = vfmig_err_set(err, -errno, "device %s: open %s: %s%s", uuid, path,
				    strerror(errno),
				    errno == EBUSY ? " (another process has the device open)" : "");
		goto fail;
	}
	if (ioctl(d->group, VFIO_GROUP_GET_STATUS, &status) ||
	    !(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		ret = vfmig_err_set(err, -EINVAL, "device %s: group %d is not viable", uuid,
				    d->group_id);
		goto fail;
	}
	if (ioctl(d->group, VFIO_GROUP_SET_CONTAINER, &d->container) ||
	    ioctl(d->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
		ret = vfmig_err_set(err, -errno, "device %s: attaching group %d to a type1 container: %s",
				    uuid, d->group_id, strerror(errno));
		goto fail;
	}
	d->device = ioctl(d->group, VFIO_GROUP_GET_DEVICE_FD, uuid);
	if (d->device < 0) {
		ret = vfmig_err_set(err, -errno, "device %s: VFIO_GROUP_GET_DEVICE_FD: %s", uuid,
				    strerror(errno));
		goto fail;
	}
	if (ioctl(d->device, VFIO_DEVICE_GET_INFO, &info)) {
		ret = vfmig_err_set(err, -errno, "device %s: VFIO_DEVICE_GET_INFO: %s", uuid,
				    strerror(errno));
		goto fail;
	}
	d->flags = info.flags;
	d->num_regions = info.num_regions;
	d->num_irqs = info.num_irqs;

	/* Find the v1 migration region by its capability, not by index. */
	for (uint32_t i = VFIO_PCI_NUM_REGIONS; i < d->num_regions; i++) {
		struct vfmig_region_desc desc;

		if (vfmig_vfio_region_info(d, i, &desc, NULL))
			continue;
		if (desc.has_type && desc.type == VFMIG_REGION_TYPE_MIGRATION &&
		    desc.subtype == VFMIG_REGION_SUBTYPE_MIGRATION) {
			d->mig_index = (int)i;
			d->mig = desc;
			break;
		}
	}
	return 0;
fail:
	vfmig_vfio_close(d);
	return ret;
}

void vfmig_vfio_close(struct vfmig_vfio_dev *d)
{
	for (unsigned int i = 0; i < d->region.nr_areas; i++) {
		if (d->region.areas[i].map)
			munmap(d->region.areas[i].map, d->region.areas[i].size);
		d->region.areas[i].map = NULL;
	}
	d->region.nr_areas = 0;
	if (d->device >= 0)
		close(d->device);
	if (d->group >= 0)
		close(d->group);
	if (d->container >= 0)
		close(d->container);
	d->device = d->group = d->container = -1;
}

/* Walk the capability chain; every offset is checked against the buffer. */
static int parse_caps(struct vfmig_region_desc *out, const uint8_t *buf, uint32_t len,
		      uint32_t first, const char *uuid, struct vfmig_err *err)
{
	uint32_t off = first;
	int hops = 0;

	while (off) {
		const struct vfio_info_cap_header *h;

		if (off < sizeof(struct vfio_region_info) ||
		    off + sizeof(*h) > len || ++hops > 64)
			return vfmig_err_set(err, -EPROTO, "device %s: region %u: bad capability chain at %u",
					     uuid, out->index, off);
		h = (const void *)(buf + off);
		if (h->id == VFIO_REGION_INFO_CAP_TYPE) {
			const struct vfio_region_info_cap_type *t = (const void *)h;

			if (off + sizeof(*t) > len)
				return vfmig_err_set(err, -EPROTO, "device %s: truncated type capability",
						     uuid);
			out->has_type = true;
			out->type = t->type;
			out->subtype = t->subtype;
		} else if (h->id == VFIO_REGION_INFO_CAP_SPARSE_MMAP) {
			const struct vfio_region_info_cap_sparse_mmap *s = (const void *)h;

			if (off + sizeof(*s) > len ||
			    s->nr_areas > VFMIG_MAX_AREAS ||
			    off + sizeof(*s) + s->nr_areas * sizeof(s->areas[0]) > len)
				return vfmig_err_set(err, -EPROTO, "device %s: bad sparse-mmap capability",
						     uuid);
			out->has_sparse = true;
			out->nr_areas = s->nr_areas;
			for (uint32_t i = 0; i < s->nr_areas; i++) {
				out->areas[i].offset = s->areas[i].offset;
				out->areas[i].size = s->areas[i].size;
			}
		}
		off = h->next;
	}
	return 0;
}

int vfmig_vfio_region_info(struct vfmig_vfio_dev *d, uint32_t index,
			   struct vfmig_region_desc *out, struct vfmig_err *err)
{
	struct vfio_region_info *info;
	uint32_t argsz = sizeof(*info);
	int ret = 0;

	memset(out, 0, sizeof(*out));
	out->index = index;
	for (int tries = 0; tries < 2; tries++) {
		info = calloc(1, argsz);
		if (!info)
			return vfmig_err_set(err, -ENOMEM, "out of memory");
		info->argsz = argsz;
		info->index = index;
		if (ioctl(d->device, VFIO_DEVICE_GET_REGION_INFO, info)) {
			ret = vfmig_err_set(err, -errno, "device %s: region %u info: %s",
					    d->uuid, index, strerror(errno));
			free(info);
			return ret;
		}
		/* The driver says how big the answer with capabilities is. */
		if (info->argsz > argsz && tries == 0 && info->argsz <= 65536) {
			argsz = info->argsz;
			free(info);
			continue;
		}
		break;
	}
	out->flags = info->flags;
	out->size = info->size;
	out->offset = info->offset;
	if ((info->flags & VFIO_REGION_INFO_FLAG_CAPS) && info->cap_offset)
		ret = parse_caps(out, (const uint8_t *)info, argsz, info->cap_offset,
				 d->uuid, err);
	free(info);
	return ret;
}

static ssize_t mig_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct vfmig_vfio_dev *d = ctx;
	ssize_t n = pread(d->device, buf, len, (off_t)(d->mig.offset + off));

	return n < 0 ? -errno : n;
}

static ssize_t mig_write(void *ctx, const void *buf, size_t len, uint64_t off)
{
	struct vfmig_vfio_dev *d = ctx;
	ssize_t n = pwrite(d->device, buf, len, (off_t)(d->mig.offset + off));

	return n < 0 ? -errno : n;
}

/*
 * The areas map the device's data section (MAP_SHARED, pages the driver
 * owns and inserts on fault), so MADV_DONTNEED only unmaps them: nothing is
 * lost, and the next touch faults them back.  Best effort: a refusal leaves
 * the pages mapped, which costs memory, not correctness.
 */
static void mig_release(void *ctx)
{
	struct vfmig_vfio_dev *d = ctx;

	for (unsigned int i = 0; i < d->region.nr_areas; i++) {
		const struct vfmig_region_area *a = &d->region.areas[i];

		if (a->map)
			(void)madvise(a->map, a->size, MADV_DONTNEED);
	}
}

static const struct vfmig_region_ops vfio_mig_ops = {
	.read = mig_read,
	.write = mig_write,
	.release = mig_release,
};

int vfmig_vfio_map_migration(struct vfmig_vfio_dev *d, bool map, struct vfmig_err *err)
{
	struct vfmig_region *r = &d->region;

	if (d->mig_index < 0)
		return vfmig_err_set(err, -ENODEV, "device %s has no migration region", d->uuid);
	r->ops = &vfio_mig_ops;
	r->ctx = d;
	r->size = d->mig.size;
	r->name = d->uuid;
	r->nr_areas = 0;
	if (!d->mig.has_sparse)
		return 0;
	for (unsigned int i = 0; i < d->mig.nr_areas; i++) {
		struct vfmig_region_area *a = &r->areas[r->nr_areas++];

		a->offset = d->mig.areas[i].offset;
		a->size = d->mig.areas[i].size;
		a->map = NULL;
		if (!map || !(d->mig.flags & VFIO_REGION_INFO_FLAG_MMAP) || !a->size)
			continue;
		a->map = mmap(NULL, a->size, PROT_READ | PROT_WRITE, MAP_SHARED, d->device,
			      (off_t)(d->mig.offset + a->offset));
		if (a->map == MAP_FAILED) {
			a->map = NULL;
			return vfmig_err_set(err, -errno, "device %s: mmap of migration area %u (offset %#llx, %llu bytes): %s",
					     d->uuid, i, (unsigned long long)a->offset,
					     (unsigned long long)a->size, strerror(errno));
		}
	}
	return 0;
}

int vfmig_vfio_reset(struct vfmig_vfio_dev *d, struct vfmig_err *err)
{
	if (ioctl(d->device, VFIO_DEVICE_RESET))
		return vfmig_err_set(err, -errno, "device %s: VFIO_DEVICE_RESET: %s", d->uuid,
				     strerror(errno));
	return 0;
}
