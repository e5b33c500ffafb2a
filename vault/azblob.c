/* vault/azblob: a backup storage location in an Azure Blob container.
 *
 * URL: azblob://account/container[/prefix]?endpoint=URL&sas=TOKEN&ca=FILE
 *      &insecure=1&attempts=N
 * The endpoint defaults to https://ACCOUNT.blob.core.windows.net; Azurite
 * is path-style (endpoint=http://127.0.0.1:10000/ACCOUNT). Requests: List
 * Blobs (prefix, delimiter '/', markers), Get Blob Properties (HEAD) for
 * stat, Get Blob (x-ms-range when resuming) for streams.
 * Credentials, first found wins: ?sas= in the URL; the file given with
 * vault_options.credentials_file (Velero's Azure plugin format: KEY=VALUE
 * lines, AZURE_STORAGE_ACCOUNT_ACCESS_KEY, AZURE_STORAGE_KEY,
 * AZURE_STORAGE_SAS_TOKEN or AZURE_STORAGE_CONNECTION_STRING);
 * AZURE_STORAGE_CONNECTION_STRING (AccountName, AccountKey, BlobEndpoint,
 * DefaultEndpointsProtocol, EndpointSuffix, SharedAccessSignature) when
 * its account is this one; AZURE_STORAGE_KEY (with AZURE_STORAGE_ACCOUNT
 * unset or this account); AZURE_STORAGE_SAS_TOKEN; none (anonymous
 * access to a public container). An account key signs with Shared Key;
 * a SAS travels in the query string, which is why no URL is ever
 * printed. Without a key or SAS: Azure AD tokens (vault/creds_azure.c)
 * from a service principal (the environment, or Velero's file in that
 * form), workload identity or a managed identity, sent as Authorization:
 * Bearer (x-ms-version 2021-08-06 takes them). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "common/log.h"
#include "common/macro.h"
#include "vault/azblob_i.h"
#include "vault/creds_i.h"
#include "http/http.h"
#include "vault/remote_i.h"
#include "vault/vault_i.h"

#define AZ_VERSION "2021-08-06"

/* --- Shared Key -------------------------------------------------------- */

struct azhdr {
	char name[64];
	const char *value;
};

static int cmp_azhdr(const void *a, const void *b)
{
	return strcmp(((const struct azhdr *)a)->name,
		      ((const struct azhdr *)b)->name);
}

struct azq {
	char *name, *value; /* name lower-cased, value decoded */
};

