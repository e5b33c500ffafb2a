/* vault/creds_azure: Azure AD access tokens for Blob Storage (scope
 * https://storage.azure.com/.default), for the azblob backend's
 * "Authorization: Bearer" requests: a service principal's secret, a
 * workload identity's federated token, or a managed identity through the
 * instance metadata service. See az_token_new() in creds_i.h.
 *
 * A certificate (AZURE_CLIENT_CERTIFICATE_PATH: a PEM file holding the
 * private key and the certificate, AZURE_CLIENT_CERTIFICATE_PASSWORD for
 * an encrypted key) signs a client assertion (RS256 JWT with the
 * certificate's x5t), as MSAL does.
 *
 * What it does not do: PKCS#12 certificates, the Azure CLI's token cache,
 * fetching account keys through the management API (Velero's plugin does that
 * when useAAD is off; velerofs uses the token on Blob directly, which
 * needs a data role such as Storage Blob Data Reader). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "common/base64.h"

#include "common/log.h"
#include "common/macro.h"
#include "http/http.h"
#include "vault/creds_i.h"
#include "vault/remote_i.h"

#define AZ_SCOPE "https://storage.azure.com/.default"
#define AZ_RESOURCE "https://storage.azure.com/"
#define AZ_ANSWER_MAX (1u << 20)

enum az_kind { AZ_SECRET, AZ_CERT, AZ_WORKLOAD, AZ_MSI };

static const char *const az_kind_names[] = {
	[AZ_SECRET] = "service principal secret",
	[AZ_CERT] = "service principal certificate",
	[AZ_WORKLOAD] = "workload identity",
	[AZ_MSI] = "managed identity",
};

struct az_token {
	enum az_kind kind;
	char *tenant, *client_id, *secret, *token_file;
	char *cert, *cert_password; /* AZ_CERT: a PEM file with key and cert */
	char *endpoint;		    /* the token endpoint */
	struct http *http;
	pthread_mutex_t lock;
	char *cur;	 /* protected by lock */
	int64_t expires; /* protected by lock */
};

const char *az_token_kind(const struct az_token *t)
{
	return az_kind_names[t->kind];
}

struct az_token *az_token_free(struct az_token *t)
{
	if (!t)
		return NULL;
	free(t->tenant);
	free(t->client_id);
	remote_wipe_free(t->secret);
	free(t->token_file);
	free(t->cert);
	remote_wipe_free(t->cert_password);
	free(t->endpoint);
	http_free(t->http);
	remote_wipe_free(t->cur);
	pthread_mutex_destroy(&t->lock);
	free(t);
	return NULL;
}

/* A setting: the credentials file's (Velero's Azure file) first, then the
 * environment. */
static int setting(const struct az_token_options *o, const char *name,
		   char **out, struct verror *e)
{
	const char *v;
	int r;

	if (o->credentials_file) {
		r = remote_file_value(o->credentials_file, NULL, name, false,
				      out, e);
		if (r != 0)
			return r;
	}
	v = getenv(name);
	if (!v || !*v)
		return 0;
	*out = strdup(v);
	return *out ? 1 : -ENOMEM;
}

/* base64url without padding of p[0..n), appended. */
static int add_b64url(struct sbuf *b, const void *p, size_t n)
{
	char *enc = malloc(BASE64_LEN(n) + 1);
	size_t len, i;
	int r;

	if (!enc)
		return -ENOMEM;
	len = base64_encode(p, n, enc);
	while (len && enc[len - 1] == '=')
		len--;
	for (i = 0; i < len; i++)
		enc[i] = enc[i] == '+' ? '-' : enc[i] == '/' ? '_' : enc[i];
	r = sbuf_add(b, enc, len);
	free(enc);
	return r;
}

/* The client assertion of a certificate: a JWT for the token endpoint,
 * signed (RS256) with the certificate's key. */
static int cert_assertion(struct az_token *t, struct sbuf *out,
			  struct verror *e)
{
	struct sbuf pem, head, body;
	BIO *bio = NULL;
	X509 *x = NULL;
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *md = NULL;
	unsigned char *der = NULL, sha[SHA_DIGEST_LENGTH], jti[16], *sig = NULL;
	char jti_hex[33];
	size_t siglen = 0;
	int64_t now = creds_now();
	int fd, derlen, r;

