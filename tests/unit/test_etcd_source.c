/* Unit tests of the etcd snapshot source's pure parts: resourceVersion
 * put where kube-apiserver's object has it, and snapshot names'
 * clusters. */
#include <errno.h>
#include <string.h>

#include "backup/source_i.h"
#include "check.h"

static void rv(const char *in, const char *want)
{
	struct sbuf out;
	int r;

	sbuf_init(&out, 1 << 20);
	r = backup_etcd_resource_version(in, strlen(in), 42, &out);
	if (want) {
		CHECK_EQ_INT(r, 0);
		CHECK_STREQ(sbuf_str(&out), want);
	} else {
		CHECK_EQ_INT(r, -EBADMSG);
		CHECK_EQ_INT(out.len, 0);
	}
	sbuf_release(&out);
}

static void cluster(const char *key, const char *want)
{
	char out[128];

	backup_snapshot_cluster_of(key, out, sizeof(out));
	CHECK_STREQ(out, want);
}

int main(void)
{
	rv("{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\",\"namespace\":"
	   "\"b\",\"uid\":\"u\",\"creationTimestamp\":\"t\"},\"data\":{}}",
	   "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\",\"namespace\":"
	   "\"b\",\"uid\":\"u\",\"resourceVersion\":\"42\","
	   "\"creationTimestamp\":\"t\"},\"data\":{}}");
	/* only some of the fields before it */
	rv("{\"metadata\":{\"name\":\"a\",\"generation\":1}}", "{\"metadata\":{"
							       "\"name\":\"a\","
							       "\"resourceVersi"
							       "on\":\"42\","
							       "\"generation\":"
							       "1}}");
	/* none of them: first */
	rv("{\"metadata\":{\"labels\":{\"uid\":\"x\"}}}", "{\"metadata\":{"
							  "\"resourceVersion\":"
							  "\"42\",\"labels\":{"
							  "\"uid\":"
							  "\"x\"}}}");
	rv("{\"metadata\":{}}", "{\"metadata\":{\"resourceVersion\":\"42\"}}");
	rv(" { \"a\" : [1,{\"metadata\":{}}] , \"metadata\" : { \"uid\" : "
	   "\"u\" } } ",
	   " { \"a\" : [1,{\"metadata\":{}}] , \"metadata\" : { \"uid\" : "
	   "\"u\",\"resourceVersion\":\"42\" } } ");
	/* a nested "uid" is not the object's */
	rv("{\"metadata\":{\"ownerReferences\":[{\"uid\":\"o\"}],\"name\":"
	   "\"n\"}}",
	   "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"o\"}],\"name\":"
	   "\"n\",\"resourceVersion\":\"42\"}}");
	/* left alone */
	rv("{\"metadata\":{\"resourceVersion\":\"7\"}}", NULL);
	rv("{\"kind\":\"X\"}", NULL);
	rv("[]", NULL);
	rv("{\"metadata\":[]}", NULL);
	rv("{\"metadata\":{\"name\":}}", NULL);
	rv("{\"metadata\":{\"name\":\"a\"", NULL);
	rv("", NULL);

	cluster("gke/2026-12-01/admin-cluster_snapshot.db", "admin-cluster");
	cluster("gke/2026-12-01/user-cluster_prod_snapshot.db", "prod");
	cluster("user-cluster_prod_snapshot.db", "prod");
	cluster("a/kubeadm_snapshot.db", "kubeadm");
	cluster("a/snapshot.db", "");
	cluster("a/_snapshot.db", "");
	cluster("a/etcd-2026.db", "");
	cluster("a/user-cluster__snapshot.db", "user-cluster_");
	return check_status();
}