static int cmp_azq(const void *a, const void *b)
{
	const struct azq *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

int azblob_string_to_sign(const char *method, const char *const *headers,
			  size_t n_headers, const char *account,
			  const char *path, const char *query, struct sbuf *out)
{
	static const char *const std[] = {
		"content-encoding",
		"content-language",
		"content-length",
		"content-md5",
		"content-type",
		"date",
		"if-modified-since",
		"if-match",
		"if-none-match",
		"if-unmodified-since",
		"range",
	};
	const char *stdv[ARRAY_SIZE(std)] = { 0 };
	struct azhdr xms[32];
	struct azq q[64];
	size_t nx = 0, nq = 0, i;
	const char *p;
	int r;

	sbuf_reset(out);
	for (i = 0; i < n_headers; i++) {
		const char *colon = strchr(headers[i], ':');
		size_t n = colon ? (size_t)(colon - headers[i]) : 0, j;
		char name[64];
		const char *v;

		if (!colon || n == 0 || n >= sizeof(name))
			return -EINVAL;
		for (j = 0; j < n; j++)
			name[j] = (char)tolower((unsigned char)headers[i][j]);
		name[n] = '\0';
		v = colon + 1;
		while (*v == ' ')
			v++;
		if (!strncmp(name, "x-ms-", 5)) {
			if (nx >= ARRAY_SIZE(xms))
				return -EINVAL;
			memcpy(xms[nx].name, name, n + 1);
			xms[nx++].value = v;
			continue;
		}
		for (j = 0; j < ARRAY_SIZE(std); j++)
			if (!strcmp(name, std[j]))
				stdv[j] = v;
	}
	/* Content-Length 0 is signed as empty (2015-02-21 and later) */
	if (stdv[2] && !strcmp(stdv[2], "0"))
		stdv[2] = NULL;
	r = sbuf_addf(out, "%s\n", method);
	for (i = 0; i < ARRAY_SIZE(std) && r >= 0; i++)
		r = sbuf_addf(out, "%s\n", stdv[i] ? stdv[i] : "");
	qsort(xms, nx, sizeof(*xms), cmp_azhdr);
	for (i = 0; i < nx && r >= 0; i++)
		r = sbuf_addf(out, "%s:%s\n", xms[i].name, xms[i].value);
	if (r >= 0)
		r = sbuf_addf(out, "/%s%s", account, path);
	/* the query, names lower-cased and sorted, values decoded */
	for (p = query; r >= 0 && p && *p;) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		struct sbuf nb, vb;
		size_t j;

		if (len == 0) {
			p = amp ? amp + 1 : NULL;
			continue;
		}
		if (nq >= ARRAY_SIZE(q)) {
			r = -EINVAL;
			break;
		}
		sbuf_init(&nb, 1024);
		sbuf_init(&vb, 65536);
		r = remote_uri_decode(&nb, p, eq ? (size_t)(eq - p) : len);
		if (r >= 0 && eq)
			r = remote_uri_decode(&vb, eq + 1,
					      len - (size_t)(eq + 1 - p));
		if (r >= 0)
			r = sbuf_addc(&nb, '\0');
		if (r >= 0)
			r = sbuf_addc(&vb, '\0');
		if (r < 0) {
			sbuf_release(&nb);
			sbuf_release(&vb);
			break;
		}
		for (j = 0; nb.buf[j]; j++)
			nb.buf[j] = (char)tolower((unsigned char)nb.buf[j]);
		q[nq].name = sbuf_take(&nb, NULL);
		q[nq].value = sbuf_take(&vb, NULL);
		nq++;
		p = amp ? amp + 1 : NULL;
	}
	if (r >= 0) {
		qsort(q, nq, sizeof(*q), cmp_azq);
		for (i = 0; i < nq && r >= 0; i++) {
			if (i > 0 && !strcmp(q[i].name, q[i - 1].name))
				r = sbuf_addf(out, ",%s", q[i].value);
			else
				r = sbuf_addf(out, "\n%s:%s", q[i].name,
					      q[i].value);
		}
	}
	for (i = 0; i < nq; i++) {
		free(q[i].name);
		free(q[i].value);
	}
	return r;
}

void azblob_sign(const unsigned char *key, size_t key_len, const char *sts,
		 char sig[64])
{
	unsigned char mac[32];

	remote_hmac_sha256(key, key_len, sts, strlen(sts), mac);
	remote_base64(mac, 32, sig);
}

/* --- List Blobs answers ------------------------------------------------ */

static const struct remote_list_format az_list_format = {
	.answer = "List Blobs answer",
	.entry = "EnumerationResults/Blobs/Blob",
	.name = "EnumerationResults/Blobs/Blob/Name",
	.etag = "EnumerationResults/Blobs/Blob/Properties/Etag",
	.size = "EnumerationResults/Blobs/Blob/Properties/Content-Length",
	.mtime = "EnumerationResults/Blobs/Blob/Properties/Last-Modified",
	.dir = "EnumerationResults/Blobs/BlobPrefix/Name",
	.next = "EnumerationResults/NextMarker",
};

int azblob_parse_list(const char *xml, size_t n, const char *prefix,
		      vault_list_fn fn, void *userdata, char **next,
		      struct verror *e)
{
	return remote_parse_list(&az_list_format, xml, n, prefix, fn, userdata,
				 next, e);
}

/* --- the backend ------------------------------------------------------- */

struct az {
	struct remote rm; /* first: see struct remote */
	char *account, *container;
	char *endpoint; /* scheme://host[:port][/path], no trailing '/' */
	char *basepath; /* the endpoint's path ("" or "/acct") */
	unsigned char key[128];
	size_t key_len;		/* 0: no Shared Key */
	char *sas;		/* without '?'; NULL: none */
	struct az_token *token; /* Azure AD; NULL: none */
	char *no_creds;		/* anonymous: where none were found */
};

