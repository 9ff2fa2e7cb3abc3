// SPDX-License-Identifier: GPL-2.0
/*
 * vfmig PCI face: a conventional PCI endpoint with a 256-byte config space
 * (no capabilities, no interrupt pin, no ROM) and one 4 KiB MMIO BAR whose
 * registers reflect the device state.  Kept minimal but correct, so QEMU's
 * vfio-pci realizes it without quirks or warnings.
 */
#include <linux/pci_regs.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>

#include "vfmig.h"

/* Bits of each config byte the guest may change; everything else is RO. */
static u8 vfmig_config_wmask[VFMIG_PCI_CONFIG_SIZE];

static void vfmig_put_le16(u8 *p, u16 v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void vfmig_put_le32(u8 *p, u32 v)
{
	vfmig_put_le16(p, v);
	vfmig_put_le16(p + 2, v >> 16);
}

void vfmig_pci_init(struct vfmig_dev *vd)
{
	u8 *c = vd->config;

	memset(c, 0, VFMIG_PCI_CONFIG_SIZE);
	vfmig_put_le16(c + PCI_VENDOR_ID, VFMIG_PCI_VENDOR_ID);
	vfmig_put_le16(c + PCI_DEVICE_ID, VFMIG_PCI_DEVICE_ID);
	c[PCI_REVISION_ID] = VFMIG_PCI_REVISION;
	c[PCI_CLASS_PROG] = VFMIG_PCI_CLASS & 0xff;
	vfmig_put_le16(c + PCI_CLASS_DEVICE, VFMIG_PCI_CLASS >> 8);
	c[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL;
	/* BAR0: 32-bit, non-prefetchable memory; type bits are all zero. */
	vfmig_put_le32(c + PCI_BASE_ADDRESS_0, PCI_BASE_ADDRESS_SPACE_MEMORY);
	vfmig_put_le16(c + PCI_SUBSYSTEM_VENDOR_ID, VFMIG_PCI_SUBSYS_VENDOR);
	vfmig_put_le16(c + PCI_SUBSYSTEM_ID, VFMIG_PCI_SUBSYS_ID);

	/* The write mask is the same for every device; compute it once. */
	if (!vfmig_config_wmask[PCI_COMMAND]) {
		u32 bar_mask = ~(u32)(VFMIG_BAR0_SIZE - 1);

		vfmig_put_le16(vfmig_config_wmask + PCI_COMMAND,
			       PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			       PCI_COMMAND_INTX_DISABLE);
		vfmig_put_le32(vfmig_config_wmask + PCI_BASE_ADDRESS_0,
			       bar_mask);
		vfmig_config_wmask[PCI_INTERRUPT_LINE] = 0xff;
	}
}

/* Function-level reset of the PCI face: command register and BAR back to 0. */
void vfmig_pci_reset(struct vfmig_dev *vd)
{
	vfmig_put_le16(vd->config + PCI_COMMAND, 0);
	vfmig_put_le32(vd->config + PCI_BASE_ADDRESS_0,
		       PCI_BASE_ADDRESS_SPACE_MEMORY);
	vd->config[PCI_INTERRUPT_LINE] = 0;
	vd->regs.scratch = 0;
}

/* Config space: any size and offset inside the 256 bytes (QEMU reads it whole). */
ssize_t vfmig_pci_config_rw(struct vfmig_dev *vd, char __user *ubuf,
			    size_t count, u64 off, bool is_write)
{
	u8 buf[VFMIG_PCI_CONFIG_SIZE];
	size_t i;

	if (off >= VFMIG_PCI_CONFIG_SIZE || count > VFMIG_PCI_CONFIG_SIZE - off)
		return -EINVAL;

	if (!is_write)
		return copy_to_user(ubuf, vd->config + off, count) ?
			-EFAULT : count;

	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	for (i = 0; i < count; i++) {
		u8 m = vfmig_config_wmask[off + i];
		u8 *b = &vd->config[off + i];

		*b = (*b & ~m) | (buf[i] & m);
	}
	return count;
}

static u32 vfmig_bar0_read32(struct vfmig_dev *vd, u32 reg)
{
	switch (reg) {
	case VFMIG_REG_MAGIC:
		return VFMIG_BAR0_MAGIC;
	case VFMIG_REG_VERSION:
		return VFMIG_ABI_VERSION;
	case VFMIG_REG_STATE_SIZE_LO:
		return lower_32_bits(vd->mem_size);
	case VFMIG_REG_STATE_SIZE_HI:
		return upper_32_bits(vd->mem_size);
	case VFMIG_REG_GENERATION_LO:
		return lower_32_bits(vd->regs.generation);
	case VFMIG_REG_GENERATION_HI:
		return upper_32_bits(vd->regs.generation);
	case VFMIG_REG_SEED_LO:
		return lower_32_bits(vd->regs.seed);
	case VFMIG_REG_SEED_HI:
		return upper_32_bits(vd->regs.seed);
	case VFMIG_REG_SCRATCH:
		return vd->regs.scratch;
	case VFMIG_REG_DEVICE_STATE:
		return vd->device_state;
	default:
		return 0;
	}
}

/*
 * BAR0: naturally aligned 1, 2, 4 or 8-byte accesses, like a real MMIO BAR.
 * Only SCRATCH is writable; writes elsewhere are dropped as hardware would.
 */
ssize_t vfmig_pci_bar0_rw(struct vfmig_dev *vd, char __user *ubuf,
			  size_t count, u64 off, bool is_write)
{
	u8 buf[8];
	size_t i;

	if ((count != 1 && count != 2 && count != 4 && count != 8) ||
	    off & (count - 1) || off >= VFMIG_BAR0_SIZE)
		return -EINVAL;

	if (is_write) {
		if (copy_from_user(buf, ubuf, count))
			return -EFAULT;
		for (i = 0; i < count; i++) {
			u64 a = off + i;

			if (a >= VFMIG_REG_SCRATCH && a < VFMIG_REG_SCRATCH + 4) {
				unsigned int sh = (a - VFMIG_REG_SCRATCH) * 8;

				vd->regs.scratch &= ~(0xffU << sh);
				vd->regs.scratch |= (u32)buf[i] << sh;
			}
		}
		return count;
	}

	for (i = 0; i < count; i++) {
		u64 a = off + i;

		buf[i] = vfmig_bar0_read32(vd, a & ~3ULL) >> ((a & 3) * 8);
	}
	return copy_to_user(ubuf, buf, count) ? -EFAULT : count;
}

static long vfmig_get_device_info(struct vfmig_dev *vd, void __user *uarg)
{
	unsigned long minsz = offsetofend(struct vfio_device_info, num_irqs);
	struct vfio_device_info info;

	if (copy_from_user(&info, uarg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;

	info.flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
	/* Without v1 the migration region (the last index) is not offered. */
	info.num_regions = vfmig_has_v1(vd) ? VFMIG_NUM_REGIONS : VFIO_PCI_NUM_REGIONS;
	info.num_irqs = VFIO_PCI_NUM_IRQS;
	return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
}

/* Region info for the standard PCI indexes; the migration region is in layout.c. */
static long vfmig_get_pci_region_info(struct vfio_region_info *info)
{
	info->offset = VFMIG_REGION_OFFSET(info->index);
	info->cap_offset = 0;
	switch (info->index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		info->size = VFMIG_PCI_CONFIG_SIZE;
		info->flags = VFIO_REGION_INFO_FLAG_READ |
			      VFIO_REGION_INFO_FLAG_WRITE;
		break;
	case VFIO_PCI_BAR0_REGION_INDEX:
		info->size = VFMIG_BAR0_SIZE;
		info->flags = VFIO_REGION_INFO_FLAG_READ |
			      VFIO_REGION_INFO_FLAG_WRITE;
		break;
	default:
		/* BAR1-5, ROM and VGA are not implemented: size 0. */
		info->size = 0;
		info->flags = 0;
		break;
	}
	return 0;
}

static long vfmig_get_irq_info(void __user *uarg)
{
	unsigned long minsz = offsetofend(struct vfio_irq_info, count);
	struct vfio_irq_info info;

	if (copy_from_user(&info, uarg, minsz))
		return -EFAULT;
	if (info.argsz < minsz || info.index >= VFIO_PCI_NUM_IRQS)
		return -EINVAL;
	/* No AER: saying so keeps QEMU from trying to wire an error eventfd. */
	if (info.index == VFIO_PCI_ERR_IRQ_INDEX)
		return -EINVAL;

	/* The device raises no interrupts: every index has zero vectors. */
	info.flags = 0;
	info.count = 0;
	return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
}

long vfmig_pci_ioctl(struct vfmig_dev *vd, unsigned int cmd,
		     unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case VFIO_DEVICE_GET_INFO:
		return vfmig_get_device_info(vd, uarg);
	case VFIO_DEVICE_GET_REGION_INFO: {
		unsigned long minsz = offsetofend(struct vfio_region_info,
						  offset);
		struct vfio_region_info info;
		long ret;

		if (copy_from_user(&info, uarg, minsz))
			return -EFAULT;
		if (info.argsz < minsz || info.index >= VFMIG_NUM_REGIONS ||
		    (info.index == VFMIG_MIGRATION_REGION_INDEX && !vfmig_has_v1(vd)))
			return -EINVAL;
		if (info.index == VFMIG_MIGRATION_REGION_INDEX)
			return vfmig_layout_region_info(vd, &info, uarg);
		ret = vfmig_get_pci_region_info(&info);
		if (ret)
			return ret;
		return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
	}
	case VFIO_DEVICE_GET_IRQ_INFO:
		return vfmig_get_irq_info(uarg);
	case VFIO_DEVICE_SET_IRQS:
		/* Nothing to trigger, mask or unmask: no index has vectors. */
		return -EINVAL;
	default:
		return -ENOTTY;
	}
}
