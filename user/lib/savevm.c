// SPDX-License-Identifier: GPL-2.0
/* savevm-style engine: setup -> iterate -> complete -> EOF, and loading. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "savevm_priv.h"

struct vfmig_savevm *vfmig_savevm_new(void)
{
	struct vfmig_savevm *sv = calloc(1, sizeof(struct vfmig_savevm));

	if (sv)
		pthread_mutex_init(&sv->lock, NULL);
	return sv;
}

void vfmig_savevm_set_progress(struct vfmig_savevm *sv, vfmig_progress_fn fn, void *opaque)
{
	sv->progress = fn;
	sv->progress_opaque = opaque;
}

void vfmig_savevm_free(struct vfmig_savevm *sv)
{
	if (sv)
		pthread_mutex_destroy(&sv->lock);
	free(sv);
}

int vfmig_savevm_register(struct vfmig_savevm *sv, const char *idstr, uint32_t instance,
			  uint32_t version, const struct vfmig_savevm_handlers *h,
			  void *opaque, struct vfmig_err *err)
{
	return vfmig_savevm_register_versions(sv, idstr, instance, version, version, h, opaque,
					      err);
}

int vfmig_savevm_register_versions(struct vfmig_savevm *sv, const char *idstr,
				   uint32_t instance, uint32_t version, uint32_t load_version,
				   const struct vfmig_savevm_handlers *h, void *opaque,
				   struct vfmig_err *err)
{
	size_t len = idstr ? strlen(idstr) : 0;
	struct savevm_entry *e;
	unsigned int i;

	if (!len || len > VFMIG_IDSTR_MAX)
		return vfmig_err_set(err, -EINVAL, "register: idstr must be 1..%u bytes",
				     VFMIG_IDSTR_MAX);
	for (i = 0; i < len; i++)
		if ((unsigned char)idstr[i] < 0x20 || (unsigned char)idstr[i] > 0x7e)
			return vfmig_err_set(err, -EINVAL, "register: idstr has non-printable bytes");
	if (!version || load_version < version)
		return vfmig_err_set(err, -EINVAL,
				     "register \"%s\": version must be >= 1 and <= the load version",
				     idstr);
	if (!h || (h->setup && (!h->pending || !h->iterate || !h->complete)))
		return vfmig_err_set(err, -EINVAL,
				     "register \"%s\": live handlers need setup, pending, iterate and complete",
				     idstr);
	for (i = 0; i < sv->nr; i++)
		if (sv->e[i].instance == instance && !strcmp(sv->e[i].idstr, idstr))
			return vfmig_err_set(err, -EEXIST, "register: \"%s\" instance %u already registered",
					     idstr, instance);
	if (sv->nr == VFMIG_SAVEVM_MAX_HANDLERS)
		return vfmig_err_set(err, -ENOSPC, "register \"%s\": more than %u devices",
				     idstr, VFMIG_SAVEVM_MAX_HANDLERS);
	e = &sv->e[sv->nr];
	memset(e, 0, sizeof(*e));
	memcpy(e->idstr, idstr, len + 1);
	e->instance = instance;
	e->version = version;
	e->load_version = load_version;
	e->section_id = ++sv->nr;
	e->h = h;
	e->opaque = opaque;
	return 0;
}

/* ---- save ---- */

/* One section: header, the handler's payload, footer; bytes are accounted. */
int vfmig_savevm_save_section(struct savevm_entry *e, uint8_t type, const char *phase,
			      int (*fn)(void *, struct vfmig_save_io *), struct vfmig_save_io *io)
{
	uint64_t start = io->w->offset;
	int ret;

	ret = vfmig_stream_put_section(io->w, type, e->section_id, e->idstr, e->instance,
				       e->version, io->err);
	if (!ret) {
		ret = fn(e->opaque, io);
		if (ret < 0)
			vfmig_err_prefix(io->err, "save %s of \"%s\" instance %u: ", phase,
					 e->idstr, e->instance);
	}
	if (ret >= 0) {
		int r2 = vfmig_stream_put_footer(io->w, e->section_id, io->err);

		if (r2)
			ret = r2;
	}
	e->bytes += io->w->offset - start;
	return ret;
}

