/* test_restore_clean: restore/clean.c against golden cases under
 * tests/data/restore/clean/<case>/: input.json (an item as Velero backed
 * it up), expected.json (what Velero's restore would send), and
 * options.json: {"target_ns", "from_ns": [...], "backup", "restore",
 * "provision_pvs": [...], "hooks": <a hooks file, as JSON>} (restore
 * defaults to "restore-1"), or
 * {"skip": "<part of the reason>"} for items Velero does not restore. */
#include <errno.h>

#include "restore/restore_i.h"
#include "test_restore_util.h"

static void golden(const char *dir, const char *name)
{
	json_t *in = tr_json(dir, "input.json");
	json_t *want = tr_json(dir, "expected.json");
	json_t *opt = tr_json(dir, "options.json");
	json_t *from = NULL;
	const char *av, *kind, *skip = NULL, *want_skip;
	char gr[300];
	struct restore_clean c = { 0 };
	struct restore_hooks *hooks = NULL;
	int r, nsd;

	if (!in || (!want && !json_object_get(opt, "skip"))) {
		fprintf(stderr, "%s: incomplete case\n", name);
		check_failures++;
		goto out;
	}
	av = json_string_value(json_object_get(in, "apiVersion"));
	kind = json_string_value(json_object_get(in, "kind"));
	c.gr = restore_guess_resource(av, kind, gr, sizeof(gr));
	c.target_ns = json_string_value(json_object_get(opt, "target_ns"));
	c.backup = json_string_value(json_object_get(opt, "backup"));
	c.restore = json_string_value(json_object_get(opt, "restore"));
	if (!c.restore)
		c.restore = "restore-1";
	c.default_ns = "default";
	c.provision_pvs = json_object_get(opt, "provision_pvs");
	if (json_object_get(opt, "hooks")) {
		char *text = json_dumps(json_object_get(opt, "hooks"), 0);
		struct verror e = { { 0 } };

		CHECK_EQ_INT(restore_hooks_new(text, strlen(text), &hooks, &e),
			     0);
		free(text);
		c.hooks = hooks;
	}
	if (json_is_array(json_object_get(opt, "from_ns"))) {
		size_t i;
		json_t *v;

		from = json_object();
		json_array_foreach(json_object_get(opt, "from_ns"), i, v)
			json_object_set_new(from, json_string_value(v),
					    json_true());
		c.from_ns = from;
	}
	r = restore_clean_item(in, &c, &skip);
	want_skip = json_string_value(json_object_get(opt, "skip"));
	if (want_skip) {
		if (r != 1 || !skip || !strstr(skip, want_skip)) {
			fprintf(stderr, "%s: r=%d skip=%s, expected skip %s\n",
				name, r, skip ? skip : "(none)", want_skip);
			check_failures++;
		}
		goto out;
	}
	CHECK_EQ_INT(r, 0);
	nsd = restore_guess_namespaced(av, kind);
	CHECK_EQ_INT(restore_clean_finish(in, &c, nsd != 0), 0);
	tr_check_json(name, in, want);
out:
	json_decref(in);
	json_decref(want);
	json_decref(opt);
	json_decref(from);
	restore_hooks_free(hooks);
}

static void test_names(void)
{
	char buf[300];

	CHECK_STREQ(restore_guess_resource("apps/v1", "Deployment", buf,
					   sizeof(buf)),
		    "deployments.apps");
	CHECK_STREQ(restore_guess_resource("v1", "Endpoints", buf, sizeof(buf)),
		    "endpoints");
	CHECK_STREQ(restore_guess_resource("networking.k8s.io/v1", "Ingress",
					   buf, sizeof(buf)),
		    "ingresses.networking.k8s.io");
	CHECK_STREQ(restore_guess_resource("e.io/v1", "Policy", buf,
					   sizeof(buf)),
		    "policies.e.io");
	CHECK_STREQ(restore_guess_resource("e.io/v1", "Class", buf,
					   sizeof(buf)),
		    "classes.e.io");
	CHECK_STREQ(restore_guess_resource("e.io/v1", "Widget", buf,
					   sizeof(buf)),
		    "widgets.e.io");
	CHECK_EQ_INT(restore_guess_namespaced("v1", "Namespace"), 0);
	CHECK_EQ_INT(restore_guess_namespaced("v1", "Pod"), 1);
	CHECK_EQ_INT(restore_guess_namespaced("e.io/v1", "Widget"), -1);
	/* Velero's GetValidName */
	CHECK_STREQ(restore_valid_label("short", buf, sizeof(buf)), "short");
	CHECK_STREQ(restore_valid_label("a2345678901234567890123456789012345678"
					"9"
					"012345678901234567890123",
					buf, sizeof(buf)),
		    "a23456789012345678901234567890123456789012345678901234567"
		    "890123");
	/* over 63: the first 57 bytes and 6 hex digits of the SHA-256 */
	CHECK_STREQ(restore_valid_label("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
					"aa"
					"aaaaaaaaaaaaaaaaaaaaaaaa",
					buf, sizeof(buf)),
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "ffe054");
	/* an etcd snapshot's name: invalid bytes as '-', leading ones
	 * dropped, the hash (of the name as given) keeps them apart */
	CHECK_STREQ(restore_valid_label("~ops_snap.db", buf, sizeof(buf)),
		    "ops_snap.db84904e");
	CHECK_STREQ(restore_valid_label("snap_", buf, sizeof(buf)), "snap_"
								    "9af5c4");
	CHECK_STREQ(restore_valid_label("_snap", buf, sizeof(buf)), "snapc4d87"
								    "f");
	CHECK_STREQ(restore_valid_label("a~b", buf, sizeof(buf)), "a-b941528");
	CHECK_STREQ(restore_valid_label("a+b", buf, sizeof(buf)), "a-b300273");
	CHECK_STREQ(restore_valid_label("\xc3\xbcn\xc3\xaf", buf, sizeof(buf)),
		    "n--e975a5");
	CHECK_STREQ(restore_valid_label("a_b.c-d", buf, sizeof(buf)), "a_b.c-"
								      "d");
	CHECK_STREQ(restore_valid_label("", buf, sizeof(buf)), "");
}

/* Hooks files Velero would fail on are refused when loaded. */
static void test_hooks_refused(void)
{
	static const char *const bad[] = {
		"{}",
		"resources: 3",
		"resources: [{postHooks: [{init: {initContainers: [{name: a, "
		"image: b}]}}]}]", /* no command */
		"resources: [{postHooks: [{init: {initContainers: [{name: a, "
		"command: [x]}]}}]}]", /* no image */
		"resources: [{includedNamespaces: shop}]",
		"resources: [{labelSelector: [a]}]",
		"spec: {hooks: {resources: [{postHooks: 1}]}}",
	};
	struct restore_hooks *h = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct verror e = { { 0 } };

		CHECK_EQ_INT(restore_hooks_new(bad[i], strlen(bad[i]), &h, &e),
			     -EINVAL);
		CHECK(strstr(e.msg, "restore hooks") != NULL);
	}
	CHECK(h == NULL);
	CHECK_EQ_INT(restore_hooks_new("resources: []", 13, &h, NULL), 0);
	h = restore_hooks_free(h);
}

int main(int argc, char **argv)
{
	char dir[4096];

	if (argc < 2) {
		fprintf(stderr, "usage: %s DATA_DIR\n", argv[0]);
		return 2;
	}
	test_names();
	test_hooks_refused();
	snprintf(dir, sizeof(dir), "%s/clean", argv[1]);
	CHECK(tr_each_case(dir, golden) >= 15);
	return check_status();
}
