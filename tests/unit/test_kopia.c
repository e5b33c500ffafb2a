/* Unit tests of repo/: the kopia parsers over bytes built here (index v2,
 * ids, indirect objects, directories, manifests, decompression) and
 * vrepo_open() on a format blob encrypted here (wrong password, unknown
 * versions). The real repositories Velero writes are in
 * tests/test_volumes.py. */
#include <errno.h>
#include <jansson.h>
#include <lz4frame.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "common/base64.h"
#include "repo/kopia_i.h"
#include "repo/restic_i.h"

static int failures;

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, \
				__LINE__, #c);                                 \
			failures++;                                            \
		}                                                              \
	} while (0)

/* --- index v2 ------------------------------------------------------------ */

struct got {
	char packs[4][64];
	int npacks;
	struct kopia_ientry e[8];
	int n;
};

static int g_pack(void *ud, const char *name, size_t len)
{
	struct got *g = ud;

	snprintf(g->packs[g->npacks++], 64, "%.*s", (int)len, name);
	return 0;
}

static int g_entry(void *ud, const struct kopia_ientry *ie)
{
	struct got *g = ud;

	g->e[g->n++] = *ie;
	return 0;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* An index of 2 entries (key 17 bytes: prefix + 16 hash bytes, entry 17
 * bytes: with a format id), 2 packs and 2 formats. */
static size_t build_index(uint8_t *b)
{
	const size_t key = 17, es = 17, n = 2, np = 2, nf = 2;
	size_t ent = 17, packs = ent + n * (key + es), fmts = packs + np * 5;
	size_t names = fmts + nf * 6, i;

	memset(b, 0, 512);
	b[0] = 2;
	b[1] = (uint8_t)key;
	b[2] = 0;
	b[3] = (uint8_t)es;
	put32(b + 4, (uint32_t)n);
	put32(b + 8, (uint32_t)np);
	b[12] = (uint8_t)nf;
	put32(b + 13, 1700000000);
	for (i = 0; i < n; i++) {
		uint8_t *e = b + ent + i * (key + es), *v = e + key;

		e[0] = i ? 'k' : 0;
		memset(e + 1, 0xA0 + (int)i, 16);
		put32(v, 10 + (uint32_t)i); /* ts */
		put32(v + 4, (i ? 0x80000000u : 0) | 4096 * (uint32_t)i);
		v[8] = 0, v[9] = 0x10, v[10] = (uint8_t)i;   /* orig */
		v[11] = 0, v[12] = 0x11, v[13] = (uint8_t)i; /* packed */
		v[14] = 0, v[15] = (uint8_t)i;		     /* pack */
		v[16] = (uint8_t)i;			     /* format */
	}
	put32(b + packs + 1, (uint32_t)names);
	b[packs] = 5;
	put32(b + packs + 5 + 1, (uint32_t)names + 5);
	b[packs + 5] = 5;
	memcpy(b + names, "pAAAAqBBBB", 10);
	put32(b + fmts, 0);
	b[fmts + 4] = 2;
	put32(b + fmts + 6, 0x1101);
	b[fmts + 6 + 4] = 2;
	return names + 10;
}

static void test_index(void)
{
	uint8_t b[512];
	size_t len = build_index(b), cut;
	struct got g = { 0 };
	struct kopia_index_sink s = { g_pack, g_entry, &g };
	struct verror e;

	CHECK(kopia_index_parse(b, len, &s, &e) == 0);
	CHECK(g.npacks == 2 && !strcmp(g.packs[0], "pAAAA") &&
	      !strcmp(g.packs[1], "qBBBB"));
	CHECK(g.n == 2);
	CHECK(g.e[0].id.prefix == 0 && g.e[0].id.len == 16 &&
	      g.e[0].id.hash[0] == 0xA0);
	CHECK(g.e[0].ts == 1700000010 && !g.e[0].deleted &&
	      g.e[0].pack_off == 0 && g.e[0].orig_len == 0x1000 &&
	      g.e[0].packed_len == 0x1100 && g.e[0].pack == 0 &&
	      g.e[0].comp == 0);
	CHECK(g.e[1].id.prefix == 'k' && g.e[1].deleted &&
	      g.e[1].pack_off == 4096 && g.e[1].orig_len == 0x1001 &&
	      g.e[1].pack == 1 && g.e[1].comp == 0x1101);
	/* every truncation is an error, never a read past the end */
	for (cut = 0; cut < len - 10; cut++) {
		struct got g2 = { 0 };
		struct kopia_index_sink s2 = { g_pack, g_entry, &g2 };

		CHECK(kopia_index_parse(b, cut, &s2, &e) == -EBADMSG);
	}
	b[0] = 3;
	CHECK(kopia_index_parse(b, len, &s, &e) == -EPROTONOSUPPORT);
	b[0] = 2;
	b[17 + 17 + 15] = 7; /* entry 0 names pack 7 */
	g.n = g.npacks = 0;
	CHECK(kopia_index_parse(b, len, &s, &e) == -EBADMSG);
	CHECK(strstr(e.msg, "pack 7"));
}

/* --- ids ---------------------------------------------------------------------
 */

/* An index v1 (format version 1) of 3 entries in 2 packs, named out of
 * order (the entries are sorted by id, not by pack). */
static void test_index_v1(void)
{
	const size_t key = 17, st = 17 + 20, n = 3;
	uint8_t b[256];
	size_t names = 8 + n * st, i, len = names + 10, cut;
	struct got g = { 0 };
	struct kopia_index_sink s = { g_pack, g_entry, &g };
	struct verror e;

	memset(b, 0, sizeof(b));
	b[0] = 1;
	b[1] = (uint8_t)key;
	b[3] = 20;
	put32(b + 4, (uint32_t)n);
	for (i = 0; i < n; i++) {
		uint8_t *en = b + 8 + i * st, *v = en + key;

		en[0] = i == 2 ? 'k' : 0;
		memset(en + 1, 0xB0 + (int)i, 16);
		v[1] = 1; /* 48-bit ts: 2^32 + 5 + i → low 32 bits */
		put32(v + 2, 5 + (uint32_t)i);
		v[6] = 1;
		v[7] = 5;
		put32(v + 8, (uint32_t)(names + (i == 1 ? 0 : 5)));
		put32(v + 12, (i == 2 ? 0x80000000u : 0) | 100 * (uint32_t)i);
		put32(v + 16, 28 + 1000 + (uint32_t)i);
	}
	memcpy(b + names, "pAAAApBBBB", 10);
	CHECK(kopia_index_parse(b, len, &s, &e) == 0);
	CHECK(g.npacks == 2 && !strcmp(g.packs[0], "pAAAA") &&
	      !strcmp(g.packs[1], "pBBBB"));
	CHECK(g.n == 3);
	CHECK(g.e[0].pack == 1 && g.e[1].pack == 0 && g.e[2].pack == 1);
	CHECK(g.e[0].ts == 5 && g.e[2].ts == 7 && !g.e[0].deleted &&
	      g.e[2].deleted && g.e[2].id.prefix == 'k');
	CHECK(g.e[1].pack_off == 100 && g.e[1].packed_len == 1029 &&
	      g.e[1].orig_len == 1001 && g.e[1].comp == 0);
	for (cut = 0; cut < names; cut++) {
		struct got g2 = { 0 };
		struct kopia_index_sink s2 = { g_pack, g_entry, &g2 };

		CHECK(kopia_index_parse(b, cut, &s2, &e) == -EBADMSG);
	}
	/* a pack name past the end */
	put32(b + 8 + key + 8, 250);
	CHECK(kopia_index_parse(b, len, &s, &e) == -EBADMSG);
	/* no entries (fuzz_kopia's regress-index-v1-empty: qsort of NULL) */
	put32(b + 4, 0);
	g.n = g.npacks = 0;
	CHECK(kopia_index_parse(b, 8, &s, &e) == 0 && g.n == 0 &&
	      g.npacks == 0);
}

static void test_ids(void)
{
	struct kopia_cid c;
	struct kopia_oid o;

	CHECK(kopia_cid_parse("k0a1b", 5, &c) == 0 && c.prefix == 'k' &&
	      c.len == 2 && c.hash[0] == 0x0a && c.hash[1] == 0x1b);
	CHECK(kopia_cid_parse("0a1b", 4, &c) == 0 && c.prefix == 0);
	CHECK(kopia_cid_parse("a0a1b", 5, &c) == -EINVAL);
	CHECK(kopia_cid_parse("0A1B", 4, &c) == -EINVAL);
	CHECK(kopia_cid_parse("k", 1, &c) == -EINVAL);
	CHECK(kopia_oid_parse("IIx00ff", &o) == 0 && o.indirect == 2 &&
	      o.cid.prefix == 'x');
	CHECK(kopia_oid_parse("Z00ff", &o) == 0 && o.compressed && !o.indirect);
	CHECK(kopia_oid_parse("IZ00ff", &o) == -EINVAL);
	CHECK(kopia_oid_parse("", &o) == -EINVAL);
}

/* --- indirect, directories, manifests
 * ------------------------------------------ */

static void test_indirect(void)
{
	const char *ok = "{\"stream\":\"kopia:indirect\",\"entries\":["
			 "{\"l\":10,\"o\":\"00ff\"},"
			 "{\"s\":10,\"l\":5,\"o\":\"Z01ff\"}]}";
	const char *gap = "{\"stream\":\"kopia:indirect\",\"entries\":["
			  "{\"l\":10,\"o\":\"00ff\"},"
			  "{\"s\":11,\"l\":5,\"o\":\"01ff\"}]}";
	struct kopia_chunk *ch = NULL;
	size_t n = 0;
	struct verror e;

	CHECK(kopia_indirect_parse(ok, strlen(ok), &ch, &n, &e) == 0);
	CHECK(n == 2 && ch[0].start == 0 && ch[1].start == 10 &&
	      ch[1].len == 5 && !strcmp(ch[1].oid, "Z01ff"));
	free(ch);
	CHECK(kopia_indirect_parse(gap, strlen(gap), &ch, &n, &e) == -EBADMSG);
	CHECK(kopia_indirect_parse("[]", 2, &ch, &n, &e) == -EBADMSG);
}

static void test_dir(void)
{
	const char *j = "{\"stream\":\"kopia:directory\",\"entries\":["
			"{\"name\":\"b\",\"type\":\"f\",\"mode\":\"0644\","
			"\"mtime\":"
			"\"2020-09-13T12:26:40.123456789Z\",\"uid\":1000,"
			"\"gid\":100,"
			"\"obj\":\"00ff\",\"size\":2},"
			"{\"name\":\"a\",\"type\":\"d\",\"mode\":\"020000755\","
			"\"mtime\":\"2021-01-01T00:00:00Z\",\"obj\":\"k00ff\"},"
			"{\"name\":\"s\",\"type\":\"s\",\"mode\":\"0777\","
			"\"obj\":"
			"\"01ff\"},"
			"{\"name\":\"..\",\"type\":\"f\",\"obj\":\"00ff\"},"
			"{\"name\":\"x/y\",\"type\":\"f\",\"obj\":\"00ff\"},"
			"{\"name\":\"e\",\"type\":\"f\"},"
			"{\"name\":\"dev\",\"type\":\"c\",\"obj\":\"00ff\"},"
			"{\"name\":\"b\",\"type\":\"f\",\"obj\":\"02ff\"}],"
			"\"summary\":null}";
	struct ventry *v = NULL;
	size_t n = 0, i;
	struct verror e;

	CHECK(kopia_dir_parse(j, strlen(j), &v, &n, &e) == 0);
	CHECK(n == 4);
	if (n == 4) {
		CHECK(!strcmp(v[0].name, "a") && S_ISDIR(v[0].mode) &&
		      (v[0].mode & 07777) == (S_ISGID | 0755));
		CHECK(!strcmp(v[1].name, "b") && S_ISREG(v[1].mode) &&
		      (v[1].mode & 07777) == 0644 && v[1].size == 2 &&
		      v[1].uid == 1000 && v[1].gid == 100 &&
		      v[1].mtime_ns == 1600000000123456789LL &&
		      !strcmp(v[1].obj, "00ff"));
		CHECK(!strcmp(v[2].name, "e") && v[2].size == 0 &&
		      !v[2].obj[0]);
		CHECK(!strcmp(v[3].name, "s") && S_ISLNK(v[3].mode));
	}
	for (i = 0; i < n; i++)
		ventry_release(&v[i]);
	free(v);
	CHECK(kopia_dir_parse("{\"stream\":\"kopia:directory\",\"entries\":"
			      "null}",
			      43, &v, &n, &e) == 0 &&
	      n == 0);
	free(v);
	CHECK(kopia_dir_parse("{\"stream\":\"kopia:indirect\",\"entries\":[]}",
			      40, &v, &n, &e) == -EBADMSG);
}

/* A block-mode PVC's snapshot root (Velero's block backup): its one file,
 * named after the device's path, is shown as VREPO_BLOCK_NAME; a name with
 * a '/' anywhere else is still not shown. */
static void test_dir_block(void)
{
	static const struct {
		const char *entries;
		const char *name; /* NULL: nothing shown */
	} cases[] = {
		{ "{\"name\":\"/9c1f6f1e-0000-4000-8000-0000000000d0\","
		  "\"type\":\"f\",\"mode\":\"0644\",\"size\":5,"
		  "\"obj\":\"00ff\"}",
		  VREPO_BLOCK_NAME },
		{ "{\"name\":\"/dev/loop7\",\"type\":\"f\",\"size\":0}",
		  VREPO_BLOCK_NAME },
		/* a directory, a symlink, a relative path, two entries */
		{ "{\"name\":\"/dev\",\"type\":\"d\",\"obj\":\"k00ff\"}",
		  NULL },
		{ "{\"name\":\"/l\",\"type\":\"s\",\"obj\":\"00ff\"}", NULL },
		{ "{\"name\":\"dev/loop7\",\"type\":\"f\",\"obj\":\"00ff\"}",
		  NULL },
		{ "{\"name\":\"/a\",\"type\":\"f\",\"obj\":\"00ff\"},"
		  "{\"name\":\"/b\",\"type\":\"f\",\"obj\":\"00ff\"}",
		  NULL },
	};
	size_t c;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		char j[512];
		struct ventry *v = NULL;
		size_t n = 0, i;
		struct verror e;

		snprintf(j, sizeof(j),
			 "{\"stream\":\"kopia:directory\",\"entries\":[%s]}",
			 cases[c].entries);
		CHECK(kopia_dir_parse(j, strlen(j), &v, &n, &e) == 0);
		CHECK(n == (cases[c].name ? 1 : 0));
		if (n == 1 && cases[c].name)
			CHECK(!strcmp(v[0].name, cases[c].name) &&
			      S_ISREG(v[0].mode));
		for (i = 0; i < n; i++)
			ventry_release(&v[i]);
		free(v);
	}
}

