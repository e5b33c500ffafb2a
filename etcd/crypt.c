/* crypt: kube-apiserver's encryption at rest, read side.
 *
 * An EncryptionConfiguration (apiserver.config.k8s.io/v1, YAML or JSON)
 * lists, per resource, providers with named keys. A stored value starts
 * with the provider's prefix and the key's name; what follows is, as
 * k8s.io/apiserver v0.34 pkg/storage/value/encrypt writes it:
 *   aescbc     "k8s:enc:aescbc:v1:<name>:" IV(16) | AES-CBC(PKCS#7 data)
 *              (no authentication; the padding check is the only check)
 *   aesgcm     "k8s:enc:aesgcm:v1:<name>:" nonce(12) | ciphertext | tag(16),
 *              additional data: the etcd key (storage/etcd3/store.go,
 *              authenticatedDataString)
 *   secretbox  "k8s:enc:secretbox:v1:<name>:" nonce(24) | tag(16) |
 *              ciphertext: NaCl secretbox (XSalsa20 + Poly1305)
 *   kms        "k8s:enc:kms:v1:<name>:", "k8s:enc:kms:v2:<name>:": the
 *              data key is sealed by an external KMS: not decryptable here
 * Identity values have no prefix. The apiserver's "aes-gcm extended
 * nonce" transformer (HKDF) is used only inside KMS v2.
 *
 * OpenSSL has AES and Poly1305 but no Salsa20: the Salsa20 core (for
 * HSalsa20 and the XSalsa20 stream) is written out below from its
 * specification (Bernstein, "Salsa20 specification"; "Extending the
 * Salsa20 nonce"). No state besides the loaded configuration, which is
 * read-only after etcd_crypt_load(): thread-safe for readers. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/base64.h"
#include "common/macro.h"
#include "common/yread.h"
#include "etcd/etcd.h"
#include "etcd/crypt_i.h"

#define CONFIG_MAX ((size_t)1 << 20) /* an EncryptionConfiguration is small */
#define ENC_PREFIX "k8s:enc:"

enum ptype { P_AESCBC, P_AESGCM, P_SECRETBOX, P_KMS, P_IDENTITY };

static const char *const ptype_name[] = {
	[P_AESCBC] = "aescbc",	     [P_AESGCM] = "aesgcm",
	[P_SECRETBOX] = "secretbox", [P_KMS] = "kms",
	[P_IDENTITY] = "identity",
};

struct ckey {
	char *name;
	unsigned char secret[32];
	size_t len;
};

struct provider {
	enum ptype type;
	char *kms_name;	   /* P_KMS */
	int kms_version;   /* P_KMS: 1 or 2 */
	struct ckey *keys; /* not P_KMS, P_IDENTITY */
	size_t nkeys;
};

struct entry {
	char **resources; /* "secrets", "deployments.apps", "*.apps", "*.",
			     "*.*" */
	size_t nres;
	struct provider *provs;
	size_t nprov;
};

struct etcd_crypt {
	struct entry *entries;
	size_t nentries;
	EVP_MAC *poly1305; /* fetched once: a fetch costs more than a MAC */
};

struct etcd_crypt *etcd_crypt_free(struct etcd_crypt *c)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < c->nentries; i++) {
		struct entry *en = &c->entries[i];
		for (size_t j = 0; j < en->nres; j++)
			free(en->resources[j]);
		free(en->resources);
		for (size_t j = 0; j < en->nprov; j++) {
			struct provider *p = &en->provs[j];
			free(p->kms_name);
			for (size_t k = 0; k < p->nkeys; k++) {
				free(p->keys[k].name);
				OPENSSL_cleanse(p->keys[k].secret,
						sizeof(p->keys[k].secret));
			}
			free(p->keys);
		}
		free(en->provs);
	}
	free(c->entries);
	EVP_MAC_free(c->poly1305);
	free(c);
	return NULL;
}

/* --- loading ------------------------------------------------------------- */

