/* Unit tests for the small helpers in common/: RFC 3339 times, the
 * monotonic clock, FNV-1a, base64, DNS names, the YAML reader. (The
 * reader's callers test it further: test_restore_parse.c with kubectl's
 * scalar rules, test_kube.c with kubeconfig's.) */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/base64.h"
#include "common/clock.h"
#include "common/dns.h"
#include "common/hash.h"
#include "common/rfc3339.h"
#include "common/yread.h"

/* ---- rfc3339 ----------------------------------------------------------- */

static int t3339(const char *s, int64_t *secs, uint32_t *nsec)
{
	return rfc3339_parse(s, strlen(s), secs, nsec);
}

static void test_rfc3339(void)
{
	static const char *const bad[] = {
		"",
		"2026-11-21",
		"2026-11-21T10:00:00",	/* no zone */
		"2026-11-21 10:00:00Z", /* no T */
		"2026-11-21t10:00:00Z", /* Go wants upper case */
		"2026-11-21T10:00:00z",
		"2026-11-21T10:00:00+9x:zz", /* offset not digits */
		"2026-11-21T10:00:00+09:zz",
		"2026-11-21T10:00:00+0900",  /* no colon */
		"2026-11-21T10:00:00+09:0",  /* short */
		"2026-11-21T10:00:00+24:00", /* hour out of range */
		"2026-11-21T10:00:00+09:60",
		"2026-11-21T10:00:00Zjunk", /* trailing bytes */
		"2026-11-21T10:00:00+09:00 ",
		"2026-11-21T10:00:00.Z", /* empty fraction */
		"2026-13-01T00:00:00Z",	 /* month */
		"2026-00-01T00:00:00Z",
		"2026-02-29T00:00:00Z", /* not a leap year */
		"1900-02-29T00:00:00Z",
		"2026-04-31T00:00:00Z",
		"2026-11-00T00:00:00Z",
		"2026-11-21T24:00:00Z",
		"2026-11-21T10:60:00Z",
		"2026-11-21T10:00:60Z", /* leap second */
		"+026-11-21T10:00:00Z",
		"2026-1-21T10:00:00Z",
		"２026-11-21T10:00:00Z",
	};
	static const struct {
		const char *s;
		int64_t secs;
		uint32_t nsec;
	} good[] = {
		{ "1970-01-01T00:00:00Z", 0, 0 },
		{ "2026-11-21T10:00:00Z", 1795255200, 0 },
		/* offsets are applied: the same instant */
		{ "2026-11-21T12:30:00+02:30", 1795255200, 0 },
		{ "2026-11-21T05:00:00-05:00", 1795255200, 0 },
		/* fractions: up to nanoseconds, more digits dropped, ','
		 * allowed */
		{ "2026-11-21T10:00:00.5Z", 1795255200, 500000000 },
		{ "2026-11-21T10:00:00,123456789123+00:00", 1795255200,
		  123456789 },
		/* leap days, before the epoch, the far ends */
		{ "2024-02-29T00:00:00Z", 1709164800, 0 },
		{ "2000-02-29T23:59:59Z", 951868799, 0 },
		{ "1969-12-31T23:59:59Z", -1, 0 },
		{ "0000-01-01T00:00:00Z", -62167219200LL, 0 },
		{ "9999-12-31T23:59:59Z", 253402300799LL, 0 },
	};
	int64_t secs = 42;
	uint32_t nsec = 7;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (t3339(good[i].s, &secs, &nsec) != 0 ||
		    secs != good[i].secs || nsec != good[i].nsec) {
			fprintf(stderr, "rfc3339: \"%s\" gave %lld.%09u\n",
				good[i].s, (long long)secs, (unsigned)nsec);
			check_failures++;
		}
	}
	CHECK_EQ_INT(t3339("2026-11-21T10:00:00Z", &secs, NULL), 0);
	/* only n bytes are read */
	CHECK_EQ_INT(rfc3339_parse("2026-11-21T10:00:00Zjunk", 20, &secs, NULL),
		     0);
	CHECK_EQ_INT(secs, 1795255200);

	/* bad input: -EINVAL, out-parameters untouched */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		secs = 42;
		nsec = 7;
		if (t3339(bad[i], &secs, &nsec) != -EINVAL || secs != 42 ||
		    nsec != 7) {
			fprintf(stderr, "rfc3339: \"%s\" accepted\n", bad[i]);
			check_failures++;
		}
	}
	CHECK_EQ_INT(rfc3339_parse(NULL, 0, &secs, NULL), -EINVAL);

	/* the calendar both ways */
	for (int64_t z = -800000; z < 3000000; z += 997) {
		int64_t y;
		unsigned m, d;

		rfc3339_civil_from_days(z, &y, &m, &d);
		if (rfc3339_days_from_civil(y, m, d) != z) {
			fprintf(stderr, "calendar: day %lld\n", (long long)z);
			check_failures++;
			break;
		}
	}
}

