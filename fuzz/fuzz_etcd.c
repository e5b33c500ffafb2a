/* fuzz_etcd: an etcd snapshot (`etcdctl snapshot save`: a bbolt file) read
 * from memory: etcd_sniff(), etcd_snapshot_open(), every key listed
 * (etcd_snapshot_each()), the status and its line; the protobuf wire
 * reader and the KeyValue decoder over the same bytes. Inputs with
 * length bit 2 set are handed in as a mapping (etcd_reader.map). Inputs of odd
 * length get a page cache of four chunks of two pages (eviction and
 * pages across chunks on every step). Checks: keys come in strictly
 * increasing order, as many as the status counts; the status line ends
 * with a newline. Inputs whose length has bit 1 set get their meta
 * pages' checksums recomputed first (on a copy), so that mutations of
 * the meta fields (root, high-water mark, page size, txid) get past the
 * checksum and into the reader. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/sbuf.h"
#include "etcd/bbolt_i.h"
#include "etcd/etcd.h"
#include "etcd/mvcc_i.h"
#include "etcd/pb_i.h"

struct mem {
	const uint8_t *p;
	size_t len;
};

static int mem_pread(void *ud, void *buf, size_t len, uint64_t off,
		     struct verror *e)
{
	const struct mem *m = ud;

	if (off > m->len || len > m->len - off)
		return verror_set(e, -EIO, "read past the end");
	memcpy(buf, m->p + off, len);
	return 0;
}

struct seen {
	char *last;
	size_t last_len;
	bool have;
	uint64_t n;
};

static int on_kv(void *ud, const struct etcd_kv *kv)
{
	struct seen *s = ud;

	if (s->have) {
		int c = memcmp(s->last, kv->key, MIN(s->last_len, kv->key_len));

		if (c > 0 || (c == 0 && s->last_len >= kv->key_len))
			abort(); /* not strictly increasing */
	}
	free(s->last);
	s->last = malloc(kv->key_len ? kv->key_len : 1);
	if (!s->last)
		abort();
	memcpy(s->last, kv->key, kv->key_len);
	s->last_len = kv->key_len;
	s->have = true;
	s->n++;
	/* every byte handed out is readable */
	if (kv->value_len) {
		volatile uint8_t x = ((const uint8_t *)kv->value)[0];
		volatile uint8_t y =
			((const uint8_t *)kv->value)[kv->value_len - 1];
		(void)x;
		(void)y;
	}
	return 0;
}

static void on_problem(void *ud, const char *fmt, ...)
{
	(void)ud;
	(void)fmt;
}

static void reseal(uint8_t *p, size_t size, uint64_t off)
{
	uint8_t *m = p + off + BBOLT_PAGE_HEADER;
	uint64_t sum;

	if (off > size || size - off < BBOLT_PAGE_HEADER + 64)
		return;
	sum = fnv1a64(m, BBOLT_META_CHECKED);
	memcpy(m + BBOLT_META_CHECKED, &sum, 8); /* little-endian host */
}

static void test_one(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	if (!(size & 2) || size < 100) {
		test_one(data, size);
		return 0;
	}
	copy = malloc(size);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	reseal(copy, size, 0);
	{
		uint32_t ps;

		memcpy(&ps, copy + BBOLT_PAGE_HEADER + 8, 4);
		if (ps >= 256 && ps <= (1u << 26))
			reseal(copy, size, ps);
	}
	test_one(copy, size);
	free(copy);
	return 0;
}

static void test_one(const uint8_t *data, size_t size)
{
	struct mem m = { data, size };
	struct etcd_reader r = { mem_pread, &m, size, NULL };
	struct etcd_snapshot *s = NULL;
	struct etcd_status st;
	struct verror e;
	struct seen seen = { 0 };
	struct pb pb;
	struct pb_field f;
	struct etcd_kv kv;
	const char *why;
	int res;

	/* the wire reader over the raw bytes, bounded */
	pb_init(&pb, data, MIN(size, (size_t)4096));
	while (pb_next(&pb, &f) > 0)
		;
	(void)mvcc_kv_decode(data, MIN(size, (size_t)4096), &kv, &why);

	(void)etcd_sniff(data, size);
	if (size & 4)
		r.map = data; /* pages used in place */
	if (etcd_snapshot_open(&r, &s, &e) < 0)
		return;
	if (size & 1)
		bbolt_set_cache(mvcc_db(s), 4 * 8192, 8192);
	res = etcd_snapshot_each(s, on_kv, on_problem, &seen, &e);
	if (etcd_snapshot_status(s, &st, &e) == 0) {
		struct sbuf line;

		if (res == 0 && st.total_keys != seen.n)
			abort();
		sbuf_init(&line, 0);
		if (etcd_status_format(&st, &line) == 0 &&
		    (line.len == 0 || line.buf[line.len - 1] != '\n'))
			abort();
		sbuf_release(&line);
	}
	/* a second listing gives the same count */
	if (res == 0) {
		struct seen again = { 0 };

		if (etcd_snapshot_each(s, on_kv, NULL, &again, &e) == 0 &&
		    again.n != seen.n)
			abort();
		free(again.last);
	}
	free(seen.last);
	etcd_snapshot_free(s);
}
