/* pki: certificates.txt, the auditor's view of a backed-up control-plane
 * PKI directory (kubeadm's /etc/kubernetes/pki: ca.crt/key, apiserver*,
 * front-proxy-*, sa.key/sa.pub, etcd/...). Reads PEM with OpenSSL; every
 * file is described by what it holds, not by its name. A summary table
 * (soonest expiry first) comes before the per-file details. Text taken
 * from the certificates (names, SANs) is escaped: a hostile certificate
 * cannot end a line or drive a terminal. No state; thread-safe. */
#include <errno.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/macro.h"
#include "etcd/crypt_i.h"
#include "etcd/etcd.h"

#define PEM_FILE_MAX ((size_t)4 << 20) /* larger files are not PEM we read */
/* blocks described per file: a CA bundle of a few hundred certificates
 * fits; the rest of a larger file is counted, not described */
#define BLOCKS_PER_FILE_MAX 512

static const char *const private_blocks[] = {
	"PRIVATE KEY",	   "RSA PRIVATE KEY",	    "EC PRIVATE KEY",
	"DSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY",
};

static bool is_private_block(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(private_blocks); i++)
		if (!strcmp(name, private_blocks[i]))
			return true;
	return false;
}

/* Scans the "-----BEGIN <name>-----" lines of data (no decoding). */
bool etcd_pki_private_key(const void *data, size_t len)
{
	static const char tag[] = "-----BEGIN ";
	const char *p = data, *end = p + len;
	while (p < end) {
		const char *b = memmem(p, (size_t)(end - p), tag, strlen(tag));
		if (!b)
			return false;
		b += strlen(tag);
		const char *q = memmem(b, (size_t)(end - b), "-----", 5);
		if (!q)
			return false;
		char name[64];
		size_t n = (size_t)(q - b);
		if (n < sizeof(name)) {
			memcpy(name, b, n);
			name[n] = '\0';
			if (is_private_block(name))
				return true;
		}
		p = q + 5;
	}
	return false;
}

/* --- pieces of a description --------------------------------------------- */

static int add_name(struct sbuf *o, const X509_NAME *nm)
{
	BIO *b = BIO_new(BIO_s_mem());
	if (!b)
		return -ENOMEM;
	unsigned long fl = XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN |
			   (ASN1_STRFLGS_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	int r = 0;
	if (X509_NAME_print_ex(b, nm, 0, fl) < 0) {
		r = sbuf_adds(o, "(unprintable)");
	} else {
		char *p = NULL;
		long n = BIO_get_mem_data(b, &p);
		r = n > 0 ? sbuf_add_escaped(o, p, (size_t)n) :
			    sbuf_adds(o, "(empty)");
	}
	BIO_free(b);
	return r;
}

static int add_time(struct sbuf *o, const ASN1_TIME *t, time_t *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return sbuf_adds(o, "(invalid time)");
	*out = timegm(&tm);
	return sbuf_addf(o, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec);
}

static int add_key(struct sbuf *o, EVP_PKEY *k)
{
	if (!k)
		return sbuf_adds(o, "(unreadable key)");
	int id = EVP_PKEY_get_base_id(k), bits = EVP_PKEY_get_bits(k);
	char group[64] = "";
	size_t gl = 0;
	switch (id) {
	case EVP_PKEY_RSA:
	case EVP_PKEY_RSA_PSS:
		return sbuf_addf(o, "%s %d",
				 id == EVP_PKEY_RSA ? "RSA" : "RSA-PSS", bits);
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_group_name(k, group, sizeof(group), &gl) != 1)
			snprintf(group, sizeof(group), "?");
		return sbuf_addf(o, "ECDSA %d (%s)", bits, group);
	case EVP_PKEY_ED25519:
		return sbuf_adds(o, "Ed25519");
	case EVP_PKEY_ED448:
		return sbuf_adds(o, "Ed448");
	case EVP_PKEY_DSA:
		return sbuf_addf(o, "DSA %d", bits);
	default:
		return sbuf_addf(o, "%s %d", OBJ_nid2sn(id), bits);
	}
}

