/* k8s-encode: one JSON object of a built-in kind (stdin) -> the protobuf
 * kube-apiserver reads (stdout), as k8s_json_to_value() encodes it; for
 * tests/test_k8s_values.py, which feeds it what the real apiserver serves
 * and decodes the result with k8s-decode. Exit 0, 3 when the encoder
 * refuses (why on stderr: a custom resource, a field it can't carry over
 * exactly), 1 for bad input. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "common/sbuf.h"
#include "etcd/etcd.h"

int main(void)
{
	struct sbuf in, out;
	struct verror e = { { 0 } };
	json_t *obj;
	int r;

	sbuf_init(&in, 0);
	sbuf_init(&out, 0);
	if (sbuf_read_fd(&in, 0) < 0) {
		perror("k8s-encode: stdin");
		return 1;
	}
	obj = json_loadb(in.buf ? in.buf : "", in.len, 0, NULL);
	if (!obj) {
		fprintf(stderr, "k8s-encode: stdin is not JSON\n");
		return 1;
	}
	r = k8s_json_to_value(obj, &out, &e);
	json_decref(obj);
	sbuf_release(&in);
	if (r < 0) {
		fprintf(stderr, "k8s-encode: %s (%s)\n", e.msg, strerror(-r));
		sbuf_release(&out);
		return r == -ENOMEM ? 1 : 3;
	}
	fwrite(out.buf, 1, out.len, stdout);
	sbuf_release(&out);
	return 0;
}
