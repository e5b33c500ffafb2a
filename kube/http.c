/* http.c: requests to the API server, through http/.
 *
 * What is kube's own lives here: the client's settings from the
 * kubeconfig (the cluster's CA, insecure-skip-tls-verify, proxy-url,
 * tls-server-name, the timeout), authentication of every attempt (bearer
 * tokens, token files re-read as they rotate, exec credential plugins,
 * client certificates, basic auth) and the request's checks. Connections,
 * TLS, retries and error text are http/'s.
 *
 * The retry policy: 5 attempts in all; connection refused / host not
 * resolved for every method (nothing was sent); other transport errors,
 * 408 and 5xx for idempotent methods only; 429 (the API server's priority
 * and fairness rejects before doing anything) and 503 with Retry-After
 * for every method, waiting as long as Retry-After says (at most 30 s).
 * Timeouts are not retried: the timeout is for the whole request. A 401
 * with a token file or an exec plugin refreshes the credential once and
 * tries again.
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

#define RETRY_AFTER_MAX_MS 30000

static time_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

int kube_http_new(struct kube *k, long timeout_ms, struct verror *e)
{
	const struct kube_config *c = &k->cfg;
	_cleanup_free_ char *hint = NULL;
	struct http_config hc = {
		.peer = "the API server",
		.proxy_name = "the proxy-url",
		.tls = { .ca_pem = c->ca.data,
			 .ca_pem_len = c->ca.len,
			 .insecure = c->insecure },
		.retry = { .backoff_ms = 200,
			   .retry_after_max_ms = RETRY_AFTER_MAX_MS },
		.proxy = c->proxy_url,
		.connect_to = k->connect_to,
		.timeout_ms = timeout_ms,
		.compressed = true,
		/* kube-apiserver (Go's net/http) spends ~15 % less CPU on a
		 * create over HTTP/1.1 than over HTTP/2 (docs/BENCHMARKS.md);
		 * VELEROFS_KUBE_HTTP2=1 for HTTP/2 */
		.http1 = !getenv("VELEROFS_KUBE_HTTP2"),
	};

	if (asprintf(&hint,
		     "check certificate-authority of cluster \"%s\" in %s",
		     c->cluster, c->source) < 0) {
		hint = NULL;
		return verror_set(e, -ENOMEM, "out of memory");
	}
	hc.tls_hint = hint;
	return http_new(&hc, &k->http, e);
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

/* Authenticates one attempt (http_sign_fn; ctx is the struct kube): the
 * bearer token, basic auth, the client certificate. A 401 may be cured by
 * fetching a token file's or an exec plugin's credential again:
 * a->refresh asks for that. */
static int kube_sign(void *ctx, struct http_attempt *a, struct verror *e)
{
	struct kube *k = ctx;
	const struct kube_config *c = &k->cfg;
	const char *token = NULL;
	const struct kube_blob *cert = &c->cert, *key = &c->key;
	char *auth = NULL;
	int r = 0;

	a->refreshable = false;
	pthread_mutex_lock(&k->cred_lock);
	if (c->token) {
		token = c->token;
	} else if (c->token_file) {
		r = file_token(k, a->refresh, e);
		token = k->file_token;
		a->refreshable = true;
	} else if (c->exec && !(c->username && c->password)) {
		struct kube_exec_cred *ec = &k->exec_cred;

		if (a->refresh || !k->exec_valid ||
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
			a->refreshable = true;
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
		r = http_attempt_header(a, auth);
		explicit_bzero(auth, strlen(auth));
		free(auth);
		if (r < 0) {
			r = verror_set(e, r,
				       "the bearer token cannot be "
				       "sent in a header");
			goto out;
		}
	} else if (c->username && c->password) {
		http_attempt_basic_auth(a, c->username, c->password);
	}
	if (cert->len)
		r = http_attempt_client_cert(a, cert->data, cert->len,
					     key->data, key->len, e);
out:
	pthread_mutex_unlock(&k->cred_lock);
	return r;
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
	_cleanup_free_ char *payload = NULL;

	if (body) {
		payload = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!payload)
			return verror_set(e, -ENOMEM, "encoding the body");
	}
	return kube_request_raw(
		k, method, path, NULL,
		content_type ? content_type : "application/json", payload,
		payload ? strlen(payload) : 0, resp, e);
}

static bool valid_header_value(const char *v)
{
	return !strpbrk(v, "\r\n") && strlen(v) <= 200;
}

int kube_request_raw(struct kube *k, const char *method, const char *path,
		     const char *accept, const char *content_type,
		     const void *body, size_t body_len,
		     struct kube_response *resp, struct verror *e)
{
	_cleanup_free_ char *url = NULL, *ct = NULL, *acc = NULL;
	const char *headers[3] = { "Accept: application/json", NULL, NULL };
	struct http_response hr;
	struct http_request req;
	struct sbuf b;
	int r;

	if (!valid_method(method))
		return verror_set(e, -EINVAL, "bad HTTP method");
	if (!valid_path(path))
		return verror_set(e, -EINVAL, "bad request path");
	if ((content_type && !valid_header_value(content_type)) ||
	    (accept && !valid_header_value(accept)))
		return verror_set(e, -EINVAL, "bad content type");
	if (accept) {
		if (asprintf(&acc, "Accept: %s", accept) < 0) {
			acc = NULL;
			return -ENOMEM;
		}
		headers[0] = acc;
	}
	if (body) {
		if (asprintf(&ct, "Content-Type: %s",
			     content_type ? content_type : "application/json") <
		    0) {
			ct = NULL;
			return -ENOMEM;
		}
		headers[1] = ct;
	}
	if (asprintf(&url, "%s%s", k->base_url, path) < 0) {
		url = NULL;
		return -ENOMEM;
	}
	req = (struct http_request){ .method = method,
				     .url = url,
				     .what = url,
				     .headers = headers,
				     .body = body,
				     .body_len = body ? body_len : 0,
				     .sign = kube_sign,
				     .sign_ctx = k };
	sbuf_init(&b, KUBE_BODY_MAX);
	r = http_do(k->http, &req, &b, &hr, e);
	if (r < 0) {
		sbuf_release(&b);
		return r;
	}
	resp->status = hr.status;
	resp->protobuf = !strncasecmp(hr.content_type, KUBE_PROTOBUF,
				      strlen(KUBE_PROTOBUF));
	resp->raw = sbuf_take(&b, &resp->len);
	if (!resp->raw)
		resp->raw = strdup("");
	if (!resp->raw)
		return -ENOMEM;
	resp->body = resp->len && !resp->protobuf ?
			     json_loadb(resp->raw, resp->len, 0, NULL) :
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
	r->protobuf = false;
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
