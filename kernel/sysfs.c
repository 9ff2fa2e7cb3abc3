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

/*
 * u64 members: read under the lock; stores are bounded by @max and also
 * restart the dirty worker.
 */
static ssize_t vfmig_u64_store(struct device *dev, const char *buf, size_t count,
			       size_t field, u64 max)
{
	struct vfmig_dev *vd = dev_to_vfmig(dev);
	u64 v;
	int ret;

	ret = kstrtou64(buf, 0, &v);
	if (ret)
		return ret;
	if (v > max)
		return -EINVAL;
	mutex_lock(&vd->lock);
	*(u64 *)((u8 *)vd + field) = v;
	vfmig_dirty_update(vd);
	mutex_unlock(&vd->lock);
	return count;
}

static ssize_t vfmig_u64_show(struct device *dev, char *buf, size_t field)
{
	struct vfmig_dev *vd = dev_to_vfmig(dev);
	u64 v;

	mutex_lock(&vd->lock);
	v = *(u64 *)((u8 *)vd + field);
	mutex_unlock(&vd->lock);
	return sysfs_emit(buf, "%llu\n", v);
}

#define VFMIG_U64_ATTR_RW(name, member, max)					\
static const size_t name##_field = offsetof(struct vfmig_dev, member);		\
static ssize_t name##_show(struct device *dev, struct device_attribute *attr,	\
			   char *buf)						\
{										\
	return vfmig_u64_show(dev, buf, name##_field);				\
}										\
static ssize_t name##_store(struct device *dev, struct device_attribute *attr,	\
			    const char *buf, size_t count)			\
{										\
	return vfmig_u64_store(dev, buf, count, name##_field, max);		\
}										\
static DEVICE_ATTR_RW(name)

/* A bool knob of any state (kstrtobool() values), read and set under the lock. */
static ssize_t vfmig_bool_show(struct device *dev, char *buf, size_t field)
{
	struct vfmig_dev *vd = dev_to_vfmig(dev);
	bool on;

	mutex_lock(&vd->lock);
	on = *(bool *)((u8 *)vd + field);
	mutex_unlock(&vd->lock);
	return sysfs_emit(buf, "%d\n", on);
}

static ssize_t vfmig_bool_store(struct device *dev, const char *buf, size_t count,
				size_t field)
{
	struct vfmig_dev *vd = dev_to_vfmig(dev);
	bool on;
	int ret;

	ret = kstrtobool(buf, &on);
	if (ret)
		return ret;
	mutex_lock(&vd->lock);
	*(bool *)((u8 *)vd + field) = on;
	mutex_unlock(&vd->lock);
	return count;
}

#define VFMIG_BOOL_ATTR_RW(name, member)					\
static const size_t name##_field = offsetof(struct vfmig_dev, member);		\
static ssize_t name##_show(struct device *dev, struct device_attribute *attr,	\
			   char *buf)						\
{										\
	return vfmig_bool_show(dev, buf, name##_field);				\
}										\
static ssize_t name##_store(struct device *dev, struct device_attribute *attr,	\
			    const char *buf, size_t count)			\
{										\
	return vfmig_bool_store(dev, buf, count, name##_field);			\
}										\
static DEVICE_ATTR_RW(name)

#define VFMIG_U64_ATTR_RO(name, member)						\
static ssize_t name##_show(struct device *dev, struct device_attribute *attr,	\
			   char *buf)						\
{										\
	return vfmig_u64_show(dev, buf, offsetof(struct vfmig_dev, member));	\
}										\
static DEVICE_ATTR_RO(name)

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
	return vfmig_u64_show(dev, buf, offsetof(struct vfmig_dev, regs.seed));
}

/*
 * Writing a seed fills the whole state deterministically, VFMIG_FILL_STEP
 * at a time with the lock dropped in between, so a 1 GiB fill never holds
 * the device for long.  While it runs, vd->filling refuses another seed,
 * a resize and any device_state write; a running save resends each step.
 */
