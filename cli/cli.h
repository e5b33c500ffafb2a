/* cli: the subcommands. Private to cli/. */
#pragma once

#include <stdint.h>

#include "backup/backup.h"

#define EXIT_USAGE 2

int cmd_mount(int argc, char **argv);
int cmd_umount(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_cat(int argc, char **argv);
int cmd_cache(int argc, char **argv);
int cmd_find(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_restore(int argc, char **argv);

/* mountpoint.c */
/* Checks the mount point the user named (arg): a directory nothing is
 * mounted on; velerofs's own dead mount there is cleared. *out: its
 * absolute path (caller frees). Says why on failure (-ENOTDIR, -EBUSY: a
 * mount is there, -ENOTCONN: a dead mount it did not clear). */
int mountpoint_prepare(const char *arg, char **out);

/* opts.c */
/* "512M", "20G", "1048576" to bytes; -EINVAL if it doesn't parse. */
int parse_size(const char *s, uint64_t *out);

/* Everything ls/cat need: a vault, its cache, the repo over them. */
struct session {
	struct vault *vault;
	struct cache *cache;
	struct backup_repo *repo;
};

/* Opens vault_url with the cache at cache_dir (NULL: default) and lists
 * its backups. Prints the reason and returns -errno on failure.
 * vault_url is scrubbed in place (vault_url_scrub()) as soon as it is
 * read: pass argv's own string, so ps shows no secret. */
/* credentials: a credentials file as Velero's object store plugins read
 * it (NULL: the environment and the usual files). */
int session_open(struct session *s, char *vault_url, const char *credentials,
		 const char *cache_dir, const struct backup_options *bo,
		 uint64_t cache_limit);
void session_close(struct session *s);
