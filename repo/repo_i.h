/* Private to repo/: the two repository readers behind repo.h (kopia.c,
 * restic.c) and what they share (repo.c): fetching a blob or a range of
 * it through the cache and the vault. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cache/cache.h"
#include "common/error.h"
#include "common/sbuf.h"
#include "repo/repo.h"
#include "vault/vault.h"

/* The bytes of blob name under prefix ([off, off+len), or all of it when
 * len is 0), appended to out: from the cache c (may be NULL) when it has
 * them, else from the vault (then cached, best effort). kind names the
 * cache namespace ("kopia", "restic"). Blob names of both formats name
 * their content, so a cached entry never goes stale. */
int repo_fetch(struct vault *v, struct cache *c, const char *kind,
	       const char *prefix, const char *name, uint64_t off, size_t len,
	       struct sbuf *out, struct verror *e);

/* offline.c: writes len bytes at buf as the cache entry path (labelled),
 * best effort: nothing is kept when it fails. */
void repo_cache_put(struct cache *c, const char *path, const char *label,
		    const void *buf, size_t len);

/* A list of names, each owned. */
struct repo_names {
	char **v;
	size_t n, cap;
};
void repo_names_release(struct repo_names *l);

/* offline.c: the names of the objects directly under dir (a vault key
 * ending in '/') that keep() accepts (keep may be NULL: all), sorted,
 * into out (what it held is released; untouched on failure): from the
 * vault (the list is then kept in c), or the last list kept when the
 * vault can't be listed (any error but -ENOMEM).
 * keep must depend on the name only (the list kept is the filtered one).
 * The caller releases out. */
int repo_list_latest(struct vault *v, struct cache *c, const char *dir,
		     bool (*keep)(const char *name), struct repo_names *out,
		     struct verror *e);

/* Decompresses one zstd stream into out (appended, capped by out->max).
 * -EBADMSG (e says why) for bad or truncated data. */
int repo_zstd(const void *data, size_t len, struct sbuf *out, struct verror *e);

/* Go's os.FileMode bits (kopia and restic keep them beside the
 * permissions). */
#define GO_MODE_SETUID (1u << 23)
#define GO_MODE_SETGID (1u << 22)
#define GO_MODE_STICKY (1u << 20)

/* A name that is one path component (s[0..n), no NUL inside). */
static inline bool repo_name_ok(const char *s, size_t n)
{
	return n > 0 && n <= 255 && strlen(s) == n && !strchr(s, '/') &&
	       strcmp(s, ".") && strcmp(s, "..");
}

struct kopia_repo;
int kopia_open(struct vault *v, struct cache *c, const char *prefix,
	       const char *password, struct kopia_repo **out, struct verror *e);
struct kopia_repo *kopia_free(struct kopia_repo *r);
int kopia_snapshot_root(struct kopia_repo *r, const char *snapshot_id,
			struct ventry *root, struct verror *e);
int kopia_list(struct kopia_repo *r, const struct ventry *dir,
	       struct ventry **out, size_t *n, struct verror *e);
ssize_t kopia_read(struct kopia_repo *r, const struct ventry *file, void *buf,
		   size_t len, uint64_t off, struct verror *e);

struct restic_repo;
int restic_open(struct vault *v, struct cache *c, const char *prefix,
		const char *password, struct restic_repo **out,
		struct verror *e);
struct restic_repo *restic_free(struct restic_repo *r);
int restic_snapshot_root(struct restic_repo *r, const char *snapshot_id,
			 struct ventry *root, struct verror *e);
int restic_list(struct restic_repo *r, const struct ventry *dir,
		struct ventry **out, size_t *n, struct verror *e);
ssize_t restic_read(struct restic_repo *r, const struct ventry *file, void *buf,
		    size_t len, uint64_t off, struct verror *e);
