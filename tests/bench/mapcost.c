// SPDX-License-Identifier: GPL-2.0
/*
 * mapcost UUID TOUCH_PCT: what opening a vfmig device and mapping its data
 * section costs, and what touching part of it costs.  Opens the device
 * through VFIO, maps every advertised area, reads one byte in each of the
 * first TOUCH_PCT percent of every area's pages, then touches the rest.
 * Prints one JSON line: open-us, map-us, mapped-bytes, the RSS growth after
 * the map and after the partial touch (VmRSS, and the pages mincore says are
 * mapped), the partial and the full touch's time.
 * The `make bench` mmap-cost row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "errbuf.h"
#include "vfio.h"

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* VmRSS of this process in KiB, -1 if unreadable. */
static long rss_kib(void)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/*
 * Pages of every area present in this process's page tables (mincore):
 * exact at once, where VmRSS lags on 6.1 (per-task RSS counters).
 */
static long resident(const struct vfmig_region *r)
{
	long count = 0;

	for (unsigned int i = 0; i < r->nr_areas; i++) {
		size_t n = r->areas[i].size / 4096;
		unsigned char *vec = r->areas[i].map ? calloc(n, 1) : NULL;

		if (!vec || mincore(r->areas[i].map, r->areas[i].size, vec)) {
			free(vec);
			return -1;
		}
		for (size_t pg = 0; pg < n; pg++)
			count += vec[pg] & 1;
		free(vec);
	}
	return count;
}

/* Read one byte per page of [from, to) percent of every area. */
static unsigned int touch(const struct vfmig_region *r, unsigned int from, unsigned int to)
{
	unsigned int sum = 0;

	for (unsigned int i = 0; i < r->nr_areas; i++) {
		const volatile unsigned char *p = r->areas[i].map;
		uint64_t pages = r->areas[i].size / 4096;

		for (uint64_t pg = pages * from / 100; p && pg < pages * to / 100; pg++)
			sum += p[pg * 4096];
	}
	return sum;
}

int main(int argc, char **argv)
{
	struct vfmig_vfio_dev d = { .device = -1, .group = -1, .container = -1 };
	struct vfmig_err err = { 0 };
	double t0, t1, t2, t3, t4;
	long r0, r1, r2, p1, p2;
	uint64_t mapped = 0;
	unsigned int pct, sum;

	if (argc != 3 || (pct = (unsigned int)atoi(argv[2])) > 100) {
		fprintf(stderr, "usage: mapcost UUID TOUCH_PCT\n");
		return 2;
	}
	r0 = rss_kib();
	t0 = now_us();
	if (vfmig_vfio_open(&d, argv[1], &err)) {
		fprintf(stderr, "mapcost: %s\n", err.msg);
		return 1;
	}
	t1 = now_us();
	if (vfmig_vfio_map_migration(&d, true, &err)) {
		fprintf(stderr, "mapcost: %s\n", err.msg);
		vfmig_vfio_close(&d);
		return 1;
	}
	t2 = now_us();
	r1 = rss_kib();
	p1 = resident(&d.region);
	for (unsigned int i = 0; i < d.region.nr_areas; i++)
		mapped += d.region.areas[i].map ? d.region.areas[i].size : 0;
	sum = touch(&d.region, 0, pct);
	t3 = now_us();
	r2 = rss_kib();
	p2 = resident(&d.region);
	sum += touch(&d.region, pct, 100);
	t4 = now_us();
	printf("{\"open-us\": %.0f, \"map-us\": %.0f, \"mapped-bytes\": %llu, \"touch-pct\": %u, "
	       "\"rss-kib-after-map\": %ld, \"rss-kib-after-touch\": %ld, \"touch-us\": %.0f, "
	       "\"touch-rest-us\": %.0f, \"resident-kib-after-map\": %ld, "
	       "\"resident-kib-after-touch\": %ld, \"sum\": %u}\n",
	       t1 - t0, t2 - t1, (unsigned long long)mapped, pct, r1 - r0, r2 - r0, t3 - t2,
	       t4 - t3, p1 < 0 ? -1 : p1 * 4, p2 < 0 ? -1 : p2 * 4, sum);
	vfmig_vfio_close(&d);
	return 0;
}
