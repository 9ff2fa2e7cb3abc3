// SPDX-License-Identifier: GPL-2.0
/*
 * vfmig: a mediated PCI device for testing VFIO device live migration.
 *
 * This file is the device core: module init/exit, the parent device and its
 * mdev types, probe/remove, and the vfio_device_ops that route each access
 * to the concern that owns it: pci.c (PCI face), migration.c (the v1
 * region), migration_v2.c and datafile.c (protocol v2), layout.c (data
 * section and mmap), state.c, dirty.c, sysfs.c.
 */
#include <linux/device.h>
#include <linux/mdev.h>
#include <linux/module.h>
#include <linux/sizes.h>
#include <linux/vfio.h>

#include "compat.h"
#include "vfmig.h"

static unsigned int max_devices = 8;
module_param(max_devices, uint, 0444);
MODULE_PARM_DESC(max_devices, "Maximum number of vfmig mdevs (all types)");

static ulong default_data_size;
module_param(default_data_size, ulong, 0444);
MODULE_PARM_DESC(default_data_size, "Data section bytes for new devices (0: per type)");

static char *default_layout = "";
module_param(default_layout, charp, 0444);
MODULE_PARM_DESC(default_layout,
		 "mmap layout of new devices: none, whole or sparse:N (empty: per type)");

static char *default_policy = "fixed";
module_param(default_policy, charp, 0444);
MODULE_PARM_DESC(default_policy, "data_offset policy for new devices: fixed, rotate, gap or straddle");

static ulong default_dirty_rate;
module_param(default_dirty_rate, ulong, 0444);
MODULE_PARM_DESC(default_dirty_rate, "Dirty generation rate of new devices in bytes/s (0: off, at most 2^36)");

static struct vfmig_type vfmig_types[] = {
	{
		.type.sysfs_name = "small",
		.type.pretty_name = "vfmig-small",
		.description = "vfmig small: 64 KiB device state, 16 KiB trapped data section",
		.code = 1,
		.state_size = SZ_64K,
		.data_size = SZ_16K,
		.layout = VFMIG_LAYOUT_NONE,
	},
	{
		.type.sysfs_name = "large",
		.type.pretty_name = "vfmig-large",
		.description =
		"vfmig large: 16 MiB device state, 1 MiB data section in 4 sparse mmap areas",
		.code = 2,
		.state_size = SZ_16M,
		.data_size = SZ_1M,
		.layout = VFMIG_LAYOUT_SPARSE,
		.nr_areas = 4,
	},
};

/* The type's configuration, with the module parameters' overrides. */
static int vfmig_default_config(const struct vfmig_type *t, struct vfmig_config *cfg)
{
	cfg->data_size = default_data_size ? default_data_size : t->data_size;
	cfg->window = VFMIG_WINDOW_STAGED;
	cfg->layout = t->layout;
	cfg->nr_areas = t->nr_areas;
	if (default_layout && *default_layout &&
	    vfmig_layout_parse(default_layout, &cfg->layout, &cfg->nr_areas))
		return -EINVAL;
	return vfmig_policy_parse(default_policy, &cfg->policy);
}

static struct mdev_type *vfmig_mdev_types[] = {
	&vfmig_types[0].type,
	&vfmig_types[1].type,
};

static struct class vfmig_class = {
	.name = VFMIG_PARENT_NAME,
};

static void vfmig_parent_release(struct device *dev)
{
	/* Static device: nothing to free. */
}

static struct device vfmig_parent_dev = {
	.class = &vfmig_class,
	.release = vfmig_parent_release,
};

static struct mdev_parent vfmig_parent;

/* Called from vfio_alloc_device(); must undo its own work on failure. */
static int vfmig_init_dev(struct vfio_device *vdev)
{
	struct vfmig_dev *vd = vdev_to_vfmig(vdev);
	struct mdev_device *mdev = to_mdev_device(vdev->dev);
	struct vfmig_config cfg;
	int ret;

	vd->type = container_of(mdev->type, struct vfmig_type, type);
	mutex_init(&vd->lock);
	mutex_init(&vd->window_lock);
	vfmig_dirty_init(vd);
	vfmig_hasher_init(&vd->hasher);
	ret = vfmig_default_config(vd->type, &cfg);
	if (ret)
		goto err;
	ret = vfmig_state_alloc(vd, vd->type->state_size);
	if (ret)
		goto err;
	ret = vfmig_layout_apply(vd, &cfg);
	if (ret)
		goto err_state;
	vfmig_pci_init(vd);
	vd->dirty_rate = default_dirty_rate;
	vd->device_state = VFMIG_V1_STATE_RUNNING;
	/* The vfio core allocated it; counted so a lost reference shows. */
	vfmig_live_add(sizeof(*vd));
	return 0;

err_state:
	vfmig_state_free(vd);
err:
	mutex_destroy(&vd->window_lock);
	mutex_destroy(&vd->lock);
	return ret;
}

