/* bench/inflate_bench: zlib, ISA-L (igzip) and libdeflate inflating the
 * same gzip file, in memory, as velerofs's source would (for the record
 * in bench/profile-notes.md; not part of the build).
 *
 *   cc -O2 -o /tmp/inflate_bench bench/inflate_bench.c -lz -lisal -ldeflate
 *   /tmp/inflate_bench FILE.tar.gz [REPS]
 *
 * zlib and ISA-L stream (1 MiB in, 1 MiB out, as source_velero.c's
 * gz_pull); libdeflate inflates the whole member into one buffer of the
 * size the trailer gives (its memory cost is that buffer plus the
 * compressed bytes). Each checks the gzip CRC-32 as it goes. Prints the
 * best time of REPS (default 5) for each and MB/s of output. */
#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#define CHUNK (1 << 20)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t run_zlib(const unsigned char *in, size_t n, unsigned char *out)
{
	z_stream z = { 0 };
	size_t total = 0, off = 0;
	int r = Z_OK;

	inflateInit2(&z, 16 + MAX_WBITS);
	while (r != Z_STREAM_END) {
		if (z.avail_in == 0) {
			size_t k = n - off < CHUNK ? n - off : CHUNK;

			if (!k)
				break;
			z.next_in = (Bytef *)in + off;
			z.avail_in = (uInt)k;
			off += k;
		}
		z.next_out = out;
		z.avail_out = CHUNK;
		r = inflate(&z, Z_NO_FLUSH);
		if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR) {
			fprintf(stderr, "zlib: %d\n", r);
			exit(1);
		}
		total += CHUNK - z.avail_out;
	}
	inflateEnd(&z);
	return total;
}

static size_t run_isal(const unsigned char *in, size_t n, unsigned char *out)
{
	struct inflate_state st;
	size_t total = 0, off = 0;

	isal_inflate_init(&st);
	st.crc_flag = ISAL_GZIP;
	while (st.block_state != ISAL_BLOCK_FINISH) {
		int r;

		if (st.avail_in == 0) {
			size_t k = n - off < CHUNK ? n - off : CHUNK;

			if (!k)
				break;
			st.next_in = (uint8_t *)in + off;
			st.avail_in = (uint32_t)k;
			off += k;
		}
		st.next_out = out;
		st.avail_out = CHUNK;
		r = isal_inflate(&st);
		if (r != ISAL_DECOMP_OK) {
			fprintf(stderr, "isal: %d\n", r);
			exit(1);
		}
		total += CHUNK - st.avail_out;
	}
	return total;
}

static size_t run_deflate(const unsigned char *in, size_t n,
			  unsigned char **outp)
{
	struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
	uint32_t isize;
	size_t got = 0;
	unsigned char *out;

	memcpy(&isize, in + n - 4, 4);
	out = malloc(isize ? isize : 1);
	if (libdeflate_gzip_decompress(d, in, n, out, isize, &got) !=
	    LIBDEFLATE_SUCCESS) {
		fprintf(stderr, "libdeflate failed\n");
		exit(1);
	}
	libdeflate_free_decompressor(d);
	*outp = out;
	return got;
}

int main(int argc, char **argv)
{
	FILE *f;
	unsigned char *in, *out = malloc(CHUNK);
	size_t n, got = 0;
	long sz;
	int reps = argc > 2 ? atoi(argv[2]) : 5, i, k;
	const char *names[3] = { "zlib", "isa-l", "libdeflate" };

	if (argc < 2 || !(f = fopen(argv[1], "rb")))
		return 2;
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	rewind(f);
	in = malloc((size_t)sz);
	n = fread(in, 1, (size_t)sz, f);
	fclose(f);
	for (k = 0; k < 3; k++) {
		double best = 1e9;

		for (i = 0; i < reps; i++) {
			double t = now();
			unsigned char *whole = NULL;

			got = k == 0 ? run_zlib(in, n, out) :
			      k == 1 ? run_isal(in, n, out) :
				       run_deflate(in, n, &whole);
			t = now() - t;
			free(whole);
			if (t < best)
				best = t;
		}
		printf("%-10s %8.1f ms  %7.0f MB/s out  (%zu -> %zu bytes)\n",
		       names[k], best * 1e3, (double)got / best / 1e6, n, got);
	}
	return 0;
}
