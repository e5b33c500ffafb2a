/* Unit tests for vault/s3's Signature Version 4 signer, against the
 * published AWS SigV4 test suite (aws-sig-v4-test-suite: credentials
 * AKIDEXAMPLE, 20150830T123600Z, us-east-1, service "service") and the
 * S3 documentation's signed examples (examplebucket, 20130524). */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "vault/s3_i.h"

#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_PREFIX                                                          \
	"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/" \
	"aws4_request, SignedHeaders="
#define EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct vec {
	const char *name, *method, *path, *query;
	struct sigv4_header h[6];
	size_t nh;
	const char *payload_hash;
	const char *signed_headers, *signature;
};

static void run(const struct vec *v, struct sbuf *creq, struct sbuf *sts)
{
	struct sigv4_header h[8];
	struct sbuf authz;
	char want[512];
	size_t i, n = 0;
	struct sigv4_input in = {
		.method = v->method,
		.path = v->path,
		.query = v->query,
		.headers = h,
		.payload_hash = v->payload_hash ? v->payload_hash : EMPTY,
		.region = "us-east-1",
		.service = "service",
		.amz_date = "20150830T123600Z",
		.access_key = "AKIDEXAMPLE",
		.secret_key = SUITE_SECRET,
	};

	h[n++] = (struct sigv4_header){ "Host", "example.amazonaws.com" };
	for (i = 0; i < v->nh; i++)
		h[n++] = v->h[i];
	h[n++] = (struct sigv4_header){ "X-Amz-Date", "20150830T123600Z" };
	in.n_headers = n;
	sbuf_init(&authz, 0);
	CHECK_EQ_INT(sigv4_sign(&in, creq, sts, &authz), 0);
	snprintf(want, sizeof(want), SUITE_PREFIX "%s, Signature=%s",
		 v->signed_headers, v->signature);
	if (strcmp(sbuf_str(&authz), want) != 0)
		fprintf(stderr, "vector %s:\n%s\n", v->name, sbuf_str(creq));
	CHECK_STREQ(sbuf_str(&authz), want);
	sbuf_release(&authz);
}

