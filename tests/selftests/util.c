// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>
#include <limits.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <endian.h>

#include "util.h"

struct vfmig_ctx *st_ctx(void)
{
	static struct vfmig_ctx *ctx;

	if (!ctx && vfmig_ctx_new(&ctx)) {
		tap_diag("out of memory");
		exit(1);
	}
	return ctx;
}

const char *st_err(void)
{
	return vfmig_error_message(st_ctx());
}

int st_load_module(const char *params)
{
	char path[PATH_MAX];
	int ret;

	ret = vfmig_module_default_path(path, sizeof(path));
	if (ret) {
		tap_diag("no vfmig.ko (set VFMIG_MODULE): %s", strerror(-ret));
		return ret;
	}
	ret = vfmig_module_load(st_ctx(), path, params, NULL);
	if (ret)
		tap_diag("%s", st_err());
	return ret;
}

int st_create(const char *type, unsigned int n, char uuid[VFMIG_UUID_LEN + 1])
{
	char want[VFMIG_UUID_LEN + 1];
	int ret;

	snprintf(want, sizeof(want), "f1e0%04x-0000-4000-8000-%012x", n & 0xffff, n);
	ret = vfmig_mdev_create(st_ctx(), type, want, uuid);
	if (ret)
		tap_diag("%s", st_err());
	return ret;
}

void st_remove_all(void)
{
	struct vfmig_mdev devs[64];
	int n = vfmig_mdev_list(st_ctx(), devs, 64);

	for (int i = 0; i < n && i < 64; i++)
		vfmig_mdev_remove(st_ctx(), devs[i].uuid);
}

int st_test_unload(void)
{
	st_remove_all();
	CHECK(vfmig_module_unload(st_ctx()) == 0, "%s", st_err());
	return TAP_PASS;
}

int st_write(const char *path, const char *value)
{
	return vfmig_sysfs_write(path, value);
}

int st_knob_u64(const char *uuid, const char *name, uint64_t *val)
{
	struct vfmig_err err = { 0 };
	char buf[64], *end;
	int ret = vfmig_knob_read(uuid, name, buf, sizeof(buf), &err);

	if (ret) {
		tap_diag("%s", err.msg);
		return ret;
	}
	errno = 0;
	*val = strtoull(buf, &end, strcmp(name, "checksum") ? 0 : 16);
	return errno || *end ? -EINVAL : 0;
}

uint64_t st_knob(const char *uuid, const char *name)
{
	static _Atomic uint64_t poison = UINT64_MAX;
	uint64_t v;

	if (st_knob_u64(uuid, name, &v) == 0)
		return v;
	tap_diag("cannot read knob %s of %s", name, uuid);
	return atomic_fetch_sub(&poison, 1);
}

int st_available(const char *type, unsigned int *n)
{
	char path[PATH_MAX], buf[32];
	int ret;

	snprintf(path, sizeof(path), "%s/mdev_supported_types/%s/available_instances",
		 VFMIG_SYSFS_PARENT, type);
	ret = vfmig_sysfs_read(path, buf, sizeof(buf));
	if (!ret)
		*n = (unsigned int)strtoul(buf, NULL, 10);
	return ret;
}

int st_knob_path(char *path, size_t len, const char *uuid, const char *name)
{
	return snprintf(path, len, VFMIG_SYSFS_MDEVS "/%s/vfmig/%s", uuid, name) >= (int)len ?
		-ENAMETOOLONG : 0;
}

int st_knob_write_raw(const char *uuid, const char *name, const char *value)
{
	char path[256];

	if (st_knob_path(path, sizeof(path), uuid, name))
		return -ENAMETOOLONG;
	return st_write(path, value);
}

int st_knob_read_raw(const char *uuid, const char *name, char *buf, size_t len)
{
	char path[256];

	if (st_knob_path(path, sizeof(path), uuid, name))
		return -ENAMETOOLONG;
	return vfmig_sysfs_read(path, buf, len);
}

uint64_t st_knob_value(const char *uuid, const char *name)
{
	char buf[64];

	if (st_knob_read_raw(uuid, name, buf, sizeof(buf)))
		return UINT64_MAX;
	return strtoull(buf, NULL, strcmp(name, "checksum") ? 0 : 16);
}

/* Migration region access, for suites that drive the v1 protocol by hand. */

int dev_open(struct dev *d, const char *type, unsigned int n, const char *setup[])
{
	struct vfmig_err err = { 0 };

	if (st_create(type, n, d->uuid))
		return -1;
	for (int i = 0; setup && setup[i]; i += 2) {
		if (vfmig_knob_write(d->uuid, setup[i], setup[i + 1], &err)) {
			tap_diag("%s", err.msg);
			return -1;
		}
	}
	return dev_attach(d);
}

