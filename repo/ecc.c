/* repo/ecc: kopia's REED-SOLOMON-CRC32 error correction (repo/ecc,
 * ecc_rs_crc.go), read side. A stored content or blob is its parity
 * shards (all blocks), then its data shards (the length-prefixed
 * ciphertext cut into shards, the last ones possibly not stored: zeros),
 * each shard behind a big-endian CRC-32. The shard counts and sizes follow
 * from the stored length and the overhead percent as kopia computes them.
 * A shard whose CRC does not match is an erasure; a block with erasures
 * among its data shards is rebuilt from any dataShards intact shards with
 * the code klauspost/reedsolomon builds by default (GF(2^8) over the
 * polynomial 0x11d, a Vandermonde matrix made systematic), which kopia
 * uses. Written from the description of both, not copied.
 *
 * What it does not do: encode; the other codes reedsolomon offers (Cauchy,
 * Leopard: kopia uses neither). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "repo/kopia_i.h"

#define ECC_CRC 4
#define ECC_LEN 4
#define ECC_SMALL_DATA 6
#define ECC_SMALL_PARITY 2
#define ECC_MAX_SHARDS 256

/* --- GF(2^8), polynomial x^8 + x^4 + x^3 + x^2 + 1, generator 2 --- */

struct gf {
	uint8_t exp[512];
	uint8_t log[256];
};

static void gf_init(struct gf *g)
{
	unsigned x = 1;

	for (int i = 0; i < 255; i++) {
		g->exp[i] = g->exp[i + 255] = (uint8_t)x;
		g->log[x] = (uint8_t)i;
		x <<= 1;
		if (x & 0x100)
			x ^= 0x11d;
	}
	g->exp[510] = g->exp[511] = g->exp[0];
	g->log[0] = 0;
}

static inline uint8_t gf_mul(const struct gf *g, uint8_t a, uint8_t b)
{
	return a && b ? g->exp[g->log[a] + g->log[b]] : 0;
}

static inline uint8_t gf_inv(const struct gf *g, uint8_t a)
{
	return g->exp[255 - g->log[a]]; /* a != 0 */
}

/* reedsolomon's galExp: a^n, with 0^0 = 1 */
static uint8_t gf_pow(const struct gf *g, uint8_t a, size_t n)
{
	if (n == 0)
		return 1;
	if (a == 0)
		return 0;
	return g->exp[(g->log[a] * n) % 255];
}

/* Inverts the n×n matrix m in place (Gauss-Jordan, row-major); -1 when it
 * is singular. w: n*n scratch bytes. */
static int gf_invert(const struct gf *g, uint8_t *m, uint8_t *w, size_t n)
{
	memset(w, 0, n * n);
	for (size_t i = 0; i < n; i++)
		w[i * n + i] = 1;
	for (size_t c = 0; c < n; c++) {
		size_t p = c;
		uint8_t f;

		while (p < n && !m[p * n + c])
			p++;
		if (p == n)
			return -1;
		if (p != c) {
			for (size_t k = 0; k < n; k++) {
				uint8_t t = m[c * n + k];

				m[c * n + k] = m[p * n + k];
				m[p * n + k] = t;
				t = w[c * n + k];
				w[c * n + k] = w[p * n + k];
				w[p * n + k] = t;
			}
		}
		f = gf_inv(g, m[c * n + c]);
		for (size_t k = 0; k < n; k++) {
			m[c * n + k] = gf_mul(g, m[c * n + k], f);
			w[c * n + k] = gf_mul(g, w[c * n + k], f);
		}
		for (size_t r = 0; r < n; r++) {
			uint8_t x = m[r * n + c];

			if (r == c || !x)
				continue;
			for (size_t k = 0; k < n; k++) {
				m[r * n + k] ^= gf_mul(g, x, m[c * n + k]);
				w[r * n + k] ^= gf_mul(g, x, w[c * n + k]);
			}
		}
	}
	memcpy(m, w, n * n);
	return 0;
}

/* Rebuilds the erased data shards of one block. sh[i] (d + p of them,
 * each len bytes) with ok[i] false for an erasure; the data shards are
 * written in place. -1 when fewer than d shards are intact. */
static int rs_rebuild(uint8_t **sh, const bool *ok, size_t d, size_t p,
		      size_t len)
{
	struct gf g;
	uint8_t *vm = NULL, *top = NULL, *w = NULL, *sub = NULL;
	size_t rows[ECC_MAX_SHARDS], n = 0;
	int rc = -1;

	for (size_t i = 0; i < d + p && n < d; i++)
		if (ok[i])
			rows[n++] = i;
	if (n < d)
		return -1;
	gf_init(&g);
	vm = malloc((d + p) * d);
	top = malloc(d * d);
	w = malloc(d * d);
	sub = malloc(d * d);
	if (!vm || !top || !w || !sub)
		goto out;
	/* buildMatrix: vandermonde(d+p, d) × inverse(its top d×d) */
	for (size_t r = 0; r < d + p; r++)
		for (size_t c = 0; c < d; c++)
			vm[r * d + c] = gf_pow(&g, (uint8_t)r, c);
	memcpy(top, vm, d * d);
	if (gf_invert(&g, top, w, d) < 0)
		goto out;
	/* the rows of the encoding matrix of the intact shards */
	for (size_t r = 0; r < d; r++)
		for (size_t c = 0; c < d; c++) {
			uint8_t x = 0;

			for (size_t k = 0; k < d; k++)
				x ^= gf_mul(&g, vm[rows[r] * d + k],
					    top[k * d + c]);
			sub[r * d + c] = x;
		}
	if (gf_invert(&g, sub, w, d) < 0)
		goto out;
	/* each erased data shard: its row of the inverse × the intact ones
	 * (intact data shards are never overwritten before they are used:
	 * only erased ones are written, and those are not in rows[]) */
	for (size_t i = 0; i < d; i++) {
		if (ok[i])
			continue;
		memset(sh[i], 0, len);
		for (size_t c = 0; c < d; c++) {
			uint8_t f = sub[i * d + c];
			const uint8_t *src = sh[rows[c]];

			if (!f)
				continue;
			for (size_t b = 0; b < len; b++)
				sh[i][b] ^= gf_mul(&g, f, src[b]);
		}
	}
	rc = 0;
out:
	free(vm);
	free(top);
	free(w);
	free(sub);
	return rc;
}

