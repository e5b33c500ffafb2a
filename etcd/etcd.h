/* etcd: an etcd snapshot (`etcdctl snapshot save`) read as the objects
 * kube-apiserver stored in it. Read-only, no FUSE, no vault: the caller
 * hands in a reader (a local file, ranges of a remote object).
 *
 * Three layers, one header:
 *   bbolt.c + mvcc.c   the bbolt file and etcd's revision store
 *                      (bucket "key": revision -> mvccpb.KeyValue)
 *   k8s.c + k8s_types.c  kube-apiserver's value encodings (JSON, the
 *                      "k8s\0" protobuf envelope decoded with tables
 *                      generated from the Kubernetes API types),
 *                      storage paths -> namespace/resource/name
 *   crypt.c            encryption at rest (EncryptionConfiguration:
 *                      aescbc, aesgcm, secretbox; KMS recognised)
 *
 * Nothing here trusts the snapshot: every offset, length and count is
 * checked against the file before use; a bad file is an error with a
 * message, never a crash. Thread-safety: a struct etcd_snapshot is used
 * by one thread at a time. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/sbuf.h"

/* --- the file ------------------------------------------------------------ */

/* Reads len bytes at off into buf: 0, or -errno with detail in e (short
 * reads are errors: the caller knows the size). */
typedef int etcd_pread_fn(void *ud, void *buf, size_t len, uint64_t off,
			  struct verror *e);

struct etcd_reader {
	etcd_pread_fn *pread;
	void *ud;
	uint64_t size; /* bytes in the file */
	/* Optional: the whole file in memory (size bytes, e.g. a local file
	 * mmap'ed read-only), valid until the snapshot is freed. Pages are
	 * then used in place: no copy, no page cache (pread is not called).
	 * A mapped file must not shrink while mapped (SIGBUS). */
	const void *map;
};

/* True when the first bytes of a file (at least 4096 of them, or the
 * whole file when shorter) are a bbolt database's first meta page:
 * recognising snapshots by content, not by name. Only page 0's type,
 * magic and version are looked at (24 bytes): a snapshot whose meta page
 * 0 is damaged (open() then uses page 1) is not recognised. */
bool etcd_sniff(const void *head, size_t len);

struct etcd_snapshot;

/* Opens a snapshot: both meta pages checked (magic, version, checksum,
 * and that the pages they count are in the file), the valid one with the
 * higher txid used; the "key" bucket found. Reads a few hundred bytes;
 * the rest is read when listed. The reader is copied; its ud must outlive
 * the snapshot. -EINVAL "not a bbolt database", -EBADMSG "bbolt database
 * without etcd's key bucket" or a corrupt or truncated file (the message
 * says which), -ENOMEM, or the reader's error.
 *
 * Memory: pages are read in 1 MiB chunks kept in a cache of at most
 * 512 MiB (least recently used dropped first), plus, once listed, about
 * 50 bytes and the key for every distinct key. */
int etcd_snapshot_open(const struct etcd_reader *r, struct etcd_snapshot **out,
		       struct verror *e);
struct etcd_snapshot *etcd_snapshot_free(struct etcd_snapshot *s);
/* Sets the page cache's budget (default 512 MiB; at least 4 MiB is
 * kept). A listing reads the key bucket in file order, then each key's
 * newest revision in key order: with a budget below the key bucket's
 * size the second pass reads chunks again (fine for a local file, slow
 * for a remote one). Returns 0; may be called at any time. */
int etcd_snapshot_set_cache(struct etcd_snapshot *s, size_t bytes);

/* The SHA-256 that `etcdctl snapshot save` leaves at the end of the file
 * (etcd's snapshot stream ends with it; `etcdutl snapshot restore`
 * refuses a file where it does not match): 1 when present and right, 0
 * when the file has none (etcdutl's rule: size % 512 != 32, e.g. a copy of
 * a member's db file), -EBADMSG when it does not match (both digests in
 * the message), or the reader's error. Reads the whole file, once per
 * call. */
int etcd_snapshot_verify(struct etcd_snapshot *s, struct verror *e);
/* The same check on a file that may not even open as a snapshot (a page
 * damaged on the way): the digest covers every byte. */
int etcd_reader_verify(const struct etcd_reader *rd, struct verror *e);

