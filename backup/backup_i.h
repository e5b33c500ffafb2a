/* Private to backup/: the repo and backup structs and the index format. */
#pragma once

#include <isa-l/crc.h>
#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "backup/backup.h"
#include "common/sbuf.h"

/* ---- The index file ------------------------------------------------------
 *
 * One file per backup, mapped read-only:
 *
 *   [header][data ...][nodes][names]
 *
 * Nodes are a breadth-first table: the children of a directory are
 * contiguous and sorted by name (memcmp), so lookups bisect and readdir
 * walks by position. Names are stored without the view's extension for
 * items. Each file's bytes carry a CRC-32 that is checked when the file is
 * first read; the nodes and names carry one checked when the index is
 * mapped. Little-endian, this machine's layout: the file is a cache, not an
 * interchange format (the magic includes the version). */

#define IDX_MAGIC                                                          \
	"VFSIDX\0\7" /* \4: the header names its owner; \5: describe.txt's \
			Phase line; \6: IDX_LINK; \7: meta/datauploads */
#define IDX_VERSION "VFSIDX7" /* the magic as a string, in cache keys */
#define IDX_OWNER_LEN 16
#define IDX_MAX_FILE ((uint64_t)1 << 40)

enum idx_type {
	IDX_DIR = 1,
	IDX_FILE = 2, /* a plain file (describe.txt, logs) */
	IDX_ITEM = 3, /* <name>.yaml or <name>.json, by the view */
	IDX_LINK = 4, /* a symlink named like an item (<name>.yaml); its
		       * bytes are the target, relative to its directory:
		       * the preferred version's copy under apiversions/
		       * pointing at the item in namespaces/ or cluster/ */
};

enum idx_flags {
	IDX_F_SECRET = 1 << 0, /* mode 0400 */
	IDX_F_BROKEN = 1 << 1, /* reads fail with EIO */
};

struct idx_header {
	char magic[8];
	uint64_t file_size;
	uint64_t data_off, data_len;
	uint64_t nodes_off;
	uint64_t names_off, names_len;
	uint32_t node_count;
	uint32_t meta_crc;   /* CRC-32 of nodes and names */
	uint32_t header_crc; /* CRC-32 of this header with header_crc = 0 */
	uint32_t reserved[1];
	/* whose index this is: the first bytes of the SHA-256 of the view,
	 * the vault, the recovery point's name and its source key (what the
	 * cache path is made of), so that another backup's index copied over
	 * this one is refused when it is mapped */
	uint8_t owner[IDX_OWNER_LEN];
};

struct idx_node {
	uint32_t name_off;
	uint16_t name_len;
	uint8_t type;
	uint8_t flags;
	uint32_t first_child; /* dirs */
	uint32_t nchildren;   /* dirs */
	uint64_t off;	      /* files: where the bytes are in the data */
	uint32_t len;	      /* files: size; dirs: nlink */
	uint32_t crc;	      /* files: CRC-32 of the bytes */
};

/* Where bytes of one file sit in the data region. */
struct idx_ref {
	uint64_t off;
	uint32_t len;
	uint32_t crc;
};

/* ---- The in-memory state ------------------------------------------------ */

enum backup_state {
	BACKUP_NEW,
	BACKUP_BUILDING,
	BACKUP_READY,
};

/* An item of an index by its bytes (crc, len). */
struct origin_ent {
	uint32_t crc, len, node;
};

/* A mapped index. Replaced (never freed) when found corrupt while in use:
 * readers that still hold the old one keep reading valid memory. */
struct backup_index {
	struct cache_mapping map;
	const struct idx_header *hdr; /* &header: the mapped one, copied once
				       * checked (it is read after the file
				       * may have been truncated) */
	struct idx_header header;
	const struct idx_node *nodes;
	const char *names;
	const char *data;
	uint8_t *verified;	      /* per node: CRC checked; atomics */
	struct backup_index *retired; /* the one this replaced */
	/* items by (crc, len), for backup_repo_origin(): built on first use
	 * under the backup's lock, immutable once origin_built is set */
	struct origin_ent *origin;
	size_t norigin;
	bool origin_built;
};

struct backup_source_ops;

