/* backup: Velero's layout, read-only.
 *
 * A backup_repo is every recovery point in one vault: `backups/<name>/`
 * holding `velero-backup.json`. Each struct backup is indexed on first
 * use: its source (source_i.h: for a Velero backup, the tarball and the
 * per-backup objects) is read once, every item rendered (YAML and the
 * original JSON), and the result written to the cache as one index file
 * that later runs map at once. What follows does not depend on the
 * source. The index is a tree of nodes:
 *
 *   backup.yaml  describe.txt  logs  errors.txt  meta/<object>.yaml
 *   namespaces/<ns>/<resource.group>/<name>.yaml
 *   cluster/<resource.group>/<name>.yaml
 *   apiversions/<resource.group>/<version
 * dir>/{namespaces/<ns>,cluster}/<name>.yaml
 *
 * (under apiversions/, the copy that namespaces/ or cluster/ already
 * shows - the preferred version - is a symlink to it: each item is one
 * file for grep -r and find)
 * (".json" and the original bytes in the JSON view). Node numbers are
 * stable for the life of the repo; node 0 is the backup directory itself.
 *
 * Thread-safety: every function may be called from several threads.
 * struct backup pointers stay valid until backup_repo_free(), even for
 * backups that disappear from the vault. No FUSE here. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cache/cache.h"
#include "common/error.h"
#include "vault/vault.h"

struct backup_repo;
struct backup;
struct etcd_crypt;

enum backup_view {
	BACKUP_VIEW_YAML, /* items as <name>.yaml */
	BACKUP_VIEW_JSON, /* items as <name>.json, the tarball's own bytes */
};

/* Progress of an index being built (a first open of a large backup
 * takes a while): called from the building thread about once a second,
 * and once when the items are all read (done). Must be quick; may be
 * called from several building threads at once. */
typedef void backup_progress_fn(void *userdata, const char *backup,
				uint64_t items, uint64_t ms, bool done);

struct backup_options {
	backup_progress_fn *progress; /* NULL: none */
	void *progress_userdata;
	enum backup_view view;
	bool clean;	  /* items without server-set noise (managedFields,
			   * uid, resourceVersion, ..., status) for diffs */
	bool keep_status; /* with clean: keep status */
	bool redact;	  /* Secrets' values as "<redacted sha256:...>" */
	/* etcd snapshots' encryption at rest: -o encryption-config=FILE,
	 * loaded by the caller (etcd_crypt_load), borrowed; NULL: none.
	 * crypt_id names its content in cache keys (a SHA-256). */
	const struct etcd_crypt *crypt;
	char crypt_id[72];
	/* the password of Velero's repositories (volumes/); NULL: Velero's
	 * default. Copied. */
	const char *repo_password;
	unsigned build_threads; /* threads that build an index; 0: one per
				 * core (or VELEROFS_BUILD_THREADS), 1: no
				 * thread of its own */
};

/* Borrows v and c: both must outlive the repo. Lists nothing yet. */
int backup_repo_new(struct vault *v, struct cache *c,
		    const struct backup_options *o, struct backup_repo **out);
struct backup_repo *backup_repo_free(struct backup_repo *r);
enum backup_view backup_repo_view(const struct backup_repo *r);

/* Lists `backups/` (one LIST) and updates the slots: new backups get new
 * slots, vanished ones are marked gone. Slots are never reused. */
int backup_repo_refresh(struct backup_repo *r, struct verror *e);
/* Changes whenever a refresh adds or removes a backup, so that a caller
 * holding a view of the list (the kernel's cache) knows to drop it. */
uint64_t backup_repo_generation(struct backup_repo *r);
/* True while the vault can't be reached and the list comes from the
 * cache. */
bool backup_repo_offline(struct backup_repo *r);
/* Number of slots, gone ones included. */
size_t backup_repo_count(struct backup_repo *r);
/* The backup in slot, NULL if out of range. */
struct backup *backup_repo_slot(struct backup_repo *r, size_t slot);
/* Finds a present backup by name; NULL if none. *slot if non-NULL. */
struct backup *backup_repo_find(struct backup_repo *r, const char *name,
				size_t *slot);