static void http_date(char out[40])
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed",
					    "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
					      "May", "Jun", "Jul", "Aug",
					      "Sep", "Oct", "Nov", "Dec" };
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d GMT",
		 days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Signs one attempt: the date and the version as headers, then with an
 * account key (and no SAS) a Shared Key Authorization over every header
 * of the attempt (the x-ms-range and If-Match http/ added too). */
static int az_sign(void *ctx, struct http_attempt *a, struct verror *e)
{
	struct remote_req *q = ctx;
	struct az *az = q->backend;
	char date[40], line[200];
	int r;

	http_date(date);
	snprintf(line, sizeof(line), "x-ms-date: %s", date);
	r = http_attempt_header(a, line);
	if (r >= 0)
		r = http_attempt_header(a, "x-ms-version: " AZ_VERSION);
	if (r >= 0 && !az->key_len && !az->sas && az->token) {
		char *tok = NULL;
		struct sbuf auth;

		r = az_token_get(az->token, &tok, e);
		if (r < 0)
			return verror_prefix(e, r, "%s: Azure AD token (%s)",
					     http_name(az->rm.http),
					     az_token_kind(az->token));
		sbuf_init(&auth, 65536);
		r = sbuf_addf(&auth, "Authorization: Bearer %s", tok);
		if (r >= 0)
			r = http_attempt_header(a, auth.buf);
		if (auth.buf)
			OPENSSL_cleanse(auth.buf, auth.cap);
		sbuf_release(&auth);
		remote_wipe_free(tok);
	}
	if (r >= 0 && az->key_len && !az->sas) {
		const char *const *lines;
		size_t n = http_attempt_headers(a, &lines);
		struct sbuf sts;
		char sig[64], auth[300];

		sbuf_init(&sts, 1 << 20);
		r = azblob_string_to_sign(a->method, lines, n, az->account,
					  q->path, q->query, &sts);
		if (r >= 0) {
			azblob_sign(az->key, az->key_len, sts.buf, sig);
			snprintf(auth, sizeof(auth),
				 "Authorization: SharedKey %s:%s", az->account,
				 sig);
			r = http_attempt_header(a, auth);
			OPENSSL_cleanse(auth, sizeof(auth));
		}
		sbuf_release(&sts);
	}
	if (r < 0)
		return verror_set(e, r, "%s: cannot sign a request",
				  http_name(az->rm.http));
	return 0;
}

/* Builds q for blob key (NULL: the container) and query (NULL: none); q's
 * path is the encoded URI path as sent. */
static int az_req_init(void *backend, struct remote_req *q, const char *key,
		       const char *query)
{
	struct az *az = backend;
	struct sbuf p, raw, u;
	int r;

	*q = (struct remote_req){ .backend = az };
	sbuf_init(&p, 8192);
	sbuf_init(&raw, 8192);
	sbuf_init(&u, 65536);
	r = sbuf_addf(&raw, "%s/%s", az->basepath, az->container);
	if (r >= 0 && key)
		r = sbuf_addf(&raw, "/%s%s", az->rm.prefix, key);
	if (r >= 0)
		r = remote_uri_encode(&p, raw.buf, true);
	/* the endpoint without its path, then the encoded path */
	if (r >= 0)
		r = sbuf_add(&u, az->endpoint,
			     strlen(az->endpoint) - strlen(az->basepath));
	if (r >= 0)
		r = sbuf_add(&u, p.buf, p.len);
	if (r >= 0 && (query || az->sas))
		r = sbuf_addf(&u, "?%s%s%s", query ? query : "",
			      query && az->sas ? "&" : "",
			      az->sas ? az->sas : "");
	if (r >= 0)
		r = remote_req_take(q, &p, &u, query);
	sbuf_release(&p);
	sbuf_release(&raw);
	remote_sbuf_wipe(&u);
	if (r < 0)
		remote_req_release(q);
	return r;
}

/* List Blobs, one level deep; no prefix parameter at the top. */
static int az_list_query(struct sbuf *query, const char *prefix,
			 const char *marker)
{
	int r;

	r = sbuf_adds(query, "restype=container&comp=list&delimiter=%2F");
	if (r >= 0 && *prefix) {
		r = sbuf_adds(query, "&prefix=");
		if (r >= 0)
			r = remote_uri_encode(query, prefix, false);
	}
	if (r >= 0 && marker) {
		r = sbuf_adds(query, "&marker=");
		if (r >= 0)
			r = remote_uri_encode(query, marker, false);
	}
	return r;
}

