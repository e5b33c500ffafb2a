/* backup/history: one object across recovery points.
 *
 *   history/namespaces/<ns>/<resource.group>/<name>/<time>_<backup>.yaml
 *   history/cluster/<resource.group>/<name>/<time>_<backup>.yaml
 *
 * Every level is the union of the same directory in every backup, read
 * from their indexes (opened on demand: walking history/ indexes the
 * backups it needs, once); the versions of an object are sorted by the
 * backups' times, and a version identical to the one before it is marked
 * (the front end shows it as a link to the earlier one). Nothing is
 * copied: a version is a node of a backup's index.
 *
 * Directory ids: an append-only table of the history paths handed out,
 * so that they can have inode numbers; it grows with the paths visited,
 * not with backups x objects. Protected by repo->history_lock. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "backup/backup_i.h"
#include "common/hash.h"

#define HISTORY_MAX_DEPTH 4 /* namespaces/<ns>/<gr>/<name> */

/* The present backups, in time order (then name). */
struct timed {
	struct backup *b;
	size_t slot;
	int64_t time;
};

static int cmp_timed(const void *x, const void *y)
{
	const struct timed *a = x, *b = y;

	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	return strcmp(a->b->name, b->b->name);
}

static int present(struct backup_repo *r, struct timed **out, size_t *nout)
{
	size_t n = backup_repo_count(r), i, k = 0;
	struct timed *v = calloc(n ? n : 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct backup *b = backup_repo_slot(r, i);
		struct backup_info in;

		if (!b || backup_gone(b) || backup_info(b, &in, NULL) < 0)
			continue;
		v[k].b = b;
		v[k].slot = i;
		v[k].time = in.time;
		k++;
	}
	qsort(v, k, sizeof(*v), cmp_timed);
	*out = v;
	*nout = k;
	return 0;
}

/* Checks a history path: namespaces/<ns>/<gr>/<name> or cluster/<gr>/<name>
 * and its prefixes. Returns the depth at which it names an object (3 or
 * 4), 0 for a directory above, -ENOENT for anything else. */
static int history_shape(char *const *comps, size_t n)
{
	if (n == 0)
		return 0;
	if (!strcmp(comps[0], "namespaces"))
		return n < 4 ? 0 : n == 4 ? 4 : -ENOENT;
	if (!strcmp(comps[0], "cluster"))
		return n < 3 ? 0 : n == 3 ? 3 : -ENOENT;
	return -ENOENT;
}

/* Whether the entries of the history directory comps are objects. */
static bool objects_below(char *const *comps, size_t n)
{
	return (n == 3 && !strcmp(comps[0], "namespaces")) ||
	       (n == 2 && !strcmp(comps[0], "cluster"));
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Looks comps up in b as a path below its root; item names without ext. */
static int lookup_path(struct backup *b, char *const *comps, size_t n,
		       bool last_is_item, uint32_t *node)
{
	uint32_t cur = BACKUP_NODE_ROOT;
	char name[600];
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		if (i + 1 == n && last_is_item)
			snprintf(name, sizeof(name), "%s%s", comps[i],
				 b->repo->opt.view == BACKUP_VIEW_JSON ? ".jso"
									 "n" :
									 ".yam"
									 "l");
		else
			snprintf(name, sizeof(name), "%s", comps[i]);
		r = backup_node_lookup(b, cur, name, &cur, NULL);
		if (r < 0)
			return r;
	}
	*node = cur;
	return 0;
}

static int join(char *const *comps, size_t n, char *buf, size_t size);

