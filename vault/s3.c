/* vault/s3: a backup storage location in S3 or an S3-compatible store
 * (MinIO, Ceph RGW, Alibaba OSS).
 *
 * URL: s3://bucket[/prefix]?region=R&endpoint=URL&style=path|virtual
 *      &ca=FILE&profile=NAME&insecure=1&attempts=N
 * Requests: ListObjectsV2 (delimiter '/', continuation tokens), HEAD for
 * stat, GET (Range when resuming) for streams, signed with AWS Signature
 * Version 4 (x-amz-content-sha256 of the empty body; session tokens as
 * x-amz-security-token). Credentials, first found wins: the file given
 * with vault_options.credentials_file (Velero's AWS plugin format, an INI
 * file like ~/.aws/credentials; profile from ?profile=, AWS_PROFILE or
 * "default"); AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN
 * (unless ?profile= is given); AWS_SHARED_CREDENTIALS_FILE or
 * ~/.aws/credentials; none (anonymous, unsigned requests).
 *
 * Secrets live only in struct s3 (wiped on free) and in the signed
 * headers of a request; vault_id() and every message name the bucket and
 * prefix only. No writes, no multipart, no STS/IMDS credentials. */
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
#include "http/http.h"
#include "vault/creds_i.h"
#include "vault/remote_i.h"
#include "vault/s3_i.h"
#include "vault/vault_i.h"

#define EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* --- Signature Version 4 ----------------------------------------------- */

struct qparam {
	char *name, *value; /* encoded canonically */
};

static int cmp_qparam(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

/* Re-encodes one query component canonically: decode, then encode. */
static int canon_component(const char *s, size_t n, char **out)
{
	struct sbuf raw, enc;
	int r;

	sbuf_init(&raw, 65536);
	sbuf_init(&enc, 3 * 65536);
	r = remote_uri_decode(&raw, s, n);
	if (r >= 0)
		r = sbuf_addc(&raw, '\0'); /* a buf even when empty */
	if (r >= 0)
		r = remote_uri_encode(&enc, raw.buf, false);
	if (r >= 0)
		r = sbuf_addc(&enc, '\0');
	sbuf_release(&raw);
	if (r < 0) {
		sbuf_release(&enc);
		return r;
	}
	*out = sbuf_take(&enc, NULL);
	return *out ? 0 : -ENOMEM;
}

static int canon_query(struct sbuf *b, const char *query)
{
	struct qparam *v = NULL;
	size_t n = 0, i;
	const char *p = query;
	int r = 0;

	while (p && *p && r >= 0) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		struct qparam *nv;

		if (len == 0) {
			p = amp ? amp + 1 : NULL;
			continue;
		}
		if (n >= 256) {
			r = -EINVAL;
			break;
		}
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			r = -ENOMEM;
			break;
		}
		v = nv;
		v[n] = (struct qparam){ 0 };
		r = canon_component(p, eq ? (size_t)(eq - p) : len, &v[n].name);
		if (r >= 0)
			r = eq ? canon_component(eq + 1,
						 len - (size_t)(eq + 1 - p),
						 &v[n].value) :
				 ((v[n].value = strdup("")) ? 0 : -ENOMEM);
		n++;
		p = amp ? amp + 1 : NULL;
	}
	if (r >= 0) {
		if (n)
			qsort(v, n, sizeof(*v), cmp_qparam);
		for (i = 0; i < n && r >= 0; i++)
			r = sbuf_addf(b, "%s%s=%s", i ? "&" : "", v[i].name,
				      v[i].value);
	}
	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
	return r;
}

struct hdr {
	char name[64];
	const char *value;
	size_t order;
};

static int cmp_hdr(const void *a, const void *b)
{
	const struct hdr *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* A header value trimmed, inner runs of whitespace made one space. */
static int add_trimmed(struct sbuf *b, const char *v)
{
	bool space = false;
	int r = 0;

	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v && r >= 0; v++) {
		if (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r') {
			space = true;
			continue;
		}
		if (space)
			r = sbuf_addc(b, ' ');
		space = false;
		if (r >= 0)
			r = sbuf_addc(b, *v);
	}
	return r;
}

