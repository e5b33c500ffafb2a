/* repo/kopia: a kopia repository (Velero's kopia uploader, kopia/<ns>/ in
 * the vault), read-only: the format blob and its keys, the index, the
 * contents in packs (ranged reads), objects (direct, indirect, 'Z'),
 * directories and snapshot manifests. The parsers are in kopia_parse.c.
 *
 * What it does not do: write, verify packs' local indexes (the index
 * blobs are used); restic repositories (restic.c). Format version 1
 * (kopia before v0.9: index v1 in n blobs) is read too. s2 compression is in
 * s2.c, the BLAKE3 hashes in blake3.c, error correction in ecc.c.
 *
 * Memory: the merged index (about 60 bytes per content) for the life of
 * the struct vrepo, and a small LRU of decrypted contents (directories,
 * indirect indexes, file chunks) so that sequential reads of a chunk do
 * not fetch it again. With a cache, what is fetched from the vault (index
 * blobs, pack ranges: still encrypted) is kept there too, keyed by the
 * vault, the blob and the range (blob ids name their content, so an entry
 * never goes stale). The format blob and the list of index blobs can
 * change: read from the vault, with the last copy seen kept in the cache
 * for when the vault can't be reached (offline.c), so that a repository
 * whose blobs are cached opens offline. */
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/cache.h"
#include "common/base64.h"
#include "repo/kopia_i.h"
#include "repo/repo_i.h"

#define FORMAT_BLOB "kopia.repository"
#define FORMAT_MAX ((size_t)1 << 20)
#define INDEX_BLOB_MAX ((size_t)256 << 20)
#define CONTENT_MAX ((size_t)64 << 20) /* kopia's max content is 2^28 */
#define DIR_MAX ((size_t)512 << 20)
#define LRU_SLOTS 16
#define IND_SLOTS 4
#define FLIGHT_SLOTS 16
#define PREFETCH_MAX 2 /* chunks fetched ahead of a reader at once */

enum kopia_enc { ENC_AES_GCM, ENC_CHACHA };

struct kidx {
	struct kopia_cid id;
	uint32_t ts;
	bool deleted;
	uint32_t pack; /* index into r->packs */
	uint32_t off, packed, orig, comp;
};

struct lru_slot {
	struct kopia_cid id;
	char *data; /* owned */
	size_t len;
	uint64_t used; /* tick of the last use; 0: empty */
};

struct ind_slot {
	char oid[80];
	struct kopia_chunk *ch; /* owned; NULL: empty */
	size_t n;
};

struct kopia_repo {
	struct vault *v; /* borrowed */
	struct cache *c; /* borrowed, may be NULL */
	char *prefix;	 /* "kopia/ns/" */
	enum kopia_enc enc;
	unsigned char enc_secret[32];
	unsigned char hmac_secret[64];
	size_t hmac_len;
	const char *hash_mac; /* OpenSSL MAC or digest name; NULL: BLAKE3 */
	bool hash_is_hmac;
	unsigned char blake3_key[32]; /* BLAKE3-256*: the keyed hash's key */
	int ecc_overhead;  /* REED-SOLOMON-CRC32's percent; 0: no ECC */
	bool legacy_index; /* format version 1: n index blobs, no epochs */
	size_t hash_size, hash_trunc;
	/* the merged index, sorted by id; read-only after open */
	struct kidx *idx;
	size_t nidx;
	char **packs; /* pack blob ids, owned */
	size_t npacks, packs_cap;
	/* the content cache */
	pthread_mutex_t lock;
	struct lru_slot lru[LRU_SLOTS]; /* protected by lock */
	uint64_t tick;			/* protected by lock */
	struct ind_slot ind[IND_SLOTS]; /* protected by lock */
	unsigned ind_next;		/* protected by lock */
	/* contents being fetched: a second reader of one waits for the
	 * first (the kernel's readahead sends several reads of one chunk
	 * at once; each fetched and decrypted it) */
	struct kopia_cid flight[FLIGHT_SLOTS]; /* protected by lock */
	bool flight_busy[FLIGHT_SLOTS];	       /* protected by lock */
	pthread_cond_t flight_done;	       /* with lock */
	unsigned prefetching; /* protected by lock: prefetch threads running */
};

/* --- crypto ----------------------------------------------------------------
 */

static int hkdf(const void *key, size_t klen, const void *salt, size_t slen,
		const char *info, unsigned char *out, size_t olen)
{
	EVP_PKEY_CTX *p = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	int ok;

	if (!p)
		return -ENOMEM;
	ok = EVP_PKEY_derive_init(p) > 0 &&
	     EVP_PKEY_CTX_set_hkdf_md(p, EVP_sha256()) > 0 &&
	     EVP_PKEY_CTX_set1_hkdf_salt(p, salt, (int)slen) > 0 &&
	     EVP_PKEY_CTX_set1_hkdf_key(p, key, (int)klen) > 0 &&
	     EVP_PKEY_CTX_add1_hkdf_info(p, (const unsigned char *)info,
					 (int)strlen(info)) > 0 &&
	     EVP_PKEY_derive(p, out, &olen) > 0;
	EVP_PKEY_CTX_free(p);
	return ok ? 0 : -EIO;
}

/* AEAD open of nonce(12) || ciphertext || tag(16) with aad. Returns the
 * plaintext length or -EBADMSG when authentication fails. */
static ssize_t aead_open(const EVP_CIPHER *ciph, const unsigned char *key,
			 const unsigned char *in, size_t len,
			 const unsigned char *aad, size_t aadlen,
			 unsigned char *out)
{
	EVP_CIPHER_CTX *x;
	int n = 0, m = 0, ok;

	if (len < 12 + 16 || len - 28 > INT32_MAX)
		return -EBADMSG;
	if (!(x = EVP_CIPHER_CTX_new()))
		return -ENOMEM;
	ok = EVP_DecryptInit_ex(x, ciph, NULL, NULL, NULL) > 0 &&
	     EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) > 0 &&
	     EVP_DecryptInit_ex(x, NULL, NULL, key, in) > 0 &&
	     EVP_DecryptUpdate(x, NULL, &n, aad, (int)aadlen) > 0 &&
	     EVP_DecryptUpdate(x, out, &n, in + 12, (int)(len - 28)) > 0 &&
	     EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, 16,
				 (void *)(in + len - 16)) > 0 &&
	     EVP_DecryptFinal_ex(x, out + n, &m) > 0;
	EVP_CIPHER_CTX_free(x);
	return ok ? (ssize_t)(n + m) : -EBADMSG;
}

