/* fuzz_tarball: the bytes of a backup's tarball (<name>.tar.gz), indexed
 * the way a mount does it: a local vault in a scratch directory holding
 * one backup, backup_open() (gzip stream, tar reader, every member
 * rendered and filtered, the index written and mapped), then every node
 * read. Input that is not gzip (no 1f 8b magic) is gzip-compressed
 * first, so that the fuzzer reaches the tar reader and the renderers as
 * easily as the gzip reader. The view and filters follow a digest of the
 * input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "backup/backup.h"
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
