// SPDX-License-Identifier: GPL-2.0
/*
 * vfmig status [--json] UUID...: the migration-relevant state of devices,
 * live, from sysfs alone, so it works while another process (QEMU, a
 * running vfmig migrate) holds the device open.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vfmig/abi.h"

static const char status_usage[] =
	"usage: vfmig status [--json] UUID...\n\n"
	"Print each device's migration-relevant state, read live from sysfs (it\n"
	"works while another process has the device open): the migration protocols\n"
	"it offers (v1, v2 or both), protocol state, bytes\n"
	"a running save still has to send, dirty rate and bytes dirtied, save and\n"
	"restore counters, memory size and generation.\n\n"
	"options:\n"
	"  --json                one JSON object per device, one per line\n"
	"  -h, --help            this text\n";

/* The knobs shown, in order; all are unsigned decimal numbers. */
static const char *const fields[] = {
	"pending_bytes", "dirty_rate", "dirty_working_set", "stat_bytes_dirtied",
	"generation", "state_size", "stat_iterations", "stat_bytes_saved",
	"stat_chunks_saved", "stat_bytes_restored", "stat_chunks_restored",
};
#define NR_FIELDS (sizeof(fields) / sizeof(fields[0]))

static const char *state_name(uint64_t s)
{
	static const char *const names[8] = {
		"stop", "running", "stop-and-copy", "pre-copy",
		"resuming", "invalid", "error", "invalid",
	};

	return names[s & VFMIG_V1_STATE_MASK];
}

static int knob_u64(const char *uuid, const char *name, uint64_t *v)
{
	char buf[64], *end;

	if (vfmig_mdev_get_attr(cli_ctx(), uuid, name, buf, sizeof(buf)))
		return cli_fail();
	*v = strtoull(buf, &end, 10);
	if (end == buf)
		return cli_failf("device %s: %s: not a number: '%s'", uuid, name, buf);
	return 0;
}

static int show_one(const char *uuid, bool json)
{
	uint64_t state, v[NR_FIELDS];
	char proto[16];

	if (knob_u64(uuid, "device_state", &state))
		return 1;
	/* vfmig/protocol: what the device offers (v1, v2 or both). */
	if (vfmig_mdev_get_attr(cli_ctx(), uuid, "protocol", proto, sizeof(proto)))
		return cli_fail();
	for (size_t i = 0; i < NR_FIELDS; i++)
		if (knob_u64(uuid, fields[i], &v[i]))
			return 1;
	if (json) {
		printf("{\"uuid\": \"%s\", \"device_state\": \"%s\"", uuid, state_name(state));
		for (size_t i = 0; i < NR_FIELDS; i++)
			printf(", \"%s\": %" PRIu64, fields[i], v[i]);
		/* Last: the fields before it keep their places for existing parsers. */
		printf(", \"protocol\": \"%s\"}\n", proto);
		return 0;
	}
	printf("%s\n  %-22s %s\n", uuid, "protocol", proto);
	printf("  %-22s %s (%" PRIu64 ")\n", "device_state", state_name(state), state);
	for (size_t i = 0; i < NR_FIELDS; i++)
		printf("  %-22s %" PRIu64 "\n", fields[i], v[i]);
	return 0;
}

int cmd_status(int argc, char **argv)
{
	bool json = false;
	int first = 1, ret = 0;

	if (cli_wants_help(argc, argv)) {
		fputs(status_usage, stdout);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--json")) {
		json = true;
		first = 2;
	}
	if (first >= argc) {
		fputs(status_usage, stderr);
		return 2;
	}
	for (int i = first; i < argc; i++) {
		if (argv[i][0] == '-')
			return cli_failf("status: unknown option '%s'", argv[i]);
		if (!vfmig_is_uuid(argv[i]))
			return cli_failf("status: '%s' is not a UUID", argv[i]);
		if (show_one(argv[i], json))
			ret = 1;
	}
	return ret;
}
