/* velerofs: mount a Velero backup storage location as files.
 * main() dispatches to the subcommands in cli/cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/log.h"

/* clang-format off */
static void usage(FILE *f)
{
	fputs("Usage: velerofs COMMAND [OPTIONS] ...\n"
	      "\n"
	      "Browse, search and restore Velero backups as files.\n"
	      "\n"
	      "Commands:\n"
	      "  mount VAULT MOUNTPOINT      mount the backups of VAULT\n"
	      "  umount MOUNTPOINT           unmount\n"
	      "  ls VAULT [PATH]             list PATH of the tree without mounting\n"
	      "  cat VAULT PATH              print a file of the tree without mounting\n"
	      "  find [FILTERS] VAULT        items matching kind, namespace, name,\n"
	      "                              label, image, across backups\n"
	      "  diff VAULT A B [PATH]       what changed between two backups\n"
	      "  restore status|wait MOUNTPOINT [JOB]\n"
	      "                              the restore jobs of a mount\n"
	      "  cache ls|du|prune           inspect or trim the cache\n"
	      "  url BSL.yaml                the VAULT of a BackupStorageLocation\n"
	      "\n"
	      "VAULT is a backup storage location: a directory laid out as\n"
	      "Velero writes it (/srv/bsl or file:///srv/bsl), s3://bucket/prefix\n"
	      "or azblob://account/container/prefix; `mount --bsl NAME` mounts\n"
	      "the one a cluster's BackupStorageLocation names.\n"
	      "\n"
	      "  -h, --help      show this help (`velerofs COMMAND --help` for one)\n"
	      "  -V, --version   show the version\n",
	      f);
}
/* clang-format on */

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "mount", cmd_mount }, { "umount", cmd_umount },
		{ "ls", cmd_ls },	{ "cat", cmd_cat },
		{ "cache", cmd_cache }, { "find", cmd_find },
		{ "diff", cmd_diff },	{ "restore", cmd_restore },
		{ "url", cmd_url },
	};
	size_t i;

	log_set_ident("velerofs");
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("velerofs %s\n", VELEROFS_VERSION);
		return 0;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "velerofs: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
