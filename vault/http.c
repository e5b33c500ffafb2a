/* vault/http: see http_i.h. */
#include "vault/http_i.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "common/log.h"
#include "common/macro.h"
#include "vault/remote_i.h"

#define HTTP_ERRBODY_MAX ((size_t)64 << 10) /* error bodies kept */
#define HTTP_SPILL_MAX ((size_t)1 << 20)
#define HTTP_BUFFER_SIZE (128L << 10)
#define HTTP_BACKOFF_CAP_MS 5000u

struct http {
	char *vault_id;
	char *ca_file;
	bool insecure;
	unsigned attempts, connect_timeout_s, low_speed_time_s, backoff_ms;
	CURLSH *share;
	pthread_mutex_t locks[CURL_LOCK_DATA_LAST]; /* curl's share locks */
	pthread_mutex_t slot_lock;
	pthread_cond_t slot_cond;
	unsigned active; /* protected by slot_lock */
	unsigned max_parallel;
};

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
		pthread_mutex_lock(&h->locks[data]);
}

static void share_unlock(CURL *c, curl_lock_data data, void *userptr)
{
	struct http *h = userptr;

	(void)c;
	if ((unsigned)data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&h->locks[data]);
}

int http_new(const struct http_config *cfg, struct http **out, struct verror *e)
{
	struct http *h;
	unsigned i;

	pthread_once(&http_once, http_global_init);
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&h->locks[i], NULL);
	pthread_mutex_init(&h->slot_lock, NULL);
	pthread_cond_init(&h->slot_cond, NULL);
	h->vault_id = strdup(cfg->vault_id ? cfg->vault_id : "vault");
	h->ca_file = cfg->ca_file ? strdup(cfg->ca_file) : NULL;
	h->insecure = cfg->insecure;
	h->attempts = cfg->attempts ? cfg->attempts : 5;
	h->connect_timeout_s = cfg->connect_timeout_s ? cfg->connect_timeout_s :
							10;
	h->low_speed_time_s = cfg->low_speed_time_s ? cfg->low_speed_time_s :
						      30;
	h->backoff_ms = cfg->backoff_ms ? cfg->backoff_ms : 100;
	h->max_parallel = cfg->max_parallel ? cfg->max_parallel : 16;
	h->share = curl_share_init();
	if (!h->vault_id || (cfg->ca_file && !h->ca_file) || !h->share) {
		http_free(h);
		return verror_set(e, -ENOMEM, "out of memory");
	}
	curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(h->share, CURLSHOPT_USERDATA, h);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(h->share, CURLSHOPT_SHARE,
			  CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	*out = h;
	return 0;
}

struct http *http_free(struct http *h)
{
	unsigned i;

	if (!h)
		return NULL;
	if (h->share)
		curl_share_cleanup(h->share);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&h->locks[i]);
	pthread_mutex_destroy(&h->slot_lock);
	pthread_cond_destroy(&h->slot_cond);
	free(h->vault_id);
	free(h->ca_file);
	free(h);
	return NULL;
}

const char *http_vault_id(const struct http *h)
{
	return h->vault_id;
}

/* --- one transfer ------------------------------------------------------ */

/* What the callbacks of one attempt fill. For http_do, body receives a
 * 2xx body (capped: toobig) and errbody an error body; streams deliver
 * into dst, then spill. */
struct xfer {
	struct http_response resp;
	struct sbuf *body;
	struct sbuf errbody;
	bool toobig;
	/* streams only */
	bool streaming;
	char *dst;
	size_t dst_len, dst_got;
	struct sbuf spill;
	bool paused;
	uint64_t skip;	   /* bytes to drop (a 200 answering a Range) */
	uint64_t received; /* body bytes accepted in this attempt */
	char errbuf[CURL_ERROR_SIZE];
};

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