static ssize_t seed_store(struct device *dev, struct device_attribute *attr,
			  const char *buf, size_t count)
{
	struct vfmig_dev *vd = dev_to_vfmig(dev);
	u64 seed, done;
	int ret;

	ret = kstrtou64(buf, 0, &seed);
	if (ret)
		return ret;
	mutex_lock(&vd->lock);
	/*
	 * A stopped device in stop-and-copy, or one being resumed (or in the
	 * error state, which has the RESUMING bit), must not change: the
	 * stream would no longer describe it.
	 */
	if (vd->filling || (vd->save.active && !(vd->device_state & VFMIG_V1_STATE_RUNNING)) ||
	    (vd->device_state & VFMIG_V1_STATE_RESUMING)) {
		mutex_unlock(&vd->lock);
		return -EBUSY;
	}
	vd->filling = true;
	/* Memory is being replaced from here: a reset meanwhile must not clear it. */
	vd->resume_held = false;
	for (done = 0; done < vd->mem_size; done += VFMIG_FILL_STEP) {
		vfmig_state_fill(vd, seed, done, VFMIG_FILL_STEP);
		vfmig_dirty_mark_range(vd, done >> PAGE_SHIFT, VFMIG_FILL_STEP >> PAGE_SHIFT);
		mutex_unlock(&vd->lock);
		cond_resched();
		mutex_lock(&vd->lock);
	}
	vfmig_state_set_seed(vd, seed);
	vd->filling = false;
	vfmig_datafile_wake(vd);	/* a pre-copy poller has pages to resend */
	mutex_unlock(&vd->lock);
	return count;
}
static DEVICE_ATTR_RW(seed);

static ssize_t fill_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct vfmig_dev *vd = dev_to_vfmig(dev);
	struct vfmig_fill f;

	mutex_lock(&vd->lock);
	f = vd->fill;
	mutex_unlock(&vd->lock);
	return vfmig_fill_show(&f, buf);
}

/*
 * What the next seed write fills memory with.  Only while closed and no
 * fill runs (EBUSY before EINVAL, as the data section knobs answer): a
 * save or resume never sees it change under it, nor does the dirty
 * generator, which keeps the fill's zero pages zero.
 */
static ssize_t fill_store(struct device *dev, struct device_attribute *attr,
			  const char *buf, size_t count)
{
	struct vfmig_dev *vd = dev_to_vfmig(dev);
	struct vfmig_fill f;
	int ret;

	mutex_lock(&vd->lock);
	if (vd->opened || vd->filling || vd->save.active || vd->resume.active)
		ret = -EBUSY;
	else
		ret = vfmig_fill_parse(buf, &f);
	if (!ret)
		vd->fill = f;
	mutex_unlock(&vd->lock);
	return ret ? ret : count;
}
static DEVICE_ATTR_RW(fill);

static ssize_t state_size_show(struct device *dev, struct device_attribute *attr,
			       char *buf)
{
	return vfmig_u64_show(dev, buf, offsetof(struct vfmig_dev, mem_size));
}

/*
 * Resizing replaces the memory and registers (zeroed: a fresh device);
 * refused while the device is open.  No session outlives close.
 */
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
	if (vd->opened || vd->filling || vd->hashing)
		ret = -EBUSY;
	else
		ret = vfmig_state_alloc(vd, size);
	if (!ret)
		vd->resume_held = false;
	mutex_unlock(&vd->lock);
	return ret ? ret : count;
}
static DEVICE_ATTR_RW(state_size);

/* 1 while memory holds a verified resume that never ran (its source's state). */
static ssize_t resume_held_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct vfmig_dev *vd = dev_to_vfmig(dev);
	bool held;

	mutex_lock(&vd->lock);
	held = vd->resume_held;
	mutex_unlock(&vd->lock);
	return sysfs_emit(buf, "%d\n", held);
}
static DEVICE_ATTR_RO(resume_held);

VFMIG_U64_ATTR_RO(generation, regs.generation);

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

/* Data section configuration: applied as a whole, refused while open. */
static ssize_t vfmig_config_store(struct device *dev, const char *buf, size_t count,
				  int (*edit)(struct vfmig_config *cfg, const char *buf))
{
	struct vfmig_dev *vd = dev_to_vfmig(dev);
	struct vfmig_config cfg;
	int ret;

	mutex_lock(&vd->lock);
	cfg = vd->cfg;
	ret = vd->opened ? -EBUSY : edit(&cfg, buf);
	if (!ret)
		ret = vfmig_layout_apply(vd, &cfg);
	mutex_unlock(&vd->lock);
	return ret ? ret : count;
}

static int edit_data_size(struct vfmig_config *cfg, const char *buf)
{
	return kstrtou64(buf, 0, &cfg->data_size);
}

static int edit_layout(struct vfmig_config *cfg, const char *buf)
{
	return vfmig_layout_parse(buf, &cfg->layout, &cfg->nr_areas);
}

static int edit_policy(struct vfmig_config *cfg, const char *buf)
{
	return vfmig_policy_parse(buf, &cfg->policy);
}

static int edit_window(struct vfmig_config *cfg, const char *buf)
{
	return vfmig_window_parse(buf, &cfg->window);
}

