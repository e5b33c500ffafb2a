/* mvcc: etcd's revision store in a snapshot (etcd.h's "the file").
 *
 * etcd keeps every revision of every key in the bbolt bucket "key": the
 * bucket key is the revision (main u64 BE, '_', sub u64 BE, and a 't' after
 * it for a tombstone: go.etcd.io/etcd/server/v3/storage/mvcc/revision.go),
 * the value an mvccpb.KeyValue (key=1, create_revision=2, mod_revision=3,
 * version=4, value=5, lease=6). The bucket is in revision order; the user
 * key is only in the value.
 *
 * Listing is two passes. The first walks the bucket once and keeps, per
 * user key, its newest revision and where that revision's element is (page,
 * index), in a hash table; no value is copied. The second sorts the live
 * keys and reads each newest element again (the page cache has it) to hand
 * it to the caller in key order. The first pass is kept: a second listing
 * or status costs only the second pass.
 *
 * Status repeats what etcdutl's snapshot.Status() computes (etcdutl/
 * snapshot/v3_snapshot.go at the harness's pin): a CRC-32C (Castagnoli)
 * over each top-level bucket's name and its keys and values in order, the
 * main revision of the last key of "key", the keys whose last revision is
 * not a tombstone, bbolt's tx.Size() and the meta bucket's storageVersion
 * read as go-semver does. What etcdutl refuses (a value that is not a
 * KeyValue, a bad revision key) is a problem here: reported, skipped. */
#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/macro.h"
#include "common/sbuf.h"
#include "etcd/bbolt_i.h"
#include "etcd/etcd.h"
#include "etcd/mvcc_i.h"
#include "etcd/pb_i.h"

/* Problems kept for replay (each() reports them every time); more are
 * counted. */
#define MAX_PROBLEMS 100

struct ent {
	uint64_t hash;
	uint64_t koff; /* the user key in s->keys */
	uint32_t klen;
	uint16_t idx; /* the newest revision's element */
	bool tomb;
	uint64_t page;
	int64_t main, sub;
};

struct etcd_snapshot {
	struct bbolt *db;
	struct bbolt_bucket root, keyb;
	bool indexed;
	/* the first pass */
	struct ent *ents;
	size_t nents, cap;
	uint32_t *table; /* open addressing: ents index + 1, 0 empty */
	size_t tsize;	 /* a power of two */
	uint8_t *keys;	 /* user keys, back to back */
	size_t keys_len, keys_cap;
	uint32_t *order; /* live entries in key order */
	size_t nlive;
	int64_t last_main;
	char *problems[MAX_PROBLEMS];
	size_t nproblems; /* all of them, also those not kept */
	/* status, once computed */
	bool have_status;
	struct etcd_status status;
};

int mvcc_kv_decode(const void *val, size_t len, struct etcd_kv *kv,
		   const char **why)
{
	struct pb r;
	struct pb_field f;
	int n;

	memset(kv, 0, sizeof(*kv));
	kv->key = "";
	kv->value = "";
	pb_init(&r, val, len);
	while ((n = pb_next(&r, &f)) > 0) {
		switch (f.num) {
		case 1:
		case 5:
			if (f.wire != PB_LEN) {
				*why = "wrong wire type for key or value";
				return -EBADMSG;
			}
			if (f.num == 1) {
				kv->key = (const char *)f.data;
				kv->key_len = f.len;
			} else {
				kv->value = f.data;
				kv->value_len = f.len;
			}
			break;
		case 2:
		case 3:
		case 4:
		case 6:
			if (f.wire != PB_VARINT) {
				*why = "wrong wire type for a revision, "
				       "version or lease";
				return -EBADMSG;
			}
			if (f.num == 2)
				kv->create_revision = pb_int64(f.u);
			else if (f.num == 3)
				kv->mod_revision = pb_int64(f.u);
			else if (f.num == 4)
				kv->version = pb_int64(f.u);
			else
				kv->lease = pb_int64(f.u);
			break;
		default:
			break; /* unknown fields are skipped, as gogo does */
		}
	}
	if (n < 0) {
		*why = r.err;
		return -EBADMSG;
	}
	return 0;
}