static const struct vec suite[] = {
	{ "get-vanilla",
	  "GET",
	  "/",
	  NULL,
	  { { 0 } },
	  0,
	  NULL,
	  "host;x-amz-date",
	  "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },
	{ "get-vanilla-query",
	  "GET",
	  "/",
	  "",
	  { { 0 } },
	  0,
	  NULL,
	  "host;x-amz-date",
	  "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },
	{ "get-vanilla-query-order-key-case",
	  "GET",
	  "/",
	  "Param2=value2&Param1=value1",
	  { { 0 } },
	  0,
	  NULL,
	  "host;x-amz-date",
	  "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500" },
	{ "get-vanilla-query-order-value",
	  "GET",
	  "/",
	  "Param1=value2&Param1=value1",
	  { { 0 } },
	  0,
	  NULL,
	  "host;x-amz-date",
	  "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694" },
	{ "get-vanilla-utf8-query",
	  "GET",
	  "/",
	  "%E1%88%B4=bar",
	  { { 0 } },
	  0,
	  NULL,
	  "host;x-amz-date",
	  "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04" },
	{ "get-unreserved",
	  "GET",
	  "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
	  NULL,
	  { { 0 } },
	  0,
	  NULL,
	  "host;x-amz-date",
	  "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f" },
	{ "get-header-key-duplicate",
	  "GET",
	  "/",
	  NULL,
	  { { "My-Header1", "value2" },
	    { "My-Header1", "value2" },
	    { "My-Header1", "value1" } },
	  3,
	  NULL,
	  "host;my-header1;x-amz-date",
	  "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea" },
	{ "get-header-value-order",
	  "GET",
	  "/",
	  NULL,
	  { { "My-Header1", "value4" },
	    { "My-Header1", "value1" },
	    { "My-Header1", "value3" },
	    { "My-Header1", "value2" } },
	  4,
	  NULL,
	  "host;my-header1;x-amz-date",
	  "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01" },
	{ "get-header-value-trim",
	  "GET",
	  "/",
	  NULL,
	  { { "My-Header1", " value1" }, { "My-Header2", "\"a   b   c\"" } },
	  2,
	  NULL,
	  "host;my-header1;my-header2;x-amz-date",
	  "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736" },
	{ "post-x-www-form-urlencoded",
	  "POST",
	  "/",
	  NULL,
	  { { "Content-Type", "application/x-www-form-urlencoded" } },
	  1,
	  "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
	  "content-type;host;x-amz-date",
	  "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a" },
};

static void test_suite(void)
{
	struct sbuf creq, sts;
	size_t i;

	sbuf_init(&creq, 0);
	sbuf_init(&sts, 0);
	for (i = 0; i < ARRAY_SIZE(suite); i++)
		run(&suite[i], &creq, &sts);

	/* get-vanilla-query-order-key-case: each product on its own */
	run(&suite[2], &creq, &sts);
	CHECK_STREQ(sbuf_str(&creq), "GET\n/\nParam1=value1&Param2=value2\n"
				     "host:example.amazonaws.com\n"
				     "x-amz-date:20150830T123600Z\n\n"
				     "host;x-amz-date\n" EMPTY);
	CHECK_STREQ(sbuf_str(&sts), "AWS4-HMAC-SHA256\n20150830T123600Z\n"
				    "20150830/us-east-1/service/aws4_request\n"
				    "816cd5b414d056048ba4f7c5386d6e0533120fb1fc"
				    "fa93762cf0fc3"
				    "9e2cf19e0");
	/* get-header-value-trim: the canonical headers */
	run(&suite[8], &creq, &sts);
	CHECK(strstr(sbuf_str(&creq), "my-header1:value1\nmy-header2:\"a b "
				      "c\"\n") != NULL);
	sbuf_release(&creq);
	sbuf_release(&sts);
}

/* get-space and get-utf8: the canonical URI line (S3 style: encoded
 * once, not normalised), and a key with spaces and non-ASCII. */
static void test_paths(void)
{
	static const char *const cases[][2] = {
		{ "/example space/", "/example%20space/" },
		{ "/\xE1\x88\xB4", "/%E1%88%B4" },
		{ "/velero/backups/b 1/caf\xC3\xA9+x=y.tar.gz", "/velero/"
								"backups/b%201/"
								"caf%C3%A9%2Bx%"
								"3Dy.tar.gz" },
		{ "/a%2Fb", "/a%252Fb" },
	};
	struct sbuf creq;
	size_t i;

	sbuf_init(&creq, 0);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sigv4_header h[] = { { "host", "h" } };
		struct sigv4_input in = {
			.method = "GET",
			.path = cases[i][0],
			.headers = h,
			.n_headers = 1,
			.payload_hash = EMPTY,
			.region = "us-east-1",
			.service = "s3",
			.amz_date = "20150830T123600Z",
			.access_key = "A",
			.secret_key = "S",
		};
		char want[256];

		CHECK_EQ_INT(sigv4_sign(&in, &creq, NULL, NULL), 0);
		snprintf(want, sizeof(want), "GET\n%s\n\n", cases[i][1]);
		CHECK(strncmp(sbuf_str(&creq), want, strlen(want)) == 0);
	}
	sbuf_release(&creq);
}

/* The S3 API reference, "Signature Calculations for the Authorization
 * Header", Example: GET Object and Example: GET Bucket (List Objects). */
static void test_s3_examples(void)
{
	struct sigv4_header h[] = {
		{ "Host", "examplebucket.s3.amazonaws.com" },
		{ "Range", "bytes=0-9" },
		{ "x-amz-content-sha256", EMPTY },
		{ "x-amz-date", "20130524T000000Z" },
	};
	struct sigv4_input in = {
		.method = "GET",
		.path = "/test.txt",
		.headers = h,
		.n_headers = 4,
		.payload_hash = EMPTY,
		.region = "us-east-1",
		.service = "s3",
		.amz_date = "20130524T000000Z",
		.access_key = "AKIAIOSFODNN7EXAMPLE",
		.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	};
	struct sbuf sts, authz;

	sbuf_init(&sts, 0);
	sbuf_init(&authz, 0);
	CHECK_EQ_INT(sigv4_sign(&in, NULL, &sts, &authz), 0);
	CHECK_STREQ(sbuf_str(&sts), "AWS4-HMAC-SHA256\n20130524T000000Z\n"
				    "20130524/us-east-1/s3/aws4_request\n"
				    "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff"
				    "95c48bbb2dc43"
				    "964946972");
	CHECK_STREQ(sbuf_str(&authz),
		    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/"
		    "us-east-1/s3/aws4_request, SignedHeaders=host;range;"
		    "x-amz-content-sha256;x-amz-date, Signature="
		    "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c60"
		    "36bdb41");

	/* List Objects: GET /?max-keys=2&prefix=J, no Range */
	h[1] = h[2];
	h[2] = h[3];
	in.n_headers = 3;
	in.path = "/";
	in.query = "max-keys=2&prefix=J";
	CHECK_EQ_INT(sigv4_sign(&in, NULL, NULL, &authz), 0);
	CHECK(strstr(sbuf_str(&authz), "Signature="
				       "34b48302e7b5fa45bde8084f4b7868a86f0a534"
				       "bc59db66"
				       "70ed5711ef69dc6f7") != NULL);
	sbuf_release(&sts);
	sbuf_release(&authz);
}

static void test_session_token_and_errors(void)
{
	struct sigv4_header h[] = {
		{ "host", "example.amazonaws.com" },
		{ "x-amz-date", "20150830T123600Z" },
		{ "x-amz-security-token", "TOKEN" },
	};
	struct sigv4_input in = {
		.method = "GET",
		.path = "/",
		.headers = h,
		.n_headers = 3,
		.payload_hash = EMPTY,
		.region = "us-east-1",
		.service = "service",
		.amz_date = "20150830T123600Z",
		.access_key = "AKIDEXAMPLE",
		.secret_key = SUITE_SECRET,
	};
	struct sbuf authz;

	sbuf_init(&authz, 0);
	CHECK_EQ_INT(sigv4_sign(&in, NULL, NULL, &authz), 0);
	CHECK(strstr(sbuf_str(&authz), "SignedHeaders=host;x-amz-date;x-amz-"
				       "security-token,") != NULL);
	CHECK(strstr(sbuf_str(&authz), "TOKEN") == NULL);
	/* a bad escape in the query */
	in.query = "a=%zz";
	CHECK_EQ_INT(sigv4_sign(&in, NULL, NULL, &authz), -EINVAL);
	in.query = "a=%00";
	CHECK_EQ_INT(sigv4_sign(&in, NULL, NULL, &authz), -EINVAL);
	sbuf_release(&authz);
}

int main(void)
{
	test_suite();
	test_paths();
	test_s3_examples();
	test_session_token_and_errors();
	return check_status();
}