/* The newest backup whose phase is Completed (by completion time), as a
 * slot. Reads every velero-backup.json not read yet. -ENOENT if none. */
int backup_repo_latest(struct backup_repo *r, size_t *slot);
/* The `latest` link of backups/: the target as backup_repo_latest(), and
 * -ENOENT also when a backup is itself named "latest" (the real backup
 * wins; a link beside it would share its name or point at itself). */
#define BACKUP_LATEST "latest"
int backup_repo_latest_link(struct backup_repo *r, size_t *slot);

/* Schedules (the velero.io/schedule-name label), numbered stably for the
 * life of the repo. Reading them reads every velero-backup.json. */
size_t backup_repo_schedule_count(struct backup_repo *r);
/* Borrowed name of schedule i, NULL if out of range. */
const char *backup_repo_schedule_name(struct backup_repo *r, size_t i);
int backup_repo_schedule_find(struct backup_repo *r, const char *name,
			      size_t *i);
/* The slots of the present backups of schedule i, sorted by name. Caller
 * frees *slots. */
int backup_repo_schedule_members(struct backup_repo *r, size_t i,
				 size_t **slots, size_t *n);

const char *backup_name(const struct backup *b);
bool backup_gone(const struct backup *b);

/* ---- etcd snapshots (snapshots.c, source_etcd.c) ----
 * Files anywhere under the vault's prefix (outside Velero's own top
 * folders) whose first bytes are a bbolt database are etcd snapshots:
 * recovery points like backups, in the same slots (history/ spans both),
 * shown under snapshots/. A snapshot's name is its key in the vault with
 * '/' as '_' ("gke-backups/2026-12-01/admin-cluster_snapshot.db" ->
 * "gke-backups_2026-12-01_admin-cluster_snapshot.db"); two keys that give
 * one name (or a name over 255 bytes) get '~' and 8 hex digits of a hash
 * of the key. Its time is the object's mtime. */
bool backup_is_snapshot(const struct backup *b);
/* The snapshot's key in the vault; NULL for a Velero backup. */
const char *backup_snapshot_key(const struct backup *b);
/* Finds a present snapshot by name; NULL if none. */
struct backup *backup_repo_find_snapshot(struct backup_repo *r,
					 const char *name, size_t *slot);
/* The cluster a snapshot's file name tells, into out ("" if none):
 * GKE on VMware's "admin-cluster_snapshot.db" -> "admin-cluster",
 * "user-cluster_<c>_snapshot.db" -> "<c>", "<c>_snapshot.db" -> "<c>". */
void backup_snapshot_cluster_of(const char *key, char *out, size_t size);

/* The `latest` links of snapshots/latest/: per cluster (its file name's,
 * else the uid of its kube-system namespace, read from the index), the
 * newest snapshot. Sorted by cluster; caller frees *out. */
struct backup_snapshot_latest {
	char cluster[128];
	size_t slot;
};
int backup_repo_snapshot_latest(struct backup_repo *r,
				struct backup_snapshot_latest **out, size_t *n);
/* Number of present snapshots (0: the vault holds none). */
size_t backup_repo_snapshot_count(struct backup_repo *r);

/* What velero-backup.json says, read once per backup. */
struct backup_info {
	char phase[32];	    /* "Completed", "Failed", ...; "" if unknown */
	char schedule[256]; /* velero.io/schedule-name, "" if none */
	int64_t time;	    /* completion time, else start, else creation,
			     * else the object's mtime (seconds) */
	int64_t completed;  /* completion time, 0 if none */
	bool valid;	    /* velero-backup.json was read and parsed */
	/* for `velerofs backups` (velero backup get's columns) */
	int64_t created;    /* metadata.creationTimestamp, 0 if none */
	int64_t expires;    /* status.expiration, 0 if none */
	int64_t errors;	    /* status.errors */
	int64_t warnings;   /* status.warnings */
	char location[256]; /* spec.storageLocation, "" if none */
	char selector[512]; /* spec.labelSelector as velero prints it,
			     * "" if none (cut at 511 bytes) */
};