int sigv4_sign(const struct sigv4_input *in, struct sbuf *creq,
	       struct sbuf *sts, struct sbuf *authz)
{
	struct hdr h[64];
	struct sbuf c, s, signed_h;
	unsigned char hash[32], k1[32], k2[32], k3[32], k4[32], sig[32];
	char hex[65], date[9], *kdate = NULL;
	size_t i, j;
	int r = 0;

	if (in->n_headers > ARRAY_SIZE(h) || strlen(in->amz_date) < 8)
		return -EINVAL;
	for (i = 0; i < in->n_headers; i++) {
		size_t n = strlen(in->headers[i].name);

		if (n >= sizeof(h[i].name))
			return -EINVAL;
		for (j = 0; j <= n; j++)
			h[i].name[j] = (char)tolower(
				(unsigned char)in->headers[i].name[j]);
		h[i].value = in->headers[i].value;
		h[i].order = i;
	}
	qsort(h, in->n_headers, sizeof(*h), cmp_hdr);
	sbuf_init(&c, 1 << 20);
	sbuf_init(&s, 4096);
	sbuf_init(&signed_h, 4096);

	/* the canonical request */
	r = sbuf_addf(&c, "%s\n", in->method);
	if (r >= 0 && in->path[0] != '/')
		r = sbuf_addc(&c, '/');
	if (r >= 0)
		r = remote_uri_encode(&c, in->path, true);
	if (r >= 0)
		r = sbuf_addc(&c, '\n');
	if (r >= 0)
		r = canon_query(&c, in->query);
	if (r >= 0)
		r = sbuf_addc(&c, '\n');
	for (i = 0; i < in->n_headers && r >= 0; i++) {
		bool dup = i > 0 && !strcmp(h[i].name, h[i - 1].name);

		if (dup) {
			c.len--; /* the '\n' */
			r = sbuf_addc(&c, ',');
		} else {
			r = sbuf_addf(&c, "%s:", h[i].name);
			if (r >= 0)
				r = sbuf_addf(&signed_h, "%s%s",
					      signed_h.len ? ";" : "",
					      h[i].name);
		}
		if (r >= 0)
			r = add_trimmed(&c, h[i].value);
		if (r >= 0)
			r = sbuf_addc(&c, '\n');
	}
	if (r >= 0)
		r = sbuf_addf(&c, "\n%s\n%s", sbuf_str(&signed_h),
			      in->payload_hash);
	if (r < 0)
		goto out;

	/* the string to sign */
	memcpy(date, in->amz_date, 8);
	date[8] = '\0';
	remote_sha256(c.buf, c.len, hash);
	remote_hex(hash, 32, hex);
	r = sbuf_addf(&s, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s",
		      in->amz_date, date, in->region, in->service, hex);
	if (r < 0)
		goto out;

	/* the signing key and the signature */
	if (asprintf(&kdate, "AWS4%s", in->secret_key) < 0) {
		kdate = NULL;
		r = -ENOMEM;
		goto out;
	}
	remote_hmac_sha256(kdate, strlen(kdate), date, 8, k1);
	remote_hmac_sha256(k1, 32, in->region, strlen(in->region), k2);
	remote_hmac_sha256(k2, 32, in->service, strlen(in->service), k3);
	remote_hmac_sha256(k3, 32, "aws4_request", 12, k4);
	remote_hmac_sha256(k4, 32, s.buf, s.len, sig);
	remote_hex(sig, 32, hex);
	if (authz) {
		sbuf_reset(authz);
		r = sbuf_addf(authz,
			      "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/"
			      "aws4_request, SignedHeaders=%s, Signature=%s",
			      in->access_key, date, in->region, in->service,
			      sbuf_str(&signed_h), hex);
	}
	if (r >= 0 && creq) {
		sbuf_reset(creq);
		r = sbuf_add(creq, c.buf, c.len);
	}
	if (r >= 0 && sts) {
		sbuf_reset(sts);
		r = sbuf_add(sts, s.buf, s.len);
	}
out:
	if (kdate) {
		OPENSSL_cleanse(kdate, strlen(kdate));
		free(kdate);
	}
	OPENSSL_cleanse(k1, sizeof(k1));
	OPENSSL_cleanse(k2, sizeof(k2));
	OPENSSL_cleanse(k3, sizeof(k3));
	OPENSSL_cleanse(k4, sizeof(k4));
	sbuf_release(&c);
	sbuf_release(&s);
	sbuf_release(&signed_h);
	return r;
}

