/* bbolt: reading a bbolt database file through a pread callback (see
 * bbolt_i.h). The layout is go.etcd.io/bbolt's (internal/common: page.go,
 * meta.go, bucket.go), little-endian:
 *
 *   page header   id u64, flags u16, count u16, overflow u32   (16 bytes)
 *   meta          magic u32, version u32, page size u32, flags u32,
 *                 root bucket {root u64, sequence u64}, freelist u64,
 *                 high-water mark u64, txid u64, checksum u64 (FNV-64a of
 *                 the 56 bytes before it)
 *   branch elem   pos u32, ksize u32, pgid u64      pos counts from the
 *   leaf elem     flags u32, pos u32, ksize u32, vsize u32   element itself
 *   bucket value  root u64, sequence u64, and with root 0 (inline) a leaf
 *                 page right after
 *
 * A page with overflow n spans n + 1 pages. Meta pages are 0 and 1. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/macro.h"
#include "common/sbuf.h"
#include "etcd/bbolt_i.h"

struct chunk {
	uint8_t *data;
	size_t len;
	uint64_t idx;
	unsigned pins;
	struct chunk *prev, *next; /* the LRU list, most recent first */
};

struct bbolt {
	struct etcd_reader r;
	struct bbolt_meta meta;
	uint64_t ps;	       /* page size */
	uint64_t limit;	       /* hwm * ps: the bytes that hold pages */
	size_t chunk;	       /* chunk size: a multiple of ps */
	struct chunk **chunks; /* by index; NULL when not loaded */
	size_t nchunks;
	struct chunk *head, *tail;
	size_t used, budget;
	uint64_t bytes_read;
	/* bbolt_foreach(): real pages a walk may still visit, shared by the
	 * walks nested in it (each page of a sound file is in one bucket
	 * only, so all of them together visit at most hwm pages; more is a
	 * cycle or pages shared between buckets, which would make a
	 * quadratic walk) */
	uint64_t walk_left;
	unsigned walk_nesting;
};

static inline uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}
static inline uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int rd(struct bbolt *db, void *buf, size_t len, uint64_t off,
	      struct verror *e)
{
	int r;

	if (off > db->r.size || len > db->r.size - off)
		return verror_set(e, -EBADMSG,
				  "bytes %llu..%llu are past the end of the "
				  "file (%llu bytes): truncated?",
				  (unsigned long long)off,
				  (unsigned long long)(off + len),
				  (unsigned long long)db->r.size);
	if (db->r.map) {
		memcpy(buf, (const uint8_t *)db->r.map + off, len);
		return 0;
	}
	r = db->r.pread(db->r.ud, buf, len, off, e);
	if (r < 0)
		return r;
	db->bytes_read += len;
	return 0;
}

int bbolt_meta_parse(const uint8_t *p, size_t len, struct bbolt_meta *m,
		     const char **why)
{
	const uint8_t *q = p + BBOLT_PAGE_HEADER;

	if (len < BBOLT_PAGE_HEADER + 64) {
		*why = "short meta page";
		return -EINVAL;
	}
	if (le32(q) != BBOLT_MAGIC) {
		*why = "bad magic";
		return -EINVAL;
	}
	if (le32(q + 4) != BBOLT_VERSION) {
		*why = "unsupported version";
		return -EINVAL;
	}
	m->page_size = le32(q + 8);
	m->flags = le32(q + 12);
	m->root = le64(q + 16);
	m->sequence = le64(q + 24);
	m->freelist = le64(q + 32);
	m->hwm = le64(q + 40);
	m->txid = le64(q + 48);
	m->checksum = le64(q + 56);
	if (fnv1a64(q, BBOLT_META_CHECKED) != m->checksum) {
		*why = "checksum mismatch";
		return -EINVAL;
	}
	return 0;
}

/* A meta page is usable when its checksum holds and what it says fits the
 * file: the page size the file was opened with, pages below the
 * high-water mark all in the file, the root bucket's page among them. */
