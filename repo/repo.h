/* repo: volume data in Velero's backup repositories (kopia/<ns>/ and
 * restic/<ns>/ in the vault), read-only, no FUSE.
 *
 * A struct vrepo is one repository (one namespace's kopia or restic
 * repository) opened with its password; a struct vsnap is one snapshot
 * in it (the snapshot id a PodVolumeBackup records), whose tree is read
 * lazily: listing a directory or reading a file fetches only the blobs
 * it needs (through the vault, with pack ranges; blobs cached).
 *
 * Thread-safety: every function may be called from several threads. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cache/cache.h"
#include "common/error.h"
#include "common/sbuf.h"
#include "vault/vault.h"

enum vrepo_kind { VREPO_KOPIA, VREPO_RESTIC };

struct vrepo;

/* Opens the repository at prefix ("kopia/shop/") in v. password: Velero's
 * default ("static-passw0rd") unless the user gave one. -EACCES "wrong
 * repository password", -EPROTONOSUPPORT for a format version not
 * known, -ENOENT when there is no repository there. c may be NULL (no
 * blob cache). Borrows v and c. */
int vrepo_open(struct vault *v, struct cache *c, enum vrepo_kind kind,
	       const char *prefix, const char *password, struct vrepo **out,
	       struct verror *e);
struct vrepo *vrepo_free(struct vrepo *r);

/* One entry of a snapshot's tree. */
struct ventry {
	char *name;  /* owned */
	mode_t mode; /* S_IFDIR|0755, S_IFREG|0644, S_IFLNK|0777 ... */
	uint64_t size;
	int64_t mtime_ns; /* nanoseconds since the epoch */
	uint32_t uid, gid;
	char *target; /* symlink target, owned; NULL otherwise */
	/* hard links (restic records them, kopia does not): a regular file
	 * with nlink > 1 is one file with every other entry of the same
	 * snapshot that has the same (ino, dev); nlink 0 or 1: one name */
	uint32_t nlink;
	uint64_t ino, dev;
	char obj[80]; /* object id of the content (file, dir) */
};
void ventry_release(struct ventry *e);

/* The root directory of the snapshot with that id (kopia manifest id or
 * root object id; restic snapshot id, full or prefix). */
int vrepo_snapshot_root(struct vrepo *r, const char *snapshot_id,
			struct ventry *root, struct verror *e);

/* The name of the one file of a block-mode PVC's snapshot (Velero's
 * block backup, pkg/uploader/kopia/block_backup.go, stores the device's
 * content as the one file of the snapshot's root, named after the
 * device's path, "/<DataUpload uid>" in the data mover's pod: not a file
 * name). Velero's block restore writes that file, whatever its name, onto
 * the target device: it is the disk image. Its directory has no other
 * entry, so the name cannot clash. */
#define VREPO_BLOCK_NAME "block"

/* Lists a directory entry (sorted by name). *out owned by the caller:
 * release each, then free(). */
int vrepo_list(struct vrepo *r, const struct ventry *dir, struct ventry **out,
	       size_t *n, struct verror *e);

/* Reads up to len bytes of a regular file at off: count, 0 at the end,
 * -errno (-EIO with the blob named in e when a pack is missing or
 * corrupt). */
ssize_t vrepo_read(struct vrepo *r, const struct ventry *file, void *buf,
		   size_t len, uint64_t off, struct verror *e);

/* offline.c: vault objects that can change (a format blob, a listing, a
 * backup's PodVolumeBackup list), from the vault when it answers (the
 * answer is then kept in c), else the copy c kept: 0, or the vault's
 * error (-ENOENT: not there, the copy is not used) when there is no copy.
 * Appends to out. c may be NULL (no copy). */
int vrepo_get_latest(struct vault *v, struct cache *c, const char *key,
		     struct sbuf *out, struct verror *e);
/* The same for bytes of the caller's (key: any string naming them). */
void vrepo_latest_save(struct vault *v, struct cache *c, const char *key,
		       const void *buf, size_t len);
int vrepo_latest_load(struct vault *v, struct cache *c, const char *key,
		      struct sbuf *out);
