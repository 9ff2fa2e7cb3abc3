// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the engine's stream reader, as `vfmig inspect` and
 * `vfmig resume` use it.  Each input is a whole stream, read from a memfd:
 *
 *  1. vfmig_stream_inspect() walks it (output to /dev/null);
 *  2. vfmig_savevm_load() resumes it into the rig's two fake devices
 *     (rig.h) through the v1 device handler and the fake's own record
 *     checks, as `vfmig resume` does into real devices.
 *
 * Besides the sanitizers, the target aborts (a finding) when
 *  - a refusal is not one clear line: the error code differs from the
 *    return value, the message is empty, or it holds a control character;
 *  - the loader accepts a stream that inspect refuses (inspect promises
 *    "every check the loader makes is made here too");
 *  - inspect accepts a stream but its byte total differs from the input's
 *    size (something after EOF would have been ignored);
 *  - a load succeeds but leaves a device anywhere but RESUMING, or with a
 *    config blob other than the one the stream carried.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* memfd_create */
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rig.h"
#include "stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd = -1;
static FILE *devnull;

static void finding(const char *what, const struct vfmig_err *err)
{
	fprintf(stderr, "stream_fuzz: %s (error %d: \"%s\")\n", what, err->code, err->msg);
	abort();
}

/* A refusal is one line: the code returned, a message without control bytes. */
static void check_refusal(const char *who, int ret, const struct vfmig_err *err)
{
	const char *p;

	if (ret > 0)
		finding(who, err);
	if (!ret)
		return;
	if (err->code != ret || !err->msg[0]) {
		fprintf(stderr, "stream_fuzz: %s returned %d\n", who, ret);
		finding("refusal without a matching error code and message", err);
	}
	for (p = err->msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			finding("refusal message with a control character", err);
}

static void setup(void)
{
	memfd = memfd_create("stream_fuzz", 0);
	devnull = fopen("/dev/null", "w");
	if (memfd < 0 || !devnull) {
		perror("stream_fuzz: setup");
		abort();
	}
}

static void load_input(const uint8_t *data, size_t size)
{
	size_t done = 0;

	if (ftruncate(memfd, 0))
		abort();
	while (done < size) {
		ssize_t n = pwrite(memfd, data + done, size - done, (off_t)done);

		if (n <= 0)
			abort();
		done += (size_t)n;
	}
	if (lseek(memfd, 0, SEEK_SET))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vfmig_inspect_totals t;
	struct vfmig_err ierr, lerr;
	struct rig rig;
	int iret, lret, i;

	if (memfd < 0)
		setup();
	load_input(data, size);

	vfmig_err_clear(&ierr);
	memset(&t, 0, sizeof(t));
	iret = vfmig_stream_inspect(memfd, devnull, &t, &ierr);
	check_refusal("inspect", iret, &ierr);
	if (!iret && t.bytes != size)
		finding("inspect accepted a stream but counted another size", &ierr);

	vfmig_err_clear(&lerr);
	if (lseek(memfd, 0, SEEK_SET))
		abort();
	if (rig_init(&rig, (1u << RIG_NR_DEVS) - 1, NULL, 1000, &lerr))
		finding("rig setup failed", &lerr);
	lret = vfmig_savevm_load(rig.sv, memfd, NULL, &lerr);
	check_refusal("load", lret, &lerr);
	if (!lret && iret)
		finding("load accepted a stream that inspect refuses", &ierr);
	if (!lret) {
		for (i = 0; i < RIG_NR_DEVS; i++)
			if ((rig.d[i].fake.state & VFMIG_V1_STATE_MASK) != VFMIG_V1_STATE_RESUMING)
				finding("a loaded device is not in RESUMING", &lerr);
		/* Device 0 saves RIG_CONFIG_LEN bytes; its FULL section is optional. */
		if (rig.d[0].config_len && rig.d[0].config_len != RIG_CONFIG_LEN)
			finding("config blob of the wrong size loaded", &lerr);
	}
	rig_fini(&rig);
	return 0;
}
