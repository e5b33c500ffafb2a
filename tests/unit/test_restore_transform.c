/* test_restore_transform: restore/transform.c. Golden cases under
 * tests/data/restore/transform/<case>/: input.json, expected.json,
 * options.json ({"image_map", "storageclass_map"}), modifiers.yaml
 * (optional), error.txt (optional: applying must fail with it). Plus the
 * JSON tools (RFC 6902 and RFC 7386 examples, the diff, the strategic
 * subset) and refused modifier files. */
#include <errno.h>

#include "restore/restore_i.h"
#include "test_restore_util.h"

static void golden(const char *dir, const char *name)
{
	json_t *in = tr_json(dir, "input.json");
	json_t *want = tr_json(dir, "expected.json");
	json_t *opt = tr_json(dir, "options.json");
	size_t mlen = 0;
	char *mods = tr_read(dir, "modifiers.yaml", &mlen);
	char *err = tr_read(dir, "error.txt", NULL);
	struct restore_transform *t = NULL;
	struct verror e = { { 0 } };
	char gr[300];
	int r;

	if (!in || (!want && !err)) {
		fprintf(stderr, "%s: incomplete case\n", name);
		check_failures++;
		goto out;
	}
	r = restore_transform_new(json_string_value(json_object_get(opt, "image"
									 "_ma"
									 "p")),
				  json_string_value(json_object_get(opt, "stora"
									 "gecla"
									 "ss_"
									 "ma"
									 "p")),
				  mods, mlen, &t, &e);
	if (r < 0) {
		if (!err || !strstr(e.msg, strtok(err, "\n"))) {
			fprintf(stderr, "%s: %s\n", name, e.msg);
			check_failures++;
		}
		goto out;
	}
	restore_guess_resource(json_string_value(json_object_get(in, "apiVersio"
								     "n")),
			       json_string_value(json_object_get(in, "kind")),
			       gr, sizeof(gr));
	r = restore_transform_apply(t, in, gr, &e);
	if (err) {
		if (r >= 0 || !strstr(e.msg, strtok(err, "\n"))) {
			fprintf(stderr, "%s: r=%d \"%s\", expected \"%s\"\n",
				name, r, e.msg, err);
			check_failures++;
		}
		goto out;
	}
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", name, e.msg);
		check_failures++;
	}
	tr_check_json(name, in, want);
out:
	restore_transform_free(t);
	json_decref(in);
	json_decref(want);
	json_decref(opt);
	free(mods);
	free(err);
}

static json_t *J(const char *s)
{
	json_t *j = json_loads(s, JSON_DECODE_ANY, NULL);

	if (!j) {
		fprintf(stderr, "bad test JSON: %s\n", s);
		check_failures++;
	}
	return j;
}

static void patch_case(const char *doc, const char *ops, const char *want,
		       int want_r)
{
	json_t *d = J(doc), *o = J(ops), *w = want ? J(want) : NULL;
	struct verror e = { { 0 } };
	int r = restore_json_patch(d, o, &e);

	if (r != want_r) {
		fprintf(stderr, "patch %s: r=%d (%s), expected %d\n", ops, r,
			e.msg, want_r);
		check_failures++;
	}
	if (w)
		tr_check_json(ops, d, w);
	json_decref(d);
	json_decref(o);
	json_decref(w);
}

static void test_json_patch(void)
{
	/* RFC 6902 appendix A */
	patch_case("{\"foo\":\"bar\"}",
		   "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
		   "{\"foo\":\"bar\",\"baz\":\"qux\"}", 0);
	patch_case("{\"foo\":[\"bar\",\"baz\"]}",
		   "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
		   "{\"foo\":[\"bar\",\"qux\",\"baz\"]}", 0);
	patch_case("{\"foo\":[\"bar\"]}",
		   "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":\"x\"}]",
		   "{\"foo\":[\"bar\",\"x\"]}", 0);
	patch_case("{\"baz\":\"qux\",\"foo\":\"bar\"}",
		   "[{\"op\":\"remove\",\"path\":\"/baz\"}]",
		   "{\"foo\":\"bar\"}", 0);
	patch_case("{\"baz\":\"qux\"}",
		   "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
		   "{\"baz\":\"boo\"}", 0);
	patch_case("{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{}}",
		   "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":"
		   "\"/qux/thud\"}]",
		   "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"thud\":\"fred\"}}",
		   0);
	patch_case("{\"a\":{\"b\":1}}",
		   "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/c\"}]",
		   "{\"a\":{\"b\":1},\"c\":{\"b\":1}}", 0);
	patch_case("{\"a/b\":1,\"m~n\":2}",
		   "[{\"op\":\"replace\",\"path\":\"/a~1b\",\"value\":3},"
		   "{\"op\":\"remove\",\"path\":\"/m~0n\"}]",
		   "{\"a/b\":3}", 0);
	/* a failed test leaves the document as it was */
	patch_case("{\"a\":1}",
		   "[{\"op\":\"replace\",\"path\":\"/a\",\"value\":2},"
		   "{\"op\":\"test\",\"path\":\"/a\",\"value\":1}]",
		   "{\"a\":1}", 1);
	/* errors: atomic too */
	patch_case("{\"a\":1}",
		   "[{\"op\":\"add\",\"path\":\"/b\",\"value\":2},"
		   "{\"op\":\"replace\",\"path\":\"/nope\",\"value\":1}]",
		   "{\"a\":1}", -EINVAL);
	patch_case("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/x/y\"}]",
		   "{\"a\":1}", -EINVAL);
	patch_case("{\"a\":[1]}",
		   "[{\"op\":\"add\",\"path\":\"/a/5\",\"value\":2}]", NULL,
		   -EINVAL);
}