/* ---- clock ------------------------------------------------------------- */

static void test_clock(void)
{
	int64_t t0 = clock_now_ms(), t1;

	CHECK(t0 >= 0);
	clock_sleep_ms(0);
	clock_sleep_ms(-5);
	clock_sleep_ms(20);
	t1 = clock_now_ms();
	/* at least the time asked for; no upper bound on a loaded machine */
	CHECK(t1 - t0 >= 20);
}

/* ---- hash -------------------------------------------------------------- */

static void test_hash(void)
{
	/* the reference vectors of the FNV authors */
	CHECK(fnv1a32("", 0) == 0x811c9dc5u);
	CHECK(fnv1a32("a", 1) == 0xe40c292cu);
	CHECK(fnv1a32("foobar", 6) == 0xbf9cf968u);
	CHECK(fnv1a64("", 0) == 0xcbf29ce484222325ull);
	CHECK(fnv1a64("a", 1) == 0xaf63dc4c8601ec8cull);
	CHECK(fnv1a64("foobar", 6) == 0x85944171f73967e8ull);
	/* continuing is the same as hashing at once */
	CHECK(fnv1a64_add(fnv1a64("foo", 3), "bar", 3) == fnv1a64("foobar", 6));
	CHECK(fnv1a32_add(fnv1a32("foo", 3), "bar", 3) == fnv1a32("foobar", 6));
	/* bytes above 0x7f are not sign-extended */
	CHECK(fnv1a32("\xff", 1) == ((0x811c9dc5u ^ 0xffu) * 16777619u));
}

/* ---- base64 ------------------------------------------------------------ */

static long dec(const char *s, unsigned flags, char *out, size_t max)
{
	long n = base64_decode(s, strlen(s), flags, (unsigned char *)out, max);

	if (n >= 0)
		out[n] = '\0';
	return n;
}