static ssize_t data_size_show(struct device *dev, struct device_attribute *attr,
			      char *buf)
{
	struct vfmig_dev *vd = dev_to_vfmig(dev);
	u64 v;

	mutex_lock(&vd->lock);
	v = vd->cfg.data_size;
	mutex_unlock(&vd->lock);
	return sysfs_emit(buf, "%llu\n", v);
}

static ssize_t data_size_store(struct device *dev, struct device_attribute *attr,
			       const char *buf, size_t count)
{
	return vfmig_config_store(dev, buf, count, edit_data_size);
}
static DEVICE_ATTR_RW(data_size);

static ssize_t mmap_layout_show(struct device *dev, struct device_attribute *attr,
				char *buf)
{
	struct vfmig_dev *vd = dev_to_vfmig(dev);
	ssize_t n;

	mutex_lock(&vd->lock);
	if (vd->cfg.layout == VFMIG_LAYOUT_SPARSE)
		n = sysfs_emit(buf, "sparse:%u\n", vd->cfg.nr_areas);
	else
		n = sysfs_emit(buf, "%s\n", vfmig_layout_name(vd->cfg.layout));
	mutex_unlock(&vd->lock);
	return n;
}

static ssize_t mmap_layout_store(struct device *dev, struct device_attribute *attr,
				 const char *buf, size_t count)
{
	return vfmig_config_store(dev, buf, count, edit_layout);
}
static DEVICE_ATTR_RW(mmap_layout);

static ssize_t data_offset_policy_show(struct device *dev,
				       struct device_attribute *attr, char *buf)
{
	struct vfmig_dev *vd = dev_to_vfmig(dev);
	enum vfmig_policy p;

	mutex_lock(&vd->lock);
	p = vd->cfg.policy;
	mutex_unlock(&vd->lock);
	return sysfs_emit(buf, "%s\n", vfmig_policy_name(p));
}

static ssize_t data_offset_policy_store(struct device *dev,
					struct device_attribute *attr,
					const char *buf, size_t count)
{
	return vfmig_config_store(dev, buf, count, edit_policy);
}
static DEVICE_ATTR_RW(data_offset_policy);

static ssize_t data_window_show(struct device *dev, struct device_attribute *attr,
				char *buf)
{
	struct vfmig_dev *vd = dev_to_vfmig(dev);
	enum vfmig_data_window w;

	mutex_lock(&vd->lock);
	w = vd->cfg.window;
	mutex_unlock(&vd->lock);
	return sysfs_emit(buf, "%s\n", vfmig_window_name(w));
}

/* "staged" or "direct": where data_offset may point (window.c). */
static ssize_t data_window_store(struct device *dev, struct device_attribute *attr,
				 const char *buf, size_t count)
{
	return vfmig_config_store(dev, buf, count, edit_window);
}
static DEVICE_ATTR_RW(data_window);

VFMIG_U64_ATTR_RW(dirty_rate, dirty_rate, VFMIG_DIRTY_RATE_MAX);
VFMIG_U64_ATTR_RW(dirty_working_set, dirty_working_set, U64_MAX);
VFMIG_U64_ATTR_RO(stat_bytes_dirtied, stats.bytes_dirtied);
VFMIG_U64_ATTR_RO(stat_bytes_saved, stats.bytes_saved);
VFMIG_U64_ATTR_RO(stat_bytes_restored, stats.bytes_restored);
VFMIG_U64_ATTR_RO(stat_chunks_saved, stats.chunks_saved);
VFMIG_U64_ATTR_RO(stat_chunks_restored, stats.chunks_restored);
VFMIG_U64_ATTR_RO(stat_bytes_lent, stats.bytes_lent);
VFMIG_U64_ATTR_RO(stat_iterations, stats.iterations);
VFMIG_U64_ATTR_RO(stat_hash_spans, hasher.queued);
VFMIG_U64_ATTR_RO(stat_chunk_copies, hasher.copies);

static const char *const fault_names[] = {
	[VFMIG_FAULT_NONE] = "none",
	[VFMIG_FAULT_TRANSITION] = "transition",
	[VFMIG_FAULT_SAVE_CHUNK] = "save_chunk",
	[VFMIG_FAULT_SHORT_CHUNK] = "short_chunk",
	[VFMIG_FAULT_RESUME_CHUNK] = "resume_chunk",
	[VFMIG_FAULT_SLOW_WORKER] = "slow_worker",
};

static ssize_t fault_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct vfmig_dev *vd = dev_to_vfmig(dev);
	enum vfmig_fault f;

	mutex_lock(&vd->lock);
	f = vd->fault;
	mutex_unlock(&vd->lock);
	return sysfs_emit(buf, "%s\n", fault_names[f]);
}

