// SPDX-License-Identifier: GPL-2.0
/* PCI config space save/load through the VFIO config region. */
#include <errno.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pciconf.h"

static int config_io(struct vfmig_vfio_dev *d, void *buf, size_t len, uint64_t off,
		     bool write, struct vfmig_err *err)
{
	struct vfmig_region_desc cfg;
	ssize_t n;
	int ret;

	ret = vfmig_vfio_region_info(d, VFIO_PCI_CONFIG_REGION_INDEX, &cfg, err);
	if (ret)
		return ret;
	if (cfg.size < off + len)
		return vfmig_err_set(err, -EINVAL, "device %s: config space of %llu bytes is too small",
				     d->uuid, (unsigned long long)cfg.size);
	n = write ? pwrite(d->device, buf, len, (off_t)(cfg.offset + off))
		  : pread(d->device, buf, len, (off_t)(cfg.offset + off));
	if (n != (ssize_t)len)
		return vfmig_err_set(err, n < 0 ? -errno : -EIO,
				     "device %s: %s config space at %#llx (%zu bytes): %s",
				     d->uuid, write ? "writing" : "reading",
				     (unsigned long long)off, len,
				     n < 0 ? strerror(errno) : "short transfer");
	return 0;
}

static int pciconf_save(void *opaque, void *buf, size_t max, size_t *len, struct vfmig_err *err)
{
	struct vfmig_vfio_dev *d = opaque;

	if (max < VFMIG_PCICONF_SAVE_SIZE)
		return vfmig_err_set(err, -EOVERFLOW, "no room for the config header");
	*len = VFMIG_PCICONF_SAVE_SIZE;
	return config_io(d, buf, VFMIG_PCICONF_SAVE_SIZE, 0, false, err);
}

/* Same kind of device: the identity registers must match exactly. */
static int check_identity(struct vfmig_vfio_dev *d, const uint8_t *src, const uint8_t *dst,
			  struct vfmig_err *err)
{
	static const struct { unsigned int off, len; const char *what; } id[] = {
		{ PCI_VENDOR_ID, 2, "vendor id" },
		{ PCI_DEVICE_ID, 2, "device id" },
		{ PCI_REVISION_ID, 4, "class/revision" },
		{ PCI_SUBSYSTEM_VENDOR_ID, 4, "subsystem ids" },
	};

	for (size_t i = 0; i < sizeof(id) / sizeof(id[0]); i++) {
		if (memcmp(src + id[i].off, dst + id[i].off, id[i].len))
			return vfmig_err_set(err, -EINVAL,
					     "device %s: PCI %s differs from the source's: not the same kind of device",
					     d->uuid, id[i].what);
	}
	return 0;
}

static int pciconf_load(void *opaque, const void *buf, size_t len, struct vfmig_err *err)
{
	/* Registers a driver programs; everything else is read-only here. */
	static const struct { unsigned int off, len; } programmed[] = {
		{ PCI_COMMAND, 2 },
		{ PCI_BASE_ADDRESS_0, 24 },
		{ PCI_INTERRUPT_LINE, 1 },
	};
	struct vfmig_vfio_dev *d = opaque;
	uint8_t cur[VFMIG_PCICONF_SAVE_SIZE];
	const uint8_t *src = buf;
	int ret;

	if (len != VFMIG_PCICONF_SAVE_SIZE)
		return vfmig_err_set(err, -EPROTO, "device %s: config state of %zu bytes, expected %u",
				     d->uuid, len, VFMIG_PCICONF_SAVE_SIZE);
	ret = config_io(d, cur, sizeof(cur), 0, false, err);
	if (!ret)
		ret = check_identity(d, src, cur, err);
	for (size_t i = 0; !ret && i < sizeof(programmed) / sizeof(programmed[0]); i++)
		ret = config_io(d, (void *)(src + programmed[i].off), programmed[i].len,
				programmed[i].off, true, err);
	return ret;
}

void vfmig_pciconf_ops(struct vfmig_v1dev_config_ops *ops, struct vfmig_vfio_dev *d)
{
	ops->save = pciconf_save;
	ops->load = pciconf_load;
	ops->opaque = d;
}
