/* Unit tests of etcd/keys.c: kube-apiserver's storage paths. */
#include <errno.h>
#include <string.h>

#include "etcd/etcd.h"
#include "check.h"

static void expect(const char *key, const char *ns, const char *gr,
		   const char *name)
{
	char buf[600];
	struct k8s_key k;
	int r = k8s_key_parse(key, strlen(key), buf, sizeof(buf), &k);

	CHECK_EQ_INT(r, 0);
	if (!k.known) {
		fprintf(stderr, "%s: not known\n", key);
		check_failures++;
		return;
	}
	if (ns)
		CHECK_STREQ(k.ns, ns);
	else
		CHECK(k.ns == NULL);
	CHECK_STREQ(k.gr, gr);
	CHECK_STREQ(k.name, name);
}

static void unknown(const char *key, size_t len)
{
	char buf[600];
	struct k8s_key k;

	CHECK_EQ_INT(k8s_key_parse(key, len, buf, sizeof(buf), &k), 0);
	if (k.known)
		fprintf(stderr, "%.*s: known\n", (int)len, key);
	CHECK(!k.known);
}

int main(void)
{
	char buf[600];
	struct k8s_key k;

	/* the exceptions of the storage factory */
	expect("/registry/services/specs/shop/web", "shop", "services", "web");
	expect("/registry/services/endpoints/shop/web", "shop", "endpoints",
	       "web");
	expect("/registry/minions/node-1", NULL, "nodes", "node-1");
	expect("/registry/controllers/shop/rc", "shop",
	       "replicationcontrollers", "rc");
	expect("/registry/ingress/shop/in", "shop",
	       "ingresses.networking.k8s.io", "in");
	/* group not in the key: from the table */
	expect("/registry/deployments/shop/web", "shop", "deployments.apps",
	       "web");
	expect("/registry/events/shop/web.17f", "shop", "events", "web.17f");
	expect("/registry/configmaps/kube-system/kube-root-ca.crt",
	       "kube-system", "configmaps", "kube-root-ca.crt");
	expect("/registry/namespaces/shop", NULL, "namespaces", "shop");
	expect("/registry/clusterroles/system:basic-user", NULL,
	       "clusterroles.rbac.authorization.k8s.io", "system:basic-user");
	expect("/registry/priorityclasses/system-node-critical", NULL,
	       "priorityclasses.scheduling.k8s.io", "system-node-critical");
	expect("/registry/leases/kube-node-lease/n1", "kube-node-lease",
	       "leases.coordination.k8s.io", "n1");
	expect("/registry/storageversions/x", NULL,
	       "storageversions.internal.apiserver.k8s.io", "x");
	expect("/registry/volumeattributesclasses/gold", NULL,
	       "volumeattributesclasses.storage.k8s.io", "gold");
	/* every entry of the table is found (it is bisected) */
	expect("/registry/certificatesigningrequests/c", NULL,
	       "certificatesigningrequests.certificates.k8s.io", "c");
	expect("/registry/volumeattachments/c", NULL,
	       "volumeattachments.storage.k8s.io", "c");
	expect("/registry/serviceaccounts/a/b", "a", "serviceaccounts", "b");
	expect("/registry/servicecidrs/b", NULL,
	       "servicecidrs.networking.k8s.io", "b");
	expect("/registry/secrets/a/b", "a", "secrets", "b");
	expect("/registry/validatingwebhookconfigurations/b", NULL,
	       "validatingwebhookconfigurations.admissionregistration.k8s.io",
	       "b");
	expect("/registry/flowschemas/exempt", NULL,
	       "flowschemas.flowcontrol.apiserver.k8s.io", "exempt");
	/* <group>/<resource>/: CRDs, custom resources, APIServices */
	expect("/registry/apiextensions.k8s.io/customresourcedefinitions/"
	       "widgets.example.com",
	       NULL, "customresourcedefinitions.apiextensions.k8s.io",
	       "widgets.example.com");
	expect("/registry/apiregistration.k8s.io/apiservices/v1.apps", NULL,
	       "apiservices.apiregistration.k8s.io", "v1.apps");
	expect("/registry/example.com/widgets/shop/w1", "shop",
	       "widgets.example.com", "w1");
	expect("/registry/example.com/clusterwidgets/w1", NULL,
	       "clusterwidgets.example.com", "w1");
	/* another --etcd-prefix */
	expect("/kubernetes.io/deployments/shop/web", "shop",
	       "deployments.apps", "web");

	/* not objects velerofs can place */
	unknown("/registry/ranges/serviceips", 27);
	unknown("/registry/ranges/servicenodeports", 33);
	unknown("/registry/masterleases/10.0.0.1", 31);
	unknown("compact_rev_key", 15);
	unknown("/registry/compact_rev_key", 25);
	unknown("/registry/pods", 14);
	unknown("/registry/pods/a/b/c", 20);
	unknown("/registry/pods//b", 17);
	unknown("/registry/pods/a/..", 19);
	unknown("/registry/pods/./b", 18);
	unknown("/registry/pods/a/b/", 19);
	unknown("/registry/example.com/widgets", 29);
	unknown("/registry/example.com/a.b/c", 27);
	unknown("/registry/nosuchthing/a", 23);
	unknown("/registry/pods/a\0x/b", 20);
	unknown("/registry/services/specs", 24);
	unknown("", 0);
	unknown("/", 1);

	/* too small a buffer */
	CHECK_EQ_INT(k8s_key_parse("/registry/pods/a/b", 18, buf, 8, &k),
		     -ENAMETOOLONG);
	CHECK(!k.known);
	return check_status();
}