/* Fills *out. Never fails for a backup whose velero-backup.json is
 * missing or malformed (valid is false and the backup's errors.txt says
 * why); fails with -EIO when the vault can't be read. */
int backup_info(struct backup *b, struct backup_info *out, struct verror *e);

/* Indexes the backup if needed (tarball streamed once, index cached);
 * idempotent and safe to call from several threads at once. A corrupt
 * backup is still opened: its errors.txt and describe.txt tell what went
 * wrong, broken items read as -EIO. Fails (-EIO, -ENOMEM) only when
 * nothing can be shown; the next call tries again. */
int backup_open(struct backup *b, struct verror *e);
/* Milliseconds the last backup_open() took to build (0: mapped from the
 * cache). For tests and benchmarks. */
uint64_t backup_build_ms(const struct backup *b);

#define BACKUP_NODE_ROOT 0u

enum backup_node_type {
	BACKUP_NODE_DIR,
	BACKUP_NODE_FILE,
	BACKUP_NODE_LINK, /* a symlink: the preferred version's copy under
			   * apiversions/, to the item in namespaces/ or
			   * cluster/; backup_node_read() gives its target */
};

struct backup_stat {
	enum backup_node_type type;
	uint64_t size;
	mode_t perm; /* 0555 dirs, 0444 files, 0400 Secrets */
	uint32_t nlink;
	int64_t mtime; /* the backup's time */
	bool broken;   /* reads fail with -EIO */
};

/* Node 0 needs only backup_info(); the others need backup_open(), which
 * these functions call themselves. -ENOENT for a node that doesn't
 * exist, -ENOTDIR/-EISDIR as usual. */
int backup_node_stat(struct backup *b, uint32_t node, struct backup_stat *st,
		     struct verror *e);
int backup_node_lookup(struct backup *b, uint32_t dir, const char *name,
		       uint32_t *node, struct verror *e);
/* The child at position pos of dir, for readdir: its node and name
 * (written to name, NUL-terminated, namesz >= 256). -ENOENT past the end. */
int backup_node_child(struct backup *b, uint32_t dir, uint32_t pos,
		      uint32_t *node, char *name, size_t namesz,
		      struct verror *e);
/* Children pos, pos + 1, ... of dir, each with its name (as
 * backup_node_child() gives it) and attributes (as backup_node_stat()),
 * handed to fn until fn returns false or the directory ends: a readdir's
 * worth of entries for one check of the cached index, where a
 * backup_node_child() and a backup_node_stat() per entry check it twice.
 * Returns the number of children fn accepted, or -errno (as
 * backup_node_child(); -ENOTDIR when dir is not a directory). */
typedef bool backup_list_fn(void *arg, uint32_t pos, uint32_t node,
			    const char *name, const struct backup_stat *st);
int backup_node_list(struct backup *b, uint32_t dir, uint32_t pos,
		     backup_list_fn *fn, void *arg, struct verror *e);
/* Number of children of dir. */
int backup_node_nchildren(struct backup *b, uint32_t dir, uint32_t *n,
			  struct verror *e);
/* Points *data at up to size bytes of the file from off (zero copy; the
 * bytes stay valid until backup_repo_free()); *got may be 0 at the end.
 * -EIO when the item is broken or its bytes in the cache are corrupt. */
int backup_node_read(struct backup *b, uint32_t node, uint64_t off, size_t size,
		     const void **data, size_t *got, struct verror *e);

/* Which backup holds a file with exactly these bytes (an item as this
 * view renders it): looks through the backups opened so far, newest
 * first. Writes the backup's name to name; -ENOENT if none does. Used to
 * label restored items with the backup they came from. */
int backup_repo_origin(struct backup_repo *r, const void *data, size_t len,
		       char *name, size_t namesz);

/* ---- history/: one object across the backups (history.c) ----
 * A history path is a prefix of namespaces/<ns>/<gr>/<name> or
 * cluster/<gr>/<name>, as components. Reading it opens the backups it
 * needs. */