	sbuf_init(&pem, 1 << 20);
	sbuf_init(&head, 4096);
	sbuf_init(&body, 4096);
	fd = open(t->cert, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return verror_set(e, -errno,
				  "AZURE_CLIENT_CERTIFICATE_PATH %s: %s",
				  t->cert, strerror(errno));
	r = sbuf_read_fd(&pem, fd);
	close(fd);
	if (r < 0)
		goto out;
	bio = BIO_new_mem_buf(pem.buf, (int)pem.len);
	if (bio)
		key = PEM_read_bio_PrivateKey(
			bio, NULL, NULL,
			t->cert_password ? t->cert_password : (char *)"");
	BIO_free(bio);
	bio = BIO_new_mem_buf(pem.buf, (int)pem.len);
	if (bio)
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	if (!key || !x) {
		r = verror_set(e, -EINVAL,
			       "AZURE_CLIENT_CERTIFICATE_PATH %s: needs a PEM "
			       "private key%s and certificate",
			       t->cert,
			       t->cert_password ? " (its password?)" : "");
		goto out;
	}
	derlen = i2d_X509(x, &der);
	if (derlen <= 0 || RAND_bytes(jti, sizeof(jti)) != 1) {
		r = -EIO;
		goto out;
	}
	SHA1(der, (size_t)derlen, sha);
	remote_hex(jti, sizeof(jti), jti_hex);
	r = sbuf_adds(&head, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"x5t\":\"");
	if (r >= 0)
		r = add_b64url(&head, sha, sizeof(sha));
	if (r >= 0)
		r = sbuf_adds(&head, "\"}");
	if (r >= 0)
		r = sbuf_addf(&body,
			      "{\"aud\":\"%s\",\"iss\":\"%s\",\"sub\":\"%s\","
			      "\"jti\":\"%s\",\"nbf\":%lld,\"iat\":%lld,"
			      "\"exp\":%lld}",
			      t->endpoint, t->client_id, t->client_id, jti_hex,
			      (long long)now, (long long)now,
			      (long long)(now + 600));
	if (r >= 0)
		r = add_b64url(out, head.buf, head.len);
	if (r >= 0)
		r = sbuf_addc(out, '.');
	if (r >= 0)
		r = add_b64url(out, body.buf, body.len);
	if (r < 0)
		goto out;
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, NULL, &siglen, (unsigned char *)out->buf,
			   out->len) != 1 ||
	    !(sig = malloc(siglen)) ||
	    EVP_DigestSign(md, sig, &siglen, (unsigned char *)out->buf,
			   out->len) != 1) {
		r = verror_set(e, -EINVAL,
			       "AZURE_CLIENT_CERTIFICATE_PATH %s: cannot sign "
			       "with its key (RSA needed)",
			       t->cert);
		goto out;
	}
	r = sbuf_addc(out, '.');
	if (r >= 0)
		r = add_b64url(out, sig, siglen);
	if (r >= 0)
		r = sbuf_addc(out, '\0');
out:
	EVP_MD_CTX_free(md);
	free(sig);
	OPENSSL_free(der);
	X509_free(x);
	EVP_PKEY_free(key);
	BIO_free(bio);
	remote_sbuf_wipe(&pem);
	sbuf_release(&head);
	sbuf_release(&body);
	return r;
}

/* Fetches a token: *tok (caller frees) and its expiry. */
static int az_fetch(struct az_token *t, char **tok, int64_t *expires,
		    struct verror *e)
{
	static const char *const form_hdrs[] = { "Content-Type: "
						 "application/"
						 "x-www-form-urlencoded",
						 "Accept: application/json",
						 NULL };
	static const char *const msi_hdrs[] = { "Metadata: true",
						"Accept: application/json",
						NULL };
	struct http_request req = { .what = "token" };
	struct http_response resp;
	struct sbuf body, ans, url, assertion;
	json_t *j = NULL, *x;
	const char *at;
	int r = 0;

