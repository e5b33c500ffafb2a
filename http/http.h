/* http: the one HTTP client layer, on libcurl. vault/ (S3, Azure Blob) and
 * kube/ (the API server) send their requests through it; credential
 * providers (STS, Azure AD, IMDS token endpoints) and repository blob
 * range reads are meant to as well.
 *
 * What it does:
 * - A client (struct http) per remote: a curl share handle (DNS and TLS
 *   sessions, connections too when asked) and a pool of easy handles, so
 *   connections are reused while a handle is never used by two threads at
 *   once (libcurl-thread(3)); optionally a bound on requests at once.
 * - TLS: a CA file, directory or in-memory PEM, a client certificate and
 *   key (per client, or per attempt from the sign callback), or no
 *   verification at all (tests).
 * - The retry policy as parameters (struct http_retry): which answers and
 *   transport errors are worth another attempt, exponential backoff with
 *   jitter, Retry-After.
 * - Whole bodies (http_do: into a capped sbuf) and pulled streams
 *   (http_stream_*) that resume a broken download with a Range request
 *   from the byte they reached, If-Match the first answer's ETag.
 * - Error text for humans (struct verror) naming the client, the method
 *   and what the caller calls the target, never the URL (query strings
 *   may carry SAS tokens) unless the caller passes it as "what", and
 *   never a header.
 *
 * What it does not do: sign or authenticate (the request's sign callback
 * adds its headers to every attempt, because signatures carry a date),
 * follow redirects, parse bodies, log above debug level.
 *
 * Thread-safety: a struct http may be used from several threads at once;
 * a struct http_stream belongs to one thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "common/sbuf.h"

struct http;
struct http_stream;
struct http_response;

/* How hard to try. Zeros take the defaults. Another attempt is made for:
 * - any method: a connection refused or a name not resolved (nothing was
 *   sent), 429, and 503 with Retry-After;
 * - idempotent methods (GET HEAD PUT DELETE OPTIONS) also: a broken
 *   transfer (send/receive errors, an empty or short answer, HTTP/2
 *   stream errors), 408 and every 5xx but 501; with timeouts set, a
 *   transfer that timed out and a failed TLS handshake too.
 * Never for a TLS verification failure or any other 4xx answer. */
struct http_retry {
	unsigned attempts;	     /* in all, the first included; 0: 5 */
	unsigned backoff_ms;	     /* the first wait before jitter; 0: 100 */
	unsigned backoff_max_ms;     /* 0: 5000 */
	unsigned retry_after_max_ms; /* longer Retry-After waits are cut to
				      * it; 0: backoff_max_ms */
	bool timeouts;		     /* retry timed-out transfers and failed TLS
				      * handshakes too (for a low-speed limit rather
				      * than a whole-request timeout) */
};

/* TLS. All borrowed by http_new(), which copies what it keeps. */
struct http_tls {
	const char *ca_file; /* PEM bundle; NULL: the system's store */
	const char *ca_dir;  /* a hashed certificate directory */
	const void *ca_pem;  /* PEM in memory, instead of the system's store */
	size_t ca_pem_len;
	const void *cert_pem; /* a client certificate for every request */
	size_t cert_pem_len;
	const void *key_pem;
	size_t key_pem_len;
	bool insecure; /* no verification at all (tests only) */
};

struct http_config {
	const char *name;	/* messages start with "name: "; NULL: none */
	const char *peer;	/* "cannot connect to PEER"; NULL: "the
				 * server" */
	const char *tls_hint;	/* appended to "certificate is not trusted"
				 * messages; NULL: none */
	const char *proxy_name; /* "cannot connect to PEER through
				 * PROXY_NAME" when proxy is set; NULL:
				 * "the proxy" */
	/* Words for an error answer, from its headers and body (up to 64
	 * KiB), e.g. "(NoSuchKey: The specified key does not exist.)",
	 * for the messages of streams; NULL: none. */
	void (*describe)(const struct http_response *resp, const char *body,
			 size_t len, char *out, size_t size);
	struct http_tls tls;
	struct http_retry retry;   /* of requests that bring none */
	const char *proxy;	   /* NULL: libcurl's environment rules */
	const char *connect_to;	   /* CURLOPT_CONNECT_TO "H:P:H2:P2"; NULL */
	long timeout_ms;	   /* a whole attempt; 0: no limit */
	long connect_timeout_ms;   /* 0: 10 s (at most timeout_ms) */
	unsigned low_speed_time_s; /* below 1 byte/s that long fails; 0: off */
	unsigned max_parallel;	   /* requests at once (http_do); 0: any */
	bool share_connections;	   /* the connection cache in the share
				    * handle, not per easy handle */
	bool compressed;	   /* Accept-Encoding: what libcurl decodes */
	bool http1;		   /* HTTP/1.1 only, never HTTP/2: one
				    * request per connection at a time (each
				    * pooled handle keeps its own); what
				    * kube-apiserver serves for less CPU */
};

