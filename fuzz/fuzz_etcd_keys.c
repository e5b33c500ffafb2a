/* fuzz_etcd_keys: the etcd snapshot source's parsers of snapshot bytes
 * that are not the bbolt file itself: k8s_key_parse() (etcd/keys.c) on
 * the input as a key, backup_etcd_resource_version() (source_etcd.c) on
 * it as an object, backup_snapshot_cluster_of() on it as a vault key,
 * k8s_crd_v1() (etcd/crd.c) on it as a stored CustomResourceDefinition.
 *
 * Properties:
 * - a placed key's ns, gr and name are path components: not empty, no
 *   '/', not "." or "..", NUL-terminated inside the buffer;
 * - an object that got a resourceVersion is still one JSON value with
 *   the same members plus metadata.resourceVersion == "7" (jansson);
 * - a cluster name has no '/';
 * - a converted CRD is one JSON object of apiVersion v1 (or the input). */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/backup.h"
#include "backup/source_i.h"
#include "etcd/etcd.h"

static void comp_ok(const char *s, const char *buf, size_t bufsz)
{
	if (!s || s < buf || s >= buf + bufsz || !*s || strchr(s, '/') ||
	    !strcmp(s, ".") || !strcmp(s, ".."))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[600], cl[128];
	struct k8s_key k;
	struct sbuf out;
	char *str;

	if (k8s_key_parse((const char *)data, size, buf, sizeof(buf), &k) ==
		    0 &&
	    k.known) {
		if (k.ns)
			comp_ok(k.ns, buf, sizeof(buf));
		comp_ok(k.gr, buf, sizeof(buf));
		comp_ok(k.name, buf, sizeof(buf));
	}

	sbuf_init(&out, (size_t)1 << 24);
	if (backup_etcd_resource_version((const char *)data, size, 7, &out) ==
	    0) {
		json_t *in = json_loadb((const char *)data, size, 0, NULL);
		json_t *o = json_loadb(sbuf_str(&out), out.len, 0, NULL);

		if (in && json_is_object(in)) {
			json_t *md;

			if (!o)
				abort();
			md = json_object_get(o, "metadata");
			if (
				!json_is_object(md) ||
				strcmp(
					json_string_value(json_object_get(md, "resourceVersion")) ?:
						"",
					"7"))
				abort();
			json_object_del(md, "resourceVersion");
			if (!json_equal(in, o))
				abort();
		}
		json_decref(in);
		json_decref(o);
	}
	sbuf_release(&out);

	sbuf_init(&out, (size_t)1 << 24);
	if (k8s_crd_v1((const char *)data, size, &out, NULL) == 0) {
		json_t *o = json_loadb(sbuf_str(&out), out.len, 0, NULL);

		if (!json_is_object(o))
			abort();
		json_decref(o);
	}
	sbuf_release(&out);

	str = strndup((const char *)data, size);
	if (str) {
		backup_snapshot_cluster_of(str, cl, sizeof(cl));
		if (strchr(cl, '/'))
			abort();
		free(str);
	}
	return 0;
}
