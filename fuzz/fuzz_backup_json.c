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
#include "fuzz/fuzz_util.h"

#define GOOD_JSON                                                   \
	"{\"apiVersion\":\"velero.io/v1\",\"kind\":\"Backup\","     \
	"\"metadata\":{\"name\":\"good\",\"namespace\":\"velero\"," \
	"\"labels\":{\"velero.io/schedule-name\":\"daily\"}},"      \
	"\"status\":{\"phase\":\"Completed\",\"startTimestamp\":"   \
	"\"2026-01-02T03:00:00Z\",\"completionTimestamp\":"         \
	"\"2026-01-02T03:04:05Z\"}}"

/* The one call into velerofs: everything a mount asks of a backup list. */
static void browse(void)
{
	struct backup_options o = { .view = BACKUP_VIEW_YAML };
	struct fuzz_repo fr;
	struct backup *b = fuzz_repo_open(&fr, &o);
	struct backup_info in;
	struct backup_stat st;
	size_t slot, i, n, *slots;

	if (b) {
		(void)backup_info(b, &in, NULL);
		(void)backup_repo_latest(fr.repo, &slot);
		for (i = 0; i < backup_repo_schedule_count(fr.repo); i++)
			if (backup_repo_schedule_members(fr.repo, i, &slots,
							 &n) == 0)
				free(slots);
		(void)backup_node_stat(b, BACKUP_NODE_ROOT, &st, NULL);
		fuzz_read_backup(b);
	}
	fuzz_repo_close(&fr);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_vault_init(NULL);
	fuzz_write(fuzz_vault_dir(), "backups/good/velero-backup.json",
		   GOOD_JSON, strlen(GOOD_JSON));
	fuzz_write_small_tarball(fuzz_vault_dir(), "backups/good/good.tar.gz");
	fuzz_write_small_tarball(fuzz_vault_dir(), "backups/fz/fz.tar.gz");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > ((size_t)1 << 20))
		return 0;
	fuzz_write(fuzz_vault_dir(), "backups/fz/velero-backup.json", data,
		   size);
	/* read afresh each time: never the cached index or catalog */
	fuzz_empty_dir(fuzz_cache_dir());
	browse();
	return 0;
}