/* --- the layout --- */

static size_t ceil_div(size_t a, size_t b)
{
	return (a + b - 1) / b;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* repo/ecc computeShards: 128 data shards and the parity the overhead
 * buys, or 2 parity shards and the data shards they cover. The float
 * arithmetic is Go's (float32 operands, float64 products), so that the
 * shard counts are kopia's exactly. */
static void ecc_shards(int overhead, size_t *data, size_t *parity,
		       size_t *max_shard)
{
	size_t mss = overhead == 1 ? 1024 :
		     overhead == 2 ? 512 :
		     overhead == 3 ? 256 :
		     overhead <= 6 ? 128 :
				     64;
	float so = (float)overhead - 400.0f / (float)mss;
	float pct;
	long p, d;

	if (so < 0.01f)
		so = 0.01f;
	pct = so / 100.0f;
	d = 128;
	p = (long)(128.0 * (double)pct); /* >= 0: truncation is floor */
	p = p < 1 ? 1 : p > 128 ? 128 : p;
	if (p == 1) {
		float inv = 100.0f / so;

		p = 2;
		d = (long)(2.0 * (double)inv);
		d = d < 128 ? 128 : d > 254 ? 254 : d;
	}
	*data = (size_t)d;
	*parity = (size_t)p;
	*max_shard = mss;
}

/* One shard at s (its CRC, then up to shard bytes; have of them stored)
 * into dst (shard bytes, zero-filled); true when its CRC matches. */
static bool take_shard(const uint8_t *s, size_t have, size_t shard,
		       uint8_t *dst)
{
	memcpy(dst, s + ECC_CRC, have);
	memset(dst + have, 0, shard - have);
	return (uint32_t)crc32(0L, dst, (uInt)shard) == be32(s);
}

ssize_t kopia_ecc_decode(int overhead, const unsigned char *in, size_t len,
			 unsigned char *out)
{
	size_t D, P, mss, shard, blocks, nd, np, tpo, tbo, stored, o = 0;
	const unsigned char *data;
	uint8_t *buf = NULL, *sh[ECC_MAX_SHARDS];
	bool ok[ECC_MAX_SHARDS];
	ssize_t rc = -EBADMSG;
	uint32_t size;

	if (overhead <= 0 || overhead > 100 || len == 0)
		return -EINVAL;
	ecc_shards(overhead, &D, &P, &mss);
	/* computeSizesFromStored */
	tpo = (ECC_SMALL_DATA + ECC_SMALL_PARITY) *
	      (ECC_CRC + ceil_div(2 * ECC_CRC * (D + P), ECC_SMALL_DATA));
	tbo = (D + P) * (ECC_CRC + mss);
	if (len <= tpo || len <= tbo) {
		nd = len <= tpo ? ECC_SMALL_DATA : D;
		np = len <= tpo ? ECC_SMALL_PARITY : P;
		blocks = 1;
		shard = MAX(ceil_div(len, nd + np), (size_t)1 + ECC_CRC) -
			ECC_CRC;
	} else {
		nd = D;
		np = P;
		shard = mss;
		blocks = ceil_div(len, (nd + np) * (ECC_CRC + shard));
	}
	if (len < np * (ECC_CRC + shard) * blocks)
		return -EBADMSG;
	data = in + np * (ECC_CRC + shard) * blocks;
	stored = len - np * (ECC_CRC + shard) * blocks;
	if (!(buf = malloc((nd + np) * shard)))
		return -ENOMEM;
	for (size_t i = 0; i < nd + np; i++)
		sh[i] = buf + i * shard;
	for (size_t b = 0; b < blocks; b++) {
		bool all = true;

		for (size_t i = 0; i < nd; i++) {
			size_t at = (b * nd + i) * (ECC_CRC + shard);

			if (at >= stored) { /* padding not stored: zeros */
				memset(sh[i], 0, shard);
				ok[i] = true;
				continue;
			}
			if (stored - at <= ECC_CRC)
				goto out; /* kopia never cuts inside a CRC */
			ok[i] = take_shard(data + at,
					   MIN(shard, stored - at - ECC_CRC),
					   shard, sh[i]);
			all &= ok[i];
		}
		if (!all) {
			for (size_t i = 0; i < np; i++)
				ok[nd + i] = take_shard(
					in + (b * np + i) * (ECC_CRC + shard),
					shard, shard, sh[nd + i]);
			if (rs_rebuild(sh, ok, nd, np, shard) < 0) {
				rc = -EIO; /* too many damaged shards */
				goto out;
			}
		}
		for (size_t i = 0; i < nd; i++) {
			size_t at = (b * nd + i) * (ECC_CRC + shard);

			if (at >= stored)
				break;
			if (o + shard > len)
				goto out;
			memcpy(out + o, sh[i], shard);
			o += shard;
		}
	}
	if (o < ECC_LEN)
		goto out;
	size = be32(out);
	if ((size_t)size > o - ECC_LEN)
		goto out;
	memmove(out, out + ECC_LEN, size);
	rc = (ssize_t)size;
out:
	free(buf);
	return rc;
}
