/* fuzz_describe: describe.txt (render_describe(), backup/describe.c) from
 * a hostile velero-backup.json and side objects. The input is split at
 * NUL bytes into: velero-backup.json, results, resource-list,
 * volumesnapshots, podvolumebackups, csi-volumesnapshots,
 * itemoperations, volumeinfo (each JSON, read as the index build reads
 * them; empty or unparsable: absent), then the item counts
 * ("group_resource count" lines, as tests/data/describe/<case>/kinds.txt);
 * the Volume Data verdicts are chosen by the input's size.
 * The output must end with a newline and hold neither "(null)" (unless
 * the input does) nor a NUL byte. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/render_i.h"
#include "common/sbuf.h"

#define NJSON 8
#define MAX_KINDS 256

static int cmp_kind(const void *a, const void *b)
{
	return strcmp(((const struct describe_kind_count *)a)->group_resource,
		      ((const struct describe_kind_count *)b)->group_resource);
}

/* Parses "gr count" lines of text (modified in place) into kinds. */
static size_t load_kinds(char *text, struct describe_kind_count *kinds,
			 size_t *nitems)
{
	size_t n = 0;
	char *save = NULL;

	*nitems = 0;
	for (char *l = strtok_r(text, "\n", &save); l && n < MAX_KINDS;
	     l = strtok_r(NULL, "\n", &save)) {
		char *sp = strrchr(l, ' ');

		if (!sp || sp == l)
			continue;
		*sp = '\0';
		kinds[n].group_resource = l;
		kinds[n].count = strtoul(sp + 1, NULL, 10) % 1000000;
		*nitems += kinds[n].count;
		n++;
	}
	qsort(kinds, n, sizeof(*kinds), cmp_kind);
	return n;
}

/* The one call into velerofs. */
static int describe(const struct describe_input *in, struct sbuf *out)
{
	return render_describe(in, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct describe_kind_count kinds[MAX_KINDS];
	json_t *j[NJSON] = { 0 };
	static const char *const verdicts[] = { NULL, "wrong\tpassword\n", NULL,
						"" };
	struct describe_input in = { .name = "fz" };
	char *text = malloc(size + 1), *p, *end, *kind_text = NULL;
	struct sbuf out;
	size_t i;
	int r;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	p = text;
	end = text + size;
	for (i = 0; i <= NJSON && p <= end; i++) {
		size_t n = strlen(p);

		if (i == NJSON)
			kind_text = p;
		else if (n)
			j[i] = json_loadb(p, n, 0, NULL);
		p += n + 1;
	}
	in.backup = j[0];
	in.backup_error = j[0] ? NULL : "velero-backup.json: not JSON";
	in.results = j[1];
	in.resource_list = j[2];
	in.volumesnapshots = j[3];
	in.podvolumebackups = j[4];
	in.csi_volumesnapshots = j[5];
	in.itemoperations = j[6];
	in.volumeinfo = j[7];
	if (kind_text) {
		in.nkinds = load_kinds(kind_text, kinds, &in.nitems);
		in.kinds = in.nkinds ? kinds : NULL;
	}
	in.index_error = size % 3 == 0 ? "the tarball is corrupt" : NULL;
	in.item_errors = size % 5;
	/* the Volume Data verdicts: none, fewer than the pod volume
	 * backups, or browsable and not in turn */
	if (size % 7) {
		in.pvb_verdicts = verdicts;
		in.npvb_verdicts = size % 7 % 5;
	}

	sbuf_init(&out, (size_t)64 << 20);
	r = describe(&in, &out);
	if (r != 0 && r != -E2BIG && r != -ENOMEM)
		abort();
	if (r == 0 &&
	    (!out.len || out.buf[out.len - 1] != '\n' ||
	     strlen(out.buf) != out.len ||
	     (strstr(out.buf, "(null)") && !memmem(data, size, "(null)", 6)))) {
		fprintf(stderr, "fuzz_describe: bad output:\n%s\n",
			sbuf_str(&out));
		abort();
	}
	sbuf_release(&out);
	for (i = 0; i < NJSON; i++)
		json_decref(j[i]);
	free(text);
	return 0;
}