static void free_names(char **v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

/* The union of directory comps (a directory of objects' parents, n >= 1)
 * over the present backups, sorted and unique. *complete is false when a
 * backup could not be read (then the union is not cached). */
static int union_build(struct backup_repo *r, char *const *comps, size_t n,
		       char ***names, size_t *nnames, bool *complete)
{
	const char *ext = r->opt.view == BACKUP_VIEW_JSON ? ".json" : ".yaml";
	struct timed *v = NULL;
	char **out = NULL;
	size_t nv = 0, no = 0, cap = 0, i, k;
	int ret;

	*complete = true;
	ret = present(r, &v, &nv);
	if (ret < 0)
		return ret;
	for (i = 0; i < nv; i++) {
		uint32_t dir, cnt, j, child;
		char name[512];

		/* a backup that can't be read just has nothing to add */
		ret = lookup_path(v[i].b, comps, n, false, &dir);
		if (ret == 0)
			ret = backup_node_nchildren(v[i].b, dir, &cnt, NULL);
		if (ret < 0) {
			if (ret != -ENOENT && ret != -ENOTDIR)
				*complete = false;
			continue;
		}
		for (j = 0; j < cnt; j++) {
			size_t len;

			if (backup_node_child(v[i].b, dir, j, &child, name,
					      sizeof(name), NULL) < 0)
				continue;
			len = strlen(name);
			/* at the resource level, entries are objects */
			if (objects_below(comps, n)) {
				if (len <= 5 || strcmp(name + len - 5, ext))
					continue;
				name[len - 5] = '\0';
			}
			if (no == cap) {
				char **nout;

				cap = cap ? cap * 2 : 64;
				nout = realloc(out, cap * sizeof(*out));
				if (!nout)
					goto nomem;
				out = nout;
			}
			if (!(out[no] = strdup(name)))
				goto nomem;
			no++;
		}
	}
	free(v);
	if (no > 1) /* out is NULL when nothing was found */
		qsort(out, no, sizeof(*out), cmp_strp);
	for (i = 0, k = 0; i < no; i++) {
		if (k && !strcmp(out[k - 1], out[i])) {
			free(out[i]);
			continue;
		}
		out[k++] = out[i];
	}
	*names = out;
	*nnames = k;
	return 0;
nomem:
	free(v);
	free_names(out, no);
	return -ENOMEM;
}

/* ---- the unions, cached ----
 * A lookup in a history directory must not list and sort the union of
 * every backup's directory again (100k objects of one kind: a `find`
 * that never ends). The last HISTORY_CACHE unions built are kept, each
 * for the repo generation it was built in (a refresh that adds or
 * removes a backup changes it), and looked up by bisection. */
#define HISTORY_CACHE 16

struct history_union {
	char *path; /* NULL: a free entry */
	uint64_t generation, used;
	char **names;
	size_t n;
};

void history_cache_free(struct backup_repo *r)
{
	size_t i;

	for (i = 0; r->hist_unions && i < HISTORY_CACHE; i++) {
		free(r->hist_unions[i].path);
		free_names(r->hist_unions[i].names, r->hist_unions[i].n);
	}
	free(r->hist_unions);
	r->hist_unions = NULL;
}

/* The cached union of path in generation gen; history_lock held. */
static struct history_union *union_find(struct backup_repo *r, const char *path,
					uint64_t gen)
{
	size_t i;

	for (i = 0; r->hist_unions && i < HISTORY_CACHE; i++) {
		struct history_union *u = &r->hist_unions[i];

		if (u->path && u->generation == gen && !strcmp(u->path, path)) {
			u->used = ++r->hist_tick;
			return u;
		}
	}
	return NULL;
}

/* Keeps names (stolen) as the union of path; history_lock held. */
static void union_put(struct backup_repo *r, char *path, uint64_t gen,
		      char **names, size_t n)
{
	struct history_union *u = NULL;
	size_t i;

	if (!r->hist_unions)
		r->hist_unions = calloc(HISTORY_CACHE, sizeof(*r->hist_unions));
	for (i = 0; r->hist_unions && i < HISTORY_CACHE; i++)
		if (!u || !r->hist_unions[i].path ||
		    (u->path && r->hist_unions[i].used < u->used))
			u = &r->hist_unions[i];
	if (!u || !path) {
		free(path);
		free_names(names, n);
		return;
	}
	free(u->path);
	free_names(u->names, u->n);
	*u = (struct history_union){ path, gen, ++r->hist_tick, names, n };
}

/* Calls fn on the union of directory comps (n >= 1), under history_lock,
 * building and caching it first when needed. */
static int with_union(struct backup_repo *r, char *const *comps, size_t n,
		      int (*fn)(const struct history_union *u, void *arg),
		      void *arg)
{
	struct history_union tmp = { 0 };
	char path[2048];
	uint64_t gen = backup_repo_generation(r);
	bool complete;
	int ret = join(comps, n, path, sizeof(path));

	if (ret < 0)
		return ret;
	pthread_mutex_lock(&r->history_lock);
	{
		const struct history_union *u = union_find(r, path, gen);

		if (u) {
			ret = fn(u, arg);
			pthread_mutex_unlock(&r->history_lock);
			return ret;
		}
	}
	pthread_mutex_unlock(&r->history_lock);
	/* built unlocked: it may open backups */
	ret = union_build(r, comps, n, &tmp.names, &tmp.n, &complete);
	if (ret < 0)
		return ret;
	ret = fn(&tmp, arg);
	pthread_mutex_lock(&r->history_lock);
	if (complete)
		union_put(r, strdup(path), gen, tmp.names, tmp.n);
	else
		free_names(tmp.names, tmp.n);
	pthread_mutex_unlock(&r->history_lock);
	return ret;
}

struct list_arg {
	char **names;
	size_t n;
};

static int union_copy(const struct history_union *u, void *arg)
{
	struct list_arg *a = arg;
	size_t i;

	a->names = calloc(u->n ? u->n : 1, sizeof(*a->names));
	if (!a->names)
		return -ENOMEM;
	for (i = 0; i < u->n; i++)
		if (!(a->names[i] = strdup(u->names[i]))) {
			free_names(a->names, i);
			a->names = NULL;
			return -ENOMEM;
		}
	a->n = u->n;
	return 0;
}

int backup_history_list(struct backup_repo *r, char *const *comps, size_t n,
			char ***names, size_t *nnames)
{
	struct list_arg a = { 0 };
	int shape = history_shape(comps, n), ret;

	if (shape < 0)
		return shape;
	if (shape > 0)
		return -ENOTDIR;
	if (n == 0) {
		char **out = calloc(2, sizeof(*out));

		if (!out || !(out[0] = strdup("cluster")) ||
		    !(out[1] = strdup("namespaces"))) {
			if (out)
				free(out[0]);
			free(out);
			return -ENOMEM;
		}
		*names = out;
		*nnames = 2;
		return 0;
	}
	ret = with_union(r, comps, n, union_copy, &a);
	if (ret < 0)
		return ret;
	*names = a.names;
	*nnames = a.n;
	return 0;
}

static int union_has(const struct history_union *u, void *arg)
{
	const char *name = arg;

	return u->n && bsearch(&name, u->names, u->n, sizeof(*u->names),
			       cmp_strp) ?
		       0 :
		       -ENOENT;
}

int backup_history_has(struct backup_repo *r, char *const *comps, size_t n,
		       const char *name)
{
	int shape = history_shape(comps, n);

	if (shape < 0)
		return shape;
	if (shape > 0)
		return -ENOTDIR;
	if (n == 0)
		return strcmp(name, "cluster") && strcmp(name, "namespaces") ?
			       -ENOENT :
			       0;
	return with_union(r, comps, n, union_has, (void *)name);
}

int backup_history_versions(struct backup_repo *r, char *const *comps, size_t n,
			    struct backup_version **out, size_t *nout)
{
	const char *ext = r->opt.view == BACKUP_VIEW_JSON ? ".json" : ".yaml";
	struct backup_version *v = NULL;
	struct timed *t = NULL;
	size_t nt = 0, nv = 0, i;
	int shape = history_shape(comps, n), ret;

	if (shape < 0)
		return shape;
	if (shape == 0)
		return -EISDIR;
	ret = present(r, &t, &nt);
	if (ret < 0)
		return ret;
	v = calloc(nt ? nt : 1, sizeof(*v));
	if (!v) {
		free(t);
		return -ENOMEM;
	}
	for (i = 0; i < nt; i++) {
		struct backup_index *x;
		struct idx_node ndc;
		const struct idx_node *nd = &ndc;
		uint32_t node;
		char when[32];
		time_t tt = (time_t)t[i].time;
		struct tm tm;
		long k;

		if (lookup_path(t[i].b, comps, n, true, &node) < 0)
			continue;
		x = __atomic_load_n(&t[i].b->idx, __ATOMIC_ACQUIRE);
		if (backup_index_node(x, node, &ndc) < 0)
			continue;
		gmtime_r(&tt, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		v[nv].slot = t[i].slot;
		v[nv].node = node;
		v[nv].time = t[i].time;
		v[nv].same_as = -1;
		snprintf(v[nv].name, sizeof(v[nv].name), "%s_%s%s", when,
			 t[i].b->name, ext);
		/* the same bytes as the version before it? */
		if (nv > 0 && !(nd->flags & IDX_F_BROKEN)) {
			const struct backup_version *p = &v[nv - 1];
			struct backup_index *px = __atomic_load_n(
				&backup_repo_slot(r, p->slot)->idx,
				__ATOMIC_ACQUIRE);
			struct idx_node pnc;
			const struct idx_node *pn = &pnc;

			k = p->same_as >= 0 ? p->same_as : (long)nv - 1;
			/* compared only once both are checked (bounds, CRC) */
			if (backup_index_node(px, p->node, &pnc) == 0 &&
			    pn->len == nd->len && pn->crc == nd->crc &&
			    !(pn->flags & IDX_F_BROKEN) &&
			    backup_index_verify(px, p->node, pn) == 0 &&
			    backup_index_verify(x, node, nd) == 0 &&
			    !memcmp(px->data + pn->off, x->data + nd->off,
				    nd->len))
				v[nv].same_as = k;
		}
		nv++;
	}
	free(t);
	if (nv == 0) {
		free(v);
		return -ENOENT;
	}
	*out = v;
	*nout = nv;
	return 0;
}

/* ---- ids for history directories ---- */

static uint64_t hash_str(const char *s)
{
	return fnv1a64(s, strlen(s));
}

static int join(char *const *comps, size_t n, char *buf, size_t size)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		int w = snprintf(buf + len, size - len, "%s%s", i ? "/" : "",
				 comps[i]);

		if (w < 0 || (size_t)w >= size - len)
			return -ENAMETOOLONG;
		len += (size_t)w;
	}
	return 0;
}

