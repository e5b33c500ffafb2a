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

#define S3_LIST_MAX ((size_t)16 << 20) /* one ListObjectsV2 page */
#define S3_MAX_PAGES 100000
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
	char *bucket;
	char *prefix; /* "" or ending in '/' */
	char *region;
	char *scheme;	/* "http" or "https" */
	char *host;	/* the Host header: [bucket.]host[:port] */
	char *base;	/* scheme://host[:port] */
	char *basepath; /* the endpoint's own path, "" or "/x" */
	bool path_style;
	char *access_key, *secret_key, *token; /* NULL: anonymous */
	struct http *http;
};

/* One request's signing context; outlives a stream's attempts. */
struct s3_req {
	struct s3 *s3;
	char *path;  /* raw: /bucket/key (path style) or /key */
	char *query; /* as sent, NULL if none */
	char *url;
};

static void s3_req_release(struct s3_req *q)
{
	free(q->path);
	free(q->query);
	free(q->url);
}

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
	struct s3_req *q = ctx;
	struct s3 *s3 = q->s3;
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
		struct curl_slist *l;

		sbuf_reset(&line);
		r = sbuf_addf(&line, "%s: %s", h[i].name, h[i].value);
		if (r < 0)
			break;
		l = curl_slist_append(*headers, line.buf);
		if (!l)
			r = -ENOMEM;
		else
			*headers = l;
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
		struct curl_slist *l;

		r = sigv4_sign(&in, NULL, NULL, &authz);
		sbuf_reset(&line);
		if (r >= 0)
			r = sbuf_addf(&line, "Authorization: %s", authz.buf);
		if (r >= 0) {
			l = curl_slist_append(*headers, line.buf);
			if (!l)
				r = -ENOMEM;
			else
				*headers = l;
		}
	}
	sbuf_release(&line);
	sbuf_release(&authz);
	if (r < 0)
		return verror_set(e, r, "%s: cannot sign a request",
				  http_vault_id(s3->http));
	return 0;
}

/* Builds q for key (NULL: the bucket itself) and query (NULL: none). */
static int s3_req_init(struct s3 *s3, struct s3_req *q, const char *key,
		       const char *query)
{
	struct sbuf p, u;
	int r;

	*q = (struct s3_req){ .s3 = s3 };
	sbuf_init(&p, 8192);
	sbuf_init(&u, 65536);
	r = sbuf_adds(&p, s3->basepath);
	if (r >= 0 && s3->path_style)
		r = sbuf_addf(&p, "/%s", s3->bucket);
	if (r >= 0)
		r = sbuf_addc(&p, '/');
	if (r >= 0 && key)
		r = sbuf_addf(&p, "%s%s", s3->prefix, key);
	if (r >= 0)
		r = sbuf_addf(&u, "%s", s3->base);
	if (r >= 0)
		r = remote_uri_encode(&u, p.buf, true);
	if (r >= 0 && query)
		r = sbuf_addf(&u, "?%s", query);
	if (r >= 0) {
		q->path = sbuf_take(&p, NULL);
		q->url = sbuf_take(&u, NULL);
		q->query = query ? strdup(query) : NULL;
		if (!q->path || !q->url || (query && !q->query))
			r = -ENOMEM;
	}
	sbuf_release(&p);
	sbuf_release(&u);
	if (r < 0)
		s3_req_release(q);
	return r;
}