static int add_sans(struct sbuf *o, X509 *x)
{
	GENERAL_NAMES *g =
		X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	if (!g)
		return sbuf_adds(o, "(none)");
	int r = 0;
	for (int i = 0; r == 0 && i < sk_GENERAL_NAME_num(g); i++) {
		const GENERAL_NAME *n = sk_GENERAL_NAME_value(g, i);
		if (i)
			r = sbuf_adds(o, ", ");
		const ASN1_STRING *s = NULL;
		const char *label = NULL;
		switch (n->type) {
		case GEN_DNS:
			label = "DNS", s = n->d.dNSName;
			break;
		case GEN_URI:
			label = "URI", s = n->d.uniformResourceIdentifier;
			break;
		case GEN_EMAIL:
			label = "email", s = n->d.rfc822Name;
			break;
		case GEN_IPADD: {
			const unsigned char *a = n->d.iPAddress->data;
			int l = n->d.iPAddress->length;
			if (l == 4) {
				r = r	  ?:
					    sbuf_addf(o, "IP:%u.%u.%u.%u", a[0],
						      a[1], a[2], a[3]);
			} else if (l == 16) {
				r = r ?: sbuf_adds(o, "IP:");
				for (int j = 0; r == 0 && j < 16; j += 2)
					r = sbuf_addf(o, "%s%x", j ? ":" : "",
						      a[j] << 8 | a[j + 1]);
			} else {
				r = r ?: sbuf_adds(o, "IP:(bad length)");
			}
			continue;
		}
		default:
			r = r ?: sbuf_addf(o, "other(%d)", n->type);
			continue;
		}
		r = r ?: sbuf_addf(o, "%s:", label);
		r = r	  ?:
			    sbuf_add_escaped(
				    o, (const char *)ASN1_STRING_get0_data(s),
				    (size_t)ASN1_STRING_length(s));
	}
	GENERAL_NAMES_free(g);
	return r;
}

static int add_usage(struct sbuf *o, X509 *x)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} ku[] = {
		{ KU_DIGITAL_SIGNATURE, "digitalSignature" },
		{ KU_NON_REPUDIATION, "nonRepudiation" },
		{ KU_KEY_ENCIPHERMENT, "keyEncipherment" },
		{ KU_DATA_ENCIPHERMENT, "dataEncipherment" },
		{ KU_KEY_AGREEMENT, "keyAgreement" },
		{ KU_KEY_CERT_SIGN, "keyCertSign" },
		{ KU_CRL_SIGN, "cRLSign" },
	};
	int r = 0;
	bool any = false;
	uint32_t k = X509_get_key_usage(x);
	if (k != UINT32_MAX)
		for (size_t i = 0; r == 0 && i < ARRAY_SIZE(ku); i++)
			if (k & ku[i].bit) {
				r = sbuf_addf(o, "%s%s", any ? ", " : "",
					      ku[i].name);
				any = true;
			}
	EXTENDED_KEY_USAGE *eku =
		X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	for (int i = 0; eku && r == 0 && i < sk_ASN1_OBJECT_num(eku); i++) {
		int nid = OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i));
		char buf[80];
		if (nid != NID_undef)
			snprintf(buf, sizeof(buf), "%s", OBJ_nid2ln(nid));
		else
			OBJ_obj2txt(buf, sizeof(buf),
				    sk_ASN1_OBJECT_value(eku, i), 1);
		r = sbuf_addf(o, "%s%s", any ? ", " : "", buf);
		any = true;
	}
	EXTENDED_KEY_USAGE_free(eku);
	return r ?: (any ? 0 : sbuf_adds(o, "(not restricted)"));
}

/* --- one file ------------------------------------------------------------- */

struct summary {
	char file[256];
	char subject[160];
	time_t not_after;
	bool valid_time;
};

/* Every certificate and readable key of all the files, for the lines
 * that tie files together: which file's certificate issued this one (the
 * signature checked), which key file holds a certificate's private key. */
struct pki_obj {
	const char *file;
	X509 *x;     /* a certificate, or */
	EVP_PKEY *k; /* a key */
	bool priv;
};

struct report {
	struct sbuf *o;
	int64_t at;	 /* days left are counted from it */
	char at_str[32]; /* it, RFC 3339 UTC */
	struct summary *sum;
	size_t nsum, capsum;
	struct pki_obj *objs;
	size_t nobjs, capobjs;
	unsigned verifies; /* signature checks left: a file of many
			    * certificates naming one issuer costs
			    * n x n checks otherwise */
};

#define VERIFY_BUDGET 4096

static int index_add(struct report *rp, const char *file, X509 *x, EVP_PKEY *k,
		     bool priv)
{
	if (rp->nobjs == rp->capobjs) {
		size_t nc = rp->capobjs ? rp->capobjs * 2 : 32;
		struct pki_obj *no = realloc(rp->objs, nc * sizeof(*no));
		if (!no) {
			X509_free(x);
			EVP_PKEY_free(k);
			return -ENOMEM;
		}
		rp->objs = no;
		rp->capobjs = nc;
	}
	rp->objs[rp->nobjs++] = (struct pki_obj){ file, x, k, priv };
	return 0;
}