/* Arm a one-shot fault, or "error" to enter the error state right away. */
static ssize_t fault_store(struct device *dev, struct device_attribute *attr,
			   const char *buf, size_t count)
{
	struct vfmig_dev *vd = dev_to_vfmig(dev);
	int f = sysfs_match_string(fault_names, buf);

	mutex_lock(&vd->lock);
	if (f >= 0)
		vd->fault = f;
	else if (sysfs_streq(buf, "error"))
		vfmig_mig_enter_error(vd);
	else
		count = -EINVAL;
	mutex_unlock(&vd->lock);
	return count;
}
static DEVICE_ATTR_RW(fault);

static const char *const protocol_names[] = {
	[VFMIG_PROTO_V1] = "v1",
	[VFMIG_PROTO_V2] = "v2",
	[VFMIG_PROTO_BOTH] = "both",
};

static ssize_t protocol_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	struct vfmig_dev *vd = dev_to_vfmig(dev);
	enum vfmig_protocol p;

	mutex_lock(&vd->lock);
	p = vd->protocol;
	mutex_unlock(&vd->lock);
	return sysfs_emit(buf, "%s\n", protocol_names[p]);
}

/*
 * Which migration protocols the device offers: the v1 region, the v2
 * feature or both.  Like the layout knobs, only while closed: what the
 * device offers is fixed for as long as user space holds it open.
 */
static ssize_t protocol_store(struct device *dev, struct device_attribute *attr,
			      const char *buf, size_t count)
{
	struct vfmig_dev *vd = dev_to_vfmig(dev);
	int p = sysfs_match_string(protocol_names, buf);

	/* EBUSY before EINVAL, as the data section knobs answer. */
	mutex_lock(&vd->lock);
	if (vd->opened)
		count = -EBUSY;
	else if (p < 0)
		count = -EINVAL;
	else
		vd->protocol = p;
	mutex_unlock(&vd->lock);
	return count;
}
static DEVICE_ATTR_RW(protocol);

/*
 * hash_offload: 1 takes the page hashes of the sessions that start from
 * now on off the data path, onto the device's worker (hasher.c); 0, the
 * default, keeps them in the thread that moves the bytes.  Any state: a
 * running session keeps the way it started with.
 */
VFMIG_BOOL_ATTR_RW(hash_offload, hash_offload);

/*
 * chunk_offload: 1 lets the v1 sessions that start from now on copy their
 * chunks between the data section and device memory on the device's
 * worker, a chunk ahead of user space, with the page hashes on it too
 * (migration.c); where it cannot apply (v2, a direct window, a data
 * section of one page) sessions run as without it.  0, the default, keeps
 * every copy in the thread that asks for it.  Any state, as hash_offload.
 */
VFMIG_BOOL_ATTR_RW(chunk_offload, chunk_offload);

/* What a save still has to hand out: the v1 pending_bytes, without a VFIO fd. */
static ssize_t pending_bytes_show(struct device *dev, struct device_attribute *attr,
				  char *buf)
{
	struct vfmig_dev *vd = dev_to_vfmig(dev);
	u64 v;

	mutex_lock(&vd->lock);
	v = vd->save.active ? vfmig_payload_pending(vd) : 0;
	mutex_unlock(&vd->lock);
	return sysfs_emit(buf, "%llu\n", v);
}
static DEVICE_ATTR_RO(pending_bytes);

static struct attribute *vfmig_dev_attrs[] = {
	&dev_attr_data_size.attr,
	&dev_attr_mmap_layout.attr,
	&dev_attr_data_offset_policy.attr,
	&dev_attr_data_window.attr,
	&dev_attr_dirty_rate.attr,
	&dev_attr_dirty_working_set.attr,
	&dev_attr_stat_bytes_dirtied.attr,
	&dev_attr_stat_bytes_saved.attr,
	&dev_attr_stat_bytes_restored.attr,
	&dev_attr_stat_chunks_saved.attr,
	&dev_attr_stat_chunks_restored.attr,
	&dev_attr_stat_bytes_lent.attr,
	&dev_attr_resume_held.attr,
	&dev_attr_stat_iterations.attr,
	&dev_attr_stat_hash_spans.attr,
	&dev_attr_stat_chunk_copies.attr,
	&dev_attr_fault.attr,
	&dev_attr_checksum.attr,
	&dev_attr_seed.attr,
	&dev_attr_fill.attr,
	&dev_attr_state_size.attr,
	&dev_attr_generation.attr,
	&dev_attr_device_state.attr,
	&dev_attr_pending_bytes.attr,
	&dev_attr_protocol.attr,
	&dev_attr_hash_offload.attr,
	&dev_attr_chunk_offload.attr,
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