static void az_release(void *backend)
{
	struct az *az = backend;

	free(az->account);
	free(az->container);
	free(az->endpoint);
	free(az->basepath);
	remote_wipe_free(az->sas);
	az_token_free(az->token);
	free(az->no_creds);
	OPENSSL_cleanse(az->key, sizeof(az->key));
}

static const struct remote_ops az_remote_ops = {
	.req_init = az_req_init,
	.sign = az_sign,
	.range_header = "x-ms-range",
	.list_query = az_list_query,
	.list_parse = azblob_parse_list,
	.release = az_release,
	.marker_name = "marker",
	.unsized_get_is_empty = true,
};

static const struct vault_ops az_ops = REMOTE_VAULT_OPS("azblob");

/* --- opening ----------------------------------------------------------- */

static int set_key(struct az *az, const char *b64, const char *where,
		   struct verror *e)
{
	int n = remote_unbase64(b64, az->key, sizeof(az->key));

	if (n <= 0)
		return verror_set(e, -EINVAL,
				  "the account key from %s is not valid base64",
				  where);
	az->key_len = (size_t)n;
	return 0;
}

static int set_sas(struct az *az, const char *sas, const char *where,
		   struct verror *e)
{
	const char *c;

	while (*sas == '?')
		sas++;
	for (c = sas; *c; c++)
		if (*c <= ' ' || *c == '#' || *c == 0x7f)
			return verror_set(e, -EINVAL,
					  "the SAS token from %s has "
					  "characters a query string cannot "
					  "hold",
					  where);
	if (!*sas)
		return 0;
	free(az->sas);
	az->sas = strdup(sas);
	return az->sas ? 0 : -ENOMEM;
}

/* Applies a connection string if it names this account (or none).
 * endpoint receives BlobEndpoint (or one built from the protocol and
 * suffix) unless already set. */
static int apply_connection_string(struct az *az, const char *cs,
				   const char *where, char **endpoint,
				   struct verror *e)
{
	_cleanup_free_ char *copy = strdup(cs);
	char *save = NULL, *part, *account = NULL, *key = NULL, *blob = NULL,
	     *proto = NULL, *suffix = NULL, *sas = NULL;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	for (part = strtok_r(copy, ";", &save); part;
	     part = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(part, '=');

		if (!eq)
			continue;
		*eq++ = '\0';
		while (*part == ' ')
			part++;
		if (!strcasecmp(part, "AccountName"))
			account = eq;
		else if (!strcasecmp(part, "AccountKey"))
			key = eq;
		else if (!strcasecmp(part, "BlobEndpoint"))
			blob = eq;
		else if (!strcasecmp(part, "DefaultEndpointsProtocol"))
			proto = eq;
		else if (!strcasecmp(part, "EndpointSuffix"))
			suffix = eq;
		else if (!strcasecmp(part, "SharedAccessSignature"))
			sas = eq;
	}
	if (account && strcmp(account, az->account) != 0) {
		log_debug("azblob://%s: %s names another account; ignored",
			  az->account, where);
		r = 0;
		goto out;
	}
	if (key)
		r = set_key(az, key, where, e);
	if (r >= 0 && sas)
		r = set_sas(az, sas, where, e);
	if (r >= 0 && !*endpoint) {
		if (blob)
			*endpoint = strdup(blob);
		else if (proto || suffix) {
			if (asprintf(endpoint, "%s://%s.blob.%s",
				     proto ? proto : "https", az->account,
				     suffix ? suffix : "core.windows.net") < 0)
				*endpoint = NULL;
		}
		if ((blob || proto || suffix) && !*endpoint)
			r = -ENOMEM;
	}
	if (r >= 0)
		r = 1;
out:
	OPENSSL_cleanse(copy, strlen(cs));
	return r;
}

static int az_credentials(struct az *az, const char *sas_param,
			  const struct vault_options *opt, char **endpoint,
			  struct verror *e)
{
	const char *env;
	int r;