/* Decrypts a content or blob whose IV is iv (16 bytes): the key is
 * HMAC-SHA256(encryption secret, iv), the AAD the iv. With error
 * correction, its shards are checked and stripped first (format_provider:
 * the ECC wraps the encryption). */
static ssize_t content_open(const struct kopia_repo *r, const unsigned char *iv,
			    const void *in, size_t len, unsigned char *out)
{
	unsigned char key[32], *plain = NULL;
	unsigned int klen = sizeof(key);
	ssize_t n;

	if (!HMAC(EVP_sha256(), r->enc_secret, sizeof(r->enc_secret), iv, 16,
		  key, &klen))
		return -EIO;
	if (r->ecc_overhead) {
		if (!(plain = malloc(len ? len : 1)))
			return -ENOMEM;
		n = kopia_ecc_decode(r->ecc_overhead, in, len, plain);
		if (n < 0) {
			free(plain);
			return -EBADMSG;
		}
		in = plain;
		len = (size_t)n;
	}
	n = aead_open(r->enc == ENC_AES_GCM ? EVP_aes_256_gcm() :
					      EVP_chacha20_poly1305(),
		      key, in, len, iv, 16, out);
	free(plain);
	return n;
}

/* The repository's hash of data (kopia's repo/hashing), truncated. */
static int content_hash(const struct kopia_repo *r, const void *data,
			size_t len, unsigned char *out)
{
	unsigned char full[EVP_MAX_MD_SIZE];
	size_t n = 0;

	if (!r->hash_mac) {
		blake3_keyed(r->blake3_key, data, len, full);
		n = 32;
	} else if (r->hash_is_hmac) {
		unsigned int m = sizeof(full);

		if (!HMAC(EVP_get_digestbyname(r->hash_mac), r->hmac_secret,
			  (int)r->hmac_len, data, len, full, &m))
			return -EIO;
		n = m;
	} else {
		EVP_MAC *mac = EVP_MAC_fetch(NULL, r->hash_mac, NULL);
		EVP_MAC_CTX *x = mac ? EVP_MAC_CTX_new(mac) : NULL;
		size_t sz = r->hash_size;
		OSSL_PARAM p[] = {
			OSSL_PARAM_size_t(OSSL_MAC_PARAM_SIZE, &sz),
			OSSL_PARAM_END,
		};
		int ok = x && EVP_MAC_init(x, r->hmac_secret, r->hmac_len, p) &&
			 EVP_MAC_update(x, data, len) &&
			 EVP_MAC_final(x, full, &n, sizeof(full));

		EVP_MAC_CTX_free(x);
		EVP_MAC_free(mac);
		if (!ok)
			return -EIO;
	}
	if (n < r->hash_trunc)
		return -EIO;
	memcpy(out, full, r->hash_trunc);
	return 0;
}

static const struct {
	const char *name, *mac;
	bool hmac;
	size_t size, trunc;
} hashes[] = {
	{ "BLAKE2B-256-128", "BLAKE2BMAC", false, 32, 16 },
	{ "BLAKE2B-256", "BLAKE2BMAC", false, 32, 32 },
	{ "BLAKE2S-128", "BLAKE2SMAC", false, 16, 16 },
	{ "BLAKE2S-256", "BLAKE2SMAC", false, 32, 32 },
	{ "HMAC-SHA256", "SHA256", true, 32, 32 },
	{ "HMAC-SHA256-128", "SHA256", true, 32, 16 },
	{ "HMAC-SHA224", "SHA224", true, 28, 28 },
	{ "HMAC-SHA3-224", "SHA3-224", true, 28, 28 },
	{ "HMAC-SHA3-256", "SHA3-256", true, 32, 32 },
	{ "BLAKE3-256", NULL, false, 32, 32 },
	{ "BLAKE3-256-128", NULL, false, 32, 16 },
};

/* --- the format blob ----------------------------------------------------- */

static long b64(const json_t *s, unsigned char *out, size_t max)
{
	if (!json_is_string(s))
		return -1;
	return base64_decode(json_string_value(s), json_string_length(s), 0,
			     out, max);
}

/* The format blob's master key from the password (kopia's
 * internal/crypto key derivers). */
static int derive_password_key(const char *algo, const char *password,
			       const unsigned char *salt, size_t slen,
			       unsigned char key[32], struct verror *e)
{
	if (slen < 16)
		return verror_set(e, -EBADMSG, "%s: uniqueID too short",
				  FORMAT_BLOB);
	if (!strcmp(algo, "scrypt-65536-8-1")) {
		if (EVP_PBE_scrypt(password, strlen(password), salt, slen,
				   65536, 8, 1, (uint64_t)256 << 20, key,
				   32) != 1)
			return verror_set(e, -ENOMEM, "scrypt failed");
		return 0;
	}
	if (!strcmp(algo, "pbkdf2-sha256-600000")) {
		if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt,
				      (int)slen, 600000, EVP_sha256(), 32,
				      key) != 1)
			return verror_set(e, -ENOMEM, "pbkdf2 failed");
		return 0;
	}
	return verror_set(e, -EPROTONOSUPPORT,
			  "%s: key derivation '%s' is not known to velerofs",
			  FORMAT_BLOB, algo);
}

/* Reads kopia.repository, derives the keys, checks what velerofs reads. */
static int open_format(struct kopia_repo *r, const char *password,
		       struct verror *e)
{
	struct sbuf raw, key_name;
	json_t *j = NULL, *cfg = NULL, *f;
	json_error_t je;
	unsigned char uid[64], mk[32], aeskey[32], aad[32];
	unsigned char *enc = NULL, *plain = NULL;
	size_t plain_cap = 0;
	long ulen, elen;
	ssize_t plen;
	const char *s;
	json_int_t ver, iver;
	int rc;
	size_t i;

