// SPDX-License-Identifier: GPL-2.0
/*
 * The engine over several lanes: device i travels in lane i % lanes, each
 * lane a whole sub-stream (version 2 header naming lanes and lane, its
 * devices' sections, EOF) written by its own thread, like QEMU's multifd
 * channels.  One coordinator keeps one convergence decision for the set:
 * every phase (setup, a pre-copy round, stop-and-copy) runs in all lanes at
 * once and ends when the last lane is done; between phases the coordinator
 * sums pending and decides.  On the destination one thread per lane loads
 * its sub-stream into the devices it names.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "monocond.h"
#include "savevm_priv.h"

enum lane_phase { LANE_SETUP, LANE_ITERATE, LANE_COMPLETE };

/*
 * The coordinator's wait for its lane threads.  A signal that cancels
 * (SIGINT) reaches the coordinator, not a lane blocked in a socket's send
 * or recv, so the coordinator waits in slices, reads the cancel flag, and
 * on a cancel cuts the lanes' I/O short (abort) once.
 */
struct lane_waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int done;
};

#define LANE_WAIT_SLICE_NS	(200 * 1000 * 1000L)

/* glibc's mutex and condattr/cond initialisers cannot fail (they return 0). */
static void waiter_init(struct lane_waiter *w)
{
	pthread_mutex_init(&w->lock, NULL);
	vfmig_monocond_init(&w->cond);
}

static void waiter_destroy(struct lane_waiter *w)
{
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
}

