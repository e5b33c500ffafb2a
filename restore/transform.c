/* transform: what changes between the backup and the cluster at restore
 * time, on purpose.
 *
 * image_map ("OLD=NEW,..."): every container, initContainer and
 * ephemeralContainer image of a Pod or a pod template (Deployments,
 * StatefulSets, DaemonSets, ReplicaSets, ReplicationControllers, Jobs,
 * PodTemplates, CronJobs' jobTemplate) that starts with OLD, followed by
 * the end, '/', ':' or '@', gets NEW instead of OLD; the longest OLD wins.
 * Images are compared as written (no docker.io/library normalisation).
 *
 * storageclass_map ("A=B,..."): spec.storageClassName of PVCs and PVs and
 * of a StatefulSet's volumeClaimTemplates.
 *
 * Velero resource modifiers v1 (internal/resourcemodifiers): rules with
 * conditions (groupResource as a glob with '.' separators, namespaces as
 * globs, resourceNameRegex as a POSIX extended regex (RE2's common
 * subset), labelSelector, matches as JSON Patch tests) and one of patches
 * (RFC 6902, values quoted as Velero's addQuotes decides), mergePatches
 * (RFC 7386) or strategicPatches. Every rule is matched against the item
 * as it was before any rule changed it. A failing test op leaves the item
 * unchanged. Unlike Velero, `value:` may be written as a YAML number or
 * bool (Velero's strict decoding wants a string there).
 *
 * Strategic merge, the subset: maps merge recursively, null deletes a key,
 * `$patch: replace|delete` in maps and list elements, `$retainKeys`,
 * `$deleteFromPrimitiveList/<field>`, `$setElementOrder/<field>` (accepted,
 * order not applied); lists merge by key for containers, initContainers,
 * ephemeralContainers, volumes, env, imagePullSecrets, resourceClaims,
 * schedulingGates (name), volumeMounts (mountPath), volumeDevices
 * (devicePath), ports (containerPort, or port for a Service's), hostAliases
 * (ip), conditions (type), ownerReferences (uid); finalizers merge as a set;
 * every other list is replaced, as in the Kubernetes types. Like Velero, it
 * applies to built-in kinds only. */
#include <errno.h>
#include <fnmatch.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "restore/restore_i.h"

struct map_entry {
	char *from, *to;
};

struct rule {
	json_t *conds; /* the conditions object; borrowed from mods */
	bool has_regex;
	regex_t regex;
	json_t *patches; /* RFC 6902 ops, values decoded */
	json_t *merges;	 /* array of patch documents */
	json_t *strategic;
	json_t *tests; /* matches as test ops */
};

struct restore_transform {
	struct map_entry *images, *classes;
	size_t n_images, n_classes;
	json_t *mods; /* the parsed file; owned */
	struct rule *rules;
	size_t n_rules;
};

/* ---- maps -------------------------------------------------------------- */

static int parse_map(const char *spec, const char *what, struct map_entry **out,
		     size_t *n, struct verror *e)
{
	char *copy, *save = NULL, *tok;
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	if (!spec || !*spec)
		return 0;
	copy = strdup(spec);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq || eq == tok || !eq[1]) {
			int r = verror_set(e, -EINVAL,
					   "%s: \"%.100s\" is not OLD=NEW",
					   what, tok);

			free(copy);
			return r;
		}
		if (*n == cap) {
			struct map_entry *m;

			cap = cap ? cap * 2 : 4;
			m = realloc(*out, cap * sizeof(*m));
			if (!m) {
				free(copy);
				return -ENOMEM;
			}
			*out = m;
		}
		*eq = '\0';
		(*out)[*n].from = strdup(tok);
		(*out)[*n].to = strdup(eq + 1);
		if (!(*out)[*n].from || !(*out)[*n].to) {
			free((*out)[*n].from);
			free((*out)[*n].to);
			free(copy);
			return -ENOMEM;
		}
		++*n;
	}
	free(copy);
	return 0;
}

static void free_map(struct map_entry *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].from);
		free(m[i].to);
	}
	free(m);
}

static json_t *dig(json_t *o, const char *const *path)
{
	for (; o && *path; path++)
		o = json_object_get(o, *path);
	return o;
}

/* The pod spec inside an object of group-resource gr, or NULL. */
static json_t *pod_spec(json_t *obj, const char *gr)
{
	static const char *const p_pod[] = { "spec", NULL };
	static const char *const p_tmpl[] = { "spec", "template", "spec",
					      NULL };
	static const char *const p_podtmpl[] = { "template", "spec", NULL };
	static const char *const p_cron[] = { "spec",	  "jobTemplate", "spec",
					      "template", "spec",	 NULL };
	static const char *const templated[] = {
		"deployments.apps", "statefulsets.apps",
		"daemonsets.apps",  "replicasets.apps",
		"jobs.batch",	    "replicationcontrollers",
	};

	if (!strcmp(gr, "pods"))
		return dig(obj, p_pod);
	if (!strcmp(gr, "podtemplates"))
		return dig(obj, p_podtmpl);
	if (!strcmp(gr, "cronjobs.batch"))
		return dig(obj, p_cron);
	for (size_t i = 0; i < ARRAY_SIZE(templated); i++)
		if (!strcmp(gr, templated[i]))
			return dig(obj, p_tmpl);
	return NULL;
}

