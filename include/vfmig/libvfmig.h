/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libvfmig: load the vfmig module, manage its mediated devices, and migrate
 * their state through VFIO, the way QEMU's savevm framework and its VFIO
 * client do it.  This is the whole public interface; libvfmig(3) is its
 * manual.
 *
 * Conventions
 * - Everything hangs off a context (struct vfmig_ctx): the log and progress
 *   callbacks, the migration options, the cancel flag and the error of the
 *   last call.  A context is used by one thread at a time; only
 *   vfmig_cancel() may be called from another thread or a signal handler.
 *   Use one context per thread to run migrations in parallel.
 * - Functions that can fail return 0 (or a count) on success and a negative
 *   errno on failure.  vfmig_error_message() then gives a one-line reason
 *   that names the device, the phase and the cause, fit to print as is;
 *   the next call that can fail clears it.  The errno values each function
 *   returns are listed with it; -ENOMEM and -EINVAL for a bad argument are
 *   possible everywhere and not repeated.
 * - The library never prints.  It reports what it does through the log
 *   callback (syslog levels) and a running migration through the progress
 *   callback.
 * - Devices are named by their mdev UUID (36 characters, 8-4-4-4-12 hex).
 *
 * A migration moves the state of N source devices into N destination
 * devices, the i-th into the i-th, in one sectioned stream.  When it
 * completes the destinations run and the sources are stopped (never two
 * running copies of a device); when it fails or is cancelled the sources
 * run again with their state untouched and the destinations are reset.
 */
#ifndef VFMIG_LIBVFMIG_H
#define VFMIG_LIBVFMIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VFMIG_EXPORT __attribute__((visibility("default")))

/* Devices in one session, and the length of a UUID string. */
#define VFMIG_MAX_DEVICES	16u
#define VFMIG_UUID_LEN		36u

/* The version of the library, "MAJOR.MINOR.PATCH". */
VFMIG_EXPORT const char *vfmig_version(void);

/* ---- Context ------------------------------------------------------------ */

struct vfmig_ctx;

/* -ENOMEM */
VFMIG_EXPORT int vfmig_ctx_new(struct vfmig_ctx **out);
VFMIG_EXPORT void vfmig_ctx_free(struct vfmig_ctx *ctx);

/* Log levels, as syslog(3) numbers them. */
enum vfmig_log_level {
	VFMIG_LOG_ERR = 3,
	VFMIG_LOG_WARNING = 4,
	VFMIG_LOG_INFO = 6,	/* the engine's steps: opens, phases, verdicts */
	VFMIG_LOG_DEBUG = 7,	/* every pre-copy round and section */
};

/* One message, without a trailing newline. */
typedef void (*vfmig_log_fn)(void *opaque, enum vfmig_log_level level, const char *msg);
/* Messages up to max_level go to fn (NULL: none, the default). */
VFMIG_EXPORT void vfmig_set_log(struct vfmig_ctx *ctx, vfmig_log_fn fn, void *opaque,
				enum vfmig_log_level max_level);

/* A snapshot of a running save, handed to the progress callback. */
struct vfmig_progress {
	const char *phase;		/* "setup", "pre-copy", "stop-and-copy", "done" */
	unsigned int iteration;		/* completed pre-copy rounds */
	uint64_t transferred;		/* stream bytes so far */
	uint64_t pending;		/* bytes the devices still report */
	uint64_t bandwidth;		/* bytes/s of the last round */
	uint64_t expected_downtime_ms;
	uint64_t elapsed_ms;
};

/*
 * Called on the saving thread after setup, after each pending query and at
 * each phase change; it must not call back into the library.
 */
typedef void (*vfmig_progress_fn)(void *opaque, const struct vfmig_progress *p);
VFMIG_EXPORT void vfmig_set_progress(struct vfmig_ctx *ctx, vfmig_progress_fn fn,
				     void *opaque);