static void index_free(struct report *rp)
{
	for (size_t i = 0; i < rp->nobjs; i++) {
		X509_free(rp->objs[i].x);
		EVP_PKEY_free(rp->objs[i].k);
	}
	free(rp->objs);
}

static bool signed_by(struct report *rp, X509 *x, X509 *ca)
{
	EVP_PKEY *pk = X509_get0_pubkey(ca);
	if (!pk ||
	    X509_NAME_cmp(X509_get_subject_name(ca), X509_get_issuer_name(x)) !=
		    0 ||
	    rp->verifies == 0)
		return false;
	rp->verifies--;
	return X509_verify(x, pk) == 1;
}

/* "issued by:   ca.crt (signature verified)": the files holding a
 * certificate whose subject is x's issuer and whose key verifies x's
 * signature (names and signatures only: no key usage or validity rules,
 * which are what the auditor reads above). */
static int add_issuer_file(struct report *rp, const char *file, X509 *x)
{
	if (signed_by(rp, x, x))
		return sbuf_adds(rp->o, "\n    issued by:   itself (signature "
					"verified)");
	int r = 0;
	const char *last = NULL;
	for (size_t i = 0; r == 0 && i < rp->nobjs; i++) {
		X509 *ca = rp->objs[i].x;
		if (!ca || X509_cmp(ca, x) == 0 || !signed_by(rp, x, ca))
			continue;
		const char *f = rp->objs[i].file;
		if (last && !strcmp(last, f))
			continue;
		r = sbuf_adds(rp->o, last ? ", " : "\n    issued by:   ");
		r = r ?: sbuf_add_escaped(rp->o, f, strlen(f));
		if (r == 0 && !strcmp(f, file))
			r = sbuf_adds(rp->o, " (this file)");
		last = f;
	}
	if (r == 0 && !last && rp->verifies == 0)
		return sbuf_adds(rp->o, "\n    issued by:   not checked (too "
					"many "
					"signatures to check in this "
					"directory)");
	if (r == 0 && !last)
		return sbuf_adds(rp->o, "\n    issued by:   no file here (the "
					"issuer is not in this directory, or "
					"the signature does not verify)");
	return r ?: sbuf_adds(rp->o, " (signature verified)");
}

/* Lists the files whose keys (want_priv) or certificates (!want_priv)
 * hold the same public key as k. */
static int add_pairs(struct report *rp, const char *label, EVP_PKEY *k,
		     bool want_priv, bool want_cert)
{
	int r = 0;
	bool any = false;
	const char *last = NULL;
	for (size_t i = 0; r == 0 && i < rp->nobjs; i++) {
		const struct pki_obj *ob = &rp->objs[i];
		EVP_PKEY *other = ob->x ? X509_get0_pubkey(ob->x) : ob->k;
		if (!other ||
		    (want_cert ? !ob->x : (ob->x || ob->priv != want_priv)))
			continue;
		if (EVP_PKEY_eq(k, other) != 1)
			continue;
		if (last && !strcmp(last, ob->file))
			continue; /* a bundle: once per file */
		r = sbuf_adds(rp->o, any ? ", " : label);
		r = r ?: sbuf_add_escaped(rp->o, ob->file, strlen(ob->file));
		any = true;
		last = ob->file;
	}
	return r;
}