static int meta_usable(struct bbolt *db, const uint8_t *p, size_t len,
		       struct bbolt_meta *m, const char **why)
{
	if (bbolt_meta_parse(p, len, m, why) < 0)
		return -EINVAL;
	if (m->page_size != db->ps) {
		*why = "page size differs from the other meta page's";
		return -EINVAL;
	}
	if (m->hwm < 3 || m->hwm > db->r.size / db->ps) {
		*why = m->hwm < 3 ? "high-water mark below 3" :
				    "pages beyond the end of the file "
				    "(truncated)";
		return -EBADMSG;
	}
	if (m->root < 2 || m->root >= m->hwm) {
		*why = "root page out of range";
		return -EBADMSG;
	}
	return 0;
}

bool etcd_sniff(const void *head, size_t len)
{
	const uint8_t *p = head;

	/* page 0: a meta page with bbolt's magic and version (its checksum
	 * is open()'s business: page 1 may be the good one) */
	return len >= BBOLT_PAGE_HEADER + 8 && le16(p + 8) == BBOLT_META_PAGE &&
	       le32(p + BBOLT_PAGE_HEADER) == BBOLT_MAGIC &&
	       le32(p + BBOLT_PAGE_HEADER + 4) == BBOLT_VERSION;
}

/* Finds the page size as bbolt's getPageSize(): from meta page 0, else
 * from a meta page at 1 KiB << i (page 1 for that page size). */
static int find_page_size(struct bbolt *db, bool *magic, struct verror *e)
{
	uint8_t buf[BBOLT_PAGE_HEADER + 64];
	struct bbolt_meta m;
	const char *why;
	unsigned i;
	int r;

	*magic = false;
	if (db->r.size < sizeof(buf))
		return 0;
	r = rd(db, buf, sizeof(buf), 0, e);
	if (r < 0)
		return r;
	*magic = le32(buf + BBOLT_PAGE_HEADER) == BBOLT_MAGIC;
	if (bbolt_meta_parse(buf, sizeof(buf), &m, &why) == 0)
		return (int)MIN(m.page_size, (uint32_t)INT32_MAX);
	for (i = 0; i <= 14; i++) {
		uint64_t pos = (uint64_t)1024 << i;

		if (pos + sizeof(buf) > db->r.size)
			break;
		r = rd(db, buf, sizeof(buf), pos, e);
		if (r < 0)
			return r;
		if (bbolt_meta_parse(buf, sizeof(buf), &m, &why) == 0 &&
		    m.page_size == pos)
			return (int)pos;
	}
	return 0;
}

int bbolt_open(const struct etcd_reader *r, struct bbolt **out,
	       struct verror *e)
{
	struct bbolt_meta m[2];
	const char *why[2] = { "unreadable", "unreadable" };
	int ok[2] = { -EINVAL, -EINVAL };
	uint8_t buf[BBOLT_PAGE_HEADER + 64];
	struct bbolt *db;
	bool magic;
	int ps, i, a, res;