/* Migration options (QEMU's migration parameters, where QEMU has them). */
enum vfmig_option {
	VFMIG_OPT_DOWNTIME_LIMIT_MS,	/* stop-and-copy once the rest fits; 300, max 2000000 */
	VFMIG_OPT_MAX_BANDWIDTH,	/* bytes/s, 0 = unlimited (default) */
	VFMIG_OPT_MAX_ITERATIONS,	/* give up after N rounds; 0 = never (default); max 1e6 */
	VFMIG_OPT_OFFLINE,		/* 1: stop the devices first, no pre-copy */
	VFMIG_OPT_NO_MMAP,		/* 1: pread/pwrite only, never the mappings (at open) */
	VFMIG_OPT_PROTOCOL,		/* enum vfmig_protocol (at open); AUTO by default */
	/*
	 * Lanes of a migrate or send: devices move N at a time, each lane
	 * with its own thread, channel or connection; 1 (default) = one
	 * stream, as before; 0 = the online CPUs; capped at the devices and
	 * 16.  A save to one fd (file) uses one lane; a receive or resume
	 * follows the stream.
	 */
	VFMIG_OPT_PARALLEL,
	/*
	 * enum vfmig_compress: what a save or send to an fd codes its device
	 * data with; NONE by default; -EOPNOTSUPP for a codec not built in.
	 * The in-process migrate never compresses (it moves data in place).
	 */
	VFMIG_OPT_COMPRESS,
	VFMIG_OPT_COMPRESS_LEVEL,	/* 0: default; zstd 1..19, lz4 acceleration 1..64 */
	/*
	 * 1: vfmig_recover() also starts a device that holds a verified
	 * resume that never ran (the vfmig/resume_held knob); 0 (default)
	 * refuses it with -EPERM: its source may be running.
	 */
	VFMIG_OPT_RECOVER_HELD,
};

/* Stream compression codecs (VFMIG_OPT_COMPRESS). */
enum vfmig_compress {
	VFMIG_COMPRESS_NONE,
	VFMIG_COMPRESS_ZSTD,
	VFMIG_COMPRESS_LZ4,
};

/* Which VFIO migration protocol a session drives its devices with. */
enum vfmig_protocol {
	VFMIG_PROTOCOL_AUTO,	/* v2 where the device offers it, else v1 */
	VFMIG_PROTOCOL_V1,	/* the migration region (Linux <= 5.19 uAPI, QEMU 7.2) */
	VFMIG_PROTOCOL_V2,	/* VFIO_DEVICE_FEATURE_MIGRATION and data files (QEMU 8+) */
};

/* -EINVAL (unknown option, value out of range). */
VFMIG_EXPORT int vfmig_set_option(struct vfmig_ctx *ctx, enum vfmig_option opt, uint64_t value);
VFMIG_EXPORT uint64_t vfmig_get_option(const struct vfmig_ctx *ctx, enum vfmig_option opt);

/*
 * Ask the running save or load of this context to stop at its next safe
 * point; it then fails with -ECANCELED and undoes itself as a failure does.
 * Async-signal-safe.  The request stays until vfmig_clear_cancel().
 */
VFMIG_EXPORT void vfmig_cancel(struct vfmig_ctx *ctx);
VFMIG_EXPORT void vfmig_clear_cancel(struct vfmig_ctx *ctx);
VFMIG_EXPORT bool vfmig_cancelled(const struct vfmig_ctx *ctx);

/* The error of the last call that failed: "" and 0 when it succeeded. */
VFMIG_EXPORT const char *vfmig_error_message(const struct vfmig_ctx *ctx);
VFMIG_EXPORT int vfmig_error_code(const struct vfmig_ctx *ctx);

/* ---- The kernel module -------------------------------------------------- */

/*
 * Load vfmig.ko with libkmod after what it depends on (vfio, mdev,
 * vfio_iommu_type1, read from its modinfo).  path: a .ko file, or NULL for
 * the module installed for the running kernel, by name, as modprobe loads
 * it.  params: "name=value ..." or NULL.
 * *was_loaded (may be NULL) says it was loaded already (then params are not
 * applied).  -ENOENT (no such file, not installed), -EPERM, -ENOEXEC (built
 * for another kernel), -ELIBACC (libkmod missing).
 */
VFMIG_EXPORT int vfmig_module_load(struct vfmig_ctx *ctx, const char *path,
				   const char *params, bool *was_loaded);
/* Not loaded is success.  -EBUSY while a device is open. */
VFMIG_EXPORT int vfmig_module_unload(struct vfmig_ctx *ctx);
VFMIG_EXPORT bool vfmig_module_is_loaded(void);
/*
 * $VFMIG_MODULE if set, else <top>/build/<running kernel>/vfmig.ko for a
 * program at <top>/user/build/ (the CLI in its source tree), if it exists:
 * 0 and buf filled; -ENOENT, -ENAMETOOLONG.
 */
VFMIG_EXPORT int vfmig_module_default_path(char *buf, size_t len);

/* ---- Mediated devices --------------------------------------------------- */

struct vfmig_mdev_type {
	char id[64];		/* sysfs name, e.g. "vfmig-small" */
	char name[64];
	char description[256];
	char device_api[32];	/* "vfio-pci" */
	unsigned int available;	/* instances that can still be created */
};

struct vfmig_mdev {
	char uuid[VFMIG_UUID_LEN + 1];
	char type[64];
};