static void vfmig_release_dev(struct vfio_device *vdev)
{
	struct vfmig_dev *vd = vdev_to_vfmig(vdev);

	vfmig_dirty_stop_sync(vd);
	vfmig_mig_free(vd);
	/* Sessions ended at close; the worker thread goes with the device. */
	vfmig_hasher_destroy(&vd->hasher);
	vfmig_layout_free(vd);
	vfmig_state_free(vd);
	mutex_destroy(&vd->window_lock);
	mutex_destroy(&vd->lock);
	vfmig_live_sub(sizeof(*vd));
	vfmig_compat_free_vdev(vdev);
}

static int vfmig_open_device(struct vfio_device *vdev)
{
	struct vfmig_dev *vd = vdev_to_vfmig(vdev);

	mutex_lock(&vd->lock);
	vd->opened = true;
	vfmig_v2_setup(vd);
	vfmig_dirty_update(vd);
	mutex_unlock(&vd->lock);
	return 0;
}

static void vfmig_close_device(struct vfio_device *vdev)
{
	struct vfmig_dev *vd = vdev_to_vfmig(vdev);

	mutex_lock(&vd->lock);
	vd->opened = false;	/* the dirty worker sees this and stops */
	vfmig_mig_close(vd);
	mutex_unlock(&vd->lock);
	vfmig_dirty_stop_sync(vd);
}

static ssize_t vfmig_rw(struct vfmig_dev *vd, char __user *buf, size_t count,
			loff_t *ppos, bool is_write)
{
	u64 pos = *ppos;
	unsigned int index = pos >> VFMIG_REGION_SHIFT;
	u64 off = pos & (VFMIG_REGION_OFFSET(1) - 1);
	ssize_t ret;

	if (*ppos < 0 || !count)
		return -EINVAL;

	mutex_lock(&vd->lock);
	switch (index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		ret = vfmig_pci_config_rw(vd, buf, count, off, is_write);
		break;
	case VFIO_PCI_BAR0_REGION_INDEX:
		ret = vfmig_pci_bar0_rw(vd, buf, count, off, is_write);
		break;
	case VFMIG_MIGRATION_REGION_INDEX:
		ret = vfmig_has_v1(vd) ? vfmig_mig_rw(vd, buf, count, off, is_write) : -EINVAL;
		break;
	default:
		ret = -EINVAL;
		break;
	}
	mutex_unlock(&vd->lock);

	if (ret > 0)
		*ppos += ret;
	return ret;
}

static ssize_t vfmig_read(struct vfio_device *vdev, char __user *buf,
			  size_t count, loff_t *ppos)
{
	return vfmig_rw(vdev_to_vfmig(vdev), buf, count, ppos, false);
}

static ssize_t vfmig_write(struct vfio_device *vdev, const char __user *buf,
			   size_t count, loff_t *ppos)
{
	return vfmig_rw(vdev_to_vfmig(vdev), (char __user *)buf, count, ppos,
			true);
}

/*
 * Device reset: back to RUNNING with the PCI face reset and every session
 * ended; memory is kept, except that a partial resume leaves it cleared.
 */
static void vfmig_reset(struct vfmig_dev *vd)
{
	vfmig_pci_reset(vd);
	vfmig_mig_reset(vd);
}

/*
 * No device lock here: mmap runs under mmap_lock, and region reads and writes
 * take mmap_lock (page faults in copy_to_user) under the device lock.  The
 * geometry and data buffer cannot change while the device is open.
 */
static int vfmig_mmap(struct vfio_device *vdev, struct vm_area_struct *vma)
{
	return vfmig_layout_mmap(vdev_to_vfmig(vdev), vma);
}