/* --- ListObjectsV2 answers --------------------------------------------- */

static const struct remote_list_format s3_list_format = {
	.answer = "ListObjectsV2 answer",
	.entry = "ListBucketResult/Contents",
	.name = "ListBucketResult/Contents/Key",
	.etag = "ListBucketResult/Contents/ETag",
	.size = "ListBucketResult/Contents/Size",
	.mtime = "ListBucketResult/Contents/LastModified",
	.dir = "ListBucketResult/CommonPrefixes/Prefix",
	.next = "ListBucketResult/NextContinuationToken",
	.truncated = "ListBucketResult/IsTruncated",
};

int s3_parse_list(const char *xml, size_t n, const char *prefix,
		  vault_list_fn fn, void *userdata, char **next,
		  struct verror *e)
{
	return remote_parse_list(&s3_list_format, xml, n, prefix, fn, userdata,
				 next, e);
}

/* --- the backend ------------------------------------------------------- */

struct s3 {
	struct remote rm; /* first: see struct remote */
	char *bucket;
	char *region;
	char *scheme;	/* "http" or "https" */
	char *host;	/* the Host header: [bucket.]host[:port] */
	char *base;	/* scheme://host[:port] */
	char *basepath; /* the endpoint's own path, "" or "/x" */
	bool path_style;
	struct aws_creds *creds; /* NULL: anonymous; shared by every request */
	char *no_creds;		 /* anonymous: where none were found */
};

static void amz_now(char out[17])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* The header lines of an attempt as SigV4 headers: names copied into
 * names[], values borrowed from the lines. -EINVAL beyond max. */
static int sigv4_attempt_headers(const struct http_attempt *a,
				 struct sigv4_header *h, char (*names)[64],
				 size_t max, size_t *n)
{
	const char *const *lines;
	size_t count = http_attempt_headers(a, &lines), i;

	if (count > max)
		return -EINVAL;
	for (i = 0; i < count; i++) {
		const char *colon = strchr(lines[i], ':');
		size_t len = (size_t)(colon - lines[i]);
		const char *v = colon + 1;

		if (len >= sizeof(names[i]))
			return -EINVAL;
		memcpy(names[i], lines[i], len);
		names[i][len] = '\0';
		while (*v == ' ')
			v++;
		h[i] = (struct sigv4_header){ names[i], v };
	}
	*n = count;
	return 0;
}

int sigv4_sign_attempt(struct http_attempt *a, const struct sigv4_attempt *s)
{
	struct sigv4_header h[40];
	char names[40][64], date[17];
	struct sbuf line, authz;
	size_t n = 0;
	int r;

	amz_now(date);
	sbuf_init(&line, 16384);
	sbuf_init(&authz, 4096);
	r = sbuf_addf(&line, "Host: %s", s->host);
	if (r >= 0)
		r = http_attempt_header(a, line.buf);
	sbuf_reset(&line);
	if (r >= 0 && s->payload_header)
		r = sbuf_addf(&line, "x-amz-content-sha256: %s",
			      s->payload_hash);
	if (r >= 0 && s->payload_header)
		r = http_attempt_header(a, line.buf);
	sbuf_reset(&line);
	if (r >= 0)
		r = sbuf_addf(&line, "x-amz-date: %s", date);
	if (r >= 0)
		r = http_attempt_header(a, line.buf);
	sbuf_reset(&line);
	if (r >= 0 && s->token) {
		r = sbuf_addf(&line, "x-amz-security-token: %s", s->token);
		if (r >= 0)
			r = http_attempt_header(a, line.buf);
	}
	if (r >= 0 && s->access_key)
		r = sigv4_attempt_headers(a, h, names, ARRAY_SIZE(h), &n);
	if (r >= 0 && s->access_key) {
		struct sigv4_input in = {
			.method = a->method,
			.path = s->path,
			.query = s->query,
			.headers = h,
			.n_headers = n,
			.payload_hash = s->payload_hash,
			.region = s->region,
			.service = s->service,
			.amz_date = date,
			.access_key = s->access_key,
			.secret_key = s->secret_key,
		};

		r = sigv4_sign(&in, NULL, NULL, &authz);
		sbuf_reset(&line);
		if (r >= 0)
			r = sbuf_addf(&line, "Authorization: %s", authz.buf);
		if (r >= 0)
			r = http_attempt_header(a, line.buf);
	}
	remote_sbuf_wipe(&line);
	sbuf_release(&authz);
	return r;
}