	db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	db->r = *r;
	ps = find_page_size(db, &magic, e);
	if (ps < 0) {
		res = ps;
		goto fail;
	}
	if (ps == 0) {
		res = magic ? verror_set(e, -EBADMSG,
					 "bbolt database with both meta pages "
					 "damaged") :
			      verror_set(e, -EINVAL, "not a bbolt database");
		goto fail;
	}
	if (ps < 256 || ps > (1 << 26)) {
		res = verror_set(e, -EBADMSG, "bbolt page size %d out of range",
				 ps);
		goto fail;
	}
	db->ps = (uint64_t)ps;
	for (i = 0; i < 2; i++) {
		uint64_t off = (uint64_t)i * db->ps;

		if (off + sizeof(buf) > db->r.size)
			continue;
		res = rd(db, buf, sizeof(buf), off, e);
		if (res < 0)
			goto fail;
		ok[i] = meta_usable(db, buf, sizeof(buf), &m[i], &why[i]);
		m[i].index = i;
	}
	/* bbolt's DB.meta(): the higher txid if valid, else the other */
	a = ok[0] == 0 && ok[1] == 0 ? m[1].txid > m[0].txid :
	    ok[0] == 0		     ? 0 :
				       1;
	if (ok[a] < 0) {
		res = verror_set(e,
				 ok[0] == -EINVAL && ok[1] == -EINVAL &&
						 !magic ?
					 -EINVAL :
					 -EBADMSG,
				 "bbolt database with no usable meta page "
				 "(page "
				 "0: %s; page 1: %s)",
				 why[0], why[1]);
		goto fail;
	}
	db->meta = m[a];
	db->limit = db->meta.hwm * db->ps;
	db->chunk = (size_t)(((BBOLT_CHUNK + db->ps - 1) / db->ps) * db->ps);
	db->nchunks = (size_t)((db->limit + db->chunk - 1) / db->chunk);
	db->chunks = calloc(db->nchunks, sizeof(*db->chunks));
	if (!db->chunks) {
		res = -ENOMEM;
		goto fail;
	}
	db->budget = BBOLT_CACHE_DEFAULT;
	*out = db;
	return 0;
fail:
	free(db);
	return res;
}

static void chunk_unlink(struct bbolt *db, struct chunk *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		db->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		db->tail = c->prev;
	c->prev = c->next = NULL;
}

static void chunk_push(struct bbolt *db, struct chunk *c)
{
	c->prev = NULL;
	c->next = db->head;
	if (db->head)
		db->head->prev = c;
	db->head = c;
	if (!db->tail)
		db->tail = c;
}

static void chunk_drop(struct bbolt *db, struct chunk *c)
{
	chunk_unlink(db, c);
	db->chunks[c->idx] = NULL;
	db->used -= c->len;
	free(c->data);
	free(c);
}

/* Evicts unpinned chunks, least recently used first, until need more
 * bytes fit in the budget. */
static void evict(struct bbolt *db, size_t need)
{
	struct chunk *c = db->tail;

	while (c && db->used + need > db->budget) {
		struct chunk *prev = c->prev;

		if (!c->pins)
			chunk_drop(db, c);
		c = prev;
	}
}

struct bbolt *bbolt_free(struct bbolt *db)
{
	if (!db)
		return NULL;
	while (db->head)
		chunk_drop(db, db->head);
	free(db->chunks);
	free(db);
	return NULL;
}

const struct bbolt_meta *bbolt_meta(const struct bbolt *db)
{
	return &db->meta;
}

int bbolt_set_cache(struct bbolt *db, size_t bytes, size_t chunk)
{
	struct chunk **chunks;
	size_t n;

	if (chunk) {
		struct chunk *c;

		for (c = db->head; c; c = c->next)
			if (c->pins)
				return -EBUSY;
		chunk = (size_t)(((chunk + db->ps - 1) / db->ps) * db->ps);
		n = (size_t)((db->limit + chunk - 1) / chunk);
		chunks = calloc(n, sizeof(*chunks));
		if (!chunks)
			return -ENOMEM;
		while (db->head)
			chunk_drop(db, db->head);
		free(db->chunks);
		db->chunks = chunks;
		db->nchunks = n;
		db->chunk = chunk;
	}
	db->budget = MAX(bytes, 4 * db->chunk);
	evict(db, 0);
	return 0;
}

uint64_t bbolt_file_size(const struct bbolt *db)
{
	return db->r.size;
}

const struct etcd_reader *bbolt_reader(const struct bbolt *db)
{
	return &db->r;
}

uint64_t bbolt_bytes_read(const struct bbolt *db)
{
	return db->bytes_read;
}

/* The chunk holding byte off (< limit), loaded and pinned. */
static int chunk_get(struct bbolt *db, uint64_t off, struct chunk **out,
		     struct verror *e)
{
	size_t idx = (size_t)(off / db->chunk);
	struct chunk *c = db->chunks[idx];
	uint64_t start;
	int r;

