/* repo/restic: a restic repository (Velero's restic uploader, before
 * kopia; restic/<ns>/ in the vault), read-only: keys/ (scrypt) and the
 * master key, config (repository version 1 or 2), index/, blobs in
 * data/ packs (ranged reads of one blob each), snapshots/ and trees.
 * The parsers are in restic_parse.c; the sources in restic_i.h.
 *
 * Encryption (internal/crypto): every file and blob is IV (16) ||
 * AES-256-CTR ciphertext || Poly1305-AES MAC (16) of the ciphertext, the
 * MAC's key r and the AES-128 encryption of the IV under k.
 *
 * What it does not do: write, read pack headers (the index says where
 * each blob is), lock files. Memory: the merged index (about 80 bytes a
 * blob) for the life of the repository; one decrypted tree or data blob
 * per LRU slot. */
#include <errno.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/base64.h"
#include "common/rfc3339.h"
#include "repo/repo_i.h"
#include "repo/restic_i.h"

#define SMALL_MAX ((size_t)64 << 20) /* an index, a snapshot, a key */
#define BLOB_MAX ((size_t)64 << 20)  /* restic's chunks are <= 8 MiB */
#define LRU_SLOTS 8
#define FMAP_SLOTS 4

struct rkey {
	unsigned char enc[32], mk[16], mr[16];
};

struct ridx {
	uint8_t id[RESTIC_ID];
	uint8_t type;
	bool compressed;
	uint32_t pack, off, len, ulen;
};

struct lru_slot {
	uint8_t id[RESTIC_ID];
	char *data; /* owned */
	size_t len;
	uint64_t used; /* 0: empty */
};

struct fmap_slot {
	char obj[80];		   /* the file's ventry obj */
	uint8_t (*ids)[RESTIC_ID]; /* owned */
	uint64_t *ends;		   /* owned: end offset of each blob */
	size_t n;
	uint64_t used; /* 0: empty */
};

struct restic_repo {
	struct vault *v; /* borrowed */
	struct cache *c; /* borrowed, may be NULL */
	char *prefix;
	struct rkey key;
	unsigned version;
	struct ridx *idx; /* sorted by id */
	size_t nidx, cap;
	uint8_t (*packs)[RESTIC_ID];
	size_t npacks, packs_cap;
	pthread_mutex_t lock;
	struct lru_slot lru[LRU_SLOTS];	   /* protected by lock */
	struct fmap_slot fmap[FMAP_SLOTS]; /* protected by lock */
	uint64_t tick;			   /* protected by lock */
};

/* --- crypto ------------------------------------------------------------ */

/* Opens IV || ciphertext || MAC with k into out (len - 32 bytes).
 * -EBADMSG when the MAC does not match. */
static int sopen(const struct rkey *k, const unsigned char *in, size_t len,
		 unsigned char *out)
{
	unsigned char pk[32], tag[16];
	EVP_CIPHER_CTX *x = NULL;
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *mx = NULL;
	size_t tl = 0, clen;
	int n = 0, ok;

	if (len < RESTIC_EXTRA || len - RESTIC_EXTRA > INT32_MAX)
		return -EBADMSG;
	clen = len - RESTIC_EXTRA;
	/* the Poly1305 key: r || AES-128_k(IV) (OpenSSL clamps r) */
	memcpy(pk, k->mr, 16);
	ok = (x = EVP_CIPHER_CTX_new()) &&
	     EVP_EncryptInit_ex(x, EVP_aes_128_ecb(), NULL, k->mk, NULL) > 0 &&
	     EVP_CIPHER_CTX_set_padding(x, 0) > 0 &&
	     EVP_EncryptUpdate(x, pk + 16, &n, in, 16) > 0 && n == 16;
	ok = ok && (mac = EVP_MAC_fetch(NULL, "POLY1305", NULL)) &&
	     (mx = EVP_MAC_CTX_new(mac)) && EVP_MAC_init(mx, pk, 32, NULL) &&
	     EVP_MAC_update(mx, in + 16, clen) &&
	     EVP_MAC_final(mx, tag, &tl, sizeof(tag)) && tl == 16;
	EVP_MAC_CTX_free(mx);
	EVP_MAC_free(mac);
	OPENSSL_cleanse(pk, sizeof(pk));
	if (!ok) {
		EVP_CIPHER_CTX_free(x);
		return -EIO;
	}
	if (CRYPTO_memcmp(tag, in + len - 16, 16)) {
		EVP_CIPHER_CTX_free(x);
		return -EBADMSG;
	}
	ok = EVP_DecryptInit_ex(x, EVP_aes_256_ctr(), NULL, k->enc, in) > 0 &&
	     EVP_DecryptUpdate(x, out, &n, in + 16, (int)clen) > 0 &&
	     (size_t)n == clen;
	EVP_CIPHER_CTX_free(x);
	return ok ? 0 : -EIO;
}

