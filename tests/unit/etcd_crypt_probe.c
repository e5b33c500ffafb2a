/* etcd-crypt-probe: decrypts stored values with an EncryptionConfiguration,
 * for tests/test_etcd_population.py (values read from the test cluster's
 * etcd) and by hand.
 *
 *   etcd-crypt-probe CONFIG < lines
 *
 * Each input line: <etcd key> TAB <resource or -> TAB <value, base64>.
 * Each output line: <etcd key> TAB ok TAB <plaintext, base64>, or
 * <etcd key> TAB <errno name> TAB <message>. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/sbuf.h"
#include "etcd/etcd.h"

static const char *errname(int r)
{
	switch (-r) {
	case ENOKEY:
		return "ENOKEY";
	case EBADMSG:
		return "EBADMSG";
	case EOPNOTSUPP:
		return "EOPNOTSUPP";
	case EINVAL:
		return "EINVAL";
	default:
		return "EOTHER";
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CONFIG < key<TAB>gr<TAB>b64 lines\n",
			argv[0]);
		return 2;
	}
	struct etcd_crypt *c = NULL;
	struct verror e = { 0 };
	if (etcd_crypt_load(argv[1], &c, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	struct sbuf out;
	sbuf_init(&out, 0);
	while ((n = getline(&line, &cap, stdin)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		char *t1 = strchr(line, '\t'),
		     *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		if (!t2) {
			fprintf(stderr, "bad line\n");
			return 1;
		}
		*t1 = *t2 = '\0';
		const char *gr = strcmp(t1 + 1, "-") ? t1 + 1 : NULL;
		size_t bl = strlen(t2 + 1);
		unsigned char *v = malloc(bl / 4 * 3 + 4);
		long vn = v ? base64_decode(t2 + 1, bl, 0, v, bl / 4 * 3 + 3) :
			      -ENOMEM;
		if (vn < 0) {
			fprintf(stderr, "bad base64\n");
			return 1;
		}
		sbuf_reset(&out);
		verror_clear(&e);
		int r = etcd_crypt_decrypt(c, line, strlen(line), gr, v,
					   (size_t)vn, &out, &e);
		if (r == 0) {
			char *b = malloc(BASE64_LEN(out.len) + 1);
			base64_encode(out.buf ? out.buf : "", out.len, b);
			printf("%s\tok\t%s\n", line, b);
			free(b);
		} else {
			printf("%s\t%s\t%s\n", line, errname(r), e.msg);
		}
		free(v);
	}
	free(line);
	sbuf_release(&out);
	etcd_crypt_free(c);
	return 0;
}