struct backup {
	struct backup_repo *repo;
	/* where the items come from (source_i.h); set once at creation */
	const struct backup_source_ops *source;
	char *name;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool gone;		 /* protected by repo->lock */
	bool info_loaded;	 /* protected by lock */
	struct backup_info info; /* protected by lock; immutable once loaded */
	char *backup_json;	 /* protected by lock; raw velero-backup.json */
	size_t backup_json_len;
	char *info_error;	 /* protected by lock; why info isn't valid */
	enum backup_state state; /* protected by lock */
	/* set under lock before state becomes READY, replaced under lock by
	 * a rebuild; read with an atomic load */
	struct backup_index *idx;
	uint64_t build_ms;
	/* The identities of the objects this state was built from, so that
	 * backup_repo_refresh() sees the backup change under it (repo.c);
	 * protected by lock. "" is a missing object; *_known false when
	 * the state came from the catalog (offline). */
	bool json_known, tar_known;
	char json_id[96]; /* velero-backup.json, read by info_load() */
	int64_t json_mtime;
	char tar_id[96]; /* the tarball, as the index was built */
	bool incomplete; /* the index came from an incomplete backup and
			  * was not cached */
	/* An etcd snapshot (source_etcd.c), set once at creation: the
	 * file's key in the vault, the object as listed, the cluster its
	 * file name tells ("" when it does not: the kube-system
	 * namespace's uid is looked up in the index then). */
	bool snapshot;
	char *vault_key;
	struct vault_object snap_obj;
	char cluster[128];
	char snap_uid[64];   /* protected by lock: the kube-system uid, "" */
	bool snap_uid_known; /* protected by lock */
};

struct schedule {
	char *name;
};

struct backup_repo {
	struct vault *vault;
	struct cache *cache;
	struct backup_options opt;
	pthread_mutex_t catalog_lock;
	json_t *catalog;    /* protected by catalog_lock */
	bool catalog_dirty; /* protected by catalog_lock */
	bool offline;	    /* protected by lock: the last listing
			     * came from the catalog */
	pthread_rwlock_t lock;
	pthread_mutex_t history_lock;
	char **hist_paths;	    /* protected by history_lock */
	uint32_t *hist_slots;	    /* protected by history_lock: id + 1 */
	size_t hist_n, hist_cap;    /* protected by history_lock */
	uint64_t generation;	    /* protected by lock */
	struct backup **slots;	    /* protected by lock */
	size_t nslots;		    /* protected by lock */
	struct schedule *schedules; /* protected by lock */
	size_t nschedules;	    /* protected by lock */

	/* the last unions of history directories (history.c) */
	struct history_union *hist_unions; /* protected by history_lock */
	uint64_t hist_tick;		   /* protected by history_lock */
	/* the settled backup a refresh checks first (repo.c) */
	size_t check_next; /* protected by lock */
	/* etcd snapshots found by the last walk of the vault (repo.c) */
	size_t nsnapshots; /* protected by lock */
	/* volumes/ of every backup (volumes.c; its own lock) */
	struct backup_vols *vols;
};

/* volumes.c: the lazy tree of volume data; borrows vault and cache. */
int backup_vols_new(struct vault *vault, struct cache *cache,
		    const char *password, struct backup_vols **out);
struct backup_vols *backup_vols_free(struct backup_vols *v);
/* What password the volume repositories are opened with, for a cache key
 * of what depends on it ("default" or a salted hash); v may be NULL.
 * Borrowed from v. */
const char *backup_vols_password_id(const struct backup_vols *v);
/* Whether the volume of a PodVolumeBackup (du false) or of a DataUpload
 * (du true), the object as Velero wrote it, is browsable under volumes/:
 * 0 yes; 1 no, with why (a sentence, no newline); -errno when that cannot
 * be told now (the vault is not reachable: not a verdict to keep). Opens
 * the repository (kept for the volumes/ tree). v may be NULL (volume data
 * not read). The same reading of the object as the tree's (where()). */
int backup_vols_verdict(struct backup_vols *v, const json_t *o, bool du,
			char *why, size_t len);

/* index.c: maps the index of b from the cache, building it first if it
 * is missing or corrupt (always, with rebuild). Called with b->state ==
 * BACKUP_BUILDING by one thread. *out set on success only. */
int backup_index_load(struct backup *b, bool rebuild, struct backup_index **out,
		      struct verror *e);
struct backup_index *backup_index_free(struct backup_repo *r,
				       struct backup_index *x);
/* index_map.c: validates a mapped index (header, bounds, CRC of nodes
 * and names, tree shape). 0 or -EBADMSG. */
int backup_index_check(const void *addr, size_t len);
/* Maps the index file at path and checks it and that its header names
 * owner (IDX_OWNER_LEN bytes): 0 (*out set), -ENOENT when there is none,
 * -EBADMSG when it fails the check or is another's (left in place), or
 * another -errno. */