static void test_base64(void)
{
	static const char *const plain[] = { "",     "f",     "fo",    "foo",
					     "foob", "fooba", "foobar" };
	static const char *const enc[] = {
		"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"
	};
	char buf[64], out[64];
	size_t i;

	/* RFC 4648's vectors, both ways, both modes */
	for (i = 0; i < 7; i++) {
		CHECK_EQ_INT(base64_encode(plain[i], strlen(plain[i]), buf),
			     strlen(enc[i]));
		CHECK_STREQ(buf, enc[i]);
		CHECK_EQ_INT(BASE64_LEN(strlen(plain[i])), strlen(enc[i]));
		CHECK_EQ_INT(dec(enc[i], 0, out, sizeof(out)),
			     strlen(plain[i]));
		CHECK_STREQ(out, plain[i]);
		CHECK_EQ_INT(dec(enc[i], BASE64_STRICT, out, sizeof(out)),
			     strlen(plain[i]));
		CHECK_STREQ(out, plain[i]);
	}
	/* all byte values */
	{
		unsigned char all[256], back[256];
		char e[BASE64_LEN(256) + 1];

		for (i = 0; i < 256; i++)
			all[i] = (unsigned char)i;
		base64_encode(all, 256, e);
		CHECK_EQ_INT(base64_decode(e, strlen(e), BASE64_STRICT, back,
					   sizeof(back)),
			     256);
		CHECK(!memcmp(all, back, 256));
	}
	/* lenient: blanks skipped, padding optional */
	CHECK_EQ_INT(dec("Zm9v\nYmE", 0, out, sizeof(out)), 5);
	CHECK_STREQ(out, "fooba");
	CHECK_EQ_INT(dec(" Zm 9v\r\n\tYg== ", 0, out, sizeof(out)), 4);
	/* strict: neither */
	CHECK_EQ_INT(dec("Zm9v\nYmE", BASE64_STRICT, out, sizeof(out)),
		     -EINVAL);
	CHECK_EQ_INT(dec("Zm9vYmE", BASE64_STRICT, out, sizeof(out)), -EINVAL);
	CHECK_EQ_INT(dec("Zg", BASE64_STRICT, out, sizeof(out)), -EINVAL);
	/* never: bad characters, data after padding, too much padding, a
	 * lone 6-bit group */
	for (unsigned f = 0; f <= BASE64_STRICT; f++) {
		CHECK_EQ_INT(dec("Zm9*", f, out, sizeof(out)), -EINVAL);
		CHECK_EQ_INT(dec("Zm-_", f, out, sizeof(out)), -EINVAL);
		CHECK_EQ_INT(dec("Zg==Zg==", f, out, sizeof(out)), -EINVAL);
		CHECK_EQ_INT(dec("Zm=v", f, out, sizeof(out)), -EINVAL);
		CHECK_EQ_INT(dec("Z===", f, out, sizeof(out)), -EINVAL);
		CHECK_EQ_INT(dec("Zm9vY", f, out, sizeof(out)), -EINVAL);
		CHECK_EQ_INT(dec("====", f, out, sizeof(out)), -EINVAL);
		CHECK_EQ_INT(base64_decode("Zm\0v", 4, f, (unsigned char *)out,
					   sizeof(out)),
			     -EINVAL);
	}
	/* the output cap */
	CHECK_EQ_INT(dec("Zm9vYmFy", 0, out, 6), 6);
	CHECK_EQ_INT(dec("Zm9vYmFy", 0, out, 5), -E2BIG);
	CHECK_EQ_INT(dec("Zm9vYmFy", BASE64_STRICT, out, 0), -E2BIG);
}

/* ---- dns --------------------------------------------------------------- */

static void test_dns(void)
{
	static const struct {
		const char *s;
		bool label, subdomain;
	} names[] = {
		{ "a", true, true },
		{ "0", true, true },
		{ "kube-system", true, true },
		{ "a-1-b", true, true },
		{ "apps", true, true },
		{ "velero.io", false, true },
		{ "a-b.c-d.example.com", false, true },
		{ "1.2.3", false, true },
		{ "", false, false },
		{ "-a", false, false },
		{ "a-", false, false },
		{ "Shop", false, false },
		{ "a_b", false, false },
		{ "a b", false, false },
		{ "\xc3\xa9", false, false },
		{ ".apps", false, false },
		{ "apps.", false, false },
		{ "a..b", false, false },
		{ "a.-b", false, false },
		{ "a-.b", false, false },
		{ "Velero.io", false, false },
		{ "a/b", false, false },
	};
	char big[300];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i].s);

		if (dns_label_ok(names[i].s, n) != names[i].label ||
		    dns_subdomain_ok(names[i].s, n) != names[i].subdomain) {
			fprintf(stderr, "dns: \"%s\" misjudged\n", names[i].s);
			check_failures++;
		}
	}
	CHECK(!dns_label_ok("a\0b", 3));
	memset(big, 'a', sizeof(big));
	CHECK(dns_label_ok(big, 63));
	CHECK(!dns_label_ok(big, 64));
	CHECK(dns_subdomain_ok(big, 253));
	CHECK(!dns_subdomain_ok(big, 254));
	/* only n bytes are read */
	CHECK(dns_subdomain_ok("apps/v1", 4));
	CHECK(dns_label_ok("shop-", 4));
}

