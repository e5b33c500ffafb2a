/* test_etcd_crypt: etcd/crypt.c against tests/data/etcd-crypt/ (regen.py:
 * values written by the real kube-apiserver, values made with another AES,
 * NaCl's secretbox vector, broken values), and EncryptionConfiguration
 * parsing. argv[1]: the data directory. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "common/base64.h"
#include "common/sbuf.h"
#include "etcd/crypt_i.h"
#include "etcd/etcd.h"

static char *slurp(const char *path, size_t *len)
{
	struct sbuf b;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return NULL;
	sbuf_init(&b, 0);
	r = sbuf_read_fd(&b, fd);
	close(fd);
	if (r < 0) {
		sbuf_release(&b);
		return NULL;
	}
	return sbuf_take(&b, len);
}

static int err_of(const char *s)
{
	if (!strcmp(s, "ok"))
		return 0;
	if (!strcmp(s, "ENOKEY"))
		return -ENOKEY;
	if (!strcmp(s, "EBADMSG"))
		return -EBADMSG;
	if (!strcmp(s, "EOPNOTSUPP"))
		return -EOPNOTSUPP;
	if (!strcmp(s, "EINVAL"))
		return -EINVAL;
	return 1;
}

static unsigned char *b64(const char *s, size_t *n)
{
	size_t l = strlen(s);
	unsigned char *out = malloc(l / 4 * 3 + 4);
	long r = base64_decode(s, l, BASE64_STRICT, out, l / 4 * 3 + 3);
	CHECK(r >= 0);
	*n = r < 0 ? 0 : (size_t)r;
	return out;
}

static void check_plain(const char *check, const struct sbuf *out,
			const char *where)
{
	if (!strcmp(check, "-"))
		return;
	if (!strncmp(check, "sha256:", 7)) {
		unsigned char md[32];
		unsigned ml = 0;
		EVP_Digest(out->buf ? out->buf : "", out->len, md, &ml,
			   EVP_sha256(), NULL);
		char hex[65];
		for (int i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
		if (strcmp(hex, check + 7)) {
			fprintf(stderr,
				"%s: plaintext sha256 %s, expected %s\n", where,
				hex, check + 7);
			check_failures++;
		}
		return;
	}
	CHECK(!strncmp(check, "has:", 4));
	char *list = strdup(check + 4), *save = NULL;
	for (char *t = strtok_r(list, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		size_t n;
		unsigned char *want = b64(t, &n);
		if (!memmem(sbuf_str(out), out->len, want, n)) {
			fprintf(stderr, "%s: plaintext lacks \"%.*s\"\n", where,
				(int)n, want);
			check_failures++;
		}
		free(want);
	}
	free(list);
}

static void test_vectors(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/config.yaml", dir);
	struct etcd_crypt *c = NULL;
	struct verror e = { 0 };
	int r = etcd_crypt_load(path, &c, &e);
	if (r < 0)
		fprintf(stderr, "load: %s\n", e.msg);
	CHECK_EQ_INT(r, 0);
	snprintf(path, sizeof(path), "%s/vectors.txt", dir);
	size_t len;
	char *text = slurp(path, &len);
	CHECK(text != NULL);
	if (!text || !c)
		return;
	int lineno = 0, ran = 0, server = 0;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (l[0] == '#') {
			if (strstr(l, "written by kube-apiserver"))
				server = 1;
			continue;
		}
		char expect[16], gr[128], key[512], val[65536], check[4096];
		if (sscanf(l, "%15s %127s %511s %65535s %4095s", expect, gr,
			   key, val, check) != 5) {
			fprintf(stderr, "vectors.txt:%d: bad line\n", lineno);
			check_failures++;
			continue;
		}
		size_t vn;
		unsigned char *v = b64(val, &vn);
		struct sbuf out;
		sbuf_init(&out, 0);
		struct verror de = { 0 };
		r = etcd_crypt_decrypt(c, key, strlen(key),
				       strcmp(gr, "-") ? gr : NULL, v, vn, &out,
				       &de);
		char where[64];
		snprintf(where, sizeof(where), "vectors.txt:%d", lineno);
		if (r != err_of(expect)) {
			fprintf(stderr, "%s: got %d (%s), expected %s\n", where,
				r, de.msg, expect);
			check_failures++;
		} else if (r == 0) {
			check_plain(check, &out, where);
		} else {
			CHECK(de.msg[0] != '\0');
			CHECK(out.len == 0);
		}
		/* the same value with no configuration: a key is missing */
		if (etcd_value_encrypted(v, vn) && r != -EOPNOTSUPP &&
		    r != -EINVAL) {
			struct sbuf o2;
			sbuf_init(&o2, 0);
			CHECK_EQ_INT(etcd_crypt_decrypt(NULL, key, strlen(key),
							NULL, v, vn, &o2, &de),
				     -ENOKEY);
			CHECK(strstr(de.msg, "encryption-config") != NULL);
			sbuf_release(&o2);
		}
		sbuf_release(&out);
		free(v);
		ran++;
	}
	CHECK(ran >= 20);
	if (!server)
		fprintf(stderr, "note: vectors.txt has no kube-apiserver "
				"values (regen.py --server)\n");
	free(text);
	etcd_crypt_free(c);
}

