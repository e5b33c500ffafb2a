/* Unit tests for etcd/k8s.c: kube-apiserver's stored values -> the JSON
 * `kubectl get -o json` shows.
 *
 * The oracle: the files of tests/data/k8s/, values the real kube-apiserver of
 * the test harness stored, each with the object it served
 * (tests/fixtures/regen-k8s-values.py); every one must decode to exactly
 * that value (jansson's json_equal). Then Go's formatting of floats,
 * durations and times, the JSON validator, and hand-made values for what
 * the apiserver never writes: unknown fields and kinds, wrong wire types,
 * truncation, huge lengths, nesting bombs, duplicates. */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/base64.h"
#include "common/sbuf.h"
#include "etcd/etcd.h"
#include "etcd/k8s_i.h"

/* ---- the fixtures from the real apiserver ------------------------------ */

static void test_fixture(const char *dir, const char *name)
{
	char path[4096];
	json_error_t je;
	json_t *doc, *want, *got, *rev;
	const char *b64;
	unsigned char *val;
	long n;
	struct sbuf out, notes;
	struct verror e = { { 0 } };
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	doc = json_load_file(path, 0, &je);
	if (!doc) {
		fprintf(stderr, "%s: %s\n", path, je.text);
		check_failures++;
		return;
	}
	b64 = json_string_value(json_object_get(doc, "value"));
	want = json_object_get(doc, "expected");
	CHECK(b64 && want);
	if (!b64 || !want) {
		json_decref(doc);
		return;
	}
	val = malloc(strlen(b64) / 4 * 3 + 3);
	n = base64_decode(b64, strlen(b64), BASE64_STRICT, val,
			  strlen(b64) / 4 * 3 + 3);
	CHECK(n >= 0);
	sbuf_init(&out, 0);
	sbuf_init(&notes, 0);
	/* with a revision: as the apiserver serves it; without (random
	 * samples of tools/k8s-protogen): as Go writes the stored object */
	rev = json_object_get(doc, "mod_revision");
	if (rev)
		r = k8s_object_to_json(val, (size_t)n, json_integer_value(rev),
				       &out, &notes, &e);
	else
		r = k8s_value_to_json(val, (size_t)n, &out, &notes, &e);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", name, e.msg);
		check_failures++;
	} else {
		got = json_loadb(out.buf, out.len, JSON_ALLOW_NUL, &je);
		if (!got) {
			fprintf(stderr, "%s: output does not load: %s\n", name,
				je.text);
			check_failures++;
		} else if (!json_equal(got, want)) {
			fprintf(stderr, "%s: decoded value differs:\n%s\n",
				name, out.buf);
			check_failures++;
		}
		json_decref(got);
		if (notes.len) {
			fprintf(stderr, "%s: notes: %s", name, notes.buf);
			check_failures++;
		}
	}
	sbuf_release(&out);
	sbuf_release(&notes);
	free(val);
	json_decref(doc);
}

static void test_fixtures(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int count = 0;

	CHECK(d);
	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (l > 5 && !strcmp(de->d_name + l - 5, ".json")) {
			test_fixture(dir, de->d_name);
			count++;
		}
	}
	closedir(d);
	CHECK(count >= 50);
}

/* ---- Go's formatting ----------------------------------------------------- */

static void test_float(void)
{
	static const struct {
		double f;
		int bits;
		const char *go;
	} cases[] = {
		/* strconv / encoding/json outputs, as Go prints them */
		{ 0, 64, "0" },
		{ -0.0, 64, "-0" },
		{ 1, 64, "1" },
		{ 0.1, 64, "0.1" },
		{ 0.5, 64, "0.5" },
		{ 1e-6, 64, "0.000001" },
		{ 1e-7, 64, "1e-7" },
		{ 1.5e-7, 64, "1.5e-7" },
		{ 1e-10, 64, "1e-10" },
		{ 1e20, 64, "100000000000000000000" },
		{ 1e21, 64, "1e+21" },
		{ 123456789.125, 64, "123456789.125" },
		{ 9007199254740993.0, 64, "9007199254740992" },
		{ 5e-324, 64, "5e-324" },
		{ 1.7976931348623157e308, 64, "1.7976931348623157e+308" },
		{ -2.5, 64, "-2.5" },
		{ 0.30000000000000004, 64, "0.30000000000000004" },
		{ 0.1f, 32, "0.1" },
		{ 16777216.0f, 32, "16777216" },
		{ 1e21f, 32, "1e+21" },
	};
	char buf[40];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int n = k8s_format_float(buf, sizeof(buf), cases[i].f,
					 cases[i].bits);

		CHECK(n > 0);
		CHECK_STREQ(buf, cases[i].go);
	}
	CHECK_EQ_INT(k8s_format_float(buf, sizeof(buf), NAN, 64), -EDOM);
	CHECK_EQ_INT(k8s_format_float(buf, sizeof(buf), INFINITY, 64), -EDOM);
}

