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
#include "testvault.h"

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* How many backups the catalog that r loaded lists. */
static size_t catalog_count(struct backup_repo *r)
{
	char **names = NULL;
	size_t n = 0, i;

	CHECK_EQ_INT(catalog_names(r, &names, &n), 0);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return n;
}

/* Mount A saw the vault first and saves last: its older list of backups
 * must not replace the newer one mount B saved. */
static void test_catalog_older_snapshot(void)
{
	static char x[] = "x", y[] = "y";
	char *one[] = { x }, *two[] = { x, y }, *other[] = { y };
	struct tv_repo ta, tb, tc;
	struct backup_repo *a = tv_repo_open(&ta, NULL),
			   *b = tv_repo_open(&tb, NULL);
	struct backup_repo *c;

	catalog_set_names(a, one, 1); /* A sees [x] ... */
	sleep_ms(5);
	catalog_set_names(b, two, 2); /* ... B sees [x, y] later */
	catalog_save(b);
	catalog_save(a); /* A is the slow writer */
	c = tv_repo_open(&tc, NULL);
	CHECK_EQ_INT(catalog_count(c), 2);
	/* a later change by A does replace it */
	sleep_ms(5);
	catalog_set_names(a, other, 1);
	catalog_save(a);
	tv_repo_close(&tc);
	c = tv_repo_open(&tc, NULL);
	CHECK_EQ_INT(catalog_count(c), 1);
	tv_repo_close(&tc);
	tv_repo_close(&tb);
	tv_repo_close(&ta);
}

/* Writes backups/<name>/velero-backup.json (the directory made if need
 * be): phase, started and completed at t. */
static void put_json(const char *name, const char *phase, const char *t)
{
	char rel[300], json[300];

	snprintf(rel, sizeof(rel), "backups/%s", name);
	tv_mkdirs(rel);
	snprintf(rel, sizeof(rel), "backups/%s/velero-backup.json", name);
	snprintf(json, sizeof(json),
		 "{\"kind\":\"Backup\",\"status\":{\"phase\":\"%s\","
		 "\"startTimestamp\":\"%s\",\"completionTimestamp\":\"%s\"}}",
		 phase, t, t);
	tv_puts(rel, json);
}

static struct backup *find(struct backup_repo *r, const char *name)
{
	struct verror e;

	CHECK_EQ_INT(backup_repo_refresh(r, &e), 0);
	return backup_repo_find(r, name, NULL);
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
	struct tv_repo t;
	struct backup_repo *r = tv_repo_open(&t, NULL);
	struct backup *b, *b0;
	struct verror e;
	char *s;

	tv_mkdirs("backups/staged");
	tv_puts("backups/staged/staged-logs.gz", "");
	b0 = find(r, "staged");
	CHECK(b0 != NULL);
	CHECK_EQ_INT(backup_open(b0, &e), 0);
	CHECK(tv_holds(b0, "errors.txt", "velero-backup.json is missing"));
	CHECK_STREQ(latest(r), "");

	put_json("staged", "Completed", "2026-11-20T02:00:00Z");
	b = find(r, "staged");
	CHECK(b != NULL && b != b0); /* a new slot: new inodes */
	CHECK(backup_gone(b0));
	CHECK_STREQ(latest(r), "staged");
	CHECK_EQ_INT(backup_open(b, &e), 0);
	CHECK(backup_build_ms(b) > 0);
	CHECK(tv_holds(b, "errors.txt", "tarball is missing"));
	b0 = b;
	/* unchanged: the same slot */
	CHECK(find(r, "staged") == b0);

	/* remounts meanwhile build it again: nothing incomplete is cached */
	for (int i = 0; i < 2; i++) {
		struct tv_repo t2;
		struct backup_repo *r2 = tv_repo_open(&t2, NULL);
		struct backup *b2 = find(r2, "staged");

		CHECK(b2 != NULL);
		CHECK_EQ_INT(backup_open(b2, &e), 0);
		CHECK(backup_build_ms(b2) > 0);
		tv_repo_close(&t2);
	}

	tv_puts("backups/staged/staged.tar.gz", "not gzip, but there");
	b = find(r, "staged");
	CHECK(b != NULL && b != b0);
	CHECK_EQ_INT(backup_open(b, &e), 0);
	s = tv_read(b, "errors.txt", NULL);
	CHECK(s && !strstr(s, "tarball is missing") &&
	      strstr(s, "not gzip-compressed"));
	free(s);
	tv_repo_close(&t);
}

/* The phase moves on (velero-backup.json rewritten): latest follows. */
static void test_phase_change(void)
{
	struct tv_repo t;
	struct backup_repo *r = tv_repo_open(&t, NULL);

	put_json("older", "Completed", "2026-11-21T02:00:00Z");
	tv_puts("backups/older/older.tar.gz", "x");
	put_json("newer", "WaitingForPluginOperations", "2026-11-22T02:00:00Z");
	tv_puts("backups/newer/newer.tar.gz", "x");
	CHECK(find(r, "newer") != NULL);
	CHECK_STREQ(latest(r), "older");
	put_json("newer", "Completed", "2026-11-22T02:00:00Z");
	CHECK(find(r, "newer") != NULL);
	CHECK_STREQ(latest(r), "newer");
	tv_repo_close(&t);
	tv_rm("backups/newer");
}

/* Deleted and created again under the same name: the new backup, never
 * the old state; with a refresh in between or not. */
static void test_recreated(void)
{
	struct tv_repo t;
	struct backup_repo *r = tv_repo_open(&t, NULL);
	struct backup *b0, *b;
	struct verror e;

	put_json("again", "Completed", "2026-11-23T02:00:00Z");
	b0 = find(r, "again");
	CHECK(b0 != NULL);
	CHECK(tv_holds(b0, "backup.yaml", "2026-11-23T02:00:00Z"));

	/* seen gone, then back */
	tv_rm("backups/again");
	CHECK(find(r, "again") == NULL);
	put_json("again", "Completed", "2026-11-24T02:00:00Z");
	b = find(r, "again");
	CHECK(b != NULL && b != b0);
	CHECK(tv_holds(b, "backup.yaml", "2026-11-24T02:00:00Z"));

	/* replaced between two refreshes */
	b0 = b;
	tv_rm("backups/again");
	put_json("again", "Completed", "2026-11-25T02:00:00Z");
	b = find(r, "again");
	CHECK(b != NULL && b != b0);
	CHECK(tv_holds(b, "backup.yaml", "2026-11-25T02:00:00Z"));
	CHECK_EQ_INT(backup_open(b, &e), 0);
	tv_repo_close(&t);
}

int main(void)
{
	if (!tv_init("state"))
		return 1;
	tv_mkdirs("backups");
	test_catalog_older_snapshot();
	test_written_in_stages();
	test_phase_change();
	test_recreated();
	tv_cleanup();
	return check_status();
}
