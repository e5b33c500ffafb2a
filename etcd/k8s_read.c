/* k8s_read: what kube-apiserver does to a stored object on its way out,
 * beyond decoding it, for the kinds where that changes what it shows.
 *
 * The apiserver decodes a stored value into its storage version, applies
 * that version's defaulting functions (SetDefaults_* of k8s.io/kubernetes
 * pkg/apis/<group>/<version>/defaults.go), converts it to the internal
 * version and from there to the version asked for. For most kinds this
 * gives back what was stored: the object was defaulted before it was
 * stored. Where a registry strategy changed it after defaulting (a status
 * reset, generated labels), where TypeMeta of an embedded object is not on
 * the wire, or where the stored version is not the served one, the
 * difference shows. These are written by hand, each with its Go source,
 * found by the oracle (tests/test_k8s_values.py compares every object
 * the test apiserver stores with what it serves):
 *
 *   v1 PersistentVolumeClaim, PersistentVolume: status.phase "Pending"
 *     when empty (SetDefaults_PersistentVolume[Claim]; PrepareForCreate
 *     resets status after defaulting)
 *   v1 Namespace: the kubernetes.io/metadata.name label, status.phase
 *     "Active" (SetDefaults_Namespace, SetDefaults_NamespaceStatus)
 *   v1 ReplicationController: selector and labels from the template's
 *     labels when empty (SetDefaults_ReplicationController)
 *   v1 Service: status.loadBalancer.ingress[].ipMode "VIP" for a
 *     LoadBalancer ingress with an ip (SetDefaults_Service, LoadBalancerIPMode)
 *   batch/v1 Job: labels from the template's labels when empty
 *     (SetDefaults_Job; the strategy labels the template after defaulting)
 *   apps/v1 StatefulSet: volumeClaimTemplates[] apiVersion "v1", kind
 *     "PersistentVolumeClaim" (Convert_apps_StatefulSetSpec_To_v1_...:
 *     TypeMeta is not in the protobuf)
 *   apiextensions.k8s.io/v1beta1 CustomResourceDefinition, the storage
 *     version of CRDs, shown as v1: v1beta1's defaults, then the v1beta1 ->
 *     internal -> v1 conversion (apiextensions-apiserver
 *     pkg/apis/apiextensions/v1{,beta1}/{defaults,conversion}.go)
 *
 * The decoded JSON is parsed with jansson, changed, and written again
 * with Go's number formatting (k8s_format_float). A value jansson can't
 * hold (an integer beyond 64 bits in a raw JSON field) is -EBADMSG. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sbuf.h"
#include "etcd/etcd.h"
#include "etcd/k8s_i.h"

/* ---- writing a json_t as Go's encoding/json would --------------------- */

static int put_string(struct sbuf *b, const char *s, size_t n)
{
	return k8s_json_string(b, s, n);
}

static int put(struct sbuf *b, json_t *v)
{
	char buf[40];
	int r, n;

	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *k;
		json_t *x;
		bool first = true;

		if ((r = sbuf_addc(b, '{')) < 0)
			return r;
		json_object_foreach(v, k, x)
		{
			if (!first && (r = sbuf_addc(b, ',')) < 0)
				return r;
			first = false;
			if ((r = put_string(b, k, strlen(k))) < 0 ||
			    (r = sbuf_addc(b, ':')) < 0 || (r = put(b, x)) < 0)
				return r;
		}
		return sbuf_addc(b, '}');
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *x;

		if ((r = sbuf_addc(b, '[')) < 0)
			return r;
		json_array_foreach(v, i, x)
		{
			if (i && (r = sbuf_addc(b, ',')) < 0)
				return r;
			if ((r = put(b, x)) < 0)
				return r;
		}
		return sbuf_addc(b, ']');
	}
	case JSON_STRING:
		return put_string(b, json_string_value(v),
				  json_string_length(v));
	case JSON_INTEGER:
		n = snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
			     json_integer_value(v));
		return sbuf_add(b, buf, (size_t)n);
	case JSON_REAL:
		n = k8s_format_float(buf, sizeof(buf), json_real_value(v), 64);
		if (n < 0)
			return -EBADMSG;
		return sbuf_add(b, buf, (size_t)n);
	case JSON_TRUE:
		return sbuf_add(b, "true", 4);
	case JSON_FALSE:
		return sbuf_add(b, "false", 5);
	case JSON_NULL:
		return sbuf_add(b, "null", 4);
	}
	return -EINVAL;
}