static void test_manifest(void)
{
	const char *j = "{\"entries\":["
			"{\"id\":\"aa\",\"labels\":{\"type\":\"snapshot\"},"
			"\"modified\":\"2026-01-01T00:00:00Z\",\"data\":{"
			"\"rootEntry\":"
			"{\"name\":\"src\",\"type\":\"d\",\"mode\":\"0755\","
			"\"obj\":"
			"\"k00ff\"}}},"
			"{\"id\":\"bb\",\"modified\":\"2026-01-01T00:00:00Z\","
			"\"data\":"
			"{\"rootEntry\":{\"type\":\"d\",\"obj\":\"k01ff\"}}},"
			"{\"id\":\"bb\",\"modified\":\"2026-01-02T00:00:00Z\","
			"\"deleted\":true},"
			/* a block-mode PVC's root: named after the device */
			"{\"id\":\"dd\",\"data\":{\"rootEntry\":{\"name\":"
			"\"/9c1f6f1e-0000-4000-8000-0000000000d0\","
			"\"type\":\"d\",\"obj\":\"k02ff\"}}},"
			"{\"id\":\"ee\",\"data\":{\"rootEntry\":7}}]}";
	struct ventry root = { 0 };
	bool found, deleted;
	int64_t mod = 0;
	struct verror e;

	CHECK(kopia_manifest_find(j, strlen(j), "aa", &found, &mod, &deleted,
				  &root, &e) == 0);
	CHECK(found && !deleted && !strcmp(root.obj, "k00ff") &&
	      S_ISDIR(root.mode));
	ventry_release(&root);
	CHECK(kopia_manifest_find(j, strlen(j), "bb", &found, &mod, &deleted,
				  &root, &e) == 0);
	CHECK(found && deleted);
	ventry_release(&root);
	CHECK(kopia_manifest_find(j, strlen(j), "cc", &found, &mod, &deleted,
				  &root, &e) == 0 &&
	      !found);
	CHECK(kopia_manifest_find(j, strlen(j), "dd", &found, &mod, &deleted,
				  &root, &e) == 0);
	CHECK(found && !deleted && !strcmp(root.obj, "k02ff") &&
	      S_ISDIR(root.mode));
	ventry_release(&root);
	CHECK(kopia_manifest_find(j, strlen(j), "ee", &found, &mod, &deleted,
				  &root, &e) == -EBADMSG);
	ventry_release(&root);
	CHECK(kopia_manifest_find("[1]", 3, "aa", &found, &mod, &deleted, &root,
				  &e) == -EBADMSG);
}

