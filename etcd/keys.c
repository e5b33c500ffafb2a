/* etcd/keys: kube-apiserver's storage paths -> where an object goes in
 * the tree (namespace, Velero's <resource>.<group> directory, name).
 *
 * kube-apiserver (v1.34, k8s.io/kubernetes pkg/kubeapiserver
 * default_storage_factory_builder.go and k8s.io/apiserver
 * pkg/server/storage/storage_factory.go ResourcePrefix()) stores an
 * object at
 *
 *   <etcd-prefix>/<resource prefix>/[<namespace>/]<name>
 *
 * where <etcd-prefix> is --etcd-prefix ("/registry" by default; OpenShift
 * uses "/kubernetes.io") and the resource prefix of a built-in resource
 * is the lower-case resource name WITHOUT its group, except for the
 * compiled-in SpecialDefaultResourcePrefixes (replicationcontrollers ->
 * "controllers", endpoints -> "services/endpoints", nodes -> "minions",
 * services -> "services/specs", ingresses -> "ingress"). Cohabitating
 * resources (apps and extensions deployments, core and events.k8s.io
 * events, ...) share one prefix: the key does not say the group, so the
 * group of a built-in prefix comes from the table below (the group
 * velerofs shows: the one Velero backs the resource up under). Servers
 * that build their storage with generic.RESTOptions' default prefix
 * (apiextensions-apiserver for CRDs and custom resources, kube-aggregator
 * for APIServices) use "<group>/<resource>", so a first component with a
 * dot is a group.
 *
 * Whether an object is namespaced is the key's shape: one more component
 * after the prefix is a namespace. Keys that are no object of an API
 * (the service IP and port allocators under ranges/, masterleases/,
 * compact_rev_key) or whose names are not path components are reported
 * with known = false: the raw view shows them. Pure function, no state. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "etcd/etcd.h"

struct builtin {
	const char *prefix; /* the resource prefix in the key */
	const char *gr;	    /* Velero's directory name */
};

/* Built-in resources of kube-apiserver v1.34 that are stored (the
 * review and token request kinds are not), sorted by prefix. */
static const struct builtin builtins[] = {
	{ "certificatesigningrequests", "certificatesigningrequests."
					"certificates.k8s.io" },
	{ "clusterrolebindings", "clusterrolebindings.rbac.authorization.k8s."
				 "io" },
	{ "clusterroles", "clusterroles.rbac.authorization.k8s.io" },
	{ "clustertrustbundles", "clustertrustbundles.certificates.k8s.io" },
	{ "configmaps", "configmaps" },
	{ "controllerrevisions", "controllerrevisions.apps" },
	{ "controllers", "replicationcontrollers" },
	{ "cronjobs", "cronjobs.batch" },
	{ "csidrivers", "csidrivers.storage.k8s.io" },
	{ "csinodes", "csinodes.storage.k8s.io" },
	{ "csistoragecapacities", "csistoragecapacities.storage.k8s.io" },
	{ "daemonsets", "daemonsets.apps" },
	{ "deployments", "deployments.apps" },
	{ "deviceclasses", "deviceclasses.resource.k8s.io" },
	{ "devicetaintrules", "devicetaintrules.resource.k8s.io" },
	{ "endpointslices", "endpointslices.discovery.k8s.io" },
	{ "events", "events" },
	{ "flowschemas", "flowschemas.flowcontrol.apiserver.k8s.io" },
	{ "horizontalpodautoscalers", "horizontalpodautoscalers.autoscaling" },
	{ "ingress", "ingresses.networking.k8s.io" },
	{ "ingressclasses", "ingressclasses.networking.k8s.io" },
	{ "ipaddresses", "ipaddresses.networking.k8s.io" },
	{ "jobs", "jobs.batch" },
	{ "leasecandidates", "leasecandidates.coordination.k8s.io" },
	{ "leases", "leases.coordination.k8s.io" },
	{ "limitranges", "limitranges" },
	{ "minions", "nodes" },
	{ "mutatingadmissionpolicies", "mutatingadmissionpolicies."
				       "admissionregistration.k8s.io" },
	{ "mutatingadmissionpolicybindings", "mutatingadmissionpolicybindings."
					     "admissionregistration.k8s.io" },
	{ "mutatingwebhookconfigurations", "mutatingwebhookconfigurations."
					   "admissionregistration.k8s.io" },
	{ "namespaces", "namespaces" },
	{ "networkpolicies", "networkpolicies.networking.k8s.io" },
	{ "persistentvolumeclaims", "persistentvolumeclaims" },
	{ "persistentvolumes", "persistentvolumes" },
	{ "podcertificaterequests", "podcertificaterequests.certificates.k8s."
				    "io" },
	{ "poddisruptionbudgets", "poddisruptionbudgets.policy" },
	{ "pods", "pods" },
	{ "podtemplates", "podtemplates" },
	{ "priorityclasses", "priorityclasses.scheduling.k8s.io" },
	{ "prioritylevelconfigurations", "prioritylevelconfigurations."
					 "flowcontrol.apiserver.k8s.io" },
	{ "replicasets", "replicasets.apps" },
	{ "resourceclaims", "resourceclaims.resource.k8s.io" },
	{ "resourceclaimtemplates", "resourceclaimtemplates.resource.k8s.io" },
	{ "resourcequotas", "resourcequotas" },
	{ "resourceslices", "resourceslices.resource.k8s.io" },
	{ "rolebindings", "rolebindings.rbac.authorization.k8s.io" },
	{ "roles", "roles.rbac.authorization.k8s.io" },
	{ "runtimeclasses", "runtimeclasses.node.k8s.io" },
	{ "secrets", "secrets" },
	{ "serviceaccounts", "serviceaccounts" },
	{ "servicecidrs", "servicecidrs.networking.k8s.io" },
	{ "services/endpoints", "endpoints" },
	{ "services/specs", "services" },
	{ "statefulsets", "statefulsets.apps" },
	{ "storageclasses", "storageclasses.storage.k8s.io" },
	{ "storageversionmigrations", "storageversionmigrations."
				      "storagemigration.k8s.io" },
	{ "storageversions", "storageversions.internal.apiserver.k8s.io" },
	{ "validatingadmissionpolicies", "validatingadmissionpolicies."
					 "admissionregistration.k8s.io" },
	{ "validatingadmissionpolicybindings", "validatingadmissionpolicybindin"
					       "gs.admissionregistration.k8s."
					       "io" },
	{ "validatingwebhookconfigurations", "validatingwebhookconfigurations."
					     "admissionregistration.k8s.io" },
	{ "volumeattachments", "volumeattachments.storage.k8s.io" },
	{ "volumeattributesclasses", "volumeattributesclasses.storage.k8s.io" },
};