static bool sha256_is(const void *p, size_t len, const uint8_t id[RESTIC_ID])
{
	unsigned char h[32];
	unsigned int hl = 32;

	return EVP_Digest(p, len, h, &hl, EVP_sha256(), NULL) == 1 &&
	       !memcmp(h, id, RESTIC_ID);
}

static long b64(const json_t *s, unsigned char *out, size_t max)
{
	if (!json_is_string(s))
		return -1;
	return base64_decode(json_string_value(s), json_string_length(s), 0,
			     out, max);
}

/* --- files ------------------------------------------------------------- */

static int fetch(struct restic_repo *r, const char *name, uint64_t off,
		 size_t len, struct sbuf *out, struct verror *e)
{
	return repo_fetch(r->v, r->c, "restic", r->prefix, name, off, len, out,
			  e);
}

/* Fetches, decrypts with the master key and (repository v2) decompresses
 * an unpacked file (config, index/x, snapshots/x) into out. The files
 * named by their content's hash go through the blob cache; config, whose
 * name does not say what it holds, is asked of the vault each time (the
 * copy kept is for when it does not answer). */
static int read_unpacked(struct restic_repo *r, const char *name,
			 struct sbuf *out, struct verror *e)
{
	struct sbuf raw, dec;
	char *key = NULL, *p;
	int rc;

	sbuf_init(&raw, SMALL_MAX);
	sbuf_init(&dec, SMALL_MAX);
	if (strchr(name, '/'))
		rc = fetch(r, name, 0, 0, &raw, e);
	else if (asprintf(&key, "%s%s", r->prefix, name) < 0)
		rc = -ENOMEM;
	else
		rc = vrepo_get_latest(r->v, r->c, key, &raw, e);
	free(key);
	if (rc < 0)
		goto out;
	if (raw.len < RESTIC_EXTRA) {
		rc = verror_set(e, -EIO, "%s%s: truncated", r->prefix, name);
		goto out;
	}
	if (!(p = sbuf_reserve(&dec, raw.len, &rc)))
		goto out;
	if (sopen(&r->key, (unsigned char *)raw.buf, raw.len,
		  (unsigned char *)p) < 0) {
		rc = verror_set(e, -EIO,
				"%s%s is corrupt (its MAC does not "
				"match)",
				r->prefix, name);
		goto out;
	}
	sbuf_commit(&dec, raw.len - RESTIC_EXTRA);
	rc = restic_unpacked(dec.buf, dec.len, out, e);
	if (rc < 0)
		rc = verror_prefix(e, rc == -EPROTONOSUPPORT ? rc : -EIO,
				   "%s%s", r->prefix, name);
out:
	sbuf_release(&raw);
	sbuf_release(&dec);
	return rc;
}

/* The names under dir ("keys/"), sorted: from the vault, or the last list
 * kept when the vault can't be listed. */
static int list_dir(struct restic_repo *r, const char *dir,
		    struct repo_names *l, struct verror *e)
{
	char *d;
	int rc;

	if (asprintf(&d, "%s%s", r->prefix, dir) < 0)
		return -ENOMEM;
	rc = repo_list_latest(r->v, r->c, d, NULL, l, e);
	free(d);
	return rc;
}

/* --- keys and config --------------------------------------------------- */

/* Tries one key file: 1 when the password opens it (r->key set), 0 when
 * it does not, < 0 for a key file that is not one. */
