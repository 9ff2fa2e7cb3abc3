/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small kselftest-style harness for the VM suites (our own; the kernel's
 * kselftest_harness.h is not vendored).
 *
 * Tests run in order, each in a forked child with a timeout, so a crash or
 * hang fails one test and the suite goes on.  Output is TAP 13 with a
 * kselftest-like "# Totals:" line; the exit status is 0 when nothing failed.
 *
 *	static int test_foo(void) { CHECK(x == 1, "x is %d", x); return TAP_PASS; }
 *	static const struct tap_test tests[] = { TAP_TEST(test_foo), ... };
 *	int main(void) { return tap_run("suite", tests, TAP_COUNT(tests)); }
 */
#ifndef VFMIG_TAP_H
#define VFMIG_TAP_H

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

enum { TAP_PASS = 0, TAP_FAIL = 1, TAP_SKIP = 4 };

struct tap_test {
	const char *name;
	int (*fn)(void);
	unsigned int timeout;	/* seconds; 0 = default */
};

#define TAP_TEST(f) { #f, f, 0 }
#define TAP_TEST_TIMEOUT(f, t) { #f, f, t }
#define TAP_COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define TAP_DEFAULT_TIMEOUT 60

/* Skip reason, shared with the forked child. */
static char *tap_skip_reason;

static inline void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

/* Fail the current test with a diagnostic naming the place and errno. */
#define CHECK(cond, fmt, ...) do {						\
	if (!(cond)) {								\
		int e_ = errno;							\
		tap_diag("%s:%d: check '%s' failed: " fmt " (errno %d: %s)",	\
			 __FILE__, __LINE__, #cond, ##__VA_ARGS__, e_,		\
			 strerror(e_));						\
		return TAP_FAIL;						\
	}									\
} while (0)

#define SKIP(fmt, ...) do {							\
	snprintf(tap_skip_reason, 256, fmt, ##__VA_ARGS__);			\
	return TAP_SKIP;							\
} while (0)

static inline int tap_run(const char *suite, const struct tap_test *tests, size_t n)
{
	unsigned int pass = 0, fail = 0, skip = 0;

	tap_skip_reason = mmap(NULL, 256, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (tap_skip_reason == MAP_FAILED)
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n1..%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		unsigned int t = tests[i].timeout ? tests[i].timeout : TAP_DEFAULT_TIMEOUT;
		int status, res;
		pid_t pid;

		tap_skip_reason[0] = '\0';
		tap_diag("%s: %s", suite, tests[i].name);
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			alarm(t);
			res = tests[i].fn();
			fflush(stdout);
			_exit(res);
		}
		if (pid < 0 || waitpid(pid, &status, 0) != pid) {
			res = TAP_FAIL;
		} else if (WIFSIGNALED(status)) {
			tap_diag("%s: %s", tests[i].name,
				 WTERMSIG(status) == SIGALRM ? "timed out" : strsignal(WTERMSIG(status)));
			res = TAP_FAIL;
		} else {
			res = WEXITSTATUS(status);
		}
		if (res == TAP_PASS) {
			pass++;
			printf("ok %zu %s.%s\n", i + 1, suite, tests[i].name);
		} else if (res == TAP_SKIP) {
			skip++;
			printf("ok %zu %s.%s # SKIP %s\n", i + 1, suite, tests[i].name,
			       tap_skip_reason);
		} else {
			fail++;
			printf("not ok %zu %s.%s\n", i + 1, suite, tests[i].name);
		}
	}
	printf("# Totals: pass:%u fail:%u xfail:0 xpass:0 skip:%u error:0\n", pass, fail, skip);
	munmap(tap_skip_reason, 256);
	return fail ? 1 : 0;
}

#endif /* VFMIG_TAP_H */
