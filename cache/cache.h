/* cache: the on-disk cache of things derived from a vault.
 *
 * Backups are immutable, so what is computed from one (its index, the
 * rendered YAML) is computed once and kept under the cache directory
 * ($XDG_CACHE_HOME/velerofs or --cache DIR), keyed by vault, object and
 * the object's identity (ETag, size+mtime). Entries are written under a
 * temporary name and renamed, so a crash never leaves a half-written entry
 * that a later run trusts; readers still check what they map (the index
 * format carries its own checksums).
 *
 * Size limit: least-recently-used entries are removed when the total
 * exceeds the limit (checked whenever an entry is mapped); an entry mapped
 * by this process is never removed.
 * Thread-safe. No FUSE here. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

struct cache;
struct cache_writer;

struct cache_mapping {
	const void *addr; /* read-only mapping of the whole file */
	size_t len;
	char *path; /* owned */
	dev_t dev;  /* the file mapped, to tell it from one renamed over */
	ino_t ino;  /* path later (cache_mapping_intact) */
	int fd;	    /* the file mapped, kept open for a cheap fstat(), or
		     * -1 (only up to CACHE_KEEP_FDS of them) */
};

/* Opens (creating, mode 0700) the cache at dir; NULL dir means the default
 * location ($XDG_CACHE_HOME/velerofs, ~/.cache/velerofs, else
 * /var/tmp/velerofs-<uid>). The directory must be the user's own
 * (fsutil_dir_own(): owned by the effective uid, not a symbolic link, not
 * writable by others, in parents nobody else can change), or -EPERM with e
 * saying why: the cache is read back, so it must not be someone else's.
 * A directory velerofs creates, finds empty, or the default one gets a
 * CACHEDIR.TAG marker; only a marked directory is ever pruned (-EPERM for
 * a limit on an unmarked one). Removes temporary files of writers that
 * are gone (killed builds), after a minute. *out set on success only. */
int cache_open(const char *dir, uint64_t limit, struct cache **out,
	       struct verror *e);
/* The directory cache_open(NULL, ...) uses: $XDG_CACHE_HOME/velerofs,
 * ~/.cache/velerofs, else /var/tmp/velerofs-<uid>. Caller frees; NULL
 * when out of memory. */
char *cache_default_dir(void);
/* Whether the directory carries velerofs's CACHEDIR.TAG (prune works). */
bool cache_prunable(const struct cache *c);
struct cache *cache_free(struct cache *c);
const char *cache_dir(const struct cache *c);

/* The path for an entry of kind (a short word: "idx") keyed by nparts
 * strings; the key is their SHA-256, so any bytes are fine. Caller frees;
 * NULL when out of memory. */
char *cache_entry_path(struct cache *c, const char *kind,
		       const char *const *parts, size_t nparts);

/* Starts writing the entry at path (from cache_entry_path). Write through
 * cache_writer_fd(); then commit (rename into place, frees w) or
 * free (discards the temporary file). */
int cache_writer_open(struct cache *c, const char *path,
		      struct cache_writer **out, struct verror *e);
int cache_writer_fd(const struct cache_writer *w);
/* What the entry is, for `velerofs cache ls`: fields separated by '\n'
 * (for an index: the vault, the backup, the view). Kept as the entry's
 * extended attribute user.velerofs.label where the file system has them;
 * best effort, an entry without one is still an entry. */
void cache_writer_label(struct cache_writer *w, const char *label);
/* The label of the entry at path into buf (NUL-terminated); -errno
 * (-ENODATA: none). Never follows a symbolic link. */
int cache_entry_label(const char *path, char *buf, size_t size);
int cache_writer_commit(struct cache_writer *w, struct verror *e);
struct cache_writer *cache_writer_free(struct cache_writer *w);

/* Maps the entry at path read-only and marks it used (LRU). -ENOENT if it
 * isn't there, or if something that is not a regular file was there (a
 * FIFO, a symbolic link, an empty directory: logged and removed, never
 * opened or followed). Unmap with cache_unmap(); until then it is never
 * evicted. */
int cache_map(struct cache *c, const char *path, struct cache_mapping *m);
void cache_unmap(struct cache *c, struct cache_mapping *m);
/* Whether the file behind m still holds its first len bytes: false when
 * it was truncated after it was mapped (reading the pages past its new
 * end would SIGBUS). A file replaced by a rename is no longer reachable
 * by path, so the mapped one can't be truncated through it: true. Best
 * effort (a program holding the file open may truncate it after the
 * check): one fstat() of the mapped file when its descriptor was kept
 * (a directory listing asks once per entry: a stat() of the path walks
 * it every time), else one stat() of the path. */
bool cache_mapping_intact(const struct cache_mapping *m);
/* Removes an entry found corrupt, so that it is rebuilt. */
int cache_remove(struct cache *c, const char *path);

/* Removes least-recently-used entries until the total size is at most
 * limit (never an entry this process has mapped). Only files named as
 * velerofs names its entries, found without following symbolic links, are
 * candidates; -EPERM in a directory without velerofs's marker. Returns the
 * bytes removed or -errno. */
int64_t cache_prune(struct cache *c, uint64_t limit);
/* Calls fn for every entry, least recently used first: its path, bytes
 * on disk and last use (seconds). Stops at fn's first error. */
typedef int (*cache_list_fn)(const char *path, uint64_t bytes, int64_t used,
			     void *userdata);
int cache_list(struct cache *c, cache_list_fn fn, void *userdata);

/* Total bytes held; *nentries gets the count if non-NULL. */
int64_t cache_usage(struct cache *c, uint64_t *nentries);
