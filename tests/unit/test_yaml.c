/* test_yaml: render_yaml() against the golden files, the error cases, and
 * every output cap below the size a document needs.
 *
 *   test-yaml [DATA_DIR]
 *
 * DATA_DIR (default $VELEROFS_YAML_DATA, else tests/data/yaml) holds one
 * folder per case with input.json and expected.yaml; the output must match
 * byte for byte. Exits non-zero and names each failing case. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/render_i.h"
#include "common/error.h"
#include "common/macro.h"
#include "common/sbuf.h"

static int failures;
static int checks;

#define FAIL(...)                                      \
	do {                                           \
		failures++;                            \
		fprintf(stderr, "FAIL: " __VA_ARGS__); \
		fputc('\n', stderr);                   \
	} while (0)

static int read_file(const char *path, struct sbuf *b)
{
	_cleanup_fclose_ FILE *f = fopen(path, "rb");
	char chunk[8192];
	size_t n;
	int r;

	if (!f)
		return -errno;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		r = sbuf_add(b, chunk, n);
		if (r < 0)
			return r;
	}
	return ferror(f) ? -EIO : 0;
}

static void show_diff(const char *name, const struct sbuf *got,
		      const struct sbuf *want)
{
	size_t i = 0, line = 1;

	while (i < got->len && i < want->len && got->buf[i] == want->buf[i]) {
		if (got->buf[i] == '\n')
			line++;
		i++;
	}
	FAIL("%s: output differs from expected.yaml at byte %zu (line %zu); "
	     "got %zu bytes, want %zu",
	     name, i, line, got->len, want->len);
}

/* Every cap from 1 to the size the document needs: below it the render
 * fails with -E2BIG without writing past the cap, at it the output is the
 * same. Cheap enough to run for every golden case, also under valgrind. */
static void cap_loop(const char *name, const struct sbuf *in,
		     const struct sbuf *want)
{
	struct verror e;
	struct sbuf out;
	size_t max;
	int r;

	for (max = 1; max <= want->len; max++) {
		sbuf_init(&out, max);
		r = render_yaml(sbuf_str(in), in->len, &out, &e);
		checks++;
		if (max < want->len && r != -E2BIG) {
			FAIL("%s: cap %zu: got %d, want -E2BIG", name, max, r);
			sbuf_release(&out);
			return;
		}
		if (max < want->len && !strstr(e.msg, "output larger than"))
			FAIL("%s: cap %zu: message '%s'", name, max, e.msg);
		if (out.len > max)
			FAIL("%s: cap %zu: wrote %zu bytes", name, max,
			     out.len);
		if (max == want->len && (r != 0 || out.len != want->len ||
					 memcmp(out.buf, want->buf, out.len)))
			FAIL("%s: cap %zu (exact): r=%d", name, max, r);
		sbuf_release(&out);
	}
}

