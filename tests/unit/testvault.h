/* testvault.h: the scratch local vault that the unit tests of vault/ and
 * backup/ share: a directory under /tmp (tv_root) with the cache beside
 * it (tv_cache, "<tv_root>.cache"), files and directories written into
 * it, a repo opened over both, and a file of a backup's tree read whole.
 * Failures are CHECK()s (check.h): a test goes on and main() reports. */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/backup.h"
#include "check.h"

static char tv_root[256], tv_cache[300];

/* Makes tv_root as /tmp/velerofs-test-<name>-XXXXXX and names tv_cache
 * (not made: the cache makes it). false when the directory can't be
 * made, and main() should fail. */
static inline bool tv_init(const char *name)
{
	snprintf(tv_root, sizeof(tv_root), "/tmp/velerofs-test-%s-XXXXXX",
		 name);
	if (!mkdtemp(tv_root))
		return false;
	snprintf(tv_cache, sizeof(tv_cache), "%s.cache", tv_root);
	return true;
}

/* Runs the shell command fmt with tv_root and then rel for its two %s. */
static inline void tv_sh(const char *fmt, const char *rel)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), fmt, tv_root, rel);
	CHECK(system(cmd) == 0);
}

/* Removes tv_root and tv_cache with all they hold. */
static inline void tv_cleanup(void)
{
	tv_sh("rm -rf '%s' '%s.cache'", tv_root);
}

/* mkdir -p tv_root/rel; rm -rf tv_root/rel. */
static inline void tv_mkdirs(const char *rel)
{
	tv_sh("mkdir -p '%s/%s'", rel);
}

static inline void tv_rm(const char *rel)
{
	tv_sh("rm -rf '%s/%s'", rel);
}

/* Writes len bytes of data to tv_root/rel (the directory must exist). */
static inline void tv_put(const char *rel, const void *data, size_t len)
{
	char path[700];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tv_root, rel);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		CHECK(fwrite(data, 1, len, f) == len);
		fclose(f);
	}
}

static inline void tv_puts(const char *rel, const char *text)
{
	tv_put(rel, text, strlen(text));
}

/* A vault, its cache and a repo over them, as a mount opens them. */
struct tv_repo {
	struct vault *vault;
	struct cache *cache;
	struct backup_repo *repo;
};

/* Opens the cache at tv_cache and a repo over it and the vault v (stolen:
 * tv_repo_close() frees it), with options o (NULL: the defaults), into
 * *t; lists nothing yet. Returns t->repo. */
static inline struct backup_repo *tv_repo_on(struct tv_repo *t, struct vault *v,
					     const struct backup_options *o)
{
	struct verror e;

	*t = (struct tv_repo){ .vault = v };
	CHECK_EQ_INT(cache_open(tv_cache, 0, &t->cache, &e), 0);
	CHECK_EQ_INT(backup_repo_new(t->vault, t->cache, o, &t->repo), 0);
	return t->repo;
}

/* tv_repo_on() over the vault at tv_root. Free the three with
 * tv_repo_close(). */
static inline struct backup_repo *tv_repo_open(struct tv_repo *t,
					       const struct backup_options *o)
{
	struct vault *v = NULL;
	struct verror e;

	CHECK_EQ_INT(vault_open(tv_root, NULL, &v, &e), 0);
	return tv_repo_on(t, v, o);
}

static inline void tv_repo_close(struct tv_repo *t)
{
	backup_repo_free(t->repo);
	cache_free(t->cache);
	vault_free(t->vault);
}

/* The file at path in b's tree, whole, as a string (caller frees); NULL
 * when it can't be walked to or read. *err (nullable) gets the result of
 * the failed walk, or else of the read. */
static inline char *tv_read(struct backup *b, const char *path, int *err)
{
	struct verror e;
	const void *data;
	uint32_t node;
	size_t got = 0;
	char *s = NULL;
	int r;

	r = backup_node_walk(b, path, &node, &e);
	if (r >= 0)
		r = backup_node_read(b, node, 0, 1 << 20, &data, &got, &e);
	if (r >= 0) {
		s = malloc(got + 1);
		memcpy(s, data, got);
		s[got] = '\0';
	}
	if (err)
		*err = r;
	return s;
}

/* Whether the file at path in b's tree holds text; false when b is NULL
 * or the file can't be read. */
static inline bool tv_holds(struct backup *b, const char *path,
			    const char *text)
{
	char *s = b ? tv_read(b, path, NULL) : NULL;
	bool found = s && strstr(s, text);

	free(s);
	return found;
}
