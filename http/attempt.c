/* http/attempt: one attempt of a request: the options of the easy
 * handle (timeouts, TLS, the method and body), its header lines (Range,
 * If-Match, the request's, the sign callback's), and the callbacks that
 * read the answer's status, headers and body. See http_i.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/macro.h"
#include "http/http_i.h"

#ifndef VELEROFS_VERSION
#define VELEROFS_VERSION "0"
#endif

#define HTTP_BUFFER_SIZE (128L << 10)

/* --- the callbacks of a transfer --------------------------------------- */

static void copy_value(char *dst, size_t size, const char *v, size_t n)
{
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	if (n >= size)
		n = size - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static int64_t parse_i64(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v < 0)
		return -1;
	return v;
}

static void response_init(struct http_response *r)
{
	*r = (struct http_response){ .length = -1,
				     .range_total = -1,
				     .range_start = -1 };
}

/* Content-Range: bytes START-END/TOTAL */
static void parse_content_range(struct http_response *r, const char *s)
{
	const char *slash;

	if (strncmp(s, "bytes ", 6) != 0)
		return;
	r->range_start = parse_i64(s + 6);
	slash = strchr(s, '/');
	if (slash)
		r->range_total = parse_i64(slash + 1);
}

static size_t header_cb(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct http_xfer *x = userdata;
	struct http_response *r = &x->resp;
	size_t n = size * nmemb, nl;
	const char *colon;
	char val[160];

	if (n >= 5 && !memcmp(p, "HTTP/", 5)) {
		const char *sp = memchr(p, ' ', n);

		response_init(r);
		if (sp)
			r->status = strtol(sp + 1, NULL, 10);
		return n;
	}
	if (n <= 2 && (n == 0 || p[0] == '\r' || p[0] == '\n')) {
		if (r->status >= 200)
			r->headers_done = true;
		return n;
	}
	colon = memchr(p, ':', n);
	if (!colon)
		return n;
	nl = (size_t)(colon - p);
	copy_value(val, sizeof(val), colon + 1, n - nl - 1);
#define IS(name) (nl == strlen(name) && !strncasecmp(p, name, nl))
#define KEEP(field) copy_value(r->field, sizeof(r->field), val, strlen(val))
	if (IS("etag"))
		KEEP(etag);
	else if (IS("content-length"))
		r->length = parse_i64(val);
	else if (IS("last-modified"))
		KEEP(last_modified);
	else if (IS("content-type"))
		KEEP(content_type);
	else if (IS("x-ms-error-code"))
		KEEP(error_code);
	else if (IS("retry-after"))
		KEEP(retry_after);
	else if (IS("content-range"))
		parse_content_range(r, val);
#undef KEEP
#undef IS
	return n;
}

static bool status_ok(long status)
{
	return status >= 200 && status < 300;
}

/* A stream's bytes: into the caller's buffer, the rest into spill. When
 * the buffer is full the transfer pauses, and curl hands the same bytes
 * again later: nothing is consumed before that decision. */
static size_t stream_write(struct http_xfer *x, char *p, size_t n)
{
	size_t all = n, skip, room, k;

	skip = (size_t)MIN((uint64_t)n, x->skip);
	n -= skip;
	if ((uint64_t)n > x->remain)
		n = (size_t)x->remain; /* past the range asked for: dropped */
	room = x->dst ? x->dst_len - x->dst_got : 0;
	if (n && room == 0) {
		x->paused = true;
		return CURL_WRITEFUNC_PAUSE;
	}
	x->skip -= skip;
	p += skip;
	if (!n)
		return all;
	k = MIN(n, room);
	memcpy(x->dst + x->dst_got, p, k);
	x->dst_got += k;
	if (k < n && sbuf_add(&x->spill, p + k, n - k) < 0)
		return 0; /* cannot happen with curl's write sizes */
	x->received += n;
	if (x->remain != UINT64_MAX)
		x->remain -= n;
	return all;
}

static size_t write_cb(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct http_xfer *x = userdata;
	size_t n = size * nmemb, room;

	if (!status_ok(x->resp.status)) {
		/* keep the start of an error body, drop the rest */
		room = HTTP_ERRBODY_MAX - x->errbody.len;
		if (room)
			(void)sbuf_add(&x->errbody, p, MIN(n, room));
		return n;
	}
	if (x->streaming)
		return stream_write(x, p, n);
	if (x->body && sbuf_add(x->body, p, n) < 0) {
		x->toobig = true;
		return 0;
	}
	return n;
}