/* ---- small helpers ------------------------------------------------------- */

/* o[k] as an object, created (replacing a non-object) when absent. */
static json_t *obj_at(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	if (!json_is_object(v)) {
		v = json_object();
		json_object_set_new(o, k, v);
	}
	return v;
}

static json_t *get2(json_t *o, const char *a, const char *b)
{
	return json_object_get(json_object_get(o, a), b);
}

static bool empty_str(json_t *v)
{
	return !json_is_string(v) || !json_string_length(v);
}

/* Go's len(map) == 0 / len(slice) == 0 for what the decoder wrote */
static bool empty(json_t *v)
{
	return !v || json_is_null(v) ||
	       (json_is_object(v) && !json_object_size(v)) ||
	       (json_is_array(v) && !json_array_size(v));
}

static void default_str(json_t *o, const char *k, const char *val)
{
	if (empty_str(json_object_get(o, k)))
		json_object_set_new(o, k, json_string(val));
}

/* ---- the fixes ------------------------------------------------------------
 */

static int fix_phase_pending(json_t *o)
{
	default_str(obj_at(o, "status"), "phase", "Pending");
	return 0;
}

static int fix_namespace(json_t *o)
{
	json_t *meta = obj_at(o, "metadata"),
	       *name = json_object_get(meta, "name");

	if (!empty_str(name))
		json_object_set(obj_at(meta, "labels"),
				"kubernetes.io/metadata.name", name);
	default_str(obj_at(o, "status"), "phase", "Active");
	return 0;
}

static int fix_rc(json_t *o)
{
	json_t *spec = json_object_get(o, "spec");
	json_t *labels =
		get2(json_object_get(spec, "template"), "metadata", "labels");

	if (!json_is_object(labels))
		return 0; /* nil map: nothing to copy */
	if (empty(json_object_get(spec, "selector")))
		json_object_set_new(spec, "selector", json_deep_copy(labels));
	if (empty(get2(o, "metadata", "labels")))
		json_object_set_new(obj_at(o, "metadata"), "labels",
				    json_deep_copy(labels));
	return 0;
}

static int fix_job(json_t *o)
{
	json_t *labels =
		get2(get2(o, "spec", "template"), "metadata", "labels");

	if (json_is_object(labels) && empty(get2(o, "metadata", "labels")))
		json_object_set_new(obj_at(o, "metadata"), "labels",
				    json_deep_copy(labels));
	return 0;
}

static int fix_service(json_t *o)
{
	json_t *ing = json_object_get(get2(o, "status", "loadBalancer"), "ingre"
									 "ss");
	json_t *x;
	size_t i;

	if (!json_is_string(get2(o, "spec", "type")) ||
	    strcmp(json_string_value(get2(o, "spec", "type")), "LoadBalancer"))
		return 0;
	json_array_foreach(ing, i, x)
	{
		if (!empty_str(json_object_get(x, "ip")) &&
		    !json_object_get(x, "ipMode"))
			json_object_set_new(x, "ipMode", json_string("VIP"));
	}
	return 0;
}

static int fix_statefulset(json_t *o)
{
	json_t *t = get2(o, "spec", "volumeClaimTemplates"), *x;
	size_t i;

	json_array_foreach(t, i, x)
	{
		json_object_set_new(x, "apiVersion", json_string("v1"));
		json_object_set_new(x, "kind",
				    json_string("PersistentVolumeClaim"));
	}
	return 0;
}

/* v1beta1 printer columns call jsonPath "JSONPath" */
static void rename_columns(json_t *cols)
{
	json_t *c;
	size_t i;

	json_array_foreach(cols, i, c)
	{
		json_t *p = json_object_get(c, "JSONPath");

		if (p) {
			json_object_set(c, "jsonPath", p);
			json_object_del(c, "JSONPath");
		}
	}
}

