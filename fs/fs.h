/* fs: the FUSE front end. Low-level API, multi-threaded loop, our own
 * inode numbers; every operation is a thin translation into backup/.
 * Only fs/ and cli/ include FUSE headers. */
#pragma once

#include <stdbool.h>

#include "backup/backup.h"

struct fuse_args;

struct restore;

struct fs_config {
	struct backup_repo *repo; /* borrowed */
	struct restore *restore;  /* borrowed; NULL: no restore/ spool */
	const char *restore_off;  /* without a spool: why, shown in
				   * restore/README */
	const char *mountpoint;
	struct fuse_args *args; /* libfuse's own options; borrowed */
	/* called once mounted, before serving (may be NULL) */
	void (*on_ready)(void *userdata);
	void *userdata;
	unsigned max_threads; /* 0: libfuse's default */
	double timeout;	      /* entry/attr timeout for backup content */
	unsigned refresh_s;   /* re-list the vault this often; 0: never */
};

/* Mounts, serves until unmounted or signalled, unmounts. Returns 0 or
 * -errno (the mount failed; libfuse printed why). */
int fs_run(const struct fs_config *cfg);
