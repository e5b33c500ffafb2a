/* Unit tests of http/'s pure parts: the retry decision, Retry-After,
 * backoff bounds and the words of an error. No network. */
#include <curl/curl.h>
#include <errno.h>
#include <string.h>

#include "check.h"
#include "http/http.h"

static void test_retry_decision(void)
{
	struct http_retry slow = { .timeouts = true };

	/* nothing sent: every method */
	CHECK(http_retryable(NULL, "POST", CURLE_COULDNT_CONNECT, 0, false));
	CHECK(http_retryable(NULL, "PATCH", CURLE_COULDNT_RESOLVE_HOST, 0,
			     false));
	CHECK(http_retryable(NULL, "POST", CURLE_COULDNT_RESOLVE_PROXY, 0,
			     false));
	/* a broken transfer: idempotent methods only */
	CHECK(http_retryable(NULL, "GET", CURLE_RECV_ERROR, 0, false));
	CHECK(http_retryable(NULL, "PUT", CURLE_PARTIAL_FILE, 0, false));
	CHECK(http_retryable(NULL, "DELETE", CURLE_HTTP2_STREAM, 0, false));
	CHECK(!http_retryable(NULL, "POST", CURLE_RECV_ERROR, 0, false));
	CHECK(!http_retryable(NULL, "PATCH", CURLE_GOT_NOTHING, 0, false));
	/* timeouts and TLS handshakes only when the policy says so */
	CHECK(!http_retryable(NULL, "GET", CURLE_OPERATION_TIMEDOUT, 0, false));
	CHECK(!http_retryable(NULL, "GET", CURLE_SSL_CONNECT_ERROR, 0, false));
	CHECK(http_retryable(&slow, "GET", CURLE_OPERATION_TIMEDOUT, 0, false));
	CHECK(http_retryable(&slow, "HEAD", CURLE_SSL_CONNECT_ERROR, 0, false));
	CHECK(!http_retryable(&slow, "POST", CURLE_OPERATION_TIMEDOUT, 0,
			      false));
	/* never a TLS verification failure or a bad client certificate */
	CHECK(!http_retryable(&slow, "GET", CURLE_PEER_FAILED_VERIFICATION, 0,
			      false));
	CHECK(!http_retryable(&slow, "GET", CURLE_SSL_CERTPROBLEM, 0, false));
	CHECK(!http_retryable(&slow, "GET", CURLE_WRITE_ERROR, 0, false));
	/* statuses */
	CHECK(http_retryable(NULL, "POST", CURLE_OK, 429, false));
	CHECK(http_retryable(NULL, "POST", CURLE_OK, 503, true));
	CHECK(!http_retryable(NULL, "POST", CURLE_OK, 503, false));
	CHECK(!http_retryable(NULL, "POST", CURLE_OK, 500, false));
	CHECK(http_retryable(NULL, "GET", CURLE_OK, 500, false));
	CHECK(http_retryable(NULL, "GET", CURLE_OK, 502, false));
	CHECK(http_retryable(NULL, "GET", CURLE_OK, 503, false));
	CHECK(http_retryable(NULL, "HEAD", CURLE_OK, 504, false));
	CHECK(http_retryable(NULL, "GET", CURLE_OK, 408, false));
	CHECK(!http_retryable(NULL, "GET", CURLE_OK, 501, false));
	CHECK(!http_retryable(NULL, "GET", CURLE_OK, 200, false));
	CHECK(!http_retryable(NULL, "GET", CURLE_OK, 404, false));
	CHECK(!http_retryable(NULL, "GET", CURLE_OK, 403, false));
	CHECK(!http_retryable(NULL, "GET", CURLE_OK, 412, false));
	CHECK(!http_retryable(NULL, "GET", CURLE_OK, 401, true));
}

static void test_retry_after(void)
{
	/* Sun, 06 Nov 1994 08:49:37 GMT */
	const int64_t t = 784111777;

	CHECK_EQ_INT(http_retry_after_ms(NULL, t), -1);
	CHECK_EQ_INT(http_retry_after_ms("", t), -1);
	CHECK_EQ_INT(http_retry_after_ms("  ", t), -1);
	CHECK_EQ_INT(http_retry_after_ms("0", t), 0);
	CHECK_EQ_INT(http_retry_after_ms("1", t), 1000);
	CHECK_EQ_INT(http_retry_after_ms(" 120 ", t), 120000);
	CHECK_EQ_INT(http_retry_after_ms("1.5", t), -1);
	CHECK_EQ_INT(http_retry_after_ms("12abc", t), -1);
	CHECK_EQ_INT(http_retry_after_ms("-3", t), -1);
	CHECK_EQ_INT(http_retry_after_ms("soon", t), -1);
	CHECK_EQ_INT(http_retry_after_ms("99999999999999999999999", t), -1);
	CHECK(http_retry_after_ms("9999999999999999", t) > 0);
	CHECK_EQ_INT(http_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", t),
		     0);
	CHECK_EQ_INT(http_retry_after_ms("Sun, 06 Nov 1994 08:50:07 GMT", t),
		     30000);
	CHECK_EQ_INT(http_retry_after_ms("Sun, 06 Nov 1994 08:00:00 GMT", t),
		     0);
}

