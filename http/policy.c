/* http/policy: the pure parts of the client (see http.h): which failures
 * are retried, how long to wait, what Retry-After says, and the words of
 * an error. No I/O, no clock (the callers pass "now" and the randomness),
 * so the unit tests can check each rule. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "http/http_i.h"

#define DEFAULT_ATTEMPTS 5
#define DEFAULT_BACKOFF_MS 100
#define DEFAULT_BACKOFF_MAX_MS 5000

void http_retry_defaults(const struct http_retry *in, struct http_retry *out)
{
	*out = in ? *in : (struct http_retry){ 0 };
	if (!out->attempts)
		out->attempts = DEFAULT_ATTEMPTS;
	if (!out->backoff_ms)
		out->backoff_ms = DEFAULT_BACKOFF_MS;
	if (!out->backoff_max_ms)
		out->backoff_max_ms = DEFAULT_BACKOFF_MAX_MS;
	if (!out->retry_after_max_ms)
		out->retry_after_max_ms = out->backoff_max_ms;
}

bool http_idempotent(const char *m)
{
	return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "PUT") ||
	       !strcmp(m, "DELETE") || !strcmp(m, "OPTIONS");
}

bool http_nothing_sent(int c)
{
	return c == CURLE_COULDNT_CONNECT || c == CURLE_COULDNT_RESOLVE_HOST ||
	       c == CURLE_COULDNT_RESOLVE_PROXY;
}

bool http_broken_transfer(int c)
{
	return c == CURLE_SEND_ERROR || c == CURLE_RECV_ERROR ||
	       c == CURLE_GOT_NOTHING || c == CURLE_PARTIAL_FILE ||
	       c == CURLE_HTTP2 || c == CURLE_HTTP2_STREAM;
}

bool http_retryable(const struct http_retry *p, const char *method,
		    int curl_code, long status, bool retry_after)
{
	bool idem = http_idempotent(method);

	if (curl_code != CURLE_OK) {
		if (http_nothing_sent(curl_code))
			return true;
		if (!idem)
			return false;
		if (http_broken_transfer(curl_code))
			return true;
		return p && p->timeouts &&
		       (curl_code == CURLE_OPERATION_TIMEDOUT ||
			curl_code == CURLE_SSL_CONNECT_ERROR);
	}
	if (status == 429 || (status == 503 && retry_after))
		return true;
	return idem && (status == 408 ||
			(status >= 500 && status <= 599 && status != 501));
}

int64_t http_retry_after_ms(const char *value, int64_t now_s)
{
	const char *v = value;
	char *end;
	long long s;
	int64_t t;

	if (!v)
		return -1;
	while (*v == ' ' || *v == '\t')
		v++;
	if (!*v)
		return -1;
	if (*v >= '0' && *v <= '9') {
		errno = 0;
		s = strtoll(v, &end, 10);
		while (*end == ' ' || *end == '\t')
			end++;
		if (errno || *end)
			return -1;
		return s > INT64_MAX / 1000 ? INT64_MAX : s * 1000;
	}
	t = http_parse_date(v);
	if (t < 0)
		return -1;
	return t <= now_s ? 0 : (t - now_s) * 1000;
}

int64_t http_parse_date(const char *s)
{
	time_t t = curl_getdate(s, NULL);

	return t < 0 ? -1 : (int64_t)t;
}

unsigned http_backoff_ms(const struct http_retry *p, unsigned failed,
			 int64_t retry_after_ms, uint32_t rnd)
{
	struct http_retry d;
	uint64_t w;

	http_retry_defaults(p, &d);
	w = (uint64_t)d.backoff_ms << MIN(failed ? failed - 1 : 0, 20u);
	if (w > d.backoff_max_ms)
		w = d.backoff_max_ms;
	w = w / 2 + rnd % (w / 2 + 1);
	if (retry_after_ms >= 0) {
		uint64_t ra = MIN((uint64_t)retry_after_ms,
				  (uint64_t)d.retry_after_max_ms);

		w = MAX(w, ra);
	}
	return (unsigned)w;
}

const char *http_reason(long s)
{
	switch (s) {
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 410:
		return "Gone";
	case 412:
		return "Precondition Failed";
	case 413:
		return "Content Too Large";
	case 416:
		return "Range Not Satisfiable";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "";
	}
}

int http_status_errno(long s)
{
	if (s >= 200 && s < 300)
		return 0;
	switch (s) {
	case 401:
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	case 412:
		return -ESTALE;
	case 416:
		return -ERANGE;
	default:
		return -EIO;
	}
}

/* "NAME: " or "" */
static void name_prefix(const struct http *h, char *out, size_t size)
{
	const char *n = h ? h->name : "";

	snprintf(out, size, "%s%s", n, *n ? ": " : "");
}

