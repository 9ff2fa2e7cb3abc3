// SPDX-License-Identifier: GPL-2.0
/* vfmig module load|unload */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char module_usage[] =
	"usage: vfmig module load [--path FILE] [PARAM=VALUE...]\n"
	"       vfmig module unload\n\n"
	"load: insert vfmig.ko with libkmod after loading what it depends on\n"
	"  (vfio, mdev, vfio_iommu_type1).  FILE defaults to $VFMIG_MODULE, else\n"
	"  build/<running kernel>/vfmig.ko of this source tree.  Module parameters:\n"
	"  max_devices=N (all types, default 8).\n"
	"unload: remove the module; fails while a device is open.\n";

int cmd_module(int argc, char **argv)
{
	char path[PATH_MAX] = "", params[1024] = "";
	bool was_loaded = false;

	if (cli_wants_help(argc, argv) || argc < 2) {
		fputs(module_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "unload")) {
		if (argc != 2)
			return cli_failf("module unload takes no arguments");
		if (vfmig_module_unload(cli_ctx()))
			return cli_fail();
		return 0;
	}
	if (strcmp(argv[1], "load"))
		return cli_failf("module: unknown action '%s' (load or unload)", argv[1]), 2;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--path") && i + 1 < argc) {
			if (snprintf(path, sizeof(path), "%s", argv[++i]) >= (int)sizeof(path))
				return cli_failf("module load: --path too long"), 2;
		} else if (strchr(argv[i], '=')) {
			size_t used = strlen(params);

			/* A cut value would load the module with another one. */
			if (snprintf(params + used, sizeof(params) - used, "%s%s", used ? " " : "",
				     argv[i]) >= (int)(sizeof(params) - used))
				return cli_failf("module load: parameters longer than %zu bytes",
						 sizeof(params) - 1), 2;
		} else {
			return cli_failf("module load: unexpected argument '%s'", argv[i]);
		}
	}
	/* Neither given nor built in this tree: the installed one, by name. */
	if (!path[0] && vfmig_module_default_path(path, sizeof(path)))
		path[0] = '\0';
	if (vfmig_module_load(cli_ctx(), path[0] ? path : NULL, params[0] ? params : NULL,
			      &was_loaded))
		return cli_fail();
	if (was_loaded)
		printf("vfmig module already loaded\n");
	else if (path[0])
		printf("vfmig module loaded from %s\n", path);
	else
		printf("vfmig module loaded from the installed modules\n");
	return 0;
}