/* --- decompression -----------------------------------------------------------
 */

static void test_decompress(void)
{
	static char in[200000], z[300000];
	struct sbuf out;
	struct verror e;
	size_t i, zl;
	z_stream zs = { 0 };

	for (i = 0; i < sizeof(in); i++)
		in[i] = (char)("kopia"[i % 5] + (i / 1000) % 7);
	/* zstd */
	zl = ZSTD_compress(z, sizeof(z), in, sizeof(in), 1);
	CHECK(!ZSTD_isError(zl));
	sbuf_init(&out, 1 << 20);
	CHECK(kopia_decompress(0x1101, z, zl, &out, &e) == 0);
	CHECK(out.len == sizeof(in) && !memcmp(out.buf, in, sizeof(in)));
	sbuf_reset(&out);
	CHECK(kopia_decompress(0x1101, z, zl / 2, &out, &e) == -EBADMSG);
	CHECK(out.len == 0);
	sbuf_release(&out);
	sbuf_init(&out, 1000); /* the cap: a decompression bomb stops */
	CHECK(kopia_decompress(0x1101, z, zl, &out, &e) == -EBADMSG);
	sbuf_release(&out);
	/* gzip and raw deflate */
	for (i = 0; i < 2; i++) {
		int wbits = i ? -15 : 15 + 16;

		memset(&zs, 0, sizeof(zs));
		CHECK(deflateInit2(&zs, 6, Z_DEFLATED, wbits, 8,
				   Z_DEFAULT_STRATEGY) == Z_OK);
		zs.next_in = (Bytef *)in;
		zs.avail_in = sizeof(in);
		zs.next_out = (Bytef *)z;
		zs.avail_out = sizeof(z);
		CHECK(deflate(&zs, Z_FINISH) == Z_STREAM_END);
		zl = sizeof(z) - zs.avail_out;
		deflateEnd(&zs);
		sbuf_init(&out, 1 << 20);
		CHECK(kopia_decompress(i ? 0x1500 : 0x1000, z, zl, &out, &e) ==
		      0);
		CHECK(out.len == sizeof(in) &&
		      !memcmp(out.buf, in, sizeof(in)));
		sbuf_reset(&out);
		CHECK(kopia_decompress(i ? 0x1500 : 0x1300, z, zl - 10, &out,
				       &e) == -EBADMSG);
		sbuf_release(&out);
	}
	/* lz4 frame */
	zl = LZ4F_compressFrame(z, sizeof(z), in, sizeof(in), NULL);
	CHECK(!LZ4F_isError(zl));
	sbuf_init(&out, 1 << 20);
	CHECK(kopia_decompress(0x1400, z, zl, &out, &e) == 0);
	CHECK(out.len == sizeof(in) && !memcmp(out.buf, in, sizeof(in)));
	sbuf_reset(&out);
	CHECK(kopia_decompress(0x1200, z, zl, &out, &e) == -EBADMSG);
	CHECK(strstr(e.msg, "s2"));
	CHECK(kopia_decompress(0x9999, z, zl, &out, &e) == -EPROTONOSUPPORT);
	sbuf_release(&out);
}