static void map_image(const struct restore_transform *t, json_t *ct)
{
	const char *img = json_string_value(json_object_get(ct, "image"));
	const struct map_entry *best = NULL;
	size_t bl = 0;
	char *n;

	if (!img)
		return;
	for (size_t i = 0; i < t->n_images; i++) {
		size_t l = strlen(t->images[i].from);

		if (strncmp(img, t->images[i].from, l) ||
		    !strchr("/:@", img[l]) || l <= bl)
			continue; /* strchr matches the NUL too: the end */
		best = &t->images[i];
		bl = l;
	}
	if (!best)
		return;
	if (asprintf(&n, "%s%s", best->to, img + bl) < 0)
		return;
	json_object_set_new(ct, "image", json_string(n));
	free(n);
}

static void apply_image_map(const struct restore_transform *t, json_t *obj,
			    const char *gr)
{
	static const char *const lists[] = { "containers", "initContainers",
					     "ephemeralContainers" };
	json_t *spec = pod_spec(obj, gr);

	if (!t->n_images || !json_is_object(spec))
		return;
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		json_t *cs = json_object_get(spec, lists[l]), *ct;
		size_t i;

		json_array_foreach(cs, i, ct) map_image(t, ct);
	}
}

static void map_class(const struct restore_transform *t, json_t *spec)
{
	const char *sc = json_string_value(json_object_get(spec, "storageClassN"
								 "ame"));

	if (!sc)
		return;
	for (size_t i = 0; i < t->n_classes; i++) {
		if (!strcmp(sc, t->classes[i].from)) {
			json_object_set_new(spec, "storageClassName",
					    json_string(t->classes[i].to));
			return;
		}
	}
}

static void apply_class_map(const struct restore_transform *t, json_t *obj,
			    const char *gr)
{
	json_t *spec = json_object_get(obj, "spec"), *v;
	size_t i;

	if (!t->n_classes || !json_is_object(spec))
		return;
	if (!strcmp(gr, "persistentvolumeclaims") || !strcmp(gr, "persistentvol"
								 "umes"))
		map_class(t, spec);
	else if (!strcmp(gr, "statefulsets.apps"))
		json_array_foreach(json_object_get(spec, "volumeClaimTemplate"
							 "s"),
				   i, v) map_class(t, json_object_get(v, "spe"
									 "c"));
}

/* ---- JSON pointer and RFC 6902 ---------------------------------------- */

/* Splits a pointer's last token off. *parent gets the container the path
 * names the parent of; *key the unescaped last token (caller frees).
 * -ENOENT when a step is missing. */
static int ptr_resolve(json_t *doc, const char *ptr, json_t **parent,
		       char **key)
{
	json_t *cur = doc;
	const char *p = ptr;

	if (*p != '/')
		return -EINVAL;
	for (;;) {
		const char *end = strchr(p + 1, '/');
		size_t n = end ? (size_t)(end - p - 1) : strlen(p + 1);
		char *tok = malloc(n + 1), *w = tok;

		if (!tok)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++) {
			char c = p[1 + i];

			if (c == '~' && i + 1 < n && p[2 + i] == '1') {
				*w++ = '/';
				i++;
			} else if (c == '~' && i + 1 < n && p[2 + i] == '0') {
				*w++ = '~';
				i++;
			} else {
				*w++ = c;
			}
		}
		*w = '\0';
		if (!end) {
			*parent = cur;
			*key = tok;
			return 0;
		}
		if (json_is_object(cur)) {
			cur = json_object_get(cur, tok);
		} else if (json_is_array(cur)) {
			char *q;
			unsigned long idx = strtoul(tok, &q, 10);

			cur = (*tok && !*q && (tok[0] != '0' || !tok[1])) ?
				      json_array_get(cur, idx) :
				      NULL;
		} else {
			cur = NULL;
		}
		free(tok);
		if (!cur)
			return -ENOENT;
		p = end;
	}
}

static bool array_index(const char *tok, size_t size, bool allow_end,
			size_t *idx)
{
	char *q;
	unsigned long v;

	if (allow_end && !strcmp(tok, "-")) {
		*idx = size;
		return true;
	}
	if (!*tok || (tok[0] == '0' && tok[1]) || tok[0] == '-' ||
	    tok[0] == '+')
		return false;
	v = strtoul(tok, &q, 10);
	if (*q || v > size || (!allow_end && v == size))
		return false;
	*idx = v;
	return true;
}

static json_t *ptr_get(json_t *doc, const char *ptr)
{
	json_t *parent;
	char *key;
	size_t idx;
	json_t *v = NULL;

	if (!*ptr)
		return doc;
	if (ptr_resolve(doc, ptr, &parent, &key) < 0)
		return NULL;
	if (json_is_object(parent))
		v = json_object_get(parent, key);
	else if (json_is_array(parent) &&
		 array_index(key, json_array_size(parent), false, &idx))
		v = json_array_get(parent, idx);
	free(key);
	return v;
}

#define PATCH_TEST_FAILED 1

/* One op on doc; v is stolen. Returns 0, PATCH_TEST_FAILED, or -errno
 * with e. */
