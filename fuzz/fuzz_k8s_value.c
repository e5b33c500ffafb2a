/* fuzz_k8s_value: k8s_value_to_json() and k8s_object_to_json()
 * (etcd/k8s.c), a value as kube-apiserver stores it in etcd: JSON, the
 * "k8s\0" protobuf envelope, anything else.
 *
 * Properties:
 * - the result is 0, -EBADMSG, or -E2BIG (the output cap), never a crash;
 * - on success from a protobuf value, the output is one JSON object
 *   (k8s_json_valid: Go's syntax, numbers of any size), and so is it with
 *   metadata.resourceVersion added;
 * - on failure the output buffer is as it was, and the error has a
 *   message;
 * - at most 33 note lines. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sbuf.h"
#include "etcd/etcd.h"
#include "etcd/k8s_i.h"

static void fail(const char *why, const uint8_t *data, size_t size,
		 const struct sbuf *out)
{
	fprintf(stderr,
		"fuzz_k8s_value: %s\n--- input %zu bytes, output:\n%.*s\n", why,
		size, (int)(out->len < 4000 ? out->len : 4000),
		out->buf ? out->buf : "");
	(void)data;
	abort();
}

static void one(const uint8_t *data, size_t size, bool object)
{
	struct sbuf out, notes;
	struct verror e = { { 0 } };
	int r;
	size_t i, lines = 0;

	sbuf_init(&out, 1 << 24);
	sbuf_init(&notes, 0);
	sbuf_adds(&out, "prefix");
	r = object ? k8s_object_to_json(data, size, 12345, &out, &notes, &e) :
		     k8s_value_to_json(data, size, &out, &notes, &e);
	if (r < 0) {
		if (r != -EBADMSG && r != -E2BIG)
			fail("unexpected error code", data, size, &out);
		if (out.len != 6 || memcmp(out.buf, "prefix", 6))
			fail("output changed on failure", data, size, &out);
		if (!e.msg[0])
			fail("error without a message", data, size, &out);
	} else if (size >= 4 && !memcmp(data, "k8s", 4)) {
		if (out.len < 8 || out.buf[6] != '{' ||
		    !k8s_json_valid(out.buf + 6, out.len - 6))
			fail("output is not a JSON object", data, size, &out);
	}
	for (i = 0; i < notes.len; i++)
		lines += notes.buf[i] == '\n';
	if (lines > 33)
		fail("too many notes", data, size, &out);
	sbuf_release(&out);
	sbuf_release(&notes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size, false);
	one(data, size, true);
	return 0;
}
