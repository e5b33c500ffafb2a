/* repo/blake3: BLAKE3's keyed hash and key derivation with a 32-byte
 * output, what kopia's BLAKE3-256 and BLAKE3-256-128 content hashes need
 * (repo/hashing/blake3_hashes.go: keyed with the repository's HMAC secret,
 * or with a key derived from it when the secret is shorter than 32 bytes).
 * Written from the BLAKE3 specification (the portable reference
 * algorithm: 7-round compression, 1 KiB chunks, a binary tree of parent
 * nodes); Debian ships no C library of it. Checked against the official
 * test vectors in tests/unit/test_kopia.c.
 *
 * What it does not do: the plain (unkeyed) mode's public entry point,
 * extended output, SIMD. One-shot over a buffer; no allocation. */
#include <stdint.h>
#include <string.h>

#include "repo/kopia_i.h"

enum {
	CHUNK_START = 1,
	CHUNK_END = 2,
	PARENT = 4,
	ROOT = 8,
	KEYED_HASH = 16,
	DERIVE_KEY_CONTEXT = 32,
	DERIVE_KEY_MATERIAL = 64,
};

#define BLOCK_LEN 64
#define CHUNK_LEN 1024

static const uint32_t IV[8] = { 0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
				0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19 };
/* the message word order of each round: the permutation
 * 2,6,3,10,7,0,4,13,1,11,12,5,9,14,15,8 applied round after round */
static const uint8_t SCHED[7][16] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
	{ 2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8 },
	{ 3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1 },
	{ 10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6 },
	{ 12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4 },
	{ 9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7 },
	{ 11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13 },
};

static inline uint32_t rotr(uint32_t x, int n)
{
	return x >> n | x << (32 - n);
}

static inline void g(uint32_t *s, int a, int b, int c, int d, uint32_t x,
		     uint32_t y)
{
	s[a] += s[b] + x;
	s[d] = rotr(s[d] ^ s[a], 16);
	s[c] += s[d];
	s[b] = rotr(s[b] ^ s[c], 12);
	s[a] += s[b] + y;
	s[d] = rotr(s[d] ^ s[a], 8);
	s[c] += s[d];
	s[b] = rotr(s[b] ^ s[c], 7);
}

/* out[0..8) = the chaining value of compressing block m with cv */
static void compress(const uint32_t cv[8], const uint32_t m_in[16],
		     uint64_t counter, uint32_t len, uint32_t flags,
		     uint32_t out[8])
{
	uint32_t s[16];

	memcpy(s, cv, 32);
	memcpy(s + 8, IV, 16);
	s[12] = (uint32_t)counter;
	s[13] = (uint32_t)(counter >> 32);
	s[14] = len;
	s[15] = flags;
	for (int r = 0; r < 7; r++) {
		const uint8_t *x = SCHED[r];

		g(s, 0, 4, 8, 12, m_in[x[0]], m_in[x[1]]);
		g(s, 1, 5, 9, 13, m_in[x[2]], m_in[x[3]]);
		g(s, 2, 6, 10, 14, m_in[x[4]], m_in[x[5]]);
		g(s, 3, 7, 11, 15, m_in[x[6]], m_in[x[7]]);
		g(s, 0, 5, 10, 15, m_in[x[8]], m_in[x[9]]);
		g(s, 1, 6, 11, 12, m_in[x[10]], m_in[x[11]]);
		g(s, 2, 7, 8, 13, m_in[x[12]], m_in[x[13]]);
		g(s, 3, 4, 9, 14, m_in[x[14]], m_in[x[15]]);
	}
	for (int i = 0; i < 8; i++)
		out[i] = s[i] ^ s[i + 8];
}

static void words(const unsigned char *p, size_t n, uint32_t w[16])
{
	unsigned char b[BLOCK_LEN] = { 0 };

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (n == BLOCK_LEN) { /* the common case: the words as they lie */
		memcpy(w, p, BLOCK_LEN);
		return;
	}
#endif
	memcpy(b, p, n);
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 |
		       (uint32_t)b[4 * i + 2] << 16 |
		       (uint32_t)b[4 * i + 3] << 24;
}

/* The last block of a chunk or a parent, not yet compressed: the root
 * flag is added only to the very last one. */