/* An S2 stream made by hand: every element kind of the block format
 * (literal, copies with 1-, 2- and 4-byte offsets, S2's repeat copies with
 * a short and an extended length), an uncompressed chunk, padding and a
 * skippable chunk. The CRCs are Snappy's masked CRC-32C (computed apart). */
static const unsigned char s2_block[] = {
	0x2a,			    /* decoded length 42 */
	0x0c, 'a',  'b',  'c', 'd', /* literal "abcd" */
	0x11, 0x04,		    /* copy1: 8 at 4 */
	0x01, 0x00,		    /* repeat: 4 at 4 */
	0x08, 'x',  'y',  'z',	    /* literal "xyz" */
	0x16, 0x03, 0x00,	    /* copy2: 6 at 3 */
	0x1f, 25,   0,	  0,   0,   /* copy4: 8 at 25 */
	0x15, 0x00, 0x01,	    /* repeat: 1+8 at 25 */
};
static const char s2_plain[] = "abcdabcdabcdabcdxyzxyzxyzabcdabcd"
			       "abcdabcdx"
			       "tail";

static size_t s2_stream(unsigned char *b, uint32_t crc1)
{
	size_t n = 0;

	memcpy(b, "\xff\x06\x00\x00S2sTwO", 10);
	n = 10;
	b[n++] = 0x00;
	b[n++] = (unsigned char)(4 + sizeof(s2_block));
	b[n++] = 0;
	b[n++] = 0;
	for (int k = 0; k < 4; k++) /* little-endian */
		b[n + k] = (unsigned char)(crc1 >> (8 * k));
	n += 4;
	memcpy(b + n, s2_block, sizeof(s2_block));
	n += sizeof(s2_block);
	memcpy(b + n, "\x01\x08\x00\x00\xb2\xf9\xdc\x39tail", 12);
	n += 12;
	memcpy(b + n, "\xfe\x02\x00\x00\x00\x00\x99\x01\x00\x00z", 11);
	return n + 11;
}