static int ptr_add(json_t *doc, const char *path, json_t *v, bool replace,
		   struct verror *e)
{
	json_t *parent;
	char *key;
	size_t idx;
	int r;

	r = ptr_resolve(doc, path, &parent, &key);
	if (r < 0) {
		json_decref(v);
		return verror_set(e, -EINVAL, "%s: missing parent of %s",
				  replace ? "replace" : "add", path);
	}
	if (json_is_object(parent)) {
		if (replace && !json_object_get(parent, key))
			r = verror_set(e, -EINVAL, "replace: %s does not exist",
				       path);
		else
			r = json_object_set_new(parent, key, v) ? -ENOMEM : 0;
		if (r < 0 && replace)
			json_decref(v);
	} else if (json_is_array(parent) &&
		   array_index(key, json_array_size(parent), !replace, &idx)) {
		r = replace ? json_array_set_new(parent, idx, v) :
			      json_array_insert_new(parent, idx, v);
		r = r ? -ENOMEM : 0;
	} else {
		json_decref(v);
		r = verror_set(e, -EINVAL, "%s: no such place: %s",
			       replace ? "replace" : "add", path);
	}
	free(key);
	return r;
}

static int ptr_remove(json_t *doc, const char *path, json_t **removed,
		      struct verror *e)
{
	json_t *parent;
	char *key;
	size_t idx;
	int r = -EINVAL;

	if (ptr_resolve(doc, path, &parent, &key) < 0)
		return verror_set(e, -EINVAL, "remove: %s does not exist",
				  path);
	if (json_is_object(parent) && json_object_get(parent, key)) {
		if (removed)
			*removed = json_incref(json_object_get(parent, key));
		json_object_del(parent, key);
		r = 0;
	} else if (json_is_array(parent) &&
		   array_index(key, json_array_size(parent), false, &idx)) {
		if (removed)
			*removed = json_incref(json_array_get(parent, idx));
		json_array_remove(parent, idx);
		r = 0;
	}
	free(key);
	if (r < 0)
		return verror_set(e, -EINVAL, "remove: %s does not exist",
				  path);
	return 0;
}

static int patch_op(json_t *doc, const json_t *op, struct verror *e)
{
	const char *kind = json_string_value(json_object_get(op, "op"));
	const char *path = json_string_value(json_object_get(op, "path"));
	const char *from = json_string_value(json_object_get(op, "from"));
	json_t *value = json_object_get(op, "value"), *v;
	int r;

	if (!kind || !path)
		return verror_set(e, -EINVAL, "a patch needs op and path");
	if (!*path && strcmp(kind, "test"))
		return verror_set(e, -EINVAL,
				  "%s: the whole object cannot "
				  "be patched",
				  kind);
	if (!strcasecmp(kind, "test")) {
		v = ptr_get(doc, path);
		if (!v || !value || !json_equal(v, value))
			return PATCH_TEST_FAILED;
		return 0;
	}
	if (!strcasecmp(kind, "add") || !strcasecmp(kind, "replace")) {
		if (!value)
			return verror_set(e, -EINVAL, "%s %s: no value", kind,
					  path);
		v = json_deep_copy(value);
		if (!v)
			return -ENOMEM;
		return ptr_add(doc, path, v, !strcasecmp(kind, "replace"), e);
	}
	if (!strcasecmp(kind, "remove"))
		return ptr_remove(doc, path, NULL, e);
	if (!strcasecmp(kind, "move") || !strcasecmp(kind, "copy")) {
		if (!from || !*from)
			return verror_set(e, -EINVAL, "%s %s: no from", kind,
					  path);
		if (!strcasecmp(kind, "move")) {
			if (!strncmp(path, from, strlen(from)) &&
			    path[strlen(from)] == '/')
				return verror_set(e, -EINVAL,
						  "move: %s is inside %s", path,
						  from);
			r = ptr_remove(doc, from, &v, e);
			if (r < 0)
				return r;
		} else {
			json_t *src = ptr_get(doc, from);

			if (!src)
				return verror_set(e, -EINVAL,
						  "copy: %s does not exist",
						  from);
			v = json_deep_copy(src);
			if (!v)
				return -ENOMEM;
		}
		return ptr_add(doc, path, v, false, e);
	}
	return verror_set(e, -EINVAL, "unsupported operation %s", kind);
}

int restore_json_patch(json_t *doc, const json_t *ops, struct verror *e)
{
	json_t *work = json_deep_copy(doc), *op;
	size_t i;
	int r = 0;

	if (!work)
		return -ENOMEM;
	json_array_foreach(ops, i, op)
	{
		r = patch_op(work, op, e);
		if (r)
			break;
	}
	if (r == 0) {
		/* doc takes work's content: same object, new members */
		json_object_clear(doc);
		json_object_update(doc, work);
	}
	json_decref(work);
	return r;
}

/* ---- RFC 7386 ----------------------------------------------------------- */

