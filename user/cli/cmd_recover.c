// SPDX-License-Identifier: GPL-2.0
/* vfmig recover UUID... */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char recover_usage[] =
	"usage: vfmig recover [--force] UUID...\n\n"
	"Bring devices left behind by a killed or failed migration back to RUNNING.\n"
	"A device in STOP, RUNNING, pre-copy or stop-and-copy gets a device_state\n"
	"write (its memory is kept as it is: a source stopped mid-migration runs\n"
	"again with the state it had); one in RESUMING or the error state, or one\n"
	"that refuses the write, gets VFIO_DEVICE_RESET.  Prints what it did for\n"
	"each device.  Only run it on a source once you know its stream reached no\n"
	"running destination: otherwise two copies of the device would run.\n"
	"A destination that holds a whole migrated state that never ran\n"
	"(vfmig/resume_held) is refused: its source may run.  --force starts it\n"
	"anyway, for when that source is gone.\n";

int cmd_recover(int argc, char **argv)
{
	int status = 0, first = 1;

	if (cli_wants_help(argc, argv)) {
		fputs(recover_usage, stdout);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--force")) {
		vfmig_set_option(cli_ctx(), VFMIG_OPT_RECOVER_HELD, 1);
		first = 2;
	}
	if (argc <= first) {
		fputs(recover_usage, stderr);
		return 2;
	}
	for (int i = first; i < argc; i++) {
		char summary[256];

		if (vfmig_recover(cli_ctx(), argv[i], summary, sizeof(summary)))
			status = cli_fail();
		else
			printf("%s: %s\n", argv[i], summary);
	}
	return status;
}