/* Signs one attempt of the vault with the provider's current set (none:
 * anonymous, the headers without Authorization). */
static int s3_sign(void *ctx, struct http_attempt *a, struct verror *e)
{
	struct remote_req *q = ctx;
	struct s3 *s3 = q->backend;
	struct aws_keys k = { 0 };
	int r;

	/* one consistent set for this attempt, refreshed when due */
	if (s3->creds) {
		r = aws_creds_get(s3->creds, &k, e);
		if (r < 0)
			return verror_prefix(e, r, "%s: credentials (%s)",
					     http_name(s3->rm.http),
					     aws_creds_kind(s3->creds));
	}
	r = sigv4_sign_attempt(
		a, &(struct sigv4_attempt){ .host = s3->host,
					    .path = q->path,
					    .query = q->query,
					    .payload_hash = EMPTY_SHA256,
					    .payload_header = true,
					    .region = s3->region,
					    .service = "s3",
					    .access_key = k.access_key,
					    .secret_key = k.secret_key,
					    .token = k.token });
	aws_keys_release(&k);
	if (r < 0)
		return verror_set(e, r, "%s: cannot sign a request",
				  http_name(s3->rm.http));
	return 0;
}

/* Builds q for key (NULL: the bucket itself) and query (NULL: none); q's
 * path is raw: /bucket/key (path style) or /key. */
static int s3_req_init(void *backend, struct remote_req *q, const char *key,
		       const char *query)
{
	struct s3 *s3 = backend;
	struct sbuf p, u;
	int r;

	*q = (struct remote_req){ .backend = s3 };
	sbuf_init(&p, 8192);
	sbuf_init(&u, 65536);
	r = sbuf_adds(&p, s3->basepath);
	if (r >= 0 && s3->path_style)
		r = sbuf_addf(&p, "/%s", s3->bucket);
	if (r >= 0)
		r = sbuf_addc(&p, '/');
	if (r >= 0 && key)
		r = sbuf_addf(&p, "%s%s", s3->rm.prefix, key);
	if (r >= 0)
		r = sbuf_addf(&u, "%s", s3->base);
	if (r >= 0)
		r = remote_uri_encode(&u, p.buf, true);
	if (r >= 0 && query)
		r = sbuf_addf(&u, "?%s", query);
	if (r >= 0)
		r = remote_req_take(q, &p, &u, query);
	sbuf_release(&p);
	sbuf_release(&u);
	if (r < 0)
		remote_req_release(q);
	return r;
}

/* ListObjectsV2, one level deep; every page repeats the prefix. */
static int s3_list_query(struct sbuf *query, const char *prefix,
			 const char *token)
{
	int r;

	r = sbuf_adds(query, "list-type=2");
	if (r >= 0 && token) {
		r = sbuf_adds(query, "&continuation-token=");
		if (r >= 0)
			r = remote_uri_encode(query, token, false);
	}
	if (r >= 0)
		r = sbuf_adds(query, "&delimiter=%2F&prefix=");
	if (r >= 0)
		r = remote_uri_encode(query, prefix, false);
	return r;
}

static void s3_release(void *backend)
{
	struct s3 *s3 = backend;

	free(s3->bucket);
	free(s3->region);
	free(s3->scheme);
	free(s3->host);
	free(s3->base);
	free(s3->basepath);
	aws_creds_free(s3->creds);
	free(s3->no_creds);
}

