/* vault/http: the one libcurl setup the remote backends share. Private to
 * vault/.
 *
 * A struct http is one client per vault: a curl share handle (connections,
 * DNS, TLS sessions) so that requests from any thread reuse connections,
 * while each request runs on an easy handle of its own (libcurl-thread(3):
 * never one easy handle from two threads). HTTP/2 is used when the server
 * offers it over TLS. Every request is retried with exponential backoff
 * and jitter on connection errors, 408, 429, 5xx (503 SlowDown included),
 * never on other 4xx answers, up to a bounded number of attempts, and a
 * bounded number of requests run at once. When it gives up, the message
 * names the vault, the key and the HTTP status (plus the XML Code/Message
 * of the answer), never a URL: query strings may carry SAS tokens.
 *
 * What it does not do: follow redirects, send bodies, sign. The backend
 * signs each attempt afresh through http_prepare_fn (signatures carry a
 * date) and builds the URL itself.
 *
 * Thread-safety: a struct http may be used from several threads; a
 * struct http_stream belongs to one thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <curl/curl.h>

#include "common/error.h"
#include "common/sbuf.h"

struct http;
struct http_stream;

struct http_config {
	const char *vault_id;	    /* for messages; copied */
	const char *ca_file;	    /* NULL: the system's CA store; copied */
	bool insecure;		    /* no TLS verification (tests only) */
	unsigned attempts;	    /* 0: default (5) */
	unsigned connect_timeout_s; /* 0: default (10) */
	unsigned low_speed_time_s;  /* 0: default (30) below 1 byte/s */
	unsigned backoff_ms;	    /* 0: default (100): first retry wait */
	unsigned max_parallel;	    /* 0: default (16) requests at once */
};

/* One response's interesting headers; header values are truncated to the
 * sizes below (anything longer is not a value we need). */
struct http_response {
	long status;	     /* 0 before a status line arrived */
	int64_t length;	     /* Content-Length, -1 if absent */
	int64_t range_total; /* the "/total" of Content-Range, -1 if absent */
	int64_t range_start; /* the first byte of Content-Range, -1 */
	char etag[128];	     /* as sent (with quotes) */
	char last_modified[64];
	char error_code[64]; /* x-ms-error-code */
	char retry_after[16];
	bool headers_done; /* the final (non-1xx) header block ended */
};

/* Builds the headers of one attempt: the backend signs here (a fresh date
 * per attempt). range_from > 0 asks for the bytes from there on; if_match
 * (NULL or a quoted ETag) must be sent as If-Match. *headers is appended
 * to (the caller frees it with curl_slist_free_all()). */
typedef int (*http_prepare_fn)(void *ctx, const char *method, const char *url,
			       uint64_t range_from, const char *if_match,
			       struct curl_slist **headers, struct verror *e);

struct http_request {
	const char *method; /* "GET" or "HEAD" */
	const char *url;    /* complete, encoded; may hold a SAS: never
			     * printed */
	const char *what;   /* for messages: the key or "listing x/" */
	http_prepare_fn prepare;
	void *ctx;
};

/* The client. *out set on success only; free with http_free(). */
int http_new(const struct http_config *cfg, struct http **out,
	     struct verror *e);
/* Accepts NULL; returns NULL. */
struct http *http_free(struct http *h);

/* Performs req, retrying as described above, and stores the final answer
 * in *resp and its body in body (appended, capped by body->max: a body
 * over the cap fails with -E2BIG). Returns 0 with any final HTTP status
 * (the caller decides what 404 means), -EIO when the transfer itself
 * failed after every attempt, or -EACCES for TLS verification failures;
 * e says why. */
int http_do(struct http *h, const struct http_request *req, struct sbuf *body,
	    struct http_response *resp, struct verror *e);

/* Turns a final non-2xx answer into -errno and a message naming the vault,
 * what and the status, with the Code and Message of an XML error body or
 * the x-ms-error-code header: 401/403 -EACCES, 404 -ENOENT, 412 -ESTALE,
 * 416 -ERANGE, anything else -EIO. body may be NULL. */
int http_status_error(struct http *h, const char *method, const char *what,
		      const struct http_response *resp, const char *body,
		      size_t body_len, struct verror *e);

/* A streaming GET: the caller pulls the body with http_stream_read(); the
 * download advances only inside that call (curl multi, paused when the
 * caller's buffer is full). Opening waits for the response headers, so a
 * 404 or 403 is reported here; *resp receives them. If the transfer breaks
 * later, the rest is fetched with a Range request (If-Match the ETag of
 * the first answer) within the same attempt budget; a short body is never
 * returned as complete (Content-Length is checked).
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

/* The vault id given to http_new(). Borrowed. */
const char *http_vault_id(const struct http *h);
