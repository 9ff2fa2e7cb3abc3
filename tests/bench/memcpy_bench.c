// SPDX-License-Identifier: GPL-2.0
/*
 * memcpy_bench [MIB [PASSES]]: the machine's own memcpy bandwidth, the
 * yardstick `make bench` compares migration throughput against.  Copies a
 * MIB MiB buffer (default 256) into another PASSES times (default 5), both
 * touched first so page faults are not timed, and prints one JSON object:
 * bytes per pass, best and median MB/s (10^6 bytes/s of data copied).
 *
 * On x86-64 it also times, best of 3 over a quarter of the buffer, the two
 * string instructions the kernel's copy routines are built on: `rep movsb`
 * (used when the CPU has ERMS) and `rep movsq` (without it).  Under TCG
 * they differ by far more than on hardware, which decides how fast the
 * device's copies and copy_to/from_user run (Documentation/benchmark.md).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PASSES 64

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#if defined(__x86_64__)
static void copy_movsb(void *d, const void *s, size_t n)
{
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}

static void copy_movsq(void *d, const void *s, size_t n)
{
	n /= 8;
	__asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}

/* Best of 3 passes of copy over len bytes, in MB/s; 0 if the copy is wrong. */
static double time_copy(void (*copy)(void *, const void *, size_t), char *dst,
			const char *src, size_t len)
{
	double best = 0;

	for (int i = 0; i < 3; i++) {
		double t0, dt;

		memset(dst, 0, len);
		t0 = now_s();
		copy(dst, src, len);
		dt = now_s() - t0;
		if (memcmp(dst, src, len))
			return 0;
		if (dt > 0 && (double)len / dt / 1e6 > best)
			best = (double)len / dt / 1e6;
	}
	return best;
}
#endif

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 256;
	unsigned long passes = argc > 2 ? strtoul(argv[2], NULL, 0) : 5;
	double mbps[MAX_PASSES];
	size_t len;
	char *src, *dst;
	unsigned long i;
	unsigned char sum = 0;

	if (!mib || mib > 4096 || !passes || passes > MAX_PASSES || argc > 3) {
		fprintf(stderr, "usage: memcpy_bench [MIB (1-4096) [PASSES (1-%d)]]\n", MAX_PASSES);
		return 2;
	}
	len = (size_t)mib << 20;
	src = malloc(len);
	dst = malloc(len);
	if (!src || !dst) {
		fprintf(stderr, "memcpy_bench: cannot allocate 2 x %lu MiB\n", mib);
		return 1;
	}
	for (size_t j = 0; j < len; j++)
		src[j] = (char)(j * 131 + (j >> 12));
	memset(dst, 0, len);

	for (i = 0; i < passes; i++) {
		double t0 = now_s(), dt;

		memcpy(dst, src, len);
		dt = now_s() - t0;
		/* Keep the copy observable so it is not optimised away. */
		sum ^= (unsigned char)dst[(i * 4099) % len];
		mbps[i] = dt > 0 ? (double)len / dt / 1e6 : 0;
	}
	if (memcmp(src, dst, len)) {
		fprintf(stderr, "memcpy_bench: copy differs\n");
		return 1;
	}
	qsort(mbps, passes, sizeof(mbps[0]), cmp_double);
	printf("{\"bytes\": %zu, \"passes\": %lu, \"best-mbps\": %.1f, \"median-mbps\": %.1f, ",
	       len, passes, mbps[passes - 1], mbps[passes / 2]);
#if defined(__x86_64__)
	printf("\"rep-movsb-mbps\": %.1f, \"rep-movsq-mbps\": %.1f, ",
	       time_copy(copy_movsb, dst, src, len / 4), time_copy(copy_movsq, dst, src, len / 4));
#endif
	printf("\"check\": %u}\n", sum);
	free(src);
	free(dst);
	return 0;
}