static int s3_list(struct vault *v, const char *dir, vault_list_fn fn,
		   void *userdata, struct verror *e)
{
	struct s3 *s3 = v->priv;
	_cleanup_free_ char *prefix = NULL;
	char *token = NULL;
	struct sbuf body, query;
	unsigned pages;
	int r = 0;

	if (*dir && (dir[strlen(dir) - 1] != '/' || !remote_key_ok(dir)))
		return verror_set(e, -EINVAL, "invalid directory key '%s'",
				  dir);
	if (asprintf(&prefix, "%s%s", s3->prefix, dir) < 0) {
		prefix = NULL;
		return -ENOMEM;
	}
	sbuf_init(&body, S3_LIST_MAX);
	sbuf_init(&query, 65536);
	for (pages = 0; pages < S3_MAX_PAGES; pages++) {
		struct http_response resp;
		struct http_request req;
		struct s3_req q;
		char *next = NULL;

		sbuf_reset(&query);
		r = sbuf_adds(&query, "list-type=2");
		if (r >= 0 && token) {
			r = sbuf_adds(&query, "&continuation-token=");
			if (r >= 0)
				r = remote_uri_encode(&query, token, false);
		}
		if (r >= 0)
			r = sbuf_adds(&query, "&delimiter=%2F&prefix=");
		if (r >= 0)
			r = remote_uri_encode(&query, prefix, false);
		if (r >= 0)
			r = s3_req_init(s3, &q, NULL, query.buf);
		if (r < 0)
			break;
		req = (struct http_request){ .method = "GET",
					     .url = q.url,
					     .what = *dir ? dir : "(top)",
					     .prepare = s3_prepare,
					     .ctx = &q };
		sbuf_reset(&body);
		r = http_do(s3->http, &req, &body, &resp, e);
		if (r >= 0 && resp.status != 200)
			r = http_status_error(s3->http, "listing", req.what,
					      &resp, sbuf_str(&body), body.len,
					      e);
		s3_req_release(&q);
		if (r < 0)
			break;
		r = s3_parse_list(sbuf_str(&body), body.len, prefix, fn,
				  userdata, &next, e);
		if (r == -EBADMSG)
			r = verror_prefix(e, -EIO, "%s: listing %s",
					  vault_id(v), *dir ? dir : "(top)");
		if (r < 0)
			break;
		if (!next)
			break;
		if (token && !strcmp(token, next)) {
			free(next);
			r = verror_set(e, -EIO,
				       "%s: listing %s: the server repeats "
				       "its continuation token",
				       vault_id(v), dir);
			break;
		}
		free(token);
		token = next;
	}
	free(token);
	sbuf_release(&body);
	sbuf_release(&query);
	return r < 0 ? r : 0;
}

static int fill_from_response(const struct http_response *resp, int64_t size,
			      struct vault_object *o)
{
	if (size < 0)
		return -EIO;
	o->size = (uint64_t)size;
	o->mtime = remote_parse_time(resp->last_modified);
	remote_identity(o, resp->etag);
	return 0;
}

static int s3_stat(struct vault *v, const char *key, struct vault_object *out,
		   struct verror *e)
{
	struct s3 *s3 = v->priv;
	struct http_response resp;
	struct http_request req;
	struct vault_object o = { 0 };
	struct s3_req q;
	struct sbuf body;
	int r;

	if (!remote_key_ok(key))
		return verror_set(e, -EINVAL, "invalid key '%s'", key);
	r = s3_req_init(s3, &q, key, NULL);
	if (r < 0)
		return r;
	req = (struct http_request){ .method = "HEAD",
				     .url = q.url,
				     .what = key,
				     .prepare = s3_prepare,
				     .ctx = &q };
	sbuf_init(&body, 65536);
	r = http_do(s3->http, &req, &body, &resp, e);
	if (r >= 0 && resp.status != 200)
		r = http_status_error(s3->http, "HEAD", key, &resp, NULL, 0, e);
	if (r >= 0 && fill_from_response(&resp, resp.length, &o) < 0)
		r = verror_set(e, -EIO, "%s: HEAD %s: no Content-Length",
			       vault_id(v), key);
	sbuf_release(&body);
	s3_req_release(&q);
	if (r >= 0)
		*out = o;
	return r < 0 ? r : 0;
}

struct remote_stream {
	struct http_stream *hs;
	struct s3_req q;
};

static int s3_stream_open(struct vault *v, const char *key,
			  const struct vault_object *expect,
			  struct vault_stream **out, struct verror *e)
{
	struct s3 *s3 = v->priv;
	struct remote_stream *rs;
	struct vault_stream *s;
	struct http_response resp;
	struct http_request req;
	struct vault_object now = { 0 };
	int r;

	if (!remote_key_ok(key))
		return verror_set(e, -EINVAL, "invalid key '%s'", key);
	s = calloc(1, sizeof(*s));
	rs = calloc(1, sizeof(*rs));
	if (!s || !rs) {
		free(s);
		free(rs);
		return -ENOMEM;
	}
	r = s3_req_init(s3, &rs->q, key, NULL);
	if (r < 0)
		goto fail;
	req = (struct http_request){ .method = "GET",
				     .url = rs->q.url,
				     .what = key,
				     .prepare = s3_prepare,
				     .ctx = &rs->q };
	r = http_stream_open(s3->http, &req, &resp, &rs->hs, e);
	if (r < 0)
		goto fail;
	if (expect) {
		fill_from_response(&resp, resp.length, &now);
		if (strcmp(now.identity, expect->identity) != 0) {
			r = verror_set(e, -ESTALE,
				       "%s/%s changed while being read",
				       vault_id(v), key);
			goto fail;
		}
	}
	s->vault = v;
	s->priv = rs;
	*out = s;
	return 0;
fail:
	http_stream_free(rs->hs);
	s3_req_release(&rs->q);
	free(rs);
	free(s);
	return r;
}

static ssize_t remote_stream_read(struct vault_stream *s, void *buf, size_t len,
				  struct verror *e)
{
	struct remote_stream *rs = s->priv;