/* One attempt, as the sign callback sees it. The callback adds header
 * lines (and client credentials) for this attempt only. */
struct http_attempt {
	const char *method;
	const char *url;
	unsigned number;     /* 1 for the first attempt */
	bool refresh;	     /* a 401 asked for a fresh credential */
	bool refreshable;    /* set by the callback: a 401 may be cured by
			      * fetching the credential again (once) */
	struct http_xfer *x; /* private */
};

/* Adds the header line "Name: value" (copied; wiped after the attempt).
 * -ENOMEM, -E2BIG beyond 32 lines, -EINVAL for a line break in it. */
int http_attempt_header(struct http_attempt *a, const char *line);
/* The header lines of this attempt so far (Range, If-Match and the
 * request's own, then what the callback added): *lines is borrowed until
 * the next change. Returns how many. For signatures over headers. */
size_t http_attempt_headers(const struct http_attempt *a,
			    const char *const **lines);
/* A client certificate and key (PEM) for this attempt; copied at once.
 * -ENOTSUP when libcurl cannot take them from memory. */
int http_attempt_client_cert(struct http_attempt *a, const void *cert,
			     size_t cert_len, const void *key, size_t key_len,
			     struct verror *e);
/* HTTP basic authentication for this attempt; copied at once. */
void http_attempt_basic_auth(struct http_attempt *a, const char *user,
			     const char *password);

/* Signs or authenticates one attempt (a fresh date each time). Returns 0
 * or -errno with e set; the request then fails with it. */
typedef int (*http_sign_fn)(void *ctx, struct http_attempt *a,
			    struct verror *e);

struct http_request {
	const char *method; /* "GET", "HEAD", "POST", ... */
	const char *url;    /* complete and encoded; never printed */
	const char *what;   /* for messages: a key, a resource, or the URL
			     * when it holds no secret */
	const char *const *headers; /* "Name: value" lines; NULL-ended */
	const void *body;	    /* sent as is (POST, PUT, PATCH) */
	size_t body_len;
	uint64_t range_from;	  /* > 0: bytes from there on */
	uint64_t range_len;	  /* > 0: that many at most (streams only) */
	const char *range_header; /* NULL: "Range"; Azure: "x-ms-range" */
	long timeout_ms;	  /* 0: the client's */
	const struct http_retry *retry; /* NULL: the client's */
	http_sign_fn sign;		/* NULL: none */
	void *sign_ctx;
};

/* The headers of interest of the final answer; values are cut to the
 * sizes below (nothing longer is a value anyone needs). */
struct http_response {
	long status;	     /* 0 before a status line arrived */
	int64_t length;	     /* Content-Length, -1 if absent */
	int64_t range_start; /* Content-Range "bytes START-END/TOTAL", -1 */
	int64_t range_total; /* -1 if absent or '*' */
	char etag[128];	     /* as sent (with quotes) */
	char last_modified[64];
	char content_type[128];
	char error_code[64]; /* x-ms-error-code */
	char retry_after[32];
	bool headers_done; /* the final (non-1xx) header block ended */
	unsigned attempts; /* how many attempts it took (for messages) */
};

/* The client; cfg is copied. *out set on success only; free with
 * http_free(), which accepts NULL and returns NULL. */
int http_new(const struct http_config *cfg, struct http **out,
	     struct verror *e);
struct http *http_free(struct http *h);
/* The name given to http_new() ("" when none). Borrowed. */
const char *http_name(const struct http *h);

/* Performs req with retries and stores the final answer in *resp and its
 * body in body (appended; NULL: dropped). A 2xx body over body->max fails
 * with -EFBIG; other answers keep their first 64 KiB (error text). A
 * range is asked for, not enforced (see the status: 206 or 200). Returns
 * 0 with any final HTTP status, the last one after retries (the caller
 * decides what 404 means: see http_status_error()), or -errno when no
 * answer came (e says why: http_transfer_error()). */
