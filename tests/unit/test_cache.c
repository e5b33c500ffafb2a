/* Unit tests for cache/: keys, atomic writes, mapping, eviction. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
	cache_free(c);
	CHECK(cache_free(NULL) == NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return check_status();
}