	sbuf_init(&raw, FORMAT_MAX);
	sbuf_init(&key_name, 4096);
	rc = sbuf_addf(&key_name, "%s%s", r->prefix, FORMAT_BLOB);
	if (rc < 0)
		goto out;
	rc = vrepo_get_latest(r->v, r->c, key_name.buf, &raw, e);
	if (rc == -ENOENT) {
		rc = verror_set(e, -ENOENT, "no kopia repository at %s",
				r->prefix);
		goto out;
	}
	if (rc < 0)
		goto out;
	j = json_loadb(raw.buf, raw.len, 0, &je);
	if (!json_is_object(j)) {
		rc = verror_set(e, -EBADMSG, "%s: not JSON: %s", key_name.buf,
				je.text);
		goto out;
	}
	s = json_string_value(json_object_get(j, "encryption"));
	if (!s || strcmp(s, "AES256_GCM")) {
		rc = verror_set(e, -EPROTONOSUPPORT,
				"%s: format encryption '%s' is not known to "
				"velerofs",
				key_name.buf, s ? s : "(none)");
		goto out;
	}
	ulen = b64(json_object_get(j, "uniqueID"), uid, sizeof(uid));
	s = json_string_value(json_object_get(j, "keyAlgo"));
	f = json_object_get(j, "encryptedBlockFormat");
	if (ulen <= 0 || !s || !json_is_string(f)) {
		rc = verror_set(e, -EBADMSG,
				"%s: no uniqueID, keyAlgo or "
				"encryptedBlockFormat",
				key_name.buf);
		goto out;
	}
	rc = derive_password_key(s, password, uid, (size_t)ulen, mk, e);
	if (rc < 0)
		goto out;
	plain_cap = json_string_length(f) / 4 * 3 + 3;
	if (!(enc = malloc(plain_cap)) || !(plain = malloc(plain_cap))) {
		rc = -ENOMEM;
		goto out;
	}
	elen = b64(f, enc, json_string_length(f) / 4 * 3 + 3);
	if (elen < 0 ||
	    (rc = hkdf(mk, 32, uid, (size_t)ulen, "AES", aeskey, 32)) < 0 ||
	    (rc = hkdf(mk, 32, uid, (size_t)ulen, "CHECKSUM", aad, 32)) < 0) {
		rc = rc < 0 ? rc :
			      verror_set(e, -EBADMSG, "%s: bad base64",
					 key_name.buf);
		goto out;
	}
	plen = aead_open(EVP_aes_256_gcm(), aeskey, enc, (size_t)elen, aad, 32,
			 plain);
	if (plen < 0) {
		rc = verror_set(e, -EACCES, "wrong repository password for %s",
				r->prefix);
		goto out;
	}
	cfg = json_loadb((char *)plain, (size_t)plen, 0, &je);
	f = json_object_get(cfg, "format");
	if (!json_is_object(f)) {
		rc = verror_set(e, -EBADMSG,
				"%s: no format in the decrypted "
				"configuration",
				key_name.buf);
		goto out;
	}
	ver = json_integer_value(json_object_get(f, "version"));
	iver = json_integer_value(json_object_get(f, "indexVersion"));
	if (ver < 1 || ver > 3) {
		rc = verror_set(e, -EPROTONOSUPPORT,
				"%s: repository format version %lld is not "
				"known to velerofs (it reads 1 to 3)",
				r->prefix, (long long)ver);
		goto out;
	}
	if (iver && iver != 1 && iver != 2) {
		rc = verror_set(e, -EPROTONOSUPPORT,
				"%s: index version %lld is not known to "
				"velerofs (it reads 1 and 2)",
				r->prefix, (long long)iver);
		goto out;
	}
	r->legacy_index = ver == 1;
	s = json_string_value(json_object_get(f, "ecc"));
	{
		json_int_t ov = json_integer_value(json_object_get(f, "eccOverh"
								      "eadPerce"
								      "nt"));

		/* format_provider: ECC only with an algorithm and an
		 * overhead above 0 */
		if (s && *s && ov > 0 && strcmp(s, "REED-SOLOMON-CRC32")) {
			rc = verror_set(e, -EPROTONOSUPPORT,
					"%s: error correction '%s' is not "
					"read by velerofs",
					r->prefix, s);
			goto out;
		}
		if (s && *s && ov > 100) {
			rc = verror_set(e, -EBADMSG,
					"%s: ECC overhead %lld%% out of range",
					r->prefix, (long long)ov);
			goto out;
		}
		r->ecc_overhead = s && *s && ov > 0 ? (int)ov : 0;
	}
	if (json_array_size(json_object_get(f, "requiredFeatures"))) {
		rc = verror_set(e, -EPROTONOSUPPORT,
				"%s: the repository requires features velerofs "
				"does not know",
				r->prefix);
		goto out;
	}
	s = json_string_value(json_object_get(f, "encryption"));
	if (s && !strcmp(s, "AES256-GCM-HMAC-SHA256"))
		r->enc = ENC_AES_GCM;
	else if (s && !strcmp(s, "CHACHA20-POLY1305-HMAC-SHA256"))
		r->enc = ENC_CHACHA;
	else {
		rc = verror_set(e, -EPROTONOSUPPORT,
				"%s: encryption '%s' is not known to velerofs",
				r->prefix, s ? s : "(none)");
		goto out;
	}
	s = json_string_value(json_object_get(f, "hash"));
	for (i = 0; s && i < ARRAY_SIZE(hashes); i++)
		if (!strcmp(s, hashes[i].name))
			break;
	if (!s || i == ARRAY_SIZE(hashes)) {
		rc = verror_set(e, -EPROTONOSUPPORT,
				"%s: hash '%s' is not known to velerofs",
				r->prefix, s ? s : "(none)");
		goto out;
	}
	r->hash_mac = hashes[i].mac;
	r->hash_is_hmac = hashes[i].hmac;
	r->hash_size = hashes[i].size;
	r->hash_trunc = hashes[i].trunc;
	{
		unsigned char mkey[256];
		long ml = b64(json_object_get(f, "masterKey"), mkey,
			      sizeof(mkey));
		long hl = b64(json_object_get(f, "secret"), r->hmac_secret,
			      sizeof(r->hmac_secret));

		if (ml <= 0 || hl <= 0) {
			rc = verror_set(e, -EBADMSG,
					"%s: no masterKey or secret",
					key_name.buf);
			goto out;
		}
		r->hmac_len = (size_t)hl;
		/* repo/hashing newBlake3: the secret's first 32 bytes, or a
		 * key derived from a shorter one */
		if (hl >= 32)
			memcpy(r->blake3_key, r->hmac_secret, 32);
		else
			blake3_derive_key("kopia blake3 derived key v1",
					  r->hmac_secret, (size_t)hl,
					  r->blake3_key);
		/* repo/encryption deriveKey: HKDF(masterKey, salt
		 * "encryption", no info) */
		rc = hkdf(mkey, (size_t)ml, "encryption", 10, "", r->enc_secret,
			  32);
		OPENSSL_cleanse(mkey, sizeof(mkey));
	}
out:
	OPENSSL_cleanse(mk, sizeof(mk));
	OPENSSL_cleanse(aeskey, sizeof(aeskey));
	if (plain)
		OPENSSL_cleanse(plain, plain_cap);
	free(enc);
	free(plain);
	json_decref(cfg);
	json_decref(j);
	sbuf_release(&raw);
	sbuf_release(&key_name);
	return rc;
}