/* What `etcdutl snapshot status` prints (the first five, computed as
 * etcdutl's snapshot.Status() does), and what else the file says. */
struct etcd_status {
	uint32_t hash;		  /* CRC-32C over every top-level bucket's name,
				   * keys and values, in order */
	int64_t revision;	  /* main revision of the last key of "key" */
	uint64_t total_keys;	  /* live keys (a tombstone deletes) */
	uint64_t size;		  /* bytes in use: high-water mark x page size
				   * (bbolt's tx.Size(), not the file's size) */
	char version[32];	  /* storage version ("3.6.0"), "" if unknown
				   * (etcd < 3.6 or not semver) */
	int64_t compacted;	  /* meta scheduledCompactRev, 0 if none */
	int64_t compact_finished; /* meta finishedCompactRev, 0 if none */
	uint64_t consistent_index, term; /* meta consistent_index, term */
	uint64_t file_size;		 /* the reader's size */
	uint64_t page_size;
	uint64_t txid; /* of the meta page in use */
	int meta_page; /* 0 or 1: the meta page in use */
};
int etcd_snapshot_status(struct etcd_snapshot *s, struct etcd_status *out,
			 struct verror *e);
/* Appends the line `etcdutl snapshot status` prints (its default, simple
 * format): "<hash hex>, <revision>, <keys>, <size as go-humanize>,
 * <version>\n". */
int etcd_status_format(const struct etcd_status *st, struct sbuf *out);

/* One key at its newest live revision (tombstoned keys are not
 * reported). Bytes borrowed for the callback. */
struct etcd_kv {
	const char *key; /* not NUL-terminated */
	size_t key_len;
	const void *value;
	size_t value_len;
	int64_t create_revision, mod_revision, version, lease;
};
/* Return < 0 from the callback to stop with that value. */
typedef int etcd_kv_fn(void *ud, const struct etcd_kv *kv);

/* Calls fn for every live key in key order (bytewise, as etcd sorts). The
 * first call reads the "key" bucket once and keeps where each key's
 * newest revision is; later calls (and status) reuse that. Damage that
 * affects single keys (a value that is not a KeyValue message, a bad
 * revision key) is reported through problem (may be NULL) on every call
 * and skipped; damage to the tree itself fails with -EBADMSG. */