static int load_keys(json_t *pj, const char *what, size_t rix, size_t pix,
		     struct provider *p, struct verror *e)
{
	json_t *keys = json_object_get(pj, "keys");
	if (!json_is_array(keys) || json_array_size(keys) == 0)
		return verror_set(e, -EINVAL,
				  "resources[%zu].providers[%zu].%s: no keys",
				  rix, pix, what);
	p->keys = calloc(json_array_size(keys), sizeof(*p->keys));
	if (!p->keys)
		return -ENOMEM;
	size_t i;
	json_t *k;
	json_array_foreach(keys, i, k)
	{
		const char *name = json_string_value(json_object_get(k, "nam"
									"e"));
		const char *sec = json_string_value(json_object_get(k, "secre"
								       "t"));
		if (!name || !*name)
			return verror_set(e, -EINVAL,
					  "resources[%zu].providers[%zu].%s."
					  "keys[%zu]: "
					  "no name",
					  rix, pix, what, i);
		if (!sec || !*sec)
			return verror_set(e, -EINVAL, "%s key %s: no secret",
					  what, name);
		unsigned char buf[48];
		long n = base64_decode(sec, strlen(sec), 0, buf, sizeof(buf));
		bool ok = p->type == P_SECRETBOX ?
				  n == 32 :
				  (n == 16 || n == 24 || n == 32);
		if (n < 0 || !ok) {
			OPENSSL_cleanse(buf, sizeof(buf));
			return verror_set(
				e, -EINVAL,
				"%s key %s: the secret is %s (%s wants %s)",
				what, name,
				n < 0 ? "not base64" : "of a wrong size", what,
				p->type == P_SECRETBOX ? "32 bytes" :
							 "16, 24 or 32 bytes");
		}
		struct ckey *ck = &p->keys[p->nkeys];
		ck->name = strdup(name);
		if (!ck->name)
			return -ENOMEM;
		memcpy(ck->secret, buf, (size_t)n);
		ck->len = (size_t)n;
		OPENSSL_cleanse(buf, sizeof(buf));
		p->nkeys++;
	}
	return 0;
}

static int load_provider(json_t *pj, size_t rix, size_t pix, struct provider *p,
			 struct verror *e)
{
	static const struct {
		const char *field;
		enum ptype type;
	} kinds[] = {
		{ "aescbc", P_AESCBC },	      { "aesgcm", P_AESGCM },
		{ "secretbox", P_SECRETBOX }, { "kms", P_KMS },
		{ "identity", P_IDENTITY },
	};
	if (!json_is_object(pj))
		return verror_set(e, -EINVAL,
				  "resources[%zu].providers[%zu]: not a "
				  "mapping",
				  rix, pix);
	int found = -1;
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		if (!json_object_get(pj, kinds[i].field))
			continue;
		if (found >= 0)
			return verror_set(e, -EINVAL,
					  "resources[%zu].providers[%zu]: more "
					  "than one provider",
					  rix, pix);
		found = (int)i;
	}
	if (found < 0)
		return verror_set(e, -EINVAL,
				  "resources[%zu].providers[%zu]: no known "
				  "provider (aescbc, aesgcm, secretbox, kms, "
				  "identity)",
				  rix, pix);
	p->type = kinds[found].type;
	json_t *body = json_object_get(pj, kinds[found].field);
	switch (p->type) {
	case P_IDENTITY:
		return 0;
	case P_KMS: {
		const char *name =
			json_string_value(json_object_get(body, "name"));
		const char *ver = json_string_value(json_object_get(body, "apiV"
									  "ersi"
									  "o"
									  "n"));
		if (!name || !*name)
			return verror_set(e, -EINVAL,
					  "resources[%zu].providers[%zu].kms: "
					  "no name",
					  rix, pix);
		p->kms_name = strdup(name);
		if (!p->kms_name)
			return -ENOMEM;
		/* apiVersion defaults to v1 */
		p->kms_version = ver && !strcmp(ver, "v2") ? 2 : 1;
		return 0;
	}
	default:
		return load_keys(body, kinds[found].field, rix, pix, p, e);
	}
}