static int try_key(struct restic_repo *r, const char *name,
		   const char *password, struct verror *e)
{
	char kname[300];
	struct sbuf raw;
	json_error_t je;
	json_t *j = NULL, *mk = NULL;
	unsigned char salt[128], dk[64], *data = NULL, *plain = NULL;
	struct rkey pk;
	json_int_t N, R, P;
	long sl, dl;
	int rc;

	snprintf(kname, sizeof(kname), "keys/%s", name);
	sbuf_init(&raw, 1 << 20);
	if ((rc = fetch(r, kname, 0, 0, &raw, e)) < 0)
		goto out;
	if (!(j = json_loadb(raw.buf, raw.len, 0, &je))) {
		rc = verror_set(e, -EBADMSG, "%s%s: not JSON", r->prefix,
				kname);
		goto out;
	}
	N = json_integer_value(json_object_get(j, "N"));
	R = json_integer_value(json_object_get(j, "r"));
	P = json_integer_value(json_object_get(j, "p"));
	if (strcmp(json_string_value(json_object_get(j, "kdf")) ?: "", "scryp"
								       "t")) {
		rc = verror_set(e, -EPROTONOSUPPORT,
				"%s%s: key derivation not known", r->prefix,
				kname);
		goto out;
	}
	/* restic writes N = 2^15..2^20, r = 8, p = 1: refuse what would take
	 * more than 1 GiB or minutes */
	if (N < 2 || N > (1 << 20) || (N & (N - 1)) || R < 1 || R > 32 ||
	    P < 1 || P > 16 || (uint64_t)N * (uint64_t)R * 128 > (1ull << 30) ||
	    (sl = b64(json_object_get(j, "salt"), salt, sizeof(salt))) < 8) {
		rc = verror_set(e, -EBADMSG, "%s%s: bad scrypt parameters",
				r->prefix, kname);
		goto out;
	}
	if (!json_is_string(json_object_get(j, "data")) ||
	    !(data = malloc(json_string_length(json_object_get(j, "data")) +
			    4)) ||
	    (dl = b64(json_object_get(j, "data"), data,
		      json_string_length(json_object_get(j, "data")) + 4)) <
		    RESTIC_EXTRA) {
		rc = data ? verror_set(e, -EBADMSG, "%s%s: no data", r->prefix,
				       kname) :
			    -ENOMEM;
		goto out;
	}
	if (EVP_PBE_scrypt(password, strlen(password), salt, (size_t)sl,
			   (uint64_t)N, (uint64_t)R, (uint64_t)P,
			   (uint64_t)2 << 30, dk, sizeof(dk)) != 1) {
		rc = verror_set(e, -ENOMEM, "scrypt failed");
		goto out;
	}
	memcpy(pk.enc, dk, 32);
	memcpy(pk.mk, dk + 32, 16);
	memcpy(pk.mr, dk + 48, 16);
	if (!(plain = malloc((size_t)dl))) {
		rc = -ENOMEM;
		goto out;
	}
	rc = sopen(&pk, data, (size_t)dl, plain);
	if (rc == -EBADMSG) {
		rc = 0; /* another password's key */
		goto out;
	}
	if (rc < 0)
		goto out;
	mk = json_loadb((char *)plain, (size_t)dl - RESTIC_EXTRA, 0, &je);
	if (!mk ||
	    b64(json_object_get(json_object_get(mk, "mac"), "k"), r->key.mk,
		16) != 16 ||
	    b64(json_object_get(json_object_get(mk, "mac"), "r"), r->key.mr,
		16) != 16 ||
	    b64(json_object_get(mk, "encrypt"), r->key.enc, 32) != 32) {
		rc = verror_set(e, -EBADMSG, "%s%s: master key invalid",
				r->prefix, kname);
		goto out;
	}
	rc = 1;
out:
	OPENSSL_cleanse(dk, sizeof(dk));
	OPENSSL_cleanse(&pk, sizeof(pk));
	if (plain)
		OPENSSL_cleanse(plain, (size_t)dl);
	free(plain);
	free(data);
	json_decref(mk);
	json_decref(j);
	sbuf_release(&raw);
	return rc;
}

static int open_keys(struct restic_repo *r, const char *password,
		     struct verror *e)
{
	struct repo_names l = { 0 };
	size_t i, tried = 0;
	int rc, bad = 0;

