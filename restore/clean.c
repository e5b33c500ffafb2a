/* clean: one item made ready to send, exactly as Velero's restore makes it
 * (pkg/restore/restore.go restoreItem, pkg/restore/actions/).
 *
 * In Velero's order: the skip rules (completed Pods and Jobs, mirror Pods,
 * automanaged APIServices), the PersistentVolume branch (without snapshot
 * information: a PV with reclaim policy Delete is left to dynamic
 * provisioning, any other gets resetVolumeBindingInfo and its claimRef
 * namespace remapped), resetMetadataAndStatus, the built-in restore item
 * actions (pod, service, job, service-account, secret, pvc, role-bindings,
 * cluster-role-bindings, crd-preserve-fields, admission webhooks, the
 * init-container restore hook of a pod's annotations), the PVC binding
 * reset; then, after the modifiers (transform.c), the
 * namespace mapping and the velero.io/backup-name and restore-name labels.
 *
 * Not here: the token Secret skip, which needs the cluster's
 * ServiceAccounts (apply.c); plugins (CSI, data movers, exec restore
 * hooks, pod volume restores), which need Velero's controllers. Where Velero
 * round-trips an item through its Go type, only the fields the action
 * touches are changed here (Velero's round trip would also drop unknown
 * fields and add `creationTimestamp: null`). Pure: no I/O. */
#include <errno.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "restore/restore_i.h"

/* ---- group-resources -------------------------------------------------- */

struct builtin {
	const char *group, *kind, *resource;
	bool namespaced;
};

static const struct builtin builtins[] = {
	{ "", "Pod", "pods", true },
	{ "", "Service", "services", true },
	{ "", "ConfigMap", "configmaps", true },
	{ "", "Secret", "secrets", true },
	{ "", "ServiceAccount", "serviceaccounts", true },
	{ "", "PersistentVolumeClaim", "persistentvolumeclaims", true },
	{ "", "PersistentVolume", "persistentvolumes", false },
	{ "", "Namespace", "namespaces", false },
	{ "", "Endpoints", "endpoints", true },
	{ "", "LimitRange", "limitranges", true },
	{ "", "ResourceQuota", "resourcequotas", true },
	{ "", "ReplicationController", "replicationcontrollers", true },
	{ "", "PodTemplate", "podtemplates", true },
	{ "", "Event", "events", true },
	{ "", "Node", "nodes", false },
	{ "apps", "Deployment", "deployments", true },
	{ "apps", "StatefulSet", "statefulsets", true },
	{ "apps", "DaemonSet", "daemonsets", true },
	{ "apps", "ReplicaSet", "replicasets", true },
	{ "apps", "ControllerRevision", "controllerrevisions", true },
	{ "batch", "Job", "jobs", true },
	{ "batch", "CronJob", "cronjobs", true },
	{ "autoscaling", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
	  true },
	{ "policy", "PodDisruptionBudget", "poddisruptionbudgets", true },
	{ "networking.k8s.io", "Ingress", "ingresses", true },
	{ "networking.k8s.io", "NetworkPolicy", "networkpolicies", true },
	{ "networking.k8s.io", "IngressClass", "ingressclasses", false },
	{ "rbac.authorization.k8s.io", "Role", "roles", true },
	{ "rbac.authorization.k8s.io", "RoleBinding", "rolebindings", true },
	{ "rbac.authorization.k8s.io", "ClusterRole", "clusterroles", false },
	{ "rbac.authorization.k8s.io", "ClusterRoleBinding",
	  "clusterrolebindings", false },
	{ "storage.k8s.io", "StorageClass", "storageclasses", false },
	{ "storage.k8s.io", "CSIDriver", "csidrivers", false },
	{ "storage.k8s.io", "CSINode", "csinodes", false },
	{ "storage.k8s.io", "VolumeAttachment", "volumeattachments", false },
	{ "apiextensions.k8s.io", "CustomResourceDefinition",
	  "customresourcedefinitions", false },
	{ "scheduling.k8s.io", "PriorityClass", "priorityclasses", false },
	{ "admissionregistration.k8s.io", "MutatingWebhookConfiguration",
	  "mutatingwebhookconfigurations", false },
	{ "admissionregistration.k8s.io", "ValidatingWebhookConfiguration",
	  "validatingwebhookconfigurations", false },
	{ "apiregistration.k8s.io", "APIService", "apiservices", false },
	{ "coordination.k8s.io", "Lease", "leases", true },
	{ "discovery.k8s.io", "EndpointSlice", "endpointslices", true },
	{ "events.k8s.io", "Event", "events", true },
	{ "snapshot.storage.k8s.io", "VolumeSnapshot", "volumesnapshots",
	  true },
	{ "snapshot.storage.k8s.io", "VolumeSnapshotContent",
	  "volumesnapshotcontents", false },
	{ "snapshot.storage.k8s.io", "VolumeSnapshotClass",
	  "volumesnapshotclasses", false },
};

