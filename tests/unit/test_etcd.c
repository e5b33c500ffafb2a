/* Unit tests for etcd/'s file layer: the protobuf wire reader, bbolt and
 * etcd's revision store, on real snapshots made by etcd itself
 * (tests/fixtures/regen-etcd.py: `etcdctl snapshot save`, with the output
 * of `etcdctl get --prefix "" -w json` and `etcdutl snapshot status` taken
 * at the same time): every live key, value and revision, the status line
 * byte for byte; then damaged copies: truncated, a corrupt branch page, a
 * corrupt meta page (the other one is used), not bbolt, no key bucket, a
 * value that is not a KeyValue, under a tiny page cache.
 *
 * argv[1]: tests/data/etcd. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "common/base64.h"
#include "common/hash.h"
#include "common/sbuf.h"
#include "etcd/bbolt_i.h"
#include "etcd/etcd.h"
#include "etcd/mvcc_i.h"
#include "etcd/pb_i.h"

static const char *data_dir;

/* ---- a reader over memory ---------------------------------------------- */

struct mem {
	const uint8_t *p;
	size_t len;
	unsigned reads;
	int fail_at; /* the fail_at-th read fails with -EIO (0: never) */
};

static int mem_pread(void *ud, void *buf, size_t len, uint64_t off,
		     struct verror *e)
{
	struct mem *m = ud;

	m->reads++;
	if (m->fail_at && (int)m->reads == m->fail_at)
		return verror_set(e, -EIO, "read %u fails", m->reads);
	if (off > m->len || len > m->len - off)
		return verror_set(e, -EIO, "short read");
	memcpy(buf, m->p + off, len);
	return 0;
}

static struct etcd_reader mem_reader(struct mem *m)
{
	struct etcd_reader r = { mem_pread, m, m->len, NULL };

	return r;
}

/* check_snapshot() with the file handed in as a mapping */
static bool use_map;

static uint8_t *slurp(const char *name, size_t *len)
{
	char path[4096];
	struct stat st;
	uint8_t *p;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", data_dir, name);
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "%s: %m\n", path);
		exit(2);
	}
	p = malloc((size_t)st.st_size + 1);
	if (!p || read(fd, p, (size_t)st.st_size) != st.st_size) {
		fprintf(stderr, "%s: short read\n", path);
		exit(2);
	}
	p[st.st_size] = 0;
	close(fd);
	*len = (size_t)st.st_size;
	return p;
}

/* ---- pb ---------------------------------------------------------------- */

static void test_pb(void)
{
	static const uint8_t msg[] = {
		0x08, 0x96, 0x01,	      /* 1: varint 150 */
		0x12, 0x03, 'a',  'b',	'c',  /* 2: "abc" */
		0x1d, 0x01, 0x02, 0x03, 0x04, /* 3: fixed32 */
		0x21, 1,    0,	  0,	0,    0,    0,	  0,	0x80, /* 4:
									 fixed64
								       */
		0x28, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x01, /* 5: varint -1 */
	};
	struct pb r;
	struct pb_field f;
	const uint8_t *p;
	uint64_t v;

	pb_init(&r, msg, sizeof(msg));
	CHECK_EQ_INT(pb_next(&r, &f), 1);
	CHECK(f.num == 1 && f.wire == PB_VARINT && f.u == 150);
	CHECK_EQ_INT(pb_next(&r, &f), 1);
	CHECK(f.num == 2 && f.wire == PB_LEN && f.len == 3 &&
	      memcmp(f.data, "abc", 3) == 0);
	CHECK_EQ_INT(pb_next(&r, &f), 1);
	CHECK(f.num == 3 && f.wire == PB_I32 && f.u == 0x04030201);
	CHECK_EQ_INT(pb_next(&r, &f), 1);
	CHECK(f.num == 4 && f.wire == PB_I64 && f.u == 0x8000000000000001ull);
	CHECK_EQ_INT(pb_next(&r, &f), 1);
	CHECK(f.num == 5 && pb_int64(f.u) == -1 && pb_int32(f.u) == -1);
	CHECK_EQ_INT(pb_next(&r, &f), 0);
	CHECK_EQ_INT(pb_offset(&r), sizeof(msg));
	CHECK_EQ_INT(pb_sint64(1), -1);
	CHECK_EQ_INT(pb_sint64(4), 2);
	CHECK_EQ_INT(pb_sint32(3), -2);

	/* every truncation of the message is refused or ends cleanly at a
	 * field boundary, never read past */
	for (size_t n = 0; n < sizeof(msg); n++) {
		uint8_t *cut = malloc(n ? n : 1);
		int k, last = 0;

		memcpy(cut, msg, n);
		pb_init(&r, cut, n);
		while ((k = pb_next(&r, &f)) > 0)
			last = k;
		(void)last;
		CHECK(k == 0 || (k == -EBADMSG && r.err));
		if (n == 1 || n == 2 || n == 4 || n == 7)
			CHECK_EQ_INT(k, -EBADMSG);
		free(cut);
	}
	/* bad tags and lengths */
	{
		static const struct {
			uint8_t b[12];
			size_t n;
		} bad[] = {
			{ { 0x00, 0x01 }, 2 },	    /* field 0 */
			{ { 0x0b }, 1 },	    /* group start */
			{ { 0x0c }, 1 },	    /* group end */
			{ { 0x0e }, 1 },	    /* wire type 6 */
			{ { 0x0f }, 1 },	    /* wire type 7 */
			{ { 0x0a, 0x05, 'a' }, 3 }, /* length > rest */
			{ { 0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			    0xff, 0xff, 0x01 },
			  11 }, /* length 2^64-1 */
			{ { 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			    0xff, 0xff, 0x02 },
			  11 }, /* varint over 64 bits */
			{ { 0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
			    0x80, 0x80, 0x80, 0x01 },
			  12 }, /* 11-byte varint */
			{ { 0xf8, 0xff, 0xff, 0xff, 0x7f }, 5 }, /* field 2^32
								  */
		};
		for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
			pb_init(&r, bad[i].b, bad[i].n);
			CHECK_EQ_INT(pb_next(&r, &f), -EBADMSG);
			CHECK(r.err != NULL);
			CHECK_EQ_INT(pb_offset(&r), 0);
		}
	}
	/* the largest field number, a varint of ten bytes */
	{
		static const uint8_t ok[] = {
			0xf8, 0xff, 0xff, 0xff, 0x0f, 0x00
		};
		static const uint8_t ten[] = { 0xff, 0xff, 0xff, 0xff, 0xff,
					       0xff, 0xff, 0xff, 0xff, 0x01 };

		pb_init(&r, ok, sizeof(ok));
		CHECK_EQ_INT(pb_next(&r, &f), 1);
		CHECK_EQ_INT(f.num, 0x1fffffff);
		p = ten;
		CHECK_EQ_INT(pb_varint(&p, ten + sizeof(ten), &v), 0);
		CHECK(v == UINT64_MAX && p == ten + 10);
		p = ten;
		CHECK_EQ_INT(pb_varint(&p, ten + 9, &v), -EBADMSG);
		CHECK(p == ten);
	}
}

