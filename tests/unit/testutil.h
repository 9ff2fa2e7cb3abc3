/* SPDX-License-Identifier: GPL-2.0 */
/* Small helpers shared by the unit tests (header-only). */
#ifndef VFMIG_TESTUTIL_H
#define VFMIG_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "convergence.h"

/* An anonymous in-memory file holding a stream. */
static inline int tu_memfd(void)
{
	int fd = memfd_create("vfmig-test", 0);

	assert_true(fd >= 0);
	return fd;
}

static inline int tu_memfd_with(const void *buf, size_t len)
{
	int fd = tu_memfd();

	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* Whole content of fd (rewinds first); caller frees. */
static inline uint8_t *tu_slurp(int fd, size_t *len)
{
	off_t size = lseek(fd, 0, SEEK_END);
	uint8_t *buf;

	assert_true(size >= 0);
	buf = malloc((size_t)size + 1);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, (size_t)size, 0), size);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	*len = (size_t)size;
	return buf;
}

#define assert_str_contains(hay, needle) do {					\
	const char *h_ = (hay), *n_ = (needle);					\
	if (!strstr(h_, n_))							\
		fail_msg("\"%s\" does not contain \"%s\"", h_, n_);		\
} while (0)

/* Deterministic clock: every now() advances by step, sleeps add up. */
struct tu_clock {
	uint64_t t, step, slept;
	struct vfmig_clock clock;
};

static inline uint64_t tu_clock_now(void *o)
{
	struct tu_clock *c = o;

	c->t += c->step;
	return c->t;
}

static inline void tu_clock_sleep(void *o, uint64_t ns)
{
	struct tu_clock *c = o;

	c->t += ns;
	c->slept += ns;
}

static inline void tu_clock_init(struct tu_clock *c, uint64_t step)
{
	memset(c, 0, sizeof(*c));
	c->step = step;
	c->clock.now_ns = tu_clock_now;
	c->clock.sleep_ns = tu_clock_sleep;
	c->clock.opaque = c;
}

#endif /* VFMIG_TESTUTIL_H */
