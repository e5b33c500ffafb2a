/* cli/restore_source: the restore engine's callbacks over the mount's
 * backups (see restore_source.c). userdata is the struct backup_repo. */
#pragma once

#include <stddef.h>

/* restore_origin_fn: the backup of the files the writer had open (hints)
 * when the bytes are theirs, else the newest opened backup holding a file
 * with exactly these bytes. */
int restore_source_origin(void *userdata, const void *data, size_t len,
			  const char *const *hints, size_t nhints, char *name,
			  size_t namesz);
/* restore_namespace_fn: cluster/namespaces/<ns>.json or .yaml of backup. */
int restore_source_namespace(void *userdata, const char *backup, const char *ns,
			     char **data, size_t *len);