static size_t header_cb(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	struct http_response *r = &x->resp;
	size_t n = size * nmemb;
	const char *colon;
	char val[160];

	if (n >= 5 && !memcmp(p, "HTTP/", 5)) {
		const char *sp = memchr(p, ' ', n);

		*r = (struct http_response){ .length = -1,
					     .range_total = -1,
					     .range_start = -1 };
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
	copy_value(val, sizeof(val), colon + 1, n - (size_t)(colon + 1 - p));
#define IS(name)                                \
	((size_t)(colon - p) == strlen(name) && \
	 !strncasecmp(p, name, strlen(name)))
	if (IS("etag"))
		copy_value(r->etag, sizeof(r->etag), val, strlen(val));
	else if (IS("content-length"))
		r->length = parse_i64(val);
	else if (IS("last-modified"))
		copy_value(r->last_modified, sizeof(r->last_modified), val,
			   strlen(val));
	else if (IS("x-ms-error-code"))
		copy_value(r->error_code, sizeof(r->error_code), val,
			   strlen(val));
	else if (IS("retry-after"))
		copy_value(r->retry_after, sizeof(r->retry_after), val,
			   strlen(val));
	else if (IS("content-range")) {
		/* bytes START-END/TOTAL */
		const char *s = val;

		if (!strncmp(s, "bytes ", 6)) {
			const char *slash = strchr(s, '/');

			r->range_start = parse_i64(s + 6);
			if (slash)
				r->range_total = parse_i64(slash + 1);
		}
	}
#undef IS
	return n;
}

static bool status_ok(long status)
{
	return status >= 200 && status < 300;
}

static size_t write_cb(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	size_t n = size * nmemb, all = n, room, k;

	if (!status_ok(x->resp.status)) {
		/* keep the start of an error body, drop the rest */
		room = HTTP_ERRBODY_MAX - x->errbody.len;
		if (room)
			(void)sbuf_add(&x->errbody, p, MIN(n, room));
		return n;
	}
	if (!x->streaming) {
		if (sbuf_add(x->body, p, n) < 0) {
			x->toobig = true;
			return 0;
		}
		return n;
	}
	if (x->skip) {
		k = (size_t)MIN((uint64_t)n, x->skip);
		x->skip -= k;
		p += k;
		n -= k;
		if (!n)
			return all;
	}
	room = x->dst ? x->dst_len - x->dst_got : 0;
	if (room == 0) {
		x->paused = true;
		return CURL_WRITEFUNC_PAUSE;
	}
	k = MIN(n, room);
	memcpy(x->dst + x->dst_got, p, k);
	x->dst_got += k;
	if (k < n && sbuf_add(&x->spill, p + k, n - k) < 0)
		return 0; /* cannot happen with curl's write sizes */
	x->received += n;
	return all;
}

static CURL *easy_new(struct http *h, const char *method, const char *url,
		      struct curl_slist *hdrs, struct xfer *x)
{
	CURL *c = curl_easy_init();

	if (!c)
		return NULL;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_SHARE, h->share);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)h->connect_timeout_s);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)h->low_speed_time_s);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_BUFFERSIZE, HTTP_BUFFER_SIZE);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, h->insecure ? 0L : 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, h->insecure ? 0L : 2L);
	if (h->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "velerofs/" VELEROFS_VERSION);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	return c;
}

static bool retry_status(long status)
{
	return status == 408 || status == 429 || status == 500 ||
	       status == 502 || status == 503 || status == 504;
}

static bool retry_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		return true;
	default:
		return false;
	}
}

/* Exponential backoff with jitter before attempt n+1 (n >= 1): a random
 * wait in [w/2, w] with w = base * 2^(n-1), capped; a Retry-After of the
 * answer is honoured up to the cap. */