/* ---- yread ------------------------------------------------------------- */

/* The first document of s as compact JSON with sorted keys (caller
 * frees), or NULL with *r and *ye. */
static char *yjson(const char *s, const struct yread_options *o, int *r,
		   struct yread_error *ye)
{
	struct yread *y;
	json_t *doc = NULL;
	char *out = NULL;

	*r = yread_new(s, strlen(s), o, &y);
	if (*r < 0)
		return NULL;
	*r = yread_start(y, NULL, NULL, ye);
	if (*r > 0)
		*r = yread_doc(y, &doc, ye);
	yread_free(y);
	if (*r >= 0 && doc)
		out = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS |
					      JSON_ENCODE_ANY);
	json_decref(doc);
	return out;
}

static void check_y(const char *in, const struct yread_options *o,
		    const char *want)
{
	struct yread_error ye = { 0 };
	int r;
	char *got = yjson(in, o, &r, &ye);

	if (!got || strcmp(got, want)) {
		fprintf(stderr,
			"yread: \"%s\" gave %s (r=%d %s), expected %s\n", in,
			got ? got : "nothing", r, ye.detail, want);
		check_failures++;
	}
	free(got);
}

static void check_yerr(const char *in, const struct yread_options *o, int err,
		       enum yread_problem what, size_t line, size_t col)
{
	struct yread_error ye = { 0 };
	int r;
	char *got = yjson(in, o, &r, &ye);

	if (got || r != err || ye.what != what || ye.line != line ||
	    ye.column != col) {
		fprintf(stderr,
			"yread: \"%s\": r=%d what=%d at %zu:%zu, expected "
			"r=%d what=%d at %zu:%zu\n",
			in, r, (int)ye.what, ye.line, ye.column, err, (int)what,
			line, col);
		check_failures++;
	}
	free(got);
}

