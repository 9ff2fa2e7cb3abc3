// SPDX-License-Identifier: GPL-2.0
/* The public view of a session's last save statistics. */
#include <errno.h>

#include "session.h"

const char *vfmig_stats_status(const struct vfmig_session *s)
{
	return s->has_stats && s->stats.status ? s->stats.status : "none";
}

uint64_t vfmig_stats_get(const struct vfmig_session *s, enum vfmig_stat stat)
{
	const struct vfmig_stats *st = &s->stats;

	if (!s->has_stats)
		return 0;
	switch (stat) {
	case VFMIG_STAT_TOTAL_TIME_MS:
		return st->total_time_ms;
	case VFMIG_STAT_SETUP_TIME_MS:
		return st->setup_time_ms;
	case VFMIG_STAT_DOWNTIME_MS:
		return st->downtime_ms;
	case VFMIG_STAT_EXPECTED_DOWNTIME_MS:
		return st->expected_downtime_ms;
	case VFMIG_STAT_TRANSFERRED:
		return st->transferred;
	case VFMIG_STAT_BANDWIDTH:
		return st->bandwidth;
	case VFMIG_STAT_ITERATIONS:
		return st->iterations;
	case VFMIG_STAT_DIRTY_SYNC_COUNT:
		return st->dirty_sync_count;
	case VFMIG_STAT_PEAK_RSS_KIB:
		return st->peak_rss_kib;
	}
	return 0;
}

double vfmig_stats_mbps(const struct vfmig_session *s)
{
	return s->has_stats ? s->stats.mbps : 0;
}

int vfmig_stats_print_json(const struct vfmig_session *s, FILE *out)
{
	struct vfmig_err *err = vfmig_ctx_begin(s->ctx);

	if (!s->has_stats)
		return vfmig_err_set(err, -ENODATA, "statistics: no save has run in this session");
	if (vfmig_stats_write_json(&s->stats, out))
		return vfmig_err_set(err, -EIO, "statistics: cannot write the JSON");
	return 0;
}
