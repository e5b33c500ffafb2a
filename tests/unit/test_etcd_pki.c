/* test_etcd_pki: certificates.txt of tests/data/etcd-pki/pki (regen.py: a
 * kubeadm-style PKI directory with fixed dates, plus broken files),
 * compared with tests/data/etcd-pki/expected.txt; the facts an auditor
 * needs are also checked one by one. VELEROFS_UPDATE_GOLDEN=1 rewrites
 * expected.txt. argv[1]: tests/data/etcd-pki. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "common/sbuf.h"
#include "etcd/etcd.h"

#define NOW 1796169600 /* 2026-12-02T00:00:00Z */

struct files {
	struct etcd_pki_file f[64];
	size_t n;
};

static char *slurp(const char *path, size_t *len)
{
	struct sbuf b;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;
	char *p;

	if (fd < 0)
		return NULL;
	sbuf_init(&b, 0);
	r = sbuf_read_fd(&b, fd);
	close(fd);
	if (r < 0) {
		sbuf_release(&b);
		return NULL;
	}
	p = sbuf_take(&b, len);
	return p ? p : calloc(1, 1);
}

static void walk(const char *root, const char *rel, struct files *fs)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	DIR *d = opendir(path);
	CHECK(d != NULL);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char r2[1024], p2[4096];
		snprintf(r2, sizeof(r2), "%s%s%s", rel, *rel ? "/" : "",
			 de->d_name);
		snprintf(p2, sizeof(p2), "%s/%s", root, r2);
		struct stat st;
		if (stat(p2, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			walk(root, r2, fs);
		} else if (fs->n < 64) {
			struct etcd_pki_file *f = &fs->f[fs->n++];
			f->name = strdup(r2);
			f->data = slurp(p2, &f->len);
		}
	}
	closedir(d);
}

static const struct etcd_pki_file *find(const struct files *fs,
					const char *name)
{
	for (size_t i = 0; i < fs->n; i++)
		if (!strcmp(fs->f[i].name, name))
			return &fs->f[i];
	return NULL;
}

/* The section of the report about file name (up to the next blank line). */
static char *section(const char *text, const char *name)
{
	char head[256];
	snprintf(head, sizeof(head), "\n\n%s (", name);
	const char *p = strstr(text, head);
	if (!p)
		return strdup("");
	p += 2;
	const char *q = strstr(p, "\n\n");
	return strndup(p, q ? (size_t)(q - p) : strlen(p));
}