/* ---- KeyValue, revision keys, CRC-32C ----------------------------------- */

static void test_mvcc_parts(void)
{
	/* key "/a", create 2, mod 3, version 4, value "v", lease 5, and an
	 * unknown field 9 (skipped) */
	static const uint8_t kvb[] = { 0x0a, 2,	   '/',	 'a',  0x10, 2,
				       0x18, 3,	   0x20, 4,    0x2a, 1,
				       'v',  0x30, 5,	 0x48, 7 };
	static const uint8_t wrong[] = { 0x10, 0x01, 0x0d, 0, 0, 0, 0 };
	static const uint8_t rev[] = { 0, 0, 0, 0, 0, 0, 1, 2, '_',
				       0, 0, 0, 0, 0, 0, 0, 3, 't' };
	struct etcd_kv kv;
	const char *why = NULL;
	int64_t main, sub;
	bool tomb;

	CHECK_EQ_INT(mvcc_kv_decode(kvb, sizeof(kvb), &kv, &why), 0);
	CHECK(kv.key_len == 2 && memcmp(kv.key, "/a", 2) == 0);
	CHECK(kv.value_len == 1 && memcmp(kv.value, "v", 1) == 0);
	CHECK(kv.create_revision == 2 && kv.mod_revision == 3 &&
	      kv.version == 4 && kv.lease == 5);
	CHECK_EQ_INT(mvcc_kv_decode("", 0, &kv, &why), 0);
	CHECK(kv.key_len == 0 && kv.value_len == 0);
	/* field 1 as a fixed32: the wrong wire type */
	CHECK_EQ_INT(mvcc_kv_decode(wrong, sizeof(wrong), &kv, &why), -EBADMSG);
	CHECK(why && strstr(why, "wire type"));
	CHECK_EQ_INT(mvcc_kv_decode("\x0a\x09/a", 4, &kv, &why), -EBADMSG);

	CHECK_EQ_INT(mvcc_rev_parse(rev, 18, &main, &sub, &tomb), 0);
	CHECK(main == 0x102 && sub == 3 && tomb);
	CHECK_EQ_INT(mvcc_rev_parse(rev, 17, &main, &sub, &tomb), 0);
	CHECK(!tomb);
	CHECK_EQ_INT(mvcc_rev_parse(rev, 16, &main, &sub, &tomb), -EBADMSG);
	CHECK_EQ_INT(mvcc_rev_parse((const uint8_t *)"\x80\0\0\0\0\0\0\0_"
						     "\0\0\0\0\0\0\0\0",
				    17, &main, &sub, &tomb),
		     -EBADMSG);
	CHECK_EQ_INT(mvcc_rev_parse((const uint8_t *)"\0\0\0\0\0\0\0\0-"
						     "\0\0\0\0\0\0\0\0",
				    17, &main, &sub, &tomb),
		     -EBADMSG);

	/* CRC-32C check value (RFC 3720 B.4: 32 bytes of zeros) */
	{
		uint8_t z[32] = { 0 };

		CHECK(mvcc_crc32c(0, "123456789", 9) == 0xE3069283u);
		CHECK(mvcc_crc32c(0, z, sizeof(z)) == 0x8A9136AAu);
		CHECK(mvcc_crc32c(mvcc_crc32c(0, "1234", 4), "56789", 5) ==
		      0xE3069283u);
	}
}

/* ---- real snapshots ---------------------------------------------------- */

struct collect {
	json_t *kvs; /* the expected list */
	size_t i;
	int mismatches;
	unsigned problems;
	char last_problem[512];
	/* tolerate: keys that may be missing (damaged copies) */
	bool lenient;
};

static int b64eq(const char *b64, const void *p, size_t n)
{
	size_t cap = strlen(b64) + 4;
	unsigned char *buf = malloc(cap);
	long len = base64_decode(b64, strlen(b64), BASE64_STRICT, buf, cap);
	int eq = len >= 0 && (size_t)len == n && memcmp(buf, p, n) == 0;

	free(buf);
	return eq;
}

static json_int_t jint(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k)); /* absent: 0 */
}

