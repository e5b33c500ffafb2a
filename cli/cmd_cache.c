/* cli/cmd_cache: `velerofs cache du|ls|prune`. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cache/cache.h"
#include "cli/cli.h"
#include "common/log.h"

/* userdata: NULL for the table, else the json array of -o json|yaml */
static int print_entry(const char *path, uint64_t bytes, int64_t used,
		       void *userdata)
{
	const char *ext = strrchr(path, '.');
	const char *kind = !ext			? "?" :
			   !strcmp(ext, ".idx") ? "index" :
			   !strcmp(ext, ".cat") ? "list" :
						  ext + 1;
	time_t t = (time_t)used;
	char when[32], label[1024], *vault = NULL, *backup = NULL;
	char *view = NULL;
	struct tm tm;

	/* vault \n backup \n view, written with the entry */
	if (cache_entry_label(path, label, sizeof(label)) == 0 &&
	    (backup = strchr(label, '\n')) &&
	    (view = strchr(backup + 1, '\n'))) {
		vault = label;
		*backup++ = '\0';
		*view++ = '\0';
	} else {
		backup = view = NULL;
	}
	gmtime_r(&t, &tm);
	if (userdata) {
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_array_append_new(
			userdata,
			json_pack("{s:s, s:I, s:s, s:s?, s:s?, s:s?, s:s}",
				  "kind", kind, "bytes", (json_int_t)bytes,
				  "lastUsed", when, "vault", vault, "backup",
				  backup, "view", view, "path", path));
		return 0;
	}
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
	printf("%-6s %12llu  %s  %-24s %-12s %s\n", kind,
	       (unsigned long long)bytes, when, backup ? backup : "?",
	       view ? view : "?", path);
	return 0;
}

static void cache_help(FILE *f)
{
	fputs("Usage: velerofs cache [--cache DIR] ls|du\n"
	      "       velerofs cache [--cache DIR] prune --max SIZE|--all\n"
	      "\n"
	      "  ls           every entry, least recently used first: kind,\n"
	      "               bytes, last use, the backup and view of an\n"
	      "               index, path (-o json|yaml: as data, with the\n"
	      "               vault)\n"
	      "  du           bytes and entries the cache holds\n"
	      "  prune        remove least recently used entries until the\n"
	      "               cache holds at most --max SIZE (--max 0 or\n"
	      "               --all: every entry); one of them is required.\n"
	      "               Only velerofs's own entries are removed, and\n"
	      "               only in a directory holding the CACHEDIR.TAG\n"
	      "               velerofs wrote; a running mount keeps using\n"
	      "               the entries it has open\n"
	      "  --cache DIR  cache directory (default "
	      "$XDG_CACHE_HOME/velerofs)\n",
	      f);
}

struct cache_args {
	enum cli_output fmt; /* ls -o */
	uint64_t max;
	bool have_max; /* --max or --all given */
};

static int cache_opt(int c, void *userdata)
{
	struct cache_args *a = userdata;

	switch (c) {
	case 'm':
		if (parse_size(optarg, &a->max) < 0) {
			fprintf(stderr,
				"velerofs cache: --max %s: not a size\n",
				optarg);
			return EXIT_USAGE;
		}
		a->have_max = true;
		return CLI_GO_ON;
	case 'a':
		a->max = 0;
		a->have_max = true;
		return CLI_GO_ON;
	case 'o':
		return cli_output_parse("cache ls", optarg, &a->fmt) ==
				       CLI_GO_ON ?
			       CLI_GO_ON :
			       EXIT_USAGE;
	default:
		return CLI_NOT_MINE;
	}
}

/* A cache that does not exist yet is reported as empty, and not created
 * just to be looked at: 0 when there is none (said so), -1 on failure, 1
 * when there is a directory to open. */
static int cache_absent(const char *dir, const char *verb)
{
	char *d = dir ? strdup(dir) : cache_default_dir();
	struct stat st;

	if (!d)
		return -1;
	if (lstat(d, &st) == 0 || errno != ENOENT) {
		free(d);
		return 1;
	}
	if (!strcmp(verb, "du"))
		printf("%s\t0 bytes\t0 entries (no cache yet)\n", d);
	else if (!strcmp(verb, "ls"))
		fprintf(stderr, "velerofs cache ls: %s: no cache yet\n", d);
	else
		printf("removed 0 bytes (%s: no cache yet)\n", d);
	free(d);
	return 0;
}

int cmd_cache(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_OPTS_HELP,
		CLI_OPT_CACHE,
		{ "max", required_argument, NULL, 'm' },
		{ "all", no_argument, NULL, 'a' },
		{ "output", required_argument, NULL, 'o' },
		CLI_OPT_END,
	};
	static const struct cli_cmd cmd = { "hVo:",    longopts, cache_help,
					    cache_opt, 1,	 1 };
	struct verror e = { { 0 } };
	struct cli_opts o = { 0 };
	struct cache_args a = { 0 };
	struct cache *c = NULL;
	uint64_t n = 0;
	const char *verb;
	int64_t r;

	r = cli_parse(&cmd, argc, argv, &o, &a);
	if (r != CLI_GO_ON)
		return (int)r;
	verb = argv[optind];
	if (strcmp(verb, "du") && strcmp(verb, "ls") && strcmp(verb, "prune"))
		return cli_usage_error(cache_help);
	if (!strcmp(verb, "prune") && !a.have_max) {
		fprintf(stderr, "velerofs cache prune: say how much to keep: "
				"--max SIZE (e.g. --max 2G), or --all to "
				"remove every entry\n");
		return EXIT_USAGE;
	}
	if (strcmp(verb, "prune") && a.have_max)
		return cli_usage_error(cache_help);
	r = cache_absent(o.cache, verb);
	if (r <= 0)
		return (int)-r;
	if (cache_open(o.cache, 0, &c, &e) < 0) {
		log_error("cannot open the cache: %s", e.msg);
		return 1;
	}
	if (!strcmp(verb, "ls") &&
	    (a.fmt == CLI_OUTPUT_JSON || a.fmt == CLI_OUTPUT_YAML)) {
		json_t *list = json_array();

		r = cache_list(c, print_entry, list);
		cli_print_doc(list, a.fmt);
	} else if (!strcmp(verb, "ls")) {
		printf("%-6s %12s  %-16s  %-24s %-12s %s\n", "KIND", "BYTES",
		       "LAST USED", "BACKUP", "VIEW", "PATH");
		r = cache_list(c, print_entry, NULL);
	} else if (!strcmp(verb, "prune")) {
		if (!cache_prunable(c)) {
			log_error("cache prune: %s has no CACHEDIR.TAG written "
				  "by velerofs: it is not a velerofs cache "
				  "directory, nothing removed",
				  cache_dir(c));
			cache_free(c);
			return 1;
		}
		r = cache_prune(c, a.max);
		if (r >= 0)
			printf("removed %lld bytes\n", (long long)r);
	} else {
		r = cache_usage(c, &n);
		if (r >= 0)
			printf("%s\t%lld bytes\t%llu entries\n", cache_dir(c),
			       (long long)r, (unsigned long long)n);
	}
	cache_free(c);
	if (r < 0) {
		log_error_errno((int)r, "cache %s: %m", verb);
		return 1;
	}
	return 0;
}