static int filter_dirs(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static void run_golden(const char *dir)
{
	struct dirent **ents = NULL;
	char path[4096];
	int i, n, r, ran = 0;

	n = scandir(dir, &ents, filter_dirs, alphasort);
	if (n < 0) {
		FAIL("%s: %s", dir, strerror(errno));
		return;
	}
	for (i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		struct sbuf in, want, out;
		struct verror e = { { 0 } };

		sbuf_init(&in, 0);
		sbuf_init(&want, 0);
		sbuf_init(&out, 0);
		snprintf(path, sizeof(path), "%s/%s/input.json", dir, name);
		r = read_file(path, &in);
		if (r == -ENOENT || r == -ENOTDIR)
			goto next;
		if (r < 0) {
			FAIL("%s: %s", path, strerror(-r));
			goto next;
		}
		snprintf(path, sizeof(path), "%s/%s/expected.yaml", dir, name);
		r = read_file(path, &want);
		if (r < 0) {
			FAIL("%s: %s", path, strerror(-r));
			goto next;
		}
		ran++;
		checks++;
		r = render_yaml(sbuf_str(&in), in.len, &out, &e);
		if (r < 0) {
			FAIL("%s: render_yaml: %d (%s)", name, r, e.msg);
			goto next;
		}
		if (out.len != want.len || memcmp(out.buf, want.buf, out.len)) {
			show_diff(name, &out, &want);
			goto next;
		}
		cap_loop(name, &in, &want);
next:
		sbuf_release(&in);
		sbuf_release(&want);
		sbuf_release(&out);
		free(ents[i]);
	}
	free(ents);
	if (ran < 25)
		FAIL("%s: only %d golden cases (want >= 25)", dir, ran);
	printf("golden: %d cases\n", ran);
}

/* ---- inline cases ---------------------------------------------------- */

struct bad_case {
	const char *json;
	size_t len; /* 0: strlen */
	int err;
	const char *msg; /* substring of the message */
};

static const struct bad_case bad_cases[] = {
	{ "", 0, -EBADMSG, "line 1 col 1: empty document" },
	{ " \n ", 0, -EBADMSG, "line 2 col 2: empty document" },
	{ "{", 0, -EBADMSG, "unexpected end of input" },
	{ "[1,]", 0, -EBADMSG, "line 1 col 4: unexpected character ']'" },
	{ "{\"a\":1,}", 0, -EBADMSG, "unexpected character '}'" },
	{ "{\"a\" 1}", 0, -EBADMSG, "unexpected character '1'" },
	{ "{1:2}", 0, -EBADMSG, "unexpected character '1'" },
	{ "[1 2]", 0, -EBADMSG, "unexpected character '2'" },
	{ "01", 0, -EBADMSG, "trailing data" },
	{ "1.", 0, -EBADMSG, "invalid number" },
	{ "-", 0, -EBADMSG, "invalid number" },
	{ "1e", 0, -EBADMSG, "invalid number" },
	{ "1e+", 0, -EBADMSG, "invalid number" },
	{ ".5", 0, -EBADMSG, "unexpected character '.'" },
	{ "+1", 0, -EBADMSG, "unexpected character '+'" },
	{ "tru", 0, -EBADMSG, "unexpected character 't'" },
	{ "nulll", 0, -EBADMSG, "trailing data" },
	{ "NaN", 0, -EBADMSG, "unexpected character 'N'" },
	{ "[] []", 0, -EBADMSG, "line 1 col 4: trailing data" },
	{ "\"abc", 0, -EBADMSG, "unterminated string" },
	{ "\"a\\", 0, -EBADMSG, "unterminated string" },
	{ "\"\\x41\"", 0, -EBADMSG, "invalid escape" },
	{ "\"\\u12\"", 0, -EBADMSG, "invalid \\u escape" },
	{ "\"\\u12G4\"", 0, -EBADMSG, "invalid \\u escape" },
	{ "\"\\ud800\"", 0, -EBADMSG, "lone high surrogate" },
	{ "\"\\ud800\\u0041\"", 0, -EBADMSG, "lone high surrogate" },
	{ "\"\\udc00\"", 0, -EBADMSG, "lone low surrogate" },
	{ "\"a\tb\"", 0, -EBADMSG, "line 1 col 3: control character" },
	{ "\"a\nb\"", 0, -EBADMSG, "control character" },
	{ "\"\xff\"", 0, -EBADMSG, "invalid UTF-8" },
	{ "\"\xc0\x80\"", 0, -EBADMSG, "invalid UTF-8" },     /* overlong */
	{ "\"\xe0\x80\xaf\"", 0, -EBADMSG, "invalid UTF-8" }, /* overlong */
	{ "\"\xed\xa0\x80\"", 0, -EBADMSG, "invalid UTF-8" }, /* surrogate */
	{ "\"\xf4\x90\x80\x80\"", 0, -EBADMSG, "invalid UTF-8" }, /* > 10FFFF */
	{ "\"\xe2\x82\"", 0, -EBADMSG, "invalid UTF-8" }, /* truncated */
	{ "\"ok\xe2\x82\xac\x80\"", 0, -EBADMSG, "col 7: invalid UTF-8" },
	{ "\xef\xbb\xbf{}", 0, -EBADMSG, "unexpected byte 0xef" },
	{ "{\"a\":\n  [1,\n   x]}", 0, -EBADMSG, "line 3 col 4: unexpected" },
	{ "[\"a\0b\"]", 7, -EBADMSG, "control character" },
	{ "[1]\0", 4, -EBADMSG, "trailing data" },
	{ "'a'", 0, -EBADMSG, "unexpected character" },
};

static void run_bad(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		size_t len = c->len ? c->len : strlen(c->json);
		struct verror e = { { 0 } };
		struct sbuf out;
		int r;

		sbuf_init(&out, 0);
		r = render_yaml(c->json, len, &out, &e);
		checks++;
		if (r != c->err)
			FAIL("bad case %zu (%.40s): got %d, want %d", i,
			     c->json, r, c->err);
		else if (!strstr(e.msg, c->msg))
			FAIL("bad case %zu (%.40s): message '%s', want '%s'", i,
			     c->json, e.msg, c->msg);
		/* the error struct is optional */
		sbuf_reset(&out);
		if (render_yaml(c->json, len, &out, NULL) != c->err)
			FAIL("bad case %zu: differs without verror", i);
		sbuf_release(&out);
	}
}

struct good_case {
	const char *json;
	const char *yaml;
};

