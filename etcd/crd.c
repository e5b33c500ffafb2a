/* etcd/crd: a CustomResourceDefinition as kube-apiserver stores it
 * (apiextensions.k8s.io/v1beta1 JSON: apiextensions-apiserver's storage
 * encoding prefers v1beta1, k8s.io/kubernetes pkg/controlplane/apiserver
 * apiextensions.go) -> the apiextensions.k8s.io/v1 object `kubectl get
 * -o json` shows.
 *
 * The apiserver reads the stored v1beta1 object, converts it to its
 * internal form and that to v1 (k8s.io/apiextensions-apiserver v0.34.10
 * pkg/apis/apiextensions/v1/conversion.go): spec.version goes (a
 * versions list is made of it when there is none), spec.validation,
 * subresources, additionalPrinterColumns and selectableFields move into
 * every version (as schema, ...), a printer column's JSONPath becomes
 * jsonPath, conversion's webhookClientConfig and conversionReviewVersions
 * become conversion.webhook.{clientConfig,conversionReviewVersions}, and
 * preserveUnknownFields is shown only when true. Members are written in
 * the order Go's v1 types marshal them; members this code does not know
 * are kept. No state; reentrant. */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "etcd/etcd.h"

static void set(json_t *o, const char *k, json_t *v)
{
	if (v)
		json_object_set(o, k, v);
}

/* Copies the members of from that are not yet in to, but skip (v1beta1
 * names that v1 spells otherwise; NULL-terminated, may be NULL). from is
 * never changed: the top-level columns serve every version. */
static void rest_but(json_t *to, json_t *from, const char *const *skip)
{
	const char *k;
	json_t *v;

	json_object_foreach(from, k, v)
	{
		bool skipped = false;

		for (size_t i = 0; skip && skip[i] && !skipped; i++)
			skipped = !strcmp(k, skip[i]);
		if (!skipped && !json_object_get(to, k))
			json_object_set(to, k, v);
	}
}

static void rest(json_t *to, json_t *from)
{
	rest_but(to, from, NULL);
}

/* A v1beta1 printer column (JSONPath) as v1's (jsonPath). */
static json_t *column_v1(json_t *c)
{
	json_t *o = json_object();
	static const char *const order[] = { "name", "type", "format",
					     "description", "priority" };

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		set(o, order[i], json_object_get(c, order[i]));
		if (i == 1)
			set(o, "jsonPath", json_object_get(c, "JSONPath"));
	}
	rest_but(o, c, (const char *const[]){ "JSONPath", NULL });
	return o;
}

static json_t *columns_v1(json_t *a)
{
	json_t *out, *c;
	size_t i;

	if (!json_is_array(a))
		return a ? json_incref(a) : NULL;
	out = json_array();
	json_array_foreach(a, i, c) json_array_append_new(
		out, json_is_object(c) ? column_v1(c) : json_incref(c));
	return out;
}

static json_t *version_v1(json_t *v, json_t *spec)
{
	json_t *o = json_object(), *cols;
	static const char *const head[] = { "name", "served", "storage",
					    "deprecated",
					    "deprecationWarning" };

	for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++)
		set(o, head[i], json_object_get(v, head[i]));
	set(o, "schema", json_object_get(v, "schema"));
	set(o, "schema", json_object_get(spec, "validation"));
	set(o, "subresources", json_object_get(v, "subresources"));
	set(o, "subresources", json_object_get(spec, "subresources"));
	cols = columns_v1(json_object_get(v, "additionalPrinterColumns"));
	if (json_object_get(spec, "additionalPrinterColumns")) {
		json_decref(cols);
		cols = columns_v1(json_object_get(spec, "additionalPrinterColum"
							"ns"));
	}
	if (cols)
		json_object_set_new(o, "additionalPrinterColumns", cols);
	set(o, "selectableFields", json_object_get(v, "selectableFields"));
	set(o, "selectableFields", json_object_get(spec, "selectableFields"));
	rest(o, v);
	return o;
}

static json_t *conversion_v1(json_t *c)
{
	json_t *o = json_object(), *wh = NULL;

	set(o, "strategy", json_object_get(c, "strategy"));
	if (json_object_get(c, "webhookClientConfig") ||
	    json_object_get(c, "conversionReviewVersions")) {
		wh = json_object();
		set(wh, "clientConfig",
		    json_object_get(c, "webhookClientConfig"));
		set(wh, "conversionReviewVersions",
		    json_object_get(c, "conversionReviewVersions"));
		json_object_set_new(o, "webhook", wh);
	}
	rest_but(o, c,
		 (const char *const[]){ "webhookClientConfig",
					"conversionReviewVersions", NULL });
	return o;
}

static json_t *spec_v1(json_t *s)
{
	json_t *o = json_object(), *vs = json_array(), *v, *in;
	size_t i;

	set(o, "group", json_object_get(s, "group"));
	set(o, "names", json_object_get(s, "names"));
	set(o, "scope", json_object_get(s, "scope"));
	in = json_object_get(s, "versions");
	if (json_array_size(in) == 0 &&
	    json_is_string(json_object_get(s, "version"))) {
		json_t *v0 = json_pack("{s:O,s:b,s:b}", "name",
				       json_object_get(s, "version"), "served",
				       1, "storage", 1);

		if (v0)
			json_array_append_new(vs, version_v1(v0, s));
		json_decref(v0);
	} else {
		json_array_foreach(in, i, v)
			json_array_append_new(vs, json_is_object(v) ?
							  version_v1(v, s) :
							  json_incref(v));
	}
	json_object_set_new(o, "versions", vs);
	if (json_is_object(json_object_get(s, "conversion")))
		json_object_set_new(o, "conversion",
				    conversion_v1(json_object_get(s, "conversio"
								     "n")));
	if (json_is_true(json_object_get(s, "preserveUnknownFields")))
		json_object_set(o, "preserveUnknownFields", json_true());
	/* gone in v1, or moved */
	rest_but(o, s,
		 (const char *const[]){ "version", "validation", "subresources",
					"additionalPrinterColumns",
					"selectableFields",
					"preserveUnknownFields", "versions",
					"conversion", NULL });
	return o;
}

int k8s_crd_v1(const char *json, size_t len, struct sbuf *out, struct verror *e)
{
	json_error_t jerr;
	json_t *in = json_loadb(json, len, 0, &jerr), *o;
	char *text;
	int r;

	if (!json_is_object(in) || !json_is_object(json_object_get(in, "spe"
								       "c"))) {
		json_decref(in);
		return verror_set(e, -EBADMSG,
				  "CustomResourceDefinition: not an object "
				  "with a spec");
	}
	if (strcmp(json_string_value(json_object_get(in, "apiVersion")) ?: "",
		   "apiextensions.k8s.io/v1beta1")) {
		json_decref(in);
		return sbuf_add(out, json, len);
	}
	o = json_object();
	set(o, "kind", json_object_get(in, "kind"));
	json_object_set_new(o, "apiVersion",
			    json_string("apiextensions.k8s.io/v1"));
	set(o, "metadata", json_object_get(in, "metadata"));
	json_object_set_new(o, "spec", spec_v1(json_object_get(in, "spec")));
	set(o, "status", json_object_get(in, "status"));
	rest(o, in);
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	json_decref(in);
	if (!text)
		return -ENOMEM;
	r = sbuf_adds(out, text);
	free(text);
	return r;
}
