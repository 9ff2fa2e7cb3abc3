// SPDX-License-Identifier: GPL-2.0
/*
 * vfmig per-device sysfs: /sys/bus/mdev/devices/<uuid>/vfmig/
 *
 * The knobs tests and the engine use to set up and check a device.
 * Configuration that shapes what user space maps or reads can only change
 * while the device is closed (-EBUSY otherwise).
 */
#include <linux/device.h>
#include <linux/kernel.h>
#include <linux/sysfs.h>

#include "vfmig.h"

static struct vfmig_dev *dev_to_vfmig(struct device *dev)
{
	return dev_get_drvdata(dev);
}

static ssize_t checksum_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	struct vfmig_dev *vd = dev_to_vfmig(dev);
	u64 sum;

	mutex_lock(&vd->lock);
	sum = vfmig_state_checksum(vd);
	mutex_unlock(&vd->lock);
	return sysfs_emit(buf, "%016llx\n", sum);
}
static DEVICE_ATTR_RO(checksum);

static ssize_t seed_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	struct vfmig_dev *vd = dev_to_vfmig(dev);
	u64 seed;

	mutex_lock(&vd->lock);
	seed = vd->regs.seed;
	mutex_unlock(&vd->lock);
	return sysfs_emit(buf, "%llu\n", seed);
}

/* Writing a seed fills the whole state deterministically. */
static ssize_t seed_store(struct device *dev, struct device_attribute *attr,
			  const char *buf, size_t count)
{
	struct vfmig_dev *vd = dev_to_vfmig(dev);
	u64 seed;
	int ret;

	ret = kstrtou64(buf, 0, &seed);
	if (ret)
		return ret;
	mutex_lock(&vd->lock);
	vfmig_state_fill(vd, seed);
	mutex_unlock(&vd->lock);
	return count;
}
static DEVICE_ATTR_RW(seed);

static ssize_t state_size_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct vfmig_dev *vd = dev_to_vfmig(dev);
	u64 size;

	mutex_lock(&vd->lock);
	size = vd->mem_size;
	mutex_unlock(&vd->lock);
	return sysfs_emit(buf, "%llu\n", size);
}

/* Resizing replaces the memory (zeroed); refused while the device is open. */
static ssize_t state_size_store(struct device *dev,
				struct device_attribute *attr,
				const char *buf, size_t count)
{
	struct vfmig_dev *vd = dev_to_vfmig(dev);
	u64 size;
	int ret;

	ret = kstrtou64(buf, 0, &size);
	if (ret)
		return ret;
	mutex_lock(&vd->lock);
	if (vd->opened)
		ret = -EBUSY;
	else
		ret = vfmig_state_alloc(vd, size);
	mutex_unlock(&vd->lock);
	return ret ? ret : count;
}
static DEVICE_ATTR_RW(state_size);

static ssize_t generation_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct vfmig_dev *vd = dev_to_vfmig(dev);
	u64 gen;

	mutex_lock(&vd->lock);
	gen = vd->regs.generation;
	mutex_unlock(&vd->lock);
	return sysfs_emit(buf, "%llu\n", gen);
}
static DEVICE_ATTR_RO(generation);

static ssize_t device_state_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	struct vfmig_dev *vd = dev_to_vfmig(dev);
	u32 state;

	mutex_lock(&vd->lock);
	state = vd->device_state;
	mutex_unlock(&vd->lock);
	return sysfs_emit(buf, "%u\n", state);
}
static DEVICE_ATTR_RO(device_state);

static struct attribute *vfmig_dev_attrs[] = {
	&dev_attr_checksum.attr,
	&dev_attr_seed.attr,
	&dev_attr_state_size.attr,
	&dev_attr_generation.attr,
	&dev_attr_device_state.attr,
	NULL,
};

static const struct attribute_group vfmig_dev_group = {
	.name = "vfmig",
	.attrs = vfmig_dev_attrs,
};

const struct attribute_group *vfmig_dev_groups[] = {
	&vfmig_dev_group,
	NULL,
};
