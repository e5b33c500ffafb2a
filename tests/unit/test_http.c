/* Unit tests of http/: the pure parts (the retry decision, Retry-After,
 * backoff bounds, the words of an error), then requests and streams
 * against a small scripted HTTP/1.1 server on a loopback port: ranges
 * (honoured or ignored by the server), a body cut and resumed, retries
 * of 503, a 404. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "common/macro.h"
#include "http/http_i.h"

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

/* --- a scripted server ------------------------------------------------- */

#define BODY_LEN 1000

enum mode { HONOUR_RANGE, IGNORE_RANGE, CUT_ONCE, BUSY_TWICE, NOT_FOUND };

static struct server {
	int fd;
	int port;
	pthread_t thread;
	enum mode mode;	  /* set before each case */
	int served;	  /* answers given in this case */
	char ranges[256]; /* the Range values seen, ';'-separated */
	char body[BODY_LEN];
} srv;

static void send_all(int fd, const void *p, size_t n)
{
	while (n) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

		if (k <= 0)
			return;
		p = (const char *)p + k;
		n -= (size_t)k;
	}
}

/* Reads one request's head; fills *from and *to (-1: no Range). */
static int read_request(int fd, long *from, long *to)
{
	static const char range[] = "\nRange: bytes=";
	char req[4096] = "", *r;
	size_t n = 0;

	*from = *to = -1;
	while (n < sizeof(req) - 1 && !strstr(req, "\r\n\r\n")) {
		ssize_t k = recv(fd, req + n, sizeof(req) - 1 - n, 0);

		if (k <= 0)
			return -1;
		n += (size_t)k;
		req[n] = '\0';
	}
	r = strcasestr(req, range);
	if (r) {
		size_t at = strlen(srv.ranges);

		*from = strtol(r + strlen(range), &r, 10);
		*to = *r == '-' && r[1] != '\r' ? strtol(r + 1, NULL, 10) : -1;
		snprintf(srv.ranges + at, sizeof(srv.ranges) - at, "%s%ld-%ld",
			 at ? ";" : "", *from, *to);
	}
	return 0;
}

static void answer(int fd)
{
	long from, to;
	char head[512];
	int n;

	if (read_request(fd, &from, &to) < 0)
		return;
	srv.served++;
	if (srv.mode == NOT_FOUND ||
	    (srv.mode == BUSY_TWICE && srv.served <= 2)) {
		n = snprintf(head, sizeof(head),
			     "HTTP/1.1 %s\r\nContent-Length: 4\r\n"
			     "Connection: close\r\n\r\nnope",
			     srv.mode == NOT_FOUND ? "404 Not Found" :
						     "503 Busy");
		send_all(fd, head, (size_t)n);
		return;
	}
	if (from >= 0 && srv.mode != IGNORE_RANGE) {
		if (to < 0 || to >= BODY_LEN)
			to = BODY_LEN - 1;
		n = snprintf(head, sizeof(head),
			     "HTTP/1.1 206 Partial Content\r\nETag: \"e1\"\r\n"
			     "Content-Range: bytes %ld-%ld/%d\r\n"
			     "Content-Length: %ld\r\nConnection: close\r\n\r\n",
			     from, to, BODY_LEN, to - from + 1);
		send_all(fd, head, (size_t)n);
		send_all(fd, srv.body + from, (size_t)(to - from + 1));
		return;
	}
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 200 OK\r\nETag: \"e1\"\r\n"
		     "Content-Length: %d\r\nConnection: close\r\n\r\n",
		     BODY_LEN);
	send_all(fd, head, (size_t)n);
	/* the first answer of CUT_ONCE stops half-way */
	send_all(fd, srv.body,
		 srv.mode == CUT_ONCE && srv.served == 1 ? BODY_LEN / 2 :
							   BODY_LEN);
}

static void *serve(void *unused)
{
	int c;

	(void)unused;
	while ((c = accept(srv.fd, NULL, NULL)) >= 0) {
		answer(c);
		shutdown(c, SHUT_RDWR);
		close(c);
	}
	return NULL;
}

