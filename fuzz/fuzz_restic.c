/* fuzz_restic: repo/restic_parse.c's parsers of what a restic repository
 * holds after decryption. The first byte picks the parser:
 *   0 an index file (restic_index_parse), 1 a tree (restic_tree_parse and
 *   restic_tree_node on each position), 2 a pack header
 *   (restic_pack_header_parse; the next 4 bytes little-endian are where
 *   the header starts), 3 an unpacked file (restic_unpacked: JSON or
 *   version byte 2 + zstd).
 * Checks beyond memory safety: tree nodes have safe names and a file type
 * velerofs shows; pack header blobs lie one after the other before the
 * header; blob lengths hold at least IV + MAC. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "repo/restic_i.h"

static int on_pack(void *ud, const uint8_t id[RESTIC_ID])
{
	(void)ud;
	(void)id;
	return 0;
}

static int on_blob(void *ud, const struct restic_blob *b)
{
	(void)ud;
	if (b->len < RESTIC_EXTRA || b->type > RESTIC_TREE)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct verror e;
	const char *s = (const char *)data + 1;
	size_t n = size ? size - 1 : 0, i, cnt = 0;

	if (size == 0)
		return 0;
	switch (data[0]) {
	case 0: {
		struct restic_index_sink k = { on_pack, on_blob, NULL };

		(void)restic_index_parse(s, n, &k, &e);
		break;
	}
	case 1: {
		struct restic_node *v = NULL;

		if (restic_tree_parse(s, n, &v, &cnt, &e) < 0)
			break;
		for (i = 0; i < cnt; i++) {
			struct restic_node one;
			const char *nm = v[i].ent.name;

			if (!nm[0] || strchr(nm, '/') || !strcmp(nm, ".") ||
			    !strcmp(nm, "..") ||
			    !(S_ISREG(v[i].ent.mode) ||
			      S_ISDIR(v[i].ent.mode) ||
			      S_ISLNK(v[i].ent.mode)) ||
			    (S_ISLNK(v[i].ent.mode) && !v[i].ent.target))
				abort();
			if (restic_tree_node(s, n, v[i].pos, &one, &e) == 0)
				restic_node_release(&one);
			restic_node_release(&v[i]);
		}
		free(v);
		break;
	}
	case 2: {
		struct restic_blob *b = NULL;
		uint64_t hoff, at = 0;

		if (n < 4)
			break;
		hoff = (uint64_t)data[1] | (uint64_t)data[2] << 8 |
		       (uint64_t)data[3] << 16 | (uint64_t)data[4] << 24;
		if (restic_pack_header_parse(data + 5, n - 4, hoff, &b, &cnt,
					     &e) < 0)
			break;
		for (i = 0; i < cnt; i++) {
			if (b[i].off != at || b[i].len < RESTIC_EXTRA ||
			    (uint64_t)b[i].off + b[i].len > hoff)
				abort();
			at += b[i].len;
		}
		free(b);
		break;
	}
	case 3: {
		struct sbuf out;

		sbuf_init(&out, 1 << 20);
		(void)restic_unpacked(s, n, &out, &e);
		if (out.len > out.max)
			abort();
		sbuf_release(&out);
		break;
	}
	}
	return 0;
}
