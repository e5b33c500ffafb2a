/* base64: encoding and decoding (see base64.h). */
#include <errno.h>
#include <stdint.h>

#include "common/base64.h"

static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			  "abcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encode(const void *p, size_t n, char *out)
{
	const unsigned char *in = p;
	char *o = out;
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
			     in[i + 2];

		*o++ = tab[v >> 18];
		*o++ = tab[(v >> 12) & 63];
		*o++ = tab[(v >> 6) & 63];
		*o++ = tab[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		*o++ = tab[v >> 18];
		*o++ = tab[(v >> 12) & 63];
		*o++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return (size_t)(o - out);
}

static int value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long base64_decode(const char *s, size_t len, unsigned flags,
		   unsigned char *out, size_t max)
{
	const int strict = !!(flags & BASE64_STRICT);
	uint32_t acc = 0;
	size_t n = 0, i, pad = 0;
	int bits = 0;

	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		int v;

		if (!strict &&
		    (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t'))
			continue;
		if (ch == '=') {
			pad++;
			continue;
		}
		v = value(ch);
		if (v < 0 || pad)
			return -EINVAL;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == max)
				return -E2BIG;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	/* a lone 6-bit group or more than two '=' is not base64 */
	if (bits >= 6 || pad > 2)
		return -EINVAL;
	if (strict && len % 4)
		return -EINVAL;
	return (long)n;
}