static void split_group(const char *api_version, char *group, size_t sz)
{
	const char *slash = api_version ? strchr(api_version, '/') : NULL;
	size_t n = slash ? (size_t)(slash - api_version) : 0;

	if (n >= sz)
		n = sz - 1;
	memcpy(group, api_version ? api_version : "", n);
	group[n] = '\0';
}

static const struct builtin *find_builtin(const char *api_version,
					  const char *kind)
{
	char group[256];

	split_group(api_version, group, sizeof(group));
	for (size_t i = 0; i < ARRAY_SIZE(builtins); i++)
		if (!strcmp(builtins[i].group, group) &&
		    !strcmp(builtins[i].kind, kind ? kind : ""))
			return &builtins[i];
	return NULL;
}

const char *restore_guess_resource(const char *api_version, const char *kind,
				   char *buf, size_t bufsz)
{
	const struct builtin *b = find_builtin(api_version, kind);
	char group[256], plural[300];
	size_t n = 0;

	split_group(api_version, group, sizeof(group));
	if (b) {
		snprintf(plural, sizeof(plural), "%s", b->resource);
	} else {
		/* kubectl's UnsafeGuessKindToResource */
		for (const char *k = kind ? kind : ""; *k && n < 200; k++)
			plural[n++] = (*k >= 'A' && *k <= 'Z') ? *k + 32 : *k;
		plural[n] = '\0';
		if (n && plural[n - 1] == 's')
			strcpy(plural + n, "es");
		else if (n && plural[n - 1] == 'y')
			strcpy(plural + n - 1, "ies");
		else
			strcpy(plural + n, "s");
	}
	if (*group)
		snprintf(buf, bufsz, "%s.%s", plural, group);
	else
		snprintf(buf, bufsz, "%s", plural);
	return buf;
}

int restore_guess_namespaced(const char *api_version, const char *kind)
{
	const struct builtin *b = find_builtin(api_version, kind);

	return b ? b->namespaced : -1;
}

static bool label_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

static bool label_char(unsigned char c)
{
	return label_alnum(c) || c == '-' || c == '_' || c == '.';
}

/* A valid label value: at most 63 of [A-Za-z0-9_.-], beginning and ending
 * with a letter or digit (or empty). */
static bool label_valid(const char *v, size_t n)
{
	if (n > RESTORE_LABEL_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!label_char((unsigned char)v[i]))
			return false;
	return !n || (label_alnum((unsigned char)v[0]) &&
		      label_alnum((unsigned char)v[n - 1]));
}

const char *restore_valid_label(const char *value, char *buf, size_t bufsz)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char head[RESTORE_LABEL_MAX - 6 + 1];
	size_t n = strlen(value), i = 0, o = 0;

	if (label_valid(value, n)) {
		snprintf(buf, bufsz, "%s", value);
		return buf;
	}
	/* Velero's rule (the first 57 bytes and 6 hex digits of the SHA-256
	 * of the whole value), on the value made valid: leading bytes that
	 * are not letters or digits dropped, other invalid bytes as '-'.
	 * The hash keeps values that differ only there apart, and ends the
	 * result with a hex digit. */
	while (i < n && !label_alnum((unsigned char)value[i]))
		i++;
	for (; i < n && o < sizeof(head) - 1; i++)
		head[o++] = label_char((unsigned char)value[i]) ? value[i] :
								  '-';
	head[o] = '\0';
	SHA256((const unsigned char *)value, n, md);
	snprintf(buf, bufsz, "%s%02x%02x%02x", head, md[0], md[1], md[2]);
	return buf;
}