static const struct remote_ops s3_remote_ops = {
	.req_init = s3_req_init,
	.sign = s3_sign,
	.list_query = s3_list_query,
	.list_parse = s3_parse_list,
	.release = s3_release,
	.marker_name = "continuation token",
	.unsized_get_is_empty = false,
};

static const struct vault_ops s3_ops = REMOTE_VAULT_OPS("s3");

/* --- opening ----------------------------------------------------------- */

static int getenv_dup(const char *name, char **out)
{
	const char *v = getenv(name);

	if (!v || !*v)
		return 0;
	*out = strdup(v);
	return *out ? 1 : -ENOMEM;
}

static int endpoint_parse(const char *endpoint, char **scheme, char **host,
			  char **basepath, struct verror *e)
{
	const char *p, *slash;
	size_t hl;

	if (!strncmp(endpoint, "http://", 7)) {
		*scheme = strdup("http");
		p = endpoint + 7;
	} else if (!strncmp(endpoint, "https://", 8)) {
		*scheme = strdup("https");
		p = endpoint + 8;
	} else {
		return verror_set(e, -EINVAL,
				  "the endpoint must start with http:// or "
				  "https://");
	}
	slash = strchr(p, '/');
	hl = slash ? (size_t)(slash - p) : strlen(p);
	if (hl == 0 || memchr(p, '@', hl) || strpbrk(p, "?# ") || hl > 255)
		return verror_set(e, -EINVAL,
				  "the endpoint is not a plain "
				  "scheme://host[:port][/path]");
	*host = strndup(p, hl);
	*basepath = strdup(slash ? slash : "");
	if (!*scheme || !*host || !*basepath)
		return -ENOMEM;
	/* no trailing '/' on the base path */
	{
		size_t n = strlen(*basepath);

		while (n && (*basepath)[n - 1] == '/')
			(*basepath)[--n] = '\0';
	}
	return 0;
}

static bool bucket_ok(const char *b)
{
	size_t n = strlen(b);

	if (n < 3 || n > 63)
		return false;
	for (; *b; b++)
		if (!(islower((unsigned char)*b) ||
		      isdigit((unsigned char)*b) || *b == '-' || *b == '.' ||
		      *b == '_'))
			return false;
	return true;
}

/* The URL parameters of an S3 vault (caller storage; all owned). */
struct s3_params {
	char *endpoint, *style, *ca, *profile, *insecure, *attempts;
};

static void s3_params_release(struct s3_params *p)
{
	free(p->endpoint);
	free(p->style);
	free(p->ca);
	free(p->profile);
	free(p->insecure);
	free(p->attempts);
}

/* "bucket[/prefix]": the bucket, the key prefix and the vault id. */
static int s3_location(struct vault *v, struct s3 *s3, const char *loc,
		       struct verror *e)
{
	_cleanup_free_ char *base = NULL;
	const char *slash = strchr(loc, '/');

	s3->bucket = slash ? strndup(loc, (size_t)(slash - loc)) : strdup(loc);
	if (!s3->bucket)
		return -ENOMEM;
	if (!bucket_ok(s3->bucket))
		return verror_set(e, -EINVAL,
				  "s3://%.80s: '%.80s' is not a valid bucket "
				  "name",
				  s3->bucket, s3->bucket);
	if (asprintf(&base, "s3://%s", s3->bucket) < 0) {
		base = NULL;
		return -ENOMEM;
	}
	return remote_location(v, &s3->rm, base, slash ? slash + 1 : "", e);
}

/* The region: ?region=, AWS_REGION, AWS_DEFAULT_REGION or us-east-1. */
static int s3_region(struct vault *v, struct s3 *s3, struct verror *e)
{
	if (!s3->region && getenv_dup("AWS_REGION", &s3->region) < 0)
		return -ENOMEM;
	if (!s3->region && getenv_dup("AWS_DEFAULT_REGION", &s3->region) < 0)
		return -ENOMEM;
	if (!s3->region && !(s3->region = strdup("us-east-1")))
		return -ENOMEM;
	if (!*s3->region || strpbrk(s3->region, "/\n\r "))
		return verror_set(e, -EINVAL, "%s: invalid region", v->id);
	return 0;
}