static int parse(const char *s, struct verror *e)
{
	struct etcd_crypt *c = NULL;
	int r = etcd_crypt_parse(s, strlen(s), &c, e);
	CHECK((r == 0) == (c != NULL));
	etcd_crypt_free(c);
	return r;
}

static void test_config(void)
{
	struct verror e = { 0 };
	/* JSON, as the harness writes it */
	CHECK_EQ_INT(parse("{\"apiVersion\":\"apiserver.config.k8s.io/"
			   "v1\",\"kind\":"
			   "\"EncryptionConfiguration\",\"resources\":[{"
			   "\"resources\":"
			   "[\"secrets\",\"*.apps\"],\"providers\":[{"
			   "\"aesgcm\":{"
			   "\"keys\":[{\"name\":\"k\",\"secret\":"
			   "\"AAAAAAAAAAAAAAAAAAAAAA==\"}]}},{\"identity\":{}}]"
			   "}]}",
			   &e),
		     0);
	/* kms v1 and v2, identity only */
	CHECK_EQ_INT(parse("apiVersion: apiserver.config.k8s.io/v1\n"
			   "kind: EncryptionConfiguration\n"
			   "resources:\n- resources: ['*.*']\n  providers:\n"
			   "  - kms: {apiVersion: v2, name: a, endpoint: "
			   "unix:///x}\n  - kms: {name: b}\n  - identity: {}\n",
			   &e),
		     0);
	/* the legacy form kube-apiserver still reads */
	CHECK_EQ_INT(parse("kind: EncryptionConfig\napiVersion: v1\n"
			   "resources:\n- resources: [secrets]\n  providers:\n"
			   "  - identity: {}\n",
			   &e),
		     0);
	CHECK_EQ_INT(parse("kind: EncryptionConfiguration\napiVersion: v1\n"
			   "resources: []\n",
			   &e),
		     -EINVAL);
	CHECK_EQ_INT(parse("kind: EncryptionConfiguration\n"
			   "apiVersion: apiserver.config.k8s.io/v1beta1\n"
			   "resources: []\n",
			   &e),
		     -EINVAL);
	CHECK(strstr(e.msg, "apiserver.config.k8s.io/v1 expected") != NULL);
	CHECK_EQ_INT(parse("kind: Config\napiVersion: v1\n", &e), -EINVAL);
	CHECK(strstr(e.msg, "not an EncryptionConfiguration") != NULL);
	CHECK_EQ_INT(parse("kind: EncryptionConfiguration\n"
			   "apiVersion: apiserver.config.k8s.io/v2\n"
			   "resources: []\n",
			   &e),
		     -EINVAL);
	CHECK_EQ_INT(parse("kind: EncryptionConfiguration\n"
			   "apiVersion: apiserver.config.k8s.io/v1\n"
			   "resources:\n- resources: [secrets]\n  providers:\n"
			   "  - secretbox: {keys: [{name: k, secret: "
			   "AAAAAAAAAAAAAAAAAAAAAA==}]}\n",
			   &e),
		     -EINVAL);
	CHECK(strstr(e.msg, "32 bytes") != NULL);
	CHECK_EQ_INT(parse("kind: EncryptionConfiguration\n"
			   "apiVersion: apiserver.config.k8s.io/v1\n"
			   "resources:\n- resources: [secrets]\n  providers:\n"
			   "  - aescbc: {keys: [{name: k, secret: '!!'}]}\n",
			   &e),
		     -EINVAL);
	CHECK(strstr(e.msg, "not base64") != NULL);
	CHECK_EQ_INT(parse("kind: EncryptionConfiguration\n"
			   "apiVersion: apiserver.config.k8s.io/v1\n"
			   "resources:\n- resources: [secrets]\n  providers:\n"
			   "  - aescbc: {keys: []}\n",
			   &e),
		     -EINVAL);
	CHECK_EQ_INT(parse("kind: EncryptionConfiguration\n"
			   "apiVersion: apiserver.config.k8s.io/v1\n"
			   "resources:\n- resources: [secrets]\n  providers:\n"
			   "  - rot13: {}\n",
			   &e),
		     -EINVAL);
	CHECK(strstr(e.msg, "no known provider") != NULL);
	CHECK_EQ_INT(parse("kind: [\n", &e), -EINVAL);
	CHECK_EQ_INT(parse("", &e), -EINVAL);
	struct etcd_crypt *c = NULL;
	CHECK_EQ_INT(etcd_crypt_load("/nonexistent/enc.yaml", &c, &e), -ENOENT);
	CHECK(strstr(e.msg, "/nonexistent/enc.yaml") != NULL);
}