static int add_summary(struct report *rp, const char *file, X509 *x,
		       time_t not_after, bool valid)
{
	if (rp->nsum == rp->capsum) {
		size_t nc = rp->capsum ? rp->capsum * 2 : 16;
		struct summary *ns = realloc(rp->sum, nc * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		rp->sum = ns;
		rp->capsum = nc;
	}
	struct summary *s = &rp->sum[rp->nsum++];
	memset(s, 0, sizeof(*s));
	snprintf(s->file, sizeof(s->file), "%s", file);
	struct sbuf b;
	sbuf_init(&b, sizeof(s->subject) * 8);
	add_name(&b, X509_get_subject_name(x));
	snprintf(s->subject, sizeof(s->subject), "%s", sbuf_str(&b));
	sbuf_release(&b);
	s->not_after = not_after;
	s->valid_time = valid;
	return 0;
}

static long days_left(time_t t, int64_t now)
{
	int64_t d = (int64_t)t - now;
	/* whole days, rounded toward minus infinity: -0.5 day is -1 (it
	 * has expired) */
	return (long)(d >= 0 ? d / 86400 : -((-d + 86399) / 86400));
}

static int describe_cert(struct report *rp, const char *file, int idx,
			 const unsigned char *der, long len)
{
	struct sbuf *o = rp->o;
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, len);
	if (!x)
		return sbuf_addf(o,
				 "  certificate %d: not a readable X.509 "
				 "certificate (bad DER)\n",
				 idx);
	int r = sbuf_addf(o, "  certificate %d\n    subject:     ", idx);
	r = r ?: add_name(o, X509_get_subject_name(x));
	r = r ?: sbuf_adds(o, "\n    issuer:      ");
	r = r ?: add_name(o, X509_get_issuer_name(x));
	if (r == 0 && signed_by(rp, x, x))
		r = sbuf_adds(o, " (self-signed)");
	r = r ?: sbuf_adds(o, "\n    serial:      ");
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	r = r ?: sbuf_adds(o, hex ? hex : "(unreadable)");
	OPENSSL_free(hex);
	BN_free(bn);
	time_t nb = 0, na = 0;
	r = r ?: sbuf_adds(o, "\n    not before:  ");
	r = r ?: add_time(o, X509_get0_notBefore(x), &nb);
	r = r ?: sbuf_adds(o, "\n    not after:   ");
	bool valid =
		ASN1_TIME_to_tm(X509_get0_notAfter(x), &(struct tm){ 0 }) == 1;
	r = r ?: add_time(o, X509_get0_notAfter(x), &na);
	if (r == 0 && valid) {
		long d = days_left(na, rp->at);
		r = sbuf_addf(o, "\n    days left:   %ld at %s%s", d,
			      rp->at_str,
			      (int64_t)na <= rp->at ? " (EXPIRED then)" :
			      (int64_t)nb > rp->at  ? " (not yet valid then)" :
						      "");
	}
	r = r ?: sbuf_adds(o, "\n    SANs:        ");
	r = r ?: add_sans(o, x);
	r = r ?: sbuf_adds(o, "\n    key:         ");
	r = r ?: add_key(o, X509_get0_pubkey(x));
	uint32_t ef = X509_get_extension_flags(x);
	long pathlen = X509_get_pathlen(x);
	if (r == 0) {
		if (ef & EXFLAG_CA)
			r = pathlen >= 0 ? sbuf_addf(o,
						     "\n    CA:          yes "
						     "(path length %ld)",
						     pathlen) :
					   sbuf_adds(o, "\n    CA:          "
							"yes");
		else
			r = sbuf_adds(o, "\n    CA:          no");
	}
	r = r ?: sbuf_adds(o, "\n    usage:       ");
	r = r ?: add_usage(o, x);
	r = r ?: add_issuer_file(rp, file, x);
	if (r == 0 && X509_get0_pubkey(x))
		r = add_pairs(rp, "\n    key file:    ", X509_get0_pubkey(x),
			      true, false);
	unsigned char md[32];
	unsigned mdl = 0;
	if (r == 0 && X509_digest(x, EVP_sha256(), md, &mdl) == 1) {
		r = sbuf_adds(o, "\n    sha256:      ");
		for (unsigned i = 0; r == 0 && i < mdl; i++)
			r = sbuf_addf(o, "%s%02X", i ? ":" : "", md[i]);
	}
	r = r ?: sbuf_addc(o, '\n');
	r = r ?: add_summary(rp, file, x, na, valid);
	X509_free(x);
	return r;
}

static int describe_key(struct report *rp, const char *name, const char *header,
			const unsigned char *der, long len, bool priv)
{
	struct sbuf *o = rp->o;
	if (!strcmp(name, "ENCRYPTED PRIVATE KEY") ||
	    (header && strstr(header, "ENCRYPTED")))
		return sbuf_addf(o, "  private key (encrypted: type not "
				    "shown)\n");
	if (!strcmp(name, "OPENSSH PRIVATE KEY"))
		return sbuf_addf(o, "  private key (OpenSSH format)\n");
	const unsigned char *p = der;
	EVP_PKEY *k = NULL;
	if (priv)
		k = d2i_AutoPrivateKey(NULL, &p, len);
	else if (!strcmp(name, "RSA PUBLIC KEY"))
		k = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, len);
	else
		k = d2i_PUBKEY(NULL, &p, len);
	int r = sbuf_adds(o, priv ? "  private key: " : "  public key:  ");
	r = r ?: (k ? add_key(o, k) : sbuf_adds(o, "(unreadable: bad DER)"));
	if (r == 0 && k) {
		r = add_pairs(rp, "\n    certificate: ", k, false, true);
		r = r	  ?:
			    add_pairs(rp,
				      priv ? "\n    public key:  " :
					     "\n    private key: ",
				      k, !priv, false);
	}
	r = r ?: sbuf_addc(o, '\n');
	EVP_PKEY_free(k);
	return r;
}