static void merge_case(const char *target, const char *patch, const char *want)
{
	json_t *p = J(patch), *w = J(want);
	json_t *got = restore_merge_patch(J(target), p);

	tr_check_json(patch, got, w);
	json_decref(got);
	json_decref(p);
	json_decref(w);
}

static void test_merge(void)
{
	/* RFC 7386 appendix A */
	merge_case("{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
	merge_case("{\"a\":\"b\"}", "{\"b\":\"c\"}",
		   "{\"a\":\"b\",\"b\":\"c\"}");
	merge_case("{\"a\":\"b\"}", "{\"a\":null}", "{}");
	merge_case("{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}");
	merge_case("[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]");
	merge_case("{\"a\":\"foo\"}", "null", "null");
	merge_case("{}", "{\"a\":{\"bb\":{\"ccc\":null}}}",
		   "{\"a\":{\"bb\":{}}}");
	merge_case("{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}");
}

static bool subset(const char *want, json_t *have)
{
	json_t *w = J(want);
	bool r = restore_json_subset(w, have);

	json_decref(w);
	return r;
}

static void test_diff_subset(void)
{
	json_t *from = J("{\"a\":1,\"b\":{\"c\":2,\"d\":3},\"x\":[1]}");
	json_t *to = J("{\"a\":1,\"b\":{\"c\":5},\"y\":true,\"x\":[1,2]}");
	json_t *d = restore_merge_diff(from, to), *applied;
	json_t *want = J("{\"b\":{\"c\":5,\"d\":null},\"y\":true,"
			 "\"x\":[1,2]}");

	tr_check_json("diff", d, want);
	json_decref(want);
	applied = restore_merge_patch(json_deep_copy(from), d);
	tr_check_json("diff applied", applied, to);
	CHECK(restore_merge_diff(to, to) == NULL);
	CHECK(subset("{\"b\":{\"c\":5}}", to));
	CHECK(!subset("{\"b\":{\"c\":6}}", to));
	CHECK(!subset("{\"x\":[1]}", to));
	{
		json_t *n = J("{\"n\":1.0}");

		CHECK(subset("{\"n\":1}", n));
		json_decref(n);
	}
	json_decref(from);
	json_decref(to);
	json_decref(d);
	json_decref(applied);
}

static void smp_case(const char *target, const char *patch, const char *want)
{
	json_t *p = J(patch), *w = J(want);
	json_t *got = restore_strategic_patch(J(target), p, NULL);

	tr_check_json(patch, got, w);
	json_decref(got);
	json_decref(p);
	json_decref(w);
}

static void test_strategic(void)
{
	smp_case("{\"c\":[{\"name\":\"a\",\"image\":\"x\"},{\"name\":\"b\"}]}",
		 "{\"c\":[{\"name\":\"a\",\"image\":\"y\"}]}",
		 "{\"c\":[{\"name\":\"a\",\"image\":\"y\"}]}"); /* no key */
	smp_case("{\"containers\":[{\"name\":\"a\",\"image\":\"x\"},"
		 "{\"name\":\"b\",\"image\":\"z\"}]}",
		 "{\"containers\":[{\"name\":\"a\",\"image\":\"y\"},"
		 "{\"name\":\"c\",\"image\":\"n\"}]}",
		 "{\"containers\":[{\"name\":\"a\",\"image\":\"y\"},"
		 "{\"name\":\"b\",\"image\":\"z\"},"
		 "{\"name\":\"c\",\"image\":\"n\"}]}");
	smp_case("{\"volumes\":[{\"name\":\"a\"},{\"name\":\"b\"}]}",
		 "{\"volumes\":[{\"name\":\"a\",\"$patch\":\"delete\"}]}",
		 "{\"volumes\":[{\"name\":\"b\"}]}");
	smp_case("{\"env\":[{\"name\":\"A\",\"value\":\"1\"}]}",
		 "{\"env\":[{\"name\":\"B\",\"value\":\"2\"},"
		 "{\"$patch\":\"replace\"}]}",
		 "{\"env\":[{\"name\":\"B\",\"value\":\"2\"}]}");
	smp_case("{\"ports\":[{\"containerPort\":80,\"name\":\"h\"}]}",
		 "{\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"}]}",
		 "{\"ports\":[{\"containerPort\":80,\"name\":\"h\","
		 "\"protocol\":\"TCP\"}]}");
	smp_case("{\"finalizers\":[\"a\"],\"args\":[\"x\"]}",
		 "{\"finalizers\":[\"b\"],\"args\":[\"y\"]}",
		 "{\"finalizers\":[\"a\",\"b\"],\"args\":[\"y\"]}");
	smp_case("{\"m\":{\"a\":1,\"b\":2},\"n\":{\"x\":1}}",
		 "{\"m\":{\"$patch\":\"replace\",\"c\":3},\"n\":null}",
		 "{\"m\":{\"c\":3}}");
	smp_case("{\"finalizers\":[\"a\",\"b\"]}",
		 "{\"$deleteFromPrimitiveList/finalizers\":[\"a\"]}",
		 "{\"finalizers\":[\"b\"]}");
}

