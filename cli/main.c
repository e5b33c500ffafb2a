/* velerofs: mount a Velero backup storage location as files.
 * main() dispatches to the subcommands in cli/cmd_*.c; `help`, `version`
 * and "did you mean" for a mistyped command live here. Run as
 * mount.fuse.velerofs (or mount.velerofs), or as mount.fuse3 runs a
 * file system (`velerofs VAULT /MOUNTPOINT -o OPTIONS`), it is the mount
 * helper of mount(8) and /etc/fstab (cli/cmd_mount.c: cmd_mount_helper). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "common/log.h"

struct command {
	const char *name;
	int (*fn)(int, char **);
};

/* One line per command, in this order. */
static const struct command commands[] = {
	{ "mount", cmd_mount },	    { "umount", cmd_umount },
	{ "backups", cmd_backups }, { "ls", cmd_ls },
	{ "cat", cmd_cat },	    { "find", cmd_find },
	{ "diff", cmd_diff },	    { "restore", cmd_restore },
	{ "cache", cmd_cache },	    { "status", cmd_status },
	{ "help", cmd_help },	    { "version", cmd_version },
	{ "url", cmd_url },
};

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
	      "  backups VAULT               list the recovery points, like\n"
	      "                              `velero backup get`\n"
	      "  ls VAULT [PATH]             list PATH of the tree without mounting\n"
	      "  cat VAULT PATH              print a file of the tree without mounting\n"
	      "  find [FILTERS] VAULT        items matching kind, namespace, name,\n"
	      "                              label, image, across backups\n"
	      "  diff VAULT A B [PATH]       what changed between two backups\n"
	      "  restore status|wait MOUNTPOINT [JOB]\n"
	      "                              the restore jobs of a mount\n"
	      "  cache ls|du|prune           inspect or trim the cache\n"
	      "  url BSL.yaml                the VAULT of a BackupStorageLocation\n"
	      "  status MOUNTPOINT           how far a mount is with indexing\n"
	      "  help [COMMAND]              this help, or a command's\n"
	      "  version                     the version\n"
	      "\n"
	      "VAULT is a backup storage location: a directory laid out as\n"
	      "Velero writes it (/srv/bsl or file:///srv/bsl), s3://bucket/prefix\n"
	      "or azblob://account/container/prefix; `mount --bsl NAME` mounts\n"
	      "the one a cluster's BackupStorageLocation names.\n"
	      "\n"
	      "  -h, --help      show this help (`velerofs COMMAND --help` for one)\n"
	      "  -V, --version   show the version\n"
	      "\n"
	      "See velerofs(1).\n",
	      f);
}
/* clang-format on */

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(name, commands[i].name))
			return &commands[i];
	return NULL;
}

/* Levenshtein distance of a and b, capped: names are short. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[32], prev, tmp;

	if (la >= sizeof(row) / sizeof(row[0]) ||
	    lb >= sizeof(row) / sizeof(row[0]))
		return (size_t)-1;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t best = prev + (a[i - 1] != b[j - 1]);

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			tmp = row[j];
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb];
}

/* The command closest to name, when one is close enough to be a typo
 * (two edits, or a prefix of three letters or more), or NULL. */
static const char *did_you_mean(const char *name)
{
	const char *best = NULL;
	size_t i, d, bestd = 3;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		d = edit_distance(name, commands[i].name);
		if (strlen(name) >= 3 &&
		    !strncmp(name, commands[i].name, strlen(name)))
			d = 1;
		if (d < bestd) {
			bestd = d;
			best = commands[i].name;
		}
	}
	return best;
}

int cmd_help(int argc, char **argv)
{
	const struct command *c;
	char help[] = "--help";
	char *args[] = { NULL, help, NULL };

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	c = find_command(argv[1]);
	if (!c) {
		const char *near = did_you_mean(argv[1]);

		fprintf(stderr, "velerofs help: no command '%s'", argv[1]);
		if (near)
			fprintf(stderr, "; did you mean '%s'?", near);
		fputs(" (see velerofs help)\n", stderr);
		return EXIT_USAGE;
	}
	if (c->fn == cmd_help || c->fn == cmd_version) {
		usage(stdout);
		return 0;
	}
	args[0] = argv[1];
	return c->fn(2, args);
}

int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("velerofs %s\n", VELEROFS_VERSION);
	return 0;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* mount.fuse3 runs a fuse.TYPE file system as `TYPE SOURCE MOUNTPOINT
 * -o OPTIONS` (always with options: it adds dev and suid, or the user's
 * nodev and nosuid), the mount point absolute: an unknown first word
 * followed by an absolute directory and -o is that call, not a typo. */
static bool called_by_mount_fuse(int argc, char **argv)
{
	struct stat st;

	return argc == 5 && argv[1][0] != '-' && argv[2][0] == '/' &&
	       !strcmp(argv[3], "-o") && stat(argv[2], &st) == 0 &&
	       S_ISDIR(st.st_mode);
}

int main(int argc, char **argv)
{
	const struct command *c;
	const char *near;

	log_set_ident("velerofs");
	if (!strncmp(base_name(argv[0]), "mount.", 6))
		return cmd_mount_helper(argc, argv);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version"))
		return cmd_version(argc - 1, argv + 1);
	c = find_command(argv[1]);
	if (c)
		return c->fn(argc - 1, argv + 1);
	if (called_by_mount_fuse(argc, argv))
		return cmd_mount_helper(argc, argv);
	near = did_you_mean(argv[1]);
	fprintf(stderr, "velerofs: unknown command '%s'", argv[1]);
	if (near)
		fprintf(stderr, "; did you mean '%s'?", near);
	fputs("\n\n", stderr);
	usage(stderr);
	return EXIT_USAGE;
}
