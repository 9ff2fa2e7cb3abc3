/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the migration commands (save, resume, migrate, send, receive) share:
 * their options, SIGINT as a cancel request, the progress line and the
 * final report.
 */
#ifndef VFMIG_CLI_MIGOPTS_H
#define VFMIG_CLI_MIGOPTS_H

#include <getopt.h>
#include <stdbool.h>

#include "vfmig/libvfmig.h"

struct migopts {
	bool json;		/* final statistics as JSON on stdout */
	int progress;		/* -1 = on a TTY, 0 = never, 1 = always */
	bool quiet;
	bool save_only_given;	/* an option that means nothing to a resume */
	enum vfmig_protocol protocol;	/* --protocol, also set in the context */
	bool compress_given;	/* --compress: only a stream to an fd is compressed */
};

/* Long options every migration command accepts; 0x100.. are their codes. */
#define MIGOPTS_LONG \
	{ "downtime-limit", required_argument, NULL, 0x100 }, \
	{ "max-bandwidth", required_argument, NULL, 0x101 }, \
	{ "max-iterations", required_argument, NULL, 0x102 }, \
	{ "offline", no_argument, NULL, 0x103 }, \
	{ "no-mmap", no_argument, NULL, 0x104 }, \
	{ "protocol", required_argument, NULL, 0x108 }, \
	{ "parallel", required_argument, NULL, 0x109 }, \
	{ "compress", required_argument, NULL, 0x10c }, \
	{ "json", no_argument, NULL, 0x105 }, \
	{ "progress", no_argument, NULL, 0x106 }, \
	{ "no-progress", no_argument, NULL, 0x107 }, \
	{ "quiet", no_argument, NULL, 'q' }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "help", no_argument, NULL, 'h' }

#define MIGOPTS_SHORT "qvh"

#define MIGOPTS_HELP \
	"  --downtime-limit MS   stop-and-copy once the rest fits in MS (default 300)\n" \
	"  --max-bandwidth RATE  limit the stream to RATE bytes/s (K, M, G suffixes)\n" \
	"  --max-iterations N    give up after N pre-copy rounds without converging\n" \
	"  --offline             stop the devices first, then copy (no pre-copy)\n" \
	"  --no-mmap             move data with pread/pwrite only, never the mappings\n" \
	"  --protocol P          VFIO migration protocol: auto (v2 where the device\n" \
	"                        offers it, else v1; the default), v1 or v2\n" \
	"  --parallel N|auto     migrate/send N devices at once, one lane (thread,\n" \
	"                        channel, connection) each; auto: one per CPU; at\n" \
	"                        most the devices; default 1, one stream (save to a\n" \
	"                        file: always 1; receive and resume follow the stream)\n" \
	"  --compress C[:L]      send and save only: compress device data with zstd\n" \
	"                        (level 1..19) or lz4 (acceleration 1..64), or none\n" \
	"  --json                print the final statistics as JSON on stdout\n" \
	"  --progress, --no-progress  force the progress line on or off (default: on a TTY)\n" \
	"  -q, --quiet           no progress and no summary, errors only\n" \
	"  -v, --verbose         the engine's steps on stderr (twice: every round)\n" \
	"  -h, --help            this text\n"

void migopts_init(struct migopts *o);
/* Handle one getopt code; 1 = consumed, 0 = not ours, -1 = bad value (reported). */
int migopts_parse(struct migopts *o, int code, const char *arg);
/* "auto", "v1", "v2"; -1 for anything else. */
int parse_protocol(const char *s, enum vfmig_protocol *out);
/* Parse "123", "64K", "10M", "1G" (powers of 1024). */
int parse_size(const char *s, uint64_t *out);

/* SIGINT/SIGTERM cancel the context's migration; SIGPIPE is ignored. */
void cli_catch_signals(void);
/* SIGINT/SIGTERM back to their defaults (before the context is freed). */
void cli_release_signals(void);

/* Draw the progress line through the context's progress callback. */
void cli_show_progress(struct migopts *o);
/* End the progress line (if one was drawn). */
void cli_progress_done(const struct migopts *o);

/* Summary on stderr, or JSON on stdout with --json. */
void cli_report_save(const struct migopts *o, const struct vfmig_session *s);

#endif /* VFMIG_CLI_MIGOPTS_H */