/* ---- small JSON helpers ----------------------------------------------- */

static json_t *get_path(json_t *o, const char *a, const char *b, const char *c)
{
	o = json_object_get(o, a);
	if (o && b)
		o = json_object_get(o, b);
	if (o && c)
		o = json_object_get(o, c);
	return o;
}

static const char *get_str(json_t *o, const char *a, const char *b,
			   const char *c)
{
	return json_string_value(get_path(o, a, b, c));
}

static bool has_prefix(const char *s, const char *p)
{
	return s && !strncmp(s, p, strlen(p));
}

/* Deletes the annotation; drops an annotations map left empty, as Velero's
 * typed round trip does. */
static void del_annotation(json_t *obj, const char *key)
{
	json_t *md = json_object_get(obj, "metadata");
	json_t *ann = json_object_get(md, "annotations");

	if (!json_is_object(ann))
		return;
	json_object_del(ann, key);
	if (!json_object_size(ann))
		json_object_del(md, "annotations");
}

/* ---- Velero's restore.go helpers --------------------------------------- */

void restore_clean_reset(json_t *obj)
{
	static const char *const drop[] = {
		"generateName",
		"selfLink",
		"uid",
		"resourceVersion",
		"generation",
		"creationTimestamp",
		"deletionTimestamp",
		"deletionGracePeriodSeconds",
		"ownerReferences",
	};
	json_t *md = json_object_get(obj, "metadata");

	for (size_t i = 0; i < ARRAY_SIZE(drop); i++)
		json_object_del(md, drop[i]);
	json_object_del(obj, "status");
}

static void reset_volume_binding(json_t *obj)
{
	json_t *cr = get_path(obj, "spec", "claimRef", NULL);

	if (json_is_object(cr)) {
		json_object_del(cr, "uid");
		json_object_del(cr, "resourceVersion");
	}
	del_annotation(obj, "pv.kubernetes.io/bind-completed");
	del_annotation(obj, "pv.kubernetes.io/bound-by-controller");
}

/* Velero's namespaceMapping is {original: target} for the namespaces
 * being restored; ours maps every namespace an item of the job came from
 * (c->from_ns) to the target. */
static const char *mapped_ns(const struct restore_clean *c, const char *ns)
{
	if (!c->target_ns || !ns || !*ns)
		return NULL;
	if (c->from_ns && !json_object_get(c->from_ns, ns))
		return NULL;
	return c->target_ns;
}

/* ---- the built-in restore item actions --------------------------------- */

static void filter_named(json_t *arr_parent, const char *key,
			 const char *prefix)
{
	json_t *arr = json_object_get(arr_parent, key);
	size_t i = 0;

	if (!json_is_array(arr))
		return;
	while (i < json_array_size(arr)) {
		const char *name =
			get_str(json_array_get(arr, i), "name", NULL, NULL);

		if (has_prefix(name ? name : "", prefix))
			json_array_remove(arr, i);
		else
			i++;
	}
	if (!json_array_size(arr))
		json_object_del(arr_parent, key);
}

/* velero.io/pod */
static void action_pod(json_t *obj)
{
	json_t *spec = json_object_get(obj, "spec");
	const char *sa;
	char prefix[300];
	static const char *const lists[] = { "containers", "initContainers" };

	if (!json_is_object(spec))
		return;
	json_object_del(spec, "nodeName");
	json_object_del(spec, "priority");
	sa = get_str(spec, "serviceAccountName", NULL, NULL);
	snprintf(prefix, sizeof(prefix), "%s-token-", sa ? sa : "");
	filter_named(spec, "volumes", prefix);
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		json_t *cs = json_object_get(spec, lists[l]), *ct;
		size_t i;

		json_array_foreach(cs, i, ct)
			filter_named(ct, "volumeMounts", prefix);
	}
}