/* --- the index ------------------------------------------------------------ */

struct idx_build {
	struct kopia_repo *r;
	uint32_t *map; /* this blob's pack i → r->packs index */
	size_t nmap, cap_map;
	size_t cap;
};

static int sink_pack(void *ud, const char *name, size_t len)
{
	struct idx_build *b = ud;
	struct kopia_repo *r = b->r;
	char *s;

	if (b->nmap == b->cap_map) {
		size_t nc = b->cap_map ? 2 * b->cap_map : 64;
		uint32_t *m = realloc(b->map, nc * sizeof(*m));

		if (!m)
			return -ENOMEM;
		b->map = m;
		b->cap_map = nc;
	}
	/* the same pack named by the previous blob's last entries is the
	 * common case; a plain append otherwise (duplicates are harmless) */
	if (r->npacks && strlen(r->packs[r->npacks - 1]) == len &&
	    !memcmp(r->packs[r->npacks - 1], name, len)) {
		b->map[b->nmap++] = (uint32_t)(r->npacks - 1);
		return 0;
	}
	if (r->npacks == r->packs_cap) {
		size_t nc = r->packs_cap ? 2 * r->packs_cap : 64;
		char **p = realloc(r->packs, nc * sizeof(*p));

		if (!p)
			return -ENOMEM;
		r->packs = p;
		r->packs_cap = nc;
	}
	if (r->npacks >= UINT32_MAX || !(s = strndup(name, len)))
		return -ENOMEM;
	r->packs[r->npacks] = s;
	b->map[b->nmap++] = (uint32_t)r->npacks++;
	return 0;
}

static int sink_entry(void *ud, const struct kopia_ientry *ie)
{
	struct idx_build *b = ud;
	struct kopia_repo *r = b->r;
	struct kidx *k;

	if (ie->key_id != 0)
		return -EPROTONOSUPPORT;
	if (r->nidx == b->cap) {
		size_t nc = b->cap ? 2 * b->cap : 1024;
		struct kidx *n = realloc(r->idx, nc * sizeof(*n));

		if (!n)
			return -ENOMEM;
		r->idx = n;
		b->cap = nc;
	}
	k = &r->idx[r->nidx++];
	k->id = ie->id;
	k->ts = ie->ts;
	k->deleted = ie->deleted;
	k->pack = b->map[ie->pack];
	k->off = ie->pack_off;
	k->packed = ie->packed_len;
	k->orig = ie->orig_len;
	k->comp = ie->comp;
	return 0;
}

static int cid_cmp(const struct kopia_cid *a, const struct kopia_cid *b)
{
	int c;

	if (a->prefix != b->prefix)
		return a->prefix < b->prefix ? -1 : 1;
	c = memcmp(a->hash, b->hash, MIN(a->len, b->len));
	if (c)
		return c;
	return a->len == b->len ? 0 : a->len < b->len ? -1 : 1;
}

/* by id; for one id the newest first, and of equal times the live one */
static int kidx_order(const void *x, const void *y)
{
	const struct kidx *a = x, *b = y;
	int c = cid_cmp(&a->id, &b->id);

	if (c)
		return c;
	if (a->ts != b->ts)
		return a->ts > b->ts ? -1 : 1;
	return (int)a->deleted - (int)b->deleted;
}

/* epoch manager: xn (uncompacted), xs (single epoch compaction), xr
 * (range checkpoint); xe/xw are markers */
static bool is_index_blob(const char *name)
{
	return name[0] == 'x' &&
	       (name[1] == 'n' || name[1] == 's' || name[1] == 'r');
}

/* format version 1 (indexBlobManagerV0): n; compacted ones may linger
 * until deleted: their entries are the same, merged like any others */
static bool is_legacy_index_blob(const char *name)
{
	return name[0] == 'n';
}

/* The IV of a blob: the last 16 bytes of the hash in its name
 * (internal/blobcrypto getIndexBlobIV). */
static int blob_iv(const char *name, unsigned char iv[16])
{
	size_t n = strcspn(name, "-");
	struct kopia_cid id;

	if (n < 32 || kopia_cid_parse(name + n - 32, 32, &id) < 0)
		return -EINVAL;
	memcpy(iv, id.hash, 16);
	return 0;
}

static int fetch(struct kopia_repo *r, const char *name, uint64_t off,
		 size_t len, struct sbuf *out, struct verror *e)
{
	return repo_fetch(r->v, r->c, "kopia", r->prefix, name, off, len, out,
			  e);
}

/* Fetches and decrypts a whole blob into out; verifies that its name holds
 * the hash of what it decrypts to. */
static int read_blob(struct kopia_repo *r, const char *name, struct sbuf *out,
		     struct verror *e)
{
	struct sbuf raw;
	unsigned char iv[16], h[KOPIA_MAX_HASH];
	ssize_t n;
	char *p;
	int rc;
	size_t hexlen, pl;

	if (blob_iv(name, iv) < 0)
		return verror_set(e, -EBADMSG, "blob %s: not a kopia blob id",
				  name);
	sbuf_init(&raw, INDEX_BLOB_MAX);
	rc = fetch(r, name, 0, 0, &raw, e);
	if (rc < 0)
		goto out;
	if (!(p = sbuf_reserve(out, raw.len, &rc)))
		goto out;
	n = content_open(r, iv, raw.buf, raw.len, (unsigned char *)p);
	if (n < 0) {
		rc = verror_set(e, -EIO, "blob %s: corrupt (does not decrypt)",
				name);
		goto out;
	}
	/* the name: prefix + hex(hash) [+ "-suffix"] */
	hexlen = 2 * r->hash_trunc;
	pl = strcspn(name, "-");
	if (pl >= hexlen && content_hash(r, p, (size_t)n, h) == 0) {
		struct kopia_cid id;

		if (kopia_cid_parse(name + pl - hexlen, hexlen, &id) < 0 ||
		    memcmp(id.hash, h, r->hash_trunc)) {
			rc = verror_set(e, -EIO,
					"blob %s: its content does not match "
					"its name",
					name);
			goto out;
		}
	}
	sbuf_commit(out, (size_t)n);
out:
	sbuf_release(&raw);
	return rc;
}

