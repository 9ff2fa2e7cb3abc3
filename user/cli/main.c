// SPDX-License-Identifier: GPL-2.0
/* vfmig: entry point and command dispatch. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "migopts.h"

static const struct vfmig_cmd commands[] = {
	{ "module", "load or unload the vfmig kernel module", cmd_module },
	{ "mdev", "list types; create, remove and list vfmig devices", cmd_mdev },
	{ "info", "what VFIO reports about a device, its knobs and checksum", cmd_info },
	{ "status", "devices' live migration state and counters, from sysfs", cmd_status },
	{ "save", "save devices' state into a stream (live by default)", cmd_save },
	{ "resume", "load a stream into devices and start them", cmd_resume },
	{ "migrate", "migrate devices into other devices, both ends in one run", cmd_migrate },
	{ "send", "migrate devices live to a 'vfmig receive' over TCP", cmd_send },
	{ "receive", "accept a 'vfmig send' and resume its devices", cmd_receive },
	{ "inspect", "print a stream's structure without a device", cmd_inspect },
	{ "recover", "bring devices left by a killed migration back to running", cmd_recover },
};

int cli_verbosity;
static struct vfmig_ctx *ctx;

static void log_to_stderr(void *opaque, enum vfmig_log_level level, const char *msg)
{
	(void)opaque;
	(void)level;
	fprintf(stderr, "vfmig: %s\n", msg);
}

struct vfmig_ctx *cli_ctx(void)
{
	static const enum vfmig_log_level levels[] = {
		VFMIG_LOG_ERR, VFMIG_LOG_WARNING, VFMIG_LOG_INFO, VFMIG_LOG_DEBUG,
	};
	int v = cli_verbosity < -1 ? -1 : cli_verbosity > 2 ? 2 : cli_verbosity;

	if (!ctx && vfmig_ctx_new(&ctx)) {
		fputs("vfmig: out of memory\n", stderr);
		exit(1);
	}
	/* Errors themselves are printed once, by cli_fail(). */
	vfmig_set_log(ctx, v < 0 ? NULL : log_to_stderr, NULL, levels[v + 1]);
	return ctx;
}

int cli_fail(void)
{
	const char *msg = ctx ? vfmig_error_message(ctx) : "";

	fprintf(stderr, "vfmig: %s\n", msg[0] ? msg : "failed");
	return 1;
}

int cli_failf(const char *fmt, ...)
{
	va_list ap;

	fputs("vfmig: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return 1;
		if (!strcmp(argv[i], "--"))
			break;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: vfmig [-v|-vv] COMMAND [ARGS...]\n\n"
		"Load the vfmig module, manage its mediated devices, and migrate their state\n"
		"with the VFIO migration protocol v1.\n\n"
		"commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n-v shows the engine's steps on stderr, -vv every pre-copy round too.\n"
		"'vfmig COMMAND --help' describes each command.\n");
}

int main(int argc, char **argv)
{
	int ret;

	/* -v, -vv, -v -v ... before the command. */
	while (argc > 1 && argv[1][0] == '-' && argv[1][1] == 'v' &&
	       argv[1][strspn(argv[1] + 1, "v") + 1] == '\0') {
		cli_verbosity += (int)strlen(argv[1]) - 1;
		argc--;
		argv++;
	}
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("vfmig %s (libvfmig %s)\n", VFMIG_VERSION, vfmig_version());
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(argv[1], commands[i].name)) {
			ret = commands[i].run(argc - 1, argv + 1);
			cli_release_signals();
			vfmig_ctx_free(ctx);
			return ret;
		}
	}
	fprintf(stderr, "vfmig: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
