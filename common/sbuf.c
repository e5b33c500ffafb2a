/* sbuf: growable, capped byte buffer. See sbuf.h. */
#include "common/sbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

void sbuf_init(struct sbuf *b, size_t max)
{
	b->buf = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max ? max : SBUF_DEFAULT_MAX;
}

void sbuf_release(struct sbuf *b)
{
	free(b->buf);
	b->buf = NULL;
	b->len = b->cap = 0;
}

void sbuf_reset(struct sbuf *b)
{
	b->len = 0;
	if (b->buf)
		b->buf[0] = '\0';
}

static int sbuf_grow(struct sbuf *b, size_t n)
{
	size_t need, ncap;
	char *p;

	if (n > b->max || b->len > b->max - n)
		return -E2BIG;
	need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	p = realloc(b->buf, ncap);
	if (!p)
		return -ENOMEM;
	b->buf = p;
	b->cap = ncap;
	return 0;
}

int sbuf_add(struct sbuf *b, const void *p, size_t n)
{
	int r = sbuf_grow(b, n);

	if (r < 0)
		return r;
	if (n)
		memcpy(b->buf + b->len, p, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return 0;
}

int sbuf_adds(struct sbuf *b, const char *s)
{
	return sbuf_add(b, s, strlen(s));
}

int sbuf_addc(struct sbuf *b, char c)
{
	if (_likely_(b->len + 1 < b->cap)) {
		b->buf[b->len++] = c;
		b->buf[b->len] = '\0';
		return 0;
	}
	return sbuf_add(b, &c, 1);
}

int sbuf_addn(struct sbuf *b, char c, size_t n)
{
	int r = sbuf_grow(b, n);

	if (r < 0)
		return r;
	memset(b->buf + b->len, c, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return 0;
}

int sbuf_add_escaped(struct sbuf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, start = 0, need = 0;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		unsigned char c = u[i];

		if (need > 0 && c >= 0x80 && c <= 0xbf) {
			need--; /* inside a UTF-8 sequence */
			continue;
		}
		need = 0;
		if (c >= 0x20 && c < 0x7f)
			continue;
		if (c >= 0xc2 && c <= 0xf4 &&
		    !(c == 0xc2 && i + 1 < n && u[i + 1] <= 0x9f)) {
			need = c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;
			continue;
		}
		r = sbuf_add(b, s + start, i - start);
		if (r < 0)
			break;
		if (c == 0xc2 && i + 1 < n && u[i + 1] >= 0x80)
			r = sbuf_addf(b, "\\u00%02x", u[++i]); /* C1 */
		else if (c == '\n')
			r = sbuf_adds(b, "\\n");
		else if (c == '\t')
			r = sbuf_adds(b, "\\t");
		else if (c == '\r')
			r = sbuf_adds(b, "\\r");
		else
			r = sbuf_addf(b, "\\x%02x", c);
		start = i + 1;
	}
	return r < 0 ? r : sbuf_add(b, s + start, n - start);
}

int sbuf_vaddf(struct sbuf *b, const char *fmt, va_list ap)
{
	va_list aq;
	int n, r;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return -EINVAL;
	r = sbuf_grow(b, (size_t)n);
	if (r < 0)
		return r;
	vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int sbuf_addf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = sbuf_vaddf(b, fmt, ap);
	va_end(ap);
	return r;
}

char *sbuf_reserve(struct sbuf *b, size_t n, int *r)
{
	*r = sbuf_grow(b, n);
	if (*r < 0)
		return NULL;
	return b->buf + b->len;
}

void sbuf_commit(struct sbuf *b, size_t n)
{
	b->len += n;
	b->buf[b->len] = '\0';
}

char *sbuf_take(struct sbuf *b, size_t *len)
{
	char *p;

	if (!b->buf && sbuf_grow(b, 0) < 0)
		return NULL;
	p = b->buf;
	if (len)
		*len = b->len;
	b->buf = NULL;
	b->len = b->cap = 0;
	return p;
}

int sbuf_read_fd(struct sbuf *b, int fd)
{
	size_t start = b->len;
	int r = 0;

	for (;;) {
		size_t want = b->max - b->len < 65536 ? b->max - b->len : 65536;
		char probe, *p = &probe;
		ssize_t n;

		/* at the cap, a one-byte read tells the end from too much */
		if (want > 0 && !(p = sbuf_reserve(b, want, &r)))
			break;
		n = read(fd, p, want ? want : 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		if (want == 0) {
			r = -E2BIG;
			break;
		}
		sbuf_commit(b, (size_t)n);
	}
	if (r < 0) {
		b->len = start;
		if (b->buf)
			b->buf[start] = '\0';
	}
	return r;
}
