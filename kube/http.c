/* http.c: one request to the API server with libcurl.
 *
 * Easy handles come from a small pool (k->pool): a handle is used by one
 * thread at a time and keeps its connections for the next request. DNS
 * and TLS sessions are shared through k->share. Options are set afresh
 * for every attempt (curl_easy_reset keeps the connections), so
 * credentials that change (token files, exec plugins) are picked up.
 *
 * Retries (MAX_ATTEMPTS in all): connection refused / host not resolved
 * for every method (nothing was sent); other transport errors and 5xx for
 * idempotent methods only; 429 for every method (the API server's
 * priority and fairness rejects before doing anything), waiting as long
 * as Retry-After says (capped). A 401 with a token file or an exec plugin
 * refreshes the credential once and tries again.
 *
 * Never verbose; error messages hold the method, URL and curl's reason,
 * never a header. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/log.h"
#include "kube/kube_i.h"

#define MAX_ATTEMPTS 5
#define RETRY_AFTER_MAX_S 30

struct xfer {
	struct sbuf body;
	long retry_after; /* seconds; -1: none */
};

static size_t on_write(char *p, size_t sz, size_t n, void *ud)
{
	struct xfer *x = ud;

	if (sbuf_add(&x->body, p, sz * n) < 0)
		return 0; /* CURLE_WRITE_ERROR; body.len tells why */
	return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = sz * n;

	if (len > 12 && !strncasecmp(p, "Retry-After:", 12)) {
		char tmp[32];
		size_t k = MIN(len - 12, sizeof(tmp) - 1);
		char *end;
		long v;

		memcpy(tmp, p + 12, k);
		tmp[k] = '\0';
		v = strtol(tmp, &end, 10);
		if (end != tmp && v >= 0)
			x->retry_after = MIN(v, RETRY_AFTER_MAX_S);
	}
	return len;
}

static CURL *pool_get(struct kube *k)
{
	CURL *h = NULL;

	pthread_mutex_lock(&k->pool_lock);
	if (k->npool)
		h = k->pool[--k->npool];
	pthread_mutex_unlock(&k->pool_lock);
	return h ? h : curl_easy_init();
}

