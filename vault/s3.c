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
#include "vault/http_i.h"
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

struct list_parse {
	const char *prefix;
	vault_list_fn fn;
	void *userdata;
	char *key, *etag, *token;
	struct vault_object obj;
	bool has_size, truncated;
	int r;
};

static int set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : -ENOMEM;
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -EBADMSG;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > (uint64_t)INT64_MAX)
		return -EBADMSG;
	*out = v;
	return 0;
}

static int on_s3_list(enum remote_xml_event ev, const char *path,
		      const char *text, void *userdata)
{
	struct list_parse *lp = userdata;

	if (!strcmp(path, "ListBucketResult/Contents")) {
		if (ev == REMOTE_XML_START) {
			free(lp->key);
			free(lp->etag);
			lp->key = lp->etag = NULL;
			lp->obj = (struct vault_object){ 0 };
			lp->has_size = false;
			return 0;
		}
		if (!lp->key || !lp->has_size)
			return -EBADMSG;
		remote_identity(&lp->obj, lp->etag ? lp->etag : "");
		return remote_list_emit(lp->prefix, lp->key, false, &lp->obj,
					lp->fn, lp->userdata);
	}
	if (ev != REMOTE_XML_END || !text)
		return 0;
	if (!strcmp(path, "ListBucketResult/Contents/Key"))
		return set_str(&lp->key, text);
	if (!strcmp(path, "ListBucketResult/Contents/ETag"))
		return set_str(&lp->etag, text);
	if (!strcmp(path, "ListBucketResult/Contents/Size")) {
		lp->has_size = true;
		return parse_size(text, &lp->obj.size);
	}
	if (!strcmp(path, "ListBucketResult/Contents/LastModified")) {
		lp->obj.mtime = remote_parse_time(text);
		return 0;
	}
	if (!strcmp(path, "ListBucketResult/CommonPrefixes/Prefix"))
		return remote_list_emit(lp->prefix, text, true, NULL, lp->fn,
					lp->userdata);
	if (!strcmp(path, "ListBucketResult/NextContinuationToken"))
		return set_str(&lp->token, text);
	if (!strcmp(path, "ListBucketResult/IsTruncated")) {
		lp->truncated = !strcmp(text, "true");
		return 0;
	}
	return 0;
}

int s3_parse_list(const char *xml, size_t n, const char *prefix,
		  vault_list_fn fn, void *userdata, char **next,
		  struct verror *e)
{
	struct list_parse lp = { .prefix = prefix,
				 .fn = fn,
				 .userdata = userdata };
	int r;

	r = remote_xml_parse(xml, n, on_s3_list, &lp, e);
	if (r == -EBADMSG && e && !strstr(e->msg, "malformed"))
		verror_set(e, r, "malformed ListObjectsV2 answer");
	free(lp.key);
	free(lp.etag);
	if (r >= 0 && lp.truncated && (!lp.token || !*lp.token))
		r = verror_set(e, -EBADMSG,
			       "truncated listing without a continuation "
			       "token");
	if (r < 0 || !lp.truncated) {
		free(lp.token);
		lp.token = NULL;
	}
	if (r >= 0)
		*next = lp.token;
	return r;
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
	char *access_key, *secret_key, *token; /* NULL: anonymous */
};

static void amz_now(char out[17])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static int s3_prepare(void *ctx, const char *method, const char *url,
		      uint64_t range_from, const char *if_match,
		      struct curl_slist **headers, struct verror *e)
{
	struct remote_req *q = ctx;
	struct s3 *s3 = q->backend;
	struct sigv4_header h[6];
	char date[17], range[40];
	struct sbuf line, authz;
	size_t n = 0, i;
	int r = 0;