json_t *restore_merge_patch(json_t *target, const json_t *patch)
{
	const char *k;
	json_t *v;

	if (!json_is_object(patch)) {
		json_decref(target);
		return json_deep_copy(patch);
	}
	if (!json_is_object(target)) {
		json_decref(target);
		target = json_object();
		if (!target)
			return NULL;
	}
	json_object_foreach((json_t *)patch, k, v)
	{
		if (json_is_null(v)) {
			json_object_del(target, k);
		} else {
			json_t *cur = json_incref(json_object_get(target, k));
			json_t *n = restore_merge_patch(cur, v);

			if (!n || json_object_set_new(target, k, n)) {
				json_decref(target);
				return NULL;
			}
		}
	}
	return target;
}

json_t *restore_merge_diff(const json_t *from, const json_t *to)
{
	json_t *d, *v;
	const char *k;

	if (!json_is_object(from) || !json_is_object(to))
		return json_equal((json_t *)from, (json_t *)to) ?
			       NULL :
			       json_deep_copy(to);
	d = json_object();
	if (!d)
		return NULL;
	json_object_foreach((json_t *)to, k, v)
	{
		json_t *f = json_object_get(from, k);

		if (!f) {
			json_object_set_new(d, k, json_deep_copy(v));
		} else if (!json_equal(f, v)) {
			json_t *sub = restore_merge_diff(f, v);

			/* a null in to needs a value the patch cannot say:
			 * RFC 7386 cannot set a null; deleting is closest */
			json_object_set_new(d, k, sub ? sub : json_null());
		}
	}
	json_object_foreach((json_t *)from, k, v) if (!json_object_get(to, k))
		json_object_set_new(d, k, json_null());
	if (!json_object_size(d)) {
		json_decref(d);
		return NULL;
	}
	return d;
}

bool restore_json_subset(const json_t *want, const json_t *have)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_object(want)) {
		if (!json_is_object(have))
			return false;
		json_object_foreach(
			(json_t *)want, k,
			v) if (!restore_json_subset(v,
						    json_object_get(
							    have,
							    k))) return false;
		return true;
	}
	if (json_is_array(want)) {
		if (!json_is_array(have) ||
		    json_array_size(want) != json_array_size(have))
			return false;
		json_array_foreach(
			(json_t *)want, i,
			v) if (!restore_json_subset(v,
						    json_array_get(
							    have,
							    i))) return false;
		return true;
	}
	if (json_is_number(want) && json_is_number(have))
		return json_number_value(want) == json_number_value(have);
	return have && json_equal((json_t *)want, (json_t *)have);
}

/* ---- strategic merge (the subset above) ------------------------------- */

static const char *merge_key(const char *field, const json_t *list)
{
	static const struct {
		const char *field, *key;
	} keys[] = {
		{ "containers", "name" },
		{ "initContainers", "name" },
		{ "ephemeralContainers", "name" },
		{ "volumes", "name" },
		{ "env", "name" },
		{ "imagePullSecrets", "name" },
		{ "resourceClaims", "name" },
		{ "schedulingGates", "name" },
		{ "volumeMounts", "mountPath" },
		{ "volumeDevices", "devicePath" },
		{ "hostAliases", "ip" },
		{ "conditions", "type" },
		{ "ownerReferences", "uid" },
	};
	size_t i;
	json_t *el;

	if (!strcmp(field, "ports")) {
		json_array_foreach((json_t *)list, i,
				   el) if (json_object_get(el, "containerPor"
							       "t")) return "co"
									    "nt"
									    "ai"
									    "ne"
									    "rP"
									    "or"
									    "t";
		return "port";
	}
	for (i = 0; i < ARRAY_SIZE(keys); i++)
		if (!strcmp(field, keys[i].field))
			return keys[i].key;
	return NULL;
}

static json_t *smp_map(json_t *target, const json_t *patch, struct verror *e,
		       int *r);

static const char *patch_directive(const json_t *o)
{
	return json_string_value(json_object_get(o, "$patch"));
}

static json_t *smp_list(const char *field, json_t *target, const json_t *patch,
			struct verror *e, int *r)
{
	const char *key = merge_key(field, patch);
	json_t *out, *el;
	size_t i;

	/* $patch: replace anywhere in the list: the rest is the list */
	json_array_foreach((json_t *)patch, i, el)
	{
		const char *d = patch_directive(el);

		if (d && !strcmp(d, "replace")) {
			out = json_array();
			json_array_foreach((json_t *)patch, i,
					   el) if (!patch_directive(el))
				json_array_append_new(out, json_deep_copy(el));
			json_decref(target);
			return out;
		}
	}
	if (!strcmp(field, "finalizers") && json_is_array(target)) {
		json_array_foreach((json_t *)patch, i, el)
		{
			size_t k;
			json_t *t;
			bool found = false;

			json_array_foreach(target, k, t) if (json_equal(t, el))
				found = true;
			if (!found)
				json_array_append_new(target,
						      json_deep_copy(el));
		}
		return target;
	}
	if (!key || !json_is_array(target)) {
		json_decref(target);
		out = json_array();
		json_array_foreach((json_t *)patch, i,
				   el) if (!patch_directive(el))
			json_array_append_new(out, json_deep_copy(el));
		return out;
	}
	json_array_foreach((json_t *)patch, i, el)
	{
		json_t *kv = json_object_get(el, key), *t;
		const char *d = patch_directive(el);
		size_t k;
		bool done = false;

		if (!kv) {
			*r = verror_set(e, -EINVAL,
					"strategic merge: an element of %s has "
					"no %s",
					field, key);
			json_decref(target);
			return NULL;
		}
		for (k = 0; k < json_array_size(target) && !done; k++) {
			t = json_array_get(target, k);
			if (!json_equal(json_object_get(t, key), kv))
				continue;
			done = true;
			if (d && !strcmp(d, "delete")) {
				json_array_remove(target, k);
			} else {
				json_t *m = smp_map(json_incref(t), el, e, r);

				if (!m) {
					json_decref(target);
					return NULL;
				}
				json_array_set_new(target, k, m);
			}
		}
		if (!done && !(d && !strcmp(d, "delete"))) {
			json_t *m = smp_map(json_object(), el, e, r);

			if (!m) {
				json_decref(target);
				return NULL;
			}
			json_array_append_new(target, m);
		}
	}
	return target;
}

