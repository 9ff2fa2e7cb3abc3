// SPDX-License-Identifier: GPL-2.0
/*
 * The public API's host-side behaviour (libvfmig.h only): the context,
 * options and their limits, the error object, cancel, the log callback,
 * and the calls that fail cleanly without a device.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "vfmig/libvfmig.h"

static int setup(void **state)
{
	struct vfmig_ctx *ctx;

	if (vfmig_ctx_new(&ctx))
		return -1;
	*state = ctx;
	return 0;
}

static int teardown(void **state)
{
	vfmig_ctx_free(*state);
	return 0;
}

static void test_version(void **state)
{
	unsigned int major, minor, patch;

	(void)state;
	assert_int_equal(sscanf(vfmig_version(), "%u.%u.%u", &major, &minor, &patch), 3);
}

static void test_option_defaults_and_limits(void **state)
{
	struct vfmig_ctx *ctx = *state;

	assert_int_equal(vfmig_get_option(ctx, VFMIG_OPT_DOWNTIME_LIMIT_MS), 300);
	assert_int_equal(vfmig_get_option(ctx, VFMIG_OPT_MAX_BANDWIDTH), 0);
	assert_int_equal(vfmig_get_option(ctx, VFMIG_OPT_OFFLINE), 0);
	assert_int_equal(vfmig_set_option(ctx, VFMIG_OPT_DOWNTIME_LIMIT_MS, 2000000), 0);
	assert_int_equal(vfmig_get_option(ctx, VFMIG_OPT_DOWNTIME_LIMIT_MS), 2000000);
	assert_int_equal(vfmig_error_code(ctx), 0);
	assert_string_equal(vfmig_error_message(ctx), "");
	/* Refused values leave the option as it was and say why. */
	assert_int_equal(vfmig_set_option(ctx, VFMIG_OPT_DOWNTIME_LIMIT_MS, 2000001), -EINVAL);
	assert_int_equal(vfmig_get_option(ctx, VFMIG_OPT_DOWNTIME_LIMIT_MS), 2000000);
	assert_int_equal(vfmig_error_code(ctx), -EINVAL);
	assert_non_null(strstr(vfmig_error_message(ctx), "more than 2000000 ms"));
	assert_int_equal(vfmig_set_option(ctx, VFMIG_OPT_MAX_ITERATIONS, 1000001), -EINVAL);
	assert_int_equal(vfmig_set_option(ctx, (enum vfmig_option)99, 1), -EINVAL);
	assert_non_null(strstr(vfmig_error_message(ctx), "unknown option 99"));
	/* The next call that succeeds clears the error. */
	assert_int_equal(vfmig_set_option(ctx, VFMIG_OPT_NO_MMAP, 7), 0);
	assert_int_equal(vfmig_get_option(ctx, VFMIG_OPT_NO_MMAP), 1);
	assert_int_equal(vfmig_error_code(ctx), 0);
	/* Lanes: one by default, 0 = one per CPU, at most one per device. */
	assert_int_equal(vfmig_get_option(ctx, VFMIG_OPT_PARALLEL), 1);
	assert_int_equal(vfmig_set_option(ctx, VFMIG_OPT_PARALLEL, 0), 0);
	assert_int_equal(vfmig_get_option(ctx, VFMIG_OPT_PARALLEL), 0);
	assert_int_equal(vfmig_set_option(ctx, VFMIG_OPT_PARALLEL, 16), 0);
	assert_int_equal(vfmig_set_option(ctx, VFMIG_OPT_PARALLEL, 17), -EINVAL);
	assert_non_null(strstr(vfmig_error_message(ctx), "parallel 17"));
	assert_int_equal(vfmig_get_option(ctx, VFMIG_OPT_PARALLEL), 16);
}

static void test_cancel_flag(void **state)
{
	struct vfmig_ctx *ctx = *state;

	assert_false(vfmig_cancelled(ctx));
	vfmig_cancel(ctx);
	assert_true(vfmig_cancelled(ctx));
	vfmig_clear_cancel(ctx);
	assert_false(vfmig_cancelled(ctx));
}

struct log_record {
	int calls;
	enum vfmig_log_level level;
	char last[256];
};