static int insert_init_containers(json_t *obj, json_t *cts);

/* Velero's parseStringToCommand: a JSON array of strings, else the value
 * as one word. NULL for no command (the image's entrypoint). */
static json_t *hook_command(const char *v)
{
	json_t *a;
	size_t i;
	json_t *w;

	if (!v || !*v)
		return NULL;
	if (*v == '[') {
		a = json_loads(v, JSON_REJECT_DUPLICATES, NULL);
		if (json_is_array(a)) {
			bool ok = true;

			json_array_foreach(a, i, w)
				ok = ok && json_is_string(w);
			if (ok)
				return a;
		}
		json_decref(a);
	}
	a = json_array();
	json_array_append_new(a, json_string(v));
	return a;
}

/* velero.io/init-restore-hook from the pod's annotations
 * (pkg/restore/actions/init_restorehook_pod_action.go, internal/hook
 * getInitContainerFromAnnotation and HandleRestoreHooks): an init
 * container from init.hook.restore.velero.io/container-image (required),
 * container-name and command, put first, after a restore-wait init
 * container at index 0. Velero names a nameless one
 * velero-restore-init-<random 8 hex>; here the 8 hex digits are the
 * SHA-256 of the pod's namespace/name, so a job retried after a crash
 * sends the same pod. A pod without the annotation gets the init
 * containers of the hooks file (hooks.c) that select it, in the
 * namespace it is restored into. */
static int init_hooks(json_t *obj, const struct restore_clean *c)
{
	json_t *ann = get_path(obj, "metadata", "annotations", NULL);
	const char *image = get_str(ann,
				    "init.hook.restore.velero.io/"
				    "container-image",
				    NULL, NULL);
	const char *name = get_str(ann,
				   "init.hook.restore.velero.io/"
				   "container-name",
				   NULL, NULL);
	json_t *ct, *cmd;
	char gen[40];

	if (!image || !*image) {
		/* no annotation: the hooks file's, for the namespace the
		 * pod goes to */
		const char *ns = get_str(obj, "metadata", "namespace", NULL);
		json_t *cts;

		if (!c->hooks)
			return 0;
		cts = restore_hooks_init_containers(
			c->hooks, mapped_ns(c, ns) ?: ns,
			get_path(obj, "metadata", "labels", NULL));
		if (!cts)
			return -ENOMEM;
		if (!json_array_size(cts)) {
			json_decref(cts);
			return 0;
		}
		return insert_init_containers(obj, cts);
	}
	if (!name || !*name) {
		unsigned char md[SHA256_DIGEST_LENGTH];
		char key[600];

		snprintf(key, sizeof(key), "%s/%s",
			 get_str(obj, "metadata", "namespace", NULL) ?: "",
			 get_str(obj, "metadata", "name", NULL) ?: "");
		SHA256((const unsigned char *)key, strlen(key), md);
		snprintf(gen, sizeof(gen),
			 "velero-restore-init-%02x%02x%02x%02x", md[0], md[1],
			 md[2], md[3]);
		name = gen;
	}
	ct = json_pack("{s:s, s:s}", "name", name, "image", image);
	if (!ct)
		return -ENOMEM;
	cmd = hook_command(get_str(ann, "init.hook.restore.velero.io/command",
				   NULL, NULL));
	if (cmd)
		json_object_set_new(ct, "command", cmd);
	return insert_init_containers(obj, json_pack("[o]", ct));
}

/* Puts the init containers cts (an array, stolen) first in the pod's
 * spec.initContainers, after a restore-wait init container at index 0
 * (Velero's HandleRestoreHooks keeps the data mover's wait first). */