static int save_cancel_check(struct vfmig_save_io *io, const char *where)
{
	if (vfmig_cancel_requested(io->cancel))
		return vfmig_err_set(io->err, -ECANCELED, "migration cancelled %s", where);
	return 0;
}

static int save_pending(struct vfmig_savevm *sv, struct vfmig_save_io *io, uint64_t *total)
{
	unsigned int i;
	int ret;

	*total = 0;
	for (i = 0; i < sv->nr; i++) {
		struct savevm_entry *e = &sv->e[i];

		if (!e->h->setup)
			continue;
		ret = e->h->pending(e->opaque, &e->pending, io);
		if (ret) {
			vfmig_err_prefix(io->err, "save pending of \"%s\" instance %u: ",
					 e->idstr, e->instance);
			return ret;
		}
		*total += e->pending;
	}
	return 0;
}

static int save_iterate(struct vfmig_savevm *sv, struct vfmig_conv *c,
			struct vfmig_save_io *io)
{
	unsigned int i;
	int ret;

	for (i = 0; i < sv->nr; i++) {
		struct savevm_entry *e = &sv->e[i];

		if (!e->h->setup)
			continue;
		ret = save_cancel_check(io, "during pre-copy");
		if (ret)
			return ret;
		io->budget = vfmig_conv_budget(c, io->w->offset);
		ret = vfmig_savevm_save_section(e, VFMIG_SECTION_PART, "iterate", e->h->iterate,
						io);
		if (ret < 0)
			return ret;
		e->done = ret == 1;
	}
	return vfmig_writer_flush(io->w, io->err);
}

int vfmig_savevm_cleanup(struct vfmig_savevm *sv, bool failed, struct vfmig_err *err)
{
	struct vfmig_err sub;
	unsigned int i;
	int ret = 0, r;

	for (i = 0; i < sv->nr; i++) {
		struct savevm_entry *e = &sv->e[i];

		if (!e->set_up)
			continue;
		e->set_up = false;
		if (!e->h->cleanup)
			continue;
		vfmig_err_clear(&sub);
		r = e->h->cleanup(e->opaque, failed, &sub);
		if (r) {
			if (err && err->code)
				vfmig_err_append(err, "cleanup of \"%s\" instance %u: %s",
						 e->idstr, e->instance, sub.msg);
			else
				vfmig_err_set(err, r, "cleanup of \"%s\" instance %u: %s",
					      e->idstr, e->instance, sub.msg);
			if (!ret)
				ret = r;
		}
	}
	return ret;
}

void vfmig_savevm_report(struct vfmig_savevm *sv, const char *phase, const struct vfmig_conv *c,
			 uint64_t transferred, uint64_t pending, uint64_t t0)
{
	struct vfmig_progress p = {
		.phase = phase,
		.iteration = c->iterations,
		.transferred = transferred,
		.pending = pending,
		.bandwidth = c->bandwidth,
		.expected_downtime_ms = vfmig_conv_expected_downtime_ms(c, pending),
		.elapsed_ms = vfmig_ns_to_ms(vfmig_conv_now(c) - t0),
	};

	if (sv->progress)
		sv->progress(sv->progress_opaque, &p);
}

static void report(struct vfmig_savevm *sv, const char *phase, const struct vfmig_conv *c,
		   const struct vfmig_save_io *io, uint64_t pending, uint64_t t0)
{
	vfmig_savevm_report(sv, phase, c, io->w->offset + io->w->len, pending, t0);
}

int vfmig_savevm_save_opts(const struct vfmig_conv_opts **opts,
			   struct vfmig_conv_opts *defaults, struct vfmig_err *err)
{
	if (!*opts) {
		vfmig_conv_opts_init(defaults);
		*opts = defaults;
	}
	if ((*opts)->downtime_limit_ms > VFMIG_MAX_DOWNTIME_MS)
		return vfmig_err_set(err, -EINVAL, "downtime limit %" PRIu64 " ms exceeds %u ms",
				     (*opts)->downtime_limit_ms, VFMIG_MAX_DOWNTIME_MS);
	return 0;
}