static void test_s2(void)
{
	unsigned char b[128], big[64];
	struct sbuf out;
	struct verror e;
	size_t n = s2_stream(b, 0x5a8374fb), i, dl;

	sbuf_init(&out, 1 << 20);
	CHECK(kopia_decompress(0x1200, b, n, &out, &e) == 0 ||
	      !fprintf(stderr, "s2: %s\n", e.msg));
	CHECK(out.len == strlen(s2_plain) &&
	      !memcmp(out.buf, s2_plain, out.len));
	/* snappy's identifier is accepted too, as s2's reader does */
	memcpy(b + 4, "sNaPpY", 6);
	sbuf_reset(&out);
	CHECK(kopia_decompress(0x1203, b, n, &out, &e) == 0);
	/* every truncation but at a chunk's end fails cleanly */
	for (i = 0; i < n - 11; i++) {
		bool end = i == 0 || i == 10 || i == 14 + 4 + sizeof(s2_block);

		sbuf_reset(&out);
		CHECK(kopia_decompress(0x1200, b, i, &out, &e) ==
		      (end ? 0 : -EBADMSG));
		CHECK(end || out.len == 0);
	}
	/* a wrong checksum */
	n = s2_stream(b, 0x5a8374fa);
	sbuf_reset(&out);
	CHECK(kopia_decompress(0x1200, b, n, &out, &e) == -EBADMSG);
	CHECK(strstr(e.msg, "checksum") && out.len == 0);
	/* a reserved unskippable chunk */
	n = s2_stream(b, 0x5a8374fb);
	b[n - 4] = 0x02;
	sbuf_reset(&out);
	CHECK(kopia_decompress(0x1200, b, n, &out, &e) == -EBADMSG);
	/* the cap stops a bomb */
	sbuf_release(&out);
	sbuf_init(&out, 20);
	n = s2_stream(b, 0x5a8374fb);
	CHECK(kopia_decompress(0x1200, b, n, &out, &e) == -EBADMSG);
	sbuf_release(&out);
	/* blocks: an offset before the start, a length past the end, an
	 * overlapping copy (run length) */
	CHECK(s2_block_decode("\x05\x00"
			      "a\x05\x02",
			      5, big, sizeof(big), &dl) == -EBADMSG);
	CHECK(s2_block_decode("\x05\x00"
			      "a\x05\x01",
			      5, big, sizeof(big), &dl) == -EBADMSG);
	CHECK(s2_block_decode("\x06\x00"
			      "a\x05\x01",
			      5, big, sizeof(big), &dl) == 0 &&
	      dl == 6 && !memcmp(big, "aaaaaa", 6));
	CHECK(s2_block_decode("\x06\x00"
			      "a\x05\x01",
			      5, big, 5, &dl) == -EBADMSG);
	CHECK(s2_block_decode("\xff\xff\xff\xff\xff\x01", 6, big, sizeof(big),
			      &dl) == -EBADMSG);
}