int dev_attach(struct dev *d)
{
	struct vfmig_err err = { 0 };

	if (vfmig_vfio_open(&d->v, d->uuid, &err) || d->v.mig_index < 0) {
		tap_diag("open %s: %s", d->uuid, err.msg[0] ? err.msg : "no migration region");
		return -1;
	}
	d->base = d->v.mig.offset;
	return 0;
}

int dev_reset(struct dev *d)
{
	return vfmig_vfio_reset(&d->v, &(struct vfmig_err){ 0 });
}

void dev_close(struct dev *d)
{
	vfmig_vfio_close(&d->v);
}

int rd32(struct dev *d, uint64_t off, uint32_t *v)
{
	return pread(d->v.device, v, 4, d->base + off) == 4 ? 0 : -errno;
}

int wr32(struct dev *d, uint64_t off, uint32_t v)
{
	return pwrite(d->v.device, &v, 4, d->base + off) == 4 ? 0 : -errno;
}

int rd64(struct dev *d, uint64_t off, uint64_t *v)
{
	return pread(d->v.device, v, 8, d->base + off) == 8 ? 0 : -errno;
}

int wr64(struct dev *d, uint64_t off, uint64_t v)
{
	return pwrite(d->v.device, &v, 8, d->base + off) == 8 ? 0 : -errno;
}

uint32_t state_of(struct dev *d)
{
	uint32_t s = 0xdead;

	rd32(d, HDR(device_state), &s);
	return s;
}

int set_state(struct dev *d, uint32_t s)
{
	return wr32(d, HDR(device_state), s);
}

/* Copy [off, off+len) of the region out, through mmap where mapped if asked. */
int xfer(struct dev *d, uint64_t off, uint8_t *buf, uint64_t len, bool use_mmap,
		bool to_device)
{
	while (len) {
		uint64_t n = len;
		const struct vfmig_region_area *a = NULL;

		for (unsigned int i = 0; use_mmap && i < d->v.region.nr_areas; i++) {
			const struct vfmig_region_area *x = &d->v.region.areas[i];

			if (x->map && off >= x->offset && off < x->offset + x->size)
				a = x;
		}
		if (a) {
			n = a->offset + a->size - off < n ? a->offset + a->size - off : n;
			if (to_device)
				memcpy((uint8_t *)a->map + (off - a->offset), buf, n);
			else
				memcpy(buf, (uint8_t *)a->map + (off - a->offset), n);
		} else {
			for (unsigned int i = 0; use_mmap && i < d->v.region.nr_areas; i++) {
				uint64_t s = d->v.region.areas[i].offset;

				if (s > off && s - off < n)
					n = s - off;
			}
			ssize_t r = to_device ? pwrite(d->v.device, buf, n, d->base + off) :
						pread(d->v.device, buf, n, d->base + off);
			if (r != (ssize_t)n)
				return -1;
		}
		off += n;
		buf += n;
		len -= n;
	}
	return 0;
}

int st_stream_add(struct st_stream *s, uint64_t size, uint8_t **data)
{
	if (s->n == s->cap) {
		unsigned int cap = s->cap ? 2 * s->cap : 256;
		struct st_chunk *c = realloc(s->c, cap * sizeof(*c));

		if (!c)
			return -1;
		s->c = c;
		s->cap = cap;
	}
	s->c[s->n].size = size;
	s->c[s->n].data = malloc(size ? size : 1);
	if (!s->c[s->n].data)
		return -1;
	*data = s->c[s->n].data;
	s->n++;
	s->bytes += size;
	return 0;
}

void st_stream_free(struct st_stream *s)
{
	for (unsigned int i = 0; i < s->n; i++)
		free(s->c[i].data);
	free(s->c);
	memset(s, 0, sizeof(*s));
}

int st_save_chunk(struct dev *d, struct st_stream *s, bool use_mmap, uint64_t *pending,
		  uint64_t *size)
{
	uint64_t off;
	uint8_t *buf;

	*size = 0;
	if (rd64(d, HDR(pending_bytes), pending))
		return -1;
	if (!*pending)
		return 0;
	if (rd64(d, HDR(data_offset), &off) || rd64(d, HDR(data_size), size))
		return -1;
	if (!*size)
		return 0;
	if (st_stream_add(s, *size, &buf) || xfer(d, off, buf, *size, use_mmap, false))
		return -1;
	return 0;
}