/* Where requests go: the endpoint (AWS's for the region unless given),
 * path or virtual-hosted style, the Host header and the URL base. */
static int s3_endpoint(struct vault *v, struct s3 *s3, struct s3_params *p,
		       struct verror *e)
{
	_cleanup_free_ char *host = NULL;
	int r;

	if (p->style && strcmp(p->style, "path") && strcmp(p->style, "virtual"))
		return verror_set(e, -EINVAL,
				  "%s: style must be 'path' or 'virtual'",
				  v->id);
	/* a custom endpoint (MinIO) is path-style unless told otherwise */
	s3->path_style = p->style ? !strcmp(p->style, "path") : !!p->endpoint;
	if (!p->endpoint &&
	    asprintf(&p->endpoint, "https://s3.%s.amazonaws.com", s3->region) <
		    0) {
		p->endpoint = NULL;
		return -ENOMEM;
	}
	r = endpoint_parse(p->endpoint, &s3->scheme, &host, &s3->basepath, e);
	if (r < 0)
		return verror_prefix(e, r, "%s", v->id);
	if (!s3->path_style && strchr(s3->bucket, '.') &&
	    !strcmp(s3->scheme, "https"))
		return verror_set(e, -EINVAL,
				  "%s: a bucket name with dots needs "
				  "style=path over https",
				  v->id);
	if (s3->path_style)
		s3->host = strdup(host);
	else if (asprintf(&s3->host, "%s.%s", s3->bucket, host) < 0)
		s3->host = NULL;
	if (!s3->host ||
	    asprintf(&s3->base, "%s://%s", s3->scheme, s3->host) < 0) {
		s3->base = NULL;
		return -ENOMEM;
	}
	return 0;
}

int vault_s3_open(const char *rest, const struct vault_options *opt,
		  struct vault **out, struct verror *e)
{
	struct s3_params p = { 0 };
	_cleanup_free_ char *loc = NULL;
	const char *query;
	struct vault *v;
	struct s3 *s3;
	int r;

	r = remote_url_split(rest, &loc, &query);
	if (r < 0)
		return r;
	v = remote_vault_new(&s3_ops, &s3_remote_ops, sizeof(*s3));
	if (!v)
		return -ENOMEM;
	s3 = v->priv;
	r = s3_location(v, s3, loc, e);
	if (r >= 0) {
		const struct remote_param params[] = {
			{ "region", &s3->region },
			{ "endpoint", &p.endpoint },
			{ "style", &p.style },
			{ "ca", &p.ca },
			{ "profile", &p.profile },
			{ "insecure", &p.insecure },
			{ "attempts", &p.attempts },
			{ NULL, NULL },
		};

		r = remote_query_params(query, params, v->id, e);
	}
	if (r >= 0)
		r = s3_region(v, s3, e);
	if (r >= 0)
		r = s3_endpoint(v, s3, &p, e);
	if (r >= 0) {
		struct aws_creds_options co = {
			.credentials_file = opt->credentials_file,
			.profile = p.profile,
			.region = s3->region,
		};
		struct verror ce = { { 0 } };

		r = aws_creds_new(&co, &s3->creds, &ce);
		if (r < 0)
			verror_set(e, r, "%s: %s", v->id, ce.msg);
		else if (!s3->creds && !(s3->no_creds = strdup(ce.msg)))
			r = -ENOMEM;
	}
	if (r >= 0)
		r = remote_http_new(&s3->rm, v->id, p.ca, "AWS_CA_BUNDLE",
				    p.insecure, p.attempts, e);
	s3_params_release(&p);
	if (r < 0) {
		vault_free(v);
		return r;
	}
	s3->rm.base_url = s3->base;
	s3->rm.no_credentials = s3->no_creds;
	log_debug("%s: endpoint %s, %s-style, region %s, %s", v->id, s3->base,
		  s3->path_style ? "path" : "virtual", s3->region,
		  s3->creds ? aws_creds_kind(s3->creds) : "anonymous");

	*out = v;
	return 0;
}