void vfmig_savevm_save_begin(struct vfmig_savevm *sv, const struct vfmig_conv_opts *opts,
			     struct vfmig_stats *st)
{
	st->downtime_limit_ms = opts->downtime_limit_ms;
	st->max_bandwidth = opts->max_bandwidth;
	st->offline = opts->offline;
	st->expected_downtime_ms = opts->downtime_limit_ms;
	for (unsigned int i = 0; i < sv->nr; i++) {
		sv->e[i].set_up = sv->e[i].done = false;
		sv->e[i].bytes = 0;
	}
}

void vfmig_savevm_save_end(struct vfmig_savevm *sv, const struct vfmig_conv *c, uint64_t t0,
			   uint64_t transferred, int ret, struct vfmig_stats *st,
			   struct vfmig_err *err)
{
	st->total_time_ms = vfmig_ns_to_ms(vfmig_conv_now(c) - t0);
	st->transferred = transferred;
	st->iterations = c->iterations;
	st->bandwidth = c->bandwidth;
	st->threshold = c->threshold;
	st->nr_devices = sv->nr;
	for (unsigned int i = 0; i < sv->nr; i++) {
		memcpy(st->dev[i].idstr, sv->e[i].idstr, sizeof(st->dev[i].idstr));
		st->dev[i].instance = sv->e[i].instance;
		st->dev[i].bytes = sv->e[i].bytes;
	}
	st->status = !ret ? "completed" : ret == -ECANCELED ? "cancelled" : "failed";
	if (ret)
		snprintf(st->error, sizeof(st->error), "%s", err->msg);
	vfmig_stats_finish(st);
}

static int save_run(struct vfmig_savevm *sv, struct vfmig_conv *c, struct vfmig_save_io *io,
		    struct vfmig_stats *st, uint64_t t0)
{
	/* Offline: devices stop during setup, so downtime starts at t0. */
	uint64_t down_start = t0, pending = 0;
	unsigned int i;
	int ret;

	ret = vfmig_stream_put_header(io->w, io->err);
	if (ret)
		return ret;
	/* Setup: one START section per live device. */
	for (i = 0; i < sv->nr; i++) {
		struct savevm_entry *e = &sv->e[i];

		if (!e->h->setup)
			continue;
		ret = save_cancel_check(io, "during setup");
		if (ret)
			return ret;
		e->set_up = true;
		ret = vfmig_savevm_save_section(e, VFMIG_SECTION_START, "setup", e->h->setup, io);
		if (ret)
			return ret;
	}
	ret = vfmig_writer_flush(io->w, io->err);
	if (ret)
		return ret;
	st->setup_time_ms = vfmig_ns_to_ms(vfmig_conv_now(c) - t0);
	report(sv, "setup", c, io, 0, t0);

	/* Pre-copy rounds until the convergence logic says stop. */
	while (!io->offline) {
		enum vfmig_conv_decision d;

		ret = save_cancel_check(io, "during pre-copy");
		if (!ret)
			ret = save_pending(sv, io, &pending);
		if (ret)
			return ret;
		vfmig_stats_add_pending(st, pending);
		st->expected_downtime_ms = vfmig_conv_expected_downtime_ms(c, pending);
		report(sv, "pre-copy", c, io, pending, t0);
		d = vfmig_conv_decide(c, pending);
		if (d == VFMIG_CONV_COMPLETE)
			break;
		if (d == VFMIG_CONV_GIVE_UP)
			return vfmig_err_set(io->err, -ETIMEDOUT,
					     "did not converge after %u iterations: %" PRIu64
					     " bytes pending, threshold %" PRIu64 " bytes (%" PRIu64
					     " B/s x %" PRIu64 " ms)",
					     c->iterations, pending, c->threshold, c->bandwidth,
					     c->opts.downtime_limit_ms);
		vfmig_conv_begin_iteration(c, io->w->offset);
		ret = save_iterate(sv, c, io);
		if (ret)
			return ret;
		vfmig_conv_end_iteration(c, io->w->offset);
		st->iterations = c->iterations;
		st->bandwidth = c->bandwidth;
		st->threshold = c->threshold;
	}