static void attempts_suffix(unsigned attempts, char *out, size_t size)
{
	if (attempts > 1)
		snprintf(out, size, " (%u attempts)", attempts);
	else
		out[0] = '\0';
}

int http_status_error(const struct http *h, const char *verb, const char *what,
		      const struct http_response *resp, const char *detail,
		      struct verror *e)
{
	char name[300], tail[32];
	const char *reason = http_reason(resp->status);
	int err = http_status_errno(resp->status);

	name_prefix(h, name, sizeof(name));
	attempts_suffix(resp->attempts, tail, sizeof(tail));
	return verror_set(e, err ? err : -EIO, "%s%s %s: HTTP %ld%s%s%s%s%s",
			  name, verb, what, resp->status, *reason ? " " : "",
			  reason, detail && *detail ? " " : "",
			  detail ? detail : "", tail);
}

int http_transfer_error(const struct http *h, const char *method,
			const char *what, int curl_code, const char *words,
			unsigned attempts, size_t cap, struct verror *e)
{
	const char *peer = h ? h->peer : "the server";
	const char *hint = h ? h->tls_hint : "";
	const char *proxy = h && h->proxy ? h->proxy_name : NULL;
	const char *why = words && *words ?
				  words :
				  curl_easy_strerror((CURLcode)curl_code);
	char name[300], tail[32];
	int err;

	name_prefix(h, name, sizeof(name));
	attempts_suffix(attempts, tail, sizeof(tail));
#define FAIL(errno_, fmt, ...)                                          \
	verror_set(e, errno_, "%s%s %s: " fmt "%s", name, method, what, \
		   __VA_ARGS__, tail)
	switch (curl_code) {
	case CURLE_COULDNT_CONNECT:
		err = FAIL(-ECONNREFUSED, "cannot connect to %s%s%s: %s", peer,
			   proxy ? " through " : "", proxy ? proxy : "", why);
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		err = FAIL(-EHOSTUNREACH, "cannot resolve %s: %s", peer, why);
		break;
	case CURLE_COULDNT_RESOLVE_PROXY:
		err = FAIL(-EHOSTUNREACH, "cannot resolve %s: %s",
			   proxy ? proxy : "the proxy", why);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		err = FAIL(-ETIMEDOUT, "timed out: %s", why);
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
		err = FAIL(-EACCES,
			   "TLS: %s's certificate is not trusted (%s)%s%s",
			   peer, why, *hint ? "; " : "", hint);
		break;
	case CURLE_SSL_CONNECT_ERROR:
		err = FAIL(-EPROTO, "TLS handshake failed: %s", why);
		break;
	case CURLE_SSL_CERTPROBLEM:
		err = FAIL(-EINVAL,
			   "TLS: the client certificate or key is unusable: %s",
			   why);
		break;
	case CURLE_WRITE_ERROR:
		if (cap) {
			err = FAIL(-EFBIG, "response larger than %zu bytes",
				   cap);
			break;
		}
		err = FAIL(-EIO, "%s", why);
		break;
	default:
		err = FAIL(-EIO, "%s", why);
		break;
	}
#undef FAIL
	return err;
}
