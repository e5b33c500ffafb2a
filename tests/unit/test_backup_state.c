/* Unit tests for the state backup/ keeps about a vault: the catalog that
 * two mounts (or two threads) save, and backups that change under a
 * repo (backup_repo_refresh() follows their objects). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backup/backup_i.h"
#include "check.h"

static char root[256], cachedir[300];

static void sh(const char *fmt, const char *arg)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), fmt, root, arg);
	CHECK(system(cmd) == 0);
}

static void put(const char *rel, const char *text) __attribute__((unused));
static void put(const char *rel, const char *text)
{
	char path[700];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static struct backup_repo *open_repo(struct vault **v, struct cache **c)
{
	struct backup_repo *r = NULL;
	struct verror e;

	CHECK_EQ_INT(vault_open(root, NULL, v, &e), 0);
	CHECK_EQ_INT(cache_open(cachedir, 0, c, &e), 0);
	CHECK_EQ_INT(backup_repo_new(*v, *c, NULL, &r), 0);
	return r;
}

static void close_repo(struct backup_repo *r, struct vault *v, struct cache *c)
{
	backup_repo_free(r);
	cache_free(c);
	vault_free(v);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Mount A saw the vault first and saves last: its older list of backups
 * must not replace the newer one mount B saved. */
static void test_catalog_older_snapshot(void)
{
	static char x[] = "x", y[] = "y";
	char *one[] = { x }, *two[] = { x, y }, *other[] = { y }, **names = NULL;
	struct vault *va, *vb, *vc;
	struct cache *ca, *cb, *cc;
	struct backup_repo *a = open_repo(&va, &ca), *b = open_repo(&vb, &cb);
	struct backup_repo *c;
	size_t n = 0, i;

	catalog_set_names(a, one, 1); /* A sees [x] ... */
	sleep_ms(5);
	catalog_set_names(b, two, 2); /* ... B sees [x, y] later */
	catalog_save(b);
	catalog_save(a); /* A is the slow writer */
	c = open_repo(&vc, &cc);
	CHECK_EQ_INT(catalog_names(c, &names, &n), 0);
	CHECK_EQ_INT((int)n, 2);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	/* a later change by A does replace it */
	sleep_ms(5);
	catalog_set_names(a, other, 1);
	catalog_save(a);
	close_repo(c, vc, cc);
	c = open_repo(&vc, &cc);
	CHECK_EQ_INT(catalog_names(c, &names, &n), 0);
	CHECK_EQ_INT((int)n, 1);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	close_repo(c, vc, cc);
	close_repo(b, vb, cb);
	close_repo(a, va, ca);
}

int main(void)
{
	snprintf(root, sizeof(root), "/tmp/velerofs-test-state-XXXXXX");
	if (!mkdtemp(root))
		return 1;
	snprintf(cachedir, sizeof(cachedir), "%s.cache", root);
	sh("mkdir -p '%s/backups'%s", "");
	test_catalog_older_snapshot();
	sh("rm -rf '%s' '%s.cache'", root);
	return check_status();
}