/* A canonical 8-4-4-4-12 hex UUID. */
VFMIG_EXPORT bool vfmig_is_uuid(const char *s);
/* Up to max types; returns how many.  -ENODEV: the module is not loaded. */
VFMIG_EXPORT int vfmig_mdev_types(struct vfmig_ctx *ctx, struct vfmig_mdev_type *types,
				  int max);
/*
 * Create a device of type (a vfmig_mdev_type.id, "vfmig-" may be left
 * out); uuid NULL for a random one.  out receives the UUID.  -ENODEV (the
 * module is not loaded), -ENOENT (no such type), -EEXIST (UUID taken),
 * -EUSERS (no instance available).
 */
VFMIG_EXPORT int vfmig_mdev_create(struct vfmig_ctx *ctx, const char *type, const char *uuid,
				   char out[VFMIG_UUID_LEN + 1]);
/* Blocks while another process holds the device open.  -ENODEV: no such device. */
VFMIG_EXPORT int vfmig_mdev_remove(struct vfmig_ctx *ctx, const char *uuid);
/* vfmig devices only; returns how many exist (may exceed max). */
VFMIG_EXPORT int vfmig_mdev_list(struct vfmig_ctx *ctx, struct vfmig_mdev *devs, int max);
/*
 * A device's knob, /sys/bus/mdev/devices/<uuid>/vfmig/<name> (see
 * Documentation/ABI/testing/sysfs-bus-mdev-vfmig), without the newline.
 * -ENOENT (no such device or knob), -EINVAL/-EBUSY (the driver's refusal
 * of a write), -ENAMETOOLONG.  A value longer than len - 1 is cut.
 */
VFMIG_EXPORT int vfmig_mdev_get_attr(struct vfmig_ctx *ctx, const char *uuid, const char *name,
				     char *buf, size_t len);
VFMIG_EXPORT int vfmig_mdev_set_attr(struct vfmig_ctx *ctx, const char *uuid, const char *name,
				     const char *value);
/*
 * What VFIO reports about a device (flags, regions, capabilities, sparse
 * areas) and its knobs, as text.  -ENOENT, -EBUSY (open elsewhere).
 */
VFMIG_EXPORT int vfmig_mdev_describe(struct vfmig_ctx *ctx, const char *uuid, FILE *out);

/*
 * Bring a device left behind by a killed or failed migration back to
 * RUNNING: a device_state write from STOP, RUNNING, pre-copy or
 * stop-and-copy (memory kept), VFIO_DEVICE_RESET from RESUMING or the error
 * state.  summary (may be NULL) receives "STOP -> RUNNING by device_state
 * write".  Only for a source whose stream reached no running destination.
 * A destination holding a whole migrated state that never ran (resume_held)
 * is refused unless VFMIG_OPT_RECOVER_HELD: starting it beside a running
 * source makes two copies.  -ENODEV, -EBUSY (open elsewhere), -EPERM
 * (held), -EIO.
 */
VFMIG_EXPORT int vfmig_recover(struct vfmig_ctx *ctx, const char *uuid, char *summary,
			       size_t len);

/* ---- Sessions and migration --------------------------------------------- */

struct vfmig_session;

/*
 * Open devices through VFIO as the devices of one migration (1 to
 * VFMIG_MAX_DEVICES, none named twice), with the context's
 * VFMIG_OPT_NO_MMAP and VFMIG_OPT_PROTOCOL.  The session keeps ctx, which
 * must outlive it.  -ENODEV (no such device), -EBUSY (open elsewhere),
 * -ENOTSUP (not a vfmig device, no migration protocol, or not the one
 * VFMIG_OPT_PROTOCOL asks for); nothing stays open on failure.  A source
 * and a destination session may use different protocols: both carry the
 * same device state.
 */
VFMIG_EXPORT int vfmig_session_open(struct vfmig_ctx *ctx, const char *const *uuids,
				    unsigned int nr, struct vfmig_session **out);
VFMIG_EXPORT void vfmig_session_close(struct vfmig_session *s);
VFMIG_EXPORT unsigned int vfmig_session_count(const struct vfmig_session *s);
VFMIG_EXPORT const char *vfmig_session_uuid(const struct vfmig_session *s, unsigned int i);
/* The protocol device i is driven with (V1 or V2; AUTO for a bad i). */
VFMIG_EXPORT enum vfmig_protocol vfmig_session_protocol(const struct vfmig_session *s,
							unsigned int i);
/* "v1", "v2" (also for AUTO: "auto"); NULL for an unknown value. */
VFMIG_EXPORT const char *vfmig_protocol_name(enum vfmig_protocol p);

/*
 * Save the devices' state into fd (file, pipe or socket): live unless
 * VFMIG_OPT_OFFLINE.  On success the devices stay stopped, as a migrated VM
 * does.  -ECANCELED, -EPIPE (the reader went away), -ETIMEDOUT (not
 * converged within VFMIG_OPT_MAX_ITERATIONS), -EIO (a device failed).
 */