	if (c) {
		if (c != db->head) {
			chunk_unlink(db, c);
			chunk_push(db, c);
		}
		c->pins++;
		*out = c;
		return 0;
	}
	start = (uint64_t)idx * db->chunk;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->idx = idx;
	c->len = (size_t)MIN((uint64_t)db->chunk, db->limit - start);
	evict(db, c->len);
	c->data = malloc(c->len);
	if (!c->data) {
		free(c);
		return -ENOMEM;
	}
	r = rd(db, c->data, c->len, start, e);
	if (r < 0) {
		free(c->data);
		free(c);
		return r;
	}
	db->chunks[idx] = c;
	db->used += c->len;
	chunk_push(db, c);
	c->pins = 1;
	*out = c;
	return 0;
}

static void page_init(struct bbolt_page *pg, const uint8_t *p, size_t len)
{
	pg->p = p;
	pg->len = len;
	pg->id = le64(p);
	pg->flags = le16(p + 8);
	pg->count = le16(p + 10);
}

static int page_check(const struct bbolt_page *pg, uint64_t id,
		      struct verror *e)
{
	if (pg->flags != BBOLT_BRANCH_PAGE && pg->flags != BBOLT_LEAF_PAGE)
		return verror_set(e, -EBADMSG,
				  "page %llu: type %#x where a branch or leaf "
				  "page belongs",
				  (unsigned long long)id, pg->flags);
	if (BBOLT_PAGE_HEADER + (size_t)pg->count * BBOLT_ELEM > pg->len)
		return verror_set(e, -EBADMSG,
				  "page %llu: %u elements do not fit",
				  (unsigned long long)id, pg->count);
	return 0;
}

int bbolt_page_get(struct bbolt *db, uint64_t id, struct bbolt_page *pg,
		   struct verror *e)
{
	struct chunk *c = NULL;
	const uint8_t *p;
	uint64_t off, total, avail;
	uint32_t overflow;
	int r;

	memset(pg, 0, sizeof(*pg));
	if (id < 2 || id >= db->meta.hwm)
		return verror_set(e, -EBADMSG,
				  "page id %llu out of range (2..%llu)",
				  (unsigned long long)id,
				  (unsigned long long)db->meta.hwm - 1);
	off = id * db->ps;
	if (db->r.map) {
		/* the file in memory: every page below the high-water mark is
		 * there, in place */
		p = (const uint8_t *)db->r.map + off;
		avail = db->limit - off;
	} else {
		r = chunk_get(db, off, &c, e);
		if (r < 0)
			return r;
		p = c->data + (off - c->idx * (uint64_t)db->chunk);
		avail = c->len - (off - c->idx * (uint64_t)db->chunk);
	}
	if (le64(p) != id) {
		r = verror_set(e, -EBADMSG, "page %llu names itself %llu",
			       (unsigned long long)id,
			       (unsigned long long)le64(p));
		goto out;
	}
	overflow = le32(p + 12);
	if ((uint64_t)overflow >= db->meta.hwm - id) {
		r = verror_set(e, -EBADMSG,
			       "page %llu: %u overflow pages run past the "
			       "high-water mark",
			       (unsigned long long)id, overflow);
		goto out;
	}
	total = ((uint64_t)overflow + 1) * db->ps;
	if (total <= avail) {
		page_init(pg, p, (size_t)total);
		pg->chunk = TAKE_PTR(c);
	} else {
		/* a page with overflow pages across chunks: a copy of its own
		 * (bounded: every byte is below the high-water mark, which
		 * the file holds) */
		pg->own = malloc((size_t)total);
		if (!pg->own) {
			r = -ENOMEM;
			goto out;
		}
		r = rd(db, pg->own, (size_t)total, off, e);
		if (r < 0) {
			free(pg->own);
			pg->own = NULL;
			goto out;
		}
		page_init(pg, pg->own, (size_t)total);
	}
	r = page_check(pg, id, e);
	if (r < 0)
		bbolt_page_put(db, pg);
out:
	if (c)
		c->pins--;
	return r;
}

