// SPDX-License-Identifier: GPL-2.0
/* vfmig inspect FILE|-: a stream's structure, checked, without a device. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char inspect_usage[] =
	"usage: vfmig inspect FILE|-\n\n"
	"Walk a stream written by 'vfmig save' (or stdin for '-') and print its\n"
	"sections: type, id, device id string, instance, version, data chunks and\n"
	"bytes, config bytes.  Every check the loader makes is made here too, so a\n"
	"stream that inspects cleanly is well-formed; the exit status says so.\n";

int cmd_inspect(int argc, char **argv)
{
	int fd, ret;

	if (cli_wants_help(argc, argv)) {
		fputs(inspect_usage, stdout);
		return 0;
	}
	if (argc != 2) {
		fputs(inspect_usage, stderr);
		return 2;
	}
	fd = strcmp(argv[1], "-") ? open(argv[1], O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	if (fd < 0)
		return cli_failf("inspect: cannot open %s: %s", argv[1], strerror(errno));
	ret = vfmig_inspect(cli_ctx(), fd, stdout);
	fflush(stdout);
	if (fd != STDIN_FILENO)
		close(fd);
	if (ret)
		return cli_failf("inspect: %s: %s", argv[1], vfmig_error_message(cli_ctx()));
	return 0;
}
