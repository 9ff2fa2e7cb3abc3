// SPDX-License-Identifier: GPL-2.0
/* vfmig recover UUID... */
#include <stdio.h>

#include "cli.h"
#include "recover.h"
#include "v1.h"

static const char recover_usage[] =
	"usage: vfmig recover UUID...\n\n"
	"Bring devices left behind by a killed or failed migration back to RUNNING.\n"
	"A device in STOP, RUNNING, pre-copy or stop-and-copy gets a device_state\n"
	"write (its memory is kept as it is: a source stopped mid-migration runs\n"
	"again with the state it had); one in RESUMING or the error state, or one\n"
	"that refuses the write, gets VFIO_DEVICE_RESET.  Prints what it did for\n"
	"each device.  Only run it on a source once you know its stream reached no\n"
	"running destination: otherwise two copies of the device would run.\n";

int cmd_recover(int argc, char **argv)
{
	int status = 0;

	if (cli_wants_help(argc, argv)) {
		fputs(recover_usage, stdout);
		return 0;
	}
	if (argc < 2) {
		fputs(recover_usage, stderr);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct vfmig_recover_result res;
		struct vfmig_err err = { 0 };

		if (vfmig_recover(argv[i], &res, &err)) {
			status = cli_fail(&err);
			continue;
		}
		if (res.action == VFMIG_RECOVER_NONE)
			continue;	/* not reached: recover always writes or resets */
		printf("%s: %s -> %s by %s%s%s%s\n", argv[i],
		       res.before_valid ? vfmig_v1_state_name(res.before) : "unknown",
		       vfmig_v1_state_name(res.after), vfmig_recover_action_name(res.action),
		       res.why[0] ? " (" : "", res.why, res.why[0] ? ")" : "");
	}
	return status;
}