int http_do(struct http *h, const struct http_request *req, struct sbuf *body,
	    struct http_response *resp, struct verror *e);

/* A streaming GET: the caller pulls the body with http_stream_read(); the
 * download advances only inside that call (curl multi, paused while the
 * caller's buffer is full). Opening waits for the response headers, so a
 * 404 or 403 is reported here (http_status_error(), verb "GET"); *resp
 * receives them (NULL ok). A transfer that breaks later is resumed with a
 * Range request from the byte reached (If-Match the first ETag) within
 * the same attempt budget; a short body is never returned as complete.
 * A range (range_from, range_len) is honoured even by a server that
 * ignores Range. method, url and what are copied; headers and sign_ctx
 * are borrowed until http_stream_free().
 * *out set on success only; caller frees with http_stream_free(). */
int http_stream_open(struct http *h, const struct http_request *req,
		     struct http_response *resp, struct http_stream **out,
		     struct verror *e);
/* Up to len bytes; 0 at the verified end, -EIO when the download failed
 * for good, -ESTALE if the object changed between attempts. */
ssize_t http_stream_read(struct http_stream *s, void *buf, size_t len,
			 struct verror *e);
/* Accepts NULL; returns NULL. */
struct http_stream *http_stream_free(struct http_stream *s);

/* --- the pure parts, for the layer's callers and its unit tests ------- */

/* Whether an attempt of method that ended with curl's code curl_code
 * (0: an answer came) and HTTP status deserves another one, under p
 * (NULL: defaults). retry_after: the answer carried Retry-After. The
 * attempt budget is the caller's. */
bool http_retryable(const struct http_retry *p, const char *method,
		    int curl_code, long status, bool retry_after);
/* A Retry-After value (delta seconds or an HTTP date, taken against
 * now_s) in milliseconds; -1 when absent or unreadable. Never negative
 * otherwise (a date in the past is 0). */
int64_t http_retry_after_ms(const char *value, int64_t now_s);
/* The wait before attempt failed+1 (failed >= 1): w = backoff_ms *
 * 2^(failed-1) capped at backoff_max_ms, then a random point of
 * [w/2, w] picked by rnd; a Retry-After (ms, -1: none) makes it at least
 * that, up to retry_after_max_ms. */
unsigned http_backoff_ms(const struct http_retry *p, unsigned failed,
			 int64_t retry_after_ms, uint32_t rnd);

/* An HTTP date (Last-Modified, Retry-After: "Sun, 06 Nov 1994 08:49:37
 * GMT" and the obsolete RFC 850 and asctime forms) in seconds since the
 * epoch; -1 when unreadable. */
int64_t http_parse_date(const char *s);
/* The reason phrase of an HTTP status ("Not Found"); "" if unknown. */
const char *http_reason(long status);
/* An answer's status as -errno: 401/403 -EACCES, 404 -ENOENT, 412
 * -ESTALE, 416 -ERANGE, any other non-2xx -EIO; 2xx 0. */
int http_status_errno(long status);
/* Sets e to "NAME: VERB WHAT: HTTP 404 Not Found DETAIL (N attempts)"
 * (NAME as given to http_new(), DETAIL the caller's reading of the body,
 * NULL ok; the attempts only when more than one) and returns
 * http_status_errno(), -EIO for a 2xx. h may be NULL (no NAME). */
int http_status_error(const struct http *h, const char *verb, const char *what,
		      const struct http_response *resp, const char *detail,
		      struct verror *e);
/* Sets e for a transfer that got no answer: "NAME: METHOD WHAT: REASON:
 * CURL'S WORDS (N attempts)" and returns the failure as -errno:
 * -ECONNREFUSED (cannot connect to the peer, or the proxy), -EHOSTUNREACH
 * (a name not resolved), -ETIMEDOUT, -EACCES (the peer's certificate is
 * not trusted: the client's tls_hint follows), -EPROTO (a TLS handshake
 * failed), -EINVAL (the client certificate or key is unusable), -EFBIG
 * (an answer over the cap; cap is then named), -EIO for the rest. words
 * may be NULL or "" (curl's text for the code is used). */
int http_transfer_error(const struct http *h, const char *method,
			const char *what, int curl_code, const char *words,
			unsigned attempts, size_t cap, struct verror *e);
