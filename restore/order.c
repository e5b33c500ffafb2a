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

static const char *const high[] = {
	"customresourcedefinitions",
	"namespaces",
	"storageclasses",
	"volumesnapshotclass.snapshot.storage.k8s.io", /* sic, as Velero */
	"volumesnapshotcontents.snapshot.storage.k8s.io",
	"volumesnapshots.snapshot.storage.k8s.io",
	"datauploads.velero.io",
	"persistentvolumes",
	"persistentvolumeclaims",
	"clusterroles",
	"roles",
	"serviceaccounts",
	"clusterrolebindings",
	"rolebindings",
	"secrets",
	"configmaps",
	"limitranges",
	"priorityclasses",
	"pods",
	"replicasets.apps",
	"clusterclasses.cluster.x-k8s.io",
	"endpoints",
	"services",
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
	for (size_t i = 0; i < ARRAY_SIZE(high); i++)
		if (priority_matches(high[i], gr))
			return (int)i;
	for (size_t i = 0; i < ARRAY_SIZE(low); i++)
		if (priority_matches(low[i], gr))
			return 1000 + (int)i;
	return 500; /* the alphabetical middle */
}

/* Kinds that may go to the API server together: Velero restores one type
 * after another, but within these sets no type needs another to exist
 * first (RBAC objects and the objects pods read; the types of the
 * alphabetical middle, operators' custom resources among them, and the
 * services before it: nothing of the middle needs a Service to exist, and
 * kube-apiserver allocates cluster IPs one at a time, so a restore of
 * many Services would otherwise hold everything after it). Everything
 * else is a stage of its own: namespaces, the storage chain, PVs, PVCs,
 * pods, replica sets, endpoints, and, in the middle, what can change how
 * the server treats the requests after it (admission webhooks and
 * policies, aggregated APIs: an APIService needs its Service, and comes
 * after it). */
static const char *const together_rbac[] = { "clusterroles", "roles",
					     "serviceaccounts" };
static const char *const together_config[] = {
	"clusterrolebindings", "rolebindings", "secrets",
	"configmaps",	       "limitranges",  "priorityclasses",
};
static const char *const own_stage[] = {
	"mutatingwebhookconfigurations.admissionregistration.k8s.io",
	"validatingwebhookconfigurations.admissionregistration.k8s.io",
	"validatingadmissionpolicies.admissionregistration.k8s.io",
	"validatingadmissionpolicybindings.admissionregistration.k8s.io",
	"mutatingadmissionpolicies.admissionregistration.k8s.io",
	"mutatingadmissionpolicybindings.admissionregistration.k8s.io",
	"apiservices.apiregistration.k8s.io",
};

static bool matches_any(const char *const *v, size_t n, const char *gr)
{
	for (size_t i = 0; i < n; i++)
		if (priority_matches(v[i], gr))
			return true;
	return false;
}

int restore_order_stage(const char *gr)
{
	int rank = restore_order_rank(gr);

	if (matches_any(together_rbac, ARRAY_SIZE(together_rbac), gr))
		return 2000;
	if (matches_any(together_config, ARRAY_SIZE(together_config), gr))
		return 2001;
	if ((rank == 500 &&
	     !matches_any(own_stage, ARRAY_SIZE(own_stage), gr)) ||
	    !strcmp(gr, "services"))
		return 500;
	return -1;
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
