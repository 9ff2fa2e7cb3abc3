/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vfmig command-line tool: one file per command group, each argument
 * parsing plus one or two calls of the public library (libvfmig.h only).
 */
#ifndef VFMIG_CLI_H
#define VFMIG_CLI_H

#include "vfmig/libvfmig.h"

struct vfmig_cmd {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);	/* argv[0] is the command name */
};

/*
 * The process's library context: its log goes to stderr as "vfmig: <msg>",
 * warnings by default, more with -v (engine steps) and -vv (every round),
 * errors only with -q (cli_verbosity -1).
 */
extern int cli_verbosity;
struct vfmig_ctx *cli_ctx(void);

/* Print "vfmig: <the context's error>" on stderr and return the exit status 1. */
int cli_fail(void);
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