static void pool_put(struct kube *k, CURL *h)
{
	pthread_mutex_lock(&k->pool_lock);
	if (k->npool < ARRAY_SIZE(k->pool)) {
		k->pool[k->npool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&k->pool_lock);
	if (h)
		curl_easy_cleanup(h);
}

static time_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int set_blob(CURL *h, CURLoption opt, const struct kube_blob *b)
{
	struct curl_blob cb = { .data = b->data,
				.len = b->len,
				.flags = CURL_BLOB_COPY };

	return curl_easy_setopt(h, opt, &cb) == CURLE_OK ? 0 : -EINVAL;
}

/* Re-reads the token file when it is older than KUBE_TOKEN_FILE_REREAD
 * (bound service-account tokens rotate). Called with cred_lock held. */
static int file_token(struct kube *k, bool force, struct verror *e)
{
	struct kube_blob b = { 0 };
	size_t s, n;
	char *t;
	int r;

	if (k->file_token && !force &&
	    now_s() - k->file_token_read < KUBE_TOKEN_FILE_REREAD)
		return 0;
	r = kube_read_file(k->cfg.token_file, KUBE_TOKEN_MAX, &b);
	if (r < 0)
		return verror_set(e, r, "reading the token file %s: %s",
				  k->cfg.token_file, strerror(-r));
	/* one token, surrounding white space trimmed */
	n = b.len;
	while (n && strchr(" \t\r\n", b.data[n - 1]))
		n--;
	s = strspn((char *)b.data, " \t\r\n");
	if (s >= n || memchr(b.data, '\0', b.len) ||
	    strcspn((char *)b.data + s, "\r\n") < n - s) {
		kube_blob_release(&b);
		return verror_set(e, -EINVAL,
				  "the token file %s holds no single token",
				  k->cfg.token_file);
	}
	n -= s;
	t = strndup((char *)b.data + s, n);
	kube_blob_release(&b);
	if (!t)
		return -ENOMEM;
	if (k->file_token)
		explicit_bzero(k->file_token, strlen(k->file_token));
	free(k->file_token);
	k->file_token = t;
	k->file_token_read = now_s();
	return 0;
}

/* Sets the credential options and the Authorization header. *refreshable
 * says whether a 401 might be cured by fetching the credential again. */
static int set_auth(struct kube *k, CURL *h, struct curl_slist **hdrs,
		    bool force, bool *refreshable, struct verror *e)
{
	const struct kube_config *c = &k->cfg;
	const char *token = NULL;
	const struct kube_blob *cert = &c->cert, *key = &c->key;
	struct curl_slist *nh;
	char *auth = NULL;
	int r = 0;

	*refreshable = false;
	pthread_mutex_lock(&k->cred_lock);
	if (c->token) {
		token = c->token;
	} else if (c->token_file) {
		r = file_token(k, force, e);
		token = k->file_token;
		*refreshable = true;
	} else if (c->exec && !(c->username && c->password)) {
		struct kube_exec_cred *ec = &k->exec_cred;

		if (force || !k->exec_valid ||
		    (ec->expiry && now_s() + 5 >= ec->expiry)) {
			struct kube_exec_cred fresh = { 0 };

			r = kube_exec_run(c->exec, &fresh, e);
			if (r >= 0) {
				kube_exec_cred_release(ec);
				*ec = fresh;
				k->exec_valid = true;
			}
		}
		if (r >= 0) {
			token = ec->token;
			if (!cert->len && ec->cert.len) {
				cert = &ec->cert;
				key = &ec->key;
			}
			*refreshable = true;
		}
	}
	if (r < 0)
		goto out;
	if (token) {
		if (asprintf(&auth, "Authorization: Bearer %s", token) < 0) {
			auth = NULL;
			r = -ENOMEM;
			goto out;
		}
		nh = curl_slist_append(*hdrs, auth);
		explicit_bzero(auth, strlen(auth));
		free(auth);
		if (!nh) {
			r = -ENOMEM;
			goto out;
		}
		*hdrs = nh;
	} else if (c->username && c->password) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, c->username);
		curl_easy_setopt(h, CURLOPT_PASSWORD, c->password);
	}
	if (cert->len) {
		curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
		if (set_blob(h, CURLOPT_SSLCERT_BLOB, cert) < 0 ||
		    set_blob(h, CURLOPT_SSLKEY_BLOB, key) < 0)
			r = verror_set(e, -ENOTSUP,
				       "this libcurl cannot take client "
				       "certificates from memory");
	}
out:
	pthread_mutex_unlock(&k->cred_lock);
	return r;
}

static int setup(struct kube *k, CURL *h, const char *method, const char *url,
		 const char *ctype, const char *payload, struct xfer *x,
		 char *ebuf, struct curl_slist **hdrs, bool force,
		 bool *refreshable, struct verror *e)
{
	const struct kube_config *c = &k->cfg;
	char ct[256];
	struct curl_slist *nh;
	int r;

	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_SHARE, k->share);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_VERBOSE, 0L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, k->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			 MIN(k->timeout_ms, 10000L));
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, k->user_agent);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	/* a server that rejected the credential may close the connection
	 * (HTTP/2 GOAWAY); the retry with a fresh one must not race it */
	if (force)
		curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
	if (k->connect_to)
		curl_easy_setopt(h, CURLOPT_CONNECT_TO, k->connect_to);
	if (c->proxy_url)
		curl_easy_setopt(h, CURLOPT_PROXY, c->proxy_url);

	if (c->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (c->ca.len) {
		/* the cluster's CA only, as kubectl: not the system's */
		curl_easy_setopt(h, CURLOPT_CAINFO, NULL);
		curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
		if (set_blob(h, CURLOPT_CAINFO_BLOB, &c->ca) < 0)
			return verror_set(e, -ENOTSUP,
					  "this libcurl cannot take a CA "
					  "from memory");
	}

	if (!strcmp(method, "GET")) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		if (!payload && strcmp(method, "DELETE"))
			payload = "";
	}
	if (payload) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)strlen(payload));
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
	}

	snprintf(ct, sizeof(ct), "Content-Type: %s",
		 ctype ? ctype : "application/json");
	nh = curl_slist_append(*hdrs, "Accept: application/json");
	if (nh)
		*hdrs = nh;
	nh = nh ? curl_slist_append(*hdrs, "Expect:") : NULL;
	if (nh)
		*hdrs = nh;
	if (nh && payload) {
		nh = curl_slist_append(*hdrs, ct);
		if (nh)
			*hdrs = nh;
	}
	if (!nh)
		return -ENOMEM;
	r = set_auth(k, h, hdrs, force, refreshable, e);
	if (r < 0)
		return r;
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
	return 0;
}

