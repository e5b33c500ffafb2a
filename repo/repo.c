/* repo: the public functions of repo.h, dispatched to the kopia reader
 * (kopia.c) or the restic reader (restic.c), and what both share. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "repo/repo_i.h"

struct vrepo {
	enum vrepo_kind kind;
	struct kopia_repo *k;
	struct restic_repo *r;
};

int repo_fetch(struct vault *v, struct cache *c, const char *kind,
	       const char *prefix, const char *name, uint64_t off, size_t len,
	       struct sbuf *out, struct verror *e)
{
	struct cache_mapping m;
	char offs[32], lens[32], *path = NULL, *key = NULL;
	size_t start = out->len;
	int rc;

	if (asprintf(&key, "%s%s", prefix, name) < 0)
		return -ENOMEM;
	if (c) {
		const char *parts[] = { vault_id(v), key, offs, lens };

		snprintf(offs, sizeof(offs), "%llu", (unsigned long long)off);
		snprintf(lens, sizeof(lens), "%zu", len);
		path = cache_entry_path(c, kind, parts, 4);
		if (path && cache_map(c, path, &m) == 0) {
			rc = (!len || m.len == len) &&
					     cache_mapping_intact(&m) ?
				     sbuf_add(out, m.addr, m.len) :
				     -EBADMSG;
			cache_unmap(c, &m);
			if (rc != -EBADMSG) {
				free(path);
				free(key);
				return rc;
			}
			cache_remove(c, path);
		}
	}
	rc = len ? vault_get_range(v, key, NULL, off, len, out, e) :
		   vault_get(v, key, out, NULL, e);
	if (rc >= 0 && path)
		repo_cache_put(c, path, key, out->buf + start,
			       out->len - start);
	free(path);
	free(key);
	return rc;
}

int vrepo_open(struct vault *v, struct cache *c, enum vrepo_kind kind,
	       const char *prefix, const char *password, struct vrepo **out,
	       struct verror *e)
{
	struct vrepo *r;
	size_t pl = strlen(prefix);
	int rc;

	if (!pl || prefix[pl - 1] != '/' || prefix[0] == '/')
		return verror_set(e, -EINVAL, "invalid repository prefix '%s'",
				  prefix);
	if (!password)
		password = "static-passw0rd";
	if (!(r = calloc(1, sizeof(*r))))
		return -ENOMEM;
	r->kind = kind;
	rc = kind == VREPO_KOPIA ?
		     kopia_open(v, c, prefix, password, &r->k, e) :
		     restic_open(v, c, prefix, password, &r->r, e);
	if (rc < 0) {
		free(r);
		return rc;
	}
	*out = r;
	return 0;
}

struct vrepo *vrepo_free(struct vrepo *r)
{
	if (!r)
		return NULL;
	kopia_free(r->k);
	restic_free(r->r);
	free(r);
	return NULL;
}

void ventry_release(struct ventry *e)
{
	if (!e)
		return;
	free(e->name);
	free(e->target);
	e->name = e->target = NULL;
}

int vrepo_snapshot_root(struct vrepo *r, const char *snapshot_id,
			struct ventry *root, struct verror *e)
{
	return r->kind == VREPO_KOPIA ?
		       kopia_snapshot_root(r->k, snapshot_id, root, e) :
		       restic_snapshot_root(r->r, snapshot_id, root, e);
}

int vrepo_list(struct vrepo *r, const struct ventry *dir, struct ventry **out,
	       size_t *n, struct verror *e)
{
	return r->kind == VREPO_KOPIA ? kopia_list(r->k, dir, out, n, e) :
					restic_list(r->r, dir, out, n, e);
}

ssize_t vrepo_read(struct vrepo *r, const struct ventry *file, void *buf,
		   size_t len, uint64_t off, struct verror *e)
{
	return r->kind == VREPO_KOPIA ?
		       kopia_read(r->k, file, buf, len, off, e) :
		       restic_read(r->r, file, buf, len, off, e);
}