static void test_duration(void)
{
	static const struct {
		int64_t ns;
		const char *go;
	} cases[] = {
		{ 0, "0s" },
		{ 1, "1ns" },
		{ 999, "999ns" },
		{ 1000, "1\xc2\xb5s" },
		{ 1500, "1.5\xc2\xb5s" },
		{ 1500000, "1.5ms" },
		{ 1000000000, "1s" },
		{ 1100000000, "1.1s" },
		{ 90000000000LL, "1m30s" },
		{ 3600000000000LL, "1h0m0s" },
		{ 3723000000001LL, "1h2m3.000000001s" },
		{ -1, "-1ns" },
		{ -90000000000LL, "-1m30s" },
		{ INT64_MIN, "-2562047h47m16.854775808s" },
		{ INT64_MAX, "2562047h47m16.854775807s" },
	};
	char buf[64];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		k8s_format_duration(buf, sizeof(buf), cases[i].ns);
		CHECK_STREQ(buf, cases[i].go);
	}
}

static void test_time(void)
{
	char buf[64];

	k8s_format_time(buf, sizeof(buf), 0, 0, false);
	CHECK_STREQ(buf, "1970-01-01T00:00:00Z");
	k8s_format_time(buf, sizeof(buf), 1795255200, 999999999, false);
	CHECK_STREQ(buf, "2026-11-21T10:00:00Z");
	k8s_format_time(buf, sizeof(buf), 1795255200, 123456789, true);
	CHECK_STREQ(buf, "2026-11-21T10:00:00.123456Z");
	k8s_format_time(buf, sizeof(buf), 1795255200, 0, true);
	CHECK_STREQ(buf, "2026-11-21T10:00:00.000000Z");
	k8s_format_time(buf, sizeof(buf), -62135596799LL, 0, false);
	CHECK_STREQ(buf, "0001-01-01T00:00:01Z");
	k8s_format_time(buf, sizeof(buf), 253402300799LL, 0, false);
	CHECK_STREQ(buf, "9999-12-31T23:59:59Z");
	k8s_format_time(buf, sizeof(buf), 951868799, 0, false);
	CHECK_STREQ(buf, "2000-02-29T23:59:59Z");
	k8s_format_time(buf, sizeof(buf), -1, 0, false);
	CHECK_STREQ(buf, "1969-12-31T23:59:59Z");
}

static void test_json_valid(void)
{
	static const char *const good[] = {
		"{}",
		"[]",
		"0",
		"-0.5e+10",
		"\"a\\u00e9\\n\"",
		"null",
		" {\"a\":[1,true,false,null,{\"b\":\"c\"}]} ",
		"123456789012345678901234567890",
	};
	static const char *const bad[] = {
		"",    "{",	"[1,]",	 "{\"a\"}", "{\"a\":}",
		"01",  "1.",	"-",	 "\"\\x\"", "\"\x01\"",
		"tru", "{} {}", "[1 2]", "{1:2}",   "\"\\u12g4\"",
		"1e",  "[}",
	};
	size_t i;
	char *deep;

	for (i = 0; i < ARRAY_SIZE(good); i++)
		CHECK(k8s_json_valid(good[i], strlen(good[i])));
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		if (k8s_json_valid(bad[i], strlen(bad[i]))) {
			fprintf(stderr, "valid: %s\n", bad[i]);
			check_failures++;
		}
	/* Go's limit: 10000 levels */
	deep = malloc(20002);
	memset(deep, '[', 10000);
	memset(deep + 10000, ']', 10000);
	CHECK(k8s_json_valid(deep, 20000));
	memset(deep, '[', 10001);
	memset(deep + 10001, ']', 10001);
	CHECK(!k8s_json_valid(deep, 20002));
	free(deep);
}

/* ---- hand-made values -------------------------------------------------------
 */

struct w {
	unsigned char b[1 << 16];
	size_t n;
};