void bbolt_page_put(struct bbolt *db, struct bbolt_page *pg)
{
	struct chunk *c = pg->chunk;

	(void)db;
	if (c)
		c->pins--;
	free(pg->own);
	memset(pg, 0, sizeof(*pg));
}

/* The inline page of bucket b, as a page held by nobody. */
static int inline_page(const struct bbolt_bucket *b, struct bbolt_page *pg,
		       struct verror *e)
{
	memset(pg, 0, sizeof(*pg));
	if (!b->inline_page || b->inline_len < BBOLT_PAGE_HEADER)
		return verror_set(e, -EBADMSG, "inline bucket without a page");
	page_init(pg, b->inline_page, b->inline_len);
	pg->id = 0;
	if (pg->flags != BBOLT_LEAF_PAGE)
		return verror_set(e, -EBADMSG, "inline bucket page of type %#x",
				  pg->flags);
	return page_check(pg, 0, e);
}

static int bucket_page(struct bbolt *db, const struct bbolt_bucket *b,
		       uint64_t id, struct bbolt_page *pg, struct verror *e)
{
	if (id == 0)
		return inline_page(b, pg, e);
	return bbolt_page_get(db, id, pg, e);
}

int bbolt_leaf_elem(const struct bbolt_page *pg, unsigned idx,
		    struct bbolt_kv *kv, struct verror *e)
{
	const uint8_t *el;
	uint64_t base, kend;
	uint32_t pos, ksize, vsize;

	if (idx >= pg->count)
		return verror_set(e, -EBADMSG, "page %llu has no element %u",
				  (unsigned long long)pg->id, idx);
	base = BBOLT_PAGE_HEADER + (uint64_t)idx * BBOLT_ELEM;
	el = pg->p + base;
	pos = le32(el + 4);
	ksize = le32(el + 8);
	vsize = le32(el + 12);
	kend = base + pos + (uint64_t)ksize;
	if (kend + vsize > pg->len)
		return verror_set(e, -EBADMSG,
				  "page %llu element %u: key and value past "
				  "the page's end",
				  (unsigned long long)pg->id, idx);
	kv->flags = le32(el);
	kv->key = el + pos;
	kv->klen = ksize;
	kv->val = pg->p + kend;
	kv->vlen = vsize;
	kv->page = pg->id;
	kv->idx = (uint16_t)idx;
	return 0;
}

/* Key of element idx of a branch page, and the child's page id. */
static int branch_elem(const struct bbolt_page *pg, unsigned idx,
		       const uint8_t **key, size_t *klen, uint64_t *child,
		       struct verror *e)
{
	const uint8_t *el;
	uint64_t base;
	uint32_t pos, ksize;

	base = BBOLT_PAGE_HEADER + (uint64_t)idx * BBOLT_ELEM;
	el = pg->p + base;
	pos = le32(el);
	ksize = le32(el + 4);
	if (base + pos + (uint64_t)ksize > pg->len)
		return verror_set(e, -EBADMSG,
				  "page %llu element %u: key past the page's "
				  "end",
				  (unsigned long long)pg->id, idx);
	*key = el + pos;
	*klen = ksize;
	*child = le64(el + 8);
	return 0;
}

struct walk {
	struct bbolt *db;
	const struct bbolt_bucket *b;
	bbolt_kv_fn *fn;
	void *ud;
	struct verror *e;
};