	if ((rc = list_dir(r, "keys/", &l, e)) < 0)
		goto out;
	if (!l.n) {
		rc = verror_set(e, -ENOENT,
				"%s: no restic repository (no keys)",
				r->prefix);
		goto out;
	}
	/* a key file that is not one (-EBADMSG, -EPROTONOSUPPORT) does not
	 * stop the others, as in restic; the vault failing does */
	for (i = 0, rc = 0; i < l.n; i++) {
		int k = try_key(r, l.v[i], password, e);

		if (k == 1 ||
		    (k < 0 && k != -EBADMSG && k != -EPROTONOSUPPORT)) {
			rc = k;
			break;
		}
		if (k == 0)
			tried++;
		else if (!bad)
			bad = k;
	}
	if (rc == 0 && (tried || !bad))
		rc = verror_set(e, -EACCES,
				"%s: wrong repository password (no key in "
				"keys/ opens with it)",
				r->prefix);
	else if (rc == 0)
		rc = bad; /* e says why the last one failed */
out:
	repo_names_release(&l);
	return rc < 0 ? rc : 0;
}

static int open_config(struct restic_repo *r, struct verror *e)
{
	struct sbuf js;
	json_t *j;
	json_int_t ver;
	int rc;

	sbuf_init(&js, 1 << 20);
	rc = read_unpacked(r, "config", &js, e);
	if (rc < 0) {
		sbuf_release(&js);
		return rc;
	}
	j = json_loadb(js.buf, js.len, 0, NULL);
	sbuf_release(&js);
	if (!j)
		return verror_set(e, -EIO, "%sconfig: not JSON", r->prefix);
	ver = json_integer_value(json_object_get(j, "version"));
	json_decref(j);
	if (ver != 1 && ver != 2)
		return verror_set(e, -EPROTONOSUPPORT,
				  "%sconfig: repository version %lld is not "
				  "known to velerofs (1 and 2 are)",
				  r->prefix, (long long)ver);
	r->version = (unsigned)ver;
	return 0;
}

/* --- the index --------------------------------------------------------- */

struct idx_build {
	struct restic_repo *r;
	uint32_t first; /* r->npacks before this index file */
};

static int sink_pack(void *ud, const uint8_t id[RESTIC_ID])
{
	struct idx_build *b = ud;
	struct restic_repo *r = b->r;

	if (r->npacks == r->packs_cap) {
		size_t nc = r->packs_cap ? 2 * r->packs_cap : 64;
		void *p = realloc(r->packs, nc * RESTIC_ID);

		if (!p)
			return -ENOMEM;
		r->packs = p;
		r->packs_cap = nc;
	}
	if (r->npacks >= UINT32_MAX)
		return -E2BIG;
	memcpy(r->packs[r->npacks++], id, RESTIC_ID);
	return 0;
}

static int sink_blob(void *ud, const struct restic_blob *rb)
{
	struct idx_build *b = ud;
	struct restic_repo *r = b->r;
	struct ridx *k;

	if (r->nidx == r->cap) {
		size_t nc = r->cap ? 2 * r->cap : 1024;
		struct ridx *n = realloc(r->idx, nc * sizeof(*n));

		if (!n)
			return -ENOMEM;
		r->idx = n;
		r->cap = nc;
	}
	k = &r->idx[r->nidx++];
	memcpy(k->id, rb->id, RESTIC_ID);
	k->type = rb->type;
	k->compressed = rb->compressed;
	k->pack = b->first + rb->pack;
	k->off = rb->off;
	k->len = rb->len;
	k->ulen = rb->ulen;
	return 0;
}

static int ridx_order(const void *x, const void *y)
{
	const struct ridx *a = x, *b = y;
	int c = memcmp(a->id, b->id, RESTIC_ID);

	return c ? c : (int)a->type - (int)b->type;
}

static int load_index(struct restic_repo *r, struct verror *e)
{
	struct repo_names l = { 0 };
	struct idx_build b = { .r = r };
	struct restic_index_sink sink = { sink_pack, sink_blob, &b };
	struct sbuf js;
	size_t i;
	int rc;

	sbuf_init(&js, SMALL_MAX);
	if ((rc = list_dir(r, "index/", &l, e)) < 0)
		goto out;
	for (i = 0; i < l.n; i++) {
		char name[300];

		snprintf(name, sizeof(name), "index/%s", l.v[i]);
		sbuf_reset(&js);
		b.first = (uint32_t)r->npacks;
		if ((rc = read_unpacked(r, name, &js, e)) < 0)
			goto out;
		rc = restic_index_parse(js.buf, js.len, &sink, e);
		if (rc < 0) {
			rc = verror_prefix(e, rc == -ENOMEM ? rc : -EIO, "%s%s",
					   r->prefix, name);
			goto out;
		}
	}
	if (r->nidx)
		qsort(r->idx, r->nidx, sizeof(*r->idx), ridx_order);
out:
	sbuf_release(&js);
	repo_names_release(&l);
	return rc;
}

