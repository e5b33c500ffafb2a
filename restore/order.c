/* order: Velero's restore order (pkg/restore/restore.go
 * getOrderedResources with the default priorities of
 * pkg/cmd/server/config/config.go): CRDs first (their own pass), then the
 * high-priority list, every other group-resource alphabetically, the
 * low-priority list last. Within a group-resource, by namespace and name
 * (Velero walks its backup folders, which are sorted the same way), input
 * order breaking ties. Pure. */
#include <stdlib.h>
#include <string.h>

#include "restore/restore_i.h"

/* The high-priority list, by name: restore_order_waits() speaks of it. */
enum {
	H_CRDS,
	H_NAMESPACES,
	H_STORAGECLASSES,
	H_VSCLASSES,
	H_VSCONTENTS,
	H_VS,
	H_DATAUPLOADS,
	H_PVS,
	H_PVCS,
	H_CLUSTERROLES,
	H_ROLES,
	H_SERVICEACCOUNTS,
	H_CLUSTERROLEBINDINGS,
	H_ROLEBINDINGS,
	H_SECRETS,
	H_CONFIGMAPS,
	H_LIMITRANGES,
	H_PRIORITYCLASSES,
	H_PODS,
	H_REPLICASETS,
	H_CLUSTERCLASSES,
	H_ENDPOINTS,
	H_SERVICES,
	H_COUNT
};

static const char *const high[H_COUNT] = {
	[H_CRDS] = "customresourcedefinitions",
	[H_NAMESPACES] = "namespaces",
	[H_STORAGECLASSES] = "storageclasses",
	/* sic, as Velero */
	[H_VSCLASSES] = "volumesnapshotclass.snapshot.storage.k8s.io",
	[H_VSCONTENTS] = "volumesnapshotcontents.snapshot.storage.k8s.io",
	[H_VS] = "volumesnapshots.snapshot.storage.k8s.io",
	[H_DATAUPLOADS] = "datauploads.velero.io",
	[H_PVS] = "persistentvolumes",
	[H_PVCS] = "persistentvolumeclaims",
	[H_CLUSTERROLES] = "clusterroles",
	[H_ROLES] = "roles",
	[H_SERVICEACCOUNTS] = "serviceaccounts",
	[H_CLUSTERROLEBINDINGS] = "clusterrolebindings",
	[H_ROLEBINDINGS] = "rolebindings",
	[H_SECRETS] = "secrets",
	[H_CONFIGMAPS] = "configmaps",
	[H_LIMITRANGES] = "limitranges",
	[H_PRIORITYCLASSES] = "priorityclasses",
	[H_PODS] = "pods",
	[H_REPLICASETS] = "replicasets.apps",
	[H_CLUSTERCLASSES] = "clusterclasses.cluster.x-k8s.io",
	[H_ENDPOINTS] = "endpoints",
	[H_SERVICES] = "services",
};

static const char *const low[] = {
	"clusterbootstraps.run.tanzu.vmware.com",
	"clusters.cluster.x-k8s.io",
	"clusterresourcesets.addons.cluster.x-k8s.io",
	"apps.kappctrl.k14s.io",
	"packageinstalls.packaging.carvel.dev",
};

/* Velero's priority strings name resources the way its backup folders do,
 * but "customresourcedefinitions", "storageclasses", "clusterroles" ...
 * are written without their group: in a backup those folders are
 * "customresourcedefinitions.apiextensions.k8s.io" and so on, and Velero
 * matches them through its resource resolution (kuberesource). A bare
 * priority name therefore matches the resource of any group. */
static bool priority_matches(const char *prio, const char *gr)
{
	size_t n = strlen(prio);

	if (!strcmp(prio, gr))
		return true;
	if (strchr(prio, '.'))
		return false;
	return !strncmp(gr, prio, n) && gr[n] == '.';
}

int restore_order_rank(const char *gr)
{
	for (size_t i = 0; i < H_COUNT; i++)
		if (priority_matches(high[i], gr))
			return (int)i;
	for (size_t i = 0; i < ARRAY_SIZE(low); i++)
		if (priority_matches(low[i], gr))
			return 1000 + (int)i;
	return 500; /* the alphabetical middle */
}

/* Kinds that change how the server treats the requests after them
 * (admission webhooks and policies; aggregated APIs: an APIService needs
 * its Service, and comes after it): everything sorted before one is
 * decided before it is sent, and everything after it waits for it. */