static int insert_init_containers(json_t *obj, json_t *cts)
{
	json_t *spec = json_object_get(obj, "spec"), *ics, *all;
	size_t at = 0, i;
	json_t *v;
	int r = 0;

	if (!json_is_object(spec))
		goto out;
	ics = json_object_get(spec, "initContainers");
	all = json_array();
	if (!all) {
		r = -ENOMEM;
		goto out;
	}
	if (json_is_array(ics) &&
	    !strcmp(get_str(json_array_get(ics, 0), "name", NULL, NULL) ?: "",
		    "restore-wait"))
		at = 1;
	for (i = 0; i < at; i++)
		json_array_append(all, json_array_get(ics, i));
	json_array_extend(all, cts);
	json_array_foreach(ics, i, v) if (i >= at) json_array_append(all, v);
	json_object_set_new(spec, "initContainers", all);
out:
	json_decref(cts);
	return r;
}

static long node_port_value(json_t *v)
{
	if (json_is_integer(v))
		return (long)json_integer_value(v);
	if (json_is_real(v))
		return (long)json_real_value(v);
	if (json_is_string(v))
		return strtol(json_string_value(v), NULL, 10);
	return 0;
}

/* velero.io/service: deleteNodePorts */
static void service_node_ports(json_t *obj)
{
	json_t *spec = json_object_get(obj, "spec");
	json_t *ports = json_object_get(spec, "ports"), *p;
	const char *lac = get_str(obj, "metadata", "annotations",
				  "kubectl.kubernetes.io/"
				  "last-applied-configuration");
	size_t i;

	if (!json_is_array(ports))
		return;
	if (!strcmp(get_str(spec, "type", NULL, NULL) ?: "", "ExternalName"))
		return;
	if (lac) {
		json_t *named = json_object(), *unnamed = json_array();
		json_t *applied = json_loads(lac, 0, NULL), *ap;

		json_array_foreach(get_path(applied, "spec", "ports", NULL), i,
				   ap)
		{
			json_t *np = json_object_get(ap, "nodePort");
			long v = np ? node_port_value(np) : 0;
			json_t *name = json_object_get(ap, "name");

			if (v <= 0)
				continue;
			if (!name)
				json_array_append_new(unnamed, json_integer(v));
			else if (json_is_string(name))
				json_object_set_new(named,
						    json_string_value(name),
						    json_true());
		}
		json_array_foreach(ports, i, p)
		{
			const char *name = get_str(p, "name", NULL, NULL);
			bool keep = false;

			if (name && *name) {
				keep = json_object_get(named, name) != NULL;
			} else {
				long v = node_port_value(
					json_object_get(p, "nodePort"));
				size_t k;
				json_t *u;

				json_array_foreach(
					unnamed, k,
					u) if (json_integer_value(u) == v)
					keep = true;
			}
			if (!keep)
				json_object_del(p, "nodePort");
		}
		json_decref(named);
		json_decref(unnamed);
		json_decref(applied);
		return;
	}
	/* managedFields: f:spec f:ports k:{"port":N,"protocol":"P"} with
	 * f:nodePort */
	json_array_foreach(ports, i, p)
	{
		char key[128];
		json_t *mf = get_path(obj, "metadata", "managedFields", NULL);
		json_t *entry;
		size_t k;
		bool keep = false;

		snprintf(key, sizeof(key),
			 "k:{\"port\":%lld,\"protocol\":\"%s\"}",
			 (long long)json_integer_value(json_object_get(p, "por"
									  "t")),
			 get_str(p, "protocol", NULL, NULL) ?: "TCP");
		json_array_foreach(mf, k, entry)
		{
			json_t *fp = get_path(entry, "fieldsV1", "f:spec",
					      "f:ports");

			if (json_object_get(json_object_get(fp, key), "f:"
								      "nodePor"
								      "t"))
				keep = true;
		}
		if (!keep)
			json_object_del(p, "nodePort");
	}
}