	/* Stop-and-copy: END sections, then FULL (config), then EOF. */
	if (!io->offline)
		down_start = vfmig_conv_now(c);
	report(sv, "stop-and-copy", c, io, pending, t0);
	for (i = 0; i < sv->nr; i++) {
		struct savevm_entry *e = &sv->e[i];

		if (!e->h->setup)
			continue;
		ret = save_cancel_check(io, "during stop-and-copy");
		if (!ret)
			ret = vfmig_savevm_save_section(e, VFMIG_SECTION_END, "complete",
							e->h->complete, io);
		if (ret)
			return ret;
	}
	for (i = 0; i < sv->nr; i++) {
		struct savevm_entry *e = &sv->e[i];

		if (!e->h->save_config)
			continue;
		ret = vfmig_savevm_save_section(e, VFMIG_SECTION_FULL, "config", e->h->save_config,
						io);
		if (ret)
			return ret;
	}
	ret = vfmig_stream_put_eof(io->w, io->err);
	if (!ret)
		ret = vfmig_writer_flush(io->w, io->err);
	if (ret)
		return ret;
	st->downtime_ms = vfmig_ns_to_ms(vfmig_conv_now(c) - down_start);
	report(sv, "done", c, io, 0, t0);
	return 0;
}

int vfmig_savevm_save(struct vfmig_savevm *sv, int fd, const struct vfmig_conv_opts *opts,
		      const struct vfmig_clock *clock, vfmig_cancel_t *cancel,
		      struct vfmig_stats *stats, struct vfmig_err *err)
{
	struct vfmig_endpoint ep = { .fd = fd };

	return vfmig_savevm_save_to(sv, &ep, opts, clock, cancel, stats, err);
}

int vfmig_savevm_save_to(struct vfmig_savevm *sv, const struct vfmig_endpoint *ep,
			 const struct vfmig_conv_opts *opts, const struct vfmig_clock *clock,
			 vfmig_cancel_t *cancel, struct vfmig_stats *stats,
			 struct vfmig_err *err)
{
	struct vfmig_conv_opts defaults;
	struct vfmig_stats local;
	struct vfmig_writer *w;
	struct vfmig_save_io io;
	struct vfmig_conv c;
	struct vfmig_err myerr;
	struct vfmig_stats *st = stats ? stats : &local;
	uint64_t t0;
	int ret, r;

	if (!err) {
		vfmig_err_clear(&myerr);
		err = &myerr;
	}
	vfmig_stats_init(st);
	ret = vfmig_savevm_save_opts(&opts, &defaults, err);
	if (ret)
		return ret;
	w = malloc(sizeof(*w));
	if (!w)
		return vfmig_err_set(err, -ENOMEM, "save: out of memory");
	vfmig_writer_init_endpoint(w, ep);
	w->cancel = cancel;
	/* A channel (in-process migrate) moves data in place, never compressed. */
	if (!ep->chan) {
		ret = vfmig_writer_set_compress(w, opts->compress, opts->compress_level, err);
		if (ret) {
			free(w);
			return ret;
		}
	}
	vfmig_conv_init(&c, opts, clock);
	t0 = vfmig_conv_now(&c);
	vfmig_savevm_save_begin(sv, opts, st);

	io = (struct vfmig_save_io){ .w = w, .err = err, .cancel = cancel,
				     .offline = opts->offline, .budget = UINT64_MAX };
	ret = save_run(sv, &c, &io, st, t0);
	r = vfmig_savevm_cleanup(sv, ret != 0, err);
	if (!ret)
		ret = r;

	vfmig_savevm_save_end(sv, &c, t0, w->offset, ret, st, err);
	vfmig_writer_fini(w);
	free(w);
	return ret;
}

/* ---- load ---- */

/*
 * The entry a section belongs to.  With lanes (lane >= 0) a device belongs
 * to the lane its first START or FULL came in, and to no other.
 */
static struct savevm_entry *find_entry(struct vfmig_savevm *sv, const struct vfmig_section *sec,
				       int lane, struct vfmig_err *err)
{
	bool named = sec->type == VFMIG_SECTION_START || sec->type == VFMIG_SECTION_FULL;
	unsigned int i;

	for (i = 0; i < sv->nr; i++) {
		struct savevm_entry *e = &sv->e[i];

		if (named && e->instance == sec->instance && !strcmp(e->idstr, sec->idstr)) {
			if (lane >= 0 && e->load_lane >= 0 && e->load_lane != lane) {
				vfmig_err_set(err, -EPROTO, "device already in lane %d",
					      e->load_lane);
				return NULL;
			}
			e->load_lane = lane;
			return e;
		}
		/* Another lane's entries are not looked at: their ids are its own. */
		if (!named && e->load_lane == lane && e->load_id_valid && e->load_id == sec->id)
			return e;
	}
	vfmig_err_set(err, -ENOENT, "no device registered for \"%s\" instance %u",
		      sec->idstr, sec->instance);
	return NULL;
}

