/* Unit tests for etcd/k8s_enc.c: JSON of a built-in kind -> the protobuf
 * kube-apiserver reads.
 *
 * The oracle is the decoder (itself checked against the real apiserver by
 * test_k8s): every object of tests/data/k8s/ (what the apiserver served,
 * and tools/k8s-protogen's random samples of every kind) encoded and
 * decoded again must be the same JSON (json_equal), byte for byte the same
 * protobuf when encoded twice. Then by hand: what must be refused (the
 * caller sends JSON then) and why, Go's RFC 3339, the hand-marshalled
 * types, the envelope, and tests/test_restore_protobuf.py restores through
 * a real apiserver. */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/sbuf.h"
#include "etcd/etcd.h"
#include "etcd/k8s_i.h"

static unsigned n_encoded, n_custom, n_nested;

/* obj -> protobuf -> JSON again: equal to want (obj when NULL). */
static void roundtrip(const char *name, json_t *obj, json_t *want)
{
	struct sbuf pb, again, js, notes;
	struct verror e = { { 0 } };
	json_t *got;
	int r;

	sbuf_init(&pb, 0);
	sbuf_init(&again, 0);
	sbuf_init(&js, 0);
	sbuf_init(&notes, 0);
	r = k8s_json_to_value(obj, &pb, &e);
	if (r == -ENOENT) {
		n_custom++;
		goto out;
	}
	if (r < 0 && strstr(e.msg, "a nested apiVersion or kind")) {
		/* a StatefulSet's volumeClaimTemplates as served: Go reads
		 * their TypeMeta from JSON, protobuf does not carry it */
		n_nested++;
		goto out;
	}
	if (r < 0) {
		fprintf(stderr, "%s: not encoded: %s\n", name, e.msg);
		check_failures++;
		goto out;
	}
	n_encoded++;
	CHECK_EQ_INT(k8s_json_to_value(obj, &again, &e), 0);
	CHECK(again.len == pb.len && !memcmp(again.buf, pb.buf, pb.len));
	r = k8s_value_to_json(pb.buf, pb.len, &js, &notes, &e);
	if (r < 0 || notes.len) {
		fprintf(stderr, "%s: does not decode: %s %s\n", name,
			r < 0 ? e.msg : "", sbuf_str(&notes));
		check_failures++;
		goto out;
	}
	got = json_loadb(js.buf, js.len, 0, NULL);
	if (!json_equal(got, want ? want : obj)) {
		char *w = json_dumps(want ? want : obj, JSON_COMPACT);

		fprintf(stderr,
			"%s: round trip differs:\n  in:  %s\n  out: %s\n", name,
			w, js.buf);
		free(w);
		check_failures++;
	}
	json_decref(got);
out:
	sbuf_release(&pb);
	sbuf_release(&again);
	sbuf_release(&js);
	sbuf_release(&notes);
}

