/* fuzz_backup_json: a backup's velero-backup.json (backup/repo.c: phase,
 * times, the schedule label; then backup.yaml and describe.txt of the
 * index build), in a local vault beside a well-formed backup: the list,
 * `latest` and the schedules are computed, the backup's root is stat'ed,
 * and the backup is opened and read whole. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/backup.h"
#include "cache/cache.h"
#include "common/log.h"
#include "fuzz/fuzz_util.h"
#include "vault/vault.h"

#define GOOD_JSON                                                   \
	"{\"apiVersion\":\"velero.io/v1\",\"kind\":\"Backup\","     \
	"\"metadata\":{\"name\":\"good\",\"namespace\":\"velero\"," \
	"\"labels\":{\"velero.io/schedule-name\":\"daily\"}},"      \
	"\"status\":{\"phase\":\"Completed\",\"startTimestamp\":"   \
	"\"2026-01-02T03:00:00Z\",\"completionTimestamp\":"         \
	"\"2026-01-02T03:04:05Z\"}}"

static char vault_dir[4200], cachedir[4200];

/* The one call into velerofs: everything a mount asks of a backup list. */
static void browse(void)
{
	struct backup_options o = { .view = BACKUP_VIEW_YAML };
	struct vault *v = NULL;
	struct cache *c = NULL;
	struct backup_repo *repo = NULL;
	struct backup_info in;
	struct backup_stat st;
	struct backup *b;
	size_t slot, i, n, *slots;

	if (vault_open(vault_dir, NULL, &v, NULL) < 0 ||
	    cache_open(cachedir, 0, &c, NULL) < 0 ||
	    backup_repo_new(v, c, &o, &repo) < 0)
		abort();
	if (backup_repo_refresh(repo, NULL) == 0 &&
	    (b = backup_repo_find(repo, "fz", NULL))) {
		(void)backup_info(b, &in, NULL);
		(void)backup_repo_latest(repo, &slot);
		for (i = 0; i < backup_repo_schedule_count(repo); i++)
			if (backup_repo_schedule_members(repo, i, &slots, &n) ==
			    0)
				free(slots);
		(void)backup_node_stat(b, BACKUP_NODE_ROOT, &st, NULL);
		if (backup_open(b, NULL) == 0)
			fuzz_walk_backup(b);
	}
	backup_repo_free(repo);
	cache_free(c);
	vault_free(v);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_max_level(LOG_CRIT);
	snprintf(vault_dir, sizeof(vault_dir), "%s/vault", fuzz_tmpdir());
	snprintf(cachedir, sizeof(cachedir), "%s/cache", fuzz_tmpdir());
	fuzz_write(vault_dir, "backups/good/velero-backup.json", GOOD_JSON,
		   strlen(GOOD_JSON));
	fuzz_write_small_tarball(vault_dir, "backups/good/good.tar.gz");
	fuzz_write_small_tarball(vault_dir, "backups/fz/fz.tar.gz");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > ((size_t)1 << 20))
		return 0;
	fuzz_write(vault_dir, "backups/fz/velero-backup.json", data, size);
	/* read afresh each time: never the cached index or catalog */
	fuzz_empty_dir(cachedir);
	browse();
	return 0;
}