static void w_varint(struct w *w, uint64_t v)
{
	while (v >= 0x80) {
		w->b[w->n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	w->b[w->n++] = (unsigned char)v;
}

static void w_tag(struct w *w, unsigned num, unsigned wire)
{
	w_varint(w, (uint64_t)num << 3 | wire);
}

static void w_bytes(struct w *w, unsigned num, const void *p, size_t n)
{
	w_tag(w, num, 2);
	w_varint(w, n);
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

static void w_str(struct w *w, unsigned num, const char *s)
{
	w_bytes(w, num, s, strlen(s));
}

static void w_msg(struct w *w, unsigned num, const struct w *m)
{
	w_bytes(w, num, m->b, m->n);
}

/* "k8s\0" + Unknown{typeMeta{av, kind}, raw} */
static void envelope(struct w *out, const char *av, const char *kind,
		     const struct w *raw)
{
	struct w tm = { .n = 0 };

	memcpy(out->b, "k8s", 4);
	out->n = 4;
	w_str(&tm, 1, av);
	w_str(&tm, 2, kind);
	w_msg(out, 1, &tm);
	w_msg(out, 2, raw);
}

/* Decodes; on success compares with want (JSON) and the notes' line
 * count. Returns the decoder's result. */
static int dec(const struct w *v, const char *want, int nnotes)
{
	struct sbuf out, notes;
	struct verror e = { { 0 } };
	int r, lines = 0;
	size_t i;

	sbuf_init(&out, 0);
	sbuf_init(&notes, 0);
	r = k8s_value_to_json(v->b, v->n, &out, &notes, &e);
	if (r >= 0 && want) {
		json_error_t je;
		json_t *g = json_loads(out.buf, JSON_ALLOW_NUL, &je);
		json_t *x = json_loads(want, 0, &je);

		CHECK(x);
		if (!g || !json_equal(g, x)) {
			fprintf(stderr, "got  %s\nwant %s\n", out.buf, want);
			check_failures++;
		}
		json_decref(g);
		json_decref(x);
	}
	for (i = 0; i < notes.len; i++)
		lines += notes.buf[i] == '\n';
	if (r >= 0 && lines != nnotes) {
		fprintf(stderr, "notes (%d, want %d): %s", lines, nnotes,
			sbuf_str(&notes));
		check_failures++;
	}
	if (r < 0)
		CHECK(e.msg[0]);
	CHECK(r < 0 || out.len);
	sbuf_release(&out);
	sbuf_release(&notes);
	return r;
}

static void meta(struct w *m, const char *name)
{
	struct w om = { .n = 0 };

	w_str(&om, 1, name);
	w_msg(m, 1, &om);
}

static void test_handmade(void)
{
	static struct w raw, v, x, y;

	/* a ConfigMap{metadata=1, data=2, binaryData=3, immutable=4} */
	raw.n = 0;
	meta(&raw, "cm");
	x.n = 0;
	w_str(&x, 1, "k");
	w_str(&x, 2, "first");
	w_msg(&raw, 2, &x);
	x.n = 0;
	w_str(&x, 1, "b");
	w_str(&x, 2, "bad \xff\xe2\x82 utf8 \x01");
	w_msg(&raw, 2, &x);
	x.n = 0;
	w_str(&x, 1, "k"); /* the same key again: Go keeps the last */
	w_str(&x, 2, "second");
	w_msg(&raw, 2, &x);
	x.n = 0;
	w_str(&x, 1, "bin"); /* no value: []byte{} */
	w_msg(&raw, 3, &x);
	w_tag(&raw, 4, 0);
	w_varint(&raw, 0); /* immutable: false, but a pointer: present */
	w_tag(&raw, 4, 0);
	w_varint(&raw, 1); /* twice: the last wins */
	envelope(&v, "v1", "ConfigMap", &raw);
	CHECK_EQ_INT(dec(&v,
			 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
			 "\"metadata\":{\"name\":\"cm\"},"
			 "\"data\":{\"k\":\"second\",\"b\":\"bad \\ufffd\\ufffd"
			 "\\ufffd utf8 \\u0001\"},"
			 "\"binaryData\":{\"bin\":\"\"},\"immutable\":true}",
			 0),
		     0);

	/* unknown fields and wrong wire types: left out, one note each */
	raw.n = 0;
	meta(&raw, "cm");
	w_str(&raw, 99, "unknown");
	w_tag(&raw, 4, 5); /* immutable as fixed32 */
	raw.b[raw.n++] = 1, raw.b[raw.n++] = 0, raw.b[raw.n++] = 0,
	raw.b[raw.n++] = 0;
	envelope(&v, "v1", "ConfigMap", &raw);
	CHECK_EQ_INT(dec(&v,
			 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
			 "\"metadata\":{\"name\":\"cm\"}}",
			 2),
		     0);

	/* nothing but the envelope: zero values, as Go writes them
	 * (creationTimestamp omitzero: gone; a value struct: {}) */
	raw.n = 0;
	envelope(&v, "v1", "ConfigMap", &raw);
	CHECK_EQ_INT(dec(&v,
			 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
			 "\"metadata\":{}}",
			 0),
		     0);
	/* an Event: value Times (firstTimestamp) are null, the
	 * non-omitempty strings and structs present */
	envelope(&v, "v1", "Event", &raw);
	CHECK_EQ_INT(dec(&v,
			 "{\"apiVersion\":\"v1\",\"kind\":\"Event\","
			 "\"metadata\":{},\"involvedObject\":{},"
			 "\"source\":{},\"firstTimestamp\":null,"
			 "\"lastTimestamp\":null,\"eventTime\":null,"
			 "\"reportingComponent\":\"\","
			 "\"reportingInstance\":\"\"}",
			 0),
		     0);

	/* a Pod's container ports: a packed repeated field without
	 * elements is still a nil slice; an IntOrString of type 2 is
	 * refused (Go's MarshalJSON fails) */
	{
		struct w spec = { .n = 0 }, c = { .n = 0 };

		w_str(&c, 1, "c");
		w_msg(&spec, 2, &c);
		raw.n = 0;
		meta(&raw, "p");
		w_msg(&raw, 2, &spec);
		envelope(&v, "v1", "Pod", &raw);
		CHECK_EQ_INT(dec(&v, NULL, 0), 0);
	}

	/* a Deployment's maxSurge IntOrString with type 2 */
	{
		struct w ios = { .n = 0 }, ru = { .n = 0 }, st = { .n = 0 },
			 spec = { .n = 0 };

		w_tag(&ios, 1, 0);
		w_varint(&ios, 2);
		w_msg(&ru, 2, &ios);  /* maxSurge */
		w_msg(&st, 2, &ru);   /* rollingUpdate */
		w_msg(&spec, 4, &st); /* strategy */
		raw.n = 0;
		meta(&raw, "d");
		w_msg(&raw, 2, &spec);
		envelope(&v, "apps/v1", "Deployment", &raw);
		CHECK_EQ_INT(dec(&v, NULL, 0), -EBADMSG);
		/* type 1 with a string, type 0 with an int */
		ios.n = 0;
		w_tag(&ios, 1, 0);
		w_varint(&ios, 1);
		w_str(&ios, 3, "25%");
		ru.n = st.n = spec.n = raw.n = 0;
		w_msg(&ru, 2, &ios);
		w_msg(&st, 2, &ru);
		w_msg(&spec, 4, &st);
		meta(&raw, "d");
		w_msg(&raw, 2, &spec);
		envelope(&v, "apps/v1", "Deployment", &raw);
		CHECK_EQ_INT(dec(&v, NULL, 0), 0);
	}

	/* a singular message twice: Go would merge, refused here */
	raw.n = 0;
	meta(&raw, "a");
	meta(&raw, "b");
	envelope(&v, "v1", "ConfigMap", &raw);
	CHECK_EQ_INT(dec(&v, NULL, 0), -EBADMSG);

	/* truncated at every length: never a crash, -EBADMSG or a value */
	raw.n = 0;
	meta(&raw, "cm");
	x.n = 0;
	w_str(&x, 1, "k");
	w_str(&x, 2, "v");
	w_msg(&raw, 2, &x);
	envelope(&y, "v1", "ConfigMap", &raw);
	for (v.n = 0; v.n < y.n; v.n++) {
		int r;

		memcpy(v.b, y.b, v.n);
		r = dec(&v, NULL, -1 /* unchecked */ + 1);
		CHECK(r == 0 || r == -EBADMSG);
	}

	/* a huge length */
	raw.n = 0;
	w_tag(&raw, 1, 2);
	w_varint(&raw, UINT64_MAX >> 1);
	envelope(&v, "v1", "ConfigMap", &raw);
	CHECK_EQ_INT(dec(&v, NULL, 0), -EBADMSG);

	/* a nesting bomb: JSONSchemaProps in JSONSchemaProps (not=28) */
	{
		static struct w a, b;
		struct w *cur = &a, *nxt = &b;
		int i;

		a.n = 0;
		for (i = 0; i < 2000 && cur->n < sizeof(a.b) - 16; i++) {
			nxt->n = 0;
			w_msg(nxt, 28, cur);
			cur = cur == &a ? &b : &a;
			nxt = nxt == &a ? &b : &a;
		}
		/* CRD v1: spec=2 > versions=7 > schema=4 > openAPIV3Schema=1 */
		x.n = 0;
		w_msg(&x, 1, cur);
		y.n = 0;
		w_str(&y, 1, "v1");
		w_msg(&y, 4, &x);
		x.n = 0;
		w_msg(&x, 7, &y);
		raw.n = 0;
		meta(&raw, "crd");
		w_msg(&raw, 2, &x);
		envelope(&v, "apiextensions.k8s.io/v1",
			 "CustomResourceDefinition", &raw);
		CHECK_EQ_INT(dec(&v, NULL, 0), -EBADMSG);
	}

	/* unknown kinds, not a value */
	raw.n = 0;
	envelope(&v, "v1", "NoSuchKind", &raw);
	CHECK_EQ_INT(dec(&v, NULL, 0), -EBADMSG);
	memcpy(v.b, "\xd9\xd9\xf7\xa0", 4);
	v.n = 4;
	CHECK_EQ_INT(dec(&v, NULL, 0), -EBADMSG);
	memcpy(v.b, "garbage", 7);
	v.n = 7;
	CHECK_EQ_INT(dec(&v, NULL, 0), -EBADMSG);
	v.n = 0;
	CHECK_EQ_INT(dec(&v, NULL, 0), -EBADMSG);
	/* JSON with a NUL where a value starts (the fuzzer's first find:
	 * the scan for apiVersion and kind looped) */
	memcpy(v.b, "{\"a\":\0}", 7);
	v.n = 7;
	CHECK_EQ_INT(dec(&v, NULL, 0), 0);
	/* a content encoding */
	envelope(&v, "v1", "ConfigMap", &raw);
	w_str(&v, 3, "gzip");
	CHECK_EQ_INT(dec(&v, NULL, 0), -EBADMSG);
}

static void rv(const char *in, const char *want, int r_want)
{
	struct sbuf out;
	struct verror e;
	int r;

	sbuf_init(&out, 0);
	r = k8s_object_to_json(in, strlen(in), 42, &out, NULL, &e);
	CHECK_EQ_INT(r, r_want);
	if (r >= 0 && want) {
		json_t *g = json_loads(out.buf, 0, NULL),
		       *x = json_loads(want, 0, NULL);

		if (!g || !x || !json_equal(g, x)) {
			fprintf(stderr, "got  %s\nwant %s\n", out.buf, want);
			check_failures++;
		}
		json_decref(g);
		json_decref(x);
	}
	sbuf_release(&out);
}

static void test_resource_version(void)
{
	rv("{\"apiVersion\":\"x/"
	   "v1\",\"kind\":\"W\",\"metadata\":{\"name\":\"a\"}}",
	   "{\"apiVersion\":\"x/"
	   "v1\",\"kind\":\"W\",\"metadata\":{\"name\":\"a\","
	   "\"resourceVersion\":\"42\"}}",
	   0);
	rv("{\"metadata\":{}}", "{\"metadata\":{\"resourceVersion\":\"42\"}}",
	   0);
	rv("{\"a\":[{\"metadata\":1}],\"metadata\":{\"resourceVersion\":\"7\","
	   "\"x\":{\"resourceVersion\":1}}}",
	   "{\"a\":[{\"metadata\":1}],\"metadata\":{\"resourceVersion\":\"42\","
	   "\"x\":{\"resourceVersion\":1}}}",
	   0);
	rv("{\"a\":1}", "{\"a\":1,\"metadata\":{\"resourceVersion\":\"42\"}}",
	   0);
	rv("{}", "{\"metadata\":{\"resourceVersion\":\"42\"}}", 0);
	rv("{\"a\":", NULL, -EBADMSG);
	rv("{\"a\" 1}", NULL, -EBADMSG);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		test_fixtures(argv[1]);
	test_float();
	test_duration();
	test_time();
	test_json_valid();
	test_handmade();
	test_resource_version();
	return check_status();
}