static json_t *smp_map(json_t *target, const json_t *patch, struct verror *e,
		       int *r)
{
	const char *k, *d = patch_directive(patch);
	json_t *v, *retain;

	if (d && !strcmp(d, "delete")) {
		json_decref(target);
		return json_object(); /* caller's field: emptied */
	}
	if (!json_is_object(target) || (d && !strcmp(d, "replace"))) {
		json_decref(target);
		target = json_object();
	}
	json_object_foreach((json_t *)patch, k, v)
	{
		json_t *cur, *n;

		if (!strcmp(k, "$patch") || !strcmp(k, "$retainKeys") ||
		    !strncmp(k, "$setElementOrder/", 17))
			continue;
		if (!strncmp(k, "$deleteFromPrimitiveList/", 25)) {
			json_t *list = json_object_get(target, k + 25), *x;
			size_t i;

			json_array_foreach(v, i, x)
			{
				for (size_t j = json_array_size(list); j-- > 0;)
					if (json_equal(json_array_get(list, j),
						       x))
						json_array_remove(list, j);
			}
			continue;
		}
		if (json_is_null(v)) {
			json_object_del(target, k);
			continue;
		}
		cur = json_incref(json_object_get(target, k));
		if (json_is_object(v)) {
			const char *cd = patch_directive(v);

			if (cd && !strcmp(cd, "delete")) {
				json_decref(cur);
				json_object_del(target, k);
				continue;
			}
			n = smp_map(cur, v, e, r);
		} else if (json_is_array(v)) {
			n = smp_list(k, cur, v, e, r);
		} else {
			json_decref(cur);
			n = json_deep_copy(v);
		}
		if (!n) {
			json_decref(target);
			return NULL;
		}
		json_object_set_new(target, k, n);
	}
	retain = json_object_get(patch, "$retainKeys");
	if (json_is_array(retain)) {
		void *it = json_object_iter(target);

		while (it) {
			const char *key = json_object_iter_key(it);
			json_t *x;
			size_t i;
			bool keep = false;

			json_array_foreach(
				retain, i,
				x) if (!strcmp(json_string_value(x) ?: "", key))
				keep = true;
			it = json_object_iter_next(target, it);
			if (!keep)
				json_object_del(target, key);
		}
	}
	return target;
}

json_t *restore_strategic_patch(json_t *target, const json_t *patch,
				struct verror *e)
{
	int r = 0;
	json_t *out;

	if (!json_is_object(patch)) {
		json_decref(target);
		verror_set(e, -EINVAL, "a strategic merge patch is a mapping");
		return NULL;
	}
	out = smp_map(target, patch, e, &r);
	if (!out && !r)
		verror_set(e, -ENOMEM, "out of memory");
	return out;
}

/* ---- globs (gobwas/glob: *, **, ?, [..], {a,b}) ----------------------- */

static bool glob_match(const char *g, const char *s, char sep);

static bool glob_alt(const char *g, const char *s, char sep)
{
	/* g points after '{': try each alternative followed by the rest */
	const char *end = g;
	int depth = 1;

	while (*end && depth) {
		if (*end == '{')
			depth++;
		else if (*end == '}')
			depth--;
		if (depth)
			end++;
	}
	if (!*end)
		return false;
	for (const char *a = g; a <= end;) {
		const char *b = a;
		char buf[512];
		int d = 0;

		while (b < end && (d || *b != ',')) {
			if (*b == '{')
				d++;
			else if (*b == '}')
				d--;
			b++;
		}
		if ((size_t)(b - a) + strlen(end + 1) + 1 < sizeof(buf)) {
			memcpy(buf, a, b - a);
			strcpy(buf + (b - a), end + 1);
			if (glob_match(buf, s, sep))
				return true;
		}
		a = b + 1;
	}
	return false;
}

