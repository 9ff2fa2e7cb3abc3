// SPDX-License-Identifier: GPL-2.0
/*
 * timeit CMD [ARGS...]: run CMD, then print to stderr one line
 * "timeit wall-ns N maxrss-kib M status S": its wall time from fork to exit
 * and its peak RSS from wait4().  Exits with CMD's status (128+signal if
 * killed).  `make bench` uses it instead of two date(1) calls, whose own
 * start-up under TCG costs hundreds of milliseconds.
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct rusage ru;
	uint64_t t0, t1;
	int status, code;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: timeit CMD [ARGS...]\n");
		return 2;
	}
	t0 = now_ns();
	pid = fork();
	if (pid < 0) {
		perror("timeit: fork");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		perror("timeit: exec");
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("timeit: wait4");
		return 1;
	}
	t1 = now_ns();
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	fprintf(stderr, "timeit wall-ns %llu maxrss-kib %ld status %d\n",
		(unsigned long long)(t1 - t0), ru.ru_maxrss, code);
	return code;
}
