// SPDX-License-Identifier: GPL-2.0
/* vfmig info UUID: regions, capabilities, sparse areas, state, knobs. */
#include <stdio.h>

#include "cli.h"

static const char info_usage[] =
	"usage: vfmig info UUID\n\n"
	"Open the device through VFIO and print what it reports: device flags,\n"
	"regions with their capabilities and sparse-mmap areas, then the\n"
	"device's vfmig/ knobs (checksum, state size, ...).\n";

int cmd_info(int argc, char **argv)
{
	if (cli_wants_help(argc, argv) || argc != 2) {
		fputs(info_usage, argc != 2 ? stderr : stdout);
		return argc != 2 ? 2 : 0;
	}
	if (vfmig_mdev_describe(cli_ctx(), argv[1], stdout))
		return cli_fail();
	return 0;
}