static int load_doc(json_t *doc, struct etcd_crypt *c, struct verror *e)
{
	const char *kind = json_string_value(json_object_get(doc, "kind"));
	const char *av = json_string_value(json_object_get(doc, "apiVersion"));
	/* what kube-apiserver v1.34 reads (k8s.io/apiserver
	 * pkg/apis/apiserver/v1/register.go): apiserver.config.k8s.io/v1
	 * EncryptionConfiguration, and "v1" EncryptionConfig, registered
	 * "due to a docs bug" and still found in old clusters */
	bool current = kind && av && !strcmp(kind, "EncryptionConfiguration") &&
		       !strcmp(av, "apiserver.config.k8s.io/v1");
	bool legacy = kind && av && !strcmp(kind, "EncryptionConfig") &&
		      !strcmp(av, "v1");
	bool known = kind && (!strcmp(kind, "EncryptionConfiguration") ||
			      !strcmp(kind, "EncryptionConfig"));
	if (!json_is_object(doc) || !known)
		return verror_set(e, -EINVAL,
				  "not an EncryptionConfiguration (kind %s)",
				  kind ? kind : "missing");
	if (!current && !legacy)
		return verror_set(e, -EINVAL,
				  "%s of apiVersion %s (%s expected)", kind,
				  av ? av : "missing",
				  "apiserver.config.k8s.io/v1");
	json_t *res = json_object_get(doc, "resources");
	if (!json_is_array(res))
		return verror_set(e, -EINVAL,
				  "EncryptionConfiguration without resources");
	c->entries = calloc(json_array_size(res) + 1, sizeof(*c->entries));
	if (!c->entries)
		return -ENOMEM;
	size_t i;
	json_t *rj;
	json_array_foreach(res, i, rj)
	{
		struct entry *en = &c->entries[c->nentries++];
		json_t *names = json_object_get(rj, "resources");
		json_t *provs = json_object_get(rj, "providers");
		if (!json_is_array(names) || !json_is_array(provs))
			return verror_set(e, -EINVAL,
					  "resources[%zu]: resources and "
					  "providers must be lists",
					  i);
		en->resources =
			calloc(json_array_size(names) + 1, sizeof(char *));
		en->provs =
			calloc(json_array_size(provs) + 1, sizeof(*en->provs));
		if (!en->resources || !en->provs)
			return -ENOMEM;
		size_t j;
		json_t *v;
		json_array_foreach(names, j, v)
		{
			if (!json_is_string(v))
				return verror_set(e, -EINVAL,
						  "resources[%zu].resources[%"
						  "zu]"
						  ": not a string",
						  i, j);
			en->resources[en->nres] = strdup(json_string_value(v));
			if (!en->resources[en->nres])
				return -ENOMEM;
			en->nres++;
		}
		json_array_foreach(provs, j, v)
		{
			int r = load_provider(v, i, j, &en->provs[en->nprov],
					      e);
			en->nprov++; /* freed by etcd_crypt_free either way */
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int etcd_crypt_parse(const void *data, size_t len, struct etcd_crypt **out,
		     struct verror *e)
{
	struct yread_options o = { .scalars = YREAD_STRINGS,
				   .max_depth = 32,
				   .max_nodes = 100000 };
	struct yread *y = NULL;
	struct yread_error ye = { 0 };
	json_t *doc = NULL;
	struct etcd_crypt *c = NULL;
	size_t line = 0, col = 0;
	int r = yread_new(data, len, &o, &y);
	if (r < 0)
		return r;
	r = yread_start(y, &line, &col, &ye);
	if (r == 0)
		r = verror_set(e, -EINVAL, "empty EncryptionConfiguration");
	if (r > 0)
		r = yread_doc(y, &doc, &ye);
	if (r == -EBADMSG || r == -E2BIG)
		r = verror_set(e, -EINVAL, "not YAML: line %zu column %zu%s%s",
			       ye.line, ye.column, ye.detail[0] ? ": " : "",
			       ye.detail);
	if (r < 0)
		goto out;
	c = calloc(1, sizeof(*c));
	if (!c) {
		r = -ENOMEM;
		goto out;
	}
	r = load_doc(doc, c, e);
	if (r < 0)
		goto out;
	/* NULL when this OpenSSL lacks it: secretbox values then fail with
	 * -ENOSYS, the rest works */
	c->poly1305 = EVP_MAC_fetch(NULL, "POLY1305", NULL);
	*out = c;
	c = NULL;
	r = 0;
out:
	etcd_crypt_free(c);
	json_decref(doc);
	yread_free(y);
	return r;
}

int etcd_crypt_load(const char *path, struct etcd_crypt **out, struct verror *e)
{
	struct sbuf b;
	sbuf_init(&b, CONFIG_MAX);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return verror_set(e, -errno, "%s: %m", path);
	int r = sbuf_read_fd(&b, fd);
	close(fd);
	if (r == -E2BIG)
		r = verror_set(e, r, "%s: larger than %zu bytes", path,
			       CONFIG_MAX);
	else if (r < 0)
		r = verror_set(e, r, "%s: %s", path, strerror(-r));
	if (r == 0) {
		r = etcd_crypt_parse(sbuf_str(&b), b.len, out, e);
		if (r < 0 && r != -ENOMEM)
			verror_prefix(e, r, "%s", path);
	}
	if (b.buf)
		OPENSSL_cleanse(b.buf, b.len);
	sbuf_release(&b);
	return r;
}

/* --- the ciphers ---------------------------------------------------------- */

static const EVP_CIPHER *aes_cipher(size_t keylen, bool gcm)
{
	switch (keylen) {
	case 16:
		return gcm ? EVP_aes_128_gcm() : EVP_aes_128_cbc();
	case 24:
		return gcm ? EVP_aes_192_gcm() : EVP_aes_192_cbc();
	default:
		return gcm ? EVP_aes_256_gcm() : EVP_aes_256_cbc();
	}
}

/* aescbc: IV | blocks; PKCS#7 checked as the apiserver checks it (a pad
 * byte of 1..len, all pad bytes equal). -EBADMSG on bad size or pad. */
static int aescbc_open(const struct ckey *k, const unsigned char *d, size_t n,
		       struct sbuf *out)
{
	if (n < 16 || (n - 16) % 16 != 0 || n - 16 > INT32_MAX || n == 16)
		return -EBADMSG;
	size_t clen = n - 16;
	int r;
	unsigned char *p = (unsigned char *)sbuf_reserve(out, clen + 16, &r);
	if (!p)
		return r;
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	if (!x)
		return -ENOMEM;
	int l1 = 0, l2 = 0;
	r = -EBADMSG;
	if (EVP_DecryptInit_ex(x, aes_cipher(k->len, false), NULL, k->secret,
			       d) == 1 &&
	    EVP_CIPHER_CTX_set_padding(x, 0) == 1 &&
	    EVP_DecryptUpdate(x, p, &l1, d + 16, (int)clen) == 1 &&
	    EVP_DecryptFinal_ex(x, p + l1, &l2) == 1 &&
	    (size_t)(l1 + l2) == clen)
		r = 0;
	EVP_CIPHER_CTX_free(x);
	if (r < 0)
		return r;
	unsigned pad = p[clen - 1];
	if (pad == 0 || pad > clen)
		return -EBADMSG;
	for (size_t i = clen - pad; i < clen; i++)
		if (p[i] != pad)
			return -EBADMSG;
	sbuf_commit(out, clen - pad);
	return 0;
}

/* aesgcm: nonce(12) | ciphertext | tag(16), additional data ad. */
static int aesgcm_open(const struct ckey *k, const unsigned char *d, size_t n,
		       const void *ad, size_t adlen, struct sbuf *out)
{
	if (n < 12 + 16 || n > INT32_MAX || adlen > INT32_MAX)
		return -EBADMSG;
	size_t clen = n - 12 - 16;
	int r;
	unsigned char *p = (unsigned char *)sbuf_reserve(out, clen + 16, &r);
	if (!p)
		return r;
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	if (!x)
		return -ENOMEM;
	int l1 = 0, l2 = 0, la = 0;
	r = -EBADMSG;
	if (EVP_DecryptInit_ex(x, aes_cipher(k->len, true), NULL, NULL, NULL) ==
		    1 &&
	    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
	    EVP_DecryptInit_ex(x, NULL, NULL, k->secret, d) == 1 &&
	    (adlen == 0 ||
	     EVP_DecryptUpdate(x, NULL, &la, ad, (int)adlen) == 1) &&
	    EVP_DecryptUpdate(x, p, &l1, d + 12, (int)clen) == 1 &&
	    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, 16,
				(void *)(d + n - 16)) == 1 &&
	    EVP_DecryptFinal_ex(x, p + l1, &l2) == 1 &&
	    (size_t)(l1 + l2) == clen)
		r = 0;
	EVP_CIPHER_CTX_free(x);
	if (r < 0) {
		OPENSSL_cleanse(p, clen);
		return r;
	}
	sbuf_commit(out, clen);
	return 0;
}

/* Salsa20 */

#define ROTL32(v, c) (((v) << (c)) | ((v) >> (32 - (c))))

static uint32_t ld32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void st32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* The 20 rounds on x[16] in place. */
static void salsa20_rounds(uint32_t x[16])
{
	for (int i = 0; i < 20; i += 2) {
		/* column round */
		x[4] ^= ROTL32(x[0] + x[12], 7);
		x[8] ^= ROTL32(x[4] + x[0], 9);
		x[12] ^= ROTL32(x[8] + x[4], 13);
		x[0] ^= ROTL32(x[12] + x[8], 18);
		x[9] ^= ROTL32(x[5] + x[1], 7);
		x[13] ^= ROTL32(x[9] + x[5], 9);
		x[1] ^= ROTL32(x[13] + x[9], 13);
		x[5] ^= ROTL32(x[1] + x[13], 18);
		x[14] ^= ROTL32(x[10] + x[6], 7);
		x[2] ^= ROTL32(x[14] + x[10], 9);
		x[6] ^= ROTL32(x[2] + x[14], 13);
		x[10] ^= ROTL32(x[6] + x[2], 18);
		x[3] ^= ROTL32(x[15] + x[11], 7);
		x[7] ^= ROTL32(x[3] + x[15], 9);
		x[11] ^= ROTL32(x[7] + x[3], 13);
		x[15] ^= ROTL32(x[11] + x[7], 18);
		/* row round */
		x[1] ^= ROTL32(x[0] + x[3], 7);
		x[2] ^= ROTL32(x[1] + x[0], 9);
		x[3] ^= ROTL32(x[2] + x[1], 13);
		x[0] ^= ROTL32(x[3] + x[2], 18);
		x[6] ^= ROTL32(x[5] + x[4], 7);
		x[7] ^= ROTL32(x[6] + x[5], 9);
		x[4] ^= ROTL32(x[7] + x[6], 13);
		x[5] ^= ROTL32(x[4] + x[7], 18);
		x[11] ^= ROTL32(x[10] + x[9], 7);
		x[8] ^= ROTL32(x[11] + x[10], 9);
		x[9] ^= ROTL32(x[8] + x[11], 13);
		x[10] ^= ROTL32(x[9] + x[8], 18);
		x[12] ^= ROTL32(x[15] + x[14], 7);
		x[13] ^= ROTL32(x[12] + x[15], 9);
		x[14] ^= ROTL32(x[13] + x[12], 13);
		x[15] ^= ROTL32(x[14] + x[13], 18);
	}
}

/* "expand 32-byte k" */
static const uint32_t sigma[4] = { 0x61707865, 0x3320646e, 0x79622d32,
				   0x6b206574 };

static void salsa20_state(uint32_t s[16], const unsigned char key[32],
			  const unsigned char in[16])
{
	s[0] = sigma[0];
	s[5] = sigma[1];
	s[10] = sigma[2];
	s[15] = sigma[3];
	for (int i = 0; i < 4; i++) {
		s[1 + i] = ld32(key + 4 * i);
		s[11 + i] = ld32(key + 16 + 4 * i);
		s[6 + i] = ld32(in + 4 * i);
	}
}

void etcd_hsalsa20(unsigned char out[32], const unsigned char key[32],
		   const unsigned char in[16])
{
	uint32_t x[16];
	salsa20_state(x, key, in);
	salsa20_rounds(x);
	static const int pick[8] = { 0, 5, 10, 15, 6, 7, 8, 9 };
	for (int i = 0; i < 8; i++)
		st32(out + 4 * i, x[pick[i]]);
	OPENSSL_cleanse(x, sizeof(x));
}

/* One 64-byte block of Salsa20(key, nonce(8), counter). */
static void salsa20_block(unsigned char out[64], const unsigned char key[32],
			  const unsigned char nonce[8], uint64_t counter)
{
	unsigned char in[16];
	memcpy(in, nonce, 8);
	for (int i = 0; i < 8; i++)
		in[8 + i] = (unsigned char)(counter >> (8 * i));
	uint32_t s[16], x[16];
	salsa20_state(s, key, in);
	memcpy(x, s, sizeof(x));
	salsa20_rounds(x);
	for (int i = 0; i < 16; i++)
		st32(out + 4 * i, x[i] + s[i]);
	OPENSSL_cleanse(x, sizeof(x));
	OPENSSL_cleanse(s, sizeof(s));
}

void etcd_xsalsa20_xor(unsigned char *dst, const unsigned char *src, size_t n,
		       const unsigned char nonce[24],
		       const unsigned char key[32], uint64_t skip)
{
	unsigned char sub[32], block[64];
	etcd_hsalsa20(sub, key, nonce);
	uint64_t ctr = skip / 64;
	size_t off = (size_t)(skip % 64);
	while (n > 0) {
		salsa20_block(block, sub, nonce + 16, ctr++);
		size_t take = MIN(n, 64 - off);
		for (size_t i = 0; i < take; i++)
			dst[i] = src[i] ^ block[off + i];
		dst += take;
		src += take;
		n -= take;
		off = 0;
	}
	OPENSSL_cleanse(sub, sizeof(sub));
	OPENSSL_cleanse(block, sizeof(block));
}

static int poly1305(EVP_MAC *mac, unsigned char tag[16],
		    const unsigned char key[32], const unsigned char *m,
		    size_t n)
{
	if (!mac)
		return -ENOSYS;
	EVP_MAC_CTX *x = EVP_MAC_CTX_new(mac);
	size_t tl = 0;
	int r = -EIO;
	if (x && EVP_MAC_init(x, key, 32, NULL) == 1 &&
	    EVP_MAC_update(x, m, n) == 1 &&
	    EVP_MAC_final(x, tag, &tl, 16) == 1 && tl == 16)
		r = 0;
	EVP_MAC_CTX_free(x);
	return r;
}

/* secretbox: nonce(24) | tag(16) | ciphertext. The first 32 bytes of the
 * XSalsa20 stream are the Poly1305 key; the message uses the stream from
 * byte 32 on (NaCl crypto_secretbox_xsalsa20poly1305). */
static int secretbox_open(EVP_MAC *mac, const struct ckey *k,
			  const unsigned char *d, size_t n, struct sbuf *out)
{
	if (n < 24 + 16)
		return -EBADMSG;
	const unsigned char *nonce = d, *tag = d + 24, *c = d + 40;
	size_t clen = n - 40;
	unsigned char zero[32] = { 0 }, pk[32], want[16];
	etcd_xsalsa20_xor(pk, zero, 32, nonce, k->secret, 0);
	int r = poly1305(mac, want, pk, c, clen);
	OPENSSL_cleanse(pk, sizeof(pk));
	if (r < 0)
		return r;
	if (CRYPTO_memcmp(want, tag, 16) != 0)
		return -EBADMSG;
	unsigned char *p = (unsigned char *)sbuf_reserve(out, clen + 1, &r);
	if (!p)
		return r;
	etcd_xsalsa20_xor(p, c, clen, nonce, k->secret, 32);
	sbuf_commit(out, clen);
	return 0;
}

/* --- choosing the key ----------------------------------------------------- */

bool etcd_value_encrypted(const void *val, size_t len)
{
	return len >= strlen(ENC_PREFIX) &&
	       !memcmp(val, ENC_PREFIX, strlen(ENC_PREFIX));
}

/* Does the configuration's resource name rn select gr ("secrets",
 * "deployments.apps")? level: 0 exact, 1 "*.<group>", 2 "*.*" (the
 * apiserver's order: an exact entry wins over the group's wildcard,
 * which wins over *.*). */
static bool res_match(const char *rn, const char *gr, int level)
{
	const char *dot = strchr(gr, '.');
	const char *group = dot ? dot + 1 : "";
	switch (level) {
	case 0:
		return !strcmp(rn, gr);
	case 1:
		return rn[0] == '*' && rn[1] == '.' && strcmp(rn, "*.*") &&
		       !strcmp(rn + 2, group);
	default:
		return !strcmp(rn, "*.*");
	}
}

struct cand {
	const struct provider *p;
	const struct ckey *k;
};

/* Fills cands with the keys of type t whose "<name>:" starts rest: first
 * those of gr's providers (in the apiserver's order), then every other
 * such key in the file's order. Returns the count. */
static size_t candidates(const struct etcd_crypt *c, const char *gr,
			 enum ptype t, const unsigned char *rest, size_t rlen,
			 struct cand *cands, size_t max)
{
	size_t n = 0;
	int level = -1;
	if (gr)
		for (int lv = 0; lv <= 2 && level < 0; lv++)
			for (size_t i = 0; i < c->nentries && level < 0; i++)
				for (size_t j = 0; j < c->entries[i].nres; j++)
					if (res_match(c->entries[i].resources[j],
						      gr, lv)) {
						level = lv;
						break;
					}
	/* pass 0: gr's entries (at the level that selected them); pass 1:
	 * all */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 0 && level < 0)
			continue;
		for (size_t i = 0; i < c->nentries; i++) {
			const struct entry *en = &c->entries[i];
			if (pass == 0) {
				bool sel = false;
				for (size_t j = 0; j < en->nres && !sel; j++)
					sel = res_match(en->resources[j], gr,
							level);
				if (!sel)
					continue;
			}
			for (size_t j = 0; j < en->nprov; j++) {
				const struct provider *p = &en->provs[j];
				if (p->type != t)
					continue;
				for (size_t k = 0; k < p->nkeys; k++) {
					const struct ckey *ck = &p->keys[k];
					size_t nl = strlen(ck->name);
					if (rlen <= nl || rest[nl] != ':' ||
					    memcmp(rest, ck->name, nl))
						continue;
					bool dup = false;
					for (size_t m = 0; m < n && !dup; m++)
						dup = cands[m].k == ck;
					if (!dup && n < max)
						cands[n++] =
							(struct cand){ p, ck };
				}
			}
		}
	}
	return n;
}