static int load_section(struct vfmig_savevm *sv, struct vfmig_reader *r,
			const struct vfmig_section *sec, int lane, vfmig_cancel_t *cancel,
			struct vfmig_err *err)
{
	struct vfmig_load_io io = { .r = r, .err = err, .cancel = cancel, .sec = sec };
	struct savevm_entry *e;
	int ret;

	if (lane >= 0)
		pthread_mutex_lock(&sv->lock);
	e = find_entry(sv, sec, lane, err);
	if (lane >= 0)
		pthread_mutex_unlock(&sv->lock);
	if (!e)
		return err->code;
	if (!e->h->load_state)
		return vfmig_err_set(err, -ENOENT, "no device registered for \"%s\" instance %u",
				     sec->idstr, sec->instance);
	if (sec->type == VFMIG_SECTION_START || sec->type == VFMIG_SECTION_FULL) {
		if (sec->version < 1 || sec->version > e->load_version)
			return vfmig_err_set(err, -EPROTONOSUPPORT,
					     "section version %u not supported (device supports 1..%u)",
					     sec->version, e->load_version);
		e->load_id = sec->id;
		e->load_id_valid = true;
	}
	if (vfmig_cancel_requested(cancel))
		return vfmig_err_set(err, -ECANCELED, "load cancelled");
	ret = e->h->load_state(e->opaque, &io);
	if (ret)
		return ret;
	e->loaded = true;
	e->seen |= 1u << sec->type;
	return vfmig_stream_get_footer(r, sec, err);
}

/*
 * A live device's stream is whole only with its START/END (memory) and its
 * FULL section (config): without FULL the PCI config would never be restored.
 */
static int load_check_complete(struct vfmig_savevm *sv, uint64_t offset,
			       struct vfmig_err *err)
{
	const unsigned int state = 1u << VFMIG_SECTION_END, full = 1u << VFMIG_SECTION_FULL;
	unsigned int i;

	for (i = 0; i < sv->nr; i++) {
		struct savevm_entry *e = &sv->e[i];
		const char *what = NULL;

		if (!e->h->load_state || !e->h->setup)
			continue;
		if (!(e->seen & state))
			what = "no START/END sections (device state)";
		else if (e->h->save_config && !(e->seen & full))
			what = "no FULL section (device config) after its END";
		if (!what)
			continue;
		if (e->h->name)
			return vfmig_err_set(err, -ENODATA,
					     "load of %s (\"%s\" instance %u) at end of stream (offset %"
					     PRIu64 "): stream incomplete: %s",
					     e->h->name(e->opaque), e->idstr, e->instance, offset, what);
		return vfmig_err_set(err, -ENODATA,
				     "load of \"%s\" instance %u at end of stream (offset %" PRIu64
				     "): stream incomplete: %s", e->idstr, e->instance, offset, what);
	}
	return 0;
}

int vfmig_savevm_load_setup(struct vfmig_savevm *sv, struct vfmig_err *err)
{
	unsigned int i;
	int ret;

	for (i = 0; i < sv->nr; i++) {
		struct savevm_entry *e = &sv->e[i];

		if (!e->h->load_setup)
			continue;
		ret = e->h->load_setup(e->opaque, err);
		if (ret) {
			vfmig_err_prefix(err, "load setup of \"%s\" instance %u: ",
					 e->idstr, e->instance);
			return ret;
		}
		e->load_set_up = true;
	}
	return 0;
}