typedef void etcd_problem_fn(void *ud, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int etcd_snapshot_each(struct etcd_snapshot *s, etcd_kv_fn *fn,
		       etcd_problem_fn *problem, void *ud, struct verror *e);

/* --- kube-apiserver's keys and values ------------------------------------ */

/* Where an apiserver key goes in the tree: "/registry/deployments/shop/web"
 * -> ns "shop", gr "deployments.apps", name "web". Handles the storage
 * paths' exceptions (services/specs, services/endpoints, minions,
 * resources stored under another group's prefix, CRDs'
 * /registry/<group>/<resource>/). Fills out with pointers into buf. */
struct k8s_key {
	const char *ns; /* NULL when cluster-scoped */
	const char *gr; /* Velero's directory name: "deployments.apps" */
	const char *name;
	bool known; /* false: not an object key velerofs can place
		     * (it is still shown in the raw view) */
};
int k8s_key_parse(const char *key, size_t len, char *buf, size_t bufsz,
		  struct k8s_key *out);

/* Decodes one stored value (already decrypted) into the JSON object
 * `kubectl get -o json` shows: JSON values pass through, "k8s\0"
 * protobuf values are decoded with the generated tables. 0 and json
 * filled; problems (fields skipped: an unknown field or type) are lines
 * appended to notes, the value still decoded as far as it is known.
 * -EBADMSG when the value can't be decoded at all (message in e). */
int k8s_value_to_json(const void *val, size_t len, struct sbuf *json,
		      struct sbuf *notes, struct verror *e);
/* k8s_value_to_json() and what the apiserver adds on every read:
 * metadata.resourceVersion, which is not stored (it is the key's
 * mod_revision, etcd_kv.mod_revision). The JSON of `kubectl get -o json`,
 * value for value. */
int k8s_object_to_json(const void *val, size_t len, int64_t mod_revision,
		       struct sbuf *json, struct sbuf *notes, struct verror *e);

/* The other way (k8s_enc.c): a JSON object of a built-in kind into the
 * protobuf kube-apiserver reads with Content-Type
 * application/vnd.kubernetes.protobuf ("k8s\0" + runtime.Unknown{
 * typeMeta, raw, "", ""}), appended to out. Exact or nothing: the API
 * server decodes from it what it decodes from the JSON text jansson
 * writes of obj (JSON_COMPACT | JSON_ENCODE_ANY, as kube_request()
 * sends it), or the call fails and the caller sends that JSON: -ENOENT
 * for a kind not in the tables (custom resources), -EOPNOTSUPP with e
 * naming the field and why for anything the encoder can't carry over
 * exactly (an unknown field, a value Go would read otherwise or refuse,
 * ...), -EINVAL for no apiVersion/kind, -ENOMEM/-E2BIG. out is left as
 * it was on failure. */
int k8s_json_to_value(json_t *obj, struct sbuf *out, struct verror *e);

/* True when apiVersion/kind is a kind of the tables (a built-in one of
 * Kubernetes 1.34, which kube-apiserver also reads and writes as
 * protobuf; custom resources are not). */
bool k8s_kind_known(const char *api_version, const char *kind);

/* --- encryption at rest --------------------------------------------------- */

struct etcd_crypt;

/* Reads an EncryptionConfiguration (YAML or JSON, as given to
 * kube-apiserver's --encryption-provider-config). */
int etcd_crypt_load(const char *path, struct etcd_crypt **out,
		    struct verror *e);
struct etcd_crypt *etcd_crypt_free(struct etcd_crypt *c);

/* True when the value starts with "k8s:enc:". */
bool etcd_value_encrypted(const void *val, size_t len);

/* Decrypts a "k8s:enc:<provider>:v1:<keyname>:" value into out, as
 * kube-apiserver v1.34 (k8s.io/apiserver pkg/storage/value/encrypt)
 * does. key is the value's etcd key, whole (with the apiserver's
 * --etcd-prefix, "/registry/secrets/ns/name"): aesgcm authenticates it
 * as additional data (a value moved to another key does not decrypt);
 * aescbc and secretbox do not use it. gr is the resource the key holds,
 * as k8s_key_parse() names it ("secrets", "deployments.apps"), or NULL:
 * the configuration's entry for that resource is tried first, as the
 * apiserver picks providers per resource; then every other key of that
 * provider and name (aesgcm and secretbox authenticate; an aescbc
 * result must unpad and start like a stored value, "k8s\0" or "{").
 * c may be NULL (no configuration given). -ENOKEY with a message naming
 * provider and key when there is no key for it (or c is NULL),
 * -EOPNOTSUPP "encrypted with KMS provider <name>" for kms v1/v2,
 * -EBADMSG when authentication or padding fails, -EINVAL for a value
 * that is not "k8s:enc:" or names an unknown provider. */
int etcd_crypt_decrypt(const struct etcd_crypt *c, const char *key,
		       size_t key_len, const char *gr, const void *val,
		       size_t len, struct sbuf *out, struct verror *e);

/* --- the control plane's PKI directory --------------------------------- */

/* One file of a backed-up /etc/kubernetes/pki directory (kubeadm's
 * layout: ca.crt, apiserver.key, sa.pub, front-proxy-*, etcd/...). */
struct etcd_pki_file {
	const char *name; /* path relative to the pki directory: "etcd/ca.crt"
			   */
	const void *data;
	size_t len;
	bool private_key; /* out: holds a private key (mount it 0400) */
};

/* True when data holds a PEM private key block (PRIVATE KEY, RSA/EC
 * PRIVATE KEY, ENCRYPTED PRIVATE KEY, OPENSSH PRIVATE KEY). */
bool etcd_pki_private_key(const void *data, size_t len);

/* Writes certificates.txt, the auditor's view of the files (sorted by
 * name): per certificate subject, issuer, SANs, serial, not before/after
 * (UTC), days until expiry counted from at (Unix seconds: the snapshot's
 * time, so that the text does not depend on when it is written and never
 * goes stale; negative: expired by then), key type and size, CA or not, usage,
 * which files hold its issuer (the signature checked) and its private key; for
 * a key file its type and size and the files with the matching certificate or
 * other half; a file with no readable PEM a line saying so. Sets each file's
 * private_key. 0, -ENOMEM or -E2BIG. */
int etcd_pki_report(struct etcd_pki_file *files, size_t n, int64_t at,
		    struct sbuf *out, struct verror *e);
