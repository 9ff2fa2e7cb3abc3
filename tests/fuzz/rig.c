// SPDX-License-Identifier: GPL-2.0
/* The fuzz rig: see rig.h. */
#include <errno.h>
#include <string.h>

#include "rig.h"

const char *const rig_ids[RIG_NR_DEVS] = { "fuzz-a", "fuzz-b" };

/* Device 0's config blob: a fixed pattern on save, kept as is on load. */
static int rig_cfg_save(void *opaque, void *buf, size_t max, size_t *len, struct vfmig_err *err)
{
	uint8_t *p = buf;
	size_t i;

	(void)opaque;
	if (max < RIG_CONFIG_LEN)
		return vfmig_err_set(err, -ENOSPC, "config needs %u bytes", RIG_CONFIG_LEN);
	for (i = 0; i < RIG_CONFIG_LEN; i++)
		p[i] = (uint8_t)(0xc0 + i);
	*len = RIG_CONFIG_LEN;
	return 0;
}

static int rig_cfg_load(void *opaque, const void *buf, size_t len, struct vfmig_err *err)
{
	struct rig_dev *d = opaque;

	/* As pciconf: the blob must be the size this device saves. */
	if (len != RIG_CONFIG_LEN)
		return vfmig_err_set(err, -EPROTO, "config of %zu bytes, expected %u", len,
				     RIG_CONFIG_LEN);
	memcpy(d->config, buf, len);
	d->config_len = len;
	return 0;
}

void rig_cfg(unsigned int i, struct fake_cfg *c)
{
	fake_cfg_default(c);
	c->name = rig_ids[i];
	if (i == 0) {
		/* 16 KiB through 4 KiB mmap areas with trapped gaps, rotating windows. */
		c->mem_size = 16 * 1024;
		fake_cfg_layout(c, FAKE_LAYOUT_SPARSE);
		c->policy = FAKE_POLICY_ROTATE;
		c->chunk_max = 4096 + sizeof(struct fake_rec);
	} else {
		/* 8 KiB, all trapped, a small region: loads split. */
		c->mem_size = 8 * 1024;
		c->region_size = 4096 + 3000;
		fake_cfg_layout(c, FAKE_LAYOUT_TRAPPED);
		c->chunk_max = 2048 + sizeof(struct fake_rec);
	}
}

int rig_init(struct rig *r, unsigned int mask, const struct fake_cfg *cfg, uint32_t seed,
	     struct vfmig_err *err)
{
	unsigned int i;
	int ret;

	memset(r, 0, sizeof(*r));
	r->sv = vfmig_savevm_new();
	if (!r->sv)
		return vfmig_err_set(err, -ENOMEM, "rig: out of memory");
	for (i = 0; i < RIG_NR_DEVS; i++) {
		struct rig_dev *d = &r->d[i];
		struct vfmig_v1dev_opts o = { .bounce_size = 4096 };
		struct fake_cfg c;

		if (!(mask & (1u << i)))
			continue;
		if (cfg)
			c = cfg[i];
		else
			rig_cfg(i, &c);
		c.seed = seed + i;
		ret = fake_init(&d->fake, &c);
		if (ret)
			return vfmig_err_set(err, ret, "rig: fake device %u: bad config", i);
		if (i == 0) {
			d->cfg_ops = (struct vfmig_v1dev_config_ops){ rig_cfg_save, rig_cfg_load, d };
			o.config = &d->cfg_ops;
		}
		d->dev = vfmig_v1dev_new(&d->fake.region, &o, err);
		if (!d->dev)
			return err->code;
		ret = vfmig_v1dev_register(r->sv, d->dev, rig_ids[i], 0, err);
		if (ret)
			return ret;
	}
	return 0;
}

void rig_fini(struct rig *r)
{
	unsigned int i;

	for (i = 0; i < RIG_NR_DEVS; i++) {
		vfmig_v1dev_free(r->d[i].dev);
		fake_fini(&r->d[i].fake);
	}
	vfmig_savevm_free(r->sv);
	memset(r, 0, sizeof(*r));
}