	if (sas_param)
		return set_sas(az, sas_param, "the URL", e);
	if (opt->credentials_file) {
		const char *f = opt->credentials_file;
		static const char *const keys[] = { "AZURE_STORAGE_ACCOUNT_"
						    "ACCESS_KEY",
						    "AZURE_STORAGE_KEY" };
		char *v = NULL;
		size_t i;

		r = remote_file_value(f, NULL,
				      "AZURE_STORAGE_CONNECTION_STRING", false,
				      &v, e);
		if (r > 0) {
			r = apply_connection_string(az, v, f, endpoint, e);
			remote_wipe_free(v);
			return r < 0 ? r : 0;
		}
		for (i = 0; r >= 0 && i < ARRAY_SIZE(keys); i++) {
			r = remote_file_value(f, NULL, keys[i], false, &v, e);
			if (r > 0) {
				r = set_key(az, v, f, e);
				remote_wipe_free(v);
				return r;
			}
		}
		if (r >= 0)
			r = remote_file_value(f, NULL,
					      "AZURE_STORAGE_SAS_TOKEN", false,
					      &v, e);
		if (r > 0) {
			r = set_sas(az, v, f, e);
			remote_wipe_free(v);
			return r;
		}
		/* Velero's file in its service principal form */
		if (r == 0) {
			struct az_token_options to = { .credentials_file = f };

			r = az_token_new(&to, false, &az->token, e);
			if (r >= 0 && az->token)
				return 0;
		}
		if (r == 0)
			r = verror_set(e, -EINVAL,
				       "credentials file %s: no "
				       "AZURE_STORAGE_ACCOUNT_ACCESS_KEY, "
				       "AZURE_STORAGE_KEY, "
				       "AZURE_STORAGE_SAS_TOKEN, "
				       "AZURE_STORAGE_CONNECTION_STRING, nor "
				       "AZURE_TENANT_ID, AZURE_CLIENT_ID and "
				       "AZURE_CLIENT_SECRET",
				       f);
		return r;
	}
	env = getenv("AZURE_STORAGE_CONNECTION_STRING");
	if (env && *env) {
		r = apply_connection_string(az, env,
					    "AZURE_STORAGE_CONNECTION_STRING",
					    endpoint, e);
		if (r < 0)
			return r;
		if (az->key_len || az->sas)
			return 0;
	}
	env = getenv("AZURE_STORAGE_KEY");
	if (env && *env) {
		const char *acct = getenv("AZURE_STORAGE_ACCOUNT");

		if (!acct || !*acct || !strcmp(acct, az->account))
			return set_key(az, env, "AZURE_STORAGE_KEY", e);
	}
	env = getenv("AZURE_STORAGE_SAS_TOKEN");
	if (env && *env)
		return set_sas(az, env, "AZURE_STORAGE_SAS_TOKEN", e);
	{
		struct az_token_options to = { 0 };

		r = az_token_new(&to, true, &az->token, e);
		if (r < 0 || az->token)
			return r;
	}
	az->no_creds = strdup("no Azure credentials: no AZURE_STORAGE_KEY, "
			      "AZURE_STORAGE_CONNECTION_STRING or "
			      "AZURE_STORAGE_SAS_TOKEN, no service principal "
			      "or workload identity (AZURE_TENANT_ID, "
			      "AZURE_CLIENT_ID with AZURE_CLIENT_SECRET or "
			      "AZURE_FEDERATED_TOKEN_FILE), no managed "
			      "identity");
	return az->no_creds ? 0 : -ENOMEM;
}

static bool name_ok(const char *s, size_t min, size_t max, bool dash)
{
	size_t n = strlen(s);

	if (n < min || n > max)
		return false;
	for (; *s; s++)
		if (!(islower((unsigned char)*s) ||
		      isdigit((unsigned char)*s) || (dash && *s == '-')))
			return false;
	return true;
}

/* "account/container[/prefix]": the names, the key prefix and the vault
 * id. */
static int az_location(struct vault *v, struct az *az, const char *loc,
		       struct verror *e)
{
	_cleanup_free_ char *base = NULL;
	const char *slash = strchr(loc, '/'), *p;