static int walk_page(struct walk *w, uint64_t id, unsigned depth)
{
	struct bbolt_page pg;
	struct bbolt_kv kv;
	unsigned i;
	int r;

	if (depth > BBOLT_MAX_DEPTH)
		return verror_set(w->e, -EBADMSG,
				  "bucket tree deeper than %d levels",
				  BBOLT_MAX_DEPTH);
	if (id != 0 && w->db->walk_left-- == 0)
		return verror_set(w->e, -EBADMSG,
				  "page %llu reached twice: a cycle, or pages "
				  "shared between buckets",
				  (unsigned long long)id);
	r = bucket_page(w->db, w->b, id, &pg, w->e);
	if (r < 0)
		return r;
	if (id == 0 && depth > 0) {
		r = verror_set(w->e, -EBADMSG, "branch page points to page 0");
		goto out;
	}
	for (i = 0; i < pg.count; i++) {
		if (pg.flags == BBOLT_BRANCH_PAGE) {
			const uint8_t *k;
			size_t kl;
			uint64_t child;

			r = branch_elem(&pg, i, &k, &kl, &child, w->e);
			if (r < 0)
				goto out;
			if (child == 0) {
				r = verror_set(w->e, -EBADMSG,
					       "page %llu element %u points to "
					       "page 0",
					       (unsigned long long)pg.id, i);
				goto out;
			}
			r = walk_page(w, child, depth + 1);
		} else {
			r = bbolt_leaf_elem(&pg, i, &kv, w->e);
			if (r < 0)
				goto out;
			r = w->fn(w->ud, &kv);
		}
		if (r < 0)
			goto out;
	}
	r = 0;
out:
	bbolt_page_put(w->db, &pg);
	return r;
}

int bbolt_foreach(struct bbolt *db, const struct bbolt_bucket *b,
		  bbolt_kv_fn *fn, void *ud, struct verror *e)
{
	struct walk w = { db, b, fn, ud, e };
	int r;

	if (db->walk_nesting++ == 0)
		db->walk_left = db->meta.hwm;
	r = walk_page(&w, b->root, 0);
	db->walk_nesting--;
	return r;
}

int bbolt_kv_at(struct bbolt *db, const struct bbolt_bucket *b, uint64_t page,
		uint16_t idx, struct bbolt_page *pg, struct bbolt_kv *kv,
		struct verror *e)
{
	int r;

	if (page == 0 && b->root != 0)
		return verror_set(e, -EBADMSG, "page 0 in a bucket on pages");
	r = bucket_page(db, b, page, pg, e);
	if (r < 0)
		return r;
	if (pg->flags != BBOLT_LEAF_PAGE)
		r = verror_set(e, -EBADMSG, "page %llu is not a leaf page",
			       (unsigned long long)page);
	else
		r = bbolt_leaf_elem(pg, idx, kv, e);
	if (r < 0 && page != 0)
		bbolt_page_put(db, pg);
	return r;
}

void bbolt_root(const struct bbolt *db, struct bbolt_bucket *b)
{
	b->root = db->meta.root;
	b->inline_page = NULL;
	b->inline_len = 0;
}

void bbolt_bucket_release(struct bbolt_bucket *b)
{
	free(b->inline_page);
	b->inline_page = NULL;
	b->inline_len = 0;
	b->root = 0;
}

static int keycmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	int c = memcmp(a, b, MIN(al, bl));

	if (c)
		return c;
	return al < bl ? -1 : al > bl;
}