static bool glob_match(const char *g, const char *s, char sep)
{
	for (; *g; g++) {
		switch (*g) {
		case '*': {
			bool any = g[1] == '*';

			if (any)
				g++;
			for (const char *t = s;; t++) {
				if (glob_match(g + 1, t, sep))
					return true;
				if (!*t || (!any && sep && *t == sep))
					return false;
			}
		}
		case '?':
			if (!*s || (sep && *s == sep))
				return false;
			s++;
			break;
		case '[': {
			const char *q = g + 1;
			bool neg = *q == '!', hit = false;

			if (neg)
				q++;
			for (; *q && *q != ']'; q++) {
				if (q[1] == '-' && q[2] && q[2] != ']') {
					hit |= *s >= q[0] && *s <= q[2];
					q += 2;
				} else {
					hit |= *s == *q;
				}
			}
			if (!*q || !*s || hit == neg)
				return false;
			g = q;
			s++;
			break;
		}
		case '{':
			return glob_alt(g + 1, s, sep);
		case '\\':
			if (g[1])
				g++;
			/* fall through */
		default:
			if (*s != *g)
				return false;
			s++;
		}
	}
	return !*s;
}

/* ---- modifiers ---------------------------------------------------------- */

/* Velero's addQuotes: which `value:` texts are JSON and which strings. */
static int patch_value(json_t *raw, json_t **out, struct verror *e)
{
	const char *s;
	size_t n;
	char *end;

	if (!raw || json_is_null(raw)) {
		*out = json_string("");
		return 0;
	}
	if (!json_is_string(raw)) { /* a YAML number or bool: as is */
		*out = json_incref(raw);
		return 0;
	}
	s = json_string_value(raw);
	n = strlen(s);
	if (!n) {
		*out = json_string("");
		return 0;
	}
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		*out = json_stringn(s + 1, n - 2);
		return 0;
	}
	if (!strcmp(s, "null")) {
		*out = json_null();
		return 0;
	}
	if (!strcasecmp(s, "true") || !strcasecmp(s, "false")) {
		*out = json_boolean(!strcasecmp(s, "true"));
		return 0;
	}
	strtod(s, &end);
	if (s[0] == '{' || s[0] == '[' || (end != s && !*end)) {
		json_error_t je;

		*out = json_loads(s, JSON_DECODE_ANY, &je);
		if (!*out)
			return verror_set(e, -EINVAL,
					  "value %.80s is not valid JSON: %s",
					  s, je.text);
		return 0;
	}
	*out = json_string(s);
	return 0;
}

static int known_keys(const json_t *o, const char *const *keys,
		      const char *where, struct verror *e)
{
	const char *k;
	json_t *v;

	if (!json_is_object(o))
		return verror_set(e, -EINVAL, "%s: expected a mapping", where);
	json_object_foreach((json_t *)o, k, v)
	{
		const char *const *q;

		for (q = keys; *q && strcmp(*q, k); q++)
			;
		if (!*q)
			return verror_set(e, -EINVAL,
					  "%s: unknown field \"%s\"", where, k);
	}
	return 0;
}

static int ops_from(json_t *list, bool tests, const char *where, json_t **out,
		    struct verror *e)
{
	static const char *const pkeys[] = { "operation", "from", "path",
					     "value", NULL };
	static const char *const mkeys[] = { "path", "value", NULL };
	json_t *ops = json_array(), *p;
	size_t i;
	int r;

	if (!ops)
		return -ENOMEM;
	json_array_foreach(list, i, p)
	{
		const char *op =
			tests ? "test" :
				json_string_value(json_object_get(p, "operatio"
								     "n"));
		const char *path = json_string_value(json_object_get(p, "pat"
									"h"));
		const char *from = json_string_value(json_object_get(p, "fro"
									"m"));
		json_t *val, *o;

		r = known_keys(p, tests ? mkeys : pkeys, where, e);
		if (r < 0)
			goto fail;
		if (!op || !*op) {
			r = verror_set(e, -EINVAL,
				       "%s: operation cannot be "
				       "empty",
				       where);
			goto fail;
		}
		if (strcasecmp(op, "add") && strcasecmp(op, "remove") &&
		    strcasecmp(op, "replace") && strcasecmp(op, "test") &&
		    strcasecmp(op, "move") && strcasecmp(op, "copy")) {
			r = verror_set(e, -EINVAL,
				       "%s: unsupported operation %s", where,
				       op);
			goto fail;
		}
		if (!path || !*path || path[0] != '/') {
			r = verror_set(e, -EINVAL,
				       tests ? "%s: path is required for "
					       "match rule" :
					       "%s: path cannot be empty",
				       where);
			goto fail;
		}
		r = patch_value(json_object_get(p, "value"), &val, e);
		if (r < 0)
			goto fail;
		o = json_pack("{s:s, s:s, s:o}", "op", op, "path", path,
			      "value", val);
		if (!o) {
			r = -ENOMEM;
			goto fail;
		}
		if (from && *from)
			json_object_set_new(o, "from", json_string(from));
		json_array_append_new(ops, o);
	}
	*out = ops;
	return 0;
fail:
	json_decref(ops);
	return r;
}

static int patch_docs(json_t *list, const char *where, json_t **out,
		      struct verror *e)
{
	static const char *const keys[] = { "patchData", NULL };
	json_t *docs = json_array(), *p;
	size_t i;
	int r;