static void record_log(void *opaque, enum vfmig_log_level level, const char *msg)
{
	struct log_record *r = opaque;

	r->calls++;
	r->level = level;
	snprintf(r->last, sizeof(r->last), "%s", msg);
}

/* A listening loopback socket; its port in *port. */
static int listen_loopback(char port[16])
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(port, 16, "%u", ntohs(sa.sin_port));
	return fd;
}

static void test_log_levels(void **state)
{
	struct vfmig_ctx *ctx = *state;
	struct log_record r = { 0 };
	char port[16], hp[64];
	int lfd = listen_loopback(port), fd;

	snprintf(hp, sizeof(hp), "127.0.0.1:%s", port);
	/* The connect is an INFO step: not passed on at WARNING. */
	vfmig_set_log(ctx, record_log, &r, VFMIG_LOG_WARNING);
	fd = vfmig_connect(ctx, hp);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(r.calls, 0);
	vfmig_set_log(ctx, record_log, &r, VFMIG_LOG_INFO);
	fd = vfmig_connect(ctx, hp);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.level, VFMIG_LOG_INFO);
	snprintf(hp, sizeof(hp), "send: connected to 127.0.0.1:%s", port);
	assert_string_equal(r.last, hp);
	/* No callback: nothing breaks. */
	vfmig_set_log(ctx, NULL, NULL, VFMIG_LOG_DEBUG);
	fd = vfmig_connect(ctx, "127.0.0.1:1");
	assert_true(fd < 0);
	close(lfd);
}

static void test_connect_errors(void **state)
{
	struct vfmig_ctx *ctx = *state;

	assert_int_equal(vfmig_connect(ctx, "no-port-here"), -EINVAL);
	assert_string_equal(vfmig_error_message(ctx), "send: 'no-port-here' is not HOST:PORT");
	assert_int_equal(vfmig_connect(ctx, "[::1"), -EINVAL);
	/* Port 1 on loopback: nothing listens there. */
	assert_int_equal(vfmig_connect(ctx, "127.0.0.1:1"), -ECONNREFUSED);
	assert_non_null(strstr(vfmig_error_message(ctx), "cannot connect to 127.0.0.1:1"));
}

static void test_session_refuses_bad_counts(void **state)
{
	struct vfmig_ctx *ctx = *state;
	const char *uuids[VFMIG_MAX_DEVICES + 1] = { 0 };
	struct vfmig_session *s = (void *)1;

	assert_int_equal(vfmig_session_open(ctx, uuids, 0, &s), -EINVAL);
	assert_null(s);
	assert_int_equal(vfmig_session_open(ctx, uuids, VFMIG_MAX_DEVICES + 1, &s), -EINVAL);
	assert_non_null(strstr(vfmig_error_message(ctx), "1 to 16 devices"));
}

static void test_session_no_such_device(void **state)
{
	struct vfmig_ctx *ctx = *state;
	const char *uuids[] = { "6a0b0ba5-8f0e-4a3f-9a55-3b6f2f1e2d10" };
	struct vfmig_session *s;

	assert_true(vfmig_session_open(ctx, uuids, 1, &s) < 0);
	assert_null(s);
	assert_non_null(strstr(vfmig_error_message(ctx), uuids[0]));
}

static void test_inspect_refuses_garbage(void **state)
{
	struct vfmig_ctx *ctx = *state;
	FILE *devnull = fopen("/dev/null", "w");
	int fds[2];

	assert_non_null(devnull);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "not a stream at all", 19), 19);
	close(fds[1]);
	assert_true(vfmig_inspect(ctx, fds[0], devnull) < 0);
	assert_true(vfmig_error_message(ctx)[0] != '\0');
	close(fds[0]);
	fclose(devnull);
}

static void test_uuid_check(void **state)
{
	(void)state;
	assert_true(vfmig_is_uuid("6a0b0ba5-8f0e-4a3f-9a55-3b6f2f1e2d10"));
	assert_false(vfmig_is_uuid("6a0b0ba5-8f0e-4a3f-9a55-3b6f2f1e2d1"));
	assert_false(vfmig_is_uuid(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version),
		cmocka_unit_test_setup_teardown(test_option_defaults_and_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_flag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_levels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_refuses_bad_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_no_such_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inspect_refuses_garbage, setup, teardown),
		cmocka_unit_test(test_uuid_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
