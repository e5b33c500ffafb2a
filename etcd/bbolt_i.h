/* bbolt: a bbolt (go.etcd.io/bbolt, file format version 2) database read
 * through an etcd_reader, read-only. Private to etcd/ and its tests.
 *
 * What it reads: both meta pages (magic, version, FNV-64a checksum; the
 * valid one with the higher txid wins, as bbolt's DB.meta()), branch and
 * leaf pages, overflow pages, nested and inline buckets. What it does not:
 * the freelist, writing, bbolt's big-endian variant (every bbolt file in
 * the wild comes from a little-endian machine).
 *
 * Pages are read in chunks (BBOLT_CHUNK bytes, aligned) kept in a cache
 * with a memory budget and least-recently-used eviction; a page that a
 * caller holds (struct bbolt_page) pins its chunk. Nothing from the file
 * is trusted: page ids are checked against the high-water mark, element
 * offsets and lengths against the page, a walk that meets more pages than
 * the file has (a cycle) stops with -EBADMSG. One thread at a time. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "etcd/etcd.h"

#define BBOLT_MAGIC 0xED0CDAEDu
#define BBOLT_VERSION 2u
#define BBOLT_PAGE_HEADER 16u
#define BBOLT_ELEM 16u		/* branch and leaf elements are 16 bytes */
#define BBOLT_BUCKET_HEADER 16u /* root pgid + sequence */
#define BBOLT_META_CHECKED 56u	/* the bytes the meta checksum covers */

#define BBOLT_BRANCH_PAGE 0x01
#define BBOLT_LEAF_PAGE 0x02
#define BBOLT_META_PAGE 0x04
#define BBOLT_FREELIST_PAGE 0x10
#define BBOLT_BUCKET_LEAF 0x01 /* a leaf element whose value is a bucket */

#define BBOLT_CHUNK ((size_t)1 << 20)
#define BBOLT_CACHE_DEFAULT ((size_t)512 << 20)
#define BBOLT_MAX_DEPTH 32

struct bbolt_meta {
	uint32_t page_size, flags;
	uint64_t root, sequence; /* the root bucket */
	uint64_t freelist, hwm, txid, checksum;
	int index; /* which meta page: 0 or 1 */
};

struct bbolt;

/* Opens the database: checks the meta pages (and, with page 0 damaged,
 * looks for page 1 where bbolt does: at 1 KiB << i), checks that the file
 * holds every page below the high-water mark. -EINVAL "not a bbolt
 * database", -EBADMSG (a damaged or truncated file), -ENOMEM, or the
 * reader's error. The reader is copied; its ud must outlive the db. */
int bbolt_open(const struct etcd_reader *r, struct bbolt **out,
	       struct verror *e);
struct bbolt *bbolt_free(struct bbolt *db);
const struct bbolt_meta *bbolt_meta(const struct bbolt *db);
/* Memory the page cache may hold (at least four chunks are kept), and
 * with chunk non-zero the chunk size (rounded up to whole pages; only
 * while no page is held: -EBUSY). */
int bbolt_set_cache(struct bbolt *db, size_t bytes, size_t chunk);
/* The reader's size; the reader itself. */
uint64_t bbolt_file_size(const struct bbolt *db);
const struct etcd_reader *bbolt_reader(const struct bbolt *db);
/* Bytes the reader was asked for so far (tests, bench). */
uint64_t bbolt_bytes_read(const struct bbolt *db);

/* Checks the layout of a meta page's bytes (64 at least): 0, or -EINVAL
 * with why (magic, version, checksum). */
int bbolt_meta_parse(const uint8_t *p, size_t len, struct bbolt_meta *m,
		     const char **why);

/* A bucket: a root page, or an inline page (root 0) copied out of its
 * parent. Caller storage; release with bbolt_bucket_release(). */
struct bbolt_bucket {
	uint64_t root;
	uint8_t *inline_page; /* owned; NULL unless inline */
	size_t inline_len;
};
/* The top-level bucket (the meta page's root). */
void bbolt_root(const struct bbolt *db, struct bbolt_bucket *b);
void bbolt_bucket_release(struct bbolt_bucket *b);
/* Opens the bucket named name inside parent: 1, 0 when there is no such
 * key, -ENOTDIR when the key holds a value, not a bucket, -EBADMSG. */
int bbolt_bucket_open(struct bbolt *db, const struct bbolt_bucket *parent,
		      const void *name, size_t len, struct bbolt_bucket *out,
		      struct verror *e);

/* A page held by a caller: bytes valid until bbolt_page_put(). */
struct bbolt_page {
	const uint8_t *p;
	size_t len; /* (1 + overflow) * page size, or the inline page's */
	uint64_t id;
	uint16_t flags, count;
	void *chunk;  /* the pinned chunk, or NULL */
	uint8_t *own; /* an owned copy (a page across chunks), or NULL */
};

/* One key/value of a leaf page. */
struct bbolt_kv {
	const uint8_t *key, *val;
	size_t klen, vlen;
	uint32_t flags; /* BBOLT_BUCKET_LEAF: val is a bucket header */
	uint64_t page;	/* where: page id (0: the bucket's inline page) */
	uint16_t idx;	/* and index of the element */
};

/* Reads page id (checked: below the high-water mark, not a meta page, its
 * header names it, type branch or leaf). */
int bbolt_page_get(struct bbolt *db, uint64_t id, struct bbolt_page *pg,
		   struct verror *e);
void bbolt_page_put(struct bbolt *db, struct bbolt_page *pg);

/* Element idx of a leaf page, checked against the page's bounds. */
int bbolt_leaf_elem(const struct bbolt_page *pg, unsigned idx,
		    struct bbolt_kv *kv, struct verror *e);

/* Calls fn for every key of bucket b in the order of the pages (key order
 * in a sound file), nested buckets as one key with BBOLT_BUCKET_LEAF (not
 * entered). Bytes are borrowed for the call. fn returns < 0 to stop with
 * that value. */
typedef int bbolt_kv_fn(void *ud, const struct bbolt_kv *kv);
int bbolt_foreach(struct bbolt *db, const struct bbolt_bucket *b,
		  bbolt_kv_fn *fn, void *ud, struct verror *e);

/* The element at (page, idx) of bucket b as bbolt_foreach() gave it: the
 * page is held in pg until bbolt_page_put(). */
int bbolt_kv_at(struct bbolt *db, const struct bbolt_bucket *b, uint64_t page,
		uint16_t idx, struct bbolt_page *pg, struct bbolt_kv *kv,
		struct verror *e);

/* Looks key up in bucket b: 1 with its value copied into val (flags set),
 * 0 when absent, < 0 on error. */
int bbolt_get(struct bbolt *db, const struct bbolt_bucket *b, const void *key,
	      size_t klen, struct sbuf *val, uint32_t *flags, struct verror *e);
