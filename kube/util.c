/* util.c: base64, capped file reads and URL escaping for kube/. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/base64.h"
#include "kube/kube_i.h"

void kube_blob_release(struct kube_blob *b)
{
	if (!b)
		return;
	if (b->data)
		explicit_bzero(b->data, b->len);
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

int kube_base64_decode(const char *in, size_t len, struct kube_blob *out)
{
	unsigned char *d = malloc(len / 4 * 3 + 4);
	long n;

	if (!d)
		return -ENOMEM;
	n = base64_decode(in, len, 0, d, len / 4 * 3 + 3);
	if (n < 0) {
		free(d);
		return (int)n;
	}
	d[n] = '\0';
	out->data = d;
	out->len = (size_t)n;
	return 0;
}

char *kube_base64_encode(const unsigned char *in, size_t len)
{
	char *o = malloc(BASE64_LEN(len) + 1);

	if (o)
		base64_encode(in, len, o);
	return o;
}

int kube_read_file(const char *path, size_t max, struct kube_blob *out)
{
	_cleanup_close_ int fd = -1;
	unsigned char *d;
	struct stat st;
	size_t n = 0, cap;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > max)
		return -E2BIG;
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096;
	d = malloc(cap + 1);
	if (!d)
		return -ENOMEM;
	for (;;) {
		ssize_t k;

		if (n == cap) {
			unsigned char *nd;

			if (cap > max) {
				free(d);
				return -E2BIG;
			}
			cap = MIN(cap * 2, max + 1);
			nd = realloc(d, cap + 1);
			if (!nd) {
				free(d);
				return -ENOMEM;
			}
			d = nd;
		}
		k = read(fd, d + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int r = -errno;

			free(d);
			return r;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	if (n > max) {
		free(d);
		return -E2BIG;
	}
	d[n] = '\0';
	out->data = d;
	out->len = n;
	return 0;
}

int kube_escape(struct sbuf *b, const char *s)
{
	bool dots = !strcmp(s, ".") || !strcmp(s, "..");
	int r = 0;

	for (; *s && r >= 0; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
		    ch == '~' || (ch == '.' && !dots))
			r = sbuf_addc(b, (char)ch);
		else
			r = sbuf_addf(b, "%%%02X", ch);
	}
	return r;
}