/* velero.io/service: deleteHealthCheckNodePort */
static void service_health_check(json_t *obj)
{
	json_t *spec = json_object_get(obj, "spec");
	const char *lac;
	json_t *mf, *entry;
	size_t k;

	if (strcmp(get_str(spec, "externalTrafficPolicy", NULL, NULL) ?: "",
		   "Local") ||
	    strcmp(get_str(spec, "type", NULL, NULL) ?: "", "LoadBalancer"))
		return;
	if (!json_integer_value(json_object_get(spec, "healthCheckNodePort")))
		return;
	lac = get_str(obj, "metadata", "annotations",
		      "kubectl.kubernetes.io/last-applied-configuration");
	if (lac) {
		json_t *applied = json_loads(lac, 0, NULL);
		json_t *h =
			get_path(applied, "spec", "healthCheckNodePort", NULL);
		bool keep = json_is_number(h) && json_number_value(h) != 0;

		json_decref(applied);
		if (keep)
			return;
	}
	mf = get_path(obj, "metadata", "managedFields", NULL);
	json_array_foreach(mf, k,
			   entry) if (json_is_object(get_path(entry, "fieldsV1",
							      "f:spec",
							      "f:"
							      "healthCheckNodeP"
							      "ort"))) return;
	json_object_del(spec, "healthCheckNodePort");
}

static void action_service(json_t *obj)
{
	json_t *spec = json_object_get(obj, "spec");

	if (!json_is_object(spec))
		return;
	if (strcmp(get_str(spec, "clusterIP", NULL, NULL) ?: "", "None")) {
		json_object_del(spec, "clusterIP");
		json_object_del(spec, "clusterIPs");
	}
	/* preserveNodePorts is a Restore field; velerofs has none: unset */
	service_node_ports(obj);
	service_health_check(obj);
}

/* velero.io/job */
static void action_job(json_t *obj)
{
	static const char *const keys[] = { "controller-uid", "batch."
							      "kubernetes.io/"
							      "controller-"
							      "uid" };
	json_t *ml = get_path(obj, "spec", "selector", "matchLabels");
	json_t *tl = get_path(get_path(obj, "spec", "template", "metadata"),
			      "labels", NULL, NULL);

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		if (json_is_object(ml))
			json_object_del(ml, keys[i]);
		if (json_is_object(tl))
			json_object_del(tl, keys[i]);
	}
	/* the typed round trip omits the maps left empty */
	if (json_is_object(ml) && !json_object_size(ml))
		json_object_del(get_path(obj, "spec", "selector", NULL), "match"
									 "Label"
									 "s");
	if (json_is_object(tl) && !json_object_size(tl))
		json_object_del(get_path(obj, "spec", "template", "metadata"),
				"labels");
}

/* velero.io/service-account: the last secret named <sa>-token-* goes. */
static void action_service_account(json_t *obj)
{
	json_t *secrets = json_object_get(obj, "secrets");
	const char *name = get_str(obj, "metadata", "name", NULL);
	char prefix[300];

	if (!json_is_array(secrets))
		return;
	snprintf(prefix, sizeof(prefix), "%s-token-", name ? name : "");
	for (size_t i = json_array_size(secrets); i-- > 0;) {
		const char *s =
			get_str(json_array_get(secrets, i), "name", NULL, NULL);

		if (has_prefix(s ? s : "", prefix)) {
			json_array_remove(secrets, i);
			break;
		}
	}
	if (!json_array_size(secrets))
		json_object_del(obj, "secrets");
}

/* velero.io/secret, the part that needs no cluster. */
static void action_secret(json_t *obj)
{
	json_t *data = json_object_get(obj, "data");

	if (strcmp(get_str(obj, "type", NULL, NULL) ?: "", "kubernetes.io/"
							   "service-account-"
							   "token"))
		return;
	del_annotation(obj, "kubernetes.io/service-account.uid");
	if (json_is_object(data)) {
		json_object_del(data, "token");
		json_object_del(data, "ca.crt");
	}
}

/* velero.io/pvc (no node mapping ConfigMap: selected-node goes) */
static void action_pvc(json_t *obj)
{
	static const char *const drop[] = {
		"volume.kubernetes.io/selected-node",
		"pv.kubernetes.io/bind-completed",
		"pv.kubernetes.io/bound-by-controller",
		"volume.kubernetes.io/storage-provisioner",
		"volume.beta.kubernetes.io/storage-provisioner",
		"velero.io/volume-snapshot-name",
		"velero.io/data-upload-name",
	};

	for (size_t i = 0; i < ARRAY_SIZE(drop); i++)
		del_annotation(obj, drop[i]);
}