static bool nothing_sent(CURLcode c)
{
	return c == CURLE_COULDNT_CONNECT || c == CURLE_COULDNT_RESOLVE_HOST ||
	       c == CURLE_COULDNT_RESOLVE_PROXY;
}

static bool transient(CURLcode c)
{
	return nothing_sent(c) || c == CURLE_SEND_ERROR ||
	       c == CURLE_RECV_ERROR || c == CURLE_GOT_NOTHING ||
	       c == CURLE_HTTP2 || c == CURLE_HTTP2_STREAM ||
	       c == CURLE_PARTIAL_FILE;
}

static bool idempotent(const char *m)
{
	return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "PUT") ||
	       !strcmp(m, "DELETE") || !strcmp(m, "OPTIONS");
}

static int transfer_error(struct kube *k, const char *method, const char *url,
			  CURLcode c, const char *ebuf, bool too_big,
			  struct verror *e)
{
	const char *why = ebuf[0] ? ebuf : curl_easy_strerror(c);

	switch (c) {
	case CURLE_COULDNT_CONNECT:
		return verror_set(
			e, -ECONNREFUSED,
			"%s %s: cannot connect to the API server%s: %s", method,
			url, k->cfg.proxy_url ? " through the proxy-url" : "",
			why);
	case CURLE_COULDNT_RESOLVE_HOST:
		return verror_set(e, -EHOSTUNREACH,
				  "%s %s: cannot resolve the API server: %s",
				  method, url, why);
	case CURLE_COULDNT_RESOLVE_PROXY:
		return verror_set(e, -EHOSTUNREACH,
				  "%s %s: cannot resolve the proxy: %s", method,
				  url, why);
	case CURLE_OPERATION_TIMEDOUT:
		return verror_set(e, -ETIMEDOUT, "%s %s: timed out: %s", method,
				  url, why);
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
		return verror_set(e, -EPROTO,
				  "%s %s: TLS: the API server's certificate "
				  "is not trusted (%s); check "
				  "certificate-authority of cluster \"%s\" in "
				  "%s",
				  method, url, why, k->cfg.cluster,
				  k->cfg.source);
	case CURLE_SSL_CONNECT_ERROR:
		return verror_set(e, -EPROTO, "%s %s: TLS handshake failed: %s",
				  method, url, why);
	case CURLE_SSL_CERTPROBLEM:
		return verror_set(e, -EINVAL,
				  "%s %s: TLS: the client certificate or key "
				  "is unusable: %s",
				  method, url, why);
	case CURLE_WRITE_ERROR:
		if (too_big)
			return verror_set(e, -EFBIG,
					  "%s %s: response larger than %zu "
					  "bytes",
					  method, url, KUBE_BODY_MAX);
		break;
	default:
		break;
	}
	return verror_set(e, -EIO, "%s %s: %s", method, url, why);
}

static long backoff_ms(int attempt, long retry_after)
{
	struct timespec ts;
	long ms;

	if (retry_after >= 0)
		return MAX(retry_after * 1000, 100L);
	ms = MIN(200L << attempt, 5000L);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ms + (long)(ts.tv_nsec % (ms / 4 + 1)); /* jitter */
}

static bool valid_method(const char *m)
{
	size_t n = strlen(m);

	return n && n <= 16 && strspn(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == n;
}

static bool valid_path(const char *p)
{
	size_t n = strlen(p), i;

	if (!n || p[0] != '/' || n > KUBE_PATH_MAX)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] <= ' ' || p[i] == 0x7f || p[i] == '#')
			return false;
	return true;
}

int kube_request(struct kube *k, const char *method, const char *path,
		 const char *content_type, json_t *body,
		 struct kube_response *resp, struct verror *e)
{
	_cleanup_free_ char *payload = NULL, *url = NULL;
	char ebuf[CURL_ERROR_SIZE];
	struct xfer x;
	bool refreshed = false, refreshable = false;
	long status = 0;
	CURL *h;
	int r = 0, attempt;

