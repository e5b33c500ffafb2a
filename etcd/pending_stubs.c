/* TEMPORARY (wt/etcd-source only): the etcd.h functions other branches
 * implement (bbolt.c/mvcc.c, k8s.c, crypt.c, pki.c), as stubs that
 * fail, so that backup/ links until those branches are merged. Each
 * stub goes when its real file arrives; none of this reaches main. */
#include <errno.h>
#include <string.h>

#include "etcd/etcd.h"

__attribute__((weak)) bool etcd_sniff(const void *head, size_t len)
{
	static const unsigned char magic[4] = { 0x0b, 0xdc, 0x0c, 0xed };
	const unsigned char *p = head;

	/* page header 16 bytes, then the meta's magic (little-endian) */
	return len >= 20 && !memcmp(p + 16, magic, 4);
}
__attribute__((weak)) int etcd_snapshot_open(const struct etcd_reader *r,
					     struct etcd_snapshot **out,
					     struct verror *e)
{
	(void)r;
	(void)out;
	return verror_set(e, -ENOSYS, "bbolt reader not merged yet");
}
__attribute__((weak)) struct etcd_snapshot *
etcd_snapshot_free(struct etcd_snapshot *s)
{
	(void)s;
	return NULL;
}
__attribute__((weak)) int etcd_snapshot_status(struct etcd_snapshot *s,
					       struct etcd_status *out,
					       struct verror *e)
{
	(void)s;
	(void)out;
	return verror_set(e, -ENOSYS, "not merged yet");
}
__attribute__((weak)) int etcd_snapshot_each(struct etcd_snapshot *s,
					     etcd_kv_fn *fn,
					     etcd_problem_fn *problem, void *ud,
					     struct verror *e)
{
	(void)s;
	(void)fn;
	(void)problem;
	(void)ud;
	return verror_set(e, -ENOSYS, "not merged yet");
}
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