/* velero.io/role-bindings, velero.io/cluster-role-bindings */
static void action_bindings(json_t *obj, const struct restore_clean *c)
{
	json_t *subjects = json_object_get(obj, "subjects"), *s;
	size_t i;

	json_array_foreach(subjects, i, s)
	{
		const char *to =
			mapped_ns(c, get_str(s, "namespace", NULL, NULL));

		if (to)
			json_object_set_new(s, "namespace", json_string(to));
	}
}

/* velero.io/crd-preserve-fields */
static void action_crd(json_t *obj)
{
	json_t *spec = json_object_get(obj, "spec"), *v;
	size_t i;

	if (strcmp(get_str(obj, "apiVersion", NULL, NULL) ?: "", "apiextensions"
								 ".k8s.io/"
								 "v1") ||
	    !json_is_true(json_object_get(spec, "preserveUnknownFields")))
		return;
	json_object_del(spec, "preserveUnknownFields");
	json_array_foreach(json_object_get(spec, "versions"), i, v)
	{
		json_t *s = get_path(v, "schema", "openAPIV3Schema", NULL);

		if (json_is_object(s))
			json_object_set_new(s,
					    "x-kubernetes-preserve-unknown-"
					    "fields",
					    json_true());
	}
}

/* velero.io/admission-webhook-configuration */
static void action_webhooks(json_t *obj)
{
	json_t *hooks = json_object_get(obj, "webhooks"), *h;
	size_t i;

	if (strcmp(get_str(obj, "apiVersion", NULL, NULL) ?: "", "admissionregi"
								 "stration.k8s."
								 "io/v1"))
		return;
	json_array_foreach(hooks, i, h)
	{
		const char *se = get_str(h, "sideEffects", NULL, NULL);

		if (!json_is_object(h))
			continue;
		if (!se || (strcmp(se, "None") && strcmp(se, "NoneOnDryRun")))
			json_object_set_new(h, "sideEffects",
					    json_string("None"));
	}
}

static bool name_in(const json_t *arr, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) if (json_is_string(v) &&
					  !strcmp(json_string_value(v),
						  name)) return true;
	return false;
}