	if (!slash)
		return verror_set(e, -EINVAL,
				  "azblob://%.80s: the URL needs an account "
				  "and a container "
				  "(azblob://account/container[/prefix])",
				  loc);
	az->account = strndup(loc, (size_t)(slash - loc));
	p = slash + 1;
	slash = strchr(p, '/');
	az->container = slash ? strndup(p, (size_t)(slash - p)) : strdup(p);
	if (!az->account || !az->container)
		return -ENOMEM;
	if (!name_ok(az->account, 3, 24, false) ||
	    !name_ok(az->container, 3, 63, true))
		return verror_set(e, -EINVAL,
				  "azblob://%.30s/%.70s: invalid account or "
				  "container name",
				  az->account, az->container);
	if (asprintf(&base, "azblob://%s/%s", az->account, az->container) < 0) {
		base = NULL;
		return -ENOMEM;
	}
	return remote_location(v, &az->rm, base, slash ? slash + 1 : "", e);
}

/* The endpoint (https://ACCOUNT.blob.core.windows.net unless given),
 * without a trailing '/', and its path (Azurite: "/ACCOUNT"). */
static int az_endpoint(struct vault *v, struct az *az, char **endpoint,
		       struct verror *e)
{
	const char *h;
	size_t n;

	if (!*endpoint && asprintf(endpoint, "https://%s.blob.core.windows.net",
				   az->account) < 0) {
		*endpoint = NULL;
		return -ENOMEM;
	}
	n = strlen(*endpoint);
	while (n && (*endpoint)[n - 1] == '/')
		(*endpoint)[--n] = '\0';
	if (!strncmp(*endpoint, "http://", 7))
		h = *endpoint + 7;
	else if (!strncmp(*endpoint, "https://", 8))
		h = *endpoint + 8;
	else
		h = NULL;
	if (!h || !*h || strpbrk(h, "?#@ "))
		return verror_set(e, -EINVAL,
				  "%s: the endpoint must be "
				  "http(s)://host[:port][/path]",
				  v->id);
	az->endpoint = strdup(*endpoint);
	az->basepath = strdup(strchr(h, '/') ? strchr(h, '/') : "");
	if (!az->endpoint || !az->basepath)
		return -ENOMEM;
	return 0;
}

int vault_azblob_open(const char *rest, const struct vault_options *opt,
		      struct vault **out, struct verror *e)
{
	_cleanup_free_ char *loc = NULL, *endpoint = NULL, *sas = NULL,
			    *ca = NULL, *insecure = NULL, *attempts = NULL;
	const struct remote_param params[] = {
		{ "endpoint", &endpoint },
		{ "sas", &sas },
		{ "ca", &ca },
		{ "insecure", &insecure },
		{ "attempts", &attempts },
		{ NULL, NULL },
	};
	const char *query;
	struct vault *v;
	struct az *az;
	int r;

	r = remote_url_split(rest, &loc, &query);
	if (r < 0)
		return r;
	v = remote_vault_new(&az_ops, &az_remote_ops, sizeof(*az));
	if (!v)
		return -ENOMEM;
	az = v->priv;
	r = az_location(v, az, loc, e);
	if (r >= 0)
		r = remote_query_params(query, params, v->id, e);
	if (r >= 0) {
		r = az_credentials(az, sas, opt, &endpoint, e);
		if (r < 0)
			verror_prefix(e, r, "%s", v->id);
	}
	if (sas)
		OPENSSL_cleanse(sas, strlen(sas));
	if (r >= 0)
		r = az_endpoint(v, az, &endpoint, e);
	if (r >= 0)
		r = remote_http_new(&az->rm, v->id, ca, "AZURE_CA_BUNDLE",
				    insecure, attempts, e);
	if (r < 0) {
		vault_free(v);
		return r;
	}
	az->rm.base_url = az->endpoint;
	az->rm.no_credentials = az->no_creds;
	log_debug("%s: endpoint %s, %s", v->id, az->endpoint,
		  az->sas     ? "SAS" :
		  az->key_len ? "Shared Key" :
		  az->token   ? az_token_kind(az->token) :
				"anonymous");
	*out = v;
	return 0;
}
