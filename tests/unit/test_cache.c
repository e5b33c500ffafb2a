/* Unit tests for cache/: keys, atomic writes, mapping, eviction, owning
 * the directory, what is not velerofs's. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache/cache.h"
#include "check.h"

static char dir[256];

static void write_entry(struct cache *c, const char *path, size_t size)
{
	struct cache_writer *w = NULL;
	char *buf = calloc(1, size);

	CHECK_EQ_INT(cache_writer_open(c, path, &w, NULL), 0);
	if (w) {
		CHECK_EQ_INT(write(cache_writer_fd(w), buf, size),
			     (long long)size);
		CHECK_EQ_INT(cache_writer_commit(w, NULL), 0);
	}
	free(buf);
}

static void test_keys(struct cache *c)
{
	const char *a[] = { "ab", "c" }, *b[] = { "a", "bc" };
	char *p1 = cache_entry_path(c, "idx", a, 2);
	char *p2 = cache_entry_path(c, "idx", a, 2);
	char *p3 = cache_entry_path(c, "idx", b, 2);

	CHECK(p1 && p2 && p3);
	CHECK_STREQ(p1, p2);			/* stable */
	CHECK(p1 && p3 && strcmp(p1, p3) != 0); /* parts are delimited */
	CHECK(p1 && strncmp(p1, cache_dir(c), strlen(cache_dir(c))) == 0);
	free(p1);
	free(p2);
	free(p3);
}

static void test_atomic(struct cache *c)
{
	const char *k[] = { "atomic" };
	char *path = cache_entry_path(c, "idx", k, 1);
	struct cache_writer *w = NULL;
	struct cache_mapping m = { 0 };
	struct stat st;

	/* an abandoned write leaves nothing behind under the real name */
	CHECK_EQ_INT(cache_writer_open(c, path, &w, NULL), 0);
	CHECK_EQ_INT(write(cache_writer_fd(w), "partial", 7), 7);
	cache_writer_free(w);
	CHECK(stat(path, &st) < 0 && errno == ENOENT);
	CHECK_EQ_INT(cache_map(c, path, &m), -ENOENT);

	write_entry(c, path, 4096);
	CHECK_EQ_INT(cache_map(c, path, &m), 0);
	CHECK_EQ_INT(m.len, 4096);
	cache_unmap(c, &m);
	CHECK(m.addr == NULL);
	CHECK_EQ_INT(cache_remove(c, path), 0);
	CHECK_EQ_INT(cache_remove(c, path), 0);
	free(path);
}

static void test_prune(struct cache *c)
{
	const char *k1[] = { "one" }, *k2[] = { "two" }, *k3[] = { "three" };
	char *p1 = cache_entry_path(c, "idx", k1, 1);
	char *p2 = cache_entry_path(c, "idx", k2, 1);
	char *p3 = cache_entry_path(c, "idx", k3, 1);
	struct cache_mapping m = { 0 };
	struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };
	uint64_t n = 0;
	struct stat st;

	write_entry(c, p1, 65536);
	write_entry(c, p2, 65536);
	write_entry(c, p3, 65536);
	CHECK(cache_usage(c, &n) >= 3 * 65536);
	CHECK_EQ_INT(n, 3);
	/* p1 is the least recently used, but mapped: it must survive */
	utimensat(AT_FDCWD, p1, old, 0);
	CHECK_EQ_INT(cache_map(c, p1, &m), 0);
	utimensat(AT_FDCWD, p1, old, 0);
	utimensat(AT_FDCWD, p2, (struct timespec[]){ { 2000, 0 }, { 2000, 0 } },
		  0);
	CHECK(cache_prune(c, 2 * 65536 + 4096) > 0);
	CHECK(stat(p1, &st) == 0);
	CHECK(stat(p2, &st) < 0);
	CHECK(stat(p3, &st) == 0);
	cache_unmap(c, &m);
	/* unmapped now: prune to zero removes everything */
	CHECK(cache_prune(c, 0) > 0);
	CHECK(stat(p1, &st) < 0 && stat(p3, &st) < 0);
	CHECK_EQ_INT(cache_usage(c, &n), 0);
	free(p1);
	free(p2);
	free(p3);
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* A cache directory that is someone else's, or that others can write to,
 * or a symbolic link, is refused: its entries would be read back. */