/* --- one attempt ------------------------------------------------------- */

void http_xfer_reset(struct http_xfer *x)
{
	response_init(&x->resp);
	sbuf_reset(&x->errbody);
	sbuf_reset(&x->spill);
	x->toobig = false;
	x->paused = false;
	x->skip = 0;
	x->remain = UINT64_MAX;
	x->received = 0;
	x->errbuf[0] = '\0';
}

void http_xfer_clear_headers(struct http_xfer *x)
{
	struct curl_slist *l;
	size_t i;

	for (i = 0; i < x->nlines; i++) {
		explicit_bzero(x->lines[i], strlen(x->lines[i]));
		free(x->lines[i]);
		x->lines[i] = NULL;
	}
	x->nlines = 0;
	for (l = x->hdrs; l; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
}

int http_attempt_header(struct http_attempt *a, const char *line)
{
	struct http_xfer *x = a->x;

	if (strpbrk(line, "\r\n") || !strchr(line, ':'))
		return -EINVAL;
	if (x->nlines >= HTTP_MAX_LINES)
		return -E2BIG;
	x->lines[x->nlines] = strdup(line);
	if (!x->lines[x->nlines])
		return -ENOMEM;
	x->nlines++;
	return 0;
}

size_t http_attempt_headers(const struct http_attempt *a,
			    const char *const **lines)
{
	*lines = (const char *const *)a->x->lines;
	return a->x->nlines;
}

static void set_blob(CURL *c, CURLoption opt, const struct curl_blob *b)
{
	struct curl_blob copy = *b;

	copy.flags = CURL_BLOB_COPY;
	curl_easy_setopt(c, opt, &copy);
}

static void set_client_cert(CURL *c, const struct curl_blob *cert,
			    const struct curl_blob *key)
{
	if (!cert->len)
		return;
	curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
	curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
	set_blob(c, CURLOPT_SSLCERT_BLOB, cert);
	if (key->len)
		set_blob(c, CURLOPT_SSLKEY_BLOB, key);
}

int http_attempt_client_cert(struct http_attempt *a, const void *cert,
			     size_t cert_len, const void *key, size_t key_len,
			     struct verror *e)
{
	curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	struct curl_blob cb = { .data = (void *)cert, .len = cert_len };
	struct curl_blob kb = { .data = (void *)key, .len = key_len };

	/* CURLOPT_SSLCERT_BLOB came with 7.71.0 */
	if (!v || v->version_num < 0x074700)
		return verror_set(e, -ENOTSUP,
				  "this libcurl cannot take client "
				  "certificates from memory");
	set_client_cert(a->x->easy, &cb, &kb);
	return 0;
}

void http_attempt_basic_auth(struct http_attempt *a, const char *user,
			     const char *password)
{
	curl_easy_setopt(a->x->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(a->x->easy, CURLOPT_USERNAME, user);
	curl_easy_setopt(a->x->easy, CURLOPT_PASSWORD, password);
}

static int add_line(struct http_xfer *x, const char *fmt, ...) _printf_(2, 3);
static int add_line(struct http_xfer *x, const char *fmt, ...)
{
	struct http_attempt a = { .x = x };
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -EINVAL;
	return http_attempt_header(&a, line);
}

/* The transfer options that do not depend on the request. */
static void set_client_options(struct http *h, CURL *c, long timeout_ms)
{
	curl_easy_setopt(c, CURLOPT_SHARE, h->share);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_VERBOSE, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION,
			 h->http1 ? (long)CURL_HTTP_VERSION_1_1 :
				    (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_BUFFERSIZE, HTTP_BUFFER_SIZE);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "velerofs/" VELEROFS_VERSION);
	if (timeout_ms)
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 timeout_ms ? MIN(h->connect_timeout_ms, timeout_ms) :
				      h->connect_timeout_ms);
	if (h->low_speed_time_s) {
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
				 (long)h->low_speed_time_s);
	}
	if (h->compressed)
		curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	if (h->connect_to)
		curl_easy_setopt(c, CURLOPT_CONNECT_TO, h->connect_to);
	if (h->proxy)
		curl_easy_setopt(c, CURLOPT_PROXY, h->proxy);
}