/* The union of the entries of history directory comps over all present
 * backups, sorted (objects without extension). Caller frees each name
 * and the array. -ENOTDIR at an object, -ENOENT for a bad path. */
int backup_history_list(struct backup_repo *r, char *const *comps, size_t n,
			char ***names, size_t *nnames);

/* Whether history directory comps has an entry name: 0 or -ENOENT (and
 * as backup_history_list). O(log n) once the union was listed: the last
 * few unions are kept for as long as the list of backups is the same. */
int backup_history_has(struct backup_repo *r, char *const *comps, size_t n,
		       const char *name);

struct backup_version {
	size_t slot;   /* the backup */
	uint32_t node; /* the item in its index */
	int64_t time;
	long same_as;	/* index of the earlier version with the same bytes,
			 * -1 when this one differs from the one before it */
	char name[320]; /* "<time>_<backup>.yaml" */
};

/* The versions of the object comps, oldest first. Caller frees *out.
 * -ENOENT if no backup holds it; -EISDIR for a directory path. */
int backup_history_versions(struct backup_repo *r, char *const *comps, size_t n,
			    struct backup_version **out, size_t *nout);

/* A stable id for a history directory (for inode numbers), and back.
 * backup_history_path: caller frees *comps (one block). */
int backup_history_id(struct backup_repo *r, char *const *comps, size_t n,
		      uint32_t *id);
int backup_history_path(struct backup_repo *r, uint32_t id, char ***comps,
			size_t *n);

/* Walks a '/'-separated path below the backup directory ("" is node 0),
 * following symlinks as open() would (-ELOOP past 8). */
int backup_node_walk(struct backup *b, const char *path, uint32_t *node,
		     struct verror *e);

/* --- volumes/: pod volume data (backup/volumes.c, over repo/) ---------- */

/* volumes/<ns>/<pod>/<volume>/ holds a pod volume of the file-system
 * backup; volumes/<ns>/BACKUP_VOL_PVC_DIR/<pvc>/ a PVC that the CSI
 * snapshot data mover uploaded (a DataUpload). No pod is named so: a pod
 * name is an RFC 1123 subdomain, which has no '_'. */
#define BACKUP_VOL_PVC_DIR "_persistentvolumeclaims"

/* A node of volumes/ (ids are the repo's, stable until backup_repo_free). */
struct backup_vstat {
	mode_t mode; /* S_IFDIR|..., S_IFREG|..., S_IFLNK|0777 */
	uint64_t size;
	int64_t mtime_ns;
	uint32_t uid, gid;
	uint32_t nlink; /* a file's names (> 1: hard links); 1 otherwise */
	bool made_up;	/* volumes/, <ns>/, <pod>/: not from a repository */
};

/* volumes/ of the backup in slot: -ENOENT when it has no completed pod
 * volume backup or data upload whose repository is in the vault. Reads
 * the backup's <b>-podvolumebackups.json.gz and its DataUploads (the
 * index's meta/datauploads) once. */
int backup_vol_root(struct backup *b, size_t slot, uint64_t *id,
		    struct verror *e);
/* Like backup_node_*: a volume's repository is opened and its snapshot
 * found on first use; a directory listed on first use. -EACCES when the
 * repository's password is wrong, -EIO (e says why) when it or a blob
 * can't be read. */
int backup_vol_stat(struct backup_repo *r, uint64_t id, struct backup_vstat *st,
		    struct verror *e);
int backup_vol_lookup(struct backup_repo *r, uint64_t dir, const char *name,
		      uint64_t *id, struct verror *e);
int backup_vol_child(struct backup_repo *r, uint64_t dir, size_t pos,
		     uint64_t *id, char *name, size_t namesz, struct verror *e);
ssize_t backup_vol_read(struct backup_repo *r, uint64_t id, void *buf,
			size_t size, uint64_t off, struct verror *e);
int backup_vol_readlink(struct backup_repo *r, uint64_t id, char *buf,
			size_t size, struct verror *e);
