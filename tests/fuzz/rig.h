/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The destination the stream fuzz target resumes into, and the source the
 * corpus generator saves from: two in-process fake devices
 * (tests/unit/fake_device.c) of different shapes, one with a config blob.
 * Generator and target share this file so the committed seeds load whole.
 */
#ifndef VFMIG_FUZZ_RIG_H
#define VFMIG_FUZZ_RIG_H

#include <stdint.h>

#include "fake_device.h"
#include "savevm.h"
#include "v1dev.h"

#define RIG_NR_DEVS	2
#define RIG_CONFIG_LEN	48	/* config bytes device 0 saves */

struct rig_dev {
	struct fake_dev fake;
	struct vfmig_v1dev *dev;
	struct vfmig_v1dev_config_ops cfg_ops;
	uint8_t config[VFMIG_V1DEV_MAX_CONFIG];	/* loaded config blob */
	size_t config_len;
};

struct rig {
	struct rig_dev d[RIG_NR_DEVS];
	struct vfmig_savevm *sv;
};

extern const char *const rig_ids[RIG_NR_DEVS];

/* Device i's fake config (layout, policy, sizes); chunk_max may be overridden. */
void rig_cfg(unsigned int i, struct fake_cfg *c);
/*
 * Devices whose bit is set in mask are created from cfg[i] (NULL: rig_cfg),
 * their memory filled from seed + i, and registered under rig_ids[i].
 * Returns 0 or -errno (message in err).
 */
int rig_init(struct rig *r, unsigned int mask, const struct fake_cfg *cfg, uint32_t seed,
	     struct vfmig_err *err);
void rig_fini(struct rig *r);

#endif /* VFMIG_FUZZ_RIG_H */