static int fix_crd_v1beta1(json_t *o)
{
	json_t *spec = obj_at(o, "spec"), *names = obj_at(spec, "names");
	json_t *kind = json_object_get(names, "kind");
	json_t *versions = json_object_get(spec, "versions");
	json_t *version = json_object_get(spec, "version");
	json_t *conv, *status, *v, *x;
	static const char *const moved[][2] = {
		{ "subresources", "subresources" },
		{ "validation", "schema" },
		{ "additionalPrinterColumns", "additionalPrinterColumns" },
		{ "selectableFields", "selectableFields" },
	};
	size_t i, j;

	/* v1beta1 SetDefaults_CustomResourceDefinition{,Spec} */
	default_str(spec, "scope", "Namespaced");
	if (empty_str(json_object_get(names, "singular")) &&
	    json_is_string(kind)) {
		char *low = strdup(json_string_value(kind));

		if (!low)
			return -ENOMEM;
		for (i = 0; low[i]; i++)
			low[i] = (char)tolower((unsigned char)low[i]);
		json_object_set_new(names, "singular", json_string(low));
		free(low);
	}
	if (empty_str(json_object_get(names, "listKind")) && !empty_str(kind)) {
		struct sbuf lk;

		sbuf_init(&lk, 0);
		if (sbuf_adds(&lk, json_string_value(kind)) < 0 ||
		    sbuf_adds(&lk, "List") < 0) {
			sbuf_release(&lk);
			return -ENOMEM;
		}
		json_object_set_new(names, "listKind", json_string(lk.buf));
		sbuf_release(&lk);
	}
	if (empty(versions) && !empty_str(version)) {
		versions = json_array();
		json_array_append_new(
			versions, json_pack("{s:O,s:b,s:b}", "name", version,
					    "served", 1, "storage", 1));
		json_object_set_new(spec, "versions", versions);
	}
	if (empty_str(version) && !empty(versions)) {
		x = json_object_get(json_array_get(versions, 0), "name");
		json_object_set_new(spec, "version",
				    x ? json_incref(x) : json_string(""));
	}
	conv = json_object_get(spec, "conversion");
	if (!json_is_object(conv)) {
		conv = json_pack("{s:s}", "strategy", "None");
		json_object_set_new(spec, "conversion", conv);
	}
	if (json_is_string(json_object_get(conv, "strategy")) &&
	    !strcmp(json_string_value(json_object_get(conv, "strategy")),
		    "Webhook") &&
	    empty(json_object_get(conv, "conversionReviewVersions")))
		json_object_set_new(conv, "conversionReviewVersions",
				    json_pack("[s]", "v1beta1"));
	x = json_object_get(json_object_get(conv, "webhookClientConfig"), "serv"
									  "ic"
									  "e");
	if (json_is_object(x) && !json_object_get(x, "port"))
		json_object_set_new(x, "port", json_integer(443));
	if (!json_object_get(spec, "preserveUnknownFields"))
		json_object_set_new(spec, "preserveUnknownFields", json_true());
	status = obj_at(o, "status");
	if (empty(json_object_get(status, "storedVersions"))) {
		json_array_foreach(versions, i, v)
		{
			if (json_is_true(json_object_get(v, "storage"))) {
				json_object_set_new(
					status, "storedVersions",
					json_pack("[O]",
						  json_object_get(v, "name")));
				break;
			}
		}
	}

	/* v1beta1 -> internal -> v1 */
	json_object_set_new(o, "apiVersion",
			    json_string("apiextensions.k8s.io/v1"));
	rename_columns(json_object_get(spec, "additionalPrinterColumns"));
	json_array_foreach(versions, i, v)
		rename_columns(json_object_get(v, "additionalPrinterColumns"));
	for (j = 0; j < sizeof(moved) / sizeof(moved[0]); j++) {
		json_t *top = json_object_get(spec, moved[j][0]);

		if (top) {
			json_array_foreach(versions, i, v) json_object_set_new(
				v, moved[j][1], json_deep_copy(top));
			json_object_del(spec, moved[j][0]);
		}
	}
	json_object_del(spec, "version");
	if (!json_is_true(json_object_get(spec, "preserveUnknownFields")))
		json_object_del(spec, "preserveUnknownFields");
	{
		json_t *cc = json_object_get(conv, "webhookClientConfig");
		json_t *crv = json_object_get(conv, "conversionReviewVersions");
		json_t *nc = json_object();

		x = json_object_get(conv, "strategy");
		json_object_set_new(nc, "strategy",
				    x ? json_incref(x) : json_string(""));
		if (cc || crv) {
			json_t *w = json_object();

			json_object_set(w, "conversionReviewVersions",
					crv ? crv : json_null());
			if (cc)
				json_object_set(w, "clientConfig", cc);
			json_object_set_new(nc, "webhook", w);
		}
		json_object_set_new(spec, "conversion", nc);
	}
	return 0;
}