static int server_start(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	size_t i;

	for (i = 0; i < BODY_LEN; i++)
		srv.body[i] = (char)('a' + i % 26);
	srv.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (srv.fd < 0 || bind(srv.fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(srv.fd, 16) ||
	    getsockname(srv.fd, (struct sockaddr *)&a, &len))
		return -1;
	srv.port = ntohs(a.sin_port);
	return pthread_create(&srv.thread, NULL, serve, NULL) ? -1 : 0;
}

static void server_stop(void)
{
	shutdown(srv.fd, SHUT_RDWR);
	close(srv.fd);
	pthread_join(srv.thread, NULL);
}

static void server_case(enum mode m)
{
	srv.mode = m;
	srv.served = 0;
	srv.ranges[0] = '\0';
}

/* Streams req to the end into out (up to max); returns the length or
 * -errno. */
static long stream_all(struct http *h, const struct http_request *req,
		       char *out, size_t max, struct verror *e)
{
	struct http_stream *s = NULL;
	size_t got = 0;
	ssize_t n;
	int r = http_stream_open(h, req, NULL, &s, e);

	if (r < 0)
		return r;
	/* small reads: the transfer pauses and resumes many times */
	while ((n = http_stream_read(s, out + got, MIN(max - got, 7), e)) > 0)
		got += (size_t)n;
	http_stream_free(s);
	return n < 0 ? n : (long)got;
}

static void test_requests(void)
{
	static const struct http_retry quick = { .backoff_ms = 1,
						 .backoff_max_ms = 2 };
	struct http_config cfg = { .name = "t", .retry = quick };
	char url[64], out[BODY_LEN];
	struct http_response resp;
	struct http_request req;
	struct http *h = NULL;
	struct verror e;
	struct sbuf body;

	if (server_start() < 0) {
		fprintf(stderr, "no loopback server: skipping requests\n");
		return;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/obj", srv.port);
	CHECK_EQ_INT(http_new(&cfg, &h, &e), 0);
	req = (struct http_request){ .method = "GET",
				     .url = url,
				     .what = "obj" };
	sbuf_init(&body, BODY_LEN);

	/* a whole body; then one over the cap */
	server_case(HONOUR_RANGE);
	CHECK_EQ_INT(http_do(h, &req, &body, &resp, &e), 0);
	CHECK_EQ_INT(resp.status, 200);
	CHECK_EQ_INT(resp.attempts, 1);
	CHECK(body.len == BODY_LEN && !memcmp(body.buf, srv.body, BODY_LEN));
	sbuf_release(&body);
	sbuf_init(&body, BODY_LEN - 1);
	CHECK_EQ_INT(http_do(h, &req, &body, &resp, &e), -EFBIG);
	CHECK_EQ_INT(body.len, 0);
	sbuf_release(&body);

	/* 503 twice, then the answer */
	server_case(BUSY_TWICE);
	sbuf_init(&body, BODY_LEN);
	CHECK_EQ_INT(http_do(h, &req, &body, &resp, &e), 0);
	CHECK_EQ_INT(resp.status, 200);
	CHECK_EQ_INT(resp.attempts, 3);
	CHECK_EQ_INT(srv.served, 3);

	/* 404: an answer for http_do, an error for a stream */
	server_case(NOT_FOUND);
	CHECK_EQ_INT(http_do(h, &req, &body, &resp, &e), 0);
	CHECK_EQ_INT(resp.status, 404);
	CHECK_EQ_INT(srv.served, 1);
	CHECK_EQ_INT(stream_all(h, &req, out, sizeof(out), &e), -ENOENT);
	CHECK_STREQ(e.msg, "t: GET obj: HTTP 404 Not Found");
	sbuf_release(&body);

	/* a range, honoured, then ignored by the server */
	req.range_from = 100;
	req.range_len = 50;
	server_case(HONOUR_RANGE);
	CHECK_EQ_INT(stream_all(h, &req, out, sizeof(out), &e), 50);
	CHECK(!memcmp(out, srv.body + 100, 50));
	CHECK_STREQ(srv.ranges, "100-149");
	server_case(IGNORE_RANGE);
	CHECK_EQ_INT(stream_all(h, &req, out, sizeof(out), &e), 50);
	CHECK(!memcmp(out, srv.body + 100, 50));
	/* from an offset to the end */
	req.range_len = 0;
	server_case(HONOUR_RANGE);
	CHECK_EQ_INT(stream_all(h, &req, out, sizeof(out), &e), BODY_LEN - 100);
	CHECK(!memcmp(out, srv.body + 100, BODY_LEN - 100));
	CHECK_STREQ(srv.ranges, "100--1");

	/* a body cut half-way is resumed from the byte reached */
	req.range_from = 0;
	server_case(CUT_ONCE);
	CHECK_EQ_INT(stream_all(h, &req, out, sizeof(out), &e), BODY_LEN);
	CHECK(!memcmp(out, srv.body, BODY_LEN));
	CHECK_EQ_INT(srv.served, 2);
	CHECK_STREQ(srv.ranges, "500--1");

	http_free(h);
	server_stop();
}

int main(void)
{
	test_retry_decision();
	test_retry_after();
	test_backoff();
	test_status_words();
	test_transfer_words();
	test_requests();
	return check_status();
}