static int load_index(struct kopia_repo *r, struct verror *e)
{
	struct repo_names l = { 0 };
	struct idx_build b = { .r = r };
	struct kopia_index_sink sink = { sink_pack, sink_entry, &b };
	struct sbuf plain;
	size_t i, k;
	int rc;

	/* from the vault, or the last list kept when it can't be listed */
	rc = repo_list_latest(
		r->v, r->c, r->prefix,
		r->legacy_index ? is_legacy_index_blob : is_index_blob, &l, e);
	sbuf_init(&plain, INDEX_BLOB_MAX);
	for (i = 0; rc >= 0 && i < l.n; i++) {
		sbuf_reset(&plain);
		rc = read_blob(r, l.v[i], &plain, e);
		if (rc >= 0) {
			b.nmap = 0;
			rc = kopia_index_parse(plain.buf, plain.len, &sink, e);
			if (rc == -EBADMSG || rc == -EPROTONOSUPPORT)
				rc = verror_prefix(e,
						   rc == -EBADMSG ? -EIO : rc,
						   "index blob %s", l.v[i]);
		} else if (rc == -ENOENT) {
			rc = 0; /* compacted away since the listing */
		}
	}
	sbuf_release(&plain);
	repo_names_release(&l);
	free(b.map);
	if (rc < 0)
		return rc;
	if (r->nidx == 0)
		return verror_set(e, -ENOENT,
				  "%s: a kopia repository without index "
				  "blobs (nothing was backed up)",
				  r->prefix);
	qsort(r->idx, r->nidx, sizeof(*r->idx), kidx_order);
	/* keep the newest entry of each id; drop deleted ones */
	for (i = 0, k = 0; i < r->nidx; i++) {
		if (i && !cid_cmp(&r->idx[i].id, &r->idx[i - 1].id))
			continue;
		if (!r->idx[i].deleted)
			r->idx[k++] = r->idx[i];
	}
	r->nidx = k;
	return 0;
}

static const struct kidx *idx_find(const struct kopia_repo *r,
				   const struct kopia_cid *id)
{
	size_t lo = 0, hi = r->nidx;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cid_cmp(&r->idx[mid].id, id);

		if (!c)
			return &r->idx[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* --- contents --------------------------------------------------------------
 */

static void cid_str(const struct kopia_cid *id, char *out)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	if (id->prefix)
		*out++ = (char)id->prefix;
	for (i = 0; i < id->len; i++) {
		*out++ = hx[id->hash[i] >> 4];
		*out++ = hx[id->hash[i] & 15];
	}
	*out = '\0';
}

/* Reads content id into out (appended): fetched from its pack with a
 * ranged read, decrypted, decompressed, its hash checked. -ENOENT when
 * the index does not know it, -EIO (e names the pack) when its pack is
 * missing or corrupt. */
static int content_get_uncached(struct kopia_repo *r,
				const struct kopia_cid *id, struct sbuf *out,
				struct verror *e)
{
	const struct kidx *k = idx_find(r, id);
	char ids[2 * KOPIA_MAX_HASH + 2];
	struct sbuf raw, dec;
	unsigned char iv[16], h[KOPIA_MAX_HASH];
	size_t start = out->len;
	ssize_t n;
	char *p;
	int rc;

	cid_str(id, ids);
	if (!k)
		return verror_set(e, -ENOENT, "content %s is not in the index",
				  ids);
	if (id->len < 16)
		return verror_set(e, -EIO, "content %s: id too short", ids);
	if (k->packed > CONTENT_MAX + 64 || k->orig > CONTENT_MAX)
		return verror_set(e, -EIO, "content %s: too big (%u bytes)",
				  ids, k->packed);
	memcpy(iv, id->hash + id->len - 16, 16);
	sbuf_init(&raw, CONTENT_MAX + 64);
	sbuf_init(&dec, CONTENT_MAX + 64);
	rc = fetch(r, r->packs[k->pack], k->off, k->packed, &raw, e);
	if (rc == -ENOENT) {
		rc = verror_set(e, -EIO, "pack %s is missing (content %s)",
				r->packs[k->pack], ids);
		goto out;
	}
	if (rc < 0) {
		rc = verror_prefix(e, rc == -E2BIG ? -EIO : rc,
				   "pack %s (content %s)", r->packs[k->pack],
				   ids);
		goto out;
	}
	if (!(p = sbuf_reserve(&dec, raw.len, &rc)))
		goto out;
	n = content_open(r, iv, raw.buf, raw.len, (unsigned char *)p);
	if (n < 0) {
		rc = verror_set(e, -EIO,
				"pack %s is corrupt: content %s at %u does not "
				"decrypt",
				r->packs[k->pack], ids, k->off);
		goto out;
	}
	sbuf_commit(&dec, (size_t)n);
	if (k->comp) {
		size_t m0;

		if (dec.len < 4 ||
		    ((uint32_t)(unsigned char)dec.buf[0] << 24 |
		     (uint32_t)(unsigned char)dec.buf[1] << 16 |
		     (uint32_t)(unsigned char)dec.buf[2] << 8 |
		     (uint32_t)(unsigned char)dec.buf[3]) != k->comp) {
			rc = verror_set(e, -EIO,
					"pack %s: content %s lacks its "
					"compression header",
					r->packs[k->pack], ids);
			goto out;
		}
		m0 = out->max;
		out->max = MIN(m0, out->len + (size_t)k->orig);
		rc = kopia_decompress(k->comp, dec.buf + 4, dec.len - 4, out,
				      e);
		out->max = m0;
		if (rc < 0) {
			rc = verror_prefix(e, rc == -EBADMSG ? -EIO : rc,
					   "pack %s: content %s",
					   r->packs[k->pack], ids);
			goto out;
		}
	} else {
		rc = sbuf_add(out, dec.buf, dec.len);
		if (rc < 0)
			goto out;
	}
	if (out->len - start != k->orig) {
		rc = verror_set(e, -EIO,
				"pack %s: content %s is %zu bytes, the index "
				"says %u",
				r->packs[k->pack], ids, out->len - start,
				k->orig);
		goto out;
	}
	if (content_hash(r, out->buf + start, k->orig, h) < 0 ||
	    memcmp(h, id->hash, MIN((size_t)id->len, r->hash_trunc))) {
		rc = verror_set(e, -EIO,
				"pack %s: content %s does not match its id",
				r->packs[k->pack], ids);
		goto out;
	}
out:
	if (rc < 0) {
		out->len = start;
		if (out->buf)
			out->buf[start] = '\0';
	}
	sbuf_release(&raw);
	sbuf_release(&dec);
	return rc < 0 ? rc : 0;
}

/* content_get_uncached() through the LRU: 0 with r->lock held and *out the
 * slot that holds the content (the caller copies what it needs and
 * unlocks), or -errno with the lock not held. A content another thread is
 * fetching is waited for, not fetched twice. */
static int content_locked(struct kopia_repo *r, const struct kopia_cid *id,
			  struct lru_slot **out, struct verror *e)
{
	struct lru_slot *old;
	struct sbuf tmp;
	size_t i;
	int rc, fl = -1;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		for (i = 0; i < LRU_SLOTS; i++) {
			struct lru_slot *s = &r->lru[i];

			if (s->used && !cid_cmp(&s->id, id)) {
				s->used = ++r->tick;
				*out = s;
				return 0;
			}
		}
		for (i = 0; i < FLIGHT_SLOTS; i++)
			if (r->flight_busy[i] && !cid_cmp(&r->flight[i], id))
				break;
		if (i == FLIGHT_SLOTS)
			break;
		pthread_cond_wait(&r->flight_done, &r->lock);
	}
	for (i = 0; i < FLIGHT_SLOTS && fl < 0; i++)
		if (!r->flight_busy[i]) {
			r->flight_busy[i] = true;
			r->flight[i] = *id;
			fl = (int)i;
		}
	pthread_mutex_unlock(&r->lock);
	sbuf_init(&tmp, CONTENT_MAX);
	rc = content_get_uncached(r, id, &tmp, e);
	pthread_mutex_lock(&r->lock);
	if (fl >= 0) {
		r->flight_busy[fl] = false;
		pthread_cond_broadcast(&r->flight_done);
	}
	if (rc < 0) {
		pthread_mutex_unlock(&r->lock);
		sbuf_release(&tmp);
		return rc;
	}
	old = &r->lru[0];
	for (i = 1; i < LRU_SLOTS; i++)
		if (r->lru[i].used < old->used)
			old = &r->lru[i];
	free(old->data);
	old->id = *id;
	old->len = tmp.len;
	old->data = sbuf_take(&tmp, NULL);
	old->used = old->data ? ++r->tick : 0;
	sbuf_release(&tmp);
	if (!old->data) {
		pthread_mutex_unlock(&r->lock);
		return -ENOMEM;
	}
	*out = old;
	return 0;
}