static const struct good_case good_cases[] = {
	{ "1e3", "1.0e+3\n" },
	{ "2E-7", "2.0E-7\n" },
	{ "-0", "-0\n" },
	{ "123456789012345678901234567890", "123456789012345678901234567890"
					    "\n" },
	{ "\"\"", "\"\"\n" },
	{ "\"nginx:1.25\"", "nginx:1.25\n" },
	{ "\"a: b\"", "\"a: b\"\n" },
	{ "{\"k\":\"a\\nb\\n\"}", "k: |\n  a\n  b\n" },
	{ "{\"k\":\"a\\nb\"}", "k: |-\n  a\n  b\n" },
	{ "{\"k\":\"a\\n\\n\",\"z\":1}", "k: |+\n  a\n\nz: 1\n" },
	{ "{\"k\":\" a\\nb\"}", "k: |2-\n   a\n  b\n" },
	{ "{\"k\":[\"a\",[\"b\",[]]]}", "k:\n- a\n- - b\n  - []\n" },
	{ "[{\"a\":{\"b\":1},\"c\":[2]}]", "- a:\n    b: 1\n  c:\n  - 2\n" },
	{ "{\"yes\":\"no\",\"on\":\"~\"}", "\"yes\": \"no\"\n\"on\": \"~\"\n" },
	{ "\"\\u0085\\u2028\\u2029\\ufeff\\u0000\\u007f\"", "\"\\u0085\\u2028\\"
							    "u2029\\ufeff\\u000"
							    "0\\u007f\"\n" },
	{ "\"\\udbff\\udfff\"", "\"\\U0010ffff\"\n" },
	{ "\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80\n" },
};

static void run_good(void)
{
	struct verror e = { { 0 } };
	struct sbuf out;
	size_t i;
	int r;

	for (i = 0; i < ARRAY_SIZE(good_cases); i++) {
		const struct good_case *c = &good_cases[i];

		sbuf_init(&out, 0);
		r = render_yaml(c->json, strlen(c->json), &out, &e);
		checks++;
		if (r != 0 || strcmp(sbuf_str(&out), c->yaml))
			FAIL("good case %s: r=%d (%s) got:\n%s", c->json, r,
			     e.msg, sbuf_str(&out));
		sbuf_release(&out);
	}

	/* appends after what the buffer holds */
	sbuf_init(&out, 0);
	sbuf_adds(&out, "---\n");
	r = render_yaml("{\"a\":1}", 7, &out, &e);
	checks++;
	if (r != 0 || strcmp(sbuf_str(&out), "---\na: 1\n"))
		FAIL("append: r=%d got '%s'", r, sbuf_str(&out));
	sbuf_release(&out);
}

/* Renders the nesting bomb in (released here) into an output of at most
 * outcap bytes (0: sbuf's default cap): it must be refused with -E2BIG. */
static void check_bomb(const char *what, struct sbuf *in, size_t outcap)
{
	struct verror e = { { 0 } };
	struct sbuf out;
	int r;

	sbuf_init(&out, outcap);
	r = render_yaml(in->buf, in->len, &out, &e);
	checks++;
	if (r != -E2BIG)
		FAIL("%s: r=%d (%s)", what, r, e.msg);
	sbuf_release(in);
	sbuf_release(&out);
}

static void run_depth(void)
{
	struct verror e = { { 0 } };
	struct sbuf in, out;
	int depth, r;

	for (depth = RENDER_MAX_DEPTH; depth <= RENDER_MAX_DEPTH + 1; depth++) {
		sbuf_init(&in, 0);
		sbuf_init(&out, 0);
		sbuf_addn(&in, '[', (size_t)depth);
		sbuf_addn(&in, ']', (size_t)depth);
		r = render_yaml(in.buf, in.len, &out, &e);
		checks++;
		if (depth <= RENDER_MAX_DEPTH && r != 0)
			FAIL("depth %d: r=%d (%s)", depth, r, e.msg);
		if (depth > RENDER_MAX_DEPTH &&
		    (r != -E2BIG || !strstr(e.msg, "nesting")))
			FAIL("depth %d: r=%d (%s)", depth, r, e.msg);
		sbuf_release(&in);
		sbuf_release(&out);
	}

	/* a bomb of objects, never closed */
	sbuf_init(&in, 0);
	for (depth = 0; depth < 100000; depth++)
		sbuf_adds(&in, "{\"a\":");
	check_bomb("object bomb", &in, 0);

	/* and of arrays, with a huge output for each level */
	sbuf_init(&in, 0);
	sbuf_addn(&in, '[', 100000);
	check_bomb("array bomb", &in, 4096);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : getenv("VELEROFS_YAML_DATA");

	if (!dir)
		dir = "tests/data/yaml";
	run_good();
	run_bad();
	run_depth();
	run_golden(dir);
	printf("%d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
