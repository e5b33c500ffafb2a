/* http/client: the client (share handle, pool of easy handles, the bound
 * on requests at once, waiting between attempts) and http_do(). One
 * attempt is set up by attempt.c. See http.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/macro.h"
#include "http/http_i.h"

#define HTTP_CONNECT_TIMEOUT_MS 10000L

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
	h->http1 = cfg->http1;
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

const char *http_name(const struct http *h)
{
	return h->name;
}

int http_new(const struct http_config *cfg, struct http **out, struct verror *e)
{
	struct http *h;
	unsigned i;
	int r;

	/* the first client loads libcurl (curl_dl.h) */
	r = http_curl_load(e);
	if (r < 0)
		return r;
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
void http_backoff(const struct http_retry *p, unsigned failed,
		  const struct http_response *r)
{
	uint32_t rnd = 0;
	int64_t ra = -1;

	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (uint32_t)time(NULL) * 2654435761u;
	if (r && r->retry_after[0])
		ra = http_retry_after_ms(r->retry_after, (int64_t)time(NULL));
	clock_sleep_ms(http_backoff_ms(p, failed, ra, rnd));
}

/* --- http_do ----------------------------------------------------------- */

/* The final answer of http_do: the error body of a non-2xx answer goes
 * to the caller (at most HTTP_ERRBODY_MAX), whose body cap allowing. */
static void hand_out(struct http_xfer *x, struct sbuf *body, size_t start,
		     unsigned attempts, struct http_response *resp)
{
	if (!(x->resp.status >= 200 && x->resp.status < 300) && body) {
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
		r = http_attempt_setup(h, c, req, req->range_from,
				       req->range_len, NULL, attempt, refreshed,
				       &refreshable, &x, e);
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