/* A value kube-apiserver stores is protobuf ("k8s\0") or JSON. */
static bool plausible(const char *p, size_t n)
{
	if (n >= 4 && !memcmp(p, "k8s\0", 4))
		return true;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == ' ' || p[i] == '\n' || p[i] == '\t' || p[i] == '\r')
			continue;
		return p[i] == '{';
	}
	return false;
}

static size_t token_len(const unsigned char *p, size_t n)
{
	size_t i = 0;
	while (i < n && p[i] != ':' && i < 64)
		i++;
	return i;
}

int etcd_crypt_decrypt(const struct etcd_crypt *c, const char *key,
		       size_t key_len, const char *gr, const void *val,
		       size_t len, struct sbuf *out, struct verror *e)
{
	const unsigned char *v = val;
	if (!etcd_value_encrypted(val, len))
		return verror_set(e, -EINVAL, "value not encrypted (no %s)",
				  ENC_PREFIX);
	const unsigned char *p = v + strlen(ENC_PREFIX);
	size_t n = len - strlen(ENC_PREFIX);
	static const struct {
		const char *prefix;
		enum ptype type;
		int kms;
	} kinds[] = {
		{ "aescbc:v1:", P_AESCBC, 0 },
		{ "aesgcm:v1:", P_AESGCM, 0 },
		{ "secretbox:v1:", P_SECRETBOX, 0 },
		{ "kms:v1:", P_KMS, 1 },
		{ "kms:v2:", P_KMS, 2 },
	};
	int kind = -1;
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		size_t pl = strlen(kinds[i].prefix);
		if (n >= pl && !memcmp(p, kinds[i].prefix, pl)) {
			kind = (int)i;
			p += pl;
			n -= pl;
			break;
		}
	}
	if (kind < 0) {
		size_t t = token_len(p, n);
		return verror_set(e, -EINVAL,
				  "encrypted with an unknown provider \"%.*s\"",
				  (int)t, (const char *)p);
	}
	enum ptype t = kinds[kind].type;
	size_t tl = token_len(p, n);
	if (t == P_KMS)
		return verror_set(e, -EOPNOTSUPP,
				  "encrypted with KMS provider %.*s (kms %s): "
				  "its data key is sealed by the KMS plugin, "
				  "velerofs cannot decrypt it",
				  (int)tl, (const char *)p,
				  kinds[kind].kms == 2 ? "v2" : "v1");
	struct cand cands[32];
	size_t nc = c ? candidates(c, gr, t, p, n, cands, ARRAY_SIZE(cands)) :
			0;
	if (nc == 0)
		return verror_set(e, -ENOKEY,
				  "encrypted with %s key \"%.*s\"%s",
				  ptype_name[t], (int)tl, (const char *)p,
				  c ? ", which the encryption configuration "
				      "does not have" :
				      ": no encryption configuration given "
				      "(-o encryption-config=FILE)");
	size_t start = out->len;
	int last = -EBADMSG;
	for (size_t i = 0; i < nc; i++) {
		size_t nl = strlen(cands[i].k->name) + 1;
		const unsigned char *d = p + nl;
		size_t dn = n - nl;
		int r;
		switch (t) {
		case P_AESCBC:
			r = aescbc_open(cands[i].k, d, dn, out);
			if (r == 0 &&
			    !plausible(out->buf + start, out->len - start))
				r = -EBADMSG;
			break;
		case P_AESGCM:
			r = aesgcm_open(cands[i].k, d, dn, key, key_len, out);
			break;
		default:
			r = secretbox_open(c->poly1305, cands[i].k, d, dn, out);
			break;
		}
		if (r == 0)
			return 0;
		if (out->buf) {
			OPENSSL_cleanse(out->buf + start, out->len - start);
			out->len = start;
			out->buf[start] = '\0';
		}
		if (r != -EBADMSG)
			return verror_set(e, r, "decrypting with %s key %s: %s",
					  ptype_name[t], cands[i].k->name,
					  strerror(-r));
		last = r;
	}
	return verror_set(e, last,
			  "%s key \"%.*s\" does not decrypt the value (%s%s)",
			  ptype_name[t], (int)tl, (const char *)p,
			  t == P_AESCBC ? "bad padding or not a stored object" :
					  "authentication failed",
			  t == P_AESGCM ? ": the wrong key, or the value was "
					  "moved from another etcd key" :
					  ": the wrong key");
}