static int content_get(struct kopia_repo *r, const struct kopia_cid *id,
		       struct sbuf *out, struct verror *e)
{
	struct lru_slot *s;
	int rc = content_locked(r, id, &s, e);

	if (rc < 0)
		return rc;
	rc = sbuf_add(out, s->data, s->len);
	pthread_mutex_unlock(&r->lock);
	return rc;
}

struct prefetch {
	struct kopia_repo *r;
	struct kopia_cid id;
};

static void *prefetch_run(void *arg)
{
	struct prefetch *p = arg;
	struct kopia_repo *r = p->r;
	struct lru_slot *s;

	if (content_locked(r, &p->id, &s, NULL) == 0)
		pthread_mutex_unlock(&r->lock);
	/* OpenSSL's state of this thread (its error queue, after a content
	 * that did not decrypt) freed now: kopia_free() waits for
	 * prefetching to drop, not for the thread's exit, so a process that
	 * ends right after would leave it behind (LeakSanitizer said so) */
	OPENSSL_thread_stop();
	pthread_mutex_lock(&r->lock);
	r->prefetching--;
	pthread_cond_broadcast(&r->flight_done);
	pthread_mutex_unlock(&r->lock);
	free(p);
	return NULL;
}

/* Starts fetching the content of object oids (a direct one) in the
 * background when it is neither in the LRU nor being fetched, at most
 * PREFETCH_MAX at once: a sequential reader then finds the next chunk
 * fetched and decrypted while it used the last one. Best effort: an error
 * is met again by the reader. */
static void prefetch(struct kopia_repo *r, const char *oids)
{
	struct kopia_oid oid;
	struct prefetch *p = NULL;
	pthread_attr_t a;
	pthread_t t;
	bool have = false;
	size_t i;

	if (kopia_oid_parse(oids, &oid) < 0 || oid.indirect || oid.compressed)
		return;
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < LRU_SLOTS && !have; i++)
		have = r->lru[i].used && !cid_cmp(&r->lru[i].id, &oid.cid);
	for (i = 0; i < FLIGHT_SLOTS && !have; i++)
		have = r->flight_busy[i] && !cid_cmp(&r->flight[i], &oid.cid);
	if (!have && r->prefetching < PREFETCH_MAX && (p = malloc(sizeof(*p))))
		r->prefetching++;
	pthread_mutex_unlock(&r->lock);
	if (!p)
		return;
	p->r = r;
	p->id = oid.cid;
	if (pthread_attr_init(&a) == 0) {
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &a, prefetch_run, p) == 0)
			p = NULL;
		pthread_attr_destroy(&a);
	}
	if (p) {
		free(p);
		pthread_mutex_lock(&r->lock);
		r->prefetching--;
		pthread_cond_broadcast(&r->flight_done);
		pthread_mutex_unlock(&r->lock);
	}
}

/* Copies the bytes [off, off+len) of content id (clipped to its end) to
 * buf: the count; *total gets the content's size. Through the LRU, with
 * only the slice copied (a 128 KiB read of a 4 MiB chunk copies 128 KiB). */
static ssize_t content_pread(struct kopia_repo *r, const struct kopia_cid *id,
			     uint64_t off, char *buf, size_t len, size_t *total,
			     struct verror *e)
{
	struct lru_slot *s;
	size_t n;
	int rc = content_locked(r, id, &s, e);

	if (rc < 0)
		return rc;
	*total = s->len;
	n = off >= s->len ? 0 : (size_t)MIN((uint64_t)len, s->len - off);
	if (n)
		memcpy(buf, s->data + off, n);
	pthread_mutex_unlock(&r->lock);
	return (ssize_t)n;
}

/* --- objects -----------------------------------------------------------------
 */

/* Reads a whole object (a directory, an indirect index, a symlink) into
 * out, following indirection. depth bounds hostile nesting. */