/* A resource's own entry is tried before the others: two aescbc keys of
 * the same name, one per resource. */
static void test_per_resource(void)
{
	const char *cfg = "kind: EncryptionConfiguration\n"
			  "apiVersion: apiserver.config.k8s.io/v1\n"
			  "resources:\n"
			  "- resources: [secrets]\n  providers:\n"
			  "  - secretbox: {keys: [{name: k, secret: "
			  "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=}]}\n"
			  "- resources: ['*.velerofs.test']\n  providers:\n"
			  "  - secretbox: {keys: [{name: k, secret: "
			  "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=}]}\n";
	struct etcd_crypt *c = NULL;
	struct verror e = { 0 };
	CHECK_EQ_INT(etcd_crypt_parse(cfg, strlen(cfg), &c, &e), 0);
	if (!c)
		return;
	/* NaCl's vector: key 0x01 * 32, nonce 0x02 * 24, 64 bytes of 0x03 */
	static const char box[] = "8442bc313f4626f1359e3b50122b6ce6fe66ddfe7d39"
				  "d14e637eb4fd5b45be"
				  "adab55198df6ab5368439792a23c87db70acb6156dc5"
				  "ef957ac04f6276cf60"
				  "93b84be77ff0849cc33e34b7254d5a8f65ad";
	unsigned char v[200];
	size_t n = strlen("k8s:enc:secretbox:v1:k:");
	memcpy(v, "k8s:enc:secretbox:v1:k:", n);
	memset(v + n, 2, 24);
	n += 24;
	for (size_t i = 0; i < strlen(box) / 2; i++) {
		unsigned x;
		sscanf(box + 2 * i, "%2x", &x);
		v[n++] = (unsigned char)x;
	}
	const char *grs[] = { "secrets", "things.velerofs.test", NULL };
	for (size_t i = 0; i < 3; i++) {
		struct sbuf out;
		sbuf_init(&out, 0);
		CHECK_EQ_INT(etcd_crypt_decrypt(c, "/k", 2, grs[i], v, n, &out,
						&e),
			     0);
		CHECK_EQ_INT(out.len, 64);
		CHECK(out.len == 64 && out.buf[0] == 3 && out.buf[63] == 3);
		sbuf_release(&out);
	}
	/* a cap too small: -E2BIG, not a crash */
	struct sbuf small;
	sbuf_init(&small, 16);
	CHECK_EQ_INT(etcd_crypt_decrypt(c, "/k", 2, NULL, v, n, &small, &e),
		     -E2BIG);
	sbuf_release(&small);
	etcd_crypt_free(c);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s DATA_DIR\n", argv[0]);
		return 2;
	}
	test_config();
	test_per_resource();
	test_vectors(argv[1]);
	return check_status();
}
