// SPDX-License-Identifier: GPL-2.0
/*
 * vfmig fill: what a seed write puts in device memory (sysfs "fill").
 *
 *	random		every u64 a function of (seed, its index)
 *	zero		every page zero
 *	zero:P		P% of pages zero, the rest as random; which ones is a
 *			function of (seed, page index), so reproducible
 *	pattern:0xHEX	every u64 the pattern (compressible, never sent as zero
 *			unless the pattern is 0)
 *
 * The dirty generator asks vfmig_fill_page_zero() so that a page the fill
 * chose to be zero stays zero when dirtied.
 */
#include <linux/bitops.h>
#include <linux/ctype.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "vfmig.h"

/* Picks zero pages; differs from the data's so the two do not correlate. */
#define VFMIG_FILL_ZERO_SALT	0x7a65726f70616765ULL

/* splitmix64: a cheap, well-mixed function of (seed, index). */
static u64 vfmig_mix(u64 x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

bool vfmig_fill_page_zero(const struct vfmig_fill *f, u64 seed, u64 page)
{
	switch (f->kind) {
	case VFMIG_FILL_ZERO:
		return true;
	case VFMIG_FILL_ZERO_PCT:
		return vfmig_mix(seed ^ VFMIG_FILL_ZERO_SALT ^ (page * 0x100000001b3ULL)) % 100 <
		       f->pct;
	default:
		return false;
	}
}

/*
 * Fill [offset, offset + len) of memory from @seed as vd->fill says; the
 * whole memory filled piece by piece equals one fill.  @offset is page
 * aligned; the caller bounds @len so the device lock is never held long.
 */
void vfmig_state_fill(struct vfmig_dev *vd, u64 seed, u64 offset, u64 len)
{
	const u64 words = PAGE_SIZE / sizeof(u64);
	u64 page = offset >> PAGE_SHIFT;
	u64 end = min(offset + len, vd->mem_size) >> PAGE_SHIFT;

	for (; page < end; page++) {
		u64 *p = (u64 *)((u8 *)vd->mem + (page << PAGE_SHIFT));
		u64 i;

		if (vfmig_fill_page_zero(&vd->fill, seed, page)) {
			memset(p, 0, PAGE_SIZE);
			__set_bit(page, vd->zero_map);
			goto next;
		}
		/* Not zero, whatever the pattern (0 too: it is not worth a case). */
		__clear_bit(page, vd->zero_map);
		if (vd->fill.kind == VFMIG_FILL_PATTERN) {
			for (i = 0; i < words; i++)
				p[i] = vd->fill.pattern;
		} else {
			/* The index in all of memory: a random fill as it always was. */
			for (i = 0; i < words; i++)
				p[i] = vfmig_mix(seed ^ ((page * words + i) * 0x100000001b3ULL));
		}
next:
		if (!(page & 127))
			cond_resched();
	}
}

/* "0x" then 1 to 16 hex digits (and the newline sysfs may pass). */
static int vfmig_parse_hex64(const char *s, u64 *v, unsigned int *digits)
{
	size_t n;

	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return -EINVAL;
	s += 2;
	for (n = 0; isxdigit(s[n]); n++)
		;
	if (!n || (s[n] && strcmp(s + n, "\n")))
		return -EINVAL;
	if (n > 16)
		return -ERANGE;
	*digits = n;
	return kstrtou64(s, 16, v);
}

/* "zero:" then a decimal 0..100 */
static int vfmig_parse_pct(const char *s, unsigned int *pct)
{
	int ret;

	if (!isdigit(s[0]))
		return -EINVAL;
	ret = kstrtouint(s, 10, pct);
	if (ret)
		return ret;
	return *pct > 100 ? -EINVAL : 0;
}

int vfmig_fill_parse(const char *buf, struct vfmig_fill *f)
{
	struct vfmig_fill n = { 0 };
	u64 pattern;
	int ret = 0;

	if (sysfs_streq(buf, "random")) {
		n.kind = VFMIG_FILL_RANDOM;
	} else if (sysfs_streq(buf, "zero")) {
		n.kind = VFMIG_FILL_ZERO;
	} else if (str_has_prefix(buf, "zero:")) {
		n.kind = VFMIG_FILL_ZERO_PCT;
		ret = vfmig_parse_pct(buf + strlen("zero:"), &n.pct);
	} else if (str_has_prefix(buf, "pattern:")) {
		n.kind = VFMIG_FILL_PATTERN;
		ret = vfmig_parse_hex64(buf + strlen("pattern:"), &pattern, &n.digits);
		/* Stored as memory holds it: the same bytes on any host. */
		if (!ret)
			n.pattern = (__force u64)cpu_to_le64(pattern);
	} else {
		ret = -EINVAL;
	}
	if (!ret)
		*f = n;
	return ret;
}

ssize_t vfmig_fill_show(const struct vfmig_fill *f, char *buf)
{
	switch (f->kind) {
	case VFMIG_FILL_ZERO:
		return sysfs_emit(buf, "zero\n");
	case VFMIG_FILL_ZERO_PCT:
		return sysfs_emit(buf, "zero:%u\n", f->pct);
	case VFMIG_FILL_PATTERN:
		/* As written, leading zeros included (in lower case). */
		return sysfs_emit(buf, "pattern:0x%0*llx\n", f->digits,
				  le64_to_cpu((__force __le64)f->pattern));
	default:
		return sysfs_emit(buf, "random\n");
	}
}