int mvcc_rev_parse(const uint8_t *k, size_t len, int64_t *main, int64_t *sub,
		   bool *tomb)
{
	uint64_t m = 0, s = 0;
	unsigned i;

	if ((len != 17 && len != 18) || k[8] != '_')
		return -EBADMSG;
	for (i = 0; i < 8; i++) {
		m = m << 8 | k[i];
		s = s << 8 | k[9 + i];
	}
	if ((int64_t)m < 0 || (int64_t)s < 0)
		return -EBADMSG;
	*main = (int64_t)m;
	*sub = (int64_t)s;
	*tomb = len == 18 && k[17] == 't';
	return 0;
}

static void problem(struct etcd_snapshot *s, const char *fmt, ...)
	_printf_(2, 3);
static void problem(struct etcd_snapshot *s, const char *fmt, ...)
{
	va_list ap;
	char *m = NULL;

	if (s->nproblems < MAX_PROBLEMS) {
		va_start(ap, fmt);
		if (vasprintf(&m, fmt, ap) < 0)
			m = NULL;
		va_end(ap);
		s->problems[s->nproblems] = m;
	}
	s->nproblems++;
}

static void index_clear(struct etcd_snapshot *s)
{
	size_t i;

	free(s->ents);
	free(s->table);
	free(s->keys);
	free(s->order);
	s->ents = NULL;
	s->table = NULL;
	s->keys = NULL;
	s->order = NULL;
	s->nents = s->cap = s->tsize = s->keys_len = s->keys_cap = 0;
	s->nlive = 0;
	s->last_main = 0;
	for (i = 0; i < MIN(s->nproblems, (size_t)MAX_PROBLEMS); i++) {
		free(s->problems[i]);
		s->problems[i] = NULL;
	}
	s->nproblems = 0;
	s->indexed = false;
}