/* A stored content with kopia's REED-SOLOMON-CRC32 (10% overhead) made by
 * hand: "hello" with its length prefix in 6 data shards of 2 bytes after 2
 * parity shards (not real parity: the rebuild from real parity is tested
 * on repositories kopia wrote, tests/test_volumes_formats.py), each shard
 * behind its big-endian CRC-32. */
static void test_ecc(void)
{
	unsigned char plain[12] = { 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o' };
	unsigned char b[48], out[48];
	size_t i, at = 0;

	for (i = 0; i < 8; i++) {
		const unsigned char *sh = i < 2 ? (const unsigned char *)"PP" :
						  plain + 2 * (i - 2);
		uLong c = crc32(0L, sh, 2);

		put32(b + at, (uint32_t)c);
		memcpy(b + at + 4, sh, 2);
		at += 6;
	}
	CHECK(kopia_ecc_decode(10, b, sizeof(b), out) == 5 &&
	      !memcmp(out, "hello", 5));
	b[5] ^= 1; /* the parity shards: not needed while the data is intact */
	b[11] ^= 1;
	CHECK(kopia_ecc_decode(10, b, sizeof(b), out) == 5);
	b[12 + 5] ^= 1; /* and a data shard: 3 erasures, 2 parity shards */
	CHECK(kopia_ecc_decode(10, b, sizeof(b), out) == -EIO);
	b[12 + 5] ^= 1;
	/* a truncation fails, or gives the same bytes when only the zero
	 * padding of the last shard was cut (kopia reads it the same) */
	for (i = 0; i < sizeof(b); i++) {
		ssize_t r = kopia_ecc_decode(10, b, i, out);

		CHECK(r < 0 || (r == 5 && !memcmp(out, "hello", 5)));
	}
	CHECK(kopia_ecc_decode(0, b, sizeof(b), out) == -EINVAL);
}

/* BLAKE3's official test vectors (test_vectors/test_vectors.json of the
 * reference implementation: input bytes i % 251, the first 32 bytes of the
 * keyed_hash and derive_key outputs). */
static void test_blake3(void)
{
	static const struct {
		size_t len;
		const char *keyed, *derive;
	} v[] = {
		{ 0,
		  "92b2b75604ed3c761f9d6f62392c8a9227ad0ea3f09573e783f1498a4ed6"
		  "0d26",
		  "2cc39783c223154fea8dfb7c1b1660f2ac2dcbd1c1de8277b0b0dd39b7e5"
		  "0d7d" },
		{ 1,
		  "6d7878dfff2f485635d39013278ae14f1454b8c0a3a2d34bc1ab38228a80"
		  "c95b",
		  "b3e2e340a117a499c6cf2398a19ee0d29cca2bb7404c73063382693bf66c"
		  "b06c" },
		{ 1023,
		  "c951ecdf03288d0fcc96ee3413563d8a6d3589547f2c2fb36d9786470f1b"
		  "9d6e",
		  "74a16c1c3d44368a86e1ca6df64be6a2f64cce8f09220787450722d85725"
		  "dea5" },
		{ 1024,
		  "75c46f6f3d9eb4f55ecaaee480db732e6c2105546f1e675003687c31719c"
		  "7ba4",
		  "7356cd7720d5b66b6d0697eb3177d9f8d73a4a5c5e968896eb6a68968430"
		  "2706" },
		{ 1025,
		  "357dc55de0c7e382c900fd6e320acc04146be01db6a8ce7210b7189bd664"
		  "ea69",
		  "effaa245f065fbf82ac186839a249707c3bddf6d3fdda22d1b95a3c97037"
		  "9bcb" },
		{ 2049,
		  "9f29700902f7c86e514ddc4df1e3049f258b2472b6dd5267f61bf13983b7"
		  "8dd5",
		  "2ea477c5515cc3dd606512ee72bb3e0e758cfae7232826f35fb98ca1bcbd"
		  "f273" },
		{ 3073,
		  "68dede9bef00ba89e43f31a6825f4cf433389fedae75c04ee9f0cf16a427"
		  "c95a",
		  "72613c9ec9ff7e40f8f5c173784c532ad852e827dba2bf85b2ab4b76f707"
		  "9081" },
		{ 4096,
		  "befc660aea2f1718884cd8deb9902811d332f4fc4a38cf7c7300d597a081"
		  "bfc0",
		  "1e0d7f3db8c414c97c6307cbda6cd27ac3b030949da8e23be1a1a924ad2f"
		  "25b9" },
		{ 7169,
		  "ed9b1a922c046fdb3d423ae34e143b05ca1bf28b710432857bf738bcedbf"
		  "a511",
		  "554b0a5efea9ef183f2f9b931b7497995d9eb26f5c5c6dad2b97d62fc5ac"
		  "31d9" },
		{ 8193,
		  "954a2a75420c8d6547e3ba5b98d963e6fa6491addc8c023189cc519821b4"
		  "a1f5",
		  "af1e0346e389b17c23200270a64aa4e1ead98c61695d917de7d5b00491c9"
		  "b0f1" },
		{ 31744,
		  "efa53b389ab67c593dba624d898d0f7353ab99e4ac9d42302ee64cbf9939"
		  "a419",
		  "39772aef80e0ebe60596361e45b061e8f417429d529171b6764468c22928"
		  "e28e" },
		{ 102400,
		  "1c35d1a5811083fd7119f5d5d1ba027b4d01c0c6c49fb6ff2cf75393ea5d"
		  "b4a7",
		  "4652cff7a3f385a6103b5c260fc1593e13c778dbe608efb092fe7ee69df6"
		  "e9c6" },
	};
	static unsigned char in[102400];
	unsigned char out[32];
	char hex[65];
	size_t i, k;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i % 251);
	for (i = 0; i < ARRAY_SIZE(v); i++) {
		blake3_keyed((const unsigned char *)"whats the Elvish word for "
						    "friend",
			     in, v[i].len, out);
		for (k = 0; k < 32; k++)
			sprintf(hex + 2 * k, "%02x", out[k]);
		CHECK(!strcmp(hex, v[i].keyed));
		blake3_derive_key("BLAKE3 2019-12-27 16:29:52 test vectors "
				  "context",
				  in, v[i].len, out);
		for (k = 0; k < 32; k++)
			sprintf(hex + 2 * k, "%02x", out[k]);
		CHECK(!strcmp(hex, v[i].derive));
	}
}