static void test_backoff(void)
{
	struct http_retry p = { .backoff_ms = 100, .backoff_max_ms = 5000 };
	struct http_retry kube = { .backoff_ms = 200,
				   .retry_after_max_ms = 30000 };
	unsigned n, w;
	uint32_t rnd;

	/* [w/2, w] with w = 100 * 2^(n-1), capped at 5000 */
	for (n = 1; n <= 30; n++) {
		unsigned long long full = 100ull << (n - 1 < 20 ? n - 1 : 20);

		if (full > 5000)
			full = 5000;
		for (rnd = 0; rnd < 2000; rnd += 37) {
			w = http_backoff_ms(&p, n, -1, rnd * 2654435761u);
			CHECK(w >= full / 2 && w <= full);
		}
		CHECK_EQ_INT(http_backoff_ms(&p, n, -1, 0), full / 2);
		CHECK_EQ_INT(http_backoff_ms(&p, n, -1, (uint32_t)(full / 2)),
			     full);
	}
	/* defaults: 100 ms, 5 s */
	CHECK_EQ_INT(http_backoff_ms(NULL, 1, -1, 0), 50);
	CHECK_EQ_INT(http_backoff_ms(NULL, 40, -1, 0), 2500);
	/* Retry-After makes it at least that, up to its cap */
	CHECK_EQ_INT(http_backoff_ms(&p, 1, 1000, 0), 1000);
	CHECK_EQ_INT(http_backoff_ms(&p, 1, 0, 0), 50);
	CHECK_EQ_INT(http_backoff_ms(&p, 1, 60000, 0), 5000);
	CHECK_EQ_INT(http_backoff_ms(&kube, 1, 1000, 0), 1000);
	CHECK_EQ_INT(http_backoff_ms(&kube, 1, 20000, 0), 20000);
	CHECK_EQ_INT(http_backoff_ms(&kube, 1, 3600000, 0), 30000);
	CHECK_EQ_INT(http_backoff_ms(&kube, 3, 10, 0), 400);
}

static void test_status_words(void)
{
	struct http_response r = { .status = 503, .attempts = 5 };
	struct verror e;

	CHECK_STREQ(http_reason(404), "Not Found");
	CHECK_STREQ(http_reason(299), "");
	CHECK_EQ_INT(http_status_errno(200), 0);
	CHECK_EQ_INT(http_status_errno(206), 0);
	CHECK_EQ_INT(http_status_errno(401), -EACCES);
	CHECK_EQ_INT(http_status_errno(403), -EACCES);
	CHECK_EQ_INT(http_status_errno(404), -ENOENT);
	CHECK_EQ_INT(http_status_errno(412), -ESTALE);
	CHECK_EQ_INT(http_status_errno(416), -ERANGE);
	CHECK_EQ_INT(http_status_errno(500), -EIO);
	CHECK_EQ_INT(http_status_errno(302), -EIO);

	CHECK_EQ_INT(http_status_error(NULL, "listing", "backups/", &r,
				       "(SlowDown: Please reduce)", &e),
		     -EIO);
	CHECK_STREQ(e.msg, "listing backups/: HTTP 503 Service Unavailable "
			   "(SlowDown: Please reduce) (5 attempts)");
	r = (struct http_response){ .status = 404, .attempts = 1 };
	CHECK_EQ_INT(http_status_error(NULL, "HEAD", "k", &r, NULL, &e),
		     -ENOENT);
	CHECK_STREQ(e.msg, "HEAD k: HTTP 404 Not Found");
	r.status = 299;
	CHECK_EQ_INT(http_status_error(NULL, "GET", "k", &r, "", &e), -EIO);
	CHECK_STREQ(e.msg, "GET k: HTTP 299");
	/* NULL e is fine */
	CHECK_EQ_INT(http_status_error(NULL, "GET", "k", &r, NULL, NULL), -EIO);
}

