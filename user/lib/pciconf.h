/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PCI config space as non-iterable device state (the FULL section).
 *
 * The source's standard header is saved whole; the destination checks that
 * it is the same kind of device (vendor, device, class, revision) and gets
 * the registers a guest or driver programs written back: command, BARs and
 * the interrupt line.  Read-only parts are the device's own business.
 */
#ifndef VFMIG_PCICONF_H
#define VFMIG_PCICONF_H

#include "v1dev.h"
#include "vfio.h"

#define VFMIG_PCICONF_SAVE_SIZE	64u	/* type-0 header */

/* Config ops that read and write d's config region; d must outlive them. */
void vfmig_pciconf_ops(struct vfmig_v1dev_config_ops *ops, struct vfmig_vfio_dev *d);

#endif /* VFMIG_PCICONF_H */
