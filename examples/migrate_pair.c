// SPDX-License-Identifier: GPL-2.0
/*
 * A whole live migration through libvfmig, as a program of your own would
 * do it: load the module, create two devices, make the source dirty its
 * memory while it runs, migrate it into the other with a progress callback
 * of our own, check that the state arrived, clean up.
 *
 *   migrate_pair [TYPE [DIRTY_RATE]]     (default: vfmig-small, 4000000)
 *
 * Build: cc migrate_pair.c $(pkg-config --cflags --libs libvfmig)
 * Exit status 0 when the destination holds the source's state.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vfmig/libvfmig.h>

static void on_log(void *opaque, enum vfmig_log_level level, const char *msg)
{
	(void)opaque;
	fprintf(stderr, "[libvfmig %s] %s\n", level <= VFMIG_LOG_WARNING ? "warn" : "info", msg);
}

/* One line per pre-copy round: how the pending bytes fall. */
static void on_progress(void *opaque, const struct vfmig_progress *p)
{
	unsigned int *last_round = opaque;

	if (strcmp(p->phase, "pre-copy") || p->iteration == *last_round)
		return;
	*last_round = p->iteration;
	printf("round %u: %" PRIu64 " KiB sent, %" PRIu64 " KiB pending, ~%" PRIu64
	       " ms downtime\n", p->iteration, p->transferred >> 10, p->pending >> 10,
	       p->expected_downtime_ms);
}

static int fail(struct vfmig_ctx *ctx, const char *what)
{
	fprintf(stderr, "migrate_pair: %s: %s\n", what, vfmig_error_message(ctx));
	return 1;
}

static int migrate(struct vfmig_ctx *ctx, const char *from, const char *to)
{
	struct vfmig_session *src = NULL, *dst = NULL;
	unsigned int last_round = 0;
	int ret;

	vfmig_set_progress(ctx, on_progress, &last_round);
	vfmig_set_option(ctx, VFMIG_OPT_DOWNTIME_LIMIT_MS, 300);
	vfmig_set_option(ctx, VFMIG_OPT_MAX_BANDWIDTH, 64 << 20);
	if (vfmig_session_open(ctx, &from, 1, &src) || vfmig_session_open(ctx, &to, 1, &dst)) {
		vfmig_session_close(src);
		return fail(ctx, "open");
	}
	ret = vfmig_migrate(src, dst);
	if (ret)
		fail(ctx, "migrate");
	else
		printf("%s in %" PRIu64 " ms, downtime %" PRIu64 " ms, %" PRIu64
		       " rounds, %.1f Mbit/s\n", vfmig_stats_status(src),
		       vfmig_stats_get(src, VFMIG_STAT_TOTAL_TIME_MS),
		       vfmig_stats_get(src, VFMIG_STAT_DOWNTIME_MS),
		       vfmig_stats_get(src, VFMIG_STAT_ITERATIONS), vfmig_stats_mbps(src));
	vfmig_session_close(dst);
	vfmig_session_close(src);
	return ret ? 1 : 0;
}

static int same_state(struct vfmig_ctx *ctx, const char *a, const char *b)
{
	char sa[64], sb[64];

	if (vfmig_mdev_get_attr(ctx, a, "checksum", sa, sizeof(sa)) ||
	    vfmig_mdev_get_attr(ctx, b, "checksum", sb, sizeof(sb)))
		return fail(ctx, "checksum");
	printf("checksums %s %s: %s\n", sa, sb, strcmp(sa, sb) ? "DIFFERENT" : "equal");
	return strcmp(sa, sb) ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *type = argc > 1 ? argv[1] : "vfmig-small";
	const char *rate = argc > 2 ? argv[2] : "4000000";
	char from[VFMIG_UUID_LEN + 1], to[VFMIG_UUID_LEN + 1], path[4096];
	struct vfmig_ctx *ctx;
	int ret = 1;

	if (vfmig_ctx_new(&ctx))
		return 1;
	vfmig_set_log(ctx, on_log, NULL, VFMIG_LOG_INFO);
	printf("libvfmig %s\n", vfmig_version());
	if (vfmig_module_load(ctx, vfmig_module_default_path(path, sizeof(path)) ? NULL : path,
			      NULL, NULL))
		return fail(ctx, "module");
	if (vfmig_mdev_create(ctx, type, NULL, from))
		return fail(ctx, "create source");
	if (vfmig_mdev_create(ctx, type, NULL, to)) {
		fail(ctx, "create destination");
		goto remove_from;
	}
	if (vfmig_mdev_set_attr(ctx, from, "dirty_rate", rate))
		fail(ctx, "dirty_rate");
	else if (!migrate(ctx, from, to))
		ret = same_state(ctx, from, to);
	vfmig_mdev_remove(ctx, to);
remove_from:
	vfmig_mdev_remove(ctx, from);
	vfmig_ctx_free(ctx);
	return ret;
}
