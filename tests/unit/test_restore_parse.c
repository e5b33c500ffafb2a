/* test_restore_parse: restore/parse.c. Golden cases under
 * tests/data/restore/parse/<case>/: input.yaml or input.json, and either
 * expected.json (the array of objects) or error.txt (a substring of the
 * message). Plus scalar resolution as kubectl (go-yaml v2) does it. */
#include <errno.h>

#include "restore/restore_i.h"
#include "test_restore_util.h"

static void golden(const char *dir, const char *name)
{
	size_t len = 0;
	char *in = tr_read(dir, "input.yaml", &len);
	char *err = tr_read(dir, "error.txt", NULL);
	json_t *want = tr_json(dir, "expected.json"), *got = NULL;
	struct verror e = { { 0 } };
	int r;

	if (!in)
		in = tr_read(dir, "input.json", &len);
	if (!in || (!want && !err)) {
		fprintf(stderr, "%s: incomplete case\n", name);
		check_failures++;
		goto out;
	}
	r = restore_parse(in, len, name, &got, &e);
	if (err) {
		err[strcspn(err, "\n")] = '\0';
		if (r >= 0 || !strstr(e.msg, err)) {
			fprintf(stderr,
				"%s: r=%d msg \"%s\", expected \"%s\"\n", name,
				r, e.msg, err);
			check_failures++;
		}
	} else {
		if (r < 0) {
			fprintf(stderr, "%s: %s\n", name, e.msg);
			check_failures++;
		}
		tr_check_json(name, got, want);
	}
out:
	json_decref(got);
	json_decref(want);
	free(in);
	free(err);
}

/* "key: <text>" as one document's value of key. */
static json_t *scalar(const char *text)
{
	char doc[256];
	json_t *v = NULL, *out;

	snprintf(doc, sizeof(doc), "v: %s\n", text);
	if (restore_parse_document(doc, strlen(doc), "t", &v, NULL) < 0)
		return NULL;
	out = json_incref(json_object_get(v, "v"));
	json_decref(v);
	return out;
}

static void check_scalar(const char *text, const char *want_json)
{
	json_t *got = scalar(text);
	json_t *want = json_loads(want_json, JSON_DECODE_ANY, NULL);

	if (!got || !json_equal(got, want)) {
		char *g = got ? json_dumps(got, JSON_ENCODE_ANY) : NULL;

		fprintf(stderr, "scalar %s: got %s, expected %s\n", text,
			g ? g : "(error)", want_json);
		free(g);
		check_failures++;
	}
	json_decref(got);
	json_decref(want);
}

static void test_scalars(void)
{
	/* YAML 1.1 as go-yaml v2 resolves it (kubectl) */
	check_scalar("yes", "true");
	check_scalar("Yes", "true");
	check_scalar("on", "true");
	check_scalar("y", "true");
	check_scalar("NO", "false");
	check_scalar("off", "false");
	check_scalar("n", "false");
	check_scalar("\"yes\"", "\"yes\"");
	check_scalar("'on'", "\"on\"");
	check_scalar("!!str yes", "\"yes\"");
	check_scalar("~", "null");
	check_scalar("", "null");
	check_scalar("Null", "null");
	check_scalar("12", "12");
	check_scalar("-12", "-12");
	check_scalar("+12", "12");
	check_scalar("0x1F", "31");
	check_scalar("0o17", "15");
	check_scalar("017", "15");
	check_scalar("0b101", "5");
	check_scalar("1_000", "1000");
	check_scalar("08", "8"); /* not an int in Go: go-yaml then takes it as a
				    float */
	check_scalar("1.5", "1.5");
	check_scalar("1e3", "1000");
	check_scalar(".5", "0.5");
	check_scalar("1.", "1");
	check_scalar("9223372036854775807", "9223372036854775807");
	check_scalar("2024-01-15", "\"2024-01-15T00:00:00Z\"");
	check_scalar("2024-01-15T10:00:00Z", "\"2024-01-15T10:00:00Z\"");
	check_scalar("1:20", "\"1:20\"");
	check_scalar("0.0.0.0", "\"0.0.0.0\"");
	check_scalar("v1", "\"v1\"");
	check_scalar("!custom x", "\"x\"");
	check_scalar("|\n  a\n  b", "\"a\\nb\\n\"");
	check_scalar(">-\n  a\n  b", "\"a b\"");
	CHECK(scalar(".inf") == NULL);
	CHECK(scalar(".NaN") == NULL);
}

static void test_caps(void)
{
	json_t *out = NULL;
	struct verror e = { { 0 } };
	char *deep, *p;
	int r;

	/* nesting */
	deep = malloc(200 * 3 + 64);
	p = deep;
	for (int i = 0; i < 200; i++)
		p += sprintf(p, "[");
	strcpy(p, "]");
	r = restore_parse_document(deep, strlen(deep), "deep", &out, &e);
	CHECK_EQ_INT(r, -EBADMSG);
	CHECK(strstr(e.msg, "nested deeper") != NULL);
	free(deep);
	/* a billion laughs */
	{
		const char *bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
				   "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
				   "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
				   "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
				   "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
				   "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
				   "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n";

		out = NULL;
		r = restore_parse_document(bomb, strlen(bomb), "bomb", &out,
					   &e);
		CHECK_EQ_INT(r, -E2BIG);
		json_decref(out);
	}
	/* size */
	r = restore_parse("x", RESTORE_INPUT_MAX + 1, "big", &out, &e);
	CHECK_EQ_INT(r, -EFBIG);
	/* NUL bytes */
	r = restore_parse("a: b\0c", 6, "nul", &out, &e);
	CHECK_EQ_INT(r, -EBADMSG);
	/* empty input and comments only: no object */
	out = NULL;
	r = restore_parse("# nothing\n---\n", 14, "empty", &out, &e);
	CHECK_EQ_INT(r, 0);
	CHECK_EQ_INT(json_array_size(out), 0);
	json_decref(out);
}

int main(int argc, char **argv)
{
	char dir[4096];

	if (argc < 2) {
		fprintf(stderr, "usage: %s DATA_DIR\n", argv[0]);
		return 2;
	}
	test_scalars();
	test_caps();
	snprintf(dir, sizeof(dir), "%s/parse", argv[1]);
	CHECK(tr_each_case(dir, golden) >= 8);
	return check_status();
}