static void test_transfer_words(void)
{
	struct http_config cfg = {
		.name = "s3://bucket/p",
		.peer = "the API server",
		.tls_hint = "check the CA",
		.proxy = "http://127.0.0.1:9",
		.proxy_name = "the proxy-url",
	};
	struct http *h = NULL, *plain = NULL;
	struct verror e;

	CHECK_EQ_INT(http_new(&cfg, &h, &e), 0);
	CHECK_EQ_INT(http_new(&(struct http_config){ 0 }, &plain, &e), 0);
	CHECK_STREQ(http_name(h), "s3://bucket/p");
	CHECK_STREQ(http_name(plain), "");

	CHECK_EQ_INT(http_transfer_error(h, "GET", "k", CURLE_COULDNT_CONNECT,
					 "refused", 5, 0, &e),
		     -ECONNREFUSED);
	CHECK_STREQ(e.msg, "s3://bucket/p: GET k: cannot connect to the API "
			   "server through the proxy-url: refused (5 "
			   "attempts)");
	CHECK_EQ_INT(http_transfer_error(plain, "GET", "http://x/y",
					 CURLE_COULDNT_CONNECT, "", 1, 0, &e),
		     -ECONNREFUSED);
	CHECK(!strncmp(e.msg,
		       "GET http://x/y: cannot connect to the server: ", 46));
	CHECK(!strstr(e.msg, "attempt"));
	CHECK_EQ_INT(http_transfer_error(plain, "GET", "k",
					 CURLE_COULDNT_RESOLVE_HOST, "x", 1, 0,
					 &e),
		     -EHOSTUNREACH);
	CHECK_STREQ(e.msg, "GET k: cannot resolve the server: x");
	CHECK_EQ_INT(http_transfer_error(plain, "GET", "k",
					 CURLE_COULDNT_RESOLVE_PROXY, "x", 1, 0,
					 &e),
		     -EHOSTUNREACH);
	CHECK_STREQ(e.msg, "GET k: cannot resolve the proxy: x");
	CHECK_EQ_INT(http_transfer_error(plain, "GET", "k",
					 CURLE_OPERATION_TIMEDOUT, "slow", 2, 0,
					 &e),
		     -ETIMEDOUT);
	CHECK_STREQ(e.msg, "GET k: timed out: slow (2 attempts)");
	CHECK_EQ_INT(http_transfer_error(h, "GET", "k",
					 CURLE_PEER_FAILED_VERIFICATION, "bad",
					 1, 0, &e),
		     -EACCES);
	CHECK_STREQ(e.msg, "s3://bucket/p: GET k: TLS: the API server's "
			   "certificate is not trusted (bad); check the CA");
	CHECK_EQ_INT(http_transfer_error(plain, "GET", "k",
					 CURLE_SSL_CACERT_BADFILE, "bad", 1, 0,
					 &e),
		     -EACCES);
	CHECK_STREQ(e.msg, "GET k: TLS: the server's certificate is not "
			   "trusted (bad)");
	CHECK_EQ_INT(http_transfer_error(plain, "GET", "k",
					 CURLE_SSL_CONNECT_ERROR, "hs", 1, 0,
					 &e),
		     -EPROTO);
	CHECK_STREQ(e.msg, "GET k: TLS handshake failed: hs");
	CHECK_EQ_INT(http_transfer_error(plain, "GET", "k",
					 CURLE_SSL_CERTPROBLEM, "pem", 1, 0,
					 &e),
		     -EINVAL);
	CHECK_EQ_INT(http_transfer_error(plain, "GET", "k", CURLE_WRITE_ERROR,
					 NULL, 1, 1024, &e),
		     -EFBIG);
	CHECK_STREQ(e.msg, "GET k: response larger than 1024 bytes");
	CHECK_EQ_INT(http_transfer_error(plain, "GET", "k", CURLE_RECV_ERROR,
					 NULL, 3, 0, &e),
		     -EIO);
	CHECK(strstr(e.msg, "GET k: ") == e.msg && strstr(e.msg, "(3 "
								 "attempts)"));
	CHECK_EQ_INT(http_transfer_error(NULL, "GET", "k", CURLE_RECV_ERROR,
					 NULL, 1, 0, NULL),
		     -EIO);
	http_free(h);
	http_free(plain);
	CHECK(http_free(NULL) == NULL);
}

int main(void)
{
	test_retry_decision();
	test_retry_after();
	test_backoff();
	test_status_words();
	test_transfer_words();
	return check_status();
}
