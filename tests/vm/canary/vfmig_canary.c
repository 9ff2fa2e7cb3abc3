// SPDX-License-Identifier: GPL-2.0
/*
 * A module that commits, on purpose, each kind of bug the debug kernel must
 * report, so that tests/vm/debug-kernel-canary.sh can check that every one
 * of them reaches the guest's kernel log and fails the VM run.  Never load
 * it anywhere else.
 *
 * bugs=lockdep,atomic_sleep,list,ubsan,kfence,kasan picks which, in that
 * order: a KASAN or KFENCE report turns lockdep off, so lockdep goes first.
 */
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/kfence.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

static char *bugs = "";
module_param(bugs, charp, 0444);
MODULE_PARM_DESC(bugs, "comma-separated: lockdep,atomic_sleep,list,ubsan,kfence,kasan");

static DEFINE_MUTEX(canary_a);
static DEFINE_MUTEX(canary_b);
static DEFINE_SPINLOCK(canary_lock);

/* Both orders of two mutexes, one after the other: no deadlock, a report. */
static void canary_lockdep(void)
{
	mutex_lock(&canary_a);
	mutex_lock(&canary_b);
	mutex_unlock(&canary_b);
	mutex_unlock(&canary_a);
	mutex_lock(&canary_b);
	mutex_lock(&canary_a);
	mutex_unlock(&canary_a);
	mutex_unlock(&canary_b);
}

static void canary_atomic_sleep(void)
{
	spin_lock(&canary_lock);
	might_sleep();
	spin_unlock(&canary_lock);
}

/* DEBUG_LIST refuses the second add of the same entry and reports it. */
static void canary_list(void)
{
	static LIST_HEAD(head);
	static struct list_head entry;

	list_add(&entry, &head);
	list_add(&entry, &head);
	list_del_init(&entry);
}

static void canary_ubsan(void)
{
	unsigned int shift = 40;
	u32 v;

	OPTIMIZER_HIDE_VAR(shift);
	v = 1U << shift;
	pr_info("vfmig_canary: shifted %u\n", v);
}

/* Allocate until KFENCE samples one of ours, then read it after the free. */
static void canary_kfence(void)
{
	unsigned long end = jiffies + 30 * HZ;
	char *p;

	while (time_before(jiffies, end)) {
		p = kmalloc(32, GFP_KERNEL);
		if (!p)
			return;
		if (is_kfence_address(p)) {
			kfree(p);
			OPTIMIZER_HIDE_VAR(p);
			pr_info("vfmig_canary: read %d after free\n", READ_ONCE(p[0]));
			return;
		}
		kfree(p);
		cond_resched();
	}
	pr_err("vfmig_canary: KFENCE sampled no allocation in 30 s\n");
}

/*
 * A KFENCE-sampled object has no KASAN redzone: a read past its end meets
 * KFENCE's canary bytes (0xaa ^ the address's low bits) unreported, and
 * the KFENCE canary just before may leave sampling armed.  So skip such
 * objects, holding them until the end so that the next one is another.
 */
static void canary_kasan(void)
{
	char *sampled[8], *p = NULL;
	unsigned int k = 0;
	size_t n = 16;

	while (k < ARRAY_SIZE(sampled)) {
		p = kmalloc(n, GFP_KERNEL);
		if (!p || !is_kfence_address(p))
			break;
		sampled[k++] = p;
		p = NULL;
	}
	while (k)
		kfree(sampled[--k]);
	if (!p) {
		pr_err("vfmig_canary: no allocation outside KFENCE\n");
		return;
	}
	OPTIMIZER_HIDE_VAR(n);
	pr_info("vfmig_canary: read %d past the end\n", READ_ONCE(p[n]));
	kfree(p);
}

static const struct {
	const char *name;
	void (*fn)(void);
} canary_bugs[] = {
	{ "lockdep", canary_lockdep },
	{ "atomic_sleep", canary_atomic_sleep },
	{ "list", canary_list },
	{ "ubsan", canary_ubsan },
	{ "kfence", canary_kfence },
	{ "kasan", canary_kasan },
};

static bool canary_wanted(const char *name)
{
	size_t len = strlen(name);
	const char *s = bugs;

	while (s && *s) {
		if (!strncmp(s, name, len) && (s[len] == ',' || !s[len]))
			return true;
		s = strchr(s, ',');
		if (s)
			s++;
	}
	return false;
}

static int __init canary_init(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(canary_bugs); i++) {
		if (!canary_wanted(canary_bugs[i].name))
			continue;
		pr_info("vfmig_canary: %s\n", canary_bugs[i].name);
		canary_bugs[i].fn();
	}
	return 0;
}

static void __exit canary_exit(void)
{
}

module_init(canary_init);
module_exit(canary_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Commits known bugs so that the debug kernel's reports can be checked");