static void set_tls_options(struct http *h, CURL *c)
{
	if (h->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
		return;
	}
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->ca.len) {
		/* these CAs only, as kubectl: not the system's */
		curl_easy_setopt(c, CURLOPT_CAINFO, NULL);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
		set_blob(c, CURLOPT_CAINFO_BLOB, &h->ca);
	}
	if (h->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
	if (h->ca_dir)
		curl_easy_setopt(c, CURLOPT_CAPATH, h->ca_dir);
}

/* The method and the body. Methods other than GET and HEAD send a body
 * (an empty one when none is given, DELETE excepted). */
static void set_method(CURL *c, const struct http_request *req)
{
	const char *m = req->method;
	const void *body = req->body;

	if (!strcmp(m, "GET")) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		return;
	}
	if (!strcmp(m, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		return;
	}
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
	if (!body && strcmp(m, "DELETE") != 0)
		body = "";
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)req->body_len);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
}

/* Range, If-Match and the request's own header lines. */
static int add_request_headers(struct http_xfer *x,
			       const struct http_request *req,
			       uint64_t range_from, uint64_t range_len,
			       const char *if_match)
{
	const char *rh = req->range_header ? req->range_header : "Range";
	const char *const *l;
	int r = 0;

	if (range_len)
		r = add_line(x, "%s: bytes=%llu-%llu", rh,
			     (unsigned long long)range_from,
			     (unsigned long long)(range_from + range_len - 1));
	else if (range_from)
		r = add_line(x, "%s: bytes=%llu-", rh,
			     (unsigned long long)range_from);
	if (r >= 0 && if_match)
		r = add_line(x, "If-Match: %.400s", if_match);
	for (l = req->headers; r >= 0 && l && *l; l++) {
		struct http_attempt a = { .x = x };

		r = http_attempt_header(&a, *l);
	}
	return r;
}

/* The curl list: the lines, then "Expect:" (no 100-continue round trip)
 * when a body is sent. */
static int build_slist(struct http_xfer *x, bool body)
{
	struct curl_slist *l;
	size_t i;

	for (i = 0; i < x->nlines; i++) {
		l = curl_slist_append(x->hdrs, x->lines[i]);
		if (!l)
			return -ENOMEM;
		x->hdrs = l;
	}
	if (body) {
		l = curl_slist_append(x->hdrs, "Expect:");
		if (!l)
			return -ENOMEM;
		x->hdrs = l;
	}
	return 0;
}

int http_attempt_setup(struct http *h, CURL *c, const struct http_request *req,
		       uint64_t range_from, uint64_t range_len,
		       const char *if_match, unsigned number, bool refresh,
		       bool *refreshable, struct http_xfer *x, struct verror *e)
{
	struct http_attempt a = { .method = req->method,
				  .url = req->url,
				  .number = number,
				  .refresh = refresh,
				  .x = x };
	bool body = strcmp(req->method, "GET") && strcmp(req->method, "HEAD");
	int r;

	http_xfer_clear_headers(x);
	x->easy = c;
	curl_easy_reset(c);
	set_client_options(h, c,
			   req->timeout_ms ? req->timeout_ms : h->timeout_ms);
	set_tls_options(h, c);
	set_client_cert(c, &h->cert, &h->key);
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	/* a server that rejected the credential may close the connection
	 * (HTTP/2 GOAWAY); the attempt with a fresh one must not race it */
	if (refresh)
		curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
	set_method(c, req);

	r = add_request_headers(x, req, range_from, range_len, if_match);
	if (r < 0)
		return verror_set(e, r, "%s%s%s %s: bad request headers",
				  h->name, *h->name ? ": " : "", req->method,
				  req->what);
	if (req->sign) {
		r = req->sign(req->sign_ctx, &a, e);
		if (r < 0)
			return r;
	}
	if (refreshable)
		*refreshable = a.refreshable;
	r = build_slist(x, body);
	if (r < 0)
		return verror_set(e, r, "out of memory");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->hdrs);
	return 0;
}
