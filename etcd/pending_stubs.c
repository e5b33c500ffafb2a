/* TEMPORARY (wt/etcd-source only): the etcd.h functions other branches
 * implement (bbolt.c/mvcc.c, k8s.c, crypt.c, pki.c), as stubs that
 * fail, so that backup/ links until those branches are merged. Each
 * stub goes when its real file arrives; none of this reaches main. */
#include <errno.h>
#include <string.h>

#include "etcd/etcd.h"

__attribute__((weak)) int k8s_value_to_json(const void *val, size_t len,
					    struct sbuf *json,
					    struct sbuf *notes,
					    struct verror *e)
{
	(void)notes;
	if (len && ((const char *)val)[0] == '{')
		return sbuf_add(json, val, len);
	return verror_set(e, -EBADMSG, "protobuf decoder not merged yet");
}
__attribute__((weak)) int
etcd_crypt_load(const char *path, struct etcd_crypt **out, struct verror *e)
{
	(void)path;
	(void)out;
	return verror_set(e, -ENOSYS, "crypt not merged yet");
}
__attribute__((weak)) struct etcd_crypt *etcd_crypt_free(struct etcd_crypt *c)
{
	(void)c;
	return NULL;
}
__attribute__((weak)) bool etcd_value_encrypted(const void *val, size_t len)
{
	return len >= 8 && !memcmp(val, "k8s:enc:", 8);
}
__attribute__((weak)) int etcd_crypt_decrypt(const struct etcd_crypt *c,
					     const char *key, size_t key_len,
					     const char *gr, const void *val,
					     size_t len, struct sbuf *out,
					     struct verror *e)
{
	(void)c;
	(void)key;
	(void)key_len;
	(void)gr;
	(void)val;
	(void)len;
	(void)out;
	return verror_set(e, -ENOKEY, "crypt not merged yet");
}
__attribute__((weak)) bool etcd_pki_private_key(const void *data, size_t len)
{
	return memmem(data, len, "PRIVATE KEY-----", 16) != NULL;
}
__attribute__((weak)) int etcd_pki_report(struct etcd_pki_file *files, size_t n,
					  int64_t now, struct sbuf *out,
					  struct verror *e)
{
	(void)now;
	(void)e;
	for (size_t i = 0; i < n; i++)
		files[i].private_key =
			etcd_pki_private_key(files[i].data, files[i].len);
	return sbuf_adds(out, "certificates.txt: pki.c not merged yet\n");
}
