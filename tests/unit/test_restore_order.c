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
	/* stages: what may go together */
	CHECK(restore_order_stage("secrets") == restore_order_stage("configmap"
								    "s"));
	CHECK(restore_order_stage("roles.rbac.authorization.k8s.io") ==
	      restore_order_stage("serviceaccounts"));
	CHECK(restore_order_stage("serviceaccounts") !=
	      restore_order_stage("secrets"));
	CHECK(restore_order_stage("deployments.apps") ==
	      restore_order_stage("widgets.example.com"));
	CHECK(restore_order_stage("namespaces") < 0);
	CHECK(restore_order_stage("persistentvolumes") < 0);
	CHECK(restore_order_stage("persistentvolumeclaims") < 0);
	CHECK(restore_order_stage("pods") < 0);
	CHECK(restore_order_stage("services") == restore_order_stage("deploymen"
								     "ts."
								     "apps"));
	CHECK(restore_order_stage("endpoints") < 0);
	CHECK(restore_order_stage("apiservices.apiregistration.k8s.io") < 0);
	CHECK(restore_order_stage("validatingwebhookconfigurations."
				  "admissionregistration.k8s.io") < 0);
	snprintf(dir, sizeof(dir), "%s/order", argv[1]);
	CHECK(tr_each_case(dir, golden) >= 1);
	return check_status();
}