/* --- vrepo_open on a format blob made here
 * --------------------------------------- */

static void hkdf(const void *key, size_t kl, const void *salt, size_t sl,
		 const char *info, unsigned char *out)
{
	EVP_PKEY_CTX *p = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	size_t ol = 32;

	EVP_PKEY_derive_init(p);
	EVP_PKEY_CTX_set_hkdf_md(p, EVP_sha256());
	EVP_PKEY_CTX_set1_hkdf_salt(p, salt, (int)sl);
	EVP_PKEY_CTX_set1_hkdf_key(p, key, (int)kl);
	EVP_PKEY_CTX_add1_hkdf_info(p, (const unsigned char *)info,
				    (int)strlen(info));
	EVP_PKEY_derive(p, out, &ol);
	EVP_PKEY_CTX_free(p);
}

/* Writes DIR/kopia/t/kopia.repository for password pw and the decrypted
 * configuration cfg, as kopia's format blob is made. */
static void write_format(const char *dir, const char *pw, const char *cfg,
			 const char *keyalgo)
{
	unsigned char uid[32], mk[32], ak[32], aad[32], ct[4096];
	char b64u[64], *b64c, path[4096];
	int n, m;
	size_t cl = strlen(cfg);
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	FILE *f;

	static unsigned char mk_pw[32]; /* derived once: slow under valgrind */
	static bool have_mk;

	memset(uid, 7, sizeof(uid));
	if (!have_mk || strcmp(pw, "pw")) {
		PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), uid, sizeof(uid), 600000,
				  EVP_sha256(), 32, mk_pw);
		have_mk = !strcmp(pw, "pw");
	}
	memcpy(mk, mk_pw, sizeof(mk));
	hkdf(mk, 32, uid, sizeof(uid), "AES", ak);
	hkdf(mk, 32, uid, sizeof(uid), "CHECKSUM", aad);
	memset(ct, 9, 12); /* nonce */
	EVP_EncryptInit_ex(x, EVP_aes_256_gcm(), NULL, ak, ct);
	EVP_EncryptUpdate(x, NULL, &n, aad, 32);
	EVP_EncryptUpdate(x, ct + 12, &n, (const unsigned char *)cfg, (int)cl);
	EVP_EncryptFinal_ex(x, ct + 12 + n, &m);
	EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, 16, ct + 12 + cl);
	EVP_CIPHER_CTX_free(x);
	base64_encode(uid, sizeof(uid), b64u);
	b64c = malloc(BASE64_LEN(12 + cl + 16) + 1);
	base64_encode(ct, 12 + cl + 16, b64c);
	snprintf(path, sizeof(path), "%s/kopia/t/kopia.repository", dir);
	f = fopen(path, "w");
	fprintf(f,
		"{\"tool\":\"https://github.com/kopia/kopia\",\"uniqueID\":"
		"\"%s\",\"keyAlgo\":\"%s\",\"encryption\":\"AES256_GCM\","
		"\"encryptedBlockFormat\":\"%s\"}",
		b64u, keyalgo, b64c);
	fclose(f);
	free(b64c);
}

