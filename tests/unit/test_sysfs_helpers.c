// SPDX-License-Identifier: GPL-2.0
/* Unit tests for the sysfs helpers of user/lib/mdev.c (no kernel needed). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mdev.h"

static void test_uuid_valid(void **state)
{
	(void)state;
	assert_int_equal(vfmig_uuid_valid("f1e00001-0000-4000-8000-000000000001"), 0);
	assert_int_equal(vfmig_uuid_valid("F1E00001-ABCD-4000-8000-00000000000F"), 0);
	assert_int_equal(vfmig_uuid_valid(""), -EINVAL);
	assert_int_equal(vfmig_uuid_valid("f1e00001-0000-4000-8000-00000000000"), -EINVAL);
	assert_int_equal(vfmig_uuid_valid("f1e00001-0000-4000-8000-0000000000011"), -EINVAL);
	assert_int_equal(vfmig_uuid_valid("f1e00001_0000-4000-8000-000000000001"), -EINVAL);
	assert_int_equal(vfmig_uuid_valid("g1e00001-0000-4000-8000-000000000001"), -EINVAL);
	assert_int_equal(vfmig_uuid_valid("../../../../etc/passwd-000000000000"), -EINVAL);
}

static void test_copy_str_truncates(void **state)
{
	char small[5];

	(void)state;
	vfmig_copy_str(small, sizeof(small), "abcdefgh");
	assert_string_equal(small, "abcd");
	vfmig_copy_str(small, sizeof(small), "ab");
	assert_string_equal(small, "ab");
}

static void test_sysfs_read_write(void **state)
{
	char path[] = "/tmp/vfmig-unit-XXXXXX", buf[16];
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(vfmig_sysfs_write(path, "1234\n"), 0);
	assert_int_equal(vfmig_sysfs_read(path, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1234");	/* newline stripped */
	/* Longer content is cut to the buffer, still terminated. */
	assert_int_equal(vfmig_sysfs_write(path, "0123456789abcdefXYZ"), 0);
	assert_int_equal(vfmig_sysfs_read(path, buf, sizeof(buf)), 0);
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	unlink(path);
	assert_int_equal(vfmig_sysfs_read(path, buf, sizeof(buf)), -ENOENT);
	assert_int_equal(vfmig_sysfs_write("/nonexistent/dir/x", "1"), -ENOENT);
}

static void test_create_without_module(void **state)
{
	char uuid[VFMIG_UUID_LEN + 1];
	struct vfmig_ctx *ctx;

	(void)state;
	/* The host kernel never has vfmig loaded: a clear error, not a crash. */
	if (access(VFMIG_SYSFS_PARENT, F_OK) == 0)
		skip();
	assert_int_equal(vfmig_ctx_new(&ctx), 0);
	assert_int_equal(vfmig_mdev_create(ctx, "vfmig-small", NULL, uuid), -ENODEV);
	assert_non_null(strstr(vfmig_error_message(ctx), "module loaded"));
	assert_int_equal(vfmig_error_code(ctx), -ENODEV);
	assert_int_equal(vfmig_mdev_create(ctx, "vfmig-small", "bad", uuid), -ENODEV);
	vfmig_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uuid_valid),
		cmocka_unit_test(test_copy_str_truncates),
		cmocka_unit_test(test_sysfs_read_write),
		cmocka_unit_test(test_create_without_module),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