int vfmig_savevm_load_sections(struct vfmig_savevm *sv, struct vfmig_reader *r, int lane,
			       vfmig_cancel_t *cancel, struct vfmig_err *err)
{
	struct vfmig_section sec;
	int ret;

	for (;;) {
		ret = vfmig_stream_get_section(r, &sec, err);
		if (ret < 0)
			return ret;
		if (ret == 0)
			break;
		ret = load_section(sv, r, &sec, lane, cancel, err);
		if (ret) {
			vfmig_err_prefix(err, "load of %s section %u (\"%s\" instance %u) at stream offset %"
					 PRIu64 ", failed at offset %" PRIu64 ": ",
					 vfmig_section_type_name(sec.type), sec.id, sec.idstr,
					 sec.instance, sec.offset, vfmig_reader_offset(r));
			return ret;
		}
	}
	return vfmig_stream_get_end(r, err);
}

int vfmig_savevm_load_check(struct vfmig_savevm *sv, uint64_t offset, struct vfmig_err *err)
{
	unsigned int i;

	for (i = 0; i < sv->nr; i++)
		if (sv->e[i].h->load_state && !sv->e[i].loaded)
			return vfmig_err_set(err, -ENODATA, "stream has no state for \"%s\" instance %u",
					     sv->e[i].idstr, sv->e[i].instance);
	return load_check_complete(sv, offset, err);
}

static int load_run(struct vfmig_savevm *sv, struct vfmig_reader *r,
		    vfmig_cancel_t *cancel, struct vfmig_err *err)
{
	int ret;

	ret = vfmig_stream_get_header(r, err);
	if (ret)
		return ret;
	if (r->params.lanes > 1)
		return vfmig_err_set(err, -EPROTO,
				     "stream is lane %u of %u: it loads only with its other lanes",
				     r->params.lane, r->params.lanes);
	ret = vfmig_savevm_load_setup(sv, err);
	if (!ret)
		ret = vfmig_savevm_load_sections(sv, r, -1, cancel, err);
	if (!ret)
		ret = vfmig_savevm_load_check(sv, vfmig_reader_offset(r), err);
	return ret;
}

int vfmig_savevm_load(struct vfmig_savevm *sv, int fd, vfmig_cancel_t *cancel,
		      struct vfmig_err *err)
{
	struct vfmig_endpoint ep = { .fd = fd };

	return vfmig_savevm_load_from(sv, &ep, cancel, err);
}

void vfmig_savevm_load_reset(struct vfmig_savevm *sv)
{
	for (unsigned int i = 0; i < sv->nr; i++) {
		sv->e[i].load_set_up = sv->e[i].loaded = sv->e[i].load_id_valid = false;
		sv->e[i].seen = 0;
		sv->e[i].load_lane = -1;
	}
}

int vfmig_savevm_load_cleanup(struct vfmig_savevm *sv, int ret, struct vfmig_err *err)
{
	struct vfmig_err sub;
	unsigned int i;
	int rc;

	for (i = 0; i < sv->nr; i++) {
		struct savevm_entry *e = &sv->e[i];

		if (!e->load_set_up || !e->h->load_cleanup)
			continue;
		vfmig_err_clear(&sub);
		rc = e->h->load_cleanup(e->opaque, ret != 0, &sub);
		if (rc && !ret) {
			ret = vfmig_err_set(err, rc, "load cleanup of \"%s\" instance %u: %s",
					    e->idstr, e->instance, sub.msg);
		} else if (rc) {
			vfmig_err_append(err, "load cleanup of \"%s\" instance %u: %s",
					 e->idstr, e->instance, sub.msg);
		}
	}
	return ret;
}

int vfmig_savevm_load_from(struct vfmig_savevm *sv, const struct vfmig_endpoint *ep,
			   vfmig_cancel_t *cancel, struct vfmig_err *err)
{
	struct vfmig_reader *r;
	struct vfmig_err myerr;
	int ret;

	if (!err) {
		vfmig_err_clear(&myerr);
		err = &myerr;
	}
	r = malloc(sizeof(*r));
	if (!r)
		return vfmig_err_set(err, -ENOMEM, "load: out of memory");
	vfmig_reader_init_endpoint(r, ep);
	r->cancel = cancel;
	vfmig_savevm_load_reset(sv);
	ret = load_run(sv, r, cancel, err);
	ret = vfmig_savevm_load_cleanup(sv, ret, err);
	vfmig_reader_fini(r);
	free(r);
	return ret;
}