	if (!docs)
		return -ENOMEM;
	json_array_foreach(list, i, p)
	{
		const char *data;
		json_t *doc;

		r = known_keys(p, keys, where, e);
		if (r < 0)
			goto fail;
		data = json_string_value(json_object_get(p, "patchData"));
		if (!data) {
			r = verror_set(e, -EINVAL, "%s: patchData is missing",
				       where);
			goto fail;
		}
		r = restore_parse_document(data, strlen(data), "patchData",
					   &doc, e);
		if (r < 0) {
			r = verror_prefix(e, r == -ENOMEM ? r : -EINVAL, "%s",
					  where);
			goto fail;
		}
		json_array_append_new(docs, doc);
	}
	*out = docs;
	return 0;
fail:
	json_decref(docs);
	return r;
}

/* The patches of a rule: each kind given is compiled, and counted in
 * *kinds (only one may be given). */
static int compile_patches(struct rule *ru, json_t *jr, const char *where,
			   int *kinds, struct verror *e)
{
	const struct {
		const char *key;
		bool ops; /* RFC 6902 operations, else patch documents */
		json_t **out;
	} kind[] = {
		{ "patches", true, &ru->patches },
		{ "mergePatches", false, &ru->merges },
		{ "strategicPatches", false, &ru->strategic },
	};

	for (size_t i = 0; i < sizeof(kind) / sizeof(kind[0]); i++) {
		json_t *v = json_object_get(jr, kind[i].key);
		int r;

		if (!json_array_size(v))
			continue;
		++*kinds;
		r = kind[i].ops ? ops_from(v, false, where, kind[i].out, e) :
				  patch_docs(v, where, kind[i].out, e);
		if (r < 0)
			return r;
	}
	return 0;
}

static int compile_rule(struct rule *ru, json_t *jr, size_t idx,
			struct verror *e)
{
	static const char *const rkeys[] = { "conditions", "patches",
					     "mergePatches", "strategicPatches",
					     NULL };
	static const char *const ckeys[] = {
		"namespaces",	 "groupResource", "resourceNameRegex",
		"labelSelector", "matches",	  NULL
	};
	char where[64];
	json_t *c, *v;
	const char *gr, *re;
	int kinds = 0, r;

	snprintf(where, sizeof(where), "resourceModifierRules[%zu]", idx);
	r = known_keys(jr, rkeys, where, e);
	if (r < 0)
		return r;
	c = json_object_get(jr, "conditions");
	r = known_keys(c, ckeys, where, e);
	if (r < 0)
		return r;
	ru->conds = c;
	gr = json_string_value(json_object_get(c, "groupResource"));
	if (!gr || !*gr)
		return verror_set(e, -EINVAL,
				  "%s: groupResource cannot be empty", where);
	re = json_string_value(json_object_get(c, "resourceNameRegex"));
	if (re && *re) {
		if (regcomp(&ru->regex, re, REG_EXTENDED | REG_NOSUB))
			return verror_set(e, -EINVAL,
					  "%s: resourceNameRegex %.80s does "
					  "not compile",
					  where, re);
		ru->has_regex = true;
	}
	v = json_object_get(c, "matches");
	if (v) {
		r = ops_from(v, true, where, &ru->tests, e);
		if (r < 0)
			return r;
	}
	r = compile_patches(ru, jr, where, &kinds, e);
	if (r < 0)
		return r;
	if (kinds > 1)
		return verror_set(e, -EINVAL,
				  "%s: only one of patches, mergePatches, "
				  "strategicPatches can be specified",
				  where);
	return 0;
}

static int load_modifiers(struct restore_transform *t, const void *data,
			  size_t len, struct verror *e)
{
	static const char *const top[] = { "version", "resourceModifierRules",
					   NULL };
	json_t *doc = NULL, *rules, *jr;
	const char *ver;
	size_t i;
	int r;

	r = restore_parse_document(data, len, "modifiers", &doc, e);
	if (r < 0)
		return r == -ENOMEM ? r : -EINVAL;
	/* a ConfigMap holding the rules under its one data key */
	if (!strcmp(json_string_value(json_object_get(doc, "kind")) ?: "",
		    "ConfigMap")) {
		json_t *d = json_object_get(doc, "data"), *v;
		const char *k, *text = NULL;

		if (json_object_size(d) != 1) {
			json_decref(doc);
			return verror_set(e, -EINVAL,
					  "modifiers: illegal resource "
					  "modifiers configmap (one data key)");
		}
		json_object_foreach(d, k, v) text = json_string_value(v);
		json_incref(d);
		json_decref(doc);
		doc = NULL;
		r = restore_parse_document(text ?: "", strlen(text ?: ""),
					   "modifiers", &doc, e);
		json_decref(d);
		if (r < 0)
			return r == -ENOMEM ? r : -EINVAL;
	}
	t->mods = doc;
	r = known_keys(doc, top, "modifiers", e);
	if (r < 0)
		return r;
	ver = json_string_value(json_object_get(doc, "version"));
	if (!ver || strcasecmp(ver, "v1"))
		return verror_set(e, -EINVAL,
				  "modifiers: unsupported resource modifier "
				  "version %s",
				  ver ?: "(none)");
	rules = json_object_get(doc, "resourceModifierRules");
	if (!json_array_size(rules))
		return verror_set(e, -EINVAL,
				  "modifiers: resource modifier "
				  "rules cannot be empty");
	t->rules = calloc(json_array_size(rules), sizeof(*t->rules));
	if (!t->rules)
		return -ENOMEM;
	json_array_foreach(rules, i, jr)
	{
		t->n_rules = i + 1;
		r = compile_rule(&t->rules[i], jr, i, e);
		if (r < 0)
			return verror_prefix(e, r, "modifiers");
	}
	return 0;
}

