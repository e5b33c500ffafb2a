/* backup/tree: opening a backup (once, however many threads ask) and the
 * node operations over its mapped index. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/backup_i.h"
#include "common/log.h"

int backup_open(struct backup *b, struct verror *e)
{
	struct backup_index *x = NULL;
	struct backup_info in;
	int r;

	if (__atomic_load_n(&b->state, __ATOMIC_ACQUIRE) == BACKUP_READY)
		return 0;
	/* the index needs velero-backup.json; read it first, unlocked */
	r = backup_info(b, &in, e);
	if (r < 0)
		return r;
	pthread_mutex_lock(&b->lock);
	while (b->state == BACKUP_BUILDING)
		pthread_cond_wait(&b->cond, &b->lock);
	if (b->state == BACKUP_READY) {
		pthread_mutex_unlock(&b->lock);
		return 0;
	}
	__atomic_store_n(&b->state, BACKUP_BUILDING, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&b->lock);

	r = backup_index_load(b, false, &x, e);

	pthread_mutex_lock(&b->lock);
	if (r == 0)
		__atomic_store_n(&b->idx, x, __ATOMIC_RELEASE);
	__atomic_store_n(&b->state, r < 0 ? BACKUP_NEW : BACKUP_READY,
			 __ATOMIC_RELEASE);
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
	return r;
}

/* The index bad failed a checksum: build it again from the vault and
 * put the new one in its place (bad stays mapped for readers still on
 * it). The layout is a function of the backup alone, so node numbers -
 * the inode numbers the kernel holds - stay the same; a rebuild that
 * disagrees is refused. */
static int backup_rebuild(struct backup *b, struct backup_index *bad,
			  struct verror *e)
{
	struct backup_index *x = NULL;
	int r;

	pthread_mutex_lock(&b->lock);
	while (b->state == BACKUP_BUILDING)
		pthread_cond_wait(&b->cond, &b->lock);
	if (b->idx != bad) {
		/* another thread got there first */
		pthread_mutex_unlock(&b->lock);
		return 0;
	}
	__atomic_store_n(&b->state, BACKUP_BUILDING, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&b->lock);

	r = backup_index_load(b, true, &x, e);
	if (r == 0 && x->hdr->node_count != bad->hdr->node_count) {
		x = backup_index_free(b->repo, x);
		r = verror_set(e, -EIO,
			       "%s: the cached index was corrupt "
			       "and the rebuilt one differs",
			       b->name);
	}