static void backoff(struct http *h, unsigned n, const struct http_response *r)
{
	uint64_t w = (uint64_t)h->backoff_ms << MIN(n - 1, 16u);
	unsigned rnd = 0;
	struct timespec ts;

	if (w > HTTP_BACKOFF_CAP_MS)
		w = HTTP_BACKOFF_CAP_MS;
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (unsigned)time(NULL) * 2654435761u;
	w = w / 2 + rnd % (w / 2 + 1);
	if (r && r->retry_after[0]) {
		int64_t ra = parse_i64(r->retry_after);

		if (ra > 0 && (uint64_t)ra * 1000 <= HTTP_BACKOFF_CAP_MS &&
		    (uint64_t)ra * 1000 > w)
			w = (uint64_t)ra * 1000;
	}
	ts.tv_sec = (time_t)(w / 1000);
	ts.tv_nsec = (long)(w % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static const char *status_text(long s)
{
	switch (s) {
	case 400:
		return " Bad Request";
	case 401:
		return " Unauthorized";
	case 403:
		return " Forbidden";
	case 404:
		return " Not Found";
	case 408:
		return " Request Timeout";
	case 409:
		return " Conflict";
	case 412:
		return " Precondition Failed";
	case 416:
		return " Range Not Satisfiable";
	case 429:
		return " Too Many Requests";
	case 500:
		return " Internal Server Error";
	case 502:
		return " Bad Gateway";
	case 503:
		return " Service Unavailable";
	case 504:
		return " Gateway Timeout";
	default:
		return "";
	}
}

int http_status_error(struct http *h, const char *method, const char *what,
		      const struct http_response *resp, const char *body,
		      size_t body_len, struct verror *e)
{
	char code[64], msg[200], detail[300] = "";
	long s = resp->status;
	int err;

	remote_xml_error(body, body_len, code, sizeof(code), msg, sizeof(msg));
	if (!code[0] && resp->error_code[0])
		snprintf(code, sizeof(code), "%s", resp->error_code);
	if (code[0] && msg[0])
		snprintf(detail, sizeof(detail), " (%s: %s)", code, msg);
	else if (code[0])
		snprintf(detail, sizeof(detail), " (%s)", code);
	if (s == 401 || s == 403)
		err = -EACCES;
	else if (s == 404)
		err = -ENOENT;
	else if (s == 412)
		err = -ESTALE;
	else if (s == 416)
		err = -ERANGE;
	else
		err = -EIO;
	return verror_set(e, err, "%s: %s %s: HTTP %ld%s%s", h->vault_id,
			  method, what, s, status_text(s), detail);
}

static int transfer_error(struct http *h, const char *method, const char *what,
			  CURLcode rc, const char *errbuf, unsigned attempts,
			  struct verror *e)
{
	int err = rc == CURLE_PEER_FAILED_VERIFICATION ||
				  rc == CURLE_SSL_CACERT_BADFILE ?
			  -EACCES :
			  -EIO;

	return verror_set(e, err, "%s: %s %s: %s (%u attempt%s)", h->vault_id,
			  method, what,
			  errbuf[0] ? errbuf : curl_easy_strerror(rc), attempts,
			  attempts == 1 ? "" : "s");
}

static void slot_take(struct http *h)
{
	pthread_mutex_lock(&h->slot_lock);
	while (h->active >= h->max_parallel)
		pthread_cond_wait(&h->slot_cond, &h->slot_lock);
	h->active++;
	pthread_mutex_unlock(&h->slot_lock);
}

static void slot_give(struct http *h)
{
	pthread_mutex_lock(&h->slot_lock);
	h->active--;
	pthread_cond_signal(&h->slot_cond);
	pthread_mutex_unlock(&h->slot_lock);
}

int http_do(struct http *h, const struct http_request *req, struct sbuf *body,
	    struct http_response *resp, struct verror *e)
{
	size_t start = body->len;
	unsigned attempt;
	struct xfer x;
	int r = 0;

	for (attempt = 1;; attempt++) {
		struct curl_slist *hdrs = NULL;
		CURLcode rc;
		CURL *c;

		x = (struct xfer){ .body = body };
		x.resp = (struct http_response){ .length = -1,
						 .range_total = -1,
						 .range_start = -1 };
		sbuf_init(&x.errbody, HTTP_ERRBODY_MAX + 1);
		body->len = start;
		r = req->prepare(req->ctx, req->method, req->url, 0, NULL,
				 &hdrs, e);
		if (r < 0) {
			curl_slist_free_all(hdrs);
			break;
		}
		c = easy_new(h, req->method, req->url, hdrs, &x);
		if (!c) {
			curl_slist_free_all(hdrs);
			r = -ENOMEM;
			break;
		}
		slot_take(h);
		rc = curl_easy_perform(c);
		slot_give(h);
		curl_easy_cleanup(c);
		curl_slist_free_all(hdrs);
		if (x.toobig) {
			r = verror_set(e, -E2BIG,
				       "%s: %s %s: answer larger than %zu "
				       "bytes",
				       h->vault_id, req->method, req->what,
				       body->max);
			break;
		}
		if (rc == CURLE_OK && !retry_status(x.resp.status)) {
			if (!status_ok(x.resp.status)) {
				/* the caller reads the error body */
				body->len = start;
				r = sbuf_add(body, sbuf_str(&x.errbody),
					     x.errbody.len);
				if (r == -E2BIG)
					r = 0;
			}
			*resp = x.resp;
			break;
		}
		if (attempt < h->attempts &&
		    (rc == CURLE_OK || retry_curl(rc))) {
			log_debug("%s: %s %s: %s, retrying", h->vault_id,
				  req->method, req->what,
				  rc == CURLE_OK ? "server busy" :
						   curl_easy_strerror(rc));
			sbuf_release(&x.errbody);
			backoff(h, attempt, &x.resp);
			continue;
		}
		if (rc == CURLE_OK) {
			r = http_status_error(h, req->method, req->what,
					      &x.resp, sbuf_str(&x.errbody),
					      x.errbody.len, e);
			if (e) {
				size_t n = strlen(e->msg);

				snprintf(e->msg + n, sizeof(e->msg) - n,
					 " (%u attempts)", attempt);
			}
		} else {
			r = transfer_error(h, req->method, req->what, rc,
					   x.errbuf, attempt, e);
		}
		break;
	}
	sbuf_release(&x.errbody);
	if (r < 0)
		body->len = start;
	if (body->buf)
		body->buf[body->len] = '\0';
	return r;
}

/* --- streams ----------------------------------------------------------- */

struct http_stream {
	struct http *h;
	char *url, *what;
	http_prepare_fn prepare;
	void *ctx;
	CURLM *multi;
	CURL *easy;
	struct curl_slist *hdrs;
	struct xfer x;
	bool running; /* easy is in multi and not done */
	CURLcode result;
	char etag[128];	   /* of the first answer, for If-Match */
	int64_t total;	   /* the object's size, -1 if unknown */
	uint64_t offset;   /* body bytes accepted so far (all attempts) */
	unsigned failures; /* attempts without progress, in a row */
	unsigned resumes;  /* all attempts after the first: capped too */
	int failed;	   /* sticky -errno */
	char failmsg[sizeof(((struct verror *)0)->msg)];
};

static void stream_stop(struct http_stream *s)
{
	if (s->easy) {
		curl_multi_remove_handle(s->multi, s->easy);
		curl_easy_cleanup(s->easy);
		s->easy = NULL;
	}
	curl_slist_free_all(s->hdrs);
	s->hdrs = NULL;
	s->running = false;
}

static int stream_fail(struct http_stream *s, int r, struct verror *e)
{
	stream_stop(s);
	s->failed = r;
	if (e)
		snprintf(s->failmsg, sizeof(s->failmsg), "%s", e->msg);
	return r;
}

/* Runs the transfer until done or, with want_headers, until the final
 * headers arrived; or, with a destination, until it holds something. */
static int stream_pump(struct http_stream *s, bool want_headers)
{
	for (;;) {
		size_t before = s->x.dst_got;
		int still, msgs;
		CURLMsg *m;
		CURLMcode mc;

		if (s->x.paused && s->x.dst && s->x.dst_got < s->x.dst_len) {
			s->x.paused = false;
			curl_easy_pause(s->easy, CURLPAUSE_CONT);
		}
		mc = curl_multi_perform(s->multi, &still);
		if (mc != CURLM_OK)
			return -EIO;
		while ((m = curl_multi_info_read(s->multi, &msgs)))
			if (m->msg == CURLMSG_DONE &&
			    m->easy_handle == s->easy) {
				s->running = false;
				s->result = m->data.result;
			}
		if (!s->running)
			return 0;
		if (want_headers && s->x.resp.headers_done)
			return 0;
		if (!want_headers && s->x.dst &&
		    (s->x.dst_got == s->x.dst_len ||
		     (s->x.dst_got > 0 && s->x.dst_got == before)))
			return 0;
		if (s->x.dst_got == before &&
		    curl_multi_poll(s->multi, NULL, 0, 1000, NULL) != CURLM_OK)
			return -EIO;
	}
}

/* Starts one attempt from s->offset and waits for its headers. Returns 0
 * when a 2xx answer is streaming, 1 when the attempt failed in a way worth
 * retrying, or -errno (e set) for a final failure. */
static int stream_attempt(struct http_stream *s, struct verror *e)
{
	struct http_response *r = &s->x.resp;
	int ret;

	stream_stop(s);
	sbuf_reset(&s->x.errbody);
	sbuf_reset(&s->x.spill);
	s->x.paused = false;
	s->x.skip = 0;
	s->x.received = 0;
	s->x.errbuf[0] = '\0';
	*r = (struct http_response){ .length = -1,
				     .range_total = -1,
				     .range_start = -1 };
	ret = s->prepare(s->ctx, "GET", s->url, s->offset,
			 s->offset && s->etag[0] ? s->etag : NULL, &s->hdrs, e);
	if (ret < 0)
		return ret;
	s->easy = easy_new(s->h, "GET", s->url, s->hdrs, &s->x);
	if (!s->easy)
		return -ENOMEM;
	if (curl_multi_add_handle(s->multi, s->easy) != CURLM_OK)
		return -ENOMEM;
	s->running = true;
	s->result = CURLE_OK;
	ret = stream_pump(s, true);
	if (ret < 0)
		return verror_set(e, ret, "%s: GET %s: curl multi failed",
				  s->h->vault_id, s->what);
	if (!r->headers_done || (!s->running && s->result != CURLE_OK)) {
		if (!s->running && retry_curl(s->result))
			return 1;
		if (s->running)
			return 1;
		return transfer_error(s->h, "GET", s->what, s->result,
				      s->x.errbuf, s->failures + 1, e);
	}
	if (retry_status(r->status))
		return 1;
	if (!status_ok(r->status)) {
		/* collect the error body for the message */
		s->x.dst = NULL;
		s->x.dst_len = s->x.dst_got = 0;
		while (s->running && stream_pump(s, false) == 0)
			;
		return http_status_error(s->h, "GET", s->what, r,
					 sbuf_str(&s->x.errbody),
					 s->x.errbody.len, e);
	}
	if (s->offset == 0) {
		snprintf(s->etag, sizeof(s->etag), "%s", r->etag);
		s->total = r->status == 206 ? r->range_total : r->length;
		return 0;
	}
	/* a resumed attempt: the same object, from where we were */
	if (s->etag[0] && r->etag[0] && strcmp(s->etag, r->etag) != 0)
		return verror_set(e, -ESTALE, "%s: %s changed while being read",
				  s->h->vault_id, s->what);
	if (r->status == 206) {
		if (r->range_start != (int64_t)s->offset ||
		    (s->total >= 0 && r->range_total != s->total))
			return verror_set(e, -EIO,
					  "%s: GET %s: the server answered "
					  "another range than asked",
					  s->h->vault_id, s->what);
	} else {
		s->x.skip = s->offset; /* it ignored Range: skip ahead */
	}
	return 0;
}

/* Attempts until one streams, with backoff between them; s->failures
 * counts attempts that made no progress. */
static int stream_start(struct http_stream *s, struct verror *e)
{
	for (;;) {
		int r = stream_attempt(s, e);

		if (r <= 0)
			return r;
		s->failures++;
		if (s->failures >= s->h->attempts) {
			if (s->x.resp.status && retry_status(s->x.resp.status))
				r = http_status_error(s->h, "GET", s->what,
						      &s->x.resp,
						      sbuf_str(&s->x.errbody),
						      s->x.errbody.len, e);
			else
				r = transfer_error(s->h, "GET", s->what,
						   s->result ? s->result :
							       CURLE_RECV_ERROR,
						   s->x.errbuf, s->failures, e);
			return r;
		}
		log_debug("%s: GET %s from byte %llu failed, retrying",
			  s->h->vault_id, s->what,
			  (unsigned long long)s->offset);
		backoff(s->h, s->failures, &s->x.resp);
	}
}

int http_stream_open(struct http *h, const struct http_request *req,
		     struct http_response *resp, struct http_stream **out,
		     struct verror *e)
{
	struct http_stream *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->h = h;
	s->prepare = req->prepare;
	s->ctx = req->ctx;
	s->total = -1;
	sbuf_init(&s->x.errbody, HTTP_ERRBODY_MAX + 1);
	sbuf_init(&s->x.spill, HTTP_SPILL_MAX);
	s->x.streaming = true;
	s->url = strdup(req->url);
	s->what = strdup(req->what);
	s->multi = curl_multi_init();
	if (!s->url || !s->what || !s->multi) {
		http_stream_free(s);
		return -ENOMEM;
	}
	r = stream_start(s, e);
	if (r < 0) {
		http_stream_free(s);
		return r;
	}
	s->failures = 0;
	if (resp)
		*resp = s->x.resp;
	*out = s;
	return 0;
}

ssize_t http_stream_read(struct http_stream *s, void *buf, size_t len,
			 struct verror *e)
{
	size_t got = 0;
	int r;

	if (s->failed) {
		if (e)
			snprintf(e->msg, sizeof(e->msg), "%s", s->failmsg);
		return s->failed;
	}
	/* what a previous call could not take */
	if (s->x.spill.len) {
		got = MIN(len, s->x.spill.len);
		memcpy(buf, s->x.spill.buf, got);
		memmove(s->x.spill.buf, s->x.spill.buf + got,
			s->x.spill.len - got);
		s->x.spill.len -= got;
		s->offset += got;
		if (got == len)
			return (ssize_t)got;
	}
	while (got < len) {
		size_t before = s->x.received;

		if (!s->running) {
			bool complete = s->total >= 0 ?
						s->offset >=
							(uint64_t)s->total :
						s->result == CURLE_OK;

			if (s->total >= 0 && s->offset > (uint64_t)s->total)
				return stream_fail(s,
						   verror_set(e, -EIO,
							      "%s: GET %s: "
							      "more bytes "
							      "than announced",
							      s->h->vault_id,
							      s->what),
						   e);
			if (complete && !s->x.spill.len)
				break;
			if (got > 0)
				break; /* hand out what we have first */
			/* broken or short: resume from s->offset */
			if (s->result == CURLE_OK)
				s->result = CURLE_PARTIAL_FILE;
			s->failures++;
			if (s->failures >= s->h->attempts ||
			    ++s->resumes > 4 * s->h->attempts) {
				r = transfer_error(s->h, "GET", s->what,
						   s->result, s->x.errbuf,
						   s->failures, e);
				if (e) {
					size_t n = strlen(e->msg);

					snprintf(e->msg + n, sizeof(e->msg) - n,
						 " after %llu of %lld bytes",
						 (unsigned long long)s->offset,
						 (long long)s->total);
				}
				return stream_fail(s, r, e);
			}
			log_debug("%s: GET %s broke at byte %llu, resuming",
				  s->h->vault_id, s->what,
				  (unsigned long long)s->offset);
			backoff(s->h, s->failures, NULL);
			r = stream_start(s, e);
			if (r < 0)
				return stream_fail(s, r, e);
			continue;
		}
		s->x.dst = (char *)buf + got;
		s->x.dst_len = len - got;
		s->x.dst_got = 0;
		r = stream_pump(s, false);
		s->x.dst = NULL;
		got += s->x.dst_got;
		s->offset += s->x.dst_got;
		if (r < 0)
			return stream_fail(s,
					   verror_set(e, -EIO,
						      "%s: GET %s: curl failed",
						      s->h->vault_id, s->what),
					   e);
		if (s->x.received > before)
			s->failures = 0;
		if (got > 0 && s->running)
			break;
	}
	return (ssize_t)got;
}

struct http_stream *http_stream_free(struct http_stream *s)
{
	if (!s)
		return NULL;
	stream_stop(s);
	if (s->multi)
		curl_multi_cleanup(s->multi);
	sbuf_release(&s->x.errbody);
	sbuf_release(&s->x.spill);
	free(s->url);
	free(s->what);
	free(s);
	return NULL;
}