long st_resume_split(struct dev *d, const struct st_stream *s, bool use_mmap,
		     unsigned long *failed_at)
{
	unsigned long writes = 0;

	for (unsigned int i = 0; i < s->n; i++) {
		uint64_t done = 0;

		while (done < s->c[i].size) {
			uint64_t off, n;

			if (rd64(d, HDR(data_offset), &off))
				return -errno;
			/* the data section starts after the 4 KiB header page */
			if (off < 4096 || off >= d->v.mig.size)
				return -ERANGE;
			n = d->v.mig.size - off;
			if (n > s->c[i].size - done)
				n = s->c[i].size - done;
			if (xfer(d, off, s->c[i].data + done, n, use_mmap, true))
				return -EFAULT;
			if (failed_at)
				*failed_at = writes;
			if (wr64(d, HDR(data_size), n))
				return -errno;
			writes++;
			done += n;
		}
	}
	return (long)writes;
}

int st_read_param(const char *name, long *v)
{
	char path[128], buf[64];
	int ret;

	snprintf(path, sizeof(path), "/sys/module/vfmig/parameters/%s", name);
	ret = vfmig_sysfs_read(path, buf, sizeof(buf));
	if (!ret)
		*v = strtol(buf, NULL, 10);
	return ret;
}

/* Monotonic seconds, for the suites' timings. */
double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

bool rec_magic_ok(const uint8_t *p)
{
	uint32_t magic;

	memcpy(&magic, p, sizeof(magic));
	return le32toh(magic) == VFMIG_PAYLOAD_REC_MAGIC;
}

int v2_flags(int devfd, uint64_t *flags)
{
	uint8_t b[sizeof(struct vfio_device_feature) + sizeof(struct vfio_device_feature_migration)];
	struct vfio_device_feature *f = (void *)b;

	memset(b, 0, sizeof(b));
	f->argsz = sizeof(b);
	f->flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION;
	if (ioctl(devfd, VFIO_DEVICE_FEATURE, f))
		return -errno;
	*flags = ((struct vfio_device_feature_migration *)(void *)f->data)->flags;
	return 0;
}

int v2_set(int devfd, uint32_t state, int *data_fd)
{
	uint8_t b[sizeof(struct vfio_device_feature) + sizeof(struct vfio_device_feature_mig_state)];
	struct vfio_device_feature *f = (void *)b;
	struct vfio_device_feature_mig_state *m = (void *)f->data;

	memset(b, 0, sizeof(b));
	f->argsz = sizeof(b);
	f->flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE;
	m->device_state = state;
	m->data_fd = -1;
	if (data_fd)
		*data_fd = -1;
	if (ioctl(devfd, VFIO_DEVICE_FEATURE, f))
		return -errno;
	if (data_fd)
		*data_fd = m->data_fd;
	else if (m->data_fd >= 0)
		close(m->data_fd);
	return 0;
}

uint32_t v2_get(int devfd)
{
	uint8_t b[sizeof(struct vfio_device_feature) + sizeof(struct vfio_device_feature_mig_state)];
	struct vfio_device_feature *f = (void *)b;

	memset(b, 0, sizeof(b));
	f->argsz = sizeof(b);
	f->flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE;
	if (ioctl(devfd, VFIO_DEVICE_FEATURE, f))
		return 0xdead;
	return ((struct vfio_device_feature_mig_state *)(void *)f->data)->device_state;
}

int v2_data_size(int devfd, uint64_t *len)
{
	uint8_t b[sizeof(struct vfio_device_feature) + sizeof(uint64_t)];
	struct vfio_device_feature *f = (void *)b;

	memset(b, 0, sizeof(b));
	f->argsz = sizeof(b);
	f->flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DATA_SIZE;
	if (ioctl(devfd, VFIO_DEVICE_FEATURE, f))
		return -errno;
	memcpy(len, f->data, sizeof(*len));
	return 0;
}

int v2_precopy_info(int datafd, uint64_t *initial, uint64_t *dirty)
{
	struct vfio_precopy_info info = { .argsz = sizeof(info) };

	if (ioctl(datafd, VFIO_MIG_GET_PRECOPY_INFO, &info))
		return -errno;
	*initial = info.initial_bytes;
	*dirty = info.dirty_bytes;
	return 0;
}

bool v2_kernel_has_pre_copy(void)
{
	unsigned int maj = 0, min = 0;
	struct utsname u;

	if (uname(&u) || sscanf(u.release, "%u.%u", &maj, &min) != 2)
		return false;
	return maj > 6 || (maj == 6 && min >= 2);
}