static int collect_kv(void *ud, const struct etcd_kv *kv)
{
	struct collect *c = ud;
	json_t *want;

	for (;;) {
		want = json_array_get(c->kvs, c->i);
		if (!want) {
			c->mismatches++;
			return 0;
		}
		c->i++;
		if (b64eq(json_string_value(json_object_get(want, "key")),
			  kv->key, kv->key_len) ||
		    !c->lenient)
			break;
	}
	if (!b64eq(json_string_value(json_object_get(want, "key")), kv->key,
		   kv->key_len) ||
	    !b64eq(json_string_value(json_object_get(want, "value")) ?
			   json_string_value(json_object_get(want, "value")) :
			   "",
		   kv->value, kv->value_len) ||
	    jint(want, "create_revision") != kv->create_revision ||
	    jint(want, "mod_revision") != kv->mod_revision ||
	    jint(want, "version") != kv->version ||
	    (int64_t)json_integer_value(json_object_get(want, "lease")) !=
		    kv->lease) {
		if (c->mismatches++ < 5)
			fprintf(stderr, "mismatch at %zu: %.*s (mod %lld)\n",
				c->i - 1, (int)kv->key_len, kv->key,
				(long long)kv->mod_revision);
	}
	return 0;
}

static void collect_problem(void *ud, const char *fmt, ...)
{
	struct collect *c = ud;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->last_problem, sizeof(c->last_problem), fmt, ap);
	va_end(ap);
	c->problems++;
}

static json_t *load_json(const char *name)
{
	char path[4096];
	json_error_t je;
	json_t *j;

	snprintf(path, sizeof(path), "%s/%s", data_dir, name);
	j = json_load_file(path, JSON_DECODE_INT_AS_REAL * 0, &je);
	if (!j) {
		fprintf(stderr, "%s: %s\n", path, je.text);
		exit(2);
	}
	return j;
}

/* Lists the snapshot and compares with <name>.get.json; the status with
 * <name>.status.{json,txt}. cache/chunk: the page cache's budget. */
static void check_snapshot(const char *name, size_t cache, size_t chunk)
{
	char fn[256];
	size_t len, tlen;
	uint8_t *db;
	char *txt;
	json_t *get, *status;
	struct mem m;
	struct etcd_reader r;
	struct etcd_snapshot *s = NULL;
	struct etcd_status st;
	struct verror e = { "" };
	struct collect c = { 0 };
	struct sbuf line;
	int round;

	snprintf(fn, sizeof(fn), "%s.db", name);
	db = slurp(fn, &len);
	snprintf(fn, sizeof(fn), "%s.status.txt", name);
	txt = (char *)slurp(fn, &tlen);
	snprintf(fn, sizeof(fn), "%s.get.json", name);
	get = load_json(fn);
	snprintf(fn, sizeof(fn), "%s.status.json", name);
	status = load_json(fn);
	m = (struct mem){ db, len, 0, 0 };
	r = mem_reader(&m);
	if (use_map) {
		r.map = db;
		m.fail_at = 1; /* pread must not be called */
	}

	CHECK(etcd_sniff(db, len));
	CHECK_EQ_INT(etcd_snapshot_open(&r, &s, &e), 0);
	if (!s) {
		fprintf(stderr, "%s: %s\n", name, e.msg);
		goto out;
	}
	if (cache)
		CHECK_EQ_INT(bbolt_set_cache(mvcc_db(s), cache, chunk), 0);
	else
		CHECK_EQ_INT(etcd_snapshot_set_cache(s, 1), 0); /* 4 chunks */
	/* twice: the second listing reuses the first pass */
	for (round = 0; round < 2; round++) {
		c = (struct collect){ json_object_get(get, "kvs") };
		CHECK_EQ_INT(etcd_snapshot_each(s, collect_kv, collect_problem,
						&c, &e),
			     0);
		CHECK_EQ_INT(c.mismatches, 0);
		CHECK_EQ_INT(c.i, json_array_size(c.kvs));
		CHECK_EQ_INT(c.i, jint(get, "count"));
		CHECK_EQ_INT(c.problems, 0);
	}
	CHECK_EQ_INT(etcd_snapshot_status(s, &st, &e), 0);
	CHECK_EQ_INT(st.hash, jint(status, "hash"));
	CHECK_EQ_INT(st.revision, jint(status, "revision"));
	CHECK_EQ_INT(st.total_keys, jint(status, "totalKey"));
	CHECK_EQ_INT(st.size, jint(status, "totalSize"));
	CHECK_STREQ(st.version,
		    json_string_value(json_object_get(status, "version")));
	CHECK_EQ_INT(st.file_size, len);
	CHECK_EQ_INT(st.page_size, strcmp(name, "made") ? 4096 : 512);
	sbuf_init(&line, 0);
	CHECK_EQ_INT(etcd_status_format(&st, &line), 0);
	CHECK_STREQ(sbuf_str(&line), txt);
	sbuf_release(&line);
	CHECK_EQ_INT(etcd_snapshot_verify(s, &e), strcmp(name, "made") ? 1 : 0);
	s = etcd_snapshot_free(s);

	/* status first (it builds the index in the same walk), then list */
	CHECK_EQ_INT(etcd_snapshot_open(&r, &s, &e), 0);
	if (s) {
		struct etcd_status st2;

		if (cache)
			bbolt_set_cache(mvcc_db(s), cache, chunk);
		CHECK_EQ_INT(etcd_snapshot_status(s, &st2, &e), 0);
		CHECK(st2.hash == st.hash && st2.total_keys == st.total_keys &&
		      st2.revision == st.revision);
		c = (struct collect){ json_object_get(get, "kvs") };
		CHECK_EQ_INT(etcd_snapshot_each(s, collect_kv, NULL, &c, &e),
			     0);
		CHECK_EQ_INT(c.mismatches, 0);
		CHECK_EQ_INT(c.i, json_array_size(c.kvs));
		s = etcd_snapshot_free(s);
	}
out:
	json_decref(get);
	json_decref(status);
	free(txt);
	free(db);
}