static void test_bad_files(void)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "version: v2\nresourceModifierRules: [{conditions: "
		  "{groupResource: pods}, patches: [{operation: remove, path: "
		  "/a}]}]\n",
		  "unsupported resource modifier version v2" },
		{ "version: v1\nresourceModifierRules: []\n", "rules cannot be "
							      "empty" },
		{ "version: v1\nresourceModifierRules:\n- conditions: {}\n"
		  "  patches: [{operation: remove, path: /a}]\n",
		  "groupResource cannot be empty" },
		{ "version: v1\nresourceModifierRules:\n- conditions: "
		  "{groupResource: pods}\n  patches: [{operation: frob, path: "
		  "/a}]\n",
		  "unsupported operation frob" },
		{ "version: v1\nresourceModifierRules:\n- conditions: "
		  "{groupResource: pods}\n  patches: [{operation: remove, "
		  "path: "
		  "/a}]\n  mergePatches: [{patchData: '{}'}]\n",
		  "only one of patches" },
		{ "version: v1\nresourceModifierRules:\n- conditions: "
		  "{groupResource: pods, colour: red}\n",
		  "unknown field \"colour\"" },
		{ "version: v1\nresourceModifierRules:\n- conditions: "
		  "{groupResource: pods, resourceNameRegex: \"(\"}\n",
		  "does not compile" },
		{ "version: v1\nresourceModifierRules:\n- conditions: "
		  "{groupResource: pods}\n  mergePatches:\n  - patchData: "
		  "\"a: [\"\n",
		  "patchData: line" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct restore_transform *t = NULL;
		struct verror e = { { 0 } };
		int r = restore_transform_new(NULL, NULL, cases[i].text,
					      strlen(cases[i].text), &t, &e);

		if (r != -EINVAL || !strstr(e.msg, cases[i].msg)) {
			fprintf(stderr, "bad file %zu: r=%d \"%s\"\n", i, r,
				e.msg);
			check_failures++;
		}
		restore_transform_free(t);
	}
	{
		struct restore_transform *t = NULL;
		struct verror e = { { 0 } };

		CHECK_EQ_INT(restore_transform_new("nope", NULL, NULL, 0, &t,
						   &e),
			     -EINVAL);
		CHECK(strstr(e.msg, "image_map") != NULL);
	}
}

int main(int argc, char **argv)
{
	char dir[4096];

	if (argc < 2) {
		fprintf(stderr, "usage: %s DATA_DIR\n", argv[0]);
		return 2;
	}
	test_json_patch();
	test_merge();
	test_diff_subset();
	test_strategic();
	test_bad_files();
	snprintf(dir, sizeof(dir), "%s/transform", argv[1]);
	CHECK(tr_each_case(dir, golden) >= 8);
	return check_status();
}
