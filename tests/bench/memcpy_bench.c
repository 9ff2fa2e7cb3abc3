// SPDX-License-Identifier: GPL-2.0
/*
 * memcpy_bench [MIB [PASSES]]: the machine's own memcpy bandwidth, the
 * yardstick `make bench` compares migration throughput against.  Copies a
 * MIB MiB buffer (default 256) into another PASSES times (default 5), both
 * touched first so page faults are not timed, and prints one JSON object:
 * bytes per pass, best and median MB/s (10^6 bytes/s of data copied).
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
	printf("{\"bytes\": %zu, \"passes\": %lu, \"best-mbps\": %.1f, \"median-mbps\": %.1f, \"check\": %u}\n",
	       len, passes, mbps[passes - 1], mbps[passes / 2], sum);
	free(src);
	free(dst);
	return 0;
}
