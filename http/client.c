/* http/client: the client (share handle, pool of easy handles, TLS and
 * timeouts), the set-up of one attempt and http_do(). See http.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "common/log.h"
#include "common/macro.h"
#include "http/http_i.h"

#ifndef VELEROFS_VERSION
#define VELEROFS_VERSION "0"
#endif

#define HTTP_BUFFER_SIZE (128L << 10)
#define HTTP_CONNECT_TIMEOUT_MS 10000L

/* curl_global_init() is not thread-safe in 7.88: run it once. */
static pthread_once_t http_once = PTHREAD_ONCE_INIT;

static void http_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void share_lock(CURL *c, curl_lock_data data, curl_lock_access a,
		       void *userptr)
{
	struct http *h = userptr;

	(void)c;
	(void)a;
	if ((unsigned)data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&h->share_locks[data]);
}

static void share_unlock(CURL *c, curl_lock_data data, void *userptr)
{
	struct http *h = userptr;

	(void)c;
	if ((unsigned)data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&h->share_locks[data]);
}

/* Copies the strings of cfg into one allocation, h->strings, so that the
 * client owns them all with one free(). */
static int copy_strings(struct http *h, const struct http_config *cfg)
{
	const char *src[] = {
		cfg->name ? cfg->name : "",
		cfg->peer ? cfg->peer : "the server",
		cfg->tls_hint ? cfg->tls_hint : "",
		cfg->proxy_name ? cfg->proxy_name : "the proxy",
		cfg->tls.ca_file,
		cfg->tls.ca_dir,
		cfg->proxy,
	};
	char **dst[] = { &h->name,    &h->peer,	  &h->tls_hint, &h->proxy_name,
			 &h->ca_file, &h->ca_dir, &h->proxy };
	size_t total = 0, i;
	char *p;

	for (i = 0; i < ARRAY_SIZE(src); i++)
		total += src[i] ? strlen(src[i]) + 1 : 0;
	p = h->strings = malloc(total);
	if (!p)
		return -ENOMEM;
	for (i = 0; i < ARRAY_SIZE(src); i++) {
		*dst[i] = src[i] ? p : NULL;
		if (src[i])
			p = stpcpy(p, src[i]) + 1;
	}
	return 0;
}

static int dup_blob(const void *p, size_t n, struct curl_blob *out)
{
	*out = (struct curl_blob){ .flags = CURL_BLOB_COPY };
	if (!p || !n)
		return 0;
	out->data = malloc(n);
	if (!out->data)
		return -ENOMEM;
	memcpy(out->data, p, n);
	out->len = n;
	return 0;
}

static void free_blob(struct curl_blob *b)
{
	if (b->data)
		explicit_bzero(b->data, b->len);
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

/* Copies what cfg points to into h. */
static int copy_config(struct http *h, const struct http_config *cfg)
{
	const struct http_tls *t = &cfg->tls;

	if (copy_strings(h, cfg) < 0 ||
	    dup_blob(t->ca_pem, t->ca_pem_len, &h->ca) < 0 ||
	    dup_blob(t->cert_pem, t->cert_pem_len, &h->cert) < 0 ||
	    dup_blob(t->key_pem, t->key_pem_len, &h->key) < 0)
		return -ENOMEM;
	if (cfg->connect_to) {
		h->connect_to = curl_slist_append(NULL, cfg->connect_to);
		if (!h->connect_to)
			return -ENOMEM;
	}
	h->insecure = t->insecure;
	h->share_connections = cfg->share_connections;
	h->compressed = cfg->compressed;
	h->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 0;
	h->connect_timeout_ms = cfg->connect_timeout_ms > 0 ?
					cfg->connect_timeout_ms :
					HTTP_CONNECT_TIMEOUT_MS;
	if (h->timeout_ms)
		h->connect_timeout_ms =
			MIN(h->connect_timeout_ms, h->timeout_ms);
	h->low_speed_time_s = cfg->low_speed_time_s;
	h->max_parallel = cfg->max_parallel;
	h->describe = cfg->describe;
	http_retry_defaults(&cfg->retry, &h->retry);
	return 0;
}

int http_new(const struct http_config *cfg, struct http **out, struct verror *e)
{
	struct http *h;
	unsigned i;

	pthread_once(&http_once, http_global_init);
	h = calloc(1, sizeof(*h));
	if (!h)
		return verror_set(e, -ENOMEM, "out of memory");
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&h->share_locks[i], NULL);
	pthread_mutex_init(&h->pool_lock, NULL);
	pthread_mutex_init(&h->slot_lock, NULL);
	pthread_cond_init(&h->slot_cond, NULL);
	h->share = curl_share_init();
	if (copy_config(h, cfg) < 0 || !h->share) {
		http_free(h);
		return verror_set(e, -ENOMEM, "out of memory");
	}
	curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(h->share, CURLSHOPT_USERDATA, h);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(h->share, CURLSHOPT_SHARE,
			  CURL_LOCK_DATA_SSL_SESSION);
	if (h->share_connections)
		curl_share_setopt(h->share, CURLSHOPT_SHARE,
				  CURL_LOCK_DATA_CONNECT);
	*out = h;
	return 0;
}

struct http *http_free(struct http *h)
{
	size_t i;

	if (!h)
		return NULL;
	for (i = 0; i < h->npool; i++)
		curl_easy_cleanup(h->pool[i]);
	if (h->share)
		curl_share_cleanup(h->share);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&h->share_locks[i]);
	pthread_mutex_destroy(&h->pool_lock);
	pthread_mutex_destroy(&h->slot_lock);
	pthread_cond_destroy(&h->slot_cond);
	curl_slist_free_all(h->connect_to);
	free_blob(&h->ca);
	free_blob(&h->cert);
	free_blob(&h->key);
	free(h->strings);
	free(h);
	return NULL;
}

