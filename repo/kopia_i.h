/* Private to repo/ (and its unit tests and fuzz targets): the parsers of
 * kopia's formats, each over bytes already fetched and decrypted, so that
 * they can be tested and fuzzed without a vault or a password.
 *
 * Sources of the formats (read, not copied): kopia's repo/format
 * (kopia.repository), internal/crypto (key derivation, the format blob's
 * AES-256-GCM), repo/encryption and repo/hashing (content keys and ids),
 * repo/content/index/index_v2.go (index blobs), internal/blobcrypto (blob
 * IVs), repo/object (object ids, indirect objects), repo/manifest and
 * snapshot/manifest.go (manifests, directories), repo/compression (the
 * 4-byte compression headers), at the kopia fork Velero v1.17.2 pins. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "common/sbuf.h"
#include "repo/repo.h"

/* A content id as the index keys it: the prefix letter ('g'..'z', or 0
 * for none) and the hash bytes. */
#define KOPIA_MAX_HASH 32
struct kopia_cid {
	uint8_t prefix;
	uint8_t len; /* hash bytes, 1..KOPIA_MAX_HASH */
	uint8_t hash[KOPIA_MAX_HASH];
};

/* One index entry, after parsing. pack is an index into the packs the
 * parse callback was given. */
struct kopia_ientry {
	struct kopia_cid id;
	uint32_t ts; /* seconds */
	bool deleted;
	uint32_t pack_off; /* offset of the content in its pack */
	uint32_t packed_len;
	uint32_t orig_len;
	uint32_t comp; /* compression header id, 0: none */
	uint8_t format_version;
	uint8_t key_id; /* encryption key id: 0 only */
	uint32_t pack;	/* index into the blob's pack names */
};

/* Called once per pack name (in order: the entries' .pack index them),
 * then once per entry. Return < 0 to stop. */
struct kopia_index_sink {
	int (*pack)(void *ud, const char *name, size_t len);
	int (*entry)(void *ud, const struct kopia_ientry *ie);
	void *ud;
};

/* Parses a decrypted index blob of version 2 (kopia's index_v2.go).
 * -EPROTONOSUPPORT for another version, -EBADMSG (e says where) for a
 * short or inconsistent one: every offset is checked. */
int kopia_index_parse(const void *data, size_t len,
		      const struct kopia_index_sink *sink, struct verror *e);

/* "k0123..."/"0123..." (odd length: a prefix letter) → id. -EINVAL. */
int kopia_cid_parse(const char *s, size_t n, struct kopia_cid *out);

/* An object id: indirection count ('I'...), compressed ('Z'), content. */
struct kopia_oid {
	unsigned indirect;
	bool compressed;
	struct kopia_cid cid;
};
int kopia_oid_parse(const char *s, struct kopia_oid *out);

/* One entry of an indirect object's index. */
struct kopia_chunk {
	uint64_t start, len;
	char oid[80];
};
/* Parses {"stream":"kopia:indirect","entries":[{"s":..,"l":..,"o":..}]}.
 * The chunks must be contiguous from 0 (-EBADMSG otherwise). *out:
 * caller frees. */
int kopia_indirect_parse(const char *json, size_t len, struct kopia_chunk **out,
			 size_t *n, struct verror *e);

/* Parses a directory object ({"stream":"kopia:directory","entries":..})
 * into entries sorted by name (caller releases each and frees). Entries
 * with names that are not a single path component ("", ".", "..", '/',
 * NUL) are skipped. */
int kopia_dir_parse(const char *json, size_t len, struct ventry **out,
		    size_t *n, struct verror *e);

/* Finds the snapshot manifest id in a manifest content (after gunzip:
 * {"entries":[{"id":..,"labels":..,"modified":..,"deleted":..,
 * "data":{...}}]}). When found, *found is set to its modified time (ns),
 * *deleted to its deleted flag and root to its rootEntry. 0 whether found
 * or not, -EBADMSG when the JSON is not a manifest content. */
int kopia_manifest_find(const char *json, size_t len, const char *id,
			bool *found, int64_t *modified, bool *deleted,
			struct ventry *root, struct verror *e);

/* One dir entry JSON object → ventry (name checked). -EBADMSG. */
struct json_t;
int kopia_entry_from_json(const struct json_t *o, struct ventry *out);

/* Decompresses data[0..len) whose 4-byte compression header is hdr
 * (already stripped) into out (appended, capped by out->max).
 * -EPROTONOSUPPORT for a compressor velerofs does not know, -EBADMSG for
 * bad data. */
int kopia_decompress(uint32_t hdr, const void *data, size_t len,
		     struct sbuf *out, struct verror *e);

/* s2.c: an S2 (Snappy-framed) stream, kopia's s2-* compressors, appended
 * to out (capped by out->max; on failure out is back at its length).
 * -EBADMSG (e says why) for bad data or a checksum mismatch. */
int repo_s2(const void *data, size_t len, struct sbuf *out, struct verror *e);
/* One S2/Snappy block (no framing) into dst[0..dcap): *dlen its length.
 * -EBADMSG when it is corrupt or decodes to more than dcap bytes. */
int s2_block_decode(const void *src, size_t len, unsigned char *dst,
		    size_t dcap, size_t *dlen);

/* blake3.c: BLAKE3 keyed hash of data[0..len) under a 32-byte key, and
 * BLAKE3 key derivation (context string, key material); 32-byte outputs. */
void blake3_keyed(const unsigned char key[32], const void *data, size_t len,
		  unsigned char out[32]);
void blake3_derive_key(const char *context, const void *material, size_t len,
		       unsigned char out[32]);

/* ecc.c: strips kopia's REED-SOLOMON-CRC32 error correction (repo/ecc)
 * from a stored content or blob of len bytes written with overhead
 * percent: the data shards, each checked against its CRC-32 and rebuilt
 * from the parity when damaged, without the length prefix, into out (len
 * bytes). Returns the length, -EIO when more shards of a block are damaged
 * than its parity covers, -EBADMSG when the layout does not fit. */
ssize_t kopia_ecc_decode(int overhead, const unsigned char *in, size_t len,
			 unsigned char *out);