#define HAS(sec, s)                                                     \
	do {                                                            \
		if (!strstr(sec, s)) {                                  \
			fprintf(stderr, "%s:%d: no \"%s\" in:\n%s\n",   \
				__FILE__, __LINE__, s, sec ? sec : ""); \
			check_failures++;                               \
		}                                                       \
	} while (0)

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s DATA_DIR\n", argv[0]);
		return 2;
	}
	char pki[4096], golden[4096];
	snprintf(pki, sizeof(pki), "%s/pki", argv[1]);
	snprintf(golden, sizeof(golden), "%s/expected.txt", argv[1]);
	struct files fs = { 0 };
	walk(pki, "", &fs);
	CHECK(fs.n >= 20);

	struct sbuf out;
	sbuf_init(&out, 0);
	struct verror e = { 0 };
	CHECK_EQ_INT(etcd_pki_report(fs.f, fs.n, NOW, &out, &e), 0);
	const char *t = sbuf_str(&out);
	/* days left are counted from the snapshot's time, said so: the text
	 * depends on nothing else (it is cached) */
	CHECK(strstr(t, "# days left: whole days from 2026-12-02T00:00:00Z "
			"(the snapshot's time)") != NULL);
	CHECK(strstr(t, "as of") == NULL);

	/* private keys: by content */
	const char *priv[] = { "ca.key",	"apiserver.key",
			       "sa.key",	"etcd/server.key",
			       "encrypted.key", "front-proxy-client.key",
			       "etcd/ca.key",	"apiserver-etcd-client.key" };
	for (size_t i = 0; i < sizeof(priv) / sizeof(*priv); i++) {
		const struct etcd_pki_file *f = find(&fs, priv[i]);
		CHECK(f && f->private_key);
	}
	const char *pub[] = { "ca.crt",	 "sa.pub",    "bundle.crt",
			      "bad.crt", "empty.crt", "README.txt" };
	for (size_t i = 0; i < sizeof(pub) / sizeof(*pub); i++) {
		const struct etcd_pki_file *f = find(&fs, pub[i]);
		CHECK(f && !f->private_key);
	}

	char *s = section(t, "apiserver.crt");
	HAS(s, "subject:     CN=kube-apiserver\n");
	HAS(s, "issuer:      CN=kubernetes\n");
	HAS(s, "serial:      2002\n");
	HAS(s, "not before:  2026-01-01T00:00:00Z\n");
	HAS(s, "not after:   2027-01-01T00:00:00Z\n");
	HAS(s, "days left:   30 at 2026-12-02T00:00:00Z\n");
	HAS(s, "SANs:        DNS:kubernetes, DNS:kubernetes.default, "
	       "DNS:kubernetes.default.svc, "
	       "DNS:kubernetes.default.svc.cluster.local, DNS:cp-1, "
	       "IP:10.96.0.1, IP:192.0.2.10\n");
	HAS(s, "key:         RSA 2048\n");
	HAS(s, "CA:          no\n");
	HAS(s, "TLS Web Server Authentication");
	HAS(s, "issued by:   bundle.crt, ca.crt (signature verified)\n");
	HAS(s, "key file:    apiserver.key");
	free(s);
	s = section(t, "apiserver.key");
	HAS(s, "certificate: apiserver.crt, bundle.crt");
	free(s);
	s = section(t, "ca.crt");
	HAS(s, "(self-signed)");
	HAS(s, "CA:          yes\n");
	HAS(s, "days left:   3317 at 2026-12-02T00:00:00Z\n");
	free(s);
	s = section(t, "apiserver-kubelet-client.crt");
	HAS(s, "subject:     O=kubeadm:cluster-admins, "
	       "CN=kube-apiserver-kubelet-client\n");
	HAS(s, "days left:   -31 at 2026-12-02T00:00:00Z (EXPIRED then)\n");
	free(s);
	s = section(t, "front-proxy-ca.crt");
	HAS(s, "key:         Ed25519\n");
	HAS(s, "CA:          yes (path length 0)\n");
	free(s);
	s = section(t, "etcd/server.crt");
	HAS(s, "key:         ECDSA 384 (secp384r1)\n");
	HAS(s, "IP:127.0.0.1, IP:0:0:0:0:0:0:0:1, IP:2001:db8:0:0:0:0:0:10");
	free(s);
	s = section(t, "sa.key");
	HAS(s, "private key: RSA 2048");
	free(s);
	s = section(t, "sa.pub");
	HAS(s, "public key:  RSA 2048\n    private key: sa.key");
	free(s);
	s = section(t, "etcd/server.crt");
	HAS(s, "issued by:   etcd/ca.crt (signature verified)\n");
	free(s);
	/* a certificate alone: its issuer and key are not here */
	const struct etcd_pki_file *alone = find(&fs, "apiserver.crt");
	if (alone) {
		struct etcd_pki_file one = *alone;
		struct sbuf r1;
		sbuf_init(&r1, 0);
		CHECK_EQ_INT(etcd_pki_report(&one, 1, NOW, &r1, &e), 0);
		HAS(sbuf_str(&r1), "issued by:   no file here");
		CHECK(strstr(sbuf_str(&r1), "key file:") == NULL);
		sbuf_release(&r1);
	}
	s = section(t, "etcd/ca.key");
	HAS(s, "private key: ECDSA 256 (prime256v1)");
	free(s);
	s = section(t, "encrypted.key");
	HAS(s, "private key (encrypted");
	free(s);
	s = section(t, "bundle.crt");
	HAS(s, "certificate 2\n");
	free(s);
	s = section(t, "bad.crt");
	HAS(s, "bad PEM");
	free(s);
	s = section(t, "truncated.crt");
	HAS(s, "bad PEM");
	free(s);
	s = section(t, "empty.crt");
	HAS(s, "empty file");
	free(s);
	s = section(t, "README.txt");
	HAS(s, "not PEM");
	free(s);
	/* hostile names: escaped (OpenSSL's RFC 2253 escapes in names,
	 * ours in SANs), one line */
	s = section(t, "evil.crt");
	HAS(s, "subject:     CN=evil\\0ACN=\\1B[31mroot\n");
	HAS(s, "DNS:x\\ny.example");
	free(s);
	/* summary: soonest expiry first */
	const char *a = strstr(t, "apiserver-kubelet-client.crt");
	const char *b = strstr(t, "front-proxy-client.crt");
	const char *c = strstr(t, "etcd/ca.crt");
	CHECK(a && b && c && a < b && b < c);

	if (getenv("VELEROFS_UPDATE_GOLDEN")) {
		FILE *g = fopen(golden, "w");
		CHECK(g != NULL);
		if (g) {
			fwrite(out.buf, 1, out.len, g);
			fclose(g);
		}
	} else {
		size_t gl = 0;
		char *want = slurp(golden, &gl);
		CHECK(want != NULL);
		if (want && (gl != out.len || memcmp(want, out.buf, gl))) {
			fprintf(stderr,
				"certificates.txt differs from %s "
				"(VELEROFS_UPDATE_GOLDEN=1 rewrites "
				"it):\n%s\n",
				golden, t);
			check_failures++;
		}
		free(want);
	}

	/* a cap too small: -E2BIG, not a crash */
	struct sbuf small;
	sbuf_init(&small, 100);
	CHECK_EQ_INT(etcd_pki_report(fs.f, fs.n, NOW, &small, &e), -E2BIG);
	sbuf_release(&small);
	/* a bundle of 600 certificates: 512 described, the rest said */
	const struct etcd_pki_file *ca = find(&fs, "ca.crt");
	if (ca) {
		struct sbuf big, rep;
		sbuf_init(&big, 0);
		sbuf_init(&rep, 0);
		for (int i = 0; i < 600; i++)
			sbuf_add(&big, ca->data, ca->len);
		struct etcd_pki_file bf = { .name = "ca-bundle.crt",
					    .data = big.buf,
					    .len = big.len };
		CHECK_EQ_INT(etcd_pki_report(&bf, 1, NOW, &rep, &e), 0);
		CHECK(strstr(sbuf_str(&rep), "certificate 512\n") != NULL);
		CHECK(strstr(sbuf_str(&rep), "certificate 513\n") == NULL);
		CHECK(strstr(sbuf_str(&rep), "(more than 512 PEM blocks") !=
		      NULL);
		sbuf_release(&big);
		sbuf_release(&rep);
	}
	/* no files */
	struct sbuf none;
	sbuf_init(&none, 0);
	CHECK_EQ_INT(etcd_pki_report(NULL, 0, NOW, &none, &e), 0);
	CHECK(strstr(sbuf_str(&none), "0 files") != NULL);
	sbuf_release(&none);

	for (size_t i = 0; i < fs.n; i++) {
		free((char *)fs.f[i].name);
		free((void *)fs.f[i].data);
	}
	sbuf_release(&out);
	return check_status();
}
