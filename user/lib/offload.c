// SPDX-License-Identifier: GPL-2.0
/*
 * Device-side offload for a save into a regular file or a resume out of one.
 *
 * A vfmig device hashes every page it sends or applies, for the END
 * digest.  With its hash_offload knob set it does that on a worker thread
 * of its own, beside the thread that moves the bytes; with chunk_offload
 * set, a v1 session also copies its chunks between the data section and
 * device memory on that worker, one chunk ahead of the engine.  That pays
 * where a CPU is spare and costs where the client's threads keep every CPU
 * busy: both ends in one process (migrate) or on one host over a socket
 * take turns with the workers instead (Documentation/benchmark-history.md,
 * sessions 14 and 20, has the figures).  So the engine asks for both only
 * when the stream is a regular file, where nothing else of the migration
 * runs meanwhile, and a second CPU is online; it puts the knobs back when
 * the save or resume is over.
 * A device without a knob (another driver, an older module) is left as it
 * is, and so is a knob already set.
 */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mdev.h"
#include "offload.h"

static const char *const knobs[VFMIG_OFFLOAD_KNOBS] = { "hash_offload", "chunk_offload" };
static const char *const what[VFMIG_OFFLOAD_KNOBS] = { "page hashes", "chunk copies" };
/* Chunks are a v1 region's: a device driven through v2 is not asked. */
static const bool v1_only[VFMIG_OFFLOAD_KNOBS] = { false, true };

static bool file_stream_with_spare_cpu(int fd)
{
	struct stat st;

	return !fstat(fd, &st) && S_ISREG(st.st_mode) && sysconf(_SC_NPROCESSORS_ONLN) >= 2;
}

void vfmig_offload_begin(struct vfmig_session *s, int fd, struct vfmig_offload *o)
{
	struct vfmig_err e;
	char v[8];

	memset(o, 0, sizeof(*o));
	if (!file_stream_with_spare_cpu(fd))
		return;
	for (unsigned int i = 0; i < s->nr; i++) {
		const char *uuid = s->dev[i]->vfio.uuid;

		for (unsigned int k = 0; k < VFMIG_OFFLOAD_KNOBS; k++) {
			if (v1_only[k] && s->dev[i]->proto != VFMIG_PROTOCOL_V1)
				continue;
			if (vfmig_knob_read(uuid, knobs[k], v, sizeof(v), &e) || v[0] != '0')
				continue;
			o->set[i][k] = !vfmig_knob_write(uuid, knobs[k], "1", &e);
			if (o->set[i][k])
				vfmig_log(s->ctx, VFMIG_LOG_INFO,
					  "device %s: %s on the device's worker (file stream)",
					  uuid, what[k]);
		}
	}
}

void vfmig_offload_end(struct vfmig_session *s, const struct vfmig_offload *o)
{
	struct vfmig_err e;

	for (unsigned int i = 0; i < s->nr; i++)
		for (unsigned int k = 0; k < VFMIG_OFFLOAD_KNOBS; k++)
			if (o->set[i][k] && vfmig_knob_write(s->dev[i]->vfio.uuid, knobs[k], "0", &e))
				vfmig_log(s->ctx, VFMIG_LOG_WARNING, "%s", e.msg);
}