static int describe_file(struct report *rp, struct etcd_pki_file *f)
{
	struct sbuf *o = rp->o;
	f->private_key = etcd_pki_private_key(f->data, f->len);
	int r = sbuf_add_escaped(o, f->name, strlen(f->name));
	r = r	  ?:
		    sbuf_addf(o, " (%zu bytes%s)\n", f->len,
			      f->private_key ? ", private key: mode 0400" : "");
	if (r < 0)
		return r;
	if (f->len == 0)
		return sbuf_adds(o, "  empty file\n");
	if (f->len > PEM_FILE_MAX)
		return sbuf_addf(o, "  not read: larger than %zu bytes\n",
				 PEM_FILE_MAX);
	if (!memmem(f->data, f->len, "-----BEGIN ", 11))
		return sbuf_adds(o, "  not PEM (no -----BEGIN line): not "
				    "described\n");
	BIO *b = BIO_new_mem_buf(f->data, (int)f->len);
	if (!b)
		return -ENOMEM;
	int ncert = 0, nblocks = 0;
	while (r == 0) {
		if (nblocks == BLOCKS_PER_FILE_MAX) {
			r = sbuf_addf(o,
				      "  (more than %d PEM blocks: the rest is "
				      "not described)\n",
				      BLOCKS_PER_FILE_MAX);
			break;
		}
		char *name = NULL, *header = NULL;
		unsigned char *der = NULL;
		long len = 0;
		ERR_set_mark();
		if (PEM_read_bio(b, &name, &header, &der, &len) != 1) {
			unsigned long err = ERR_peek_last_error();
			ERR_pop_to_mark();
			if (ERR_GET_REASON(err) != PEM_R_NO_START_LINE ||
			    nblocks == 0)
				r = sbuf_addf(
					o, "  bad PEM%s: %s\n",
					nblocks ? " after the blocks above" :
						  "",
					ERR_GET_REASON(err) ==
							PEM_R_NO_START_LINE ?
						"no readable block" :
						"a block that does not "
						"decode (base64 or "
						"its END line)");
			break;
		}
		ERR_pop_to_mark();
		nblocks++;
		if (!strcmp(name, "CERTIFICATE") ||
		    !strcmp(name, "TRUSTED CERTIFICATE") ||
		    !strcmp(name, "X509 CERTIFICATE"))
			r = describe_cert(rp, f->name, ++ncert, der, len);
		else if (is_private_block(name))
			r = describe_key(rp, name, header, der, len, true);
		else if (!strcmp(name, "PUBLIC KEY") || !strcmp(name, "RSA "
								      "PUBLIC "
								      "KEY"))
			r = describe_key(rp, name, header, der, len, false);
		else {
			r = sbuf_adds(o, "  PEM block ");
			r = r ?: sbuf_add_escaped(o, name, strlen(name));
			r = r ?: sbuf_adds(o, ": not described\n");
		}
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(der);
	}
	BIO_free(b);
	return r;
}