	return http_stream_read(rs->hs, buf, len, e);
}

static void s3_stream_free(struct vault_stream *s)
{
	struct remote_stream *rs = s->priv;

	http_stream_free(rs->hs);
	s3_req_release(&rs->q);
	free(rs);
	free(s);
}

static void wipe_free(char *p)
{
	if (p) {
		OPENSSL_cleanse(p, strlen(p));
		free(p);
	}
}

static void s3_free(struct vault *v)
{
	struct s3 *s3 = v->priv;

	if (!s3)
		return;
	http_free(s3->http);
	free(s3->bucket);
	free(s3->prefix);
	free(s3->region);
	free(s3->scheme);
	free(s3->host);
	free(s3->base);
	free(s3->basepath);
	wipe_free(s3->access_key);
	wipe_free(s3->secret_key);
	wipe_free(s3->token);
	free(s3);
}

static const struct vault_ops s3_ops = {
	.scheme = "s3",
	.list = s3_list,
	.stat = s3_stat,
	.stream_open = s3_stream_open,
	.stream_read = remote_stream_read,
	.stream_free = s3_stream_free,
	.free = s3_free,
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
	static const char *const known[] = { "region",	 "endpoint", "style",
					     "ca",	 "profile",  "insecure",
					     "attempts", NULL };
	_cleanup_free_ char *loc = NULL, *endpoint = NULL, *style = NULL,
			    *ca = NULL, *profile = NULL, *insecure = NULL,
			    *attempts = NULL, *host = NULL;
	const char *query, *slash;
	struct http_config hc = { 0 };
	struct vault *v = NULL;
	struct s3 *s3;
	size_t plen;
	int r;

	query = strchr(rest, '?');
	loc = query ? strndup(rest, (size_t)(query - rest)) : strdup(rest);
	if (!loc)
		return -ENOMEM;
	if (query)
		query++;
	s3 = calloc(1, sizeof(*s3));
	v = calloc(1, sizeof(*v));
	if (!s3 || !v) {
		free(s3);
		free(v);
		return -ENOMEM;
	}
	v->ops = &s3_ops;
	v->priv = s3;

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
	{
		const char *p = slash ? slash + 1 : "";

		while (*p == '/')
			p++;
		plen = strlen(p);
		while (plen && p[plen - 1] == '/')
			plen--;
		if (plen && asprintf(&s3->prefix, "%.*s/", (int)plen, p) < 0)
			s3->prefix = NULL;
		else if (!plen)
			s3->prefix = strdup("");
		if (!s3->prefix) {
			r = -ENOMEM;
			goto fail;
		}
		if (plen && !remote_key_ok(s3->prefix)) {
			r = verror_set(e, -EINVAL,
				       "s3://%s: invalid prefix '%.*s'",
				       s3->bucket, (int)plen, p);
			goto fail;
		}
		if (asprintf(&v->id, "s3://%s%s%.*s", s3->bucket,
			     plen ? "/" : "", (int)plen, s3->prefix) < 0) {
			v->id = NULL;
			r = -ENOMEM;
			goto fail;
		}
	}
	r = remote_query_check(query, known, v->id, e);
	if (r < 0)
		goto fail;
	if ((r = remote_query_get(query, "region", &s3->region)) < 0 ||
	    (r = remote_query_get(query, "endpoint", &endpoint)) < 0 ||
	    (r = remote_query_get(query, "style", &style)) < 0 ||
	    (r = remote_query_get(query, "ca", &ca)) < 0 ||
	    (r = remote_query_get(query, "profile", &profile)) < 0 ||
	    (r = remote_query_get(query, "insecure", &insecure)) < 0 ||
	    (r = remote_query_get(query, "attempts", &attempts)) < 0) {
		if (r == -EINVAL)
			r = verror_set(e, r, "%s: bad escape in the URL",
				       v->id);
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
	if (!ca) {
		const char *env = getenv("AWS_CA_BUNDLE");

		if (env && *env && !(ca = strdup(env))) {
			r = -ENOMEM;
			goto fail;
		}
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
	hc.vault_id = v->id;
	hc.ca_file = ca;
	hc.insecure = insecure && strcmp(insecure, "0") != 0;
	if (attempts)
		hc.attempts = (unsigned)MAX(1, MIN(atoi(attempts), 20));
	r = http_new(&hc, &s3->http, e);
	if (r < 0)
		goto fail;
	log_debug("%s: endpoint %s, %s-style, region %s, %s", v->id, s3->base,
		  s3->path_style ? "path" : "virtual", s3->region,
		  s3->access_key ? "signed" : "anonymous");
	*out = v;
	return 0;
fail:
	v->ops->free(v);
	free(v->id);
	free(v);
	return r;
}
