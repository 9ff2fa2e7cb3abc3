// SPDX-License-Identifier: GPL-2.0
/* vfmig mdev types|create|remove|list */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char mdev_usage[] =
	"usage: vfmig mdev types\n"
	"       vfmig mdev create TYPE [UUID]\n"
	"       vfmig mdev remove UUID...\n"
	"       vfmig mdev list\n\n"
	"types:  the vfmig mdev types with description and available instances\n"
	"create: make a device of TYPE (e.g. vfmig-small); prints its UUID\n"
	"        (random unless given)\n"
	"remove: delete devices; blocks while a device is open elsewhere\n"
	"list:   existing vfmig devices with their type\n";

#define MAX_ITEMS 64

static int mdev_types(void)
{
	struct vfmig_mdev_type types[MAX_ITEMS];
	int n = vfmig_mdev_types(cli_ctx(), types, MAX_ITEMS);

	if (n < 0)
		return cli_fail();
	for (int i = 0; i < n && i < MAX_ITEMS; i++)
		printf("%-14s available %-3u %s (%s)\n", types[i].id, types[i].available,
		       types[i].description, types[i].device_api);
	return 0;
}

static int mdev_list(void)
{
	struct vfmig_mdev devs[MAX_ITEMS];
	int n = vfmig_mdev_list(cli_ctx(), devs, MAX_ITEMS);

	if (n < 0)
		return cli_fail();
	/* An empty list would hide why: say so, and fail like a missing module should. */
	if (!n && !vfmig_module_is_loaded())
		return cli_failf("mdev list: the vfmig module is not loaded ('vfmig module load')");
	for (int i = 0; i < n && i < MAX_ITEMS; i++)
		printf("%s %s\n", devs[i].uuid, devs[i].type);
	return 0;
}

int cmd_mdev(int argc, char **argv)
{
	char uuid[VFMIG_UUID_LEN + 1];

	if (cli_wants_help(argc, argv) || argc < 2) {
		fputs(mdev_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "types") && argc == 2)
		return mdev_types();
	if (!strcmp(argv[1], "list") && argc == 2)
		return mdev_list();
	if (!strcmp(argv[1], "create") && (argc == 3 || argc == 4)) {
		if (vfmig_mdev_create(cli_ctx(), argv[2], argc == 4 ? argv[3] : NULL, uuid))
			return cli_fail();
		printf("%s\n", uuid);
		return 0;
	}
	if (!strcmp(argv[1], "remove") && argc >= 3) {
		for (int i = 2; i < argc; i++) {
			if (vfmig_mdev_remove(cli_ctx(), argv[i]))
				return cli_fail();
		}
		return 0;
	}
	fputs(mdev_usage, stderr);
	return 2;
}