/* A lane thread's last step. */
static void lane_done(struct lane_waiter *w)
{
	pthread_mutex_lock(&w->lock);
	w->done++;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* Until @running lanes are done; true if a cancel made it call @abort. */
static bool lanes_wait(struct lane_waiter *w, unsigned int running,
		       vfmig_cancel_t *cancel, void (*abort)(void *), void *opaque)
{
	bool aborted = false;

	pthread_mutex_lock(&w->lock);
	while (w->done < running) {
		vfmig_monocond_wait_ns(&w->cond, &w->lock, LANE_WAIT_SLICE_NS);
		if (!aborted && abort && vfmig_cancel_requested(cancel)) {
			aborted = true;
			abort(opaque);
		}
	}
	pthread_mutex_unlock(&w->lock);
	return aborted;
}

struct save_lanes;

struct save_lane {
	struct save_lanes *ls;
	unsigned int idx;
	struct vfmig_writer *w;
	struct vfmig_err err;
	int ret;
	pthread_t tid;
	bool running;
};

struct save_lanes {
	struct vfmig_savevm *sv;
	unsigned int n;
	enum lane_phase phase;
	struct vfmig_conv *c;
	pthread_mutex_t conv_lock;	/* the rate limiter is shared */
	_Atomic uint64_t sent;		/* bytes of all lanes, for the limiter */
	atomic_uint failed;		/* 1 + the lane that failed first; 0 = none */
	vfmig_cancel_t *cancel;
	bool offline;
	struct lane_waiter waiter;
	struct save_lane lane[VFMIG_STREAM_MAX_LANES];
};

static int lane_check(struct save_lane *l, const char *where)
{
	if (vfmig_cancel_requested(l->ls->cancel))
		return vfmig_err_set(&l->err, -ECANCELED, "migration cancelled %s", where);
	if (atomic_load(&l->ls->failed))
		return vfmig_err_set(&l->err, -ECANCELED, "lane %u stopped %s: another lane failed",
				     l->idx, where);
	return 0;
}

static int lane_section(struct save_lane *l, struct savevm_entry *e, uint8_t type,
			const char *phase, int (*fn)(void *, struct vfmig_save_io *),
			struct vfmig_save_io *io)
{
	uint64_t before = l->w->offset;
	int ret;

	ret = vfmig_savevm_save_section(e, type, phase, fn, io);
	atomic_fetch_add(&l->ls->sent, l->w->offset - before);
	return ret;
}

/* This lane's devices: sv->e[idx], e[idx + n], ... */
static int lane_run(struct save_lane *l)
{
	struct save_lanes *ls = l->ls;
	struct vfmig_savevm *sv = ls->sv;
	struct vfmig_save_io io = { .w = l->w, .err = &l->err, .cancel = ls->cancel,
				    .offline = ls->offline, .budget = UINT64_MAX };
	unsigned int i;
	int ret = 0;

	if (ls->phase == LANE_SETUP)
		ret = vfmig_stream_put_header(l->w, &l->err);
	for (i = l->idx; !ret && i < sv->nr; i += ls->n) {
		struct savevm_entry *e = &sv->e[i];

		if (!e->h->setup)
			continue;
		switch (ls->phase) {
		case LANE_SETUP:
			ret = lane_check(l, "during setup");
			if (ret)
				break;
			e->set_up = true;
			ret = lane_section(l, e, VFMIG_SECTION_START, "setup", e->h->setup, &io);
			break;
		case LANE_ITERATE:
			ret = lane_check(l, "during pre-copy");
			if (ret)
				break;
			if (ls->c->opts.max_bandwidth) {
				pthread_mutex_lock(&ls->conv_lock);
				io.budget = vfmig_conv_budget(ls->c, atomic_load(&ls->sent));
				pthread_mutex_unlock(&ls->conv_lock);
			}
			ret = lane_section(l, e, VFMIG_SECTION_PART, "iterate", e->h->iterate, &io);
			if (ret >= 0) {
				e->done = ret == 1;
				ret = 0;
			}
			break;
		case LANE_COMPLETE:
			ret = lane_check(l, "during stop-and-copy");
			if (!ret)
				ret = lane_section(l, e, VFMIG_SECTION_END, "complete",
						   e->h->complete, &io);
			break;
		}
	}
	for (i = l->idx; !ret && ls->phase == LANE_COMPLETE && i < sv->nr; i += ls->n) {
		struct savevm_entry *e = &sv->e[i];

		if (e->h->save_config)
			ret = lane_section(l, e, VFMIG_SECTION_FULL, "config", e->h->save_config,
					   &io);
	}
	if (!ret && ls->phase == LANE_COMPLETE)
		ret = vfmig_stream_put_eof(l->w, &l->err);
	if (!ret)
		ret = vfmig_writer_flush(l->w, &l->err);
	return ret;
}

static void *lane_thread(void *arg)
{
	struct save_lane *l = arg;

	l->ret = lane_run(l);
	if (l->ret) {
		unsigned int none = 0;

		atomic_compare_exchange_strong(&l->ls->failed, &none, l->idx + 1);
	}
	lane_done(&l->ls->waiter);
	return NULL;
}

/* Cancelled: a lane blocked on a socket wakes with an error (channels watch the flag). */
static void save_lanes_abort(void *opaque)
{
	struct save_lanes *ls = opaque;

	for (unsigned int k = 0; k < ls->n; k++)
		if (ls->lane[k].w->fd >= 0 && ls->lane[k].w->is_socket)
			shutdown(ls->lane[k].w->fd, SHUT_RDWR);
}

/* One phase in every lane at once; the first lane's failure is the cause. */
static int lanes_phase(struct save_lanes *ls, enum lane_phase phase, struct vfmig_err *err)
{
	unsigned int k, first, running = 0;
	bool aborted;
	int ret;

	ls->phase = phase;
	ls->waiter.done = 0;
	for (k = 0; k < ls->n; k++) {
		struct save_lane *l = &ls->lane[k];

		vfmig_err_clear(&l->err);
		l->ret = 0;
		ret = pthread_create(&l->tid, NULL, lane_thread, l);
		l->running = !ret;
		running += l->running;
		if (ret) {
			unsigned int none = 0;

			l->ret = vfmig_err_set(&l->err, -ret, "lane %u: thread: %s", k,
					       strerror(ret));
			atomic_compare_exchange_strong(&ls->failed, &none, k + 1);
		}
	}
	aborted = lanes_wait(&ls->waiter, running, ls->cancel, save_lanes_abort, ls);
	for (k = 0; k < ls->n; k++)
		if (ls->lane[k].running)
			pthread_join(ls->lane[k].tid, NULL);
	first = atomic_load(&ls->failed);
	if (!first)
		return 0;
	/* A cancel is seen by every lane: report it as the single stream does. */
	if (vfmig_cancel_requested(ls->cancel))
		for (k = 0; k < ls->n; k++)
			if (ls->lane[k].ret == -ECANCELED &&
			    strstr(ls->lane[k].err.msg, "migration cancelled") == ls->lane[k].err.msg)
				first = k + 1;
	*err = ls->lane[first - 1].err;
	if (aborted && ls->lane[first - 1].ret != -ECANCELED) {
		/* The lanes saw their sockets cut, not the cancel that cut them. */
		vfmig_err_prefix(err, "migration cancelled (lanes cut short): ");
		err->code = -ECANCELED;
		return -ECANCELED;
	}
	return ls->lane[first - 1].ret;
}

static uint64_t lanes_offset(const struct save_lanes *ls, bool buffered)
{
	uint64_t sum = 0;

	for (unsigned int k = 0; k < ls->n; k++)
		sum += ls->lane[k].w->offset + (buffered ? ls->lane[k].w->len : 0);
	return sum;
}

static void report(struct save_lanes *ls, const char *phase, uint64_t pending, uint64_t t0)
{
	vfmig_savevm_report(ls->sv, phase, ls->c, lanes_offset(ls, true), pending, t0);
}

static int lanes_pending(struct save_lanes *ls, uint64_t *total, struct vfmig_err *err)
{
	struct vfmig_save_io io = { .w = ls->lane[0].w, .err = err, .cancel = ls->cancel,
				    .budget = UINT64_MAX };
	struct vfmig_savevm *sv = ls->sv;
	int ret;

	*total = 0;
	for (unsigned int i = 0; i < sv->nr; i++) {
		struct savevm_entry *e = &sv->e[i];

		if (!e->h->setup)
			continue;
		ret = e->h->pending(e->opaque, &e->pending, &io);
		if (ret) {
			vfmig_err_prefix(err, "save pending of \"%s\" instance %u: ", e->idstr,
					 e->instance);
			return ret;
		}
		*total += e->pending;
	}
	return 0;
}

static int lanes_run(struct save_lanes *ls, struct vfmig_stats *st, uint64_t t0,
		     struct vfmig_err *err)
{
	struct vfmig_conv *c = ls->c;
	uint64_t down_start = t0, pending = 0;
	int ret;

	ret = lanes_phase(ls, LANE_SETUP, err);
	if (ret)
		return ret;
	st->setup_time_ms = vfmig_ns_to_ms(vfmig_conv_now(c) - t0);
	report(ls, "setup", 0, t0);
	while (!ls->offline) {
		enum vfmig_conv_decision d;

		if (vfmig_cancel_requested(ls->cancel))
			return vfmig_err_set(err, -ECANCELED, "migration cancelled during pre-copy");
		ret = lanes_pending(ls, &pending, err);
		if (ret)
			return ret;
		vfmig_stats_add_pending(st, pending);
		st->expected_downtime_ms = vfmig_conv_expected_downtime_ms(c, pending);
		report(ls, "pre-copy", pending, t0);
		d = vfmig_conv_decide(c, pending);
		if (d == VFMIG_CONV_COMPLETE)
			break;
		if (d == VFMIG_CONV_GIVE_UP)
			return vfmig_err_set(err, -ETIMEDOUT,
					     "did not converge after %u iterations: %" PRIu64
					     " bytes pending, threshold %" PRIu64 " bytes (%" PRIu64
					     " B/s x %" PRIu64 " ms)",
					     c->iterations, pending, c->threshold, c->bandwidth,
					     c->opts.downtime_limit_ms);
		vfmig_conv_begin_iteration(c, lanes_offset(ls, false));
		ret = lanes_phase(ls, LANE_ITERATE, err);
		if (ret)
			return ret;
		vfmig_conv_end_iteration(c, lanes_offset(ls, false));
		st->iterations = c->iterations;
		st->bandwidth = c->bandwidth;
		st->threshold = c->threshold;
	}
	if (!ls->offline)
		down_start = vfmig_conv_now(c);
	report(ls, "stop-and-copy", pending, t0);
	ret = lanes_phase(ls, LANE_COMPLETE, err);
	if (ret)
		return ret;
	st->downtime_ms = vfmig_ns_to_ms(vfmig_conv_now(c) - down_start);
	report(ls, "done", 0, t0);
	return 0;
}

int vfmig_savevm_save_lanes(struct vfmig_savevm *sv, const struct vfmig_endpoint *eps,
			    unsigned int lanes, const struct vfmig_conv_opts *opts,
			    const struct vfmig_clock *clock, vfmig_cancel_t *cancel,
			    struct vfmig_stats *stats, struct vfmig_err *err)
{
	struct vfmig_conv_opts defaults;
	struct vfmig_stats local;
	struct vfmig_stats *st = stats ? stats : &local;
	struct save_lanes *ls;
	struct vfmig_conv c;
	struct vfmig_err myerr;
	unsigned int k;
	uint64_t t0;
	int ret, r;

	if (lanes <= 1)
		return vfmig_savevm_save_to(sv, eps, opts, clock, cancel, stats, err);
	if (!err) {
		vfmig_err_clear(&myerr);
		err = &myerr;
	}
	vfmig_stats_init(st);
	if (lanes > VFMIG_STREAM_MAX_LANES)
		return vfmig_err_set(err, -EINVAL, "save: %u lanes, at most %u", lanes,
				     VFMIG_STREAM_MAX_LANES);
	ret = vfmig_savevm_save_opts(&opts, &defaults, err);
	if (ret)
		return ret;
	ls = calloc(1, sizeof(*ls));
	if (!ls)
		return vfmig_err_set(err, -ENOMEM, "save: out of memory");
	for (k = 0; k < lanes; k++) {
		ls->lane[k].w = malloc(sizeof(struct vfmig_writer));
		if (!ls->lane[k].w) {
			while (k--)
				free(ls->lane[k].w);
			free(ls);
			return vfmig_err_set(err, -ENOMEM, "save: out of memory");
		}
		vfmig_writer_init_endpoint(ls->lane[k].w, &eps[k]);
		/* A channel (in-process migrate) moves data in place, never compressed. */
		ret = eps[k].chan ? 0 : vfmig_writer_set_compress(ls->lane[k].w, opts->compress,
								  opts->compress_level, err);
		if (ret) {
			do {
				vfmig_writer_fini(ls->lane[k].w);
				free(ls->lane[k].w);
			} while (k--);
			free(ls);
			return ret;
		}
		ls->lane[k].w->cancel = cancel;
		ls->lane[k].w->params.lanes = (uint16_t)lanes;
		ls->lane[k].w->params.lane = (uint16_t)k;
		ls->lane[k].ls = ls;
		ls->lane[k].idx = k;
	}
	ls->sv = sv;
	ls->n = lanes;
	ls->c = &c;
	ls->cancel = cancel;
	ls->offline = opts->offline;
	waiter_init(&ls->waiter);
	pthread_mutex_init(&ls->conv_lock, NULL);
	vfmig_conv_init(&c, opts, clock);
	t0 = vfmig_conv_now(&c);
	vfmig_savevm_save_begin(sv, opts, st);

	ret = lanes_run(ls, st, t0, err);
	/* Every device of every lane: restarted on failure, left stopped on success. */
	r = vfmig_savevm_cleanup(sv, ret != 0, err);
	if (!ret)
		ret = r;

	vfmig_savevm_save_end(sv, &c, t0, lanes_offset(ls, false), ret, st, err);
	pthread_mutex_destroy(&ls->conv_lock);
	waiter_destroy(&ls->waiter);
	for (k = 0; k < lanes; k++) {
		vfmig_writer_fini(ls->lane[k].w);
		free(ls->lane[k].w);
	}
	free(ls);
	return ret;
}

/* ---- load ---- */

struct load_lanes;

struct load_lane {
	struct load_lanes *ll;
	unsigned int idx;
	struct vfmig_reader *r;
	struct vfmig_err err;
	int ret;
	pthread_t tid;
	bool running;
};

struct load_lanes {
	struct vfmig_savevm *sv;
	const struct vfmig_lane_source *src;
	vfmig_cancel_t *cancel;
	unsigned int n;
	atomic_uint failed;
	struct lane_waiter waiter;
	struct load_lane lane[VFMIG_STREAM_MAX_LANES];
};

static void load_fail(struct load_lanes *ll, unsigned int k)
{
	unsigned int none = 0;

	/* The first failure stops every other lane's input, and so the sender. */
	if (atomic_compare_exchange_strong(&ll->failed, &none, k + 1) && ll->src &&
	    ll->src->abort)
		ll->src->abort(ll->src->opaque);
}

static void *load_thread(void *arg)
{
	struct load_lane *l = arg;

	l->ret = vfmig_savevm_load_sections(l->ll->sv, l->r, (int)l->idx, l->ll->cancel,
					    &l->err);
	if (l->ret) {
		vfmig_err_prefix(&l->err, "lane %u: ", l->idx);
		load_fail(l->ll, l->idx);
	}
	lane_done(&l->ll->waiter);
	return NULL;
}

/* Cancelled: every lane's input ends (the lane source's abort). */
static void load_lanes_abort(void *opaque)
{
	struct load_lanes *ll = opaque;

	if (ll->src && ll->src->abort)
		ll->src->abort(ll->src->opaque);
}

/* Each further lane once, with the lane count of lane 0. */
static int load_open_lanes(struct load_lanes *ll, struct vfmig_reader *first,
			   struct vfmig_err *err)
{
	unsigned int k;
	int ret;

	ll->lane[0].r = first;
	for (k = 1; k < ll->n; k++) {
		struct vfmig_endpoint ep = { .fd = -1 };
		struct vfmig_reader *r;
		unsigned int lane;

		ret = ll->src->open(ll->src->opaque, k, ll->n, &ep, err);
		if (ret)
			return ret;
		r = malloc(sizeof(*r));
		if (!r)
			return vfmig_err_set(err, -ENOMEM, "load: out of memory");
		vfmig_reader_init_endpoint(r, &ep);
		r->cancel = ll->cancel;
		ret = vfmig_stream_get_header(r, err);
		lane = r->params.lane;
		if (!ret && r->params.lanes != ll->n)
			ret = vfmig_err_set(err, -EPROTO,
					    "lane %u announces %u lanes, lane 0 announced %u",
					    lane, r->params.lanes, ll->n);
		else if (!ret && ll->lane[lane].r)
			ret = vfmig_err_set(err, -EPROTO, "lane %u of %u arrived twice", lane,
					    ll->n);
		if (ret) {
			vfmig_reader_fini(r);
			free(r);
			return ret;
		}
		ll->lane[lane].r = r;
	}
	return 0;
}

static int load_lanes_run(struct load_lanes *ll, struct vfmig_reader *first,
			  struct vfmig_err *err)
{
	unsigned int k, running = 0;
	uint64_t offset = 0;
	bool aborted;
	int ret;

	ret = vfmig_stream_get_header(first, err);
	if (ret)
		return ret;
	ll->n = first->params.lanes;
	if (ll->n > 1 && first->params.lane != 0)
		return vfmig_err_set(err, -EPROTO,
				     "the first connection carries lane %u of %u, not lane 0",
				     first->params.lane, ll->n);
	if (ll->n > 1 && (!ll->src || !ll->src->open))
		return vfmig_err_set(err, -EPROTO,
				     "stream is lane %u of %u: it loads only with its other lanes",
				     first->params.lane, ll->n);
	ret = vfmig_savevm_load_setup(ll->sv, err);
	if (ret)
		return ret;
	if (ll->n == 1) {
		ret = vfmig_savevm_load_sections(ll->sv, first, -1, ll->cancel, err);
		return ret ? ret : vfmig_savevm_load_check(ll->sv, vfmig_reader_offset(first), err);
	}
	ret = load_open_lanes(ll, first, err);
	if (ret)
		return ret;
	for (k = 0; k < ll->n; k++) {
		struct load_lane *l = &ll->lane[k];

		l->ll = ll;
		l->idx = k;
		vfmig_err_clear(&l->err);
		ret = pthread_create(&l->tid, NULL, load_thread, l);
		l->running = !ret;
		running += l->running;
		if (ret) {
			l->ret = vfmig_err_set(&l->err, -ret, "lane %u: thread: %s", k,
					       strerror(ret));
			load_fail(ll, k);
		}
	}
	aborted = lanes_wait(&ll->waiter, running, ll->cancel, load_lanes_abort, ll);
	for (k = 0; k < ll->n; k++)
		if (ll->lane[k].running)
			pthread_join(ll->lane[k].tid, NULL);
	k = atomic_load(&ll->failed);
	if (k) {
		*err = ll->lane[k - 1].err;
		if (aborted && ll->lane[k - 1].ret != -ECANCELED) {
			/* The lanes saw their input cut, not the cancel that cut it. */
			vfmig_err_prefix(err, "load cancelled (lanes cut short): ");
			err->code = -ECANCELED;
			return -ECANCELED;
		}
		return ll->lane[k - 1].ret;
	}
	for (k = 0; k < ll->n; k++)
		offset += vfmig_reader_offset(ll->lane[k].r);
	/* What the single stream checks, over all lanes together. */
	return vfmig_savevm_load_check(ll->sv, offset, err);
}

int vfmig_savevm_load_lanes(struct vfmig_savevm *sv, const struct vfmig_endpoint *first,
			    const struct vfmig_lane_source *src, vfmig_cancel_t *cancel,
			    struct vfmig_err *err)
{
	struct load_lanes *ll;
	struct vfmig_err myerr;
	unsigned int k;
	int ret;

	if (!err) {
		vfmig_err_clear(&myerr);
		err = &myerr;
	}
	ll = calloc(1, sizeof(*ll));
	if (ll)
		ll->lane[0].r = malloc(sizeof(struct vfmig_reader));
	if (!ll || !ll->lane[0].r) {
		free(ll);
		return vfmig_err_set(err, -ENOMEM, "load: out of memory");
	}
	ll->sv = sv;
	ll->src = src;
	ll->cancel = cancel;
	waiter_init(&ll->waiter);
	vfmig_reader_init_endpoint(ll->lane[0].r, first);
	ll->lane[0].r->cancel = cancel;
	vfmig_savevm_load_reset(sv);
	ret = load_lanes_run(ll, ll->lane[0].r, err);
	if (ret && src && src->abort && !atomic_load(&ll->failed))
		src->abort(src->opaque);
	ret = vfmig_savevm_load_cleanup(sv, ret, err);
	for (k = 0; k < VFMIG_STREAM_MAX_LANES; k++) {
		if (ll->lane[k].r)
			vfmig_reader_fini(ll->lane[k].r);
		free(ll->lane[k].r);
	}
	waiter_destroy(&ll->waiter);
	free(ll);
	return ret;
}
