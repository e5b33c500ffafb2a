/* Unit tests for backup/filter.c: the clean and redacted views. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backup/render_i.h"
#include "check.h"

static char *run(const char *in, bool secret, bool clean, bool keep_status,
		 bool redact, int *r)
{
	struct filter_options o = { clean, keep_status, redact };
	struct sbuf out;

	sbuf_init(&out, 0);
	*r = filter_item(in, strlen(in), secret, &o, &out);
	return sbuf_take(&out, NULL);
}

static void expect(const char *in, bool secret, bool clean, bool keep,
		   bool redact, const char *want)
{
	int r;
	char *got = run(in, secret, clean, keep, redact, &r);

	CHECK_EQ_INT(r, 0);
	CHECK_STREQ(got, want);
	free(got);
}

/* sha256("c2VjcmV0") */
#define D1                  \
	"<redacted sha256:" \
	"1c1185e02ff3e23b3e5a1c5bc86cf15d4126caa3dcde0fdb6e93adc4deec119e>"

int main(void)
{
	char *got;
	int r;

	/* clean: noise out, everything else byte for byte (numbers too) */
	expect("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
	       "\"creationTimestamp\":\"2026-01-01T00:00:00Z\",\"generation\":"
	       "3,"
	       "\"managedFields\":[{\"a\":1}],\"name\":\"x\","
	       "\"resourceVersion\":"
	       "\"7\",\"uid\":\"u\"},\"spec\":{\"n\":1.50e+3,\"big\":"
	       "123456789012345678901234567890},\"status\":{\"ok\":true}}",
	       false, true, false, false,
	       "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
	       "\"name\":\"x\"},\"spec\":{\"n\":1.50e+3,\"big\":"
	       "123456789012345678901234567890}}");
	/* keep_status */
	expect("{\"metadata\":{\"uid\":\"u\"},\"status\":{\"a\":[1,2]}}", false,
	       true, true, false, "{\"metadata\":{},\"status\":{\"a\":[1,2]}}");
	/* an annotations object left empty goes; others stay */
	expect("{\"metadata\":{\"annotations\":{\"kubectl.kubernetes.io/"
	       "last-applied-configuration\":\"{}\"},\"name\":\"a\"}}",
	       false, true, false, false, "{\"metadata\":{\"name\":\"a\"}}");
	expect("{\"metadata\":{\"name\":\"a\",\"annotations\":{\"kubectl."
	       "kubernetes.io/"
	       "last-applied-configuration\":\"{}\",\"x\":\"y\"}}}",
	       false, true, false, false,
	       "{\"metadata\":{\"name\":\"a\",\"annotations\":{\"x\":\"y\"}}}");
	/* redact: Secret values and the last-applied copy of them */
	expect("{\"data\":{\"p\":\"c2VjcmV0\"},\"kind\":\"Secret\","
	       "\"metadata\":"
	       "{\"annotations\":{\"kubectl.kubernetes.io/last-applied-"
	       "configuration\":\"c2VjcmV0\"}},\"stringData\":{\"q\":"
	       "\"c2VjcmV0\"}}",
	       true, false, false, true,
	       "{\"data\":{\"p\":\"" D1 "\"},\"kind\":\"Secret\",\"metadata\":"
	       "{\"annotations\":{\"kubectl.kubernetes.io/last-applied-"
	       "configuration\":\"" D1 "\"}},\"stringData\":{\"q\":\"" D1 "\"}"
	       "}");
	/* keys read as JSON readers decode them, values of any type (all
	 * found by fuzz/fuzz_filter): nothing of a Secret's data in clear */
	expect("{\"d\\u0061ta\":{\"p\":\"c2VjcmV0\"},\"stringData\":{\"n\":"
	       "123,\"o\":{\"x\":\"c2VjcmV0\"}}}",
	       true, false, false, true,
	       "{\"d\\u0061ta\":{\"p\":\"" D1 "\"},\"stringData\":{\"n\":"
	       "\"<redacted sha256:a665a45920422f9d417e4867efdc4fb8a04a1f3fff1f"
	       "a07e998e86f7f7a27ae3>\",\"o\":\"<redacted sha256:c9f8eb725210"
	       "a3b1a3529262bc47670d53606e355484178df686a56fd368e0b6>\"}}");
	expect("{\"data\":\"c2VjcmV0\",\"m\\u0065tadata\":{\"\\u0075id\":"
	       "\"u\"}}",
	       true, true, false, true,
	       "{\"data\":\"" D1 "\",\"m\\u0065tadata\":{}}");
	/* not a Secret: data untouched */
	expect("{\"data\":{\"p\":\"c2VjcmV0\"}}", false, false, false, true,
	       "{\"data\":{\"p\":\"c2VjcmV0\"}}");
	/* whitespace and escapes in keys survive */
	expect("{ \"a\\\"b\" : [ 1 , {\"c\":null} ] , \"status\" : 1 }", false,
	       true, false, false, "{\"a\\\"b\":[ 1 , {\"c\":null} ]}");
	/* a top-level array is shown as it is */
	expect("[1,2]", false, true, false, true, "[1,2]");
	/* malformed input is refused, never overrun */
	got = run("{\"metadata\":{\"uid\":\"u\"", false, true, false, false,
		  &r);
	CHECK_EQ_INT(r, -EBADMSG);
	free(got);
	got = run("{\"a\":\"unterminated}", false, true, false, false, &r);
	CHECK_EQ_INT(r, -EBADMSG);
	free(got);
	got = run("{\"a\":1} x", false, true, false, false, &r);
	CHECK_EQ_INT(r, -EBADMSG);
	free(got);
	return check_status();
}
