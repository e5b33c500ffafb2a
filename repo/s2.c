/* repo/s2: a decoder of the S2 stream format (kopia's s2-default,
 * s2-better, s2-parallel-4/8 compressors, which write it with
 * github.com/klauspost/compress/s2's Writer). S2 extends Snappy: the same
 * framing (a stream identifier "S2sTwO" or "sNaPpY", then chunks of
 * compressed or uncompressed data, each with a masked CRC-32C of its
 * decoded bytes) and the same block format, plus blocks of up to 4 MiB and
 * a "repeat" copy (a 1-byte-offset copy with offset 0 reuses the last
 * offset, with longer lengths). Written from the format's description
 * (s2's README and decoder), not copied.
 *
 * What it does not do: encode, use an index chunk (0x99, skipped like every
 * skippable chunk), dictionaries (kopia uses none). No allocation besides
 * the output buffer; every length read from the input is checked. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "repo/kopia_i.h"

#define S2_MAX_BLOCK ((size_t)4 << 20)

/* CRC-32C (Castagnoli), slicing by 8: eight tables of 256 entries, one
 * 64-bit word per step (several times the speed of a byte a step, which
 * held S2 decoding to the CRC's pace) */
static uint32_t crc32c_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc32c_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc32c_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc32c_table[t][i] =
				(crc32c_table[t - 1][i] >> 8) ^
				crc32c_table[0][crc32c_table[t - 1][i] & 0xff];
}