/* The two-level tree, overflow pages and sub revisions that the fixture
 * is meant to hold are really there (else the tests above prove less). */
struct shape {
	int64_t max_sub;
	size_t overflow_vals;
};

static int shape_kv(void *ud, const struct bbolt_kv *kv)
{
	struct shape *sh = ud;
	int64_t main, sub;
	bool tomb;

	if (mvcc_rev_parse(kv->key, kv->klen, &main, &sub, &tomb) == 0 &&
	    sub > sh->max_sub)
		sh->max_sub = sub;
	if (kv->vlen > 1500)
		sh->overflow_vals++;
	return 0;
}

static void test_fixture_shape(const char *name, size_t overflow_vals)
{
	size_t len;
	uint8_t *db = slurp(name, &len);
	struct mem m = { db, len, 0, 0 };
	struct etcd_reader r = mem_reader(&m);
	struct bbolt *b = NULL;
	struct bbolt_bucket root, key;
	struct bbolt_page pg, child;
	struct verror e;
	struct shape sh = { 0 };
	const uint8_t *el;

	CHECK_EQ_INT(bbolt_open(&r, &b, &e), 0);
	if (!b)
		goto out;
	bbolt_root(b, &root);
	CHECK_EQ_INT(bbolt_bucket_open(b, &root, "key", 3, &key, &e), 1);
	CHECK_EQ_INT(bbolt_page_get(b, key.root, &pg, &e), 0);
	CHECK_EQ_INT(pg.flags, BBOLT_BRANCH_PAGE);
	/* the first child of the root is a branch page too */
	el = pg.p + BBOLT_PAGE_HEADER;
	CHECK_EQ_INT(bbolt_page_get(b,
				    (uint64_t)el[8] | (uint64_t)el[9] << 8 |
					    (uint64_t)el[10] << 16,
				    &child, &e),
		     0);
	CHECK_EQ_INT(child.flags, BBOLT_BRANCH_PAGE);
	bbolt_page_put(b, &child);
	bbolt_page_put(b, &pg);
	CHECK_EQ_INT(bbolt_foreach(b, &key, shape_kv, &sh, &e), 0);
	CHECK(sh.max_sub >= 99); /* a txn of 100 puts; the range delete */
	CHECK_EQ_INT(sh.overflow_vals, overflow_vals);
	/* the lookup finds every bucket, and not what is not there */
	{
		struct bbolt_bucket x;
		struct sbuf v;
		uint32_t flags;

		CHECK_EQ_INT(bbolt_bucket_open(b, &root, "meta", 4, &x, &e), 1);
		sbuf_init(&v, 0);
		CHECK_EQ_INT(bbolt_get(b, &x, "storageVersion", 14, &v, &flags,
				       &e),
			     1);
		CHECK_STREQ(sbuf_str(&v), "3.6.0");
		CHECK_EQ_INT(bbolt_get(b, &x, "storageVersio", 13, &v, &flags,
				       &e),
			     0);
		CHECK_EQ_INT(bbolt_get(b, &x, "zzz", 3, &v, &flags, &e), 0);
		CHECK_EQ_INT(bbolt_get(b, &x, "", 0, &v, &flags, &e), 0);
		sbuf_release(&v);
		bbolt_bucket_release(&x);
		CHECK_EQ_INT(bbolt_bucket_open(b, &root, "nope", 4, &x, &e), 0);
		CHECK_EQ_INT(bbolt_bucket_open(b, &root, "ke", 2, &x, &e), 0);
	}
	bbolt_bucket_release(&key);
	b = bbolt_free(b);
out:
	free(db);
}

/* ---- a bbolt file made here: nested, inline buckets, overflow --------- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}
static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* A leaf page at p (id, overflow) with n elements; data goes after the
 * element headers. Returns its length in bytes used. */
struct elem {
	uint32_t flags;
	const void *k, *v;
	size_t kl, vl;
};
static size_t leaf(uint8_t *p, uint64_t id, uint32_t overflow,
		   const struct elem *el, unsigned n)
{
	size_t data = 16 + 16 * (size_t)n;

	put64(p, id);
	put16(p + 8, BBOLT_LEAF_PAGE);
	put16(p + 10, (uint16_t)n);
	put32(p + 12, overflow);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = p + 16 + 16 * i;

		put32(e, el[i].flags);
		put32(e + 4, (uint32_t)(data - (16 + 16 * i)));
		put32(e + 8, (uint32_t)el[i].kl);
		put32(e + 12, (uint32_t)el[i].vl);
		memcpy(p + data, el[i].k, el[i].kl);
		memcpy(p + data + el[i].kl, el[i].v, el[i].vl);
		data += el[i].kl + el[i].vl;
	}
	return data;
}

static void meta(uint8_t *p, uint64_t id, uint32_t ps, uint64_t root,
		 uint64_t hwm, uint64_t txid)
{
	uint8_t *m = p + 16;

	put64(p, id);
	put16(p + 8, BBOLT_META_PAGE);
	put32(m, BBOLT_MAGIC);
	put32(m + 4, BBOLT_VERSION);
	put32(m + 8, ps);
	put64(m + 16, root);
	put64(m + 32, UINT64_MAX); /* no freelist */
	put64(m + 40, hwm);
	put64(m + 48, txid);
	put64(m + 56, fnv1a64(m, 56));
}

