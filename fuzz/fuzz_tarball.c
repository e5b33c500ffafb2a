/* fuzz_tarball: the bytes of a backup's tarball (<name>.tar.gz), indexed
 * the way a mount does it: a local vault in a scratch directory holding
 * one backup, backup_open() (gzip stream, tar reader, every member
 * rendered and filtered, the index written and mapped), then every node
 * read. Input that is not gzip (no 1f 8b magic) is gzip-compressed
 * first, so that the fuzzer reaches the tar reader and the renderers as
 * easily as the gzip reader. The view and filters follow a digest of the
 * input.
 *
 * A raw (not gzip) input is also read straight by the tar reader
 * (backup/tar.c) twice: in one chunk, and cut in chunks of sizes taken
 * from the input (1 to 1024 bytes, so that headers, PAX bodies and data
 * straddle chunks), each copied into the one buffer that every pull
 * rewrites (as the gzip reader's output is). Both reads must see the same
 * entries (names, kinds, sizes, offsets, data), the same end and the same words
 * for it; every entry's data must lie in the input (ASan checks the pointers)
 * and the offsets must grow within it. A difference aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "backup/backup.h"
#include "backup/tar_i.h"
#include "fuzz/fuzz_util.h"

/* gzip of data (caller frees), NULL when it can't be made. */
static unsigned char *gzip(const uint8_t *data, size_t len, size_t *out_len)
{
	z_stream z = { 0 };
	size_t cap = len + len / 100 + 64;
	unsigned char *out = malloc(cap);

	if (!out || deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8,
				 Z_DEFAULT_STRATEGY) != Z_OK) {
		free(out);
		return NULL;
	}
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&z);
		free(out);
		return NULL;
	}
	*out_len = z.total_out;
	deflateEnd(&z);
	return out;
}

/* The input fed to the tar reader in chunks: all of it at once (step 0),
 * or chunks of 1 + (a byte of the input) * 4 bytes, in turn. */
struct feed {
	const uint8_t *data;
	size_t len, pos, step;
	uint8_t chunk[4 << 20];
};

static ssize_t feed_pull(void *arg, const char **buf)
{
	struct feed *f = arg;
	size_t n = f->len - f->pos;

	if (f->step && n > 0) {
		size_t k =
			1 +
			(size_t)f->data[(f->pos * 31 + f->step) % f->len] * 4;

		n = n < k ? n : k;
	}
	/* one buffer, rewritten by every pull, as the gzip reader's is: a
	 * pointer kept across a pull reads the poison */
	memcpy(f->chunk, f->data + f->pos, n);
	memset(f->chunk + n, 0xa5, sizeof(f->chunk) - n);
	*buf = (const char *)f->chunk;
	f->pos += n;
	return (ssize_t)n;
}

/* What one read of the tar saw, as a digest of every entry and the end. */
static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ c[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t read_tar(const uint8_t *data, size_t len, size_t step)
{
	static struct feed f;
	struct tar_reader t;
	struct tar_entry e;
	enum tar_status st;
	uint64_t h = 0xcbf29ce484222325ull, last = 0;
	unsigned n = 0;

	f.data = data;
	f.len = len;
	f.pos = 0;
	f.step = step;
	tar_init(&t, feed_pull, &f);
	while ((st = tar_next(&t, &e)) == TAR_OK || st == TAR_WARN) {
		const char *d;
		int r;

		if (e.hpos < last || e.hpos > len)
			abort(); /* an entry the input can't hold */
		last = e.hpos;
		h = mix(h, &st, sizeof(st));
		h = mix(h, t.err, strlen(t.err));
		h = mix(h, e.name, strlen(e.name) + 1);
		h = mix(h, &e.type, sizeof(e.type));
		h = mix(h, &e.size, sizeof(e.size));
		h = mix(h, &e.hpos, sizeof(e.hpos));
		h = mix(h, &e.pax_nul, sizeof(e.pax_nul));
		if ((++n & 1) && e.type == TAR_REG) {
			r = tar_data(&t, &e, &d);
			h = mix(h, &r, sizeof(r));
			h = mix(h, t.err, strlen(t.err));
			if (r == 0)
				h = mix(h, d, (size_t)e.size);
			if (r < 0)
				break;
		}
	}
	h = mix(h, &st, sizeof(st));
	h = mix(h, t.err, strlen(t.err));
	tar_release(&t);
	return h;
}

/* The one call into velerofs: open the backup and read all of it. */
static void index_tarball(unsigned pick)
{
	struct backup_options o = {
		.view = pick & 1 ? BACKUP_VIEW_JSON : BACKUP_VIEW_YAML,
		.clean = pick & 2,
		.keep_status = pick & 4,
		.redact = pick & 8,
	};
	struct fuzz_repo fr;

	fuzz_read_backup(fuzz_repo_open(&fr, &o));
	fuzz_repo_close(&fr);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_vault_init(FUZZ_FZ_JSON);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *gz = NULL;
	size_t gzlen = 0;

	if (size > ((size_t)4 << 20))
		return 0;
	if (size < 2 || data[0] != 0x1f || data[1] != 0x8b) {
		if (size > 0 && read_tar(data, size, 0) !=
					read_tar(data, size, 1 + data[0]))
			abort(); /* the chunks changed what was read */
		gz = gzip(data, size, &gzlen);
		if (!gz)
			return 0;
	}
	fuzz_write(fuzz_vault_dir(), "backups/fz/fz.tar.gz", gz ? gz : data,
		   gz ? gzlen : size);
	free(gz);
	/* every input is indexed afresh, never served from the cache */
	fuzz_empty_dir(fuzz_cache_dir());
	index_tarball(fuzz_pick(data, size));
	return 0;
}