static const struct ridx *idx_find(const struct restic_repo *r,
				   const uint8_t id[RESTIC_ID], uint8_t type)
{
	size_t lo = 0, hi = r->nidx;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(r->idx[mid].id, id, RESTIC_ID);

		if (!c)
			c = (int)r->idx[mid].type - (int)type;
		if (!c)
			return &r->idx[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* --- blobs ------------------------------------------------------------- */

/* The plaintext of a blob (decrypted, decompressed, its SHA-256 checked)
 * into out. -EIO naming the pack when it is missing or corrupt. */
static int blob_get_uncached(struct restic_repo *r, const uint8_t id[32],
			     uint8_t type, struct sbuf *out, struct verror *e)
{
	const struct ridx *k = idx_find(r, id, type);
	char ids[65], pack[80];
	struct sbuf raw, dec;
	char *p;
	int rc;

	restic_id_str(id, ids);
	if (!k)
		return verror_set(e, -EIO, "blob %s is not in the index", ids);
	if (k->len > BLOB_MAX || k->ulen > BLOB_MAX)
		return verror_set(e, -EIO, "blob %s: too big", ids);
	restic_id_str(r->packs[k->pack], pack + 8);
	memcpy(pack, "data/", 5);
	pack[5] = pack[8];
	pack[6] = pack[9];
	pack[7] = '/';
	sbuf_init(&raw, BLOB_MAX);
	sbuf_init(&dec, BLOB_MAX);
	rc = fetch(r, pack, k->off, k->len, &raw, e);
	if (rc == -ENOENT) {
		rc = verror_set(e, -EIO, "pack %s is missing (blob %s)",
				pack + 8, ids);
		goto out;
	}
	if (rc < 0) {
		rc = verror_prefix(e, rc == -E2BIG ? -EIO : rc,
				   "pack %s (blob %s)", pack + 8, ids);
		goto out;
	}
	if (raw.len != k->len || !(p = sbuf_reserve(&dec, raw.len, &rc)) ||
	    sopen(&r->key, (unsigned char *)raw.buf, raw.len,
		  (unsigned char *)p) < 0) {
		if (rc >= 0)
			rc = verror_set(e, -EIO,
					"pack %s is corrupt: blob %s at %u "
					"does not decrypt",
					pack + 8, ids, k->off);
		goto out;
	}
	sbuf_commit(&dec, raw.len - RESTIC_EXTRA);
	if (k->compressed) {
		out->max = (size_t)k->ulen + 1;
		rc = repo_zstd(dec.buf, dec.len, out, e);
		if (rc < 0) {
			rc = verror_prefix(e, -EIO, "pack %s: blob %s",
					   pack + 8, ids);
			goto out;
		}
	} else if ((rc = sbuf_add(out, dec.buf, dec.len)) < 0) {
		goto out;
	}
	if (out->len != k->ulen || !sha256_is(out->buf, out->len, id))
		rc = verror_set(e, -EIO,
				"pack %s is corrupt: blob %s does not match "
				"its id",
				pack + 8, ids);
out:
	sbuf_release(&raw);
	sbuf_release(&dec);
	return rc;
}

/* The blob through the LRU: *data and *len are a copy the caller
 * frees. */
static int blob_get(struct restic_repo *r, const uint8_t id[32], uint8_t type,
		    char **data, size_t *len, struct verror *e)
{
	struct sbuf out;
	size_t i, victim = 0;
	int rc;

	pthread_mutex_lock(&r->lock);
	for (i = 0; i < LRU_SLOTS; i++) {
		struct lru_slot *s = &r->lru[i];

		if (s->used && !memcmp(s->id, id, RESTIC_ID)) {
			s->used = ++r->tick;
			*data = malloc(s->len + 1);
			if (*data) {
				memcpy(*data, s->data, s->len);
				(*data)[s->len] = 0;
				*len = s->len;
			}
			pthread_mutex_unlock(&r->lock);
			return *data ? 0 : -ENOMEM;
		}
	}
	pthread_mutex_unlock(&r->lock);
	sbuf_init(&out, BLOB_MAX);
	rc = blob_get_uncached(r, id, type, &out, e);
	if (rc < 0) {
		sbuf_release(&out);
		return rc;
	}
	*data = sbuf_take(&out, len);
	if (!*data)
		return -ENOMEM;
	pthread_mutex_lock(&r->lock);
	for (i = 1; i < LRU_SLOTS; i++)
		if (r->lru[i].used < r->lru[victim].used)
			victim = i;
	free(r->lru[victim].data);
	r->lru[victim].data = malloc(*len + 1);
	if (r->lru[victim].data) {
		memcpy(r->lru[victim].data, *data, *len);
		memcpy(r->lru[victim].id, id, RESTIC_ID);
		r->lru[victim].len = *len;
		r->lru[victim].used = ++r->tick;
	} else {
		r->lru[victim].used = 0;
	}
	pthread_mutex_unlock(&r->lock);
	return 0;
}

/* Copies up to len bytes of a data blob's plaintext from off into dst:
 * from the LRU without copying the whole blob when it is there. */
static ssize_t blob_pread(struct restic_repo *r, const uint8_t id[RESTIC_ID],
			  uint64_t off, char *dst, size_t len, struct verror *e)
{
	char *data;
	size_t dlen, i, m;
	int rc;

	pthread_mutex_lock(&r->lock);
	for (i = 0; i < LRU_SLOTS; i++) {
		struct lru_slot *s = &r->lru[i];

		if (s->used && !memcmp(s->id, id, RESTIC_ID)) {
			s->used = ++r->tick;
			m = s->len > off ? (size_t)MIN(s->len - off, len) : 0;
			memcpy(dst, s->data + off, m);
			pthread_mutex_unlock(&r->lock);
			return (ssize_t)m;
		}
	}
	pthread_mutex_unlock(&r->lock);
	if ((rc = blob_get(r, id, RESTIC_DATA, &data, &dlen, e)) < 0)
		return rc;
	m = dlen > off ? (size_t)MIN(dlen - off, len) : 0;
	memcpy(dst, data + off, m);
	free(data);
	return (ssize_t)m;
}

/* --- the public functions ---------------------------------------------- */

int restic_open(struct vault *v, struct cache *c, const char *prefix,
		const char *password, struct restic_repo **out,
		struct verror *e)
{
	struct restic_repo *r;
	int rc;

	if (!(r = calloc(1, sizeof(*r))))
		return -ENOMEM;
	r->v = v;
	r->c = c;
	pthread_mutex_init(&r->lock, NULL);
	if (!(r->prefix = strdup(prefix))) {
		restic_free(r);
		return -ENOMEM;
	}
	rc = open_keys(r, password, e);
	if (rc >= 0)
		rc = open_config(r, e);
	if (rc >= 0)
		rc = load_index(r, e);
	if (rc < 0) {
		restic_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

struct restic_repo *restic_free(struct restic_repo *r)
{
	size_t i;

	if (!r)
		return NULL;
	for (i = 0; i < LRU_SLOTS; i++)
		free(r->lru[i].data);
	for (i = 0; i < FMAP_SLOTS; i++) {
		free(r->fmap[i].ids);
		free(r->fmap[i].ends);
	}
	free(r->idx);
	free(r->packs);
	free(r->prefix);
	OPENSSL_cleanse(&r->key, sizeof(r->key));
	pthread_mutex_destroy(&r->lock);
	free(r);
	return NULL;
}

int restic_snapshot_root(struct restic_repo *r, const char *snapshot_id,
			 struct ventry *root, struct verror *e)
{
	struct repo_names l = { 0 };
	struct sbuf js;
	const char *match = NULL;
	size_t i, sl = strlen(snapshot_id);
	json_t *j = NULL;
	uint8_t tree[RESTIC_ID];
	int rc;

	if (!sl || sl > 64 || strspn(snapshot_id, "0123456789abcdef") != sl)
		return verror_set(e, -ENOENT, "snapshot id '%s' invalid",
				  snapshot_id);
	if ((rc = list_dir(r, "snapshots/", &l, e)) < 0)
		goto out;
	for (i = 0; i < l.n; i++) {
		if (strncmp(l.v[i], snapshot_id, sl))
			continue;
		if (match) {
			rc = verror_set(e, -ENOENT,
					"snapshot id '%s' is ambiguous",
					snapshot_id);
			goto out;
		}
		match = l.v[i];
	}
	if (!match) {
		rc = verror_set(e, -ENOENT, "%ssnapshots/: no snapshot %s",
				r->prefix, snapshot_id);
		goto out;
	}
	{
		char name[300];

		snprintf(name, sizeof(name), "snapshots/%s", match);
		sbuf_init(&js, SMALL_MAX);
		rc = read_unpacked(r, name, &js, e);
		if (rc >= 0 && !(j = json_loadb(js.buf, js.len, 0, NULL)))
			rc = verror_set(e, -EIO, "%s%s: not JSON", r->prefix,
					name);
		sbuf_release(&js);
		if (rc < 0)
			goto out;
	}
	{
		const json_t *t = json_object_get(j, "tree");
		const json_t *tm = json_object_get(j, "time");
		int64_t s = 0;
		uint32_t ns = 0;

		if (!json_is_string(t) ||
		    restic_id_parse(json_string_value(t), json_string_length(t),
				    tree) < 0) {
			rc = verror_set(e, -EIO, "snapshot %s: no tree", match);
			goto out;
		}
		if (json_is_string(tm))
			(void)rfc3339_parse(json_string_value(tm),
					    json_string_length(tm), &s, &ns);
		memset(root, 0, sizeof(*root));
		root->mode = S_IFDIR | 0755;
		root->mtime_ns = s * 1000000000 + ns;
		restic_id_str(tree, root->obj);
		if (!(root->name = strdup("")))
			rc = -ENOMEM;
	}
out:
	json_decref(j);
	repo_names_release(&l);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct ventry *)a)->name,
		      ((const struct ventry *)b)->name);
}

int restic_list(struct restic_repo *r, const struct ventry *dir,
		struct ventry **out, size_t *n, struct verror *e)
{
	uint8_t id[RESTIC_ID];
	struct restic_node *nodes = NULL;
	struct ventry *v;
	size_t nn = 0, i;
	char *data;
	size_t len;
	int rc;

	if (!S_ISDIR(dir->mode) ||
	    restic_id_parse(dir->obj, strlen(dir->obj), id) < 0)
		return -ENOTDIR;
	if ((rc = blob_get(r, id, RESTIC_TREE, &data, &len, e)) < 0)
		return rc;
	rc = restic_tree_parse(data, len, &nodes, &nn, e);
	free(data);
	if (rc < 0)
		return verror_prefix(e, -EIO, "tree %s", dir->obj);
	if (!(v = calloc(nn ? nn : 1, sizeof(*v)))) {
		for (i = 0; i < nn; i++)
			restic_node_release(&nodes[i]);
		free(nodes);
		return -ENOMEM;
	}
	for (i = 0; i < nn; i++) {
		v[i] = nodes[i].ent;
		if (S_ISDIR(v[i].mode))
			restic_id_str(nodes[i].subtree, v[i].obj);
		else if (S_ISREG(v[i].mode))
			/* the tree and the node's position: reads look up
			 * the content list there */
			snprintf(v[i].obj, sizeof(v[i].obj), "%.64s:%zu",
				 dir->obj, nodes[i].pos);
		free(nodes[i].content);
	}
	free(nodes);
	/* restic writes nodes sorted and unique; a hostile tree may not */
	if (nn > 1) {
		size_t k = 1;

		qsort(v, nn, sizeof(*v), by_name);
		for (i = 1; i < nn; i++) {
			if (!strcmp(v[i].name, v[k - 1].name))
				ventry_release(&v[i]);
			else
				v[k++] = v[i];
		}
		nn = k;
	}
	*out = v;
	*n = nn;
	return 0;
}

/* A file's content list with each blob's end offset, from its tree node
 * (FMAP_SLOTS kept, so that sequential reads do not parse the tree again).
 * *ids and *ends: caller frees. */
static int file_map(struct restic_repo *r, const struct ventry *file,
		    uint8_t (**ids)[RESTIC_ID], uint64_t **ends, size_t *n,
		    struct verror *e)
{
	uint8_t tree[RESTIC_ID];
	struct restic_node node = { 0 };
	struct fmap_slot *fs;
	char *data = NULL, *end;
	size_t dlen, i, victim = 0;
	unsigned long long pos;
	uint64_t at = 0;
	int rc;

	if (strlen(file->obj) < 66 || file->obj[64] != ':' ||
	    restic_id_parse(file->obj, 64, tree) < 0)
		return -EINVAL;
	errno = 0;
	pos = strtoull(file->obj + 65, &end, 10);
	if (errno || *end)
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < FMAP_SLOTS; i++) {
		fs = &r->fmap[i];
		if (!fs->used || strcmp(fs->obj, file->obj))
			continue;
		fs->used = ++r->tick;
		*ids = malloc((fs->n ? fs->n : 1) * RESTIC_ID);
		*ends = malloc((fs->n ? fs->n : 1) * sizeof(**ends));
		if (*ids && *ends) {
			memcpy(*ids, fs->ids, fs->n * RESTIC_ID);
			memcpy(*ends, fs->ends, fs->n * sizeof(**ends));
			*n = fs->n;
			pthread_mutex_unlock(&r->lock);
			return 0;
		}
		pthread_mutex_unlock(&r->lock);
		free(*ids);
		free(*ends);
		return -ENOMEM;
	}
	pthread_mutex_unlock(&r->lock);
	if ((rc = blob_get(r, tree, RESTIC_TREE, &data, &dlen, e)) < 0)
		return rc;
	rc = restic_tree_node(data, dlen, (size_t)pos, &node, e);
	free(data);
	if (rc < 0)
		return verror_prefix(e, -EIO, "tree %.64s", file->obj);
	if (!(*ends = malloc((node.ncontent ? node.ncontent : 1) *
			     sizeof(**ends)))) {
		restic_node_release(&node);
		return -ENOMEM;
	}
	for (i = 0; i < node.ncontent; i++) {
		const struct ridx *k =
			idx_find(r, node.content[i], RESTIC_DATA);

		if (!k) {
			char hex[65];

			restic_id_str(node.content[i], hex);
			free(*ends);
			restic_node_release(&node);
			return verror_set(e, -EIO,
					  "blob %s is not in the index", hex);
		}
		at += k->ulen;
		(*ends)[i] = at;
	}
	*ids = node.content;
	*n = node.ncontent;
	node.content = NULL;
	restic_node_release(&node);
	/* keep a copy */
	pthread_mutex_lock(&r->lock);
	for (i = 1; i < FMAP_SLOTS; i++)
		if (r->fmap[i].used < r->fmap[victim].used)
			victim = i;
	fs = &r->fmap[victim];
	free(fs->ids);
	free(fs->ends);
	fs->used = 0;
	fs->ids = malloc((*n ? *n : 1) * RESTIC_ID);
	fs->ends = malloc((*n ? *n : 1) * sizeof(*fs->ends));
	if (fs->ids && fs->ends) {
		memcpy(fs->ids, *ids, *n * RESTIC_ID);
		memcpy(fs->ends, *ends, *n * sizeof(*fs->ends));
		fs->n = *n;
		snprintf(fs->obj, sizeof(fs->obj), "%s", file->obj);
		fs->used = ++r->tick;
	}
	pthread_mutex_unlock(&r->lock);
	return 0;
}

