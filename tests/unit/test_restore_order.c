/* test_restore_order: restore/order.c. Golden cases under
 * tests/data/restore/order/<case>/: input.json (["gr ns/name" or "gr
 * name", ...] in input order) and expected.json (the same strings in
 * Velero's restore order). */
#include "restore/restore_i.h"
#include "test_restore_util.h"

static void golden(const char *dir, const char *name)
{
	json_t *in = tr_json(dir, "input.json");
	json_t *want = tr_json(dir, "expected.json"), *got = json_array();
	size_t n = json_array_size(in), i;
	struct restore_order_item *items = calloc(n + 1, sizeof(*items));
	char(*parts)[3][256] = calloc(n + 1, sizeof(*parts));
	json_t *v;

	json_array_foreach(in, i, v)
	{
		const char *s = json_string_value(v);
		const char *sp = strchr(s, ' ');
		const char *sl = strchr(s, '/');

		snprintf(parts[i][0], 256, "%.*s", (int)(sp - s), s);
		if (sl) {
			snprintf(parts[i][1], 256, "%.*s", (int)(sl - sp - 1),
				 sp + 1);
			snprintf(parts[i][2], 256, "%s", sl + 1);
		} else {
			snprintf(parts[i][2], 256, "%s", sp + 1);
		}
		items[i] = (struct restore_order_item){ i, parts[i][0],
							parts[i][1],
							parts[i][2] };
	}
	restore_order_sort(items, n);
	for (i = 0; i < n; i++)
		json_array_append(got, json_array_get(in, items[i].index));
	tr_check_json(name, got, want);
	free(items);
	free(parts);
	json_decref(in);
	json_decref(want);
	json_decref(got);
}

int main(int argc, char **argv)
{
	char dir[4096];

	if (argc < 2) {
		fprintf(stderr, "usage: %s DATA_DIR\n", argv[0]);
		return 2;
	}
	CHECK(restore_order_rank("customresourcedefinitions."
				 "apiextensions.k8s.io") <
	      restore_order_rank("namespaces"));
	CHECK(restore_order_rank("namespaces") < restore_order_rank("persistent"
								    "volumes"));
	CHECK(restore_order_rank("persistentvolumes") <
	      restore_order_rank("persistentvolumeclaims"));
	CHECK(restore_order_rank("services") < restore_order_rank("deployments."
								  "apps"));
	CHECK(restore_order_rank("replicasets.apps") < restore_order_rank("serv"
									  "ice"
									  "s"));
	CHECK(restore_order_rank("deployments.apps") <
	      restore_order_rank("clusters.cluster.x-k8s.io"));
	CHECK(restore_order_rank("replicasets.extensions") ==
	      restore_order_rank("deployments.apps"));
	/* what waits for what */
#define RBAC ".rbac.authorization.k8s.io"
#define ADM ".admissionregistration.k8s.io"
	CHECK(restore_order_needs("serviceaccounts", "namespaces"));
	CHECK(restore_order_needs("services", "namespaces"));
	CHECK(!restore_order_needs("namespaces", "serviceaccounts"));
	CHECK(!restore_order_needs("serviceaccounts", "roles" RBAC));
	CHECK(!restore_order_needs("configmaps", "serviceaccounts"));
	CHECK(!restore_order_needs("configmaps", "secrets"));
	CHECK(restore_order_needs("secrets", "serviceaccounts"));
	CHECK(restore_order_needs("rolebindings" RBAC, "roles" RBAC));
	CHECK(restore_order_needs("rolebindings" RBAC, "serviceaccounts"));
	CHECK(restore_order_needs("clusterrolebindings" RBAC, "clusterrole"
							      "s" RBAC));
	CHECK(restore_order_needs("persistentvolumeclaims", "persistentvolume"
							    "s"));
	CHECK(restore_order_needs("persistentvolumes", "storageclasses"
						       ".storage.k8s.io"));
	CHECK(!restore_order_needs("persistentvolumes", "serviceaccounts"));
	CHECK(restore_order_needs("pods", "persistentvolumeclaims"));
	CHECK(restore_order_needs("pods", "configmaps"));
	CHECK(restore_order_needs("pods", "serviceaccounts"));
	CHECK(restore_order_needs("pods", "limitranges"));
	CHECK(restore_order_needs("replicasets.apps", "pods"));
	CHECK(restore_order_needs("deployments.apps", "replicasets.apps"));
	CHECK(restore_order_needs("deployments.apps", "configmaps"));
	CHECK(restore_order_needs("widgets.example.com", "secrets"));
	CHECK(!restore_order_needs("deployments.apps", "services"));
	CHECK(!restore_order_needs("deployments.apps", "endpoints"));
	CHECK(!restore_order_needs("widgets.example.com", "deployments.apps"));
	CHECK(!restore_order_needs("services", "configmaps"));
	CHECK(!restore_order_needs("services", "pods"));
	CHECK(restore_order_needs("services", "endpoints"));
	CHECK(!restore_order_needs("endpoints", "pods"));
	/* never the other way */
	CHECK(!restore_order_needs("configmaps", "pods"));
	CHECK(!restore_order_needs("persistentvolumes", "persistentvolumeclaim"
							"s"));
	/* barriers: after everything before them, before everything after */
	CHECK(restore_order_needs("apiservices.apiregistration.k8s.io", "servic"
									"es"));
	CHECK(restore_order_needs("validatingwebhookconfigurations" ADM, "deplo"
									 "yment"
									 "s."
									 "app"
									 "s"));
	CHECK(restore_order_needs("widgets.example.com", "validatingwebhookconf"
							 "igurations" ADM));
	CHECK(!restore_order_needs("deployments.apps", "validatingwebhookconfig"
						       "urations" ADM));
	/* the low-priority list after everything */
	CHECK(restore_order_needs("clusters.cluster.x-k8s.io", "services"));
	CHECK(restore_order_needs("clusters.cluster.x-k8s.io", "widgets."
							       "example.com"));
	snprintf(dir, sizeof(dir), "%s/order", argv[1]);
	CHECK(tr_each_case(dir, golden) >= 1);
	return check_status();
}
