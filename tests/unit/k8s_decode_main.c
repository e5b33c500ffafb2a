/* k8s-decode [MOD_REVISION]: one stored kube-apiserver value (stdin) ->
 * the JSON k8s_value_to_json() makes of it (stdout), or with a revision
 * k8s_object_to_json(); notes on stderr. For tests/test_k8s_values.py and
 * tests/fixtures/regen-k8s-values.py, which feed it what the real
 * apiserver stored. */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/sbuf.h"
#include "etcd/etcd.h"

int main(int argc, char **argv)
{
	struct sbuf in, out, notes;
	struct verror e = { { 0 } };
	int r;

	sbuf_init(&in, 0);
	sbuf_init(&out, 0);
	sbuf_init(&notes, 0);
	if (sbuf_read_fd(&in, 0) < 0) {
		perror("k8s-decode: stdin");
		return 2;
	}
	if (argc > 1)
		r = k8s_object_to_json(in.buf ? in.buf : "", in.len,
				       strtoll(argv[1], NULL, 10), &out, &notes,
				       &e);
	else
		r = k8s_value_to_json(in.buf ? in.buf : "", in.len, &out,
				      &notes, &e);
	fputs(sbuf_str(&notes), stderr);
	if (r < 0) {
		fprintf(stderr, "k8s-decode: %s (%s)\n", e.msg, strerror(-r));
		return 1;
	}
	fwrite(out.buf, 1, out.len, stdout);
	putchar('\n');
	sbuf_release(&in);
	sbuf_release(&out);
	sbuf_release(&notes);
	return 0;
}