static int object_get(struct kopia_repo *r, const char *oids, struct sbuf *out,
		      unsigned depth, struct verror *e)
{
	struct kopia_oid oid;
	struct kopia_chunk *ch = NULL;
	struct sbuf ix;
	size_t n = 0, i;
	int rc;

	if (kopia_oid_parse(oids, &oid) < 0)
		return verror_set(e, -EIO, "invalid object id '%s'", oids);
	if (depth > 8)
		return verror_set(e, -EIO, "object %s: nested too deep", oids);
	if (!oid.indirect && !oid.compressed)
		return content_get(r, &oid.cid, out, e);
	sbuf_init(&ix, CONTENT_MAX);
	if (oid.compressed) {
		rc = content_get(r, &oid.cid, &ix, e);
		if (rc >= 0 && ix.len < 4)
			rc = verror_set(e, -EIO,
					"object %s: no compression "
					"header",
					oids);
		if (rc >= 0)
			rc = kopia_decompress(
				(uint32_t)(unsigned char)ix.buf[0] << 24 |
					(uint32_t)(unsigned char)ix.buf[1]
						<< 16 |
					(uint32_t)(unsigned char)ix.buf[2]
						<< 8 |
					(uint32_t)(unsigned char)ix.buf[3],
				ix.buf + 4, ix.len - 4, out, e);
		sbuf_release(&ix);
		return rc == -EBADMSG ? -EIO : rc;
	}
	/* the index object is the same id one indirection less */
	{
		char inner[80];

		snprintf(inner, sizeof(inner), "%s", oids + 1);
		rc = object_get(r, inner, &ix, depth + 1, e);
	}
	if (rc >= 0)
		rc = kopia_indirect_parse(ix.buf, ix.len, &ch, &n, e);
	sbuf_release(&ix);
	if (rc == -EBADMSG)
		rc = verror_prefix(e, -EIO, "object %s", oids);
	for (i = 0; rc >= 0 && i < n; i++)
		rc = object_get(r, ch[i].oid, out, depth + 1, e);
	free(ch);
	return rc < 0 ? rc : 0;
}

/* --- the public functions ---------------------------------------------------
 */