ssize_t restic_read(struct restic_repo *r, const struct ventry *file, void *buf,
		    size_t len, uint64_t off, struct verror *e)
{
	uint8_t(*ids)[RESTIC_ID] = NULL;
	uint64_t *ends = NULL;
	size_t n = 0, lo, hi, done = 0;
	int rc;

	if (!S_ISREG(file->mode))
		return -EISDIR;
	if (off >= file->size || !len)
		return 0;
	if ((rc = file_map(r, file, &ids, &ends, &n, e)) < 0)
		return rc;
	if (len > file->size - off)
		len = (size_t)(file->size - off);
	/* the first blob that ends after off */
	for (lo = 0, hi = n; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;

		if (ends[mid] <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && done < len; lo++) {
		uint64_t bstart = lo ? ends[lo - 1] : 0;
		uint64_t from = off + done - bstart;
		ssize_t m = blob_pread(r, ids[lo], from, (char *)buf + done,
				       len - done, e);

		if (m < 0) {
			rc = (int)m;
			break;
		}
		done += (size_t)m;
		if (!m)
			break;
	}
	free(ids);
	free(ends);
	if (rc < 0)
		return rc;
	if (done < len && !done)
		return verror_set(e, -EIO,
				  "file %s: content shorter than its size",
				  file->name ? file->name : "");
	return (ssize_t)done;
}
