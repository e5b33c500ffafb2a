/* Unit tests of the etcd snapshot source's pure parts: the clusters that
 * snapshots' file names tell. */
#include <errno.h>
#include <string.h>

#include "backup/backup.h"
#include "check.h"

static void cluster(const char *key, const char *want)
{
	char out[128];

	backup_snapshot_cluster_of(key, out, sizeof(out));
	CHECK_STREQ(out, want);
}

int main(void)
{
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
