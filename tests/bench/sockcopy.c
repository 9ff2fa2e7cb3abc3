// SPDX-License-Identifier: GPL-2.0
/*
 * sockcopy BYTES BLOCK: the raw loopback TCP path the tcp rows are measured
 * against.  A child accepts on 127.0.0.1 and reads until EOF in BLOCK-sized
 * reads; the parent connects and sends BYTES from one BLOCK-sized buffer in
 * BLOCK-sized writes, then waits for the child.  Prints one JSON line with
 * the wall time from connect to the receiver's exit (as a send's wall time
 * ends with the receiver's verdict).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int receiver(int lfd, size_t block, uint64_t want)
{
	char *buf = malloc(block);
	uint64_t got = 0;
	int fd = accept(lfd, NULL, NULL);

	if (fd < 0 || !buf) {
		perror("sockcopy: accept");
		return 1;
	}
	for (;;) {
		ssize_t n = read(fd, buf, block);

		if (n < 0) {
			perror("sockcopy: read");
			return 1;
		}
		if (n == 0)
			break;
		got += (uint64_t)n;
	}
	if (got != want) {
		fprintf(stderr, "sockcopy: received %llu of %llu bytes\n",
			(unsigned long long)got, (unsigned long long)want);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t salen = sizeof(sa);
	uint64_t bytes, left, t0, t1;
	size_t block;
	char *buf;
	int lfd, fd, status;
	pid_t pid;

	if (argc != 3 || !(bytes = strtoull(argv[1], NULL, 0)) ||
	    !(block = strtoull(argv[2], NULL, 0))) {
		fprintf(stderr, "usage: sockcopy BYTES BLOCK\n");
		return 2;
	}
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &salen)) {
		perror("sockcopy: listen");
		return 1;
	}
	pid = fork();
	if (pid == 0)
		_exit(receiver(lfd, block, bytes));
	buf = malloc(block);
	if (pid < 0 || !buf) {
		perror("sockcopy: fork");
		return 1;
	}
	memset(buf, 0x5a, block);
	t0 = now_ns();
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("sockcopy: connect");
		return 1;
	}
	for (left = bytes; left;) {
		size_t n = left < block ? left : block;
		ssize_t w = write(fd, buf, n);

		if (w <= 0) {
			perror("sockcopy: write");
			return 1;
		}
		left -= (uint64_t)w;
	}
	close(fd);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		return 1;
	t1 = now_ns();
	printf("{\"bytes\": %llu, \"block\": %zu, \"wall-ns\": %llu}\n", (unsigned long long)bytes,
	       block, (unsigned long long)(t1 - t0));
	return 0;
}
