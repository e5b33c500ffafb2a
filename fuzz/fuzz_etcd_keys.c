/* fuzz_etcd_keys: k8s_key_parse() (etcd/keys.c) on the input as an etcd
 * key, and backup_snapshot_cluster_of() (backup/snapshots.c) on it as a
 * vault key.
 *
 * Properties:
 * - a placed key's ns, gr and name are path components: not empty, no
 *   '/', not "." or "..", NUL-terminated inside the buffer;
 * - a cluster name has no '/'. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/backup.h"
#include "etcd/etcd.h"

static void comp_ok(const char *s, const char *buf, size_t bufsz)
{
	if (!s || s < buf || s >= buf + bufsz ||
	    !memchr(s, '\0', buf + bufsz - s) || !*s || strchr(s, '/') ||
	    !strcmp(s, ".") || !strcmp(s, ".."))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[600], cl[128];
	struct k8s_key k;
	char *str;

	if (k8s_key_parse((const char *)data, size, buf, sizeof(buf), &k) ==
		    0 &&
	    k.known) {
		if (k.ns)
			comp_ok(k.ns, buf, sizeof(buf));
		comp_ok(k.gr, buf, sizeof(buf));
		comp_ok(k.name, buf, sizeof(buf));
	}
	str = strndup((const char *)data, size);
	if (str) {
		backup_snapshot_cluster_of(str, cl, sizeof(cl));
		if (strchr(cl, '/'))
			abort();
		free(str);
	}
	return 0;
}
