/* Private to repo/ (and its unit tests and fuzz targets): the parsers of
 * restic's formats, each over bytes already fetched and decrypted, so that
 * they can be tested and fuzzed without a vault or a password.
 *
 * Source of the formats (read, not copied): restic v0.15.0 (the version
 * Velero v1.12.3 ships, its Makefile's RESTIC_VERSION), doc/design.rst
 * and internal/crypto (keys, AES-256-CTR + Poly1305-AES), internal/repository
 * (index JSON, packs and their headers, repository version 2 compression)
 * and internal/restic (tree nodes, snapshots). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/sbuf.h"
#include "repo/repo.h"

#define RESTIC_ID 32	/* SHA-256 */
#define RESTIC_EXTRA 32 /* IV (16) + MAC (16) around every ciphertext */

enum restic_blob_type {
	RESTIC_DATA = 0,
	RESTIC_TREE = 1,
};

/* One blob of the index (or of a pack header). */
struct restic_blob {
	uint8_t id[RESTIC_ID];
	uint8_t type;  /* RESTIC_DATA, RESTIC_TREE */
	uint32_t pack; /* index into the sink's pack ids */
	uint32_t off;  /* in the pack */
	uint32_t len;  /* stored (encrypted) length */
	uint32_t ulen; /* plaintext length (decompressed) */
	bool compressed;
};

/* Index parse callbacks: pack() once per pack of the index (its id), then
 * blob() for each of its blobs (.pack counts the packs seen so far in this
 * index, from 0). Return < 0 to stop. */
struct restic_index_sink {
	int (*pack)(void *ud, const uint8_t id[RESTIC_ID]);
	int (*blob)(void *ud, const struct restic_blob *b);
	void *ud;
};

/* Parses a decrypted, decompressed index file (restic's
 * {"supersedes":[..],"packs":[{"id":..,"blobs":[{"id","type","offset",
 * "length","uncompressed_length"}]}]}, or the legacy top-level array).
 * -EBADMSG (e says where) for anything else. */
int restic_index_parse(const char *json, size_t len,
		       const struct restic_index_sink *sink, struct verror *e);

/* Parses a decrypted pack header (entries: type byte, length, [uncompressed
 * length], id) whose pack is pack_len bytes long and whose header starts
 * at hdr_off: the blobs must lie in [0, hdr_off) one after the other.
 * *out: caller frees. -EBADMSG, -EPROTONOSUPPORT for an unknown type. */
int restic_pack_header_parse(const void *hdr, size_t len, uint64_t hdr_off,
			     struct restic_blob **out, size_t *n,
			     struct verror *e);

/* One node of a tree, as restic_tree_parse() gives it. */
struct restic_node {
	struct ventry ent; /* name, mode, size, mtime, uid, gid, target */
	uint8_t subtree[RESTIC_ID];    /* dirs */
	uint8_t (*content)[RESTIC_ID]; /* files: owned */
	size_t ncontent;
	size_t pos; /* position in the tree's JSON nodes */
};
void restic_node_release(struct restic_node *n);

/* Parses a tree blob ({"nodes":[...]}) into its nodes, in order (restic
 * sorts them by name). Nodes whose names are not one path component, or
 * whose type is not file, dir or symlink (devices, fifos, sockets) are
 * skipped. *out: caller releases each and frees. -EBADMSG. */
int restic_tree_parse(const char *json, size_t len, struct restic_node **out,
		      size_t *n, struct verror *e);

/* Finds the file node at position idx of a tree, without converting the
 * others (for reads: the content list of one file). -ENOENT, -EBADMSG. */
int restic_tree_node(const char *json, size_t len, size_t idx,
		     struct restic_node *out, struct verror *e);

/* The plaintext of an unpacked file (index, snapshot, config) in
 * repository version 2: '{' or '[' starts uncompressed JSON, byte 2 a
 * zstd frame. The JSON is appended to out. -EPROTONOSUPPORT for another
 * leading byte, -EBADMSG for bad zstd. */
int restic_unpacked(const void *p, size_t len, struct sbuf *out,
		    struct verror *e);

/* 64 hex digits → id. -EINVAL. */
int restic_id_parse(const char *s, size_t n, uint8_t id[RESTIC_ID]);
void restic_id_str(const uint8_t id[RESTIC_ID], char out[2 * RESTIC_ID + 1]);