	sbuf_init(&body, 1 << 20);
	sbuf_init(&ans, AZ_ANSWER_MAX);
	sbuf_init(&url, 8192);
	sbuf_init(&assertion, 1 << 20);
	if (t->kind == AZ_MSI) {
		r = sbuf_addf(&url, "%s?api-version=2018-02-01&resource=",
			      t->endpoint);
		if (r >= 0)
			r = remote_uri_encode(&url, AZ_RESOURCE, false);
		if (r >= 0 && t->client_id) {
			r = sbuf_adds(&url, "&client_id=");
			if (r >= 0)
				r = remote_uri_encode(&url, t->client_id,
						      false);
		}
		req.method = "GET";
		req.url = url.buf;
		req.headers = msi_hdrs;
	} else {
		r = creds_form_add(&body, "grant_type", "client_credentials");
		if (r >= 0)
			r = creds_form_add(&body, "client_id", t->client_id);
		if (r >= 0)
			r = creds_form_add(&body, "scope", AZ_SCOPE);
		if (r >= 0 && t->kind == AZ_SECRET)
			r = creds_form_add(&body, "client_secret", t->secret);
		if (r >= 0 && (t->kind == AZ_WORKLOAD || t->kind == AZ_CERT)) {
			r = t->kind == AZ_CERT ?
				    cert_assertion(t, &assertion, e) :
				    creds_read_token(t->token_file,
						     "AZURE_FEDERATED_TOKEN_"
						     "FILE",
						     &assertion, e);
			if (r >= 0)
				r = creds_form_add(&body,
						   "client_assertion_type",
						   "urn:ietf:params:oauth:"
						   "client-assertion-type:jwt-"
						   "bearer");
			if (r >= 0)
				r = creds_form_add(&body, "client_assertion",
						   assertion.buf);
		}
		req.method = "POST";
		req.url = t->endpoint;
		req.headers = form_hdrs;
		req.body = body.buf;
		req.body_len = body.len;
	}
	if (r >= 0)
		r = http_do(t->http, &req, &ans, &resp, e);
	if (r >= 0)
		j = json_loadb(ans.buf ? ans.buf : "", ans.len, 0, NULL);
	if (r >= 0 && resp.status / 100 != 2) {
		const char *d = json_string_value(json_object_get(j, "error_"
								     "descripti"
								     "on"));
		const char *c = json_string_value(json_object_get(j, "error"));
		char detail[400] = "";

		if (c || d)
			snprintf(detail, sizeof(detail), "(%.60s%s%.300s)",
				 c ? c : "", c && d ? ": " : "", d ? d : "");
		r = http_status_error(t->http, req.method, "token", &resp,
				      detail[0] ? detail : NULL, e);
	}
	at = json_string_value(json_object_get(j, "access_token"));
	if (r >= 0 && (!at || !*at || strpbrk(at, "\r\n")))
		r = verror_set(e, -EBADMSG, "%s: no access_token in the answer",
			       http_name(t->http));
	if (r >= 0) {
		x = json_object_get(j, "expires_in");
		*expires = creds_now() + 3600;
		if (json_is_integer(x))
			*expires = creds_now() + json_integer_value(x);
		else if (json_is_string(x))
			*expires = creds_now() + atoll(json_string_value(x));
		else if (json_is_string(json_object_get(j, "expires_on")))
			*expires = atoll(
				json_string_value(json_object_get(j, "expires_"
								     "on")));
		*tok = strdup(at);
		if (!*tok)
			r = -ENOMEM;
	}
	json_decref(j);
	remote_sbuf_wipe(&body);
	remote_sbuf_wipe(&ans);
	remote_sbuf_wipe(&assertion);
	sbuf_release(&url);
	return r;
}

int az_token_get(struct az_token *t, char **out, struct verror *e)
{
	int64_t now = creds_now();
	int r = 0;

	pthread_mutex_lock(&t->lock);
	if (!t->cur || now >= t->expires - CREDS_REFRESH_MARGIN_S) {
		char *tok = NULL;
		int64_t exp = 0;

		r = az_fetch(t, &tok, &exp, e);
		if (r >= 0) {
			remote_wipe_free(t->cur);
			t->cur = tok;
			t->expires = exp;
		} else if (t->cur && now < t->expires) {
			log_debug("Azure AD: refreshing failed (%s); the "
				  "current token is still valid",
				  e ? e->msg : "");
			r = 0;
		}
	}
	if (r >= 0) {
		*out = strdup(t->cur);
		if (!*out)
			r = -ENOMEM;
	}
	pthread_mutex_unlock(&t->lock);
	return r;
}