static int count_bbolt(void *ud, const struct bbolt_kv *kv)
{
	unsigned *n = ud;

	(*n)++;
	return kv->klen == 0 ? -EINVAL : 0;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Walks every bucket inside the bucket being walked (what a reader of
 * nested buckets does). */
struct deep {
	struct bbolt *b;
	struct verror *e;
	unsigned kvs;
};

static int deep_kv(void *ud, const struct bbolt_kv *kv)
{
	struct deep *d = ud;
	struct bbolt_bucket sub = { 0 };
	int r;

	d->kvs++;
	if (!(kv->flags & BBOLT_BUCKET_LEAF) || kv->vlen < 16)
		return 0;
	sub.root = rd64(kv->val);
	if (sub.root == 0)
		return 0;
	r = bbolt_foreach(d->b, &sub, deep_kv, d, d->e);
	return r;
}

static void test_bbolt_made(void)
{
	enum { PS = 1024, PAGES = 7 };
	uint8_t *f = calloc(PAGES, PS), inl[16 + 64] = { 0 }, hdr[16] = { 0 };
	uint8_t big[1500];
	struct mem m = { f, PAGES * PS, 0, 0 };
	struct etcd_reader r = mem_reader(&m);
	struct bbolt *b = NULL;
	struct bbolt_bucket root, outer, inner, sub;
	struct etcd_snapshot *s = NULL;
	struct verror e;
	struct sbuf v;
	uint32_t flags;
	unsigned n = 0;
	uint8_t sub_hdr[16] = { 0 };
	size_t ilen;

	memset(big, 'o', sizeof(big));
	big[0] = '<';
	big[sizeof(big) - 1] = '>';
	/* the inline bucket "inner": header (root 0) and a leaf x=y */
	{
		struct elem x[] = { { 0, "x", "y", 1, 1 } };

		ilen = leaf(inl + 16, 0, 0, x, 1);
	}
	put64(sub_hdr, 4);
	put64(hdr, 3);
	meta(f, 0, PS, 2, PAGES, 8);
	meta(f + PS, 1, PS, 2, PAGES, 7);
	{
		struct elem e2[] = { { BBOLT_BUCKET_LEAF, "outer", hdr, 5,
				       16 } };
		struct elem e3[] = {
			{ 0, "a", "1", 1, 1 },
			{ BBOLT_BUCKET_LEAF, "inner", inl, 5, 16 + ilen },
			{ BBOLT_BUCKET_LEAF, "sub", sub_hdr, 3, 16 },
		};
		struct elem e4[] = { { 0, "big", big, 3, sizeof(big) },
				     { 0, "k", "v", 1, 1 } };

		leaf(f + 2 * PS, 2, 0, e2, 1);
		leaf(f + 3 * PS, 3, 0, e3, 3);
		/* page 4 with one overflow page (5); page 6 unused */
		leaf(f + 4 * PS, 4, 1, e4, 2);
	}
	CHECK(etcd_sniff(f, PAGES * PS));
	CHECK_EQ_INT(bbolt_open(&r, &b, &e), 0);
	if (!b)
		goto out;
	CHECK_EQ_INT(bbolt_meta(b)->txid, 8);
	CHECK_EQ_INT(bbolt_meta(b)->page_size, PS);
	bbolt_root(b, &root);
	sbuf_init(&v, 0);
	CHECK_EQ_INT(bbolt_bucket_open(b, &root, "outer", 5, &outer, &e), 1);
	CHECK_EQ_INT(bbolt_foreach(b, &outer, count_bbolt, &n, &e), 0);
	CHECK_EQ_INT(n, 3);
	CHECK_EQ_INT(bbolt_get(b, &outer, "a", 1, &v, &flags, &e), 1);
	CHECK_STREQ(sbuf_str(&v), "1");
	CHECK_EQ_INT(bbolt_bucket_open(b, &outer, "a", 1, &inner, &e),
		     -ENOTDIR);
	CHECK_EQ_INT(bbolt_bucket_open(b, &outer, "inner", 5, &inner, &e), 1);
	CHECK_EQ_INT(inner.root, 0);
	CHECK_EQ_INT(bbolt_get(b, &inner, "x", 1, &v, &flags, &e), 1);
	CHECK_STREQ(sbuf_str(&v), "y");
	n = 0;
	CHECK_EQ_INT(bbolt_foreach(b, &inner, count_bbolt, &n, &e), 0);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(bbolt_bucket_open(b, &outer, "sub", 3, &sub, &e), 1);
	CHECK_EQ_INT(bbolt_get(b, &sub, "k", 1, &v, &flags, &e), 1);
	CHECK_STREQ(sbuf_str(&v), "v");
	/* the value across the page boundary, read whole */
	CHECK_EQ_INT(bbolt_get(b, &sub, "big", 3, &v, &flags, &e), 1);
	CHECK(v.len == sizeof(big) && memcmp(v.buf, big, sizeof(big)) == 0);
	/* and with chunks of one page: the page and its overflow page are
	 * read into a buffer of their own */
	CHECK_EQ_INT(bbolt_set_cache(b, 0, 1), 0);
	CHECK_EQ_INT(bbolt_get(b, &sub, "big", 3, &v, &flags, &e), 1);
	CHECK(v.len == sizeof(big) && memcmp(v.buf, big, sizeof(big)) == 0);
	bbolt_bucket_release(&sub);
	bbolt_bucket_release(&inner);
	bbolt_bucket_release(&outer);
	sbuf_release(&v);
	b = bbolt_free(b);
	/* "sub" made to point at its parent's page: a walk into nested
	 * buckets meets a cycle, and stops */
	put64(sub_hdr, 3);
	{
		struct elem e3[] = {
			{ 0, "a", "1", 1, 1 },
			{ BBOLT_BUCKET_LEAF, "inner", inl, 5, 16 + ilen },
			{ BBOLT_BUCKET_LEAF, "sub", sub_hdr, 3, 16 },
		};
		leaf(f + 3 * PS, 3, 0, e3, 3);
	}
	CHECK_EQ_INT(bbolt_open(&r, &b, &e), 0);
	if (b) {
		struct deep d = { b, &e, 0 };

		bbolt_root(b, &root);
		CHECK_EQ_INT(bbolt_foreach(b, &root, deep_kv, &d, &e),
			     -EBADMSG);
		CHECK(strstr(e.msg, "reached twice") != NULL);
		CHECK(d.kvs < 30);
		b = bbolt_free(b);
	}
	put64(sub_hdr, 4);
	{
		struct elem e3[] = {
			{ 0, "a", "1", 1, 1 },
			{ BBOLT_BUCKET_LEAF, "inner", inl, 5, 16 + ilen },
			{ BBOLT_BUCKET_LEAF, "sub", sub_hdr, 3, 16 },
		};
		leaf(f + 3 * PS, 3, 0, e3, 3);
	}
	/* a bbolt database, not etcd's */
	CHECK_EQ_INT(etcd_snapshot_open(&r, &s, &e), -EBADMSG);
	CHECK_STREQ(e.msg, "bbolt database without etcd's key bucket");
	CHECK(s == NULL);
	/* the overflow page count running past the end */
	put32(f + 4 * PS + 12, 5);
	CHECK_EQ_INT(bbolt_open(&r, &b, &e), 0);
	if (b) {
		bbolt_root(b, &root);
		CHECK_EQ_INT(
			bbolt_bucket_open(b, &root, "outer", 5, &outer, &e), 1);
		CHECK_EQ_INT(bbolt_bucket_open(b, &outer, "sub", 3, &sub, &e),
			     1);
		CHECK_EQ_INT(bbolt_get(b, &sub, "k", 1, &v, &flags, &e),
			     -EBADMSG);
		CHECK(strstr(e.msg, "overflow") != NULL);
		bbolt_bucket_release(&sub);
		bbolt_bucket_release(&outer);
		b = bbolt_free(b);
	}
	/* an inline bucket whose page is not a leaf */
	put32(f + 4 * PS + 12, 1);
	put16(inl + 16 + 8, BBOLT_BRANCH_PAGE);
	{
		struct elem e3[] = {
			{ 0, "a", "1", 1, 1 },
			{ BBOLT_BUCKET_LEAF, "inner", inl, 5, 16 + ilen },
			{ BBOLT_BUCKET_LEAF, "sub", sub_hdr, 3, 16 },
		};
		leaf(f + 3 * PS, 3, 0, e3, 3);
	}
	CHECK_EQ_INT(bbolt_open(&r, &b, &e), 0);
	if (b) {
		bbolt_root(b, &root);
		CHECK_EQ_INT(
			bbolt_bucket_open(b, &root, "outer", 5, &outer, &e), 1);
		CHECK_EQ_INT(bbolt_bucket_open(b, &outer, "inner", 5, &inner,
					       &e),
			     1);
		CHECK_EQ_INT(bbolt_foreach(b, &inner, count_bbolt, &n, &e),
			     -EBADMSG);
		bbolt_bucket_release(&inner);
		bbolt_bucket_release(&outer);
		b = bbolt_free(b);
	}
out:
	free(f);
}

/* ---- damaged copies ----------------------------------------------------- */

struct count {
	unsigned kvs, problems;
	char problem[512];
};

static int count_kv(void *ud, const struct etcd_kv *kv)
{
	struct count *c = ud;

	(void)kv;
	c->kvs++;
	return 0;
}

static void count_problem(void *ud, const char *fmt, ...)
{
	struct count *c = ud;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->problem, sizeof(c->problem), fmt, ap);
	va_end(ap);
	c->problems++;
}