/* The first pass: every certificate and readable key into rp->objs. */
static int index_file(struct report *rp, const struct etcd_pki_file *f)
{
	if (f->len == 0 || f->len > PEM_FILE_MAX ||
	    !memmem(f->data, f->len, "-----BEGIN ", 11))
		return 0;
	BIO *b = BIO_new_mem_buf(f->data, (int)f->len);
	if (!b)
		return -ENOMEM;
	int r = 0;
	for (int nblocks = 0; r == 0 && nblocks < BLOCKS_PER_FILE_MAX;
	     nblocks++) {
		char *name = NULL, *header = NULL;
		unsigned char *der = NULL;
		long len = 0;
		ERR_set_mark();
		int ok = PEM_read_bio(b, &name, &header, &der, &len);
		ERR_pop_to_mark();
		if (ok != 1)
			break;
		const unsigned char *p = der;
		bool enc = header && strstr(header, "ENCRYPTED");
		if (!strcmp(name, "CERTIFICATE") || !strcmp(name, "X509 "
								  "CERTIFICAT"
								  "E")) {
			X509 *x = d2i_X509(NULL, &p, len);
			if (x)
				r = index_add(rp, f->name, x, NULL, false);
		} else if (is_private_block(name) && !enc &&
			   strcmp(name, "ENCRYPTED PRIVATE KEY") &&
			   strcmp(name, "OPENSSH PRIVATE KEY")) {
			EVP_PKEY *k = d2i_AutoPrivateKey(NULL, &p, len);
			if (k)
				r = index_add(rp, f->name, NULL, k, true);
		} else if (!strcmp(name, "PUBLIC KEY") || !strcmp(name, "RSA "
									"PUBLIC"
									" KE"
									"Y")) {
			EVP_PKEY *k = !strcmp(name, "PUBLIC KEY") ?
					      d2i_PUBKEY(NULL, &p, len) :
					      d2i_PublicKey(EVP_PKEY_RSA, NULL,
							    &p, len);
			if (k)
				r = index_add(rp, f->name, NULL, k, false);
		}
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(der);
	}
	BIO_free(b);
	return r;
}

static int by_name(const void *a, const void *b)
{
	const struct etcd_pki_file *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

static int by_expiry(const void *a, const void *b)
{
	const struct summary *x = a, *y = b;
	if (x->valid_time != y->valid_time)
		return x->valid_time ? 1 : -1;
	if (x->not_after != y->not_after)
		return x->not_after < y->not_after ? -1 : 1;
	return strcmp(x->file, y->file);
}

int etcd_pki_report(struct etcd_pki_file *files, size_t n, int64_t at,
		    struct sbuf *out, struct verror *e)
{
	struct etcd_pki_file **ord = calloc(n + 1, sizeof(*ord));
	if (!ord)
		return verror_set(e, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		ord[i] = &files[i];
	qsort(ord, n, sizeof(*ord), by_name);
	struct report rp = { .at = at, .verifies = VERIFY_BUDGET };
	struct tm tm;
	time_t t = (time_t)at;

	gmtime_r(&t, &tm);
	strftime(rp.at_str, sizeof(rp.at_str), "%Y-%m-%dT%H:%M:%SZ", &tm);
	struct sbuf details;
	sbuf_init(&details, out->max);
	rp.o = &details;
	int r = 0;
	for (size_t i = 0; r == 0 && i < n; i++)
		r = index_file(&rp, ord[i]);
	for (size_t i = 0; r == 0 && i < n; i++) {
		r = sbuf_addc(&details, '\n');
		r = r ?: describe_file(&rp, ord[i]);
	}
	if (r == 0) {
		if (rp.nsum)
			qsort(rp.sum, rp.nsum, sizeof(*rp.sum), by_expiry);
		r = sbuf_addf(out,
			      "# certificates.txt: %zu files, %zu "
			      "certificates\n"
			      "# days left: whole days from %s (the "
			      "snapshot's time) until \"not after\"\n"
			      "# (negative: expired by then). This file does "
			      "not change as time passes:\n"
			      "# for today, compare \"not after\" (UTC) with "
			      "the date.\n\n"
			      "%-10s %-20s  %-32s  %s\n",
			      n, rp.nsum, rp.at_str, "days left", "not after",
			      "file", "subject");
		for (size_t i = 0; r == 0 && i < rp.nsum; i++) {
			const struct summary *s = &rp.sum[i];
			char when[32] = "(invalid)", days[24] = "?";
			if (s->valid_time) {
				gmtime_r(&s->not_after, &tm);
				strftime(when, sizeof(when),
					 "%Y-%m-%dT%H:%M:%SZ", &tm);
				snprintf(days, sizeof(days), "%ld",
					 days_left(s->not_after, at));
			}
			r = sbuf_addf(out, "%-10s %-20s  ", days, when);
			r = r	  ?:
				    sbuf_add_escaped(out, s->file,
						     strlen(s->file));
			r = r	  ?:
				    sbuf_addn(out, ' ',
					      strlen(s->file) < 32 ?
						      32 - strlen(s->file) :
						      0);
			r = r ?: sbuf_addf(out, "  %s\n", s->subject);
		}
		r = r ?: sbuf_add(out, sbuf_str(&details), details.len);
	}
	free(rp.sum);
	index_free(&rp);
	free(ord);
	sbuf_release(&details);
	if (r < 0)
		return verror_set(e, r, "writing certificates.txt: %s",
				  strerror(-r));
	return 0;
}