	pthread_mutex_lock(&b->lock);
	if (r == 0) {
		x->retired = bad;
		__atomic_store_n(&b->idx, x, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&b->state, BACKUP_READY, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
	return r;
}

uint64_t backup_build_ms(const struct backup *b)
{
	return b->build_ms;
}

static const char *view_ext(const struct backup *b)
{
	return b->repo->opt.view == BACKUP_VIEW_JSON ? ".json" : ".yaml";
}

/* The current index and a checked copy of node in it (n); opens the
 * backup if needed. An index whose file was truncated under the mapping
 * is built again before any of its pages is touched (they would SIGBUS),
 * and so is one whose node fails its bounds (the file was changed after
 * it was mapped and checked). */
static int get_node(struct backup *b, uint32_t node, struct backup_index **x,
		    struct idx_node *n, struct verror *e)
{
	int r = backup_open(b, e), tries = 0;

	if (r < 0)
		return r;
again:
	*x = __atomic_load_n(&b->idx, __ATOMIC_ACQUIRE);
	if (node >= (*x)->hdr->node_count)
		return -ENOENT;
	if (!cache_mapping_intact(&(*x)->map) ||
	    backup_index_node(*x, node, n) < 0) {
		log_debug("%s: the cached index was truncated or changed; "
			  "rebuilding",
			  b->name);
		if (tries++ > 0)
			return verror_set(e, -EIO,
					  "%s: the cached index was truncated "
					  "or changed while in use",
					  b->name);
		r = backup_rebuild(b, *x, e);
		if (r < 0)
			return r;
		goto again;
	}
	return 0;
}

/* The attributes of a checked node n; st->mtime is the caller's. */
static void node_stat(const struct idx_node *n, struct backup_stat *st)
{
	if (n->type == IDX_DIR) {
		st->type = BACKUP_NODE_DIR;
		st->perm = 0555;
		st->nlink = n->len;
		return;
	}
	if (n->type == IDX_LINK) {
		st->type = BACKUP_NODE_LINK;
		st->perm = 0777;
		st->nlink = 1;
		st->size = n->len;
		return;
	}
	st->type = BACKUP_NODE_FILE;
	st->perm = n->flags & IDX_F_SECRET ? 0400 : 0444;
	st->nlink = 1;
	st->broken = n->flags & IDX_F_BROKEN;
	/* broken items keep a size, so that the kernel asks and gets EIO */
	st->size = n->len;
}

int backup_node_stat(struct backup *b, uint32_t node, struct backup_stat *st,
		     struct verror *e)
{
	struct idx_node nb;
	const struct idx_node *n = &nb;
	struct backup_index *x;
	struct backup_info in;
	int r;

	r = backup_info(b, &in, e);
	if (r < 0)
		return r;
	memset(st, 0, sizeof(*st));
	st->mtime = in.time;
	if (node == BACKUP_NODE_ROOT &&
	    __atomic_load_n(&b->state, __ATOMIC_ACQUIRE) != BACKUP_READY) {
		/* ls -l backups/ must not fetch tarballs */
		st->type = BACKUP_NODE_DIR;
		st->perm = 0555;
		st->nlink = 2;
		return 0;
	}
	r = get_node(b, node, &x, &nb, e);
	if (r < 0)
		return r;
	node_stat(n, st);
	return 0;
}

static int cmp_entry(const char *a, size_t alen, int atype, const char *bn,
		     size_t blen, int btype)
{
	int c = memcmp(a, bn, MIN(alen, blen));

	if (c)
		return c;
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return (atype > btype) - (atype < btype);
}

/* dir: a checked copy. -ENOENT, or -EIO when a child fails its bounds. */
static int find_child(const struct backup_index *x, const struct idx_node *dir,
		      const char *name, size_t len, int type, uint32_t *out)
{
	uint32_t lo = dir->first_child, hi = dir->first_child + dir->nchildren;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		struct idx_node m;
		int c;

		if (backup_index_node(x, mid, &m) < 0)
			return -EIO;
		c = cmp_entry(name, len, type, x->names + m.name_off,
			      m.name_len, m.type);

		if (c == 0) {
			*out = mid;
			return 0;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -ENOENT;
}

int backup_node_lookup(struct backup *b, uint32_t dir, const char *name,
		       uint32_t *node, struct verror *e)
{
	struct idx_node d;
	struct backup_index *x;
	size_t len = strlen(name);
	const char *ext = view_ext(b);
	int r;

	r = get_node(b, dir, &x, &d, e);
	if (r < 0)
		return r;
	if (d.type != IDX_DIR)
		return -ENOTDIR;
	if (len > 5 && memcmp(name + len - 5, ext, 5) == 0 &&
	    ((r = find_child(x, &d, name, len - 5, IDX_ITEM, node)) !=
		     -ENOENT ||
	     (r = find_child(x, &d, name, len - 5, IDX_LINK, node)) != -ENOENT))
		return r;
	if ((r = find_child(x, &d, name, len, IDX_DIR, node)) != -ENOENT ||
	    (r = find_child(x, &d, name, len, IDX_FILE, node)) != -ENOENT)
		return r;
	return -ENOENT;
}

int backup_node_nchildren(struct backup *b, uint32_t dir, uint32_t *n,
			  struct verror *e)
{
	struct idx_node d;
	struct backup_index *x;
	int r = get_node(b, dir, &x, &d, e);

	if (r < 0)
		return r;
	if (d.type != IDX_DIR)
		return -ENOTDIR;
	*n = d.nchildren;
	return 0;
}

/* The child at pos of the checked directory d of x: its node (c) and
 * its name as listed (with the view's extension for items and links). */
static int child_at(const struct backup *b, const struct backup_index *x,
		    const struct idx_node *d, uint32_t pos, struct idx_node *c,
		    char *name, size_t namesz, struct verror *e)
{
	if (backup_index_node(x, d->first_child + pos, c) < 0)
		return verror_set(e, -EIO, "%s: the cached index is corrupt",
				  b->name);
	if ((size_t)c->name_len + 6 > namesz)
		return -ENAMETOOLONG;
	memcpy(name, x->names + c->name_off, c->name_len);
	name[c->name_len] = '\0';
	if (c->type == IDX_ITEM || c->type == IDX_LINK)
		strcat(name + c->name_len, view_ext(b));
	return 0;
}

int backup_node_child(struct backup *b, uint32_t dir, uint32_t pos,
		      uint32_t *node, char *name, size_t namesz,
		      struct verror *e)
{
	struct idx_node d, c;
	struct backup_index *x;
	int r = get_node(b, dir, &x, &d, e);

	if (r < 0)
		return r;
	if (d.type != IDX_DIR)
		return -ENOTDIR;
	if (pos >= d.nchildren)
		return -ENOENT;
	r = child_at(b, x, &d, pos, &c, name, namesz, e);
	if (r < 0)
		return r;
	*node = d.first_child + pos;
	return 0;
}

int backup_node_list(struct backup *b, uint32_t dir, uint32_t pos,
		     backup_list_fn *fn, void *arg, struct verror *e)
{
	struct idx_node d, c;
	struct backup_index *x;
	struct backup_info in;
	struct backup_stat st;
	char name[512];
	int r = backup_info(b, &in, e), n = 0;

	if (r < 0)
		return r;
	/* one check of the mapping (get_node) for the whole batch: the
	 * nodes and names below are read without another, as one call of
	 * backup_node_child() and backup_node_stat() each would */
	r = get_node(b, dir, &x, &d, e);
	if (r < 0)
		return r;
	if (d.type != IDX_DIR)
		return -ENOTDIR;
	for (; pos < d.nchildren; pos++, n++) {
		r = child_at(b, x, &d, pos, &c, name, sizeof(name), e);
		if (r == -ENAMETOOLONG && n)
			return n; /* the error at the next call */
		if (r < 0)
			return r;
		memset(&st, 0, sizeof(st));
		st.mtime = in.time;
		node_stat(&c, &st);
		if (!fn(arg, pos, d.first_child + pos, name, &st))
			break;
	}
	return n;
}

int backup_node_read(struct backup *b, uint32_t node, uint64_t off, size_t size,
		     const void **data, size_t *got, struct verror *e)
{
	struct idx_node nb;
	const struct idx_node *n = &nb;
	struct backup_index *x;
	int r, tries = 0;

again:
	r = get_node(b, node, &x, &nb, e);
	if (r < 0)
		return r;
	if (n->type == IDX_DIR)
		return -EISDIR;
	if (n->flags & IDX_F_BROKEN)
		return verror_set(e, -EIO,
				  "%s: this item could not be read "
				  "from the backup; see errors.txt",
				  b->name);
	r = backup_index_verify(x, node, n);
	if (r < 0) {
		/* never serve it: index the backup again */
		log_debug("%s: node %u %s; rebuilding", b->name, node,
			  r == -EIO ? "lies past the end of the cache file" :
				      "fails its checksum");
		if (tries++ > 0)
			return verror_set(e, -EIO,
					  "%s: the cached index is "
					  "corrupt (%s)",
					  b->name,
					  r == -EIO ? "truncated" :
						      "checksum mismatch");
		r = backup_rebuild(b, x, e);
		if (r < 0)
			return r;
		goto again;
	}
	if (off >= n->len) {
		*data = NULL;
		*got = 0;
		return 0;
	}
	*data = x->data + n->off + off;
	*got = MIN(size, n->len - off);
	return 0;
}

#define WALK_DEPTH 64
#define WALK_LINKS 8

int backup_node_walk(struct backup *b, const char *path, uint32_t *node,
		     struct verror *e)
{
	uint32_t dirs[WALK_DEPTH] = { BACKUP_NODE_ROOT };
	unsigned depth = 0, links = 0;
	char comp[512], target[4096], rest[8192];

	while (*path) {
		const char *slash = strchr(path, '/');
		size_t n = slash ? (size_t)(slash - path) : strlen(path);
		struct backup_stat st;
		const void *data;
		size_t got;
		uint32_t cur;
		int r;

		if (n == 0 || (n == 1 && path[0] == '.')) {
			path += n + (slash != NULL);
			continue;
		}
		if (n == 2 && !memcmp(path, "..", 2)) {
			depth -= depth > 0;
			path += n + (slash != NULL);
			continue;
		}
		if (n >= sizeof(comp))
			return -ENAMETOOLONG;
		memcpy(comp, path, n);
		comp[n] = '\0';
		r = backup_node_lookup(b, dirs[depth], comp, &cur, e);
		if (r == 0)
			r = backup_node_stat(b, cur, &st, e);
		if (r < 0)
			return r;
		path += n + (slash != NULL);
		if (st.type != BACKUP_NODE_LINK) {
			if (depth + 1 == WALK_DEPTH)
				return -ENAMETOOLONG;
			dirs[++depth] = cur;
			continue;
		}
		/* a link: its target, relative to this directory, then the
		 * rest of the path */
		if (++links > WALK_LINKS)
			return -ELOOP;
		r = backup_node_read(b, cur, 0, sizeof(target) - 1, &data, &got,
				     e);
		if (r < 0)
			return r;
		if (got == 0 || ((const char *)data)[0] == '/')
			return -ENOENT;
		if (snprintf(rest, sizeof(rest), "%.*s%s%s", (int)got,
			     (const char *)data, *path ? "/" : "",
			     path) >= (int)sizeof(rest))
			return -ENAMETOOLONG;
		memcpy(target, rest, strlen(rest) + 1);
		path = target;
	}
	*node = dirs[depth];
	return 0;
}

static int cmp_origin(const void *a, const void *b)
{
	const struct origin_ent *x = a, *y = b;

	if (x->crc != y->crc)
		return x->crc < y->crc ? -1 : 1;
	return (x->len > y->len) - (x->len < y->len);
}

/* The (crc, len) table of x's items, built once. */
static const struct origin_ent *origin_table(struct backup *b,
					     struct backup_index *x, size_t *n)
{
	pthread_mutex_lock(&b->lock);
	if (!x->origin_built) {
		struct origin_ent *v;
		size_t k = 0;
		uint32_t i;

		v = malloc((x->hdr->node_count ? x->hdr->node_count : 1) *
			   sizeof(*v));
		for (i = 0; v && i < x->hdr->node_count; i++) {
			struct idx_node nd;

			if (backup_index_node(x, i, &nd) == 0 &&
			    nd.type == IDX_ITEM && !(nd.flags & IDX_F_BROKEN))
				v[k++] = (struct origin_ent){ nd.crc, nd.len,
							      i };
		}
		if (v)
			qsort(v, k, sizeof(*v), cmp_origin);
		x->origin = v;
		x->norigin = v ? k : 0;
		x->origin_built = true;
	}
	pthread_mutex_unlock(&b->lock);
	*n = x->norigin;
	return x->origin;
}

/* Whether file node of x holds data[0, len): compared only once the
 * node's bytes are checked (bounds, CRC, the file still holding them). */
static bool origin_same(struct backup_index *x, uint32_t node, const void *data,
			size_t len)
{
	struct idx_node n;

	return backup_index_node(x, node, &n) == 0 && n.len == len &&
	       !(n.flags & IDX_F_BROKEN) &&
	       backup_index_verify(x, node, &n) == 0 &&
	       !memcmp(x->data + n.off, data, len);
}

int backup_repo_origin(struct backup_repo *r, const void *data, size_t len,
		       char *name, size_t namesz)
{
	struct origin_ent key = { backup_crc32(0, data, len), (uint32_t)len,
				  0 };
	struct backup_info best_in = { 0 };
	struct backup *best = NULL;
	size_t slot, n = backup_repo_count(r);

	if (len > UINT32_MAX)
		return -ENOENT;
	for (slot = 0; slot < n; slot++) {
		struct backup *b = backup_repo_slot(r, slot);
		const struct origin_ent *v, *hit;
		struct backup_index *x;
		struct backup_info in;
		size_t nv;

		if (!b || backup_gone(b) ||
		    __atomic_load_n(&b->state, __ATOMIC_ACQUIRE) !=
			    BACKUP_READY ||
		    backup_info(b, &in, NULL) < 0)
			continue;
		if (best && in.time <= best_in.time)
			continue;
		x = __atomic_load_n(&b->idx, __ATOMIC_ACQUIRE);
		v = origin_table(b, x, &nv);
		hit = v ? bsearch(&key, v, nv, sizeof(*v), cmp_origin) : NULL;
		/* equal (crc, len) neighbours: compare the bytes of each */
		while (hit && hit > v && !cmp_origin(hit - 1, &key))
			hit--;
		/* the node's bytes only once they passed their own CRC (and
		 * still lie in the file) */
		for (; hit && hit < v + nv && !cmp_origin(hit, &key); hit++)
			if (origin_same(x, hit->node, data, len)) {
				best = b;
				best_in = in;
				break;
			}
	}
	if (!best)
		return -ENOENT;
	snprintf(name, namesz, "%s", best->name);
	return 0;
}
