/* fuzz_k8s_enc: k8s_json_to_value() (etcd/k8s_enc.c), JSON of a built-in
 * kind -> the protobuf kube-apiserver reads; the input is JSON text (what
 * jansson does not load is skipped).
 *
 * Properties:
 * - the result is 0, -ENOENT (not a built-in kind), -EOPNOTSUPP (not
 *   exactly encodable), -EINVAL (no apiVersion/kind) or -E2BIG (the
 *   output cap), never a crash; on failure the output is as it was and
 *   the error has a message;
 * - on success the output starts with "k8s\0" and decodes with the
 *   decoder (k8s_value_to_json) without error or note into a JSON object
 *   y; y encodes again, and that decodes to y once more (the decoder's
 *   rendering is a fixed point). */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sbuf.h"
#include "etcd/etcd.h"

static void fail(const char *why, const struct sbuf *a, const struct sbuf *b)
{
	fprintf(stderr,
		"fuzz_k8s_enc: %s\n--- first:\n%.*s\n--- second:\n%.*s\n", why,
		(int)(a && a->len < 4000 ? a->len : 0),
		a && a->buf ? a->buf : "",
		(int)(b && b->len < 4000 ? b->len : 0),
		b && b->buf ? b->buf : "");
	abort();
}

/* encode obj, decode it: 0 and json filled, or the encoder's error */
static int through(json_t *obj, struct sbuf *json)
{
	struct sbuf pb, notes;
	struct verror e = { { 0 } };
	int r;

	sbuf_init(&pb, 1 << 24);
	sbuf_init(&notes, 0);
	sbuf_adds(&pb, "prefix");
	r = k8s_json_to_value(obj, &pb, &e);
	if (r < 0) {
		if (r != -ENOENT && r != -EOPNOTSUPP && r != -EINVAL &&
		    r != -E2BIG)
			fail("unexpected error code", &pb, NULL);
		if (pb.len != 6 || memcmp(pb.buf, "prefix", 6))
			fail("output changed on failure", &pb, NULL);
		if (!e.msg[0])
			fail("error without a message", &pb, NULL);
	} else {
		if (pb.len < 10 || memcmp(pb.buf + 6, "k8s", 4))
			fail("no k8s envelope", &pb, NULL);
		if (k8s_value_to_json(pb.buf + 6, pb.len - 6, json, &notes,
				      &e) < 0)
			fail(e.msg, &pb, NULL);
		if (notes.len)
			fail(notes.buf, &pb, json);
	}
	sbuf_release(&pb);
	sbuf_release(&notes);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *x = json_loadb((const char *)data, size, 0, NULL), *y;
	struct sbuf j1, j2;

	if (!x)
		return 0;
	sbuf_init(&j1, 1 << 24);
	sbuf_init(&j2, 1 << 24);
	if (through(x, &j1) == 0) {
		y = json_loadb(j1.buf, j1.len, 0, NULL);
		if (!json_is_object(y))
			fail("decoded output is not a JSON object", &j1, NULL);
		if (through(y, &j2) != 0)
			fail("the decoded object does not encode", &j1, NULL);
		if (j1.len != j2.len || memcmp(j1.buf, j2.buf, j1.len))
			fail("not a fixed point", &j1, &j2);
		json_decref(y);
	}
	sbuf_release(&j1);
	sbuf_release(&j2);
	json_decref(x);
	return 0;
}