int restore_clean_item(json_t *obj, const struct restore_clean *c,
		       const char **skip_reason)
{
	const char *gr = c->gr ? c->gr : "";
	json_t *md = json_object_get(obj, "metadata");

	if (!json_is_object(md))
		return -EINVAL;
	/* 1. skip rules */
	if (!strcmp(gr, "pods")) {
		const char *phase = get_str(obj, "status", "phase", NULL);

		if (phase &&
		    (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))) {
			*skip_reason = "completed (Velero does not restore "
				       "finished pods)";
			return 1;
		}
		if (*(get_str(md, "annotations", "kubernetes.io/config.mirror", NULL) ?:
			      "")) {
			*skip_reason = "a mirror pod (the kubelet makes it)";
			return 1;
		}
	}
	if (!strcmp(gr, "jobs.batch") &&
	    *(get_str(obj, "status", "completionTime", NULL) ?: "")) {
		*skip_reason = "completed (Velero does not restore finished "
			       "jobs)";
		return 1;
	}
	if (!strcmp(gr, "apiservices.apiregistration.k8s.io") &&
	    json_object_get(json_object_get(md, "labels"), "kube-aggregator."
							   "kubernetes.io/"
							   "automanaged")) {
		*skip_reason = "managed by the API server";
		return 1;
	}
	/* 2. PersistentVolumes, without snapshot information */
	if (!strcmp(gr, "persistentvolumes")) {
		const char *to;

		if (!strcmp(get_str(obj, "spec", "persistentVolumeReclaimPolicy", NULL) ?:
				    "",
			    "Delete")) {
			*skip_reason = "reclaim policy Delete and no snapshot: "
				       "Velero leaves it to dynamic "
				       "provisioning";
			return 1;
		}
		reset_volume_binding(obj);
		to = mapped_ns(c,
			       get_str(obj, "spec", "claimRef", "namespace"));
		if (to)
			json_object_set_new(get_path(obj, "spec", "claimRef",
						     NULL),
					    "namespace", json_string(to));
	}
	/* 3. */
	restore_clean_reset(obj);
	/* 4. restore item actions */
	if (!strcmp(gr, "pods")) {
		int r;

		action_pod(obj);
		r = init_hooks(obj, c);
		if (r < 0)
			return r;
	} else if (!strcmp(gr, "services"))
		action_service(obj);
	else if (!strcmp(gr, "jobs.batch"))
		action_job(obj);
	else if (!strcmp(gr, "serviceaccounts"))
		action_service_account(obj);
	else if (!strcmp(gr, "secrets"))
		action_secret(obj);
	else if (!strcmp(gr, "persistentvolumeclaims"))
		action_pvc(obj);
	else if (!strcmp(gr, "rolebindings.rbac.authorization.k8s.io") ||
		 !strcmp(gr, "clusterrolebindings.rbac.authorization.k8s.io"))
		action_bindings(obj, c);
	else if (!strcmp(gr, "customresourcedefinitions.apiextensions.k8s.io"))
		action_crd(obj);
	else if (!strcmp(gr, "mutatingwebhookconfigurations."
			     "admissionregistration.k8s.io") ||
		 !strcmp(gr, "validatingwebhookconfigurations."
			     "admissionregistration.k8s.io"))
		action_webhooks(obj);
	/* 5. PVC binding */
	if (!strcmp(gr, "persistentvolumeclaims")) {
		const char *vn = get_str(obj, "spec", "volumeName", NULL);

		if (vn && *vn) {
			reset_volume_binding(obj);
			if (name_in(c->provision_pvs, vn))
				json_object_del(json_object_get(obj, "spec"),
						"volumeName");
		}
	}
	return 0;
}

int restore_clean_finish(json_t *obj, const struct restore_clean *c,
			 bool namespaced)
{
	json_t *md = json_object_get(obj, "metadata"), *labels;
	char buf[RESTORE_LABEL_MAX + 1];

	if (!json_is_object(md))
		return -EINVAL;
	if (namespaced) {
		const char *ns = get_str(md, "namespace", NULL, NULL);

		if (c->target_ns)
			ns = c->target_ns;
		else if (!ns || !*ns)
			ns = c->default_ns;
		if (ns && json_object_set_new(md, "namespace", json_string(ns)))
			return -ENOMEM;
	} else {
		json_object_del(md, "namespace");
	}
	labels = json_object_get(md, "labels");
	if (!json_is_object(labels)) {
		labels = json_object();
		if (!labels || json_object_set_new(md, "labels", labels))
			return -ENOMEM;
	}
	if (c->backup &&
	    json_object_set_new(labels, "velero.io/backup-name",
				json_string(restore_valid_label(c->backup, buf,
								sizeof(buf)))))
		return -ENOMEM;
	if (c->restore &&
	    json_object_set_new(labels, "velero.io/restore-name",
				json_string(restore_valid_label(c->restore, buf,
								sizeof(buf)))))
		return -ENOMEM;
	return 0;
}

int restore_clean_namespace(json_t *ns, const char *name, json_t **out)
{
	json_t *o, *md, *v;

	o = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind",
		      "Namespace", "metadata", "name", name);
	if (!o)
		return -ENOMEM;
	md = json_object_get(o, "metadata");
	if (ns) {
		v = get_path(ns, "metadata", "labels", NULL);
		if (json_is_object(v))
			json_object_set(md, "labels", v);
		v = get_path(ns, "metadata", "annotations", NULL);
		if (json_is_object(v))
			json_object_set(md, "annotations", v);
		v = json_object_get(ns, "spec");
		if (json_is_object(v))
			json_object_set(o, "spec", v);
	}
	*out = o;
	return 0;
}
