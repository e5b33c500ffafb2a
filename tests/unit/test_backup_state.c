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
	char *one[] = { x }, *two[] = { x, y }, *other[] = { y },
	     **names = NULL;
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

#define JSON_AT(phase, t)                                           \
	"{\"kind\":\"Backup\",\"status\":{\"phase\":\"" phase "\"," \
	"\"startTimestamp\":\"" t "\",\"completionTimestamp\":\"" t "\"}}"

static struct backup *find(struct backup_repo *r, const char *name)
{
	struct verror e;

	CHECK_EQ_INT(backup_repo_refresh(r, &e), 0);
	return backup_repo_find(r, name, NULL);
}

static char *read_node(struct backup *b, const char *path)
{
	struct verror e;
	const void *data;
	uint32_t node;
	size_t got;

	if (backup_node_walk(b, path, &node, &e) < 0 ||
	    backup_node_read(b, node, 0, 1 << 20, &data, &got, &e) < 0)
		return NULL;
	return strndup(data, got);
}

static const char *latest(struct backup_repo *r)
{
	size_t slot;

	if (backup_repo_latest(r, &slot) < 0)
		return "";
	return backup_name(backup_repo_slot(r, slot));
}

/* Velero writes the log, then velero-backup.json (Completed), then the
 * tarball: a refresh at each step sees the backup as it is now. */
static void test_written_in_stages(void)
{
	struct vault *v;
	struct cache *c;
	struct backup_repo *r = open_repo(&v, &c);
	struct backup *b, *b0;
	struct verror e;
	char *s;

	sh("mkdir -p '%s/backups/%s'", "staged");
	put("backups/staged/staged-logs.gz", "");
	b0 = find(r, "staged");
	CHECK(b0 != NULL);
	CHECK_EQ_INT(backup_open(b0, &e), 0);
	s = read_node(b0, "errors.txt");
	CHECK(s && strstr(s, "velero-backup.json is missing"));
	free(s);
	CHECK_STREQ(latest(r), "");

	put("backups/staged/velero-backup.json", JSON_AT("Completed", "2026-11-"
								      "20T02:"
								      "00:"
								      "00Z"));
	b = find(r, "staged");
	CHECK(b != NULL && b != b0); /* a new slot: new inodes */
	CHECK(backup_gone(b0));
	CHECK_STREQ(latest(r), "staged");
	CHECK_EQ_INT(backup_open(b, &e), 0);
	CHECK(backup_build_ms(b) > 0);
	s = read_node(b, "errors.txt");
	CHECK(s && strstr(s, "tarball is missing"));
	free(s);
	b0 = b;
	/* unchanged: the same slot */
	CHECK(find(r, "staged") == b0);

	/* remounts meanwhile build it again: nothing incomplete is cached */
	for (int i = 0; i < 2; i++) {
		struct vault *v2;
		struct cache *c2;
		struct backup_repo *r2 = open_repo(&v2, &c2);
		struct backup *b2 = find(r2, "staged");

		CHECK(b2 != NULL);
		CHECK_EQ_INT(backup_open(b2, &e), 0);
		CHECK(backup_build_ms(b2) > 0);
		close_repo(r2, v2, c2);
	}

	put("backups/staged/staged.tar.gz", "not gzip, but there");
	b = find(r, "staged");
	CHECK(b != NULL && b != b0);
	CHECK_EQ_INT(backup_open(b, &e), 0);
	s = read_node(b, "errors.txt");
	CHECK(s && !strstr(s, "tarball is missing") &&
	      strstr(s, "not gzip-compressed"));
	free(s);
	close_repo(r, v, c);
}

/* The phase moves on (velero-backup.json rewritten): latest follows. */
static void test_phase_change(void)
{
	struct vault *v;
	struct cache *c;
	struct backup_repo *r = open_repo(&v, &c);

	sh("mkdir -p '%s/backups/%s'", "older");
	put("backups/older/velero-backup.json", JSON_AT("Completed", "2026-11-"
								     "21T02:00:"
								     "00Z"));
	put("backups/older/older.tar.gz", "x");
	sh("mkdir -p '%s/backups/%s'", "newer");
	put("backups/newer/velero-backup.json",
	    JSON_AT("WaitingForPluginOperations", "2026-11-22T02:00:00Z"));
	put("backups/newer/newer.tar.gz", "x");
	CHECK(find(r, "newer") != NULL);
	CHECK_STREQ(latest(r), "older");
	put("backups/newer/velero-backup.json", JSON_AT("Completed", "2026-11-"
								     "22T02:00:"
								     "00Z"));
	CHECK(find(r, "newer") != NULL);
	CHECK_STREQ(latest(r), "newer");
	close_repo(r, v, c);
	sh("rm -rf '%s/backups/%s'", "newer");
}

/* Deleted and created again under the same name: the new backup, never
 * the old state; with a refresh in between or not. */
static void test_recreated(void)
{
	struct vault *v;
	struct cache *c;
	struct backup_repo *r = open_repo(&v, &c);
	struct backup *b0, *b;
	struct verror e;
	char *s;

	sh("mkdir -p '%s/backups/%s'", "again");
	put("backups/again/velero-backup.json", JSON_AT("Completed", "2026-11-"
								     "23T02:00:"
								     "00Z"));
	b0 = find(r, "again");
	CHECK(b0 != NULL);
	s = read_node(b0, "backup.yaml");
	CHECK(s && strstr(s, "2026-11-23T02:00:00Z"));
	free(s);

	/* seen gone, then back */
	sh("rm -rf '%s/backups/%s'", "again");
	CHECK(find(r, "again") == NULL);
	sh("mkdir -p '%s/backups/%s'", "again");
	put("backups/again/velero-backup.json", JSON_AT("Completed", "2026-11-"
								     "24T02:00:"
								     "00Z"));
	b = find(r, "again");
	CHECK(b != NULL && b != b0);
	s = b ? read_node(b, "backup.yaml") : NULL;
	CHECK(s && strstr(s, "2026-11-24T02:00:00Z"));
	free(s);

	/* replaced between two refreshes */
	b0 = b;
	sh("rm -rf '%s/backups/%s'", "again");
	sh("mkdir -p '%s/backups/%s'", "again");
	put("backups/again/velero-backup.json", JSON_AT("Completed", "2026-11-"
								     "25T02:00:"
								     "00Z"));
	b = find(r, "again");
	CHECK(b != NULL && b != b0);
	s = b ? read_node(b, "backup.yaml") : NULL;
	CHECK(s && strstr(s, "2026-11-25T02:00:00Z"));
	free(s);
	CHECK_EQ_INT(backup_open(b, &e), 0);
	close_repo(r, v, c);
}

int main(void)
{
	snprintf(root, sizeof(root), "/tmp/velerofs-test-state-XXXXXX");
	if (!mkdtemp(root))
		return 1;
	snprintf(cachedir, sizeof(cachedir), "%s.cache", root);
	sh("mkdir -p '%s/backups'%s", "");
	test_catalog_older_snapshot();
	test_written_in_stages();
	test_phase_change();
	test_recreated();
	sh("rm -rf '%s' '%s.cache'", root);
	return check_status();
}