static void test_yread(void)
{
	struct yread_options go = { .scalars = YREAD_GO_YAML,
				    .flags = YREAD_MERGE_KEYS |
					     YREAD_COPY_ALIASES };
	struct yread_options core = { .scalars = YREAD_CORE };
	struct yread_options str = { .scalars = YREAD_STRINGS };
	struct yread_error ye;
	struct yread *y;
	json_t *doc;
	size_t line, col;

	/* the three ways of resolving plain scalars */
	check_y("[yes, 0b11, 0x1F, 1_000, 1e3, 2024-01-15, ~, '1', !!str 2]",
		&go,
		"[true,3,31,1000,1000,\"2024-01-15T00:00:00Z\",null,"
		"\"1\",\"2\"]");
	check_y("[yes, 0x1F, 1.5, true, ~, 99999999999999999999]", &core,
		"[\"yes\",31,1.5,true,null,\"99999999999999999999\"]");
	check_y("[yes, 0x1F, 1.5, true, ~, '', null]", &str,
		"[\"yes\",\"0x1F\",\"1.5\",\"true\",null,\"\",null]");
	/* keys: non-strings become their text */
	check_y("{1: a, true: b, ~: c}", &go,
		"{\"1\":\"a\",\"null\":\"c\",\"true\":\"b\"}");
	/* merge keys on request, else an ordinary key */
	check_y("{a: &m {x: 1, z: 2}, b: {<<: *m, z: 3}}", &go,
		"{\"a\":{\"x\":1,\"z\":2},\"b\":{\"x\":1,\"z\":3}}");
	check_y("{a: &m {x: 1}, b: {<<: *m}}", &core,
		"{\"a\":{\"x\":1},\"b\":{\"<<\":{\"x\":1}}}");
	/* empty stream and empty document */
	check_y("# nothing\n---\n", &go, "null");

	/* problems, with their positions */
	check_yerr("a: 1\nb: [1, 2\nc: 3\n", &go, -EBADMSG, YREAD_SYNTAX, 3, 2);
	check_yerr("a: 1\nb: 2\na: 3\n", &go, -EBADMSG, YREAD_DUP_KEY, 3, 1);
	check_yerr("x: 1\n? [a]\n: 1\n", &go, -EBADMSG, YREAD_KEY_NOT_SCALAR, 2,
		   3);
	check_yerr("\"b\\0c\": 1\n", &go, -EBADMSG, YREAD_KEY_NUL, 1, 1);
	check_yerr("a: &x [*x]\n", &go, -EBADMSG, YREAD_ANCHOR, 1, 8);
	check_yerr("a: .inf\n", &go, -EBADMSG, YREAD_NOT_NUMBER, 1, 4);
	check_yerr("a: {<<: [1]}\n", &go, -EBADMSG, YREAD_MERGE, 1, 13);

	/* nesting: collections max_depth deep are refused, scalars not */
	go.max_depth = 2;
	check_y("[[1]]", &go, "[[1]]");
	check_yerr("[[[1]]]", &go, -EBADMSG, YREAD_DEPTH, 1, 3);
	go.max_depth = 0;
	{
		char deep[100001];

		memset(deep, '[', sizeof(deep) - 1);
		deep[sizeof(deep) - 1] = '\0';
		check_yerr(deep, &go, -EBADMSG, YREAD_DEPTH, 1, 65);
	}

	/* the node budget: values, keys, aliases; copies charge their size */
	go.max_nodes = 5;
	check_y("[1, 2, 3, 4]", &go, "[1,2,3,4]");
	check_yerr("[1, 2, 3, 4, 5]", &go, -E2BIG, YREAD_NODES, 1, 14);
	go.max_nodes = 9;
	check_y("[&a [1, 2], *a]", &go, "[[1,2],[1,2]]");
	go.max_nodes = 8;
	check_yerr("[&a [1, 2], *a]", &go, -E2BIG, YREAD_NODES, 1, 13);
	core.max_nodes = 5; /* shared aliases count once */
	check_y("[&a [1, 2], *a]", &core, "[[1,2],[1,2]]");

	/* documents one by one, with where each begins; anchors stay in
	 * theirs */
	CHECK_EQ_INT(yread_new("a: 1\n---\n- &x 2\n--- *x\n", 22, &go, &y), 0);
	CHECK_EQ_INT(yread_doc(y, &doc, &ye), -EINVAL); /* not started */
	CHECK_EQ_INT(yread_start(y, &line, &col, &ye), 1);
	CHECK_EQ_INT(yread_start(y, &line, &col, &ye), -EINVAL);
	CHECK(line == 1 && col == 1);
	CHECK_EQ_INT(yread_doc(y, &doc, &ye), 0);
	CHECK_EQ_INT(json_integer_value(json_object_get(doc, "a")), 1);
	json_decref(doc);
	CHECK_EQ_INT(yread_start(y, &line, &col, &ye), 1);
	CHECK(line == 3 && col == 1);
	CHECK_EQ_INT(yread_doc(y, &doc, &ye), 0);
	CHECK(json_is_array(doc));
	json_decref(doc);
	CHECK_EQ_INT(yread_start(y, &line, &col, &ye), 1);
	CHECK_EQ_INT(yread_doc(y, &doc, &ye), -EBADMSG);
	CHECK_EQ_INT(ye.what, YREAD_ANCHOR);
	CHECK_STREQ(ye.detail, "x");
	yread_free(y);
	/* a reader can be freed mid-document, and NULL */
	CHECK_EQ_INT(yread_new("[1, 2", 5, NULL, &y), 0);
	CHECK_EQ_INT(yread_start(y, NULL, NULL, NULL), 1);
	CHECK(yread_free(y) == NULL);
	CHECK(yread_free(NULL) == NULL);
}

int main(void)
{
	test_rfc3339();
	test_clock();
	test_hash();
	test_base64();
	test_dns();
	test_yread();
	return check_status();
}
