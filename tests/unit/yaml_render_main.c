/* yaml-render: reads one JSON document from a file (or stdin) and writes
 * render_yaml()'s output to stdout. For tests and benchmarks only.
 *
 *   yaml-render [--max BYTES] [--bench N] [FILE]
 *
 * --max caps the output buffer (to exercise -E2BIG); --bench renders N
 * times and prints the throughput (MB/s of JSON) to stderr. Exits 1 with
 * the error message on stderr when the document is rejected. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup/render_i.h"
#include "common/error.h"
#include "common/macro.h"
#include "common/sbuf.h"

#define INPUT_MAX ((size_t)1 << 30)

static int read_all(FILE *f, struct sbuf *b)
{
	char chunk[65536];
	size_t n;
	int r;

	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		r = sbuf_add(b, chunk, n);
		if (r < 0)
			return r;
	}
	return ferror(f) ? -EIO : 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	_cleanup_fclose_ FILE *f = NULL;
	struct sbuf in, out;
	struct verror e = { { 0 } };
	const char *path = NULL;
	size_t max = (size_t)1 << 31;
	long bench = 0, i;
	double t0, dt;
	int r, a;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--max") && a + 1 < argc) {
			max = strtoull(argv[++a], NULL, 10);
		} else if (!strcmp(argv[a], "--bench") && a + 1 < argc) {
			bench = strtol(argv[++a], NULL, 10);
		} else if (!strcmp(argv[a], "--help")) {
			printf("usage: %s [--max BYTES] [--bench N] [FILE]\n",
			       argv[0]);
			return 0;
		} else if (!path) {
			path = argv[a];
		} else {
			fprintf(stderr, "yaml-render: too many arguments\n");
			return 2;
		}
	}
	if (path) {
		f = fopen(path, "rb");
		if (!f) {
			fprintf(stderr, "yaml-render: %s: %s\n", path,
				strerror(errno));
			return 2;
		}
	}

	sbuf_init(&in, INPUT_MAX);
	sbuf_init(&out, max);
	r = read_all(f ? f : stdin, &in);
	if (r < 0) {
		fprintf(stderr, "yaml-render: reading input: %s\n",
			strerror(-r));
		sbuf_release(&in);
		return 2;
	}

	if (bench > 0) {
		t0 = now();
		for (i = 0; i < bench; i++) {
			sbuf_reset(&out);
			r = render_yaml(sbuf_str(&in), in.len, &out, &e);
			if (r < 0)
				break;
		}
		dt = now() - t0;
		if (r >= 0)
			fprintf(stderr,
				"%zu bytes JSON -> %zu bytes YAML, %ld runs, "
				"%.1f MB/s\n",
				in.len, out.len, bench,
				(double)in.len * (double)bench / dt / 1e6);
	} else {
		r = render_yaml(sbuf_str(&in), in.len, &out, &e);
	}
	if (r < 0) {
		fprintf(stderr, "yaml-render: %s (%s)\n", e.msg, strerror(-r));
		sbuf_release(&in);
		sbuf_release(&out);
		return 1;
	}
	if (!bench)
		fwrite(sbuf_str(&out), 1, out.len, stdout);
	sbuf_release(&in);
	sbuf_release(&out);
	return fflush(stdout) ? 2 : 0;
}