static void test_own_dir(void)
{
	char d[400], link[500];
	struct cache *c = NULL;
	struct verror e = { { 0 } };

	snprintf(d, sizeof(d), "%s/shared", dir);
	CHECK_EQ_INT(mkdir(d, 0700), 0);
	chmod(d, 0777);
	CHECK_EQ_INT(cache_open(d, 0, &c, &e), -EPERM);
	CHECK(strstr(e.msg, "written by others") != NULL);
	chmod(d, 0700);
	if (geteuid() == 0) {
		CHECK_EQ_INT(chown(d, 12345, 12345), 0);
		CHECK_EQ_INT(cache_open(d, 0, &c, &e), -EPERM);
		CHECK(strstr(e.msg, "belongs to uid 12345") != NULL);
		/* and a directory inside it, even if it is ours */
		CHECK_EQ_INT(chown(d, 0, 0), 0);
		snprintf(link, sizeof(link), "%s/inner", d);
		CHECK_EQ_INT(mkdir(link, 0700), 0);
		CHECK_EQ_INT(chmod(d, 0777), 0);
		CHECK_EQ_INT(cache_open(link, 0, &c, &e), -EPERM);
		CHECK(strstr(e.msg, "no sticky bit") != NULL);
		CHECK_EQ_INT(chmod(d, 01777), 0); /* like /tmp: fine */
		CHECK_EQ_INT(cache_open(link, 0, &c, &e), 0);
		c = cache_free(c);
		chmod(d, 0700);
	}
	snprintf(link, sizeof(link), "%s/link", dir);
	CHECK_EQ_INT(symlink(d, link), 0);
	CHECK_EQ_INT(cache_open(link, 0, &c, &e), -ELOOP);
	CHECK(strstr(e.msg, "symbolic link") != NULL);
	CHECK(c == NULL);
	/* a link among the parents is resolved once: the cache goes on with
	 * the real path, whatever the link points to later */
	snprintf(link, sizeof(link), "%s/link/sub", dir);
	CHECK_EQ_INT(cache_open(link, 0, &c, &e), 0);
	CHECK(c && !strstr(cache_dir(c), "/link/") &&
	      strstr(cache_dir(c), "/shared/sub"));
	c = cache_free(c);
}

/* `cache prune --cache ~`: a directory velerofs did not make is never
 * pruned; in one it did, only its own entries go. */
static void test_prune_foreign(void)
{
	char home[400], p[600], doc[600], target[600];
	const char *k[] = { "mine" };
	struct cache *c = NULL;
	struct verror e = { { 0 } };
	char *entry;

	snprintf(home, sizeof(home), "%s/home", dir);
	CHECK_EQ_INT(mkdir(home, 0700), 0);
	snprintf(p, sizeof(p), "%s/idx", home);
	CHECK_EQ_INT(mkdir(p, 0700), 0);
	snprintf(doc, sizeof(doc), "%s/idx/thesis.idx", home);
	put(doc, "years of work");
	CHECK_EQ_INT(cache_open(home, 0, &c, &e), 0);
	CHECK(c && !cache_prunable(c));
	CHECK_EQ_INT(cache_prune(c, 0), -EPERM);
	CHECK(exists(doc));
	snprintf(p, sizeof(p), "%s/CACHEDIR.TAG", home);
	CHECK(!exists(p)); /* not marked behind the user's back */
	c = cache_free(c);
	CHECK_EQ_INT(cache_open(home, 1 << 20, &c, &e), -EPERM);
	CHECK(strstr(e.msg, "CACHEDIR.TAG") != NULL);

	/* a fresh directory is marked; foreign names in it survive prune */
	snprintf(home, sizeof(home), "%s/fresh", dir);
	CHECK_EQ_INT(cache_open(home, 0, &c, &e), 0);
	CHECK(c && cache_prunable(c));
	if (!c)
		return;
	entry = cache_entry_path(c, "idx", k, 1);
	write_entry(c, entry, 4096);
	snprintf(doc, sizeof(doc), "%s/idx/notes.txt", home);
	put(doc, "mine, not velerofs's");
	snprintf(target, sizeof(target), "%s/outside", dir);
	put(target, "outside");
	/* a link with an entry's name: removed as a name, never followed */
	snprintf(p, sizeof(p), "%s/idx/%064d.idx", home, 7);
	CHECK_EQ_INT(symlink(target, p), 0);
	CHECK(cache_prune(c, 0) > 0);
	CHECK(!exists(entry));
	CHECK(exists(doc));
	CHECK(exists(target));
	CHECK(exists(p)); /* not a regular file: not a candidate */
	free(entry);
	cache_free(c);
}