/* Opens, lists and asks the status of a copy: the first error (0 if
 * none); what was listed in *c. Never crashes, whatever the bytes. */
static int try_copy(const uint8_t *p, size_t len, struct count *c,
		    struct verror *e, size_t cache)
{
	struct mem m = { p, len, 0, 0 };
	struct etcd_reader r = mem_reader(&m);
	struct etcd_snapshot *s = NULL;
	struct etcd_status st;
	int res;

	memset(c, 0, sizeof(*c));
	e->msg[0] = 0;
	res = etcd_snapshot_open(&r, &s, e);
	if (res < 0)
		return res;
	if (cache)
		bbolt_set_cache(mvcc_db(s), cache, cache / 4);
	res = etcd_snapshot_each(s, count_kv, count_problem, c, e);
	if (res == 0)
		res = etcd_snapshot_status(s, &st, e);
	etcd_snapshot_free(s);
	return res;
}

/* A damaged copy (found by fuzz_etcd) whose first revision's key is
 * empty: the key store had nothing allocated yet, and an offset was taken
 * from NULL (undefined; UBSan stopped there). Listed without that now. */
static void test_empty_first_key(void)
{
	size_t len;
	uint8_t *db = slurp("empty-first-key.db", &len);
	struct verror e;
	struct count c;
	int res = try_copy(db, len, &c, &e, 0);

	CHECK(res == 0 || e.msg[0] != 0);
	free(db);
}