/* A path component that may name a file or directory: not empty, no
 * NUL, not "." or "..", at most 253 bytes (Kubernetes' longest names). */
static bool comp_ok(const char *s, size_t n)
{
	return n > 0 && n <= 253 && !memchr(s, '\0', n) &&
	       !(n == 1 && s[0] == '.') &&
	       !(n == 2 && s[0] == '.' && s[1] == '.');
}

/* Splits key[0..len) at '/' into at most max components (the leading
 * '/' dropped). Returns the count, or -1 for more, an empty component
 * or a key that does not start with '/'. */
static int split(const char *key, size_t len, const char **c, size_t *cl,
		 int max)
{
	size_t i = 1, start = 1;
	int n = 0;

	if (len < 2 || key[0] != '/')
		return -1;
	for (; i <= len; i++) {
		if (i < len && key[i] != '/')
			continue;
		if (i == start || n == max)
			return -1;
		c[n] = key + start;
		cl[n] = i - start;
		n++;
		start = i + 1;
	}
	return n;
}

static bool comp_is(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* Copies s[0..n) NUL-terminated into buf at *used; NULL if no room. */
static const char *put(char *buf, size_t bufsz, size_t *used, const char *s,
		       size_t n)
{
	char *p;

	if (bufsz - *used < n + 1)
		return NULL;
	p = buf + *used;
	memcpy(p, s, n);
	p[n] = '\0';
	*used += n + 1;
	return p;
}

static const struct builtin *builtin_find(const char *p, size_t n)
{
	size_t lo = 0, hi = sizeof(builtins) / sizeof(builtins[0]);

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strncmp(builtins[mid].prefix, p, n);

		if (c == 0 && builtins[mid].prefix[n] != '\0')
			c = 1;
		if (c == 0)
			return &builtins[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int k8s_key_parse(const char *key, size_t len, char *buf, size_t bufsz,
		  struct k8s_key *out)
{
	const char *c[6], *gr = NULL;
	size_t cl[6], used = 0, grl = 0;
	const struct builtin *bi = NULL;
	struct k8s_key k = { 0 };
	int n, rest;

	memset(out, 0, sizeof(*out));
	if (memchr(key, '\0', len))
		return 0;
	n = split(key, len, c, cl, 6);
	if (n < 3) /* <etcd-prefix>/<resource>/<name> at least */
		return 0;
	/* c[0] is the etcd prefix, whatever it is */
	if (n >= 4 && comp_is(c[1], cl[1], "services") &&
	    (comp_is(c[2], cl[2], "specs") ||
	     comp_is(c[2], cl[2], "endpoints"))) {
		bi = builtin_find(c[1], cl[1] + 1 + cl[2]);
		rest = 3;
	} else if (memchr(c[1], '.', cl[1])) {
		/* <group>/<resource>/: CRDs, custom resources, APIServices */
		if (n < 4 || !comp_ok(c[1], cl[1]) || !comp_ok(c[2], cl[2]) ||
		    memchr(c[2], '.', cl[2]))
			return 0;
		rest = 3;
	} else {
		bi = builtin_find(c[1], cl[1]);
		rest = 2;
	}
	if (bi) {
		gr = bi->gr;
		grl = strlen(gr);
	} else if (rest == 2 || !memchr(c[1], '.', cl[1])) {
		return 0;
	}
	if (n - rest != 1 && n - rest != 2)
		return 0;
	if (n - rest == 2) {
		if (!comp_ok(c[rest], cl[rest]))
			return 0;
		k.ns = put(buf, bufsz, &used, c[rest], cl[rest]);
		if (!k.ns)
			return -ENAMETOOLONG;
	}
	if (!comp_ok(c[n - 1], cl[n - 1]))
		return 0;
	if (gr) {
		k.gr = put(buf, bufsz, &used, gr, grl);
	} else {
		/* <resource>.<group> */
		char *p;

		if (bufsz - used < cl[2] + 1 + cl[1] + 1)
			return -ENAMETOOLONG;
		p = buf + used;
		memcpy(p, c[2], cl[2]);
		p[cl[2]] = '.';
		memcpy(p + cl[2] + 1, c[1], cl[1]);
		p[cl[2] + 1 + cl[1]] = '\0';
		used += cl[2] + 1 + cl[1] + 1;
		k.gr = p;
	}
	if (!k.gr)
		return -ENAMETOOLONG;
	k.name = put(buf, bufsz, &used, c[n - 1], cl[n - 1]);
	if (!k.name)
		return -ENAMETOOLONG;
	k.known = true;
	*out = k;
	return 0;
}