int backup_history_id(struct backup_repo *r, char *const *comps, size_t n,
		      uint32_t *id)
{
	char path[2048];
	uint64_t h;
	size_t i;
	int ret;

	if (history_shape(comps, n) < 0)
		return -ENOENT;
	ret = join(comps, n, path, sizeof(path));
	if (ret < 0)
		return ret;
	h = hash_str(path);
	pthread_mutex_lock(&r->history_lock);
	if (r->hist_cap) {
		for (i = h & (r->hist_cap - 1); r->hist_slots[i];
		     i = (i + 1) & (r->hist_cap - 1))
			if (!strcmp(r->hist_paths[r->hist_slots[i] - 1],
				    path)) {
				*id = r->hist_slots[i] - 1;
				pthread_mutex_unlock(&r->history_lock);
				return 0;
			}
	}
	if ((r->hist_n + 1) * 2 > r->hist_cap) {
		size_t cap = r->hist_cap ? r->hist_cap * 2 : 1024, j;
		uint32_t *slots = calloc(cap, sizeof(*slots));
		char **paths = realloc(r->hist_paths, cap * sizeof(*paths));

		if (!slots || !paths) {
			free(slots);
			if (paths)
				r->hist_paths = paths;
			pthread_mutex_unlock(&r->history_lock);
			return -ENOMEM;
		}
		r->hist_paths = paths;
		for (j = 0; j < r->hist_n; j++) {
			for (i = hash_str(paths[j]) & (cap - 1); slots[i];
			     i = (i + 1) & (cap - 1))
				;
			slots[i] = (uint32_t)j + 1;
		}
		free(r->hist_slots);
		r->hist_slots = slots;
		r->hist_cap = cap;
	}
	r->hist_paths[r->hist_n] = strdup(path);
	if (!r->hist_paths[r->hist_n]) {
		pthread_mutex_unlock(&r->history_lock);
		return -ENOMEM;
	}
	for (i = h & (r->hist_cap - 1); r->hist_slots[i];
	     i = (i + 1) & (r->hist_cap - 1))
		;
	r->hist_slots[i] = (uint32_t)r->hist_n + 1;
	*id = (uint32_t)r->hist_n++;
	pthread_mutex_unlock(&r->history_lock);
	return 0;
}

int backup_history_path(struct backup_repo *r, uint32_t id, char ***comps,
			size_t *n)
{
	char *copy = NULL, *p, **v;
	size_t k = 0;

	pthread_mutex_lock(&r->history_lock);
	if (id < r->hist_n)
		copy = strdup(r->hist_paths[id]);
	pthread_mutex_unlock(&r->history_lock);
	if (!copy)
		return id < r->hist_n ? -ENOMEM : -ENOENT;
	/* one allocation: the pointers, then the string */
	v = malloc(HISTORY_MAX_DEPTH * sizeof(*v) + strlen(copy) + 1);
	if (!v) {
		free(copy);
		return -ENOMEM;
	}
	p = strcpy((char *)(v + HISTORY_MAX_DEPTH), copy);
	free(copy);
	while (*p && k < HISTORY_MAX_DEPTH) {
		v[k++] = p;
		p = strchr(p, '/');
		if (!p)
			break;
		*p++ = '\0';
	}
	*comps = v;
	*n = k;
	return 0;
}