/* Whether a fix can change the object: a cheap look at the decoded text,
 * true when in doubt (a fix that changes nothing costs only time). */
static bool has(const char *s, size_t n, const char *what)
{
	return memmem(s, n, what, strlen(what)) != NULL;
}

static bool need_phase(const char *s, size_t n)
{
	return !has(s, n, "\"phase\":");
}

static bool need_namespace(const char *s, size_t n)
{
	return need_phase(s, n) ||
	       !has(s, n, "\"kubernetes.io/metadata.name\":");
}

static bool need_service(const char *s, size_t n)
{
	return has(s, n, "\"ingress\":");
}

static bool need_statefulset(const char *s, size_t n)
{
	return has(s, n, "\"volumeClaimTemplates\":");
}

struct fix {
	const char *api_version, *kind;
	int (*fn)(json_t *o);
	bool (*needed)(const char *s, size_t n); /* NULL: always */
};

static const struct fix fixes[] = {
	{ "apiextensions.k8s.io/v1beta1", "CustomResourceDefinition",
	  fix_crd_v1beta1, NULL },
	{ "apps/v1", "StatefulSet", fix_statefulset, need_statefulset },
	{ "batch/v1", "Job", fix_job, NULL },
	{ "v1", "Namespace", fix_namespace, need_namespace },
	{ "v1", "PersistentVolume", fix_phase_pending, need_phase },
	{ "v1", "PersistentVolumeClaim", fix_phase_pending, need_phase },
	{ "v1", "ReplicationController", fix_rc, NULL },
	{ "v1", "Service", fix_service, need_service },
};

int k8s_read_fix_find(const char *api_version, size_t avlen, const char *kind,
		      size_t klen)
{
	size_t i;

	for (i = 0; i < sizeof(fixes) / sizeof(fixes[0]); i++)
		if (strlen(fixes[i].api_version) == avlen &&
		    !memcmp(fixes[i].api_version, api_version, avlen) &&
		    strlen(fixes[i].kind) == klen &&
		    !memcmp(fixes[i].kind, kind, klen))
			return (int)i;
	return -1;
}

int k8s_read_fix(int fix, struct sbuf *json, size_t mark, int64_t rev,
		 struct verror *e)
{
	json_error_t je;
	json_t *o;
	struct sbuf out;
	int r;

	if (fixes[fix].needed &&
	    !fixes[fix].needed(json->buf + mark, json->len - mark))
		return 1;
	o = json_loadb(json->buf + mark, json->len - mark,
		       JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &je);
	if (!o)
		return verror_set(e, -EBADMSG,
				  "%s %s: the decoded object does not load "
				  "(%s)",
				  fixes[fix].api_version, fixes[fix].kind,
				  je.text);
	r = fixes[fix].fn(o);
	if (r >= 0 && rev >= 0) {
		char buf[24];

		snprintf(buf, sizeof(buf), "%" PRId64, rev);
		json_object_set_new(obj_at(o, "metadata"), "resourceVersion",
				    json_string(buf));
	}
	sbuf_init(&out, json->max);
	if (r >= 0)
		r = put(&out, o);
	json_decref(o);
	if (r >= 0) {
		json->len = mark;
		r = sbuf_add(json, out.buf, out.len);
	}
	sbuf_release(&out);
	if (r < 0 && r != -ENOMEM && r != -E2BIG)
		r = verror_set(e, -EBADMSG, "%s %s: read defaults failed",
			       fixes[fix].api_version, fixes[fix].kind);
	return r;
}
