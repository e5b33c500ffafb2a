/* cli/cmd_status: the progress of a mount's index builds. The daemon
 * (cmd_mount.c, status_progress()) writes one line per backup it is
 * indexing or has indexed to a cache entry keyed by the mount point;
 * `velerofs status MOUNTPOINT` prints it, so a user waiting on the
 * first `ls` of a large backup can see how far it is. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/cache.h"
#include "cli/cli.h"
#include "common/log.h"

static char *status_path(struct cache *c, const char *mountpoint)
{
	const char *parts[] = { "status", mountpoint };

	return cache_entry_path(c, "status", parts, 2);
}

/* The lines of one mount's builds, newest state of each backup. */
#define STATUS_MAX 64

struct status_entry {
	char backup[256];
	char line[400];
};

struct status {
	pthread_mutex_t lock;
	struct cache *cache;
	char *path;
	char label[PATH_MAX + 64];	   /* for cache ls */
	struct status_entry e[STATUS_MAX]; /* protected by lock */
	size_t n;			   /* protected by lock */
};

struct status *status_new(struct cache *c, const char *mountpoint)
{
	struct status *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	pthread_mutex_init(&st->lock, NULL);
	st->cache = c;
	snprintf(st->label, sizeof(st->label), "-\n(the status of %s)\n-",
		 mountpoint);
	st->path = status_path(c, mountpoint);
	if (!st->path)
		return status_free(st);
	return st;
}

struct status *status_free(struct status *st)
{
	if (!st)
		return NULL;
	if (st->path)
		unlink(st->path);
	pthread_mutex_destroy(&st->lock);
	free(st->path);
	free(st);
	return NULL;
}

/* Rewrites the status entry (atomically: written aside, renamed). */
static void status_write(struct status *st)
{
	struct cache_writer *w = NULL;
	size_t i;
	FILE *f;
	int fd;

	if (cache_writer_open(st->cache, st->path, &w, NULL) < 0)
		return;
	cache_writer_label(w, st->label);
	fd = dup(cache_writer_fd(w));
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		cache_writer_free(w);
		return;
	}
	for (i = 0; i < st->n; i++)
		fprintf(f, "%s\n", st->e[i].line);
	if (fclose(f) == 0)
		cache_writer_commit(w, NULL);
	else
		cache_writer_free(w);
}

void status_progress(void *userdata, const char *backup, uint64_t items,
		     uint64_t ms, bool done)
{
	struct status *st = userdata;
	struct status_entry *e = NULL;
	size_t i;

	if (done && ms >= 1000)
		log_notice("indexed %s: %llu items in %.1f s", backup,
			   (unsigned long long)items, (double)ms / 1000);
	else if (!done)
		log_notice("indexing %s: %llu items so far (%.0f s)", backup,
			   (unsigned long long)items, (double)ms / 1000);
	pthread_mutex_lock(&st->lock);
	for (i = 0; i < st->n && !e; i++)
		if (!strcmp(st->e[i].backup, backup))
			e = &st->e[i];
	if (!e && st->n < STATUS_MAX)
		e = &st->e[st->n++];
	if (e) {
		snprintf(e->backup, sizeof(e->backup), "%s", backup);
		snprintf(e->line, sizeof(e->line),
			 done ? "%s\tindexed\t%llu items in %.1f s" :
				"%s\tindexing\t%llu items so far (%.0f s)",
			 backup, (unsigned long long)items, (double)ms / 1000);
		status_write(st);
	}
	pthread_mutex_unlock(&st->lock);
}

static void status_usage(FILE *f)
{
	fputs("Usage: velerofs status [--cache DIR] MOUNTPOINT\n"
	      "\n"
	      "How far the mount at MOUNTPOINT is with indexing its backups:\n"
	      "one line per backup indexed since it was mounted (a first\n"
	      "open of a large backup streams its whole tarball once):\n"
	      "BACKUP, indexing|indexed, items, seconds.\n"
	      "  --cache DIR  the cache directory the mount uses\n",
	      f);
}

int cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_OPTS_HELP,
		CLI_OPT_CACHE,
		CLI_OPT_END,
	};
	static const struct cli_cmd cmd = { "hV", longopts, status_usage,
					    NULL, 1,	    1 };
	struct cli_opts o = { 0 };
	struct verror e = { { 0 } };
	struct cache *c = NULL;
	char *mp, *path = NULL, buf[4096];
	size_t n;
	FILE *f;
	int r;

	r = cli_parse(&cmd, argc, argv, &o, NULL);
	if (r != CLI_GO_ON)
		return r;
	mp = realpath(argv[optind], NULL);
	if (!mp) {
		log_error("%s: %m", argv[optind]);
		return 1;
	}
	if (cache_open(o.cache, 0, &c, &e) < 0) {
		log_error("cannot open the cache: %s", e.msg);
		free(mp);
		return 1;
	}
	path = status_path(c, mp);
	f = path ? fopen(path, "re") : NULL;
	if (!f) {
		printf("%s: nothing indexed since it was mounted (or not a "
		       "velerofs mount using the cache %s)\n",
		       mp, cache_dir(c));
	} else {
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			fwrite(buf, 1, n, stdout);
		fclose(f);
	}
	free(path);
	free(mp);
	cache_free(c);
	return 0;
}
