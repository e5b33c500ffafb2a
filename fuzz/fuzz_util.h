/* fuzz_util: what the libFuzzer targets in fuzz/ share: a scratch
 * directory per process, writing and removing files, the scratch vault
 * and cache of the targets that read a backup, and a walk that reads
 * every node of an opened backup. Not part of velerofs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct backup;
struct backup_options;

/* velero-backup.json of a Completed backup named fz. */
#define FUZZ_FZ_JSON                                                   \
	"{\"apiVersion\":\"velero.io/v1\",\"kind\":\"Backup\","        \
	"\"metadata\":{\"name\":\"fz\",\"namespace\":\"velero\"},"     \
	"\"status\":{\"phase\":\"Completed\",\"completionTimestamp\":" \
	"\"2026-01-02T03:04:05Z\"}}"

/* A local vault and its cache opened the way a mount opens them, with a
 * repo of the vault's backups. */
struct fuzz_repo {
	struct vault *vault;
	struct cache *cache;
	struct backup_repo *repo;
};

/* A private directory (mkdtemp under $TMPDIR), created on first use and
 * removed at exit. Aborts when it can't be made: a fuzz run without it
 * is meaningless. */
const char *fuzz_tmpdir(void);
/* Writes data to dir/rel (under fuzz_tmpdir() when dir is NULL),
 * creating the parent directories; replaces the file atomically.
 * Aborts on failure. */
void fuzz_write(const char *dir, const char *rel, const void *data, size_t len);
/* Writes a gzip'd tarball of a small backup (a ConfigMap app and a
 * Secret db in namespace shop, the Namespace) to dir/rel. */
void fuzz_write_small_tarball(const char *dir, const char *rel);
/* The scratch vault (<fuzz_tmpdir()>/vault) and its cache
 * (<fuzz_tmpdir()>/cache) of the targets that read a backup. */
const char *fuzz_vault_dir(void);
const char *fuzz_cache_dir(void);
/* Set-up of a target that reads a backup: logging quieted to LOG_CRIT,
 * and fz_json, unless NULL, written as backup fz's velero-backup.json in
 * the scratch vault. */
void fuzz_vault_init(const char *fz_json);
/* Opens the scratch vault, its cache and a repo over them with options o
 * into *fr, and refreshes the repo. Returns backup fz, or NULL when the
 * refresh fails or finds no fz. Aborts when the vault, the cache or the
 * repo can't be opened: the set-up is ours, not the input's. Call
 * fuzz_repo_close() in either case. */
struct backup *fuzz_repo_open(struct fuzz_repo *fr,
			      const struct backup_options *o);
/* Frees what fuzz_repo_open() opened. */
void fuzz_repo_close(struct fuzz_repo *fr);
/* Removes everything under path (not path itself). */
void fuzz_empty_dir(const char *path);
/* Opens b (backup_open()) and stats, lists and reads every node below
 * the root (depth first), as a `find | xargs cat` would. Returns false
 * when b is NULL or does not open. */
bool fuzz_read_backup(struct backup *b);
/* A byte that a fuzz target may use to choose options: a cheap,
 * deterministic digest of the input. */
unsigned fuzz_pick(const void *data, size_t len);