	(void)url;
	amz_now(date);
	h[n++] = (struct sigv4_header){ "Host", s3->host };
	h[n++] = (struct sigv4_header){ "x-amz-content-sha256", EMPTY_SHA256 };
	h[n++] = (struct sigv4_header){ "x-amz-date", date };
	if (s3->token)
		h[n++] = (struct sigv4_header){ "x-amz-security-token",
						s3->token };
	if (range_from) {
		snprintf(range, sizeof(range), "bytes=%llu-",
			 (unsigned long long)range_from);
		h[n++] = (struct sigv4_header){ "Range", range };
	}
	if (if_match)
		h[n++] = (struct sigv4_header){ "If-Match", if_match };
	sbuf_init(&line, 16384);
	sbuf_init(&authz, 4096);
	for (i = 0; i < n && r >= 0; i++) {
		sbuf_reset(&line);
		r = sbuf_addf(&line, "%s: %s", h[i].name, h[i].value);
		if (r >= 0)
			r = remote_add_header(headers, line.buf);
	}
	if (r >= 0 && s3->access_key) {
		struct sigv4_input in = {
			.method = method,
			.path = q->path,
			.query = q->query,
			.headers = h,
			.n_headers = n,
			.payload_hash = EMPTY_SHA256,
			.region = s3->region,
			.service = "s3",
			.amz_date = date,
			.access_key = s3->access_key,
			.secret_key = s3->secret_key,
		};

		r = sigv4_sign(&in, NULL, NULL, &authz);
		sbuf_reset(&line);
		if (r >= 0)
			r = sbuf_addf(&line, "Authorization: %s", authz.buf);
		if (r >= 0)
			r = remote_add_header(headers, line.buf);
	}
	sbuf_release(&line);
	sbuf_release(&authz);
	if (r < 0)
		return verror_set(e, r, "%s: cannot sign a request",
				  http_vault_id(s3->rm.http));
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

static const struct remote_ops s3_remote_ops = {
	.req_init = s3_req_init,
	.prepare = s3_prepare,
	.list_query = s3_list_query,
	.list_parse = s3_parse_list,
	.marker_name = "continuation token",
	.unsized_get_is_empty = false,
};

static void s3_free(struct vault *v)
{
	struct s3 *s3 = v->priv;

	if (!s3)
		return;
	remote_release(&s3->rm);
	free(s3->bucket);
	free(s3->region);
	free(s3->scheme);
	free(s3->host);
	free(s3->base);
	free(s3->basepath);
	remote_wipe_free(s3->access_key);
	remote_wipe_free(s3->secret_key);
	remote_wipe_free(s3->token);
	free(s3);
}

static const char *s3_endpoint(const struct vault *v)
{
	return ((const struct s3 *)v->priv)->base;
}

static const struct vault_ops s3_ops = {
	.scheme = "s3",
	.list = remote_list,
	.stat = remote_stat,
	.stream_open = remote_stream_open,
	.stream_read = remote_stream_read,
	.stream_free = remote_stream_free,
	.free = s3_free,
	.endpoint = s3_endpoint,
};

/* --- opening ----------------------------------------------------------- */

static int getenv_dup(const char *name, char **out)
{
	const char *v = getenv(name);

	if (!v || !*v)
		return 0;
	*out = strdup(v);
	return *out ? 1 : -ENOMEM;
}

/* Reads a profile's keys from an INI credentials file. Returns 1 when
 * found, 0 when the file or the profile has none. */
static int creds_from_file(struct s3 *s3, const char *path, const char *profile,
			   bool missing_ok, struct verror *e)
{
	int r;

	r = remote_file_value(path, profile, "aws_access_key_id", missing_ok,
			      &s3->access_key, e);
	if (r <= 0)
		return r;
	r = remote_file_value(path, profile, "aws_secret_access_key", false,
			      &s3->secret_key, e);
	if (r == 0)
		r = verror_set(e, -EINVAL,
			       "credentials file %s: profile '%s' has "
			       "aws_access_key_id but no "
			       "aws_secret_access_key",
			       path, profile);
	if (r < 0)
		return r;
	r = remote_file_value(path, profile, "aws_session_token", false,
			      &s3->token, e);
	return r < 0 ? r : 1;
}

static int s3_credentials(struct s3 *s3, const char *profile_param,
			  const struct vault_options *opt, struct verror *e)
{
	const char *profile = profile_param;
	_cleanup_free_ char *shared = NULL;
	const char *path;
	int r;

	if (!profile)
		profile = getenv("AWS_PROFILE");
	if (!profile || !*profile)
		profile = "default";
	if (opt->credentials_file) {
		r = creds_from_file(s3, opt->credentials_file, profile, false,
				    e);
		if (r == 0)
			r = verror_set(e, -EINVAL,
				       "credentials file %s: no "
				       "aws_access_key_id in profile '%s'",
				       opt->credentials_file, profile);
		return r < 0 ? r : 0;
	}
	if (!profile_param && getenv("AWS_ACCESS_KEY_ID") &&
	    *getenv("AWS_ACCESS_KEY_ID")) {
		if (getenv_dup("AWS_ACCESS_KEY_ID", &s3->access_key) < 0 ||
		    getenv_dup("AWS_SECRET_ACCESS_KEY", &s3->secret_key) < 0 ||
		    getenv_dup("AWS_SESSION_TOKEN", &s3->token) < 0)
			return -ENOMEM;
		if (!s3->secret_key)
			return verror_set(e, -EINVAL,
					  "AWS_ACCESS_KEY_ID is set but "
					  "AWS_SECRET_ACCESS_KEY is not");
		return 0;
	}
	path = getenv("AWS_SHARED_CREDENTIALS_FILE");
	if (!path || !*path) {
		const char *home = getenv("HOME");

		if (!home || !*home)
			return 0;
		if (asprintf(&shared, "%s/.aws/credentials", home) < 0) {
			shared = NULL;
			return -ENOMEM;
		}
		path = shared;
	}
	r = creds_from_file(s3, path, profile, true, e);
	if (r < 0)
		return r;
	if (r == 0 && (profile_param || getenv("AWS_PROFILE")))
		return verror_set(e, -EINVAL,
				  "no credentials for profile '%s' in %s",
				  profile, path);
	return 0;
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

int vault_s3_open(const char *rest, const struct vault_options *opt,
		  struct vault **out, struct verror *e)
{
	_cleanup_free_ char *loc = NULL, *endpoint = NULL, *style = NULL,
			    *ca = NULL, *profile = NULL, *insecure = NULL,
			    *attempts = NULL, *host = NULL;
	const char *query, *slash;
	struct vault *v;
	struct s3 *s3;
	size_t plen;
	int r;

	r = remote_url_split(rest, &loc, &query);
	if (r < 0)
		return r;
	v = remote_vault_new(&s3_ops, &s3_remote_ops, sizeof(*s3));
	if (!v)
		return -ENOMEM;
	s3 = v->priv;

	slash = strchr(loc, '/');
	s3->bucket = slash ? strndup(loc, (size_t)(slash - loc)) : strdup(loc);
	if (!s3->bucket) {
		r = -ENOMEM;
		goto fail;
	}
	if (!bucket_ok(s3->bucket)) {
		r = verror_set(e, -EINVAL,
			       "s3://%.80s: '%.80s' is not a valid bucket name",
			       s3->bucket, s3->bucket);
		goto fail;
	}
	/* the prefix: no leading or doubled slashes, one trailing */
	r = remote_prefix(slash ? slash + 1 : "", &s3->rm.prefix);
	if (r < 0)
		goto fail;
	plen = (size_t)r;
	if (plen && !remote_key_ok(s3->rm.prefix)) {
		r = verror_set(e, -EINVAL, "s3://%s: invalid prefix '%.*s'",
			       s3->bucket, (int)plen, s3->rm.prefix);
		goto fail;
	}
	if (asprintf(&v->id, "s3://%s%s%.*s", s3->bucket, plen ? "/" : "",
		     (int)plen, s3->rm.prefix) < 0) {
		v->id = NULL;
		r = -ENOMEM;
		goto fail;
	}
	{
		const struct remote_param params[] = {
			{ "region", &s3->region }, { "endpoint", &endpoint },
			{ "style", &style },	   { "ca", &ca },
			{ "profile", &profile },   { "insecure", &insecure },
			{ "attempts", &attempts }, { NULL, NULL },
		};

		r = remote_query_params(query, params, v->id, e);
		if (r < 0)
			goto fail;
	}
	if (!s3->region && getenv_dup("AWS_REGION", &s3->region) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	if (!s3->region && getenv_dup("AWS_DEFAULT_REGION", &s3->region) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	if (!s3->region && !(s3->region = strdup("us-east-1"))) {
		r = -ENOMEM;
		goto fail;
	}
	if (!*s3->region || strpbrk(s3->region, "/\n\r ")) {
		r = verror_set(e, -EINVAL, "%s: invalid region", v->id);
		goto fail;
	}
	if (style && strcmp(style, "path") && strcmp(style, "virtual")) {
		r = verror_set(e, -EINVAL,
			       "%s: style must be 'path' or 'virtual'", v->id);
		goto fail;
	}
	if (!endpoint && asprintf(&endpoint, "https://s3.%s.amazonaws.com",
				  s3->region) < 0) {
		endpoint = NULL;
		r = -ENOMEM;
		goto fail;
	}
	r = endpoint_parse(endpoint, &s3->scheme, &host, &s3->basepath, e);
	if (r < 0) {
		verror_prefix(e, r, "%s", v->id);
		goto fail;
	}
	/* a custom endpoint (MinIO) is path-style unless told otherwise */
	s3->path_style = style ? !strcmp(style, "path") :
				 query && strstr(query, "endpoint=") != NULL;
	if (!s3->path_style && strchr(s3->bucket, '.') &&
	    !strcmp(s3->scheme, "https")) {
		r = verror_set(e, -EINVAL,
			       "%s: a bucket name with dots needs "
			       "style=path over https",
			       v->id);
		goto fail;
	}
	if (s3->path_style)
		s3->host = strdup(host);
	else if (asprintf(&s3->host, "%s.%s", s3->bucket, host) < 0)
		s3->host = NULL;
	if (!s3->host ||
	    asprintf(&s3->base, "%s://%s", s3->scheme, s3->host) < 0) {
		s3->base = NULL;
		r = -ENOMEM;
		goto fail;
	}
	r = s3_credentials(s3, profile, opt, e);
	if (r < 0) {
		verror_prefix(e, r, "%s", v->id);
		goto fail;
	}
	r = remote_http_new(&s3->rm, v->id, ca, "AWS_CA_BUNDLE", insecure,
			    attempts, e);
	if (r < 0)
		goto fail;
	log_debug("%s: endpoint %s, %s-style, region %s, %s", v->id, s3->base,
		  s3->path_style ? "path" : "virtual", s3->region,
		  s3->access_key ? "signed" : "anonymous");
	*out = v;
	return 0;
fail:
	vault_free(v);
	return r;
}