struct output {
	uint32_t cv[8];
	uint32_t block[16];
	uint64_t counter;
	uint32_t len, flags;
};

/* Compresses all but the last block of chunk c[0..n) (n >= 1 unless the
 * whole input is empty) and returns that last block as an output. */
static void chunk_output(const uint32_t key[8], uint32_t flags,
			 const unsigned char *c, size_t n, uint64_t idx,
			 struct output *o)
{
	uint32_t cv[8], w[16];
	uint32_t start = CHUNK_START;

	memcpy(cv, key, 32);
	while (n > BLOCK_LEN) {
		words(c, BLOCK_LEN, w);
		compress(cv, w, idx, BLOCK_LEN, flags | start, cv);
		start = 0;
		c += BLOCK_LEN;
		n -= BLOCK_LEN;
	}
	memcpy(o->cv, cv, 32);
	words(c, n, o->block);
	o->counter = idx;
	o->len = (uint32_t)n;
	o->flags = flags | start | CHUNK_END;
}

static void parent_output(const uint32_t key[8], uint32_t flags,
			  const uint32_t l[8], const uint32_t r[8],
			  struct output *o)
{
	memcpy(o->cv, key, 32);
	memcpy(o->block, l, 32);
	memcpy(o->block + 8, r, 32);
	o->counter = 0;
	o->len = BLOCK_LEN;
	o->flags = flags | PARENT;
}

static void hash(const uint32_t key[8], uint32_t flags, const void *data,
		 size_t len, unsigned char out[32])
{
	/* one chaining value per level of a tree of up to 2^54 chunks */
	uint32_t stack[54][8], cv[8];
	const unsigned char *p = data;
	size_t depth = 0;
	uint64_t chunks = 0;
	struct output o;

	/* every chunk but the last: merge completed subtrees as the
	 * reference's add_chunk_chaining_value does */
	while (len > CHUNK_LEN) {
		uint64_t total;

		chunk_output(key, flags, p, CHUNK_LEN, chunks, &o);
		compress(o.cv, o.block, o.counter, o.len, o.flags, cv);
		total = ++chunks;
		while (!(total & 1)) {
			parent_output(key, flags, stack[--depth], cv, &o);
			compress(o.cv, o.block, o.counter, o.len, o.flags, cv);
			total >>= 1;
		}
		memcpy(stack[depth++], cv, 32);
		p += CHUNK_LEN;
		len -= CHUNK_LEN;
	}
	chunk_output(key, flags, p, len, chunks, &o);
	while (depth > 0) {
		compress(o.cv, o.block, o.counter, o.len, o.flags, cv);
		parent_output(key, flags, stack[--depth], cv, &o);
	}
	compress(o.cv, o.block, o.counter, o.len, o.flags | ROOT, cv);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (unsigned char)cv[i];
		out[4 * i + 1] = (unsigned char)(cv[i] >> 8);
		out[4 * i + 2] = (unsigned char)(cv[i] >> 16);
		out[4 * i + 3] = (unsigned char)(cv[i] >> 24);
	}
}

void blake3_keyed(const unsigned char key[32], const void *data, size_t len,
		  unsigned char out[32])
{
	uint32_t k[8];

	for (int i = 0; i < 8; i++)
		k[i] = (uint32_t)key[4 * i] | (uint32_t)key[4 * i + 1] << 8 |
		       (uint32_t)key[4 * i + 2] << 16 |
		       (uint32_t)key[4 * i + 3] << 24;
	hash(k, KEYED_HASH, data, len, out);
}

void blake3_derive_key(const char *context, const void *material, size_t len,
		       unsigned char out[32])
{
	unsigned char ck[32];
	uint32_t k[8];

	hash(IV, DERIVE_KEY_CONTEXT, context, strlen(context), ck);
	for (int i = 0; i < 8; i++)
		k[i] = (uint32_t)ck[4 * i] | (uint32_t)ck[4 * i + 1] << 8 |
		       (uint32_t)ck[4 * i + 2] << 16 |
		       (uint32_t)ck[4 * i + 3] << 24;
	hash(k, DERIVE_KEY_MATERIAL, material, len, out);
}