static int table_grow(struct etcd_snapshot *s)
{
	size_t n = s->tsize ? s->tsize * 2 : 1024, i;
	uint32_t *t;

	if (n > (size_t)UINT32_MAX)
		return -ENOMEM;
	t = calloc(n, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (i = 0; i < s->nents; i++) {
		size_t j = (size_t)s->ents[i].hash & (n - 1);

		while (t[j])
			j = (j + 1) & (n - 1);
		t[j] = (uint32_t)(i + 1);
	}
	free(s->table);
	s->table = t;
	s->tsize = n;
	return 0;
}

/* The entry of user key k, created when new (*fresh set). */
static int lookup(struct etcd_snapshot *s, const void *k, size_t klen,
		  struct ent **out, bool *fresh)
{
	uint64_t h = fnv1a64(k, klen);
	struct ent *en;
	size_t j;

	if (klen > UINT32_MAX)
		return -EBADMSG;
	if ((s->nents + 1) * 10 > s->tsize * 7) {
		int r = table_grow(s);

		if (r < 0)
			return r;
	}
	for (j = (size_t)h & (s->tsize - 1); s->table[j];
	     j = (j + 1) & (s->tsize - 1)) {
		en = &s->ents[s->table[j] - 1];
		if (en->hash == h && en->klen == klen &&
		    memcmp(s->keys + en->koff, k, klen) == 0) {
			*out = en;
			*fresh = false;
			return 0;
		}
	}
	if (s->nents == s->cap) {
		size_t c = s->cap ? s->cap * 2 : 1024;
		struct ent *p = reallocarray(s->ents, c, sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->ents = p;
		s->cap = c;
	}
	/* allocated even for an empty first key: the offsets are taken
	 * from s->keys, never from NULL */
	if (!s->keys || s->keys_cap - s->keys_len < klen) {
		size_t c = MAX(s->keys_cap * 2, s->keys_len + klen + 65536);
		uint8_t *p = realloc(s->keys, c);

		if (!p)
			return -ENOMEM;
		s->keys = p;
		s->keys_cap = c;
	}
	if (klen)
		memcpy(s->keys + s->keys_len, k, klen);
	en = &s->ents[s->nents];
	memset(en, 0, sizeof(*en));
	en->hash = h;
	en->koff = s->keys_len;
	en->klen = (uint32_t)klen;
	s->keys_len += klen;
	s->table[j] = (uint32_t)(++s->nents);
	*out = en;
	*fresh = true;
	return 0;
}

/* The first pass, one revision at a time. */
static int index_kv(struct etcd_snapshot *s, const struct bbolt_kv *kv)
{
	struct etcd_kv v;
	struct ent *en;
	const char *why = NULL;
	int64_t main, sub;
	bool tomb, fresh;
	int r;

	if (kv->flags & BBOLT_BUCKET_LEAF) {
		problem(s, "key bucket: a nested bucket where a revision "
			   "belongs (skipped)");
		return 0;
	}
	if (mvcc_rev_parse(kv->key, kv->klen, &main, &sub, &tomb) < 0) {
		problem(s,
			"key bucket: a revision key of %zu bytes that is "
			"not main_sub (skipped)",
			kv->klen);
		return 0;
	}
	s->last_main = main;
	if (mvcc_kv_decode(kv->val, kv->vlen, &v, &why) < 0) {
		problem(s,
			"revision %lld_%lld: value is not an "
			"mvccpb.KeyValue: %s (skipped: its key is unknown)",
			(long long)main, (long long)sub, why);
		return 0;
	}
	r = lookup(s, v.key, v.key_len, &en, &fresh);
	if (r < 0)
		return r;
	if (!fresh && (main < en->main || (main == en->main && sub < en->sub)))
		return 0; /* an older revision than the one kept */
	en->main = main;
	en->sub = sub;
	en->tomb = tomb;
	en->page = kv->page;
	en->idx = kv->idx;
	return 0;
}

static int index_cb(void *ud, const struct bbolt_kv *kv)
{
	return index_kv(ud, kv);
}

static int order_cmp(const void *a, const void *b, void *ud)
{
	const struct etcd_snapshot *s = ud;
	const struct ent *x = &s->ents[*(const uint32_t *)a];
	const struct ent *y = &s->ents[*(const uint32_t *)b];
	int c = memcmp(s->keys + x->koff, s->keys + y->koff,
		       MIN(x->klen, y->klen));

	if (c)
		return c;
	return x->klen < y->klen ? -1 : x->klen > y->klen;
}

static int index_finish(struct etcd_snapshot *s)
{
	size_t i;

	s->order = malloc(MAX(s->nents, (size_t)1) * sizeof(*s->order));
	if (!s->order)
		return -ENOMEM;
	s->nlive = 0;
	for (i = 0; i < s->nents; i++)
		if (!s->ents[i].tomb)
			s->order[s->nlive++] = (uint32_t)i;
	qsort_r(s->order, s->nlive, sizeof(*s->order), order_cmp, s);
	/* the table is needed no more */
	free(s->table);
	s->table = NULL;
	s->tsize = 0;
	s->indexed = true;
	return 0;
}

static int index_build(struct etcd_snapshot *s, struct verror *e)
{
	int r;

	if (s->indexed)
		return 0;
	r = bbolt_foreach(s->db, &s->keyb, index_cb, s, e);
	if (r >= 0)
		r = index_finish(s);
	if (r < 0) {
		if (r == -ENOMEM)
			verror_set(e, r, "out of memory indexing the snapshot");
		index_clear(s);
	}
	return r;
}

int etcd_snapshot_open(const struct etcd_reader *r, struct etcd_snapshot **out,
		       struct verror *e)
{
	struct etcd_snapshot *s;
	int res;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	res = bbolt_open(r, &s->db, e);
	if (res < 0)
		goto fail;
	bbolt_root(s->db, &s->root);
	res = bbolt_bucket_open(s->db, &s->root, "key", 3, &s->keyb, e);
	if (res == 0 || res == -ENOTDIR)
		res = verror_set(e, -EBADMSG,
				 "bbolt database without etcd's key bucket");
	if (res < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	etcd_snapshot_free(s);
	return res;
}

struct etcd_snapshot *etcd_snapshot_free(struct etcd_snapshot *s)
{
	if (!s)
		return NULL;
	index_clear(s);
	bbolt_bucket_release(&s->keyb);
	bbolt_bucket_release(&s->root);
	bbolt_free(s->db);
	free(s);
	return NULL;
}

int etcd_snapshot_set_cache(struct etcd_snapshot *s, size_t bytes)
{
	return bbolt_set_cache(s->db, bytes, 0);
}

struct bbolt *mvcc_db(struct etcd_snapshot *s)
{
	return s->db;
}

int etcd_snapshot_each(struct etcd_snapshot *s, etcd_kv_fn *fn,
		       etcd_problem_fn *problem_fn, void *ud, struct verror *e)
{
	size_t i;
	int r;

	r = index_build(s, e);
	if (r < 0)
		return r;
	if (problem_fn) {
		for (i = 0; i < MIN(s->nproblems, (size_t)MAX_PROBLEMS); i++)
			problem_fn(ud, "%s",
				   s->problems[i] ? s->problems[i] :
						    "(out of memory)");
		if (s->nproblems > MAX_PROBLEMS)
			problem_fn(ud, "and %zu more problems like these",
				   s->nproblems - MAX_PROBLEMS);
	}
	for (i = 0; i < s->nlive; i++) {
		const struct ent *en = &s->ents[s->order[i]];
		struct bbolt_page pg;
		struct bbolt_kv kv;
		struct etcd_kv v;
		const char *why = NULL;

		r = bbolt_kv_at(s->db, &s->keyb, en->page, en->idx, &pg, &kv,
				e);
		if (r < 0)
			return r;
		r = mvcc_kv_decode(kv.val, kv.vlen, &v, &why);
		if (r < 0) /* it decoded in the first pass */
			r = verror_set(e, -EBADMSG,
				       "revision %lld_%lld changed under us",
				       (long long)en->main, (long long)en->sub);
		else
			r = fn(ud, &v);
		bbolt_page_put(s->db, &pg);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- the file's SHA-256 ------------------------------------------------ */

static void hex(const uint8_t *d, size_t n, char *out)
{
	static const char x[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = x[d[i] >> 4];
		out[2 * i + 1] = x[d[i] & 15];
	}
	out[2 * n] = '\0';
}

int etcd_snapshot_verify(struct etcd_snapshot *s, struct verror *e)
{
	return etcd_reader_verify(bbolt_reader(s->db), e);
}

int etcd_reader_verify(const struct etcd_reader *rd, struct verror *e)
{
	uint64_t size = rd->size, off, end;
	uint8_t want[32], got[32];
	char hw[65], hg[65];
	size_t bufsz = (size_t)1 << 20;
	uint8_t *buf = NULL;
	EVP_MD_CTX *ctx = NULL;
	unsigned glen = 0;
	int r = 0;

	if (size % 512 != 32)
		return 0;
	end = size - 32;
	if (rd->map)
		memcpy(want, (const uint8_t *)rd->map + end, 32);
	else
		r = rd->pread(rd->ud, want, 32, end, e);
	if (r < 0)
		return r;
	buf = malloc(bufsz);
	ctx = EVP_MD_CTX_new();
	if (!buf || !ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		r = -ENOMEM;
		goto out;
	}
	for (off = 0; off < end; off += bufsz) {
		size_t n = (size_t)MIN((uint64_t)bufsz, end - off);
		const void *p = buf;

		if (rd->map)
			p = (const uint8_t *)rd->map + off;
		else
			r = rd->pread(rd->ud, buf, n, off, e);
		if (r < 0)
			goto out;
		if (!EVP_DigestUpdate(ctx, p, n)) {
			r = -ENOMEM;
			goto out;
		}
	}
	if (!EVP_DigestFinal_ex(ctx, got, &glen) || glen != 32) {
		r = -ENOMEM;
		goto out;
	}
	if (memcmp(want, got, 32) != 0) {
		hex(want, 32, hw);
		hex(got, 32, hg);
		r = verror_set(e, -EBADMSG,
			       "snapshot SHA-256 mismatch: the file says %s, "
			       "its %llu bytes hash to %s",
			       hw, (unsigned long long)end, hg);
		goto out;
	}
	r = 1;
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return r;
}

/* ---- status ------------------------------------------------------------ */

static uint32_t crc32c_table[8][256];

static void crc32c_init_table(void)
{
	uint32_t i, j, c;

	if (crc32c_table[0][1])
		return;
	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc32c_table[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (j = 1; j < 8; j++)
			crc32c_table[j][i] =
				(crc32c_table[j - 1][i] >> 8) ^
				crc32c_table[0][crc32c_table[j - 1][i] & 0xff];
}

static uint32_t crc32c_sw(uint32_t c, const uint8_t *p, size_t n)
{
	while (n >= 8) {
		uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
				   (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		c = crc32c_table[7][lo & 0xff] ^
		    crc32c_table[6][(lo >> 8) & 0xff] ^
		    crc32c_table[5][(lo >> 16) & 0xff] ^
		    crc32c_table[4][lo >> 24] ^ crc32c_table[3][p[4]] ^
		    crc32c_table[2][p[5]] ^ crc32c_table[1][p[6]] ^
		    crc32c_table[0][p[7]];
		p += 8;
		n -= 8;
	}
	while (n--)
		c = (c >> 8) ^ crc32c_table[0][(c ^ *p++) & 0xff];
	return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t
crc32c_hw(uint32_t c, const uint8_t *p, size_t n)
{
	uint64_t c64 = c;

	while (n >= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		c64 = __builtin_ia32_crc32di(c64, v);
		p += 8;
		n -= 8;
	}
	c = (uint32_t)c64;
	while (n--)
		c = __builtin_ia32_crc32qi(c, *p++);
	return c;
}
#endif

/* CRC-32C state: the running register (start ~0, result ~state). */
struct crc {
	uint32_t state;
	bool hw;
};

static void crc_add(struct crc *c, const void *p, size_t n)
{
#if defined(__x86_64__)
	if (c->hw) {
		c->state = crc32c_hw(c->state, p, n);
		return;
	}
#endif
	c->state = crc32c_sw(c->state, p, n);
}

uint32_t mvcc_crc32c(uint32_t crc, const void *p, size_t n)
{
	struct crc c = { ~crc, false };

#if defined(__x86_64__)
	c.hw = __builtin_cpu_supports("sse4.2");
#endif
	if (!c.hw)
		crc32c_init_table();
	crc_add(&c, p, n);
	return ~c.state;
}

struct hash_walk {
	struct etcd_snapshot *s;
	struct crc crc;
	bool index; /* feed the key bucket to the first pass too */
	struct verror *e;
};

static int hash_kv(void *ud, const struct bbolt_kv *kv)
{
	struct hash_walk *w = ud;

	crc_add(&w->crc, kv->key, kv->klen);
	/* bbolt's Bucket.ForEach gives a nested bucket a nil value */
	if (!(kv->flags & BBOLT_BUCKET_LEAF))
		crc_add(&w->crc, kv->val, kv->vlen);
	return 0;
}

static int hash_index_kv(void *ud, const struct bbolt_kv *kv)
{
	struct hash_walk *w = ud;

	hash_kv(ud, kv);
	return index_kv(w->s, kv);
}

static int hash_bucket(void *ud, const struct bbolt_kv *kv)
{
	struct hash_walk *w = ud;
	struct bbolt_bucket b;
	bool is_key;
	int r;

	if (!(kv->flags & BBOLT_BUCKET_LEAF))
		return verror_set(w->e, -EBADMSG,
				  "top-level key of %zu bytes is not a bucket",
				  kv->klen);
	r = bbolt_bucket_open(w->s->db, &w->s->root, kv->key, kv->klen, &b,
			      w->e);
	if (r == 0)
		r = verror_set(w->e, -EBADMSG,
			       "top-level bucket not found by its own name");
	if (r < 0)
		return r;
	crc_add(&w->crc, kv->key, kv->klen);
	is_key = kv->klen == 3 && memcmp(kv->key, "key", 3) == 0;
	r = bbolt_foreach(w->s->db, &b,
			  is_key && w->index ? hash_index_kv : hash_kv, w,
			  w->e);
	bbolt_bucket_release(&b);
	return r;
}

/* go-semver's Version.Set() then String(): "3.6.0" stays, "03.6.0"
 * becomes "3.6.0", anything not major.minor.patch[-pre][+meta] is "". */
static void semver(const uint8_t *v, size_t len, char *out, size_t outsz)
{
	char buf[256], *meta, *pre, *dot[3], *p;
	long long n[3];
	unsigned i;

	out[0] = '\0';
	if (len >= sizeof(buf) || memchr(v, '\0', len))
		return;
	memcpy(buf, v, len);
	buf[len] = '\0';
	meta = strchr(buf, '+');
	if (meta)
		*meta++ = '\0';
	pre = strchr(buf, '-');
	if (pre)
		*pre++ = '\0';
	dot[0] = buf;
	for (i = 1; i < 3; i++) {
		p = strchr(dot[i - 1], '.');
		if (!p)
			return;
		*p = '\0';
		dot[i] = p + 1;
	}
	/* identifiers: ^[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*$ or empty */
	for (i = 0; i < 2; i++) {
		const char *id = i ? meta : pre;
		bool empty_part = true;

		if (!id || !*id)
			continue;
		for (p = (char *)id; *p; p++) {
			if (*p == '.') {
				if (empty_part)
					return;
				empty_part = true;
			} else if ((*p >= '0' && *p <= '9') ||
				   (*p >= 'a' && *p <= 'z') ||
				   (*p >= 'A' && *p <= 'Z') || *p == '-') {
				empty_part = false;
			} else {
				return;
			}
		}
		if (empty_part)
			return;
	}
	/* strconv.ParseInt(s, 10, 64): an optional sign, digits, no
	 * overflow */
	for (i = 0; i < 3; i++) {
		const char *d = dot[i];
		bool neg = false;
		unsigned long long x = 0;

		if (*d == '+' || *d == '-')
			neg = *d++ == '-';
		if (!*d)
			return;
		for (; *d; d++) {
			if (*d < '0' || *d > '9')
				return;
			if (x >
			    (9223372036854775808ull - (unsigned)(*d - '0')) /
				    10)
				return;
			x = x * 10 + (unsigned)(*d - '0');
		}
		if (x > (neg ? 9223372036854775808ull : 9223372036854775807ull))
			return;
		n[i] = neg ? (long long)(0 - x) : (long long)x;
	}
	snprintf(out, outsz, "%lld.%lld.%lld%s%s%s%s", n[0], n[1], n[2],
		 pre && *pre ? "-" : "", pre && *pre ? pre : "",
		 meta && *meta ? "+" : "", meta && *meta ? meta : "");
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static int read_meta_bucket(struct etcd_snapshot *s, struct etcd_status *st,
			    struct verror *e)
{
	struct bbolt_bucket mb;
	struct sbuf v;
	uint32_t flags;
	int64_t main, sub;
	bool tomb;
	int r;

	r = bbolt_bucket_open(s->db, &s->root, "meta", 4, &mb, e);
	if (r == -ENOTDIR)
		r = 0;
	if (r <= 0)
		return r;
	sbuf_init(&v, 1 << 20); /* etcd's values here are a few bytes */
	r = bbolt_get(s->db, &mb, "storageVersion", 14, &v, &flags, e);
	if (r > 0 && !(flags & BBOLT_BUCKET_LEAF))
		semver((const uint8_t *)v.buf, v.len, st->version,
		       sizeof(st->version));
	if (r >= 0)
		r = bbolt_get(s->db, &mb, "consistent_index", 16, &v, &flags,
			      e);
	if (r > 0 && v.len == 8) {
		st->consistent_index = be64((const uint8_t *)v.buf);
		r = bbolt_get(s->db, &mb, "term", 4, &v, &flags, e);
		if (r > 0 && v.len == 8)
			st->term = be64((const uint8_t *)v.buf);
	}
	if (r >= 0)
		r = bbolt_get(s->db, &mb, "scheduledCompactRev", 19, &v, &flags,
			      e);
	if (r > 0 && mvcc_rev_parse((const uint8_t *)v.buf, v.len, &main, &sub,
				    &tomb) == 0)
		st->compacted = main;
	if (r >= 0)
		r = bbolt_get(s->db, &mb, "finishedCompactRev", 18, &v, &flags,
			      e);
	if (r > 0 && mvcc_rev_parse((const uint8_t *)v.buf, v.len, &main, &sub,
				    &tomb) == 0)
		st->compact_finished = main;
	sbuf_release(&v);
	bbolt_bucket_release(&mb);
	return r < 0 ? r : 0;
}

int etcd_snapshot_status(struct etcd_snapshot *s, struct etcd_status *out,
			 struct verror *e)
{
	const struct bbolt_meta *m = bbolt_meta(s->db);
	struct hash_walk w = { s, { ~0u, false }, !s->indexed, e };
	struct etcd_status st;
	int r;

	if (s->have_status) {
		*out = s->status;
		return 0;
	}
	memset(&st, 0, sizeof(st));
#if defined(__x86_64__)
	w.crc.hw = __builtin_cpu_supports("sse4.2");
#endif
	if (!w.crc.hw)
		crc32c_init_table();
	r = bbolt_foreach(s->db, &s->root, hash_bucket, &w, e);
	if (r >= 0 && w.index)
		r = index_finish(s);
	if (r < 0) {
		if (w.index)
			index_clear(s);
		return r;
	}
	r = read_meta_bucket(s, &st, e);
	if (r < 0)
		return r;
	st.hash = ~w.crc.state;
	st.revision = s->last_main;
	st.total_keys = s->nlive;
	st.size = m->hwm * m->page_size;
	st.page_size = m->page_size;
	st.txid = m->txid;
	st.meta_page = m->index;
	st.file_size = bbolt_file_size(s->db);
	s->status = st;
	s->have_status = true;
	*out = st;
	return 0;
}

/* go-humanize's Bytes(): SI units, one decimal below 10. */
int etcd_status_format(const struct etcd_status *st, struct sbuf *out)
{
	static const char *const sizes[] = { "B",  "kB", "MB", "GB",
					     "TB", "PB", "EB" };
	char size[32];
	uint64_t sz = st->size;

	if (sz < 10) {
		snprintf(size, sizeof(size), "%llu B", (unsigned long long)sz);
	} else {
		double e = floor(log((double)sz) / log(1000.0));
		double val = floor((double)sz / pow(1000.0, e) * 10 + 0.5) / 10;
		int ei = (int)e;

		if (ei < 0 || ei >= (int)ARRAY_SIZE(sizes))
			ei = ARRAY_SIZE(sizes) - 1;
		snprintf(size, sizeof(size), val < 10 ? "%.1f %s" : "%.0f %s",
			 val, sizes[ei]);
	}
	return sbuf_addf(out, "%x, %lld, %llu, %s, %s\n", st->hash,
			 (long long)st->revision,
			 (unsigned long long)st->total_keys, size, st->version);
}
