/* hooks: Velero's init-container restore hooks from a hooks file, the
 * `hooks` of a Restore's spec (pkg/apis/velero/v1/restore_types.go
 * RestoreHooks; internal/hook GetRestoreHooksFromSpec and
 * InitContainerRestoreHookHandler.HandleRestoreHooks).
 *
 * The file is a Restore (apiVersion velero.io/v1, kind Restore: its
 * spec.hooks), a Restore's spec (hooks:), or the hooks mapping itself
 * (resources:), in YAML or JSON. Each of resources[] selects pods by
 * includedNamespaces/excludedNamespaces (Velero's IncludesExcludes: empty
 * or "*" includes all, excludes win; globs as fnmatch(3) reads them) and
 * labelSelector (matchLabels, matchExpressions), matched against the
 * namespace the pod is restored into (after a mapping, as Velero since
 * issue 4720); its postHooks[].init.initContainers are added, in order,
 * to the pods it selects. Each init container must have a name, an image
 * and a command, as Velero's ValidateContainer wants: a file that breaks
 * that is refused when it is loaded (Velero fails the pod's restore).
 * includedResources/excludedResources are ignored (Velero applies these
 * hooks to pods only); exec hooks (postHooks[].exec) need a running pod
 * and Velero's controller: accepted and not run. A pod carrying the
 * init.hook.restore.velero.io/ annotations takes those instead (clean.c).
 * Pure: no I/O. */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "restore/restore_i.h"

struct restore_hooks {
	json_t *resources; /* the checked resources[] array; owned */
};

static int check_strings(json_t *arr, const char *what, size_t i,
			 struct verror *e)
{
	size_t j;
	json_t *v;

	if (arr && !json_is_array(arr))
		return verror_set(e, -EINVAL,
				  "restore hooks: resources[%zu].%s is not a "
				  "list",
				  i, what);
	json_array_foreach(arr, j, v) if (!json_is_string(v)) return verror_set(
		e, -EINVAL,
		"restore hooks: resources[%zu].%s[%zu] "
		"is not a string",
		i, what, j);
	return 0;
}

static int check_resource(json_t *rs, size_t i, struct verror *e)
{
	json_t *ph, *h, *ics, *ct, *sel;
	size_t j, k;
	int r;

	if (!json_is_object(rs))
		return verror_set(e, -EINVAL,
				  "restore hooks: resources[%zu] is not a "
				  "mapping",
				  i);
	r = check_strings(json_object_get(rs, "includedNamespaces"),
			  "includedNamespaces", i, e);
	if (r >= 0)
		r = check_strings(json_object_get(rs, "excludedNamespaces"),
				  "excludedNamespaces", i, e);
	if (r < 0)
		return r;
	sel = json_object_get(rs, "labelSelector");
	if (sel && !json_is_null(sel) &&
	    (!json_is_object(sel) ||
	     (json_object_get(sel, "matchLabels") &&
	      !json_is_object(json_object_get(sel, "matchLabels"))) ||
	     (json_object_get(sel, "matchExpressions") &&
	      !json_is_array(json_object_get(sel, "matchExpressions")))))
		return verror_set(e, -EINVAL,
				  "restore hooks: resources[%zu].labelSelector "
				  "is not a label selector",
				  i);
	ph = json_object_get(rs, "postHooks");
	if (ph && !json_is_array(ph))
		return verror_set(e, -EINVAL,
				  "restore hooks: resources[%zu].postHooks is "
				  "not a list",
				  i);
	json_array_foreach(ph, j, h)
	{
		ics = json_object_get(json_object_get(h, "init"), "initContaine"
								  "rs");
		if (ics && !json_is_array(ics))
			return verror_set(e, -EINVAL,
					  "restore hooks: resources[%zu]."
					  "postHooks[%zu].init.initContainers "
					  "is not a list",
					  i, j);
		json_array_foreach(ics, k, ct)
		{
			json_t *cmd = json_object_get(ct, "command");

			if (
				!json_is_object(ct) ||
				!*(
					json_string_value(json_object_get(ct, "name")) ?:
						"") ||
				!*(
					json_string_value(json_object_get(ct, "image")) ?:
						"") ||
				!json_array_size(cmd))
				return verror_set(e, -EINVAL,
						  "restore hooks: "
						  "resources[%zu]."
						  "postHooks[%zu].init."
						  "initContainers[%zu]: "
						  "invalid InitContainer in "
						  "restore hook, "
						  "it doesn't have Command, "
						  "Name or Image "
						  "field",
						  i, j, k);
		}
	}
	return 0;
}

int restore_hooks_new(const void *data, size_t len, struct restore_hooks **out,
		      struct verror *e)
{
	json_t *doc = NULL, *hooks, *res, *rs;
	struct restore_hooks *h;
	size_t i;
	int r;

	r = restore_parse_document(data, len, "restore hooks", &doc, e);
	if (r < 0)
		return r == -ENOMEM ? r : -EINVAL;
	hooks = doc;
	if (json_object_get(hooks, "spec"))
		hooks = json_object_get(hooks, "spec");
	if (json_object_get(hooks, "hooks"))
		hooks = json_object_get(hooks, "hooks");
	res = json_object_get(hooks, "resources");
	if (!json_is_object(hooks) || !json_is_array(res)) {
		json_decref(doc);
		return verror_set(e, -EINVAL,
				  "restore hooks: no resources list (a "
				  "Restore's spec.hooks, or hooks.resources)");
	}
	json_array_foreach(res, i, rs)
	{
		r = check_resource(rs, i, e);
		if (r < 0) {
			json_decref(doc);
			return r;
		}
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		json_decref(doc);
		return -ENOMEM;
	}
	h->resources = json_incref(res);
	json_decref(doc);
	*out = h;
	return 0;
}

struct restore_hooks *restore_hooks_free(struct restore_hooks *h)
{
	if (h) {
		json_decref(h->resources);
		free(h);
	}
	return NULL;
}

static bool glob_in(const json_t *list, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v) if (!fnmatch(json_string_value(v), s,
						    0)) return true;
	return false;
}

/* Velero's IncludesExcludes.ShouldInclude. */
static bool ns_included(const json_t *rs, const char *ns)
{
	const json_t *inc = json_object_get(rs, "includedNamespaces");

	if (glob_in(json_object_get(rs, "excludedNamespaces"), ns))
		return false;
	return !json_array_size(inc) || glob_in(inc, "*") || glob_in(inc, ns);
}

json_t *restore_hooks_init_containers(const struct restore_hooks *h,
				      const char *ns, const json_t *labels)
{
	json_t *out, *rs, *ph, *ct;
	size_t i, j, k;

	if (!h)
		return NULL;
	out = json_array();
	if (!out)
		return NULL;
	json_array_foreach(h->resources, i, rs)
	{
		const json_t *sel = json_object_get(rs, "labelSelector");

		if (!ns_included(rs, ns ? ns : "") ||
		    (json_is_object(sel) &&
		     !restore_selector_labels(sel, labels)))
			continue;
		json_array_foreach(json_object_get(rs, "postHooks"), j, ph)
			json_array_foreach(
				json_object_get(json_object_get(ph, "init"),
						"initContainers"),
				k, ct)
				json_array_append_new(out, json_deep_copy(ct));
	}
	return out;
}