static long vfmig_ioctl(struct vfio_device *vdev, unsigned int cmd,
			unsigned long arg)
{
	struct vfmig_dev *vd = vdev_to_vfmig(vdev);
	long ret;

	mutex_lock(&vd->lock);
	if (cmd == VFIO_DEVICE_RESET) {
		vfmig_reset(vd);
		ret = 0;
	} else {
		ret = vfmig_pci_ioctl(vd, cmd, arg);
	}
	mutex_unlock(&vd->lock);
	return ret;
}

static const struct vfio_device_ops vfmig_vfio_ops = {
	.name = "vfio-vfmig",
	.init = vfmig_init_dev,
	.release = vfmig_release_dev,
	.open_device = vfmig_open_device,
	.close_device = vfmig_close_device,
	.read = vfmig_read,
	.write = vfmig_write,
	.ioctl = vfmig_ioctl,
	.mmap = vfmig_mmap,
	VFMIG_COMPAT_IOMMUFD_OPS
};

static int vfmig_probe(struct mdev_device *mdev)
{
	struct vfmig_dev *vd;
	int ret;

	vd = vfio_alloc_device(vfmig_dev, vdev, &mdev->dev, &vfmig_vfio_ops);
	if (IS_ERR(vd))
		return PTR_ERR(vd);

	/* Before registration: sysfs callbacks and user space need it. */
	dev_set_drvdata(&mdev->dev, vd);
	ret = vfio_register_emulated_iommu_dev(&vd->vdev);
	if (ret) {
		dev_set_drvdata(&mdev->dev, NULL);
		vfio_put_device(&vd->vdev);
		return ret;
	}
	return 0;
}

static void vfmig_remove(struct mdev_device *mdev)
{
	struct vfmig_dev *vd = dev_get_drvdata(&mdev->dev);

	/* Blocks until user space has closed the device. */
	vfio_unregister_group_dev(&vd->vdev);
	vfio_put_device(&vd->vdev);
}

static ssize_t vfmig_show_description(struct mdev_type *mtype, char *buf)
{
	struct vfmig_type *t = container_of(mtype, struct vfmig_type, type);

	return sysfs_emit(buf, "%s\n", t->description);
}

static struct mdev_driver vfmig_driver = {
	.device_api = VFIO_DEVICE_API_PCI_STRING,
	.driver = {
		.name = VFMIG_MODULE_NAME,
		.owner = THIS_MODULE,
		.mod_name = KBUILD_MODNAME,
		.dev_groups = vfmig_dev_groups,
	},
	.probe = vfmig_probe,
	.remove = vfmig_remove,
	.show_description = vfmig_show_description,
};

static int __init vfmig_init(void)
{
	int ret;

	if (!max_devices || default_dirty_rate > VFMIG_DIRTY_RATE_MAX)
		return -EINVAL;
	/* The mdev core counts instances for us across all types. */
	vfmig_driver.max_instances = max_devices;

	ret = mdev_register_driver(&vfmig_driver);
	if (ret)
		return ret;

	ret = class_register(&vfmig_class);
	if (ret)
		goto err_driver;

	dev_set_name(&vfmig_parent_dev, VFMIG_PARENT_NAME);
	ret = device_register(&vfmig_parent_dev);
	if (ret)
		goto err_put;

	ret = mdev_register_parent(&vfmig_parent, &vfmig_parent_dev,
				   &vfmig_driver, vfmig_mdev_types,
				   ARRAY_SIZE(vfmig_mdev_types));
	if (ret)
		goto err_device;
	return 0;

err_device:
	device_del(&vfmig_parent_dev);
err_put:
	put_device(&vfmig_parent_dev);
	class_unregister(&vfmig_class);
err_driver:
	mdev_unregister_driver(&vfmig_driver);
	return ret;
}

static void __exit vfmig_exit(void)
{
	mdev_unregister_parent(&vfmig_parent);
	device_unregister(&vfmig_parent_dev);
	class_unregister(&vfmig_class);
	mdev_unregister_driver(&vfmig_driver);
}

module_init(vfmig_init);
module_exit(vfmig_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vfmig: mediated PCI device with VFIO migration protocols v1 and v2");
MODULE_AUTHOR("vfmig developers");
MODULE_SOFTDEP("pre: mdev vfio_iommu_type1");
