/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A copy callback for vfmig_payload_feed_from() (kernel/payload_fmt.h)
 * whose source runs dry after a budget of bytes, as a user buffer that
 * faults part way: the payload fuzz target and the unit tests cut feeds
 * short with it.
 */
#ifndef VFMIG_SHORT_SRC_H
#define VFMIG_SHORT_SRC_H

#include <string.h>

#include "payload_fmt.h"

struct short_src {
	const u8 *p;
	u64 budget;
};

static inline u64 copy_short(u8 *dst, u64 n, void *src)
{
	struct short_src *s = src;

	n = n < s->budget ? n : s->budget;
	memcpy(dst, s->p, n);
	s->p += n;
	s->budget -= n;
	return n;
}

#endif /* VFMIG_SHORT_SRC_H */
