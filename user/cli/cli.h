/* SPDX-License-Identifier: GPL-2.0 */
/* vfmig command-line tool: one file per command group. */
#ifndef VFMIG_CLI_H
#define VFMIG_CLI_H

#include "errbuf.h"

struct vfmig_cmd {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);	/* argv[0] is the command name */
};

/* Print "vfmig: <msg>" on stderr and return the exit status 1. */
int cli_fail(const struct vfmig_err *err);
int cli_failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* true if argv has -h or --help. */
int cli_wants_help(int argc, char **argv);

int cmd_module(int argc, char **argv);
int cmd_mdev(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_save(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_receive(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_recover(int argc, char **argv);
int cmd_status(int argc, char **argv);

#endif /* VFMIG_CLI_H */
