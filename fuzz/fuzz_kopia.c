/* fuzz_kopia: repo/kopia_parse.c's parsers of what a kopia repository
 * holds after decryption. The first byte picks the parser:
 *   0 an index blob, v1 or v2 (kopia_index_parse),
 *   1 a directory (kopia_dir_parse),
 *   2 an indirect object (kopia_indirect_parse),
 *   3 a manifest content (kopia_manifest_find, id "aa"),
 *   4 compressed bytes (the next 4 bytes are the header; 0x1200: s2),
 *   5 an object id (kopia_oid_parse),
 *   6 one S2 block (s2_block_decode, output cap from the next byte),
 *   7 BLAKE3 (keyed and derived over the rest),
 *   8 a stored content with error correction (kopia_ecc_decode, the
 *     overhead percent from the next byte).
 * Checks beyond memory safety: directory entries are single safe names,
 * sorted and unique; indirect chunks are contiguous from 0; decompression
 * stays within its cap; an S2 block decodes within its cap; BLAKE3 is
 * deterministic; ECC output stays within its input's length. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "repo/kopia_i.h"

static int on_pack(void *ud, const char *name, size_t len)
{
	(void)ud;
	if (!len || memchr(name, '/', len))
		abort();
	return 0;
}

static int on_entry(void *ud, const struct kopia_ientry *ie)
{
	(void)ud;
	if (ie->id.len == 0 || ie->id.len > KOPIA_MAX_HASH)
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
		struct kopia_index_sink k = { on_pack, on_entry, NULL };

		(void)kopia_index_parse(data + 1, n, &k, &e);
		break;
	}
	case 1: {
		struct ventry *v = NULL;

		if (kopia_dir_parse(s, n, &v, &cnt, &e) < 0)
			break;
		for (i = 0; i < cnt; i++) {
			if (!v[i].name[0] || strchr(v[i].name, '/') ||
			    !strcmp(v[i].name, ".") ||
			    !strcmp(v[i].name, "..") ||
			    (i && strcmp(v[i - 1].name, v[i].name) >= 0))
				abort();
		}
		for (i = 0; i < cnt; i++)
			ventry_release(&v[i]);
		free(v);
		break;
	}
	case 2: {
		struct kopia_chunk *c = NULL;
		uint64_t at = 0;

		if (kopia_indirect_parse(s, n, &c, &cnt, &e) < 0)
			break;
		for (i = 0; i < cnt; i++) {
			if (c[i].start != at || !c[i].len)
				abort();
			at += c[i].len;
		}
		free(c);
		break;
	}
	case 3: {
		struct ventry root = { 0 };
		bool found, deleted;
		int64_t mod = 0;

		(void)kopia_manifest_find(s, n, "aa", &found, &mod, &deleted,
					  &root, &e);
		ventry_release(&root);
		break;
	}
	case 4: {
		struct sbuf out;
		uint32_t hdr;

		if (n < 4)
			break;
		hdr = (uint32_t)data[1] << 24 | (uint32_t)data[2] << 16 |
		      (uint32_t)data[3] << 8 | data[4];
		sbuf_init(&out, 1 << 20);
		(void)kopia_decompress(hdr, data + 5, n - 4, &out, &e);
		if (out.len > out.max)
			abort();
		sbuf_release(&out);
		break;
	}
	case 6: {
		unsigned char out[4096];
		size_t cap, dl = SIZE_MAX;

		if (n < 1)
			break;
		cap = (size_t)data[1] * 16;
		if (s2_block_decode(data + 2, n - 1, out, cap, &dl) == 0 &&
		    dl > cap)
			abort();
		break;
	}
	case 7: {
		unsigned char a[32], b[32], key[32] = { 1 };

		blake3_keyed(key, data + 1, n, a);
		blake3_keyed(key, data + 1, n, b);
		if (memcmp(a, b, 32))
			abort();
		blake3_derive_key("fuzz", data + 1, n, a);
		break;
	}
	case 8: {
		unsigned char *out;
		ssize_t r;

		if (n < 1 || !(out = malloc(n)))
			break;
		r = kopia_ecc_decode(data[1] % 100 + 1, data + 2, n - 1, out);
		if (r > (ssize_t)(n - 1))
			abort();
		free(out);
		break;
	}
	case 5: {
		char *z = strndup(s, n);
		struct kopia_oid o;

		if (z)
			(void)kopia_oid_parse(z, &o);
		free(z);
		break;
	}
	}
	return 0;
}