static void test_damaged(void)
{
	size_t len;
	uint8_t *db = slurp("basic.db", &len), *cp = malloc(len);
	struct mem m = { db, len, 0, 0 };
	struct etcd_reader r = mem_reader(&m);
	struct etcd_snapshot *s = NULL;
	struct bbolt *b = NULL;
	struct bbolt_bucket root, key;
	struct bbolt_page pg;
	struct bbolt_kv kv;
	struct etcd_status st;
	struct verror e;
	struct count c, base;
	uint64_t key_root, ps = 4096, meta_root;
	size_t off;
	int res;

	CHECK_EQ_INT(try_copy(db, len, &base, &e, 0), 0);
	CHECK_EQ_INT(base.kvs, 5040);

	/* the SHA-256 etcdctl appended: right; wrong after a flipped byte
	 * anywhere; none without the trailer */
	CHECK_EQ_INT(etcd_snapshot_open(&r, &s, &e), 0);
	if (s) {
		CHECK_EQ_INT(etcd_snapshot_verify(s, &e), 1);
		s = etcd_snapshot_free(s);
	}
	memcpy(cp, db, len);
	cp[len / 2] ^= 0x40;
	m = (struct mem){ cp, len, 0, 0 };
	CHECK_EQ_INT(etcd_snapshot_open(&r, &s, &e), 0);
	if (s) {
		CHECK_EQ_INT(etcd_snapshot_verify(s, &e), -EBADMSG);
		CHECK(strstr(e.msg, "SHA-256 mismatch") != NULL);
		s = etcd_snapshot_free(s);
	}
	m = (struct mem){ db, len - 32, 0, 0 };
	r = mem_reader(&m);
	CHECK_EQ_INT(etcd_snapshot_open(&r, &s, &e), 0);
	if (s) {
		CHECK_EQ_INT(etcd_snapshot_verify(s, &e), 0);
		s = etcd_snapshot_free(s);
	}
	m = (struct mem){ db, len, 0, 0 };
	r = mem_reader(&m);

	/* truncated: half, one page short, a meta page, nothing */
	{
		static const size_t cuts[] = { 0,    10,	100,
					       4096, 8192 + 80, 12288 };
		for (size_t i = 0; i < ARRAY_SIZE(cuts); i++) {
			res = try_copy(db, cuts[i], &c, &e, 0);
			CHECK(res == -EINVAL || res == -EBADMSG);
			CHECK(e.msg[0] != 0);
		}
		res = try_copy(db, len / 2, &c, &e, 0);
		CHECK_EQ_INT(res, -EBADMSG);
		CHECK(strstr(e.msg, "truncated") != NULL);
		/* the sha256 trailer etcd appends is not needed */
		CHECK_EQ_INT(try_copy(db, len - 32, &c, &e, 0), 0);
		CHECK_EQ_INT(c.kvs, base.kvs);
		res = try_copy(db, len - 33, &c, &e, 0);
		CHECK_EQ_INT(res, -EBADMSG);
	}
	/* not bbolt */
	{
		static const char text[] = "apiVersion: v1\nkind: ConfigMap\n";
		uint8_t *zero = calloc(1, 65536);

		CHECK(!etcd_sniff(text, sizeof(text)));
		CHECK_EQ_INT(try_copy((const uint8_t *)text, sizeof(text), &c,
				      &e, 0),
			     -EINVAL);
		CHECK_STREQ(e.msg, "not a bbolt database");
		CHECK_EQ_INT(try_copy(zero, 65536, &c, &e, 0), -EINVAL);
		CHECK(!etcd_sniff(zero, 65536));
		CHECK(!etcd_sniff(db, 8));
		free(zero);
	}

	/* where things are, read with the bbolt layer */
	CHECK_EQ_INT(bbolt_open(&r, &b, &e), 0);
	if (!b)
		goto out;
	meta_root = bbolt_meta(b)->root;
	bbolt_root(b, &root);
	CHECK_EQ_INT(bbolt_bucket_open(b, &root, "key", 3, &key, &e), 1);
	key_root = key.root;

	/* meta pages: the file's two metas differ by one txid */
	CHECK_EQ_INT(bbolt_meta(b)->index, 0);
	memcpy(cp, db, len);
	cp[16 + 40] ^= 0x01; /* page 0's high-water mark: checksum fails */
	CHECK(etcd_sniff(cp, len));
	CHECK_EQ_INT(try_copy(cp, len, &c, &e, 0), 0);
	CHECK_EQ_INT(c.kvs, base.kvs);
	m = (struct mem){ cp, len, 0, 0 };
	r = mem_reader(&m);
	CHECK_EQ_INT(etcd_snapshot_open(&r, &s, &e), 0);
	if (s) {
		CHECK_EQ_INT(etcd_snapshot_status(s, &st, &e), 0);
		CHECK_EQ_INT(st.meta_page, 1);
		s = etcd_snapshot_free(s);
	}
	/* page 0 wholly gone: the page size comes from page 1 */
	memset(cp, 0, 4096);
	CHECK(!etcd_sniff(cp, len));
	CHECK_EQ_INT(try_copy(cp, len, &c, &e, 0), 0);
	CHECK_EQ_INT(c.kvs, base.kvs);
	/* both */
	memcpy(cp, db, len);
	cp[16 + 48] ^= 0x80;
	cp[4096 + 16 + 48] ^= 0x80;
	res = try_copy(cp, len, &c, &e, 0);
	CHECK_EQ_INT(res, -EBADMSG);
	CHECK(strstr(e.msg, "meta") != NULL);

	/* a branch page: the key bucket's root; every single byte of its
	 * header and first elements flipped in turn: an error or a listing,
	 * never a crash (ASan, valgrind) */
	off = (size_t)(key_root * ps);
	for (size_t i = 0; i < 16 + 6 * 16; i++) {
		memcpy(cp, db, len);
		cp[off + i] ^= 0xa5;
		res = try_copy(cp, len, &c, &e, 64 << 10);
		CHECK(res == 0 || (res == -EBADMSG && e.msg[0]));
	}
	/* its id: named as another page */
	memcpy(cp, db, len);
	cp[off] ^= 1;
	CHECK_EQ_INT(try_copy(cp, len, &c, &e, 0), -EBADMSG);
	CHECK(strstr(e.msg, "names itself") != NULL);
	/* a child pointing back at the root: a cycle */
	memcpy(cp, db, len);
	memcpy(cp + off + 16 + 8, &key_root, 8);
	CHECK_EQ_INT(try_copy(cp, len, &c, &e, 0), -EBADMSG);
	CHECK(e.msg[0] != 0);
	/* a child far out of range */
	memcpy(cp, db, len);
	cp[off + 16 + 15] = 0x7f;
	CHECK_EQ_INT(try_copy(cp, len, &c, &e, 0), -EBADMSG);
	CHECK(strstr(e.msg, "out of range") != NULL);
	/* a leaf page's element count too large for the page */
	{
		const uint8_t *el = db + off + 16;
		uint64_t child = rd64(el + 8);
		size_t coff = (size_t)(child * ps);

		memcpy(cp, db, len);
		cp[coff + 10] = 0xff;
		cp[coff + 11] = 0xff;
		CHECK_EQ_INT(try_copy(cp, len, &c, &e, 0), -EBADMSG);
	}

	/* no key bucket: its name in the root bucket's leaf made "kez" */
	memcpy(cp, db, len);
	{
		struct bbolt_page rp;
		unsigned i;

		CHECK_EQ_INT(bbolt_page_get(b, meta_root, &rp, &e), 0);
		for (i = 0; rp.p && i < rp.count; i++) {
			if (bbolt_leaf_elem(&rp, i, &kv, &e) == 0 &&
			    kv.klen == 3 && memcmp(kv.key, "key", 3) == 0)
				cp[meta_root * ps + (size_t)(kv.key - rp.p) + 2] =
					'z';
		}
		bbolt_page_put(b, &rp);
	}
	res = try_copy(cp, len, &c, &e, 0);
	CHECK_EQ_INT(res, -EBADMSG);
	CHECK_STREQ(e.msg, "bbolt database without etcd's key bucket");

	/* a value that is not a KeyValue: the newest revision of
	 * /registry/configmaps/ns2/empty (the one-but-last write) */
	{
		static const char want[] = "/registry/configmaps/ns2/empty";
		struct etcd_kv v;
		const char *why;
		uint64_t page = 0;
		uint16_t idx = 0;
		bool found = false;

		/* find it: walk the leaves from the last page down */
		for (uint64_t p = bbolt_meta(b)->hwm - 1; p >= 2 && !found;
		     p--) {
			if (bbolt_page_get(b, p, &pg, &e) < 0)
				continue;
			if (pg.flags == BBOLT_LEAF_PAGE) {
				for (unsigned i = 0; i < pg.count; i++) {
					if (bbolt_leaf_elem(&pg, i, &kv, &e) ||
					    mvcc_kv_decode(kv.val, kv.vlen, &v,
							   &why) ||
					    v.key_len != strlen(want) ||
					    memcmp(v.key, want, v.key_len))
						continue;
					page = p;
					idx = (uint16_t)i;
					found = true;
					off = (size_t)(p * ps) +
					      (size_t)(kv.val - pg.p);
				}
			}
			bbolt_page_put(b, &pg);
		}
		CHECK(found);
		(void)page;
		(void)idx;
		memcpy(cp, db, len);
		cp[off] = 0x0f; /* field 1, wire type 7 */
		res = try_copy(cp, len, &c, &e, 0);
		CHECK_EQ_INT(res, 0);
		CHECK_EQ_INT(c.problems, 1);
		CHECK(strstr(c.problem, "not an mvccpb.KeyValue") != NULL);
		/* the key had one revision: it is gone, nothing else */
		CHECK_EQ_INT(c.kvs, base.kvs - 1);
	}

	/* the reader failing: its error, not a crash */
	for (int at = 1; at < 12; at++) {
		struct mem fm = { db, len, 0, at };
		struct etcd_reader fr = mem_reader(&fm);
		struct etcd_snapshot *fs = NULL;

		res = etcd_snapshot_open(&fr, &fs, &e);
		if (res == 0) {
			bbolt_set_cache(mvcc_db(fs), 16384, 8192);
			res = etcd_snapshot_each(fs, count_kv, NULL, &c, &e);
			fs = etcd_snapshot_free(fs);
		}
		CHECK(res == -EIO || res == 0);
	}

	bbolt_bucket_release(&key);
	b = bbolt_free(b);
out:
	free(cp);
	free(db);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s tests/data/etcd\n", argv[0]);
		return 2;
	}
	data_dir = argv[1];
	test_pb();
	test_mvcc_parts();
	check_snapshot("empty", 0, 0);
	check_snapshot("small", 0, 0);
	check_snapshot("basic", 0, 0);
	/* a page cache of 4 chunks of 2 pages: eviction on every step, the
	 * overflow value across chunks */
	check_snapshot("basic", 4 * 8192, 8192);
	check_snapshot("made", 0, 0);
	check_snapshot("made", 4 * 512, 512);
	use_map = true;
	check_snapshot("basic", 0, 0);
	check_snapshot("made", 0, 0);
	use_map = false;
	test_fixture_shape("basic.db", 1);
	test_fixture_shape("made.db", 1);
	test_bbolt_made();
	test_damaged();
	test_empty_first_key();
	return check_status();
}