static char *base_url(const char *env_name, const char *dflt)
{
	const char *v = getenv(env_name);
	char *s = strdup(v && *v ? v : dflt);
	size_t n = s ? strlen(s) : 0;

	while (n && s[n - 1] == '/')
		s[--n] = '\0';
	return s;
}

int az_token_new(const struct az_token_options *o, bool use_msi,
		 struct az_token **out, struct verror *e)
{
	struct http_config hc = { .timeout_ms = 30000,
				  .retry = { .timeouts = true } };
	_cleanup_free_ char *authority = NULL;
	struct az_token *t = calloc(1, sizeof(*t));
	char *tok = NULL;
	int r;

	*out = NULL;
	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	r = setting(o, "AZURE_TENANT_ID", &t->tenant, e);
	if (r >= 0)
		r = setting(o, "AZURE_CLIENT_ID", &t->client_id, e);
	if (r >= 0)
		r = setting(o, "AZURE_CLIENT_SECRET", &t->secret, e);
	if (r >= 0)
		r = setting(o, "AZURE_FEDERATED_TOKEN_FILE", &t->token_file, e);
	if (r >= 0)
		r = setting(o, "AZURE_CLIENT_CERTIFICATE_PATH", &t->cert, e);
	if (r >= 0)
		r = setting(o, "AZURE_CLIENT_CERTIFICATE_PASSWORD",
			    &t->cert_password, e);
	if (r < 0)
		goto fail;
	if (t->tenant && t->client_id && t->secret) {
		t->kind = AZ_SECRET;
	} else if (t->tenant && t->client_id && t->token_file) {
		t->kind = AZ_WORKLOAD;
	} else if (t->tenant && t->client_id && t->cert) {
		t->kind = AZ_CERT;
	} else if (use_msi && !t->secret && !t->token_file) {
		t->kind = AZ_MSI;
	} else {
		az_token_free(t);
		return 0;
	}
	if (t->kind == AZ_MSI) {
		t->endpoint = base_url("AZURE_POD_IDENTITY_AUTHORITY_HOST",
				       "http://169.254.169.254");
		if (t->endpoint) {
			char *full = NULL;

			if (asprintf(&full, "%s/metadata/identity/oauth2/token",
				     t->endpoint) < 0)
				full = NULL;
			free(t->endpoint);
			t->endpoint = full;
		}
		hc.name = "Azure managed identity";
		hc.connect_timeout_ms = 1000;
		hc.retry.attempts = 1;
	} else {
		authority = base_url("AZURE_AUTHORITY_HOST", "https://"
							     "login."
							     "microsoftonline."
							     "com");
		if (authority &&
		    asprintf(&t->endpoint, "%s/%s/oauth2/v2.0/token", authority,
			     t->tenant) < 0)
			t->endpoint = NULL;
		hc.name = "Azure AD";
	}
	if (!t->endpoint) {
		r = -ENOMEM;
		goto fail;
	}
	hc.tls.ca_file = getenv("AZURE_CA_BUNDLE");
	if (hc.tls.ca_file && !*hc.tls.ca_file)
		hc.tls.ca_file = NULL;
	r = http_new(&hc, &t->http, e);
	if (r >= 0)
		r = az_token_get(t, &tok, e);
	remote_wipe_free(tok);
	if (r < 0 && t->kind == AZ_MSI &&
	    !getenv("AZURE_POD_IDENTITY_AUTHORITY_HOST")) {
		/* a probe: not on an Azure machine */
		log_debug("no managed identity: %s", e ? e->msg : "");
		verror_clear(e);
		az_token_free(t);
		return 0;
	}
	if (r < 0)
		goto fail;
	*out = t;
	return 0;
fail:
	az_token_free(t);
	return r;
}
