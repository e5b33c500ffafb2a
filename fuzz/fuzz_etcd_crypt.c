/* fuzz_etcd_crypt: etcd/crypt.c. First byte even: the rest is an
 * EncryptionConfiguration (YAML or JSON, etcd_crypt_parse()); when it
 * loads, a few values are decrypted with it. First byte odd: the rest is
 * a stored value, decrypted with a fixed configuration that has aescbc,
 * aesgcm and secretbox keys (names "a", "g", "s"), with and without a
 * resource. Checks: a decrypted value is shorter than the stored one, and
 * a failure leaves the output empty with a message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd/crypt_i.h"

static struct etcd_crypt *fixed;

static const char fixed_cfg[] =
	"{\"apiVersion\":\"apiserver.config.k8s.io/v1\",\"kind\":"
	"\"EncryptionConfiguration\",\"resources\":["
	"{\"resources\":[\"secrets\"],\"providers\":[{\"aescbc\":{\"keys\":"
	"[{\"name\":\"a\",\"secret\":\"AAECAwQFBgcICQoLDA0ODw==\"}]}},"
	"{\"identity\":{}}]},"
	"{\"resources\":[\"*.apps\"],\"providers\":[{\"aesgcm\":{\"keys\":"
	"[{\"name\":\"g\",\"secret\":\"AAECAwQFBgcICQoLDA0ODw==\"}]}}]},"
	"{\"resources\":[\"*.*\"],\"providers\":[{\"secretbox\":{\"keys\":"
	"[{\"name\":\"s\",\"secret\":"
	"\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"}]}},"
	"{\"kms\":{\"name\":\"k\",\"apiVersion\":\"v2\"}}]}]}";

static void decrypt(const struct etcd_crypt *c, const char *gr,
		    const uint8_t *v, size_t n)
{
	struct sbuf out;
	struct verror e = { 0 };
	sbuf_init(&out, 1 << 20);
	int r = etcd_crypt_decrypt(c, "/registry/secrets/ns/x", 22, gr, v, n,
				   &out, &e);
	if (r == 0 && out.len >= n)
		abort();
	if (r < 0 && (out.len != 0 || e.msg[0] == '\0'))
		abort();
	sbuf_release(&out);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (etcd_crypt_parse(fixed_cfg, strlen(fixed_cfg), &fixed, NULL) < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1) {
		decrypt(fixed, NULL, data + 1, size - 1);
		decrypt(fixed, "secrets", data + 1, size - 1);
		decrypt(fixed, "deployments.apps", data + 1, size - 1);
		decrypt(NULL, NULL, data + 1, size - 1);
		return 0;
	}
	struct etcd_crypt *c = NULL;
	if (etcd_crypt_parse(data + 1, size - 1, &c, NULL) == 0) {
		static const char *const vals[] = {
			"k8s:enc:aescbc:v1:a:0123456789abcdef0123456789abcdef",
			"k8s:enc:aesgcm:v1:g:0123456789abcdef0123456789abcdef",
			"k8s:enc:secretbox:v1:s:0123456789abcdef0123456789ab",
			"k8s:enc:kms:v2:k:xyz",
		};
		for (size_t i = 0; i < sizeof(vals) / sizeof(*vals); i++)
			decrypt(c, "secrets", (const uint8_t *)vals[i],
				strlen(vals[i]));
		etcd_crypt_free(c);
	}
	return 0;
}