/* A FIFO, a directory or a symbolic link where an entry should be: no
 * hang, no error that sticks, a link's target untouched. */
static void test_foreign_entries(struct cache *c)
{
	const char *k[] = { "foreign" };
	char *path = cache_entry_path(c, "idx", k, 1);
	struct cache_mapping m = { 0 };
	struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };
	char target[400];
	struct stat st;

	CHECK_EQ_INT(mkfifo(path, 0600), 0);
	CHECK_EQ_INT(cache_map(c, path, &m), -ENOENT); /* did not block */
	CHECK(!exists(path));

	CHECK_EQ_INT(mkdir(path, 0700), 0);
	CHECK_EQ_INT(cache_map(c, path, &m), -ENOENT);
	CHECK(!exists(path));

	snprintf(target, sizeof(target), "%s/precious", dir);
	put(target, "precious bytes");
	utimensat(AT_FDCWD, target, old, 0);
	CHECK_EQ_INT(symlink(target, path), 0);
	CHECK_EQ_INT(cache_map(c, path, &m), -ENOENT);
	CHECK(!exists(path));
	CHECK(stat(target, &st) == 0 && st.st_mtime == 1000 &&
	      st.st_size == 14);

	/* a symbolic link is replaced by a new entry, its target intact */
	CHECK_EQ_INT(symlink(target, path), 0);
	write_entry(c, path, 100);
	CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode));
	CHECK(stat(target, &st) == 0 && st.st_size == 14);
	CHECK_EQ_INT(cache_map(c, path, &m), 0);
	cache_unmap(c, &m);
	cache_remove(c, path);
	free(path);
}

/* A killed build's temporary file goes after a minute; a live writer's
 * stays, however old; a file not named as ours stays. */
static void test_tmp_cleanup(void)
{
	char d[400], killed[600], other[600];
	struct timespec old[2] = { { 0, 0 }, { 0, 0 } };
	const char *k[] = { "tmp" };
	struct cache_writer *w = NULL;
	struct cache *c = NULL;
	char *path;
	int fd;

	snprintf(d, sizeof(d), "%s/tmpclean", dir);
	CHECK_EQ_INT(cache_open(d, 0, &c, NULL), 0);
	if (!c)
		return;
	old[0].tv_sec = old[1].tv_sec = time(NULL) - 61;
	snprintf(killed, sizeof(killed), "%s/tmp/%064d.idx.Ab12Cd", d, 1);
	put(killed, "half an index");
	utimensat(AT_FDCWD, killed, old, 0);
	snprintf(other, sizeof(other), "%s/tmp/keep-me", d);
	put(other, "x");
	utimensat(AT_FDCWD, other, old, 0);
	path = cache_entry_path(c, "idx", k, 1);
	CHECK_EQ_INT(cache_writer_open(c, path, &w, NULL), 0);
	cache_free(c);
	c = NULL;
	/* the writer's file, made old: find it by its prefix */
	{
		char cmd[800];

		snprintf(cmd, sizeof(cmd),
			 "touch -d '2 minutes ago' %s/tmp/%s.*", d,
			 strrchr(path, '/') + 1);
		CHECK_EQ_INT(system(cmd), 0);
	}
	CHECK_EQ_INT(cache_open(d, 0, &c, NULL), 0);
	CHECK(!exists(killed));
	CHECK(exists(other));
	fd = w ? cache_writer_fd(w) : -1;
	CHECK(fd >= 0 && write(fd, "x", 1) == 1);
	CHECK(w && cache_writer_commit(w, NULL) == 0); /* still there */
	CHECK(exists(path));
	free(path);
	cache_free(c);
}

int main(void)
{
	struct cache *c = NULL;
	struct verror e;
	char cmd[300], nested[300];

	snprintf(dir, sizeof(dir), "/tmp/velerofs-test-cache-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(nested, sizeof(nested), "%s/a/b/c", dir);
	CHECK_EQ_INT(cache_open(nested, 0, &c, &e), 0);
	if (!c)
		return check_status();
	test_keys(c);
	test_atomic(c);
	test_prune(c);
	test_foreign_entries(c);
	cache_free(c);
	test_own_dir();
	test_prune_foreign();
	test_tmp_cleanup();
	CHECK(cache_free(NULL) == NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return check_status();
}