	if (!valid_method(method))
		return verror_set(e, -EINVAL, "bad HTTP method");
	if (!valid_path(path))
		return verror_set(e, -EINVAL, "bad request path");
	if (content_type &&
	    (strpbrk(content_type, "\r\n") || strlen(content_type) > 200))
		return verror_set(e, -EINVAL, "bad content type");
	if (body) {
		payload = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!payload)
			return verror_set(e, -ENOMEM, "encoding the body");
	}
	if (asprintf(&url, "%s%s", k->base_url, path) < 0) {
		url = NULL;
		return -ENOMEM;
	}
	h = pool_get(k);
	if (!h)
		return verror_set(e, -ENOMEM, "cannot create a curl handle");
	sbuf_init(&x.body, KUBE_BODY_MAX);

	for (attempt = 0;; attempt++) {
		struct curl_slist *hdrs = NULL;
		CURLcode c;

		sbuf_reset(&x.body);
		x.retry_after = -1;
		ebuf[0] = '\0';
		r = setup(k, h, method, url, content_type, payload, &x, ebuf,
			  &hdrs, refreshed, &refreshable, e);
		if (r < 0) {
			curl_slist_free_all(hdrs);
			break;
		}
		c = curl_easy_perform(h);
		curl_slist_free_all(hdrs);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
		status = 0;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		/* A server that refuses a request (401, 403, 413, ...) may
		 * answer before reading the body and close the stream; curl
		 * then reports an upload error although the answer is
		 * there. */
		if (c != CURLE_OK && status >= 400 && transient(c) &&
		    !nothing_sent(c))
			c = CURLE_OK;
		if (c != CURLE_OK) {
			bool too_big = c == CURLE_WRITE_ERROR;

			if (attempt + 1 < MAX_ATTEMPTS &&
			    (nothing_sent(c) ||
			     (transient(c) && idempotent(method)))) {
				log_debug("%s %s: %s; retrying", method, url,
					  ebuf[0] ? ebuf :
						    curl_easy_strerror(c));
				sleep_ms(backoff_ms(attempt, -1));
				continue;
			}
			r = transfer_error(k, method, url, c, ebuf, too_big, e);
			break;
		}
		if (status == 401 && refreshable && !refreshed) {
			refreshed = true;
			continue;
		}
		if (attempt + 1 < MAX_ATTEMPTS &&
		    (status == 429 ||
		     (status >= 500 && status != 501 &&
		      (idempotent(method) ||
		       (status == 503 && x.retry_after >= 0))))) {
			log_debug("%s %s: HTTP %ld; retrying", method, url,
				  status);
			sleep_ms(backoff_ms(attempt, x.retry_after));
			continue;
		}
		break;
	}
	pool_put(k, h);
	if (r < 0) {
		sbuf_release(&x.body);
		return r;
	}
	resp->status = status;
	resp->raw = sbuf_take(&x.body, &resp->len);
	if (!resp->raw)
		resp->raw = strdup("");
	if (!resp->raw)
		return -ENOMEM;
	resp->body = resp->len ? json_loadb(resp->raw, resp->len, 0, NULL) :
				 NULL;
	return 0;
}

void kube_response_release(struct kube_response *r)
{
	if (!r)
		return;
	json_decref(r->body);
	free(r->raw);
	r->body = NULL;
	r->raw = NULL;
	r->len = 0;
	r->status = 0;
}

const char *kube_status_message(const struct kube_response *resp)
{
	const char *m = json_string_value(json_object_get(resp->body, "messag"
								      "e"));

	if (m && *m)
		return m;
	switch (resp->status) {
	case 200:
	case 201:
	case 202:
		return "OK";
	case 400:
		return "bad request";
	case 401:
		return "unauthorized: the credentials were not accepted";
	case 403:
		return "forbidden";
	case 404:
		return "not found";
	case 405:
		return "method not allowed";
	case 409:
		return "conflict";
	case 410:
		return "gone";
	case 413:
		return "request entity too large";
	case 415:
		return "unsupported media type";
	case 422:
		return "invalid";
	case 429:
		return "too many requests";
	case 500:
		return "internal server error";
	case 502:
		return "bad gateway";
	case 503:
		return "service unavailable";
	case 504:
		return "gateway timeout";
	default:
		break;
	}
	if (resp->status >= 500)
		return "server error";
	if (resp->status >= 400)
		return "client error";
	return "unexpected HTTP status";
}