const char *http_name(const struct http *h)
{
	return h->name;
}

const char *http_peer(const struct http *h)
{
	return h->peer;
}

const char *http_tls_hint(const struct http *h)
{
	return h->tls_hint;
}

const char *http_proxy_name(const struct http *h)
{
	return h->proxy ? h->proxy_name : NULL;
}

/* --- the pool and the bound on requests at once ------------------------ */

CURL *http_handle_get(struct http *h)
{
	CURL *c = NULL;

	pthread_mutex_lock(&h->pool_lock);
	if (h->npool)
		c = h->pool[--h->npool];
	pthread_mutex_unlock(&h->pool_lock);
	return c ? c : curl_easy_init();
}

void http_handle_put(struct http *h, CURL *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&h->pool_lock);
	if (h->npool < ARRAY_SIZE(h->pool)) {
		h->pool[h->npool++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&h->pool_lock);
	if (c)
		curl_easy_cleanup(c);
}

static void slot_take(struct http *h)
{
	if (!h->max_parallel)
		return;
	pthread_mutex_lock(&h->slot_lock);
	while (h->active >= h->max_parallel)
		pthread_cond_wait(&h->slot_cond, &h->slot_lock);
	h->active++;
	pthread_mutex_unlock(&h->slot_lock);
}

static void slot_give(struct http *h)
{
	if (!h->max_parallel)
		return;
	pthread_mutex_lock(&h->slot_lock);
	h->active--;
	pthread_cond_signal(&h->slot_cond);
	pthread_mutex_unlock(&h->slot_lock);
}

/* --- waiting ----------------------------------------------------------- */

/* The one sleep of the client (EINTR-safe). */
static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void http_backoff(const struct http_retry *p, unsigned failed,
		  const struct http_response *r)
{
	uint32_t rnd = 0;
	int64_t ra = -1;

	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (uint32_t)time(NULL) * 2654435761u;
	if (r && r->retry_after[0])
		ra = http_retry_after_ms(r->retry_after, (int64_t)time(NULL));
	sleep_ms(http_backoff_ms(p, failed, ra, rnd));
}

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
	if (v->version_num < 0x074700)
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
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
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

/* --- http_do ----------------------------------------------------------- */

/* The final answer of http_do: the error body of a non-2xx answer goes
 * to the caller (at most HTTP_ERRBODY_MAX), whose body cap allowing. */
static void hand_out(struct http_xfer *x, struct sbuf *body, size_t start,
		     unsigned attempts, struct http_response *resp)
{
	if (!status_ok(x->resp.status) && body) {
		body->len = start;
		(void)sbuf_add(body, sbuf_str(&x->errbody), x->errbody.len);
	}
	x->resp.attempts = attempts;
	*resp = x->resp;
}

int http_do(struct http *h, const struct http_request *req, struct sbuf *body,
	    struct http_response *resp, struct verror *e)
{
	const struct http_retry *p = req->retry ? req->retry : &h->retry;
	struct http_retry policy;
	size_t start = body ? body->len : 0;
	bool refreshed = false, refreshable = false;
	struct http_xfer x = { .body = body };
	unsigned attempt;
	CURL *c;
	int r = 0;

	http_retry_defaults(p, &policy);
	c = http_handle_get(h);
	if (!c)
		return verror_set(e, -ENOMEM, "cannot create a curl handle");
	sbuf_init(&x.errbody, HTTP_ERRBODY_MAX + 1);
	sbuf_init(&x.spill, 1);
	for (attempt = 1;; attempt++) {
		CURLcode rc;
		long status;

		http_xfer_reset(&x);
		if (body)
			body->len = start;
		r = http_attempt_setup(h, c, req, req->range_from, 0, NULL,
				       attempt, refreshed, &refreshable, &x, e);
		if (r < 0)
			break;
		slot_take(h);
		rc = curl_easy_perform(c);
		slot_give(h);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
		http_xfer_clear_headers(&x);
		status = x.resp.status;
		if (x.toobig) {
			r = http_transfer_error(h, req->method, req->what,
						CURLE_WRITE_ERROR, NULL, 1,
						body->max, e);
			break;
		}
		/* A server that refuses a request (401, 403, 413, ...) may
		 * answer before reading the body and close the stream; curl
		 * then reports an upload error although the answer is
		 * there. */
		if (rc != CURLE_OK && status >= 400 && http_broken_transfer(rc))
			rc = CURLE_OK;
		if (rc == CURLE_OK && status == 401 && refreshable &&
		    !refreshed) {
			refreshed = true;
			continue;
		}
		if (attempt < policy.attempts &&
		    http_retryable(&policy, req->method, rc, status,
				   x.resp.retry_after[0] != '\0')) {
			log_debug("%s%s%s %s: %s; retrying", h->name,
				  *h->name ? ": " : "", req->method, req->what,
				  rc == CURLE_OK ? http_reason(status) :
				  x.errbuf[0]	 ? x.errbuf :
						   curl_easy_strerror(rc));
			http_backoff(&policy, attempt,
				     rc == CURLE_OK ? &x.resp : NULL);
			continue;
		}
		if (rc != CURLE_OK) {
			r = http_transfer_error(h, req->method, req->what, rc,
						x.errbuf, attempt, 0, e);
			break;
		}
		hand_out(&x, body, start, attempt, resp);
		break;
	}
	http_xfer_clear_headers(&x);
	http_handle_put(h, c);
	sbuf_release(&x.errbody);
	sbuf_release(&x.spill);
	if (r < 0 && body)
		body->len = start;
	if (body && body->buf)
		body->buf[body->len] = '\0';
	return r;
}
