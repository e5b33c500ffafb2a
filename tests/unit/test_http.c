/* Unit tests of http/'s pure parts: the retry decision, Retry-After,
 * backoff bounds and the words of an error. No network. */
#include <curl/curl.h>
#include <errno.h>
#include <string.h>

#include "check.h"
#include "common/macro.h"
#include "http/http.h"

static void test_retry_decision(void)
{
	static const struct http_retry slow = { .timeouts = true };
	static const struct {
		bool slow;
		const char *method;
		int curl;
		long status;
		bool retry_after, want;
	} cases[] = {
		/* nothing sent: every method */
		{ false, "POST", CURLE_COULDNT_CONNECT, 0, false, true },
		{ false, "PATCH", CURLE_COULDNT_RESOLVE_HOST, 0, false, true },
		{ false, "POST", CURLE_COULDNT_RESOLVE_PROXY, 0, false, true },
		/* a broken transfer: idempotent methods only */
		{ false, "GET", CURLE_RECV_ERROR, 0, false, true },
		{ false, "PUT", CURLE_PARTIAL_FILE, 0, false, true },
		{ false, "DELETE", CURLE_HTTP2_STREAM, 0, false, true },
		{ false, "POST", CURLE_RECV_ERROR, 0, false, false },
		{ false, "PATCH", CURLE_GOT_NOTHING, 0, false, false },
		/* timeouts and TLS handshakes when the policy says so */
		{ false, "GET", CURLE_OPERATION_TIMEDOUT, 0, false, false },
		{ false, "GET", CURLE_SSL_CONNECT_ERROR, 0, false, false },
		{ true, "GET", CURLE_OPERATION_TIMEDOUT, 0, false, true },
		{ true, "HEAD", CURLE_SSL_CONNECT_ERROR, 0, false, true },
		{ true, "POST", CURLE_OPERATION_TIMEDOUT, 0, false, false },
		/* never TLS verification, a client certificate, a cap */
		{ true, "GET", CURLE_PEER_FAILED_VERIFICATION, 0, false,
		  false },
		{ true, "GET", CURLE_SSL_CERTPROBLEM, 0, false, false },
		{ true, "GET", CURLE_WRITE_ERROR, 0, false, false },
		/* answers */
		{ false, "POST", 0, 429, false, true },
		{ false, "POST", 0, 503, true, true },
		{ false, "POST", 0, 503, false, false },
		{ false, "POST", 0, 500, false, false },
		{ false, "GET", 0, 500, false, true },
		{ false, "GET", 0, 502, false, true },
		{ false, "GET", 0, 503, false, true },
		{ false, "HEAD", 0, 504, false, true },
		{ false, "GET", 0, 507, false, true },
		{ false, "GET", 0, 408, false, true },
		{ false, "GET", 0, 501, false, false },
		{ false, "GET", 0, 200, false, false },
		{ false, "GET", 0, 404, false, false },
		{ false, "GET", 0, 403, false, false },
		{ false, "GET", 0, 412, false, false },
		{ false, "GET", 0, 401, true, false },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		bool got = http_retryable(cases[i].slow ? &slow : NULL,
					  cases[i].method, cases[i].curl,
					  cases[i].status,
					  cases[i].retry_after);

		if (got != cases[i].want) {
			fprintf(stderr, "retry case %zu: %d\n", i, got);
			check_failures++;
		}
	}
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
	static const struct {
		long status;
		int err;
	} errnos[] = { { 200, 0 },	 { 206, 0 },	   { 401, -EACCES },
		       { 403, -EACCES }, { 404, -ENOENT }, { 412, -ESTALE },
		       { 416, -ERANGE }, { 500, -EIO },	   { 302, -EIO } };
	struct http_response r = { .status = 503, .attempts = 5 };
	struct verror e;
	size_t i;

	CHECK_STREQ(http_reason(404), "Not Found");
	CHECK_STREQ(http_reason(299), "");
	for (i = 0; i < ARRAY_SIZE(errnos); i++)
		CHECK_EQ_INT(http_status_errno(errnos[i].status),
			     errnos[i].err);

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

/* Each failure class: its errno and its words (a prefix of them when
 * curl's own text follows). */
static void test_transfer_words(void)
{
	static const struct http_config cfg = {
		.name = "s3://bucket/p",
		.peer = "the API server",
		.tls_hint = "check the CA",
		.proxy = "http://127.0.0.1:9",
		.proxy_name = "the proxy-url",
	};
	static const struct {
		bool named;
		int curl;
		const char *words;
		unsigned attempts;
		size_t cap;
		int err;
		const char *msg;
	} cases[] = {
		{ true, CURLE_COULDNT_CONNECT, "refused", 5, 0, -ECONNREFUSED,
		  "s3://bucket/p: GET k: cannot connect to the API server "
		  "through the proxy-url: refused (5 attempts)" },
		{ false, CURLE_COULDNT_CONNECT, "", 1, 0, -ECONNREFUSED,
		  "GET k: cannot connect to the server: " },
		{ false, CURLE_COULDNT_RESOLVE_HOST, "x", 1, 0, -EHOSTUNREACH,
		  "GET k: cannot resolve the server: x" },
		{ false, CURLE_COULDNT_RESOLVE_PROXY, "x", 1, 0, -EHOSTUNREACH,
		  "GET k: cannot resolve the proxy: x" },
		{ false, CURLE_OPERATION_TIMEDOUT, "slow", 2, 0, -ETIMEDOUT,
		  "GET k: timed out: slow (2 attempts)" },
		{ true, CURLE_PEER_FAILED_VERIFICATION, "bad", 1, 0, -EACCES,
		  "s3://bucket/p: GET k: TLS: the API server's certificate is "
		  "not trusted (bad); check the CA" },
		{ false, CURLE_SSL_CACERT_BADFILE, "bad", 1, 0, -EACCES,
		  "GET k: TLS: the server's certificate is not trusted (bad)" },
		{ false, CURLE_SSL_CONNECT_ERROR, "hs", 1, 0, -EPROTO,
		  "GET k: TLS handshake failed: hs" },
		{ false, CURLE_SSL_CERTPROBLEM, "pem", 1, 0, -EINVAL,
		  "GET k: TLS: the client certificate or key is unusable: "
		  "pem" },
		{ false, CURLE_WRITE_ERROR, NULL, 1, 1024, -EFBIG,
		  "GET k: response larger than 1024 bytes" },
		{ false, CURLE_RECV_ERROR, "reset", 3, 0, -EIO,
		  "GET k: reset (3 attempts)" },
	};
	struct http *h = NULL, *plain = NULL;
	struct verror e;
	size_t i;

	CHECK_EQ_INT(http_new(&cfg, &h, &e), 0);
	CHECK_EQ_INT(http_new(&(struct http_config){ 0 }, &plain, &e), 0);
	CHECK_STREQ(http_name(h), "s3://bucket/p");
	CHECK_STREQ(http_name(plain), "");
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int r = http_transfer_error(cases[i].named ? h : plain, "GET",
					    "k", cases[i].curl, cases[i].words,
					    cases[i].attempts, cases[i].cap,
					    &e);

		CHECK_EQ_INT(r, cases[i].err);
		if (strncmp(e.msg, cases[i].msg, strlen(cases[i].msg))) {
			fprintf(stderr, "transfer case %zu: %s\n", i, e.msg);
			check_failures++;
		}
	}
	/* one attempt: no count */
	http_transfer_error(plain, "GET", "k", CURLE_RECV_ERROR, "x", 1, 0, &e);
	CHECK_STREQ(e.msg, "GET k: x");
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
