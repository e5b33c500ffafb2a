/* cli/cmd_cache: `velerofs cache du|ls|prune`. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cache/cache.h"
#include "cli/cli.h"
#include "common/log.h"

static void cache_help(FILE *f)
{
	fprintf(f, "Usage: velerofs cache [--cache DIR] du|prune [--max SIZE]\n"
		   "\n"
		   "  du           bytes and entries the cache holds\n"
		   "  prune        remove least recently used entries until "
		   "the\n"
		   "               cache holds at most --max SIZE (default 0: "
		   "all)\n"
		   "  --cache DIR  cache directory (default "
		   "$XDG_CACHE_HOME/velerofs)\n");
}

int cmd_cache(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "cache", required_argument, NULL, 'c' },
		{ "max", required_argument, NULL, 'm' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct verror e = { { 0 } };
	const char *dir = NULL, *verb;
	struct cache *c = NULL;
	uint64_t max = 0, n = 0;
	int64_t r;
	int ch;

	while ((ch = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			cache_help(stdout);
			return 0;
		case 'V':
			printf("velerofs %s\n", VELEROFS_VERSION);
			return 0;
		case 'c':
			dir = optarg;
			break;
		case 'm':
			if (parse_size(optarg, &max) < 0) {
				fprintf(stderr,
					"velerofs cache: --max %s: not a "
					"size\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		default:
			cache_help(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		cache_help(stderr);
		return EXIT_USAGE;
	}
	verb = argv[optind];
	if (strcmp(verb, "du") && strcmp(verb, "ls") && strcmp(verb, "prune")) {
		cache_help(stderr);
		return EXIT_USAGE;
	}
	if (cache_open(dir, 0, &c, &e) < 0) {
		log_error("cannot open the cache: %s", e.msg);
		return 1;
	}
	if (!strcmp(verb, "prune")) {
		r = cache_prune(c, max);
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