int backup_index_map(struct cache *c, const char *path, const uint8_t *owner,
		     struct backup_index **out);
/* Copies node of x into *out, checked against the header: the file may
 * have been changed since it was mapped, so every field is checked where
 * it is used, on a copy read once (nothing of the mapping is read twice
 * between check and use). 0 or -EBADMSG. */
int backup_index_node(const struct backup_index *x, uint32_t node,
		      struct idx_node *out);
/* Makes sure the bytes of file node of x (n: its checked copy) may be
 * used: the file under the mapping still holds them (a cache file
 * truncated after it was mapped would SIGBUS on the next touch of a page
 * past its new end), and their CRC-32 was checked (once; x->verified
 * records it). 0, -EIO when the file shrank, -EBADMSG when the CRC does
 * not match. Call it before every use of the bytes: reads, comparisons. */
int backup_index_verify(struct backup_index *x, uint32_t node,
			const struct idx_node *n);
/* The CRC-32 of h with its header_crc field as 0. */
uint32_t backup_index_header_crc(const struct idx_header *h);

/* repo.c: whether a backup is still being written, so that nothing
 * derived from it is pinned: its tarball is missing while
 * velero-backup.json is missing or unreadable, says a phase before the
 * end, or was written in the last BACKUP_SETTLE_S seconds. */
#define BACKUP_SETTLE_S 600
bool backup_incomplete(const struct backup_info *in, bool tar_present,
		       int64_t json_mtime);

/* history.c: frees the cached unions of history directories. */
void history_cache_free(struct backup_repo *r);

/* An object of a backup's directory in the vault. */
struct backup_object {
	char *name; /* owned */
	struct vault_object obj;
};

/* catalog.c: the last state seen online, for offline use. */
bool backup_offline_error(int r);
void catalog_load(struct backup_repo *r);
void catalog_save(struct backup_repo *r);
void catalog_set_names(struct backup_repo *r, char *const *names, size_t n);
/* Caller frees the array and each name. -ENOENT if never listed. */
int catalog_names(struct backup_repo *r, char ***names, size_t *n);
void catalog_set_backup_json(struct backup_repo *r, const char *name,
			     const char *json, size_t len, int64_t mtime);
int catalog_backup_json(struct backup_repo *r, const char *name,
			struct sbuf *out, int64_t *mtime);
void catalog_set_objects(struct backup_repo *r, const char *name,
			 const struct backup_object *v, size_t n);
/* Caller frees each name and the array. */
int catalog_objects(struct backup_repo *r, const char *name,
		    struct backup_object **out, size_t *n);

/* repo.c: a new slot (a Velero backup's: source_velero), and its end. */
struct backup *backup_slot_new(struct backup_repo *r, const char *name);
void backup_slot_free(struct backup *b);

/* snapshots.c: walks the vault for etcd snapshots (after the Velero
 * backups were listed) and updates their slots. */
int snapshots_refresh(struct backup_repo *r, struct verror *e);

/* catalog.c: what a sniff of an object said (etcd snapshot or not),
 * keyed by path and identity, so that a refresh reads only new objects;
 * and the last list of snapshots, for offline use. */
int catalog_sniffed(struct backup_repo *r, const char *key,
		    const struct vault_object *o, bool *is_snapshot);
void catalog_set_sniffed(struct backup_repo *r, const char *key,
			 const struct vault_object *o, bool is_snapshot);
/* Forgets the sniffs of objects not in keys (sorted), after a walk. */
void catalog_keep_sniffed(struct backup_repo *r, char *const *keys, size_t n);
/* The objects last found to be snapshots; caller frees each name and
 * the array. -ENOENT if never walked. */
int catalog_snapshots(struct backup_repo *r, struct backup_object **out,
		      size_t *n);

/* names.c: the file name for a component, shortened with a hash when the
 * name plus ext would not fit NAME_MAX. Appends to out. */
int backup_component_name(const char *name, size_t len, size_t extlen,
			  struct sbuf *out);

/* The CRC-32 of gzip and zlib (crc32(crc, p, n) of zlib, the same values),
 * with ISA-L's carry-less multiply: several times zlib's on every index
 * build and first read. */
static inline uint32_t backup_crc32(uint32_t crc, const void *p, size_t n)
{
	return crc32_gzip_refl(crc, (const unsigned char *)p, (uint64_t)n);
}