static void test_fixtures(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[4096];

	CHECK(d);
	if (!d)
		return;
	while ((de = readdir(d))) {
		json_t *doc, *want;

		if (!strstr(de->d_name, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		doc = json_load_file(path, 0, NULL);
		want = json_object_get(doc, "expected");
		CHECK(want);
		if (want)
			roundtrip(de->d_name, want, NULL);
		json_decref(doc);
	}
	closedir(d);
	/* the fixtures hold objects of 62 resources and samples of every
	 * kind: nearly all built-in */
	CHECK(n_encoded >= 80);
	CHECK(n_custom <= 10);
	CHECK(n_nested <= 2);
}

/* text must be refused with -EOPNOTSUPP and a message holding why. */
static void refused(const char *text, const char *why)
{
	json_t *o = json_loads(text, 0, NULL);
	struct sbuf pb;
	struct verror e = { { 0 } };
	int r;

	CHECK(o);
	sbuf_init(&pb, 0);
	sbuf_add(&pb, "x", 1);
	r = k8s_json_to_value(o, &pb, &e);
	CHECK_EQ_INT(r, -EOPNOTSUPP);
	if (r == -EOPNOTSUPP && !strstr(e.msg, why)) {
		fprintf(stderr, "%s: message %s, not %s\n", text, e.msg, why);
		check_failures++;
	}
	CHECK(pb.len == 1); /* left as it was */
	sbuf_release(&pb);
	json_decref(o);
}

/* text encodes, and decodes to want (text itself when NULL). */
static void accepted(const char *text, const char *want)
{
	json_t *o = json_loads(text, 0, NULL), *w = NULL;

	CHECK(o);
	if (want) {
		w = json_loads(want, 0, NULL);
		CHECK(w);
	}
	n_custom = 0;
	roundtrip(text, o, w);
	CHECK_EQ_INT(n_custom, 0);
	json_decref(o);
	json_decref(w);
}

#define CM "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":"
#define DEP "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","

static void test_handmade(void)
{
	struct sbuf pb;
	struct verror e = { { 0 } };
	json_t *o;

	/* the envelope: k8s\0, typeMeta, raw, two empty strings */
	o = json_loads(CM "{\"name\":\"a\"}}", 0, NULL);
	sbuf_init(&pb, 0);
	CHECK_EQ_INT(k8s_json_to_value(o, &pb, &e), 0);
	CHECK(pb.len == 4 + 17 + 7 + 4 && !memcmp(pb.buf,
						  "k8s\0\x0a\x0f\x0a\x02v1\x12"
						  "\x09"
						  "ConfigMap\x12\x05\x0a\x03"
						  "\x0a\x01"
						  "a\x1a\x00\x22\x00",
						  pb.len));
	sbuf_release(&pb);
	json_decref(o);

	/* custom resources and non-objects */
	o = json_loads("{\"apiVersion\":\"x.io/v1\",\"kind\":\"W\"}", 0, NULL);
	sbuf_init(&pb, 0);
	CHECK_EQ_INT(k8s_json_to_value(o, &pb, &e), -ENOENT);
	json_decref(o);
	o = json_loads("{\"kind\":\"ConfigMap\"}", 0, NULL);
	CHECK_EQ_INT(k8s_json_to_value(o, &pb, &e), -EINVAL);
	json_decref(o);
	o = json_loads("[1]", 0, NULL);
	CHECK_EQ_INT(k8s_json_to_value(o, &pb, &e), -EINVAL);
	json_decref(o);
	CHECK(pb.len == 0);
	sbuf_release(&pb);

	/* what JSON would lose or read otherwise: refused, with where */
	refused(CM "{\"name\":\"a\",\"bogus\":1}}", "metadata.bogus: a field "
						    "the API server does not "
						    "know");
	refused(CM "{\"name\":\"a\"},\"data\":{\"k\":1}}", "data: not a "
							   "string");
	refused(CM "{\"name\":\"a\"},\"binaryData\":{\"k\":\"YQ\"}}", "binaryDa"
								      "ta: not "
								      "canonica"
								      "l "
								      "base64");
	refused(CM "{\"name\":\"a\",\"generation\":1.5}}", "metadata."
							   "generation: not an "
							   "integer");
	refused(CM "{\"name\":\"a\",\"creationTimestamp\":\"2024-02-30T00:00:"
		   "00Z\"}}",
		"creationTimestamp: not an RFC 3339 time");
	refused(CM "{\"name\":\"a\",\"finalizers\":[null]}}", "null in an "
							      "array");
	refused(DEP "\"metadata\":{\"name\":\"a\"},\"spec\":{\"replicas\":"
		    "4294967296}}",
		"spec.replicas: not an integer of the field's range");
	refused(DEP "\"metadata\":{\"name\":\"a\"},\"spec\":{\"template\":{"
		    "\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":"
		    "{\"limits\":{\"cpu\":\" 1\"}}}]}}}}",
		"spec.template.spec.containers.resources.limits: a quantity");
	refused(DEP "\"metadata\":{\"name\":\"a\"},\"spec\":{\"strategy\":{"
		    "\"rollingUpdate\":{\"maxSurge\":1.5}}}}",
		"neither a string nor an int32");
	/* an item with a nested TypeMeta's fields set (a ControllerRevision's
	 * data is a RawExtension, not this) */
	refused(CM "{\"name\":\"a\",\"ownerReferences\":[{\"apiVersion\":1}]}}",
		"ownerReferences.apiVersion: not a string");

	/* accepted, and read back the same */
	accepted(CM "{\"name\":\"a\",\"labels\":{\"b\":\"2\",\"a\":\"1\"},"
		    "\"creationTimestamp\":\"2024-02-29T23:59:59Z\"},"
		    "\"data\":{\"x\":\"\"},\"binaryData\":{\"y\":\"AAE=\"},"
		    "\"immutable\":false}",
		 NULL);
	/* a zone offset: UTC on the way back */
	accepted(CM "{\"name\":\"a\",\"creationTimestamp\":\"2024-03-01T01:30:"
		    "00+02:00\"}}",
		 CM "{\"name\":\"a\",\"creationTimestamp\":\"2024-02-29T23:30:"
		    "00Z\"}}");
	/* Go's RFC 3339: a fraction after '.' or ',' (Time shows seconds);
	 * MicroTime wants exactly six digits */
	accepted(CM "{\"name\":\"a\",\"creationTimestamp\":\"2024-03-01T01:30:"
		    "00,5Z\"}}",
		 CM "{\"name\":\"a\",\"creationTimestamp\":\"2024-03-01T01:30:"
		    "00Z\"}}");
	accepted("{\"apiVersion\":\"coordination.k8s.io/"
		 "v1\",\"kind\":\"Lease\","
		 "\"metadata\":{\"name\":\"l\"},\"spec\":{\"acquireTime\":"
		 "\"2024-01-01T00:00:00.123456Z\"}}",
		 NULL);
	refused("{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\","
		"\"metadata\":{\"name\":\"l\"},\"spec\":{\"acquireTime\":"
		"\"2024-01-01T00:00:00.123Z\"}}",
		"spec.acquireTime: not an RFC 3339 time");
	/* a null map value is Go's zero value */
	accepted(CM "{\"name\":\"a\"},\"data\":{\"x\":null}}", CM "{\"name\":"
								  "\"a\"},"
								  "\"data\":{"
								  "\"x\":\"\"}"
								  "}");
	accepted(DEP "\"metadata\":{\"name\":\"a\"},\"spec\":{\"replicas\":0,"
		     "\"strategy\":{\"rollingUpdate\":{\"maxSurge\":\"25%\","
		     "\"maxUnavailable\":0}},\"template\":{\"metadata\":{},"
		     "\"spec\":{\"containers\":[{\"name\":\"c\",\"ports\":[{"
		     "\"containerPort\":80}],\"resources\":{\"limits\":{"
		     "\"cpu\":"
		     "\"500m\",\"memory\":2}},\"readinessProbe\":{\"httpGet\":{"
		     "\"port\":\"http\"}}}],\"volumes\":[{\"name\":\"v\","
		     "\"configMap\":{\"name\":\"x\"}}]}}}}",
		 /* the decoder's order and zero values; a quantity as a
		  * string */
		 DEP "\"metadata\":{\"name\":\"a\"},\"spec\":{\"replicas\":0,"
		     "\"selector\":null,\"template\":{\"metadata\":{},\"spec\":"
		     "{"
		     "\"volumes\":[{\"name\":\"v\",\"configMap\":{\"name\":"
		     "\"x\"}}],\"containers\":[{\"name\":\"c\",\"ports\":[{"
		     "\"containerPort\":80}],\"resources\":{\"limits\":{"
		     "\"cpu\":"
		     "\"500m\",\"memory\":\"2\"}},\"readinessProbe\":{"
		     "\"httpGet\":{\"port\":\"http\"}}}]}},\"strategy\":{"
		     "\"rollingUpdate\":{\"maxUnavailable\":0,\"maxSurge\":"
		     "\"25%\"}}},\"status\":{}}");
	/* Status: what a failed request answers in protobuf */
	accepted("{\"apiVersion\":\"v1\",\"kind\":\"Status\",\"metadata\":{},"
		 "\"status\":\"Failure\",\"message\":\"configmaps \\\"a\\\" "
		 "already exists\",\"reason\":\"AlreadyExists\",\"details\":{"
		 "\"name\":\"a\",\"kind\":\"configmaps\"},\"code\":409}",
		 NULL);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		test_fixtures(argv[1]);
	test_handmade();
	return check_status();
}