int bbolt_get(struct bbolt *db, const struct bbolt_bucket *b, const void *key,
	      size_t klen, struct sbuf *val, uint32_t *flags, struct verror *e)
{
	struct bbolt_page pg;
	struct bbolt_kv kv;
	uint64_t id = b->root;
	unsigned depth, lo, hi;
	int r;

	for (depth = 0;; depth++) {
		if (depth > BBOLT_MAX_DEPTH)
			return verror_set(e, -EBADMSG,
					  "bucket tree deeper than %d levels",
					  BBOLT_MAX_DEPTH);
		r = bucket_page(db, b, id, &pg, e);
		if (r < 0)
			return r;
		if (id == 0 && depth > 0) {
			r = verror_set(e, -EBADMSG,
				       "branch page points to page 0");
			goto out;
		}
		if (pg.flags == BBOLT_LEAF_PAGE)
			break;
		/* bbolt's cursor.searchPage: the first element >= key, or
		 * the one before it when it is not an exact match */
		lo = 0;
		hi = pg.count;
		while (lo < hi) {
			unsigned mid = lo + (hi - lo) / 2;
			const uint8_t *k;
			size_t kl;
			uint64_t child;

			r = branch_elem(&pg, mid, &k, &kl, &child, e);
			if (r < 0)
				goto out;
			if (keycmp(k, kl, key, klen) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (pg.count == 0) {
			r = verror_set(e, -EBADMSG, "empty branch page %llu",
				       (unsigned long long)pg.id);
			goto out;
		}
		{
			const uint8_t *k = NULL;
			size_t kl = 0;
			uint64_t child;

			if (lo < pg.count) {
				r = branch_elem(&pg, lo, &k, &kl, &child, e);
				if (r < 0)
					goto out;
			}
			if ((lo == pg.count || keycmp(k, kl, key, klen) != 0) &&
			    lo > 0)
				lo--;
			r = branch_elem(&pg, lo, &k, &kl, &child, e);
			if (r < 0)
				goto out;
			if (child == 0) {
				r = verror_set(e, -EBADMSG,
					       "branch points to page 0");
				goto out;
			}
			id = child;
		}
		bbolt_page_put(db, &pg);
	}
	lo = 0;
	hi = pg.count;
	r = 0;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		int c;

		r = bbolt_leaf_elem(&pg, mid, &kv, e);
		if (r < 0)
			goto out;
		c = keycmp(kv.key, kv.klen, key, klen);
		if (c == 0) {
			sbuf_reset(val);
			r = sbuf_add(val, kv.val, kv.vlen);
			if (r < 0) {
				r = verror_set(e, r, "value of %zu bytes: %s",
					       kv.vlen, strerror(-r));
				goto out;
			}
			*flags = kv.flags;
			r = 1;
			goto out;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	r = 0;
out:
	bbolt_page_put(db, &pg);
	return r;
}

int bbolt_bucket_open(struct bbolt *db, const struct bbolt_bucket *parent,
		      const void *name, size_t len, struct bbolt_bucket *out,
		      struct verror *e)
{
	struct sbuf v;
	uint32_t flags = 0;
	uint64_t root;
	int r;

	sbuf_init(&v, 0);
	r = bbolt_get(db, parent, name, len, &v, &flags, e);
	if (r <= 0)
		goto out;
	if (!(flags & BBOLT_BUCKET_LEAF)) {
		r = verror_set(e, -ENOTDIR, "%.*s is a value, not a bucket",
			       (int)MIN(len, (size_t)64), (const char *)name);
		goto out;
	}
	if (v.len < BBOLT_BUCKET_HEADER) {
		r = verror_set(e, -EBADMSG, "bucket header of %zu bytes",
			       v.len);
		goto out;
	}
	root = le64((const uint8_t *)v.buf);
	out->root = root;
	out->inline_page = NULL;
	out->inline_len = 0;
	if (root == 0) {
		size_t n = v.len - BBOLT_BUCKET_HEADER;

		if (n < BBOLT_PAGE_HEADER) {
			r = verror_set(e, -EBADMSG,
				       "inline bucket of %zu bytes", n);
			goto out;
		}
		out->inline_page = malloc(n);
		if (!out->inline_page) {
			r = -ENOMEM;
			goto out;
		}
		memcpy(out->inline_page, v.buf + BBOLT_BUCKET_HEADER, n);
		out->inline_len = n;
	} else if (root < 2 || root >= db->meta.hwm) {
		r = verror_set(e, -EBADMSG,
			       "bucket root page %llu out of range",
			       (unsigned long long)root);
		goto out;
	}
	r = 1;
out:
	sbuf_release(&v);
	return r;
}