/* Snappy's masked CRC-32C of p[0..n) */
static uint32_t masked_crc(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	pthread_once(&crc_once, crc32c_init);
	while (n >= 8) {
		uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
				   (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 |
			      (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;

		c = crc32c_table[7][lo & 0xff] ^
		    crc32c_table[6][(lo >> 8) & 0xff] ^
		    crc32c_table[5][(lo >> 16) & 0xff] ^
		    crc32c_table[4][lo >> 24] ^ crc32c_table[3][hi & 0xff] ^
		    crc32c_table[2][(hi >> 8) & 0xff] ^
		    crc32c_table[1][(hi >> 16) & 0xff] ^
		    crc32c_table[0][hi >> 24];
		p += 8;
		n -= 8;
	}
	while (n--)
		c = crc32c_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
	c = ~c;
	return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

static uint32_t le(const unsigned char *p, int n)
{
	uint32_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int s2_block_decode(const void *src, size_t len, unsigned char *dst,
		    size_t dcap, size_t *dlen)
{
	const unsigned char *s = src, *end = s + len;
	uint64_t n = 0;
	size_t d = 0, offset = 0;
	int shift = 0;

	/* the decoded length: a uvarint of at most 32 bits */
	for (;;) {
		if (s == end || shift > 28)
			return -EBADMSG;
		n |= (uint64_t)(*s & 0x7f) << shift;
		shift += 7;
		if (!(*s++ & 0x80))
			break;
	}
	if (n > dcap)
		return -EBADMSG;
	while (s < end) {
		unsigned tag = *s & 3;
		size_t length;

		if (tag == 0) { /* literal */
			uint32_t x = *s >> 2;
			int extra = x < 60 ? 0 : (int)x - 59;

			if ((size_t)(end - s) < (size_t)1 + extra)
				return -EBADMSG;
			if (extra)
				x = le(s + 1, extra);
			s += 1 + extra;
			length = (size_t)x + 1;
			if (length > n - d || length > (size_t)(end - s))
				return -EBADMSG;
			memcpy(dst + d, s, length);
			d += length;
			s += length;
			continue;
		}
		if (tag == 1) { /* copy, 1-byte offset; offset 0: repeat */
			size_t off;

			if (end - s < 2)
				return -EBADMSG;
			length = (size_t)(s[0] >> 2 & 7);
			off = (size_t)(s[0] & 0xe0) << 3 | s[1];
			s += 2;
			if (off) {
				offset = off;
			} else if (length >= 5) {
				int extra = (int)length - 4;

				if (end - s < extra)
					return -EBADMSG;
				length = le(s, extra) +
					 (extra == 1 ? 4 :
					  extra == 2 ? (1u << 8) :
						       (1u << 16));
				s += extra;
			}
			length += 4;
		} else if (tag == 2) { /* copy, 2-byte offset */
			if (end - s < 3)
				return -EBADMSG;
			length = (size_t)(s[0] >> 2) + 1;
			offset = le(s + 1, 2);
			s += 3;
		} else { /* copy, 4-byte offset */
			if (end - s < 5)
				return -EBADMSG;
			length = (size_t)(s[0] >> 2) + 1;
			offset = le(s + 1, 4);
			s += 5;
		}
		if (offset == 0 || offset > d || length > n - d)
			return -EBADMSG;
		if (offset >= length) {
			memcpy(dst + d, dst + d - offset, length);
			d += length;
		} else {
			/* overlapping: the bytes repeat with period offset, so
			 * [from, d) can be copied whole, and it doubles */
			size_t from = d - offset, stop = d + length;

			while (d < stop) {
				size_t k = MIN(d - from, stop - d);

				memcpy(dst + d, dst + from, k);
				d += k;
			}
		}
	}
	if (d != n)
		return -EBADMSG;
	*dlen = d;
	return 0;
}

int repo_s2(const void *data, size_t len, struct sbuf *out, struct verror *e)
{
	const unsigned char *p = data, *end = p + len;
	size_t start = out->len;
	bool header = false;
	int r = 0;

	while (p < end) {
		unsigned type;
		size_t clen, dlen = 0;
		unsigned char *dst;
		uint32_t want;

		if (end - p < 4) {
			r = verror_set(e, -EBADMSG, "s2: truncated chunk");
			break;
		}
		type = p[0];
		clen = le(p + 1, 3);
		p += 4;
		if (clen > (size_t)(end - p)) {
			r = verror_set(e, -EBADMSG, "s2: truncated chunk");
			break;
		}
		if (!header && type != 0xff) {
			r = verror_set(e, -EBADMSG, "s2: no stream identifier");
			break;
		}
		if (type == 0xff) {
			if (clen != 6 || (memcmp(p, "S2sTwO", 6) &&
					  memcmp(p, "sNaPpY", 6))) {
				r = verror_set(e, -EBADMSG,
					       "s2: bad stream identifier");
				break;
			}
			header = true;
		} else if (type == 0 || type == 1) {
			size_t room = out->max - out->len;
			size_t cap = MIN(S2_MAX_BLOCK, room);

			if (clen < 4) {
				r = verror_set(e, -EBADMSG, "s2: short chunk");
				break;
			}
			want = le(p, 4);
			if (type == 1 && clen - 4 > cap) {
				r = verror_set(e, -EBADMSG,
					       "s2: more than %zu bytes",
					       out->max);
				break;
			}
			if (!(dst = (unsigned char *)sbuf_reserve(
				      out, type == 1 ? clen - 4 : cap, &r)))
				break;
			if (type == 1) {
				memcpy(dst, p + 4, clen - 4);
				dlen = clen - 4;
			} else if (s2_block_decode(p + 4, clen - 4, dst, cap,
						   &dlen) < 0) {
				r = verror_set(e, -EBADMSG,
					       cap < S2_MAX_BLOCK ?
						       "s2: corrupt block or "
						       "more than the cap" :
						       "s2: corrupt block");
				break;
			}
			if (masked_crc(dst, dlen) != want) {
				r = verror_set(e, -EBADMSG,
					       "s2: checksum mismatch");
				break;
			}
			sbuf_commit(out, dlen);
		} else if (type < 0x80) {
			r = verror_set(e, -EBADMSG,
				       "s2: reserved chunk type %#x", type);
			break;
		} /* 0x80..0xfe: skippable (index, padding) */
		p += clen;
	}
	if (r < 0)
		out->len = start;
	return r;
}