static void test_open(void)
{
	char dir[] = "/tmp/test_kopia.XXXXXX", sub[4200], cmd[4300];
	const char *good = "{\"format\":{\"hash\":\"BLAKE2B-256-128\","
			   "\"encryption\":\"AES256-GCM-HMAC-SHA256\","
			   "\"secret\":"
			   "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\","
			   "\"masterKey\":"
			   "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\","
			   "\"version\":%d,\"indexVersion\":2}}";
	char cfg[1024];
	struct vault *v = NULL;
	struct vrepo *r = NULL;
	struct verror e;

	if (!mkdtemp(dir))
		abort();
	snprintf(sub, sizeof(sub), "%s/kopia/t", dir);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", sub);
	CHECK(system(cmd) == 0);
	CHECK(vault_open(dir, NULL, &v, &e) == 0);
	CHECK(vrepo_open(v, NULL, VREPO_KOPIA, "kopia/t/", NULL, &r, &e) ==
	      -ENOENT);
	CHECK(strstr(e.msg, "no kopia repository at kopia/t/"));
	snprintf(cfg, sizeof(cfg), good, 3);
	write_format(dir, "pw", cfg, "pbkdf2-sha256-600000");
	CHECK(vrepo_open(v, NULL, VREPO_KOPIA, "kopia/t/", "nope", &r, &e) ==
	      -EACCES);
	CHECK(strstr(e.msg, "wrong repository password"));
	/* the right password: the format opens; no index blobs */
	CHECK(vrepo_open(v, NULL, VREPO_KOPIA, "kopia/t/", "pw", &r, &e) ==
	      -ENOENT);
	CHECK(strstr(e.msg, "without index blobs"));
	snprintf(cfg, sizeof(cfg), good, 9);
	write_format(dir, "pw", cfg, "pbkdf2-sha256-600000");
	CHECK(vrepo_open(v, NULL, VREPO_KOPIA, "kopia/t/", "pw", &r, &e) ==
	      -EPROTONOSUPPORT);
	CHECK(strstr(e.msg, "format version 9"));
	write_format(dir, "pw", cfg, "argon2-something");
	CHECK(vrepo_open(v, NULL, VREPO_KOPIA, "kopia/t/", "pw", &r, &e) ==
	      -EPROTONOSUPPORT);
	CHECK(strstr(e.msg, "argon2-something"));
	/* no restic repository there (restic.c) */
	CHECK(vrepo_open(v, NULL, VREPO_RESTIC, "restic/t/", "pw", &r, &e) ==
	      -ENOENT);
	CHECK(r == NULL);
	vault_free(v);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* restic tree nodes: hard links (links > 1 with an inode) and the ones
 * that are not (links 1, no inode, a directory's links). */
static void test_restic_links(void)
{
	static const char tree[] =
		"{\"nodes\":["
		"{\"name\":\"a\",\"type\":\"file\",\"mode\":420,\"size\":3,"
		"\"links\":2,\"inode\":77,\"device_id\":9,\"content\":[]},"
		"{\"name\":\"b\",\"type\":\"file\",\"mode\":420,\"links\":1,"
		"\"inode\":78,\"device_id\":9},"
		"{\"name\":\"c\",\"type\":\"file\",\"mode\":420,\"links\":3},"
		"{\"name\":\"d\",\"type\":\"dir\",\"mode\":2147484141,"
		"\"links\":4,\"inode\":79,\"subtree\":\"" ID64 "\"}]}";
	struct restic_node *n = NULL;
	struct verror e = { { 0 } };
	size_t nn = 0, i;

	CHECK(restic_tree_parse(tree, sizeof(tree) - 1, &n, &nn, &e) == 0);
	CHECK(nn == 4);
	if (nn == 4) {
		CHECK(n[0].ent.nlink == 2 && n[0].ent.ino == 77 &&
		      n[0].ent.dev == 9);
		CHECK(n[1].ent.nlink == 0 && n[1].ent.ino == 0);
		CHECK(n[2].ent.nlink == 0); /* no inode: can't be told */
		CHECK(S_ISDIR(n[3].ent.mode) && n[3].ent.nlink == 0);
	}
	for (i = 0; i < nn; i++)
		restic_node_release(&n[i]);
	free(n);
}

int main(void)
{
	test_index();
	test_index_v1();
	test_ids();
	test_indirect();
	test_dir();
	test_dir_block();
	test_manifest();
	test_decompress();
	test_s2();
	test_blake3();
	test_ecc();
	test_open();
	test_restic_links();
	if (failures)
		fprintf(stderr, "%d failures\n", failures);
	return failures ? 1 : 0;
}
