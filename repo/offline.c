/* repo/offline: the last copy seen of the vault objects that can change
 * (a repository's format blob, the list of its index blobs, a backup's
 * PodVolumeBackup list), kept in the cache so that a repository opens
 * from the cache when the vault can't be reached. The blobs themselves
 * never change (their ids name their content): kopia.c caches those by
 * name and range.
 *
 * What it does not do: decide what is stale. Online, the vault is always
 * asked and its answer replaces the copy; the copy is used only when the
 * vault did not answer (any error but "not there"). Entries are ordinary
 * cache entries ("latest"), under the cache's LRU like the rest. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "repo/repo.h"
#include "repo/repo_i.h"

static char *latest_path(struct vault *v, struct cache *c, const char *key)
{
	const char *parts[] = { vault_id(v), key };

	return cache_entry_path(c, "latest", parts, 2);
}

void repo_cache_put(struct cache *c, const char *path, const char *label,
		    const void *buf, size_t len)
{
	struct cache_writer *w = NULL;
	const char *p = buf;
	bool ok = true;

	if (cache_writer_open(c, path, &w, NULL) < 0)
		return;
	cache_writer_label(w, label);
	while (len && ok) {
		ssize_t n = write(cache_writer_fd(w), p, len);

		ok = n > 0;
		if (ok) {
			p += n;
			len -= (size_t)n;
		}
	}
	if (ok)
		(void)cache_writer_commit(w, NULL);
	else
		cache_writer_free(w);
}

void vrepo_latest_save(struct vault *v, struct cache *c, const char *key,
		       const void *buf, size_t len)
{
	char *path;

	if (!c || !(path = latest_path(v, c, key)))
		return;
	repo_cache_put(c, path, key, buf, len);
	free(path);
}

int vrepo_latest_load(struct vault *v, struct cache *c, const char *key,
		      struct sbuf *out)
{
	struct cache_mapping m;
	char *path;
	int r;

	if (!c)
		return -ENOENT;
	if (!(path = latest_path(v, c, key)))
		return -ENOMEM;
	r = cache_map(c, path, &m);
	if (r == 0) {
		r = cache_mapping_intact(&m) ? sbuf_add(out, m.addr, m.len) :
					       -ENOENT;
		cache_unmap(c, &m);
	}
	free(path);
	return r < 0 ? r : 0;
}

static void cut(struct sbuf *b, size_t len)
{
	b->len = len;
	if (b->buf)
		b->buf[len] = '\0';
}

int vrepo_get_latest(struct vault *v, struct cache *c, const char *key,
		     struct sbuf *out, struct verror *e)
{
	size_t start = out->len;
	int r = vault_get(v, key, out, NULL, e);

	if (r >= 0) {
		vrepo_latest_save(v, c, key, out->buf + start,
				  out->len - start);
		return r;
	}
	if (r == -ENOENT || r == -ENOMEM || r == -E2BIG)
		return r;
	cut(out, start);
	if (vrepo_latest_load(v, c, key, out) < 0) {
		cut(out, start);
		return r;
	}
	log_debug("%s: the vault did not answer (%s); the copy in the cache",
		  key, strerror(-r));
	if (e)
		e->msg[0] = '\0';
	return 0;
}

void repo_names_release(struct repo_names *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int names_add(struct repo_names *l, const char *name)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? 2 * l->cap : 64;
		char **p = realloc(l->v, nc * sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->v = p;
		l->cap = nc;
	}
	if (!(l->v[l->n] = strdup(name)))
		return -ENOMEM;
	l->n++;
	return 0;
}

struct list_ctx {
	struct repo_names *l;
	bool (*keep)(const char *name);
};

static int list_one(const char *name, const struct vault_object *obj, void *ud)
{
	struct list_ctx *x = ud;

	/* no obj: a "directory" (a common prefix) */
	if (!obj || strchr(name, '\n') || (x->keep && !x->keep(name)))
		return 0;
	return names_add(x->l, name);
}

static int by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The list kept: the names, one a line, under "<dir>\nnames". */
int repo_list_latest(struct vault *v, struct cache *c, const char *dir,
		     bool (*keep)(const char *name), struct repo_names *out,
		     struct verror *e)
{
	struct repo_names got = { 0 };
	struct list_ctx x = { &got, keep };
	struct sbuf names;
	char *key = NULL, *p, *nl;
	size_t i;
	int rc;

	if (asprintf(&key, "%s\nnames", dir) < 0)
		return -ENOMEM;
	sbuf_init(&names, (size_t)64 << 20);
	rc = vault_list(v, dir, list_one, &x, e);
	if (rc >= 0) {
		for (i = 0; i < got.n && rc >= 0; i++)
			rc = sbuf_addf(&names, "%s\n", got.v[i]);
		if (rc >= 0)
			vrepo_latest_save(v, c, key, names.buf, names.len);
		rc = 0;
	} else if (rc != -ENOMEM && rc != -ENOENT &&
		   vrepo_latest_load(v, c, key, &names) == 0) {
		log_debug("%s: the vault did not list it (%s); the list in the "
			  "cache",
			  dir, strerror(-rc));
		repo_names_release(&got);
		rc = 0;
		for (p = names.buf; p && *p && rc >= 0; p = nl + 1) {
			if (!(nl = strchr(p, '\n')))
				break;
			*nl = '\0';
			rc = list_one(p, &(struct vault_object){ 0 }, &x);
		}
		if (e && rc >= 0)
			e->msg[0] = '\0';
	}
	if (rc >= 0) {
		if (got.n > 1)
			qsort(got.v, got.n, sizeof(*got.v), by_str);
		repo_names_release(out);
		*out = got;
	} else {
		repo_names_release(&got);
	}
	sbuf_release(&names);
	free(key);
	return rc;
}