VFMIG_EXPORT int vfmig_save(struct vfmig_session *src, int fd);
/*
 * The same into a file at path, synced.  A regular file (or none yet) is
 * written beside path and renamed over it when complete: on failure path
 * keeps what it held and no partial file stays.  Anything else there
 * (/dev/null, a FIFO) is written in place and never removed.
 * Into a regular file (either call), with a second CPU online, vfmig devices
 * hash their pages, and v1 devices copy their chunks, on their own worker
 * meanwhile (hash_offload and chunk_offload, set back after; the same for a
 * resume out of a regular file).
 */
VFMIG_EXPORT int vfmig_save_file(struct vfmig_session *src, const char *path);
/*
 * Load a stream from fd into the devices and start them.  A device left in
 * RESUMING or the error state by an earlier run is reset first (logged at
 * VFMIG_LOG_WARNING).  Every section is checked before it reaches a device;
 * on failure the devices are reset (nothing half-loaded stays) and the
 * error names the section and stream offset.  -EPROTO (corrupt or foreign
 * stream), -ENODEV (a device is missing from the stream), -ECANCELED, -EIO.
 */
VFMIG_EXPORT int vfmig_resume(struct vfmig_session *dst, int fd);
VFMIG_EXPORT int vfmig_resume_file(struct vfmig_session *dst, const char *path);
/*
 * Live migration between two sessions in this process: the source saves
 * on the calling thread, a second thread loads, each byte copied once.
 * Same counts (the i-th into the i-th); src's context holds the options,
 * progress and error.  Errors as vfmig_save() and vfmig_resume().
 */
VFMIG_EXPORT int vfmig_migrate(struct vfmig_session *src, struct vfmig_session *dst);
/*
 * Over a connected stream socket: send saves into it, then waits for the
 * receiver's verdict; the source stays stopped only once the receiver
 * reports its devices running.  receive loads, starts the devices and
 * tells the sender.  -EREMOTEIO (the receiver refused: its reason is in
 * the message), -ECONNRESET (no verdict).
 */
VFMIG_EXPORT int vfmig_send(struct vfmig_session *src, int sockfd);
VFMIG_EXPORT int vfmig_receive(struct vfmig_session *dst, int sockfd);
/*
 * TCP helpers for the above: "HOST:PORT" or "[ADDR]:PORT"; accept one
 * connection (the listening socket stays with ctx until the next
 * vfmig_receive() or vfmig_ctx_free(): a stream in lanes brings more).
 */
VFMIG_EXPORT int vfmig_connect(struct vfmig_ctx *ctx, const char *host_port);
VFMIG_EXPORT int vfmig_accept(struct vfmig_ctx *ctx, const char *bind_addr, const char *port);
/*
 * Start stopped source devices again: after a save whose stream never
 * reached a running destination, or to go on after a snapshot.
 */
VFMIG_EXPORT int vfmig_session_restart(struct vfmig_session *s);

/* Walk a stream without a device and print its structure to out.  -EPROTO. */
VFMIG_EXPORT int vfmig_inspect(struct vfmig_ctx *ctx, int fd, FILE *out);

/* ---- Statistics of the last save, send or migrate of a session ---------- */

enum vfmig_stat {
	VFMIG_STAT_TOTAL_TIME_MS,
	VFMIG_STAT_SETUP_TIME_MS,
	VFMIG_STAT_DOWNTIME_MS,
	VFMIG_STAT_EXPECTED_DOWNTIME_MS,
	VFMIG_STAT_TRANSFERRED,		/* stream bytes */
	VFMIG_STAT_BANDWIDTH,		/* bytes/s, last measurement */
	VFMIG_STAT_ITERATIONS,		/* pre-copy rounds */
	VFMIG_STAT_DIRTY_SYNC_COUNT,	/* pending queries */
	VFMIG_STAT_PEAK_RSS_KIB,	/* of this process */
};

/* "completed", "failed", "cancelled", or "none" before any save. */
VFMIG_EXPORT const char *vfmig_stats_status(const struct vfmig_session *s);
VFMIG_EXPORT uint64_t vfmig_stats_get(const struct vfmig_session *s, enum vfmig_stat stat);
/* Megabits per second, as QEMU's "info migrate" computes it. */
VFMIG_EXPORT double vfmig_stats_mbps(const struct vfmig_session *s);
/* Everything, as one JSON object in QEMU's vocabulary, and a newline.  -ENODATA, -EIO. */
VFMIG_EXPORT int vfmig_stats_print_json(const struct vfmig_session *s, FILE *out);

#ifdef __cplusplus
}
#endif

#endif /* VFMIG_LIBVFMIG_H */