static const char *const barrier[] = {
	"mutatingwebhookconfigurations.admissionregistration.k8s.io",
	"validatingwebhookconfigurations.admissionregistration.k8s.io",
	"validatingadmissionpolicies.admissionregistration.k8s.io",
	"validatingadmissionpolicybindings.admissionregistration.k8s.io",
	"mutatingadmissionpolicies.admissionregistration.k8s.io",
	"mutatingadmissionpolicybindings.admissionregistration.k8s.io",
	"apiservices.apiregistration.k8s.io",
};

void restore_order_kind(const char *gr, struct restore_order_kind *out)
{
	out->gr = gr;
	out->rank = restore_order_rank(gr);
	out->barrier = false;
	for (size_t i = 0; i < ARRAY_SIZE(barrier); i++)
		if (priority_matches(barrier[i], gr))
			out->barrier = true;
}

/* Whether a sorts before b (restore_order_sort()'s order of
 * group-resources). */
static bool kind_before(const struct restore_order_kind *a,
			const struct restore_order_kind *b)
{
	if (a->rank != b->rank)
		return a->rank < b->rank;
	return strcmp(a->gr, b->gr) < 0;
}

static bool in_range(int rank, int lo, int hi)
{
	return rank >= lo && rank <= hi;
}

/* Velero applies one group-resource after another. What of that order
 * matters, and is kept here: CRDs (their own pass, Established) and
 * namespaces before everything; the storage chain in its order
 * (storage and snapshot classes, snapshots, data uploads, PVs, PVCs);
 * bindings after the roles and service accounts they name; Secrets
 * after ServiceAccounts (a token Secret of an account); pods after
 * everything listed before them (their volumes, claims, accounts,
 * secrets, config maps, limit ranges, priority classes), replica sets
 * after pods, the alphabetical middle (Deployments and the rest that
 * make pods, custom resources) after all of those; Endpoints before
 * Services; the barrier kinds above and the low-priority list after
 * everything before them. What is relaxed: kinds that do not need one
 * another go at the same time (roles, accounts and config maps; the
 * kinds of the middle), and Endpoints and Services need nothing but
 * the namespaces, so the Services, whose cluster IPs kube-apiserver
 * allocates one at a time, are restored while the rest goes on (nothing
 * of the middle needs a Service to exist). */
bool restore_order_waits(const struct restore_order_kind *b,
			 const struct restore_order_kind *a)
{
	int ra = a->rank;

	if (!kind_before(a, b))
		return false;
	if (a->barrier || b->barrier || b->rank >= 1000 || ra <= H_NAMESPACES)
		return true;
	switch (b->rank) {
	case H_STORAGECLASSES:
	case H_VSCLASSES:
	case H_VSCONTENTS:
	case H_VS:
	case H_DATAUPLOADS:
	case H_PVS:
	case H_PVCS:
		return in_range(ra, H_STORAGECLASSES, H_PVCS);
	case H_CLUSTERROLEBINDINGS:
	case H_ROLEBINDINGS:
		return in_range(ra, H_CLUSTERROLES, H_SERVICEACCOUNTS);
	case H_SECRETS:
		return ra == H_SERVICEACCOUNTS;
	case H_SERVICES:
		return ra == H_ENDPOINTS;
	case H_CLUSTERROLES:
	case H_ROLES:
	case H_SERVICEACCOUNTS:
	case H_CONFIGMAPS:
	case H_LIMITRANGES:
	case H_PRIORITYCLASSES:
	case H_ENDPOINTS:
		return false;
	default: /* pods, replica sets, cluster classes, the middle */
		return ra < H_ENDPOINTS;
	}
}

bool restore_order_needs(const char *b, const char *a)
{
	struct restore_order_kind kb, ka;

	restore_order_kind(b, &kb);
	restore_order_kind(a, &ka);
	return restore_order_waits(&kb, &ka);
}

static int cmp(const void *a, const void *b)
{
	const struct restore_order_item *x = a, *y = b;
	int rx = restore_order_rank(x->gr), ry = restore_order_rank(y->gr);
	int c;

	if (rx != ry)
		return rx < ry ? -1 : 1;
	c = strcmp(x->gr, y->gr);
	if (c)
		return c;
	c = strcmp(x->ns, y->ns);
	if (c)
		return c;
	c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

void restore_order_sort(struct restore_order_item *items, size_t n)
{
	qsort(items, n, sizeof(*items), cmp);
}