int kopia_open(struct vault *v, struct cache *c, const char *prefix,
	       const char *password, struct kopia_repo **out, struct verror *e)
{
	struct kopia_repo *r;
	size_t pl = strlen(prefix);
	int rc;

	if (!pl || prefix[pl - 1] != '/' || prefix[0] == '/')
		return verror_set(e, -EINVAL, "invalid repository prefix '%s'",
				  prefix);
	if (!(r = calloc(1, sizeof(*r))))
		return -ENOMEM;
	r->v = v;
	r->c = c;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->flight_done, NULL);
	if (!(r->prefix = strdup(prefix))) {
		kopia_free(r);
		return -ENOMEM;
	}
	rc = open_format(r, password ? password : "static-passw0rd", e);
	if (rc >= 0)
		rc = load_index(r, e);
	if (rc < 0) {
		kopia_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

struct kopia_repo *kopia_free(struct kopia_repo *r)
{
	size_t i;

	if (!r)
		return NULL;
	pthread_mutex_lock(&r->lock);
	while (r->prefetching) /* they use r */
		pthread_cond_wait(&r->flight_done, &r->lock);
	pthread_mutex_unlock(&r->lock);
	for (i = 0; i < LRU_SLOTS; i++)
		free(r->lru[i].data);
	for (i = 0; i < IND_SLOTS; i++)
		free(r->ind[i].ch);
	for (i = 0; i < r->npacks; i++)
		free(r->packs[i]);
	free(r->packs);
	free(r->idx);
	free(r->prefix);
	OPENSSL_cleanse(r->enc_secret, sizeof(r->enc_secret));
	OPENSSL_cleanse(r->hmac_secret, sizeof(r->hmac_secret));
	OPENSSL_cleanse(r->blake3_key, sizeof(r->blake3_key));
	pthread_cond_destroy(&r->flight_done);
	pthread_mutex_destroy(&r->lock);
	free(r);
	return NULL;
}

int kopia_snapshot_root(struct kopia_repo *r, const char *snapshot_id,
			struct ventry *root, struct verror *e)
{
	struct ventry best = { 0 };
	struct sbuf z, js;
	bool found = false, deleted = false;
	int64_t modified = 0;
	size_t i;
	int rc = 0;

	if (!*snapshot_id || strlen(snapshot_id) > 128)
		return verror_set(e, -EINVAL, "invalid snapshot id");
	sbuf_init(&z, CONTENT_MAX);
	sbuf_init(&js, CONTENT_MAX);
	/* manifest contents: prefix 'm', gzip'd JSON (repo/manifest) */
	for (i = 0; i < r->nidx && rc >= 0; i++) {
		bool f = false, d = false;
		int64_t mod = 0;
		struct ventry v = { 0 };

		if (r->idx[i].id.prefix != 'm')
			continue;
		sbuf_reset(&z);
		sbuf_reset(&js);
		rc = content_get(r, &r->idx[i].id, &z, e);
		if (rc < 0)
			break;
		rc = kopia_decompress(0x1000, z.buf, z.len, &js, e);
		if (rc >= 0)
			rc = kopia_manifest_find(js.buf, js.len, snapshot_id,
						 &f, &mod, &d, &v, e);
		if (rc < 0) {
			char ids[2 * KOPIA_MAX_HASH + 2];

			cid_str(&r->idx[i].id, ids);
			rc = verror_prefix(e, -EIO, "manifest content %s", ids);
			break;
		}
		if (f && (!found || mod >= modified)) {
			ventry_release(&best);
			best = v;
			found = true;
			deleted = d;
			modified = mod;
		} else {
			ventry_release(&v);
		}
	}
	sbuf_release(&z);
	sbuf_release(&js);
	if (rc < 0) {
		ventry_release(&best);
		return rc;
	}
	if (!found || deleted) {
		struct kopia_oid oid;

		ventry_release(&best);
		/* a root object id given directly */
		if (!found && strlen(snapshot_id) < sizeof(best.obj) &&
		    kopia_oid_parse(snapshot_id, &oid) == 0 &&
		    oid.cid.prefix == 'k' && idx_find(r, &oid.cid)) {
			best.mode = S_IFDIR | 0755;
			strcpy(best.obj, snapshot_id);
		} else {
			return verror_set(e, -ENOENT,
					  "snapshot %s is not in %s%s",
					  snapshot_id, r->prefix,
					  deleted ? " (deleted)" : "");
		}
	}
	free(best.name);
	if (!(best.name = strdup(""))) {
		ventry_release(&best);
		return -ENOMEM;
	}
	*root = best;
	return 0;
}

int kopia_list(struct kopia_repo *r, const struct ventry *dir,
	       struct ventry **out, size_t *n, struct verror *e)
{
	struct sbuf js;
	struct ventry *v = NULL;
	size_t k = 0, i;
	int rc;

	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	sbuf_init(&js, DIR_MAX);
	rc = object_get(r, dir->obj, &js, 0, e);
	if (rc >= 0) {
		rc = kopia_dir_parse(js.buf, js.len, &v, &k, e);
		if (rc == -EBADMSG)
			rc = verror_prefix(e, -EIO, "directory %s", dir->obj);
	}
	sbuf_release(&js);
	if (rc < 0)
		return rc;
	/* symlink targets: small objects, read now so that readlink and
	 * getattr need no fetch */
	for (i = 0; i < k; i++) {
		struct sbuf t;

		if (!S_ISLNK(v[i].mode))
			continue;
		sbuf_init(&t, 4096);
		rc = object_get(r, v[i].obj, &t, 0, e);
		if (rc >= 0 && (t.len == 0 || memchr(t.buf, '\0', t.len)))
			rc = verror_set(e, -EIO, "symlink %s: invalid target",
					v[i].name);
		if (rc >= 0) {
			v[i].size = t.len;
			v[i].target = sbuf_take(&t, NULL);
			if (!v[i].target)
				rc = -ENOMEM;
		}
		sbuf_release(&t);
		if (rc < 0)
			break;
	}
	if (rc < 0) {
		for (i = 0; i < k; i++)
			ventry_release(&v[i]);
		free(v);
		return rc;
	}
	*out = v;
	*n = k;
	return 0;
}

/* The chunks of indirect object oids (caller frees *ch): parsed once and
 * kept in a few slots, since every read of a large file needs them. */
static int chunks_get(struct kopia_repo *r, const char *oids, unsigned depth,
		      struct kopia_chunk **ch, size_t *n, struct verror *e)
{
	struct sbuf tmp;
	struct kopia_chunk *c = NULL, *copy;
	struct ind_slot *sl;
	size_t cnt = 0, i;
	int rc;

	pthread_mutex_lock(&r->lock);
	for (i = 0; i < IND_SLOTS; i++) {
		sl = &r->ind[i];
		if (sl->ch && !strcmp(sl->oid, oids)) {
			c = malloc(sl->n * sizeof(*c));
			if (c)
				memcpy(c, sl->ch, sl->n * sizeof(*c));
			cnt = sl->n;
			pthread_mutex_unlock(&r->lock);
			if (!c)
				return -ENOMEM;
			*ch = c;
			*n = cnt;
			return 0;
		}
	}
	pthread_mutex_unlock(&r->lock);
	sbuf_init(&tmp, CONTENT_MAX);
	rc = object_get(r, oids + 1, &tmp, depth + 1, e);
	if (rc >= 0)
		rc = kopia_indirect_parse(tmp.buf, tmp.len, &c, &cnt, e);
	sbuf_release(&tmp);
	if (rc < 0)
		return rc == -EBADMSG ?
			       verror_prefix(e, -EIO, "object %s", oids) :
			       rc;
	if (cnt && strlen(oids) < sizeof(sl->oid) &&
	    (copy = malloc(cnt * sizeof(*copy)))) {
		memcpy(copy, c, cnt * sizeof(*c));
		pthread_mutex_lock(&r->lock);
		sl = &r->ind[r->ind_next++ % IND_SLOTS];
		free(sl->ch);
		sl->ch = copy;
		sl->n = cnt;
		strcpy(sl->oid, oids);
		pthread_mutex_unlock(&r->lock);
	}
	*ch = c;
	*n = cnt;
	return 0;
}

/* Reads [off, off+len) of object oids into buf (len bytes or up to the
 * object's end); size is the object's size. */
static ssize_t object_read(struct kopia_repo *r, const char *oids,
			   uint64_t size, char *buf, size_t len, uint64_t off,
			   unsigned depth, struct verror *e)
{
	struct kopia_oid oid;
	struct kopia_chunk *ch = NULL;
	struct sbuf tmp;
	size_t n = 0, done = 0, lo, hi;
	int rc;

	if (kopia_oid_parse(oids, &oid) < 0)
		return verror_set(e, -EIO, "invalid object id '%s'", oids);
	if (depth > 8)
		return verror_set(e, -EIO, "object %s: nested too deep", oids);
	if (off >= size || len == 0)
		return 0;
	len = (size_t)MIN((uint64_t)len, size - off);
	if (!oid.indirect && !oid.compressed) {
		size_t total = 0;
		ssize_t got =
			content_pread(r, &oid.cid, off, buf, len, &total, e);

		if (got >= 0 && total != size)
			return verror_set(e, -EIO,
					  "object %s: %zu bytes, the directory "
					  "says %llu",
					  oids, total,
					  (unsigned long long)size);
		return got;
	}
	if (!oid.indirect) {
		sbuf_init(&tmp, CONTENT_MAX);
		rc = object_get(r, oids, &tmp, depth, e);
		if (rc >= 0 && tmp.len != size)
			rc = verror_set(e, -EIO,
					"object %s: %zu bytes, the directory "
					"says %llu",
					oids, tmp.len,
					(unsigned long long)size);
		if (rc >= 0)
			memcpy(buf, tmp.buf + off, len);
		sbuf_release(&tmp);
		return rc < 0 ? rc : (ssize_t)len;
	}
	rc = chunks_get(r, oids, depth, &ch, &n, e);
	if (rc < 0)
		return rc;
	if (!n || ch[n - 1].start + ch[n - 1].len != size) {
		free(ch);
		return verror_set(e, -EIO,
				  "object %s: its chunks do not add up to "
				  "%llu bytes",
				  oids, (unsigned long long)size);
	}
	/* the chunk holding off */
	lo = 0;
	hi = n;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (ch[mid].start <= off)
			lo = mid;
		else
			hi = mid;
	}
	/* a reader of chunk lo reads lo + 1 next, most of the time */
	for (size_t k = lo + 1; k < n && k <= lo + PREFETCH_MAX; k++)
		prefetch(r, ch[k].oid);
	while (done < len && lo < n) {
		uint64_t in = off + done - ch[lo].start;
		ssize_t got = object_read(r, ch[lo].oid, ch[lo].len, buf + done,
					  len - done, in, depth + 1, e);

		if (got < 0) {
			free(ch);
			return got;
		}
		if (got == 0)
			break;
		done += (size_t)got;
		if (off + done >= ch[lo].start + ch[lo].len)
			lo++;
	}
	free(ch);
	return (ssize_t)done;
}

ssize_t kopia_read(struct kopia_repo *r, const struct ventry *file, void *buf,
		   size_t len, uint64_t off, struct verror *e)
{
	if (!S_ISREG(file->mode))
		return -EINVAL;
	if (!file->obj[0] || file->size == 0)
		return 0;
	return object_read(r, file->obj, file->size, buf, len, off, 0, e);
}