int restore_transform_new(const char *image_map, const char *storageclass_map,
			  const void *modifiers, size_t modifiers_len,
			  struct restore_transform **out, struct verror *e)
{
	struct restore_transform *t = calloc(1, sizeof(*t));
	int r;

	if (!t)
		return -ENOMEM;
	r = parse_map(image_map, "image_map", &t->images, &t->n_images, e);
	if (r >= 0)
		r = parse_map(storageclass_map, "storageclass_map", &t->classes,
			      &t->n_classes, e);
	if (r >= 0 && modifiers)
		r = load_modifiers(t, modifiers, modifiers_len, e);
	if (r < 0) {
		restore_transform_free(t);
		return r;
	}
	*out = t;
	return 0;
}

struct restore_transform *restore_transform_free(struct restore_transform *t)
{
	if (!t)
		return NULL;
	free_map(t->images, t->n_images);
	free_map(t->classes, t->n_classes);
	for (size_t i = 0; i < t->n_rules; i++) {
		if (t->rules[i].has_regex)
			regfree(&t->rules[i].regex);
		json_decref(t->rules[i].patches);
		json_decref(t->rules[i].merges);
		json_decref(t->rules[i].strategic);
		json_decref(t->rules[i].tests);
	}
	free(t->rules);
	json_decref(t->mods);
	free(t);
	return NULL;
}

static bool rule_matches(const struct rule *ru, json_t *obj, const char *gr)
{
	json_t *md = json_object_get(obj, "metadata");
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	const char *name = json_string_value(json_object_get(md, "name"));
	json_t *nss = json_object_get(ru->conds, "namespaces"), *x, *sel;
	size_t i;

	if (ns && *ns && json_array_size(nss)) {
		bool in = false;

		json_array_foreach(nss, i,
				   x) if (json_is_string(x) &&
					  (!strcmp(json_string_value(x), "*") ||
					   glob_match(json_string_value(x), ns,
						      0))) in = true;
		if (!in)
			return false;
	}
	if (!glob_match(json_string_value(json_object_get(ru->conds, "groupReso"
								     "urce")),
			gr, '.'))
		return false;
	if (ru->has_regex && regexec(&ru->regex, name ? name : "", 0, NULL, 0))
		return false;
	sel = json_object_get(ru->conds, "labelSelector");
	if (sel && !restore_selector_labels(sel, json_object_get(md, "labels")))
		return false;
	if (ru->tests && restore_json_patch(obj, ru->tests, NULL) != 0)
		return false;
	return true;
}

static int apply_rule(const struct rule *ru, json_t *obj, struct verror *e)
{
	size_t i;
	json_t *p;
	int r;

	if (ru->patches) {
		r = restore_json_patch(obj, ru->patches, e);
		if (r == PATCH_TEST_FAILED)
			return 0; /* Velero: unchanged */
		return r < 0 ? verror_prefix(e, r,
					     "error in applying JSON "
					     "Patch") :
			       0;
	}
	if (ru->merges || ru->strategic) {
		json_t *work = json_deep_copy(obj);

		if (!work)
			return -ENOMEM;
		json_array_foreach(ru->merges ? ru->merges : ru->strategic, i,
				   p)
		{
			work = ru->merges ? restore_merge_patch(work, p) :
					    restore_strategic_patch(work, p, e);
			if (!work)
				return ru->merges ? -ENOMEM :
						    verror_prefix(e, -EINVAL,
								  "error in "
								  "applying "
								  "Strategic "
								  "Patch");
		}
		if (!json_is_object(work)) {
			json_decref(work);
			return verror_set(e, -EINVAL,
					  "a merge patch made the object not "
					  "an object");
		}
		json_object_clear(obj);
		json_object_update(obj, work);
		json_decref(work);
		return 0;
	}
	return verror_set(e, -EINVAL, "no patch data found");
}

int restore_transform_apply(const struct restore_transform *t, json_t *obj,
			    const char *gr, struct verror *e)
{
	json_t *origin;
	int r = 0;

	if (!t)
		return 0;
	apply_image_map(t, obj, gr);
	apply_class_map(t, obj, gr);
	if (!t->n_rules)
		return 0;
	origin = json_deep_copy(obj);
	if (!origin)
		return -ENOMEM;
	for (size_t i = 0; i < t->n_rules && r >= 0; i++) {
		const struct rule *ru = &t->rules[i];

		if (!rule_matches(ru, origin, gr))
			continue;
		if (ru->strategic) {
			const char *av =
				json_string_value(json_object_get(obj, "apiVers"
								       "ion"));
			const char *kind =
				json_string_value(json_object_get(obj, "kind"));

			if (restore_guess_namespaced(av, kind) < 0) {
				r = verror_set(e, -EINVAL,
					       "strategic merge patch: no "
					       "built-in type for %s %s",
					       av ?: "", kind ?: "");
				break;
			}
		}
		r = apply_rule(ru, obj, e);
	}
	json_decref(origin);
	return r < 0 ? r : 0;
}
