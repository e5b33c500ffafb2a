/* http_i.h: the insides of http/, shared by client.c (the client and
 * http_do), attempt.c (one attempt: options, headers, callbacks),
 * stream.c (pulled streams) and policy.c (the pure rules). Nothing here
 * is for other modules. */
#pragma once

#include <pthread.h>

#include "http/curl_dl.h"
#include "http/http.h"

#define HTTP_ERRBODY_MAX ((size_t)64 << 10) /* error bodies kept */
#define HTTP_MAX_LINES 32		    /* header lines of an attempt */
#define HTTP_POOL_MAX 16		    /* idle easy handles kept */

struct http {
	char *strings; /* owned: the one allocation the strings below
			* point into */
	char *name, *peer, *tls_hint;
	char *ca_file, *ca_dir, *proxy, *proxy_name; /* NULL: none */
	struct curl_blob ca, cert, key;		     /* copies; len 0: none */
	bool insecure, share_connections, compressed, http1;
	struct curl_slist *connect_to;
	long timeout_ms, connect_timeout_ms;
	unsigned low_speed_time_s;
	struct http_retry retry; /* defaults filled in */
	void (*describe)(const struct http_response *resp, const char *body,
			 size_t len, char *out, size_t size);

	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

	pthread_mutex_t pool_lock;
	CURL *pool[HTTP_POOL_MAX]; /* protected by pool_lock */
	size_t npool;		   /* protected by pool_lock */

	pthread_mutex_t slot_lock;
	pthread_cond_t slot_cond;
	unsigned active; /* protected by slot_lock */
	unsigned max_parallel;
};

/* What one attempt's callbacks fill, and what its sign callback added.
 * For http_do, body receives a 2xx body (capped: toobig) and errbody an
 * error body; streams deliver into dst, then spill. */
struct http_xfer {
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
	uint64_t remain;   /* bytes still wanted; UINT64_MAX: all */
	uint64_t received; /* body bytes accepted in this attempt */
	char errbuf[CURL_ERROR_SIZE];
	/* the attempt's request headers, wiped after it */
	char *lines[HTTP_MAX_LINES];
	size_t nlines;
	struct curl_slist *hdrs;
	CURL *easy; /* of the attempt being set up */
};

/* policy.c */
void http_retry_defaults(const struct http_retry *in, struct http_retry *out);
bool http_idempotent(const char *method);
bool http_nothing_sent(int curl_code);
bool http_broken_transfer(int curl_code);

/* client.c */
CURL *http_handle_get(struct http *h);
/* Returns c to the pool (or frees it). c NULL ok. */
void http_handle_put(struct http *h, CURL *c);
/* Sleeps before attempt failed+1, as http_backoff_ms() says. */
void http_backoff(const struct http_retry *p, unsigned failed,
		  const struct http_response *r);

/* attempt.c */
/* Resets x for a new attempt (keeping body, errbody, spill buffers). */
void http_xfer_reset(struct http_xfer *x);
/* Frees (and wipes) what the last attempt's headers hold. */
void http_xfer_clear_headers(struct http_xfer *x);
/* Builds the headers of one attempt (Range from range_from, If-Match,
 * the request's, the sign callback's) and sets every option of c for
 * it. -errno with e set. */
int http_attempt_setup(struct http *h, CURL *c, const struct http_request *req,
		       uint64_t range_from, uint64_t range_len,
		       const char *if_match, unsigned number, bool refresh,
		       bool *refreshable, struct http_xfer *x,
		       struct verror *e);
