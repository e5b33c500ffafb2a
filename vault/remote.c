/* vault/remote: see remote_i.h. */
#include "vault/remote_i.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "common/macro.h"

static int unhex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int remote_uri_decode(struct sbuf *out, const char *s, size_t n)
{
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -EINVAL;
			hi = unhex((unsigned char)s[i + 1]);
			lo = unhex((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -EINVAL;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '\0') {
			return -EINVAL;
		}
		r = sbuf_addc(out, c);
		if (r < 0)
			return r;
	}
	return 0;
}

int remote_query_get(const char *query, const char *name, char **out)
{
	size_t nlen = strlen(name);
	const char *p = query;

	while (p && *p) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);

		if (len >= nlen && !memcmp(p, name, nlen) &&
		    (len == nlen || p[nlen] == '=')) {
			struct sbuf b;
			const char *v = p + nlen + (len > nlen);
			size_t vlen = len - nlen - (len > nlen);
			size_t i;
			int r;

			sbuf_init(&b, 8192);
			/* '+' is a space in query strings */
			for (i = 0; i < vlen; i++) {
				size_t j = i;

				while (j < vlen && v[j] != '+')
					j++;
				r = remote_uri_decode(&b, v + i, j - i);
				if (r >= 0 && j < vlen)
					r = sbuf_addc(&b, ' ');
				if (r < 0) {
					sbuf_release(&b);
					return r;
				}
				i = j;
			}
			if (sbuf_addc(&b, '\0') < 0) {
				sbuf_release(&b);
				return -ENOMEM;
			}
			*out = sbuf_take(&b, NULL);
			return *out ? 1 : -ENOMEM;
		}
		p = amp ? amp + 1 : NULL;
	}
	return 0;
}

int remote_query_check(const char *query, const char *const *known,
		       const char *vault, struct verror *e)
{
	const char *p = query;

	while (p && *p) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		size_t klen = strcspn(p, "=&");
		const char *const *k;
		bool ok = false;

		if (klen > len)
			klen = len;
		for (k = known; *k; k++)
			if (strlen(*k) == klen && !memcmp(*k, p, klen))
				ok = true;
		if (!ok && len > 0)
			return verror_set(e, -EINVAL,
					  "%s: unknown URL parameter '%.*s'",
					  vault, (int)MIN(klen, (size_t)40), p);
		p = amp ? amp + 1 : NULL;
	}
	return 0;
}

int remote_uri_encode(struct sbuf *out, const char *s, bool keep_slash)
{
	static const char hexd[] = "0123456789ABCDEF";
	int r = 0;

	for (; *s && r >= 0; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '_' || c == '.' ||
		    c == '~' || (c == '/' && keep_slash)) {
			r = sbuf_addc(out, (char)c);
		} else {
			char esc[3] = { '%', hexd[c >> 4], hexd[c & 15] };

			r = sbuf_add(out, esc, 3);
		}
	}
	return r;
}

void remote_sha256(const void *p, size_t n, unsigned char out[32])
{
	SHA256(p, n, out);
}

void remote_hmac_sha256(const void *key, size_t key_len, const void *p,
			size_t n, unsigned char out[32])
{
	unsigned int len = 32;

	HMAC(EVP_sha256(), key, (int)key_len, p, n, out, &len);
}

void remote_hex(const unsigned char *p, size_t n, char *out)
{
	static const char hexd[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hexd[p[i] >> 4];
		out[2 * i + 1] = hexd[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void remote_base64(const unsigned char *p, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
}

int remote_unbase64(const char *s, unsigned char *out, size_t max)
{
	size_t n = strlen(s), pad = 0;
	unsigned char *tmp;
	int len;

	if (n == 0 || n % 4 || n > 4096)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(isalnum(c) || c == '+' || c == '/' ||
		      (c == '=' && i >= n - 2)))
			return -EINVAL;
	}
	if (s[n - 1] == '=')
		pad++;
	if (s[n - 2] == '=')
		pad++;
	tmp = malloc(n);
	if (!tmp)
		return -ENOMEM;
	len = EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)n);
	if (len < 0 || (size_t)len < pad || (size_t)len - pad > max) {
		free(tmp);
		return -EINVAL;
	}
	len -= (int)pad;
	memcpy(out, tmp, (size_t)len);
	free(tmp);
	return len;
}

int64_t remote_parse_time(const char *s)
{
	struct tm tm = { 0 };
	const char *end;

	if (!s || !*s)
		return 0;
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end) {
		if (*end == '.')
			while (isdigit((unsigned char)*++end))
				;
		if (*end == 'Z' || *end == '\0')
			return (int64_t)timegm(&tm);
		return 0;
	}
	{
		time_t t = curl_getdate(s, NULL);

		return t < 0 ? 0 : (int64_t)t;
	}
}

void remote_identity(struct vault_object *o, const char *etag)
{
	char tag[64];
	size_t n;

	if (etag[0] == '"')
		etag++;
	n = strlen(etag);
	if (n && etag[n - 1] == '"')
		n--;
	if (n >= sizeof(tag)) {
		unsigned char h[32];

		remote_sha256(etag, n, h);
		remote_hex(h, 24, tag);
	} else {
		memcpy(tag, etag, n);
		tag[n] = '\0';
	}
	snprintf(o->identity, sizeof(o->identity), "e:%s:%llx", tag,
		 (unsigned long long)o->size);
}

/* --- XML --------------------------------------------------------------- */

#define XML_MAX_DEPTH 16
#define XML_MAX_NAME 64
#define XML_MAX_TEXT 4096

struct xml {
	const char *p, *end;
	char path[XML_MAX_DEPTH * (XML_MAX_NAME + 1) + 1];
	size_t plen[XML_MAX_DEPTH + 1]; /* path length at each depth */
	int depth;
	bool had_child[XML_MAX_DEPTH + 1];
	struct sbuf text;
	const char *why;
};

static int xml_fail(struct xml *x, const char *why)
{
	x->why = why;
	return -EBADMSG;
}

static bool xml_name_char(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':' ||
	       c >= 0x80;
}

static int utf8_put(struct sbuf *b, unsigned long cp)
{
	char u[4];
	size_t n;

	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return -EBADMSG;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | cp >> 12);
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | cp >> 18);
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return sbuf_add(b, u, n);
}

/* Appends the unescaped text [p, q) to x->text. */
static int xml_text(struct xml *x, const char *p, const char *q)
{
	int r = 0;

	while (p < q && r >= 0) {
		if (*p == '\0')
			return xml_fail(x, "NUL byte in text");
		if (*p != '&') {
			const char *amp = memchr(p, '&', (size_t)(q - p));
			const char *stop = amp ? amp : q;

			if (memchr(p, '\0', (size_t)(stop - p)))
				return xml_fail(x, "NUL byte in text");
			r = sbuf_add(&x->text, p, (size_t)(stop - p));
			p = stop;
			continue;
		}
		{
			const char *semi = memchr(p, ';', (size_t)(q - p));
			size_t n;

			if (!semi || semi - p > 12)
				return xml_fail(x, "bad entity");
			n = (size_t)(semi - p - 1);
			if (n == 2 && !memcmp(p + 1, "lt", 2))
				r = sbuf_addc(&x->text, '<');
			else if (n == 2 && !memcmp(p + 1, "gt", 2))
				r = sbuf_addc(&x->text, '>');
			else if (n == 3 && !memcmp(p + 1, "amp", 3))
				r = sbuf_addc(&x->text, '&');
			else if (n == 4 && !memcmp(p + 1, "quot", 4))
				r = sbuf_addc(&x->text, '"');
			else if (n == 4 && !memcmp(p + 1, "apos", 4))
				r = sbuf_addc(&x->text, '\'');
			else if (n >= 2 && p[1] == '#') {
				unsigned long cp = 0;
				bool hex = p[2] == 'x' || p[2] == 'X';
				const char *d = p + 2 + hex;

				if (d == semi)
					return xml_fail(x, "bad entity");
				for (; d < semi; d++) {
					int v = hex ? unhex((unsigned char)*d) :
						      (isdigit((
							       unsigned char)*d) ?
							       *d - '0' :
							       -1);
					if (v < 0)
						return xml_fail(x, "bad "
								   "entity");
					cp = cp * (hex ? 16 : 10) + (unsigned)v;
					if (cp > 0x10FFFF)
						return xml_fail(x, "bad "
								   "entity");
				}
				r = utf8_put(&x->text, cp);
				if (r == -EBADMSG)
					return xml_fail(x, "bad character "
							   "reference");
			} else
				return xml_fail(x, "unknown entity");
			p = semi + 1;
		}
	}
	if (r == -E2BIG)
		return xml_fail(x, "element text too long");
	return r;
}

static int xml_skip_past(struct xml *x, const char *what, const char *why)
{
	const char *q =
		memmem(x->p, (size_t)(x->end - x->p), what, strlen(what));

	if (!q)
		return xml_fail(x, why);
	x->p = q + strlen(what);
	return 0;
}

static int xml_name(struct xml *x, const char **name, size_t *len)
{
	const char *s = x->p;

	while (x->p < x->end && xml_name_char((unsigned char)*x->p))
		x->p++;
	*name = s;
	*len = (size_t)(x->p - s);
	if (*len == 0 || *len > XML_MAX_NAME)
		return xml_fail(x, "bad element name");
	return 0;
}

static int xml_run(struct xml *x, remote_xml_fn fn, void *userdata)
{
	bool root_seen = false;
	int r;

	while (x->p < x->end) {
		const char *lt = memchr(x->p, '<', (size_t)(x->end - x->p));
		const char *stop = lt ? lt : x->end;

		/* character data */
		if (stop > x->p) {
			if (x->depth == 0) {
				const char *c;

				for (c = x->p; c < stop; c++)
					if (!isspace((unsigned char)*c))
						return xml_fail(x, "text "
								   "outside "
								   "the root");
			} else {
				r = xml_text(x, x->p, stop);
				if (r < 0)
					return r;
			}
		}
		if (!lt)
			break;
		x->p = lt + 1;
		if (x->p >= x->end)
			return xml_fail(x, "truncated");
		if (*x->p == '?') {
			r = xml_skip_past(x, "?>", "truncated");
		} else if (x->end - x->p >= 3 && !memcmp(x->p, "!--", 3)) {
			r = xml_skip_past(x, "-->", "truncated comment");
		} else if (x->end - x->p >= 8 && !memcmp(x->p, "![CDATA[", 8)) {
			const char *s = x->p + 8, *q;

			if (x->depth == 0)
				return xml_fail(x, "CDATA outside the root");
			q = memmem(s, (size_t)(x->end - s), "]]>", 3);
			if (!q)
				return xml_fail(x, "truncated CDATA");
			if (memchr(s, '\0', (size_t)(q - s)))
				return xml_fail(x, "NUL byte in text");
			r = sbuf_add(&x->text, s, (size_t)(q - s));
			if (r == -E2BIG)
				return xml_fail(x, "element text too long");
			x->p = q + 3;
		} else if (*x->p == '!') {
			return xml_fail(x, "DOCTYPE and declarations are "
					   "refused");
		} else if (*x->p == '/') {
			const char *name;
			size_t len;
			int d = x->depth;

			x->p++;
			r = xml_name(x, &name, &len);
			if (r < 0)
				return r;
			if (d == 0 ||
			    x->plen[d] - x->plen[d - 1] - (d > 1) != len ||
			    memcmp(x->path + x->plen[d] - len, name, len))
				return xml_fail(x, "mismatched end tag");
			while (x->p < x->end && isspace((unsigned char)*x->p))
				x->p++;
			if (x->p >= x->end || *x->p != '>')
				return xml_fail(x, "truncated");
			x->p++;
			r = fn(REMOTE_XML_END, x->path,
			       x->had_child[d] ? NULL : sbuf_str(&x->text),
			       userdata);
			if (r < 0)
				return r;
			sbuf_reset(&x->text);
			x->depth--;
			x->path[x->plen[x->depth]] = '\0';
			r = 0;
		} else {
			const char *name;
			size_t len;
			bool empty = false;
			int d;

			r = xml_name(x, &name, &len);
			if (r < 0)
				return r;
			/* attributes are skipped, quotes respected */
			while (x->p < x->end && *x->p != '>') {
				if (*x->p == '"' || *x->p == '\'') {
					const char *q = memchr(
						x->p + 1, *x->p,
						(size_t)(x->end - x->p - 1));
					if (!q)
						return xml_fail(x, "truncated");
					x->p = q;
				} else if (*x->p == '<') {
					return xml_fail(x, "'<' in a tag");
				}
				x->p++;
			}
			if (x->p >= x->end)
				return xml_fail(x, "truncated");
			empty = x->p[-1] == '/';
			x->p++;
			if (x->depth == 0 && root_seen)
				return xml_fail(x, "two root elements");
			if (x->depth >= XML_MAX_DEPTH)
				return xml_fail(x, "nested too deeply");
			root_seen = true;
			x->had_child[x->depth] = true;
			sbuf_reset(&x->text);
			d = ++x->depth;
			x->had_child[d] = false;
			{
				size_t at = x->plen[d - 1];

				if (d > 1)
					x->path[at++] = '/';
				memcpy(x->path + at, name, len);
				x->plen[d] = at + len;
				x->path[x->plen[d]] = '\0';
			}
			r = fn(REMOTE_XML_START, x->path, NULL, userdata);
			if (r < 0)
				return r;
			if (empty) {
				r = fn(REMOTE_XML_END, x->path, "", userdata);
				if (r < 0)
					return r;
				x->depth--;
				x->path[x->plen[x->depth]] = '\0';
			}
		}
		if (r < 0)
			return r;
	}
	if (x->depth != 0 || !root_seen)
		return xml_fail(x, "truncated document");
	return 0;
}

int remote_xml_parse(const char *p, size_t n, remote_xml_fn fn, void *userdata,
		     struct verror *e)
{
	struct xml x = { .p = p, .end = p + n };
	int r;

	/* a UTF-8 byte order mark is allowed */
	if (n >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
		x.p += 3;
	sbuf_init(&x.text, XML_MAX_TEXT);
	r = xml_run(&x, fn, userdata);
	sbuf_release(&x.text);
	if (r == -EBADMSG && x.why)
		return verror_set(e, r, "malformed XML at byte %zu: %s",
				  (size_t)(x.p - p), x.why);
	return r;
}

struct xml_err {
	char *code, *msg;
	size_t code_size, msg_size;
};

static int on_err_elem(enum remote_xml_event ev, const char *path,
		       const char *text, void *userdata)
{
	struct xml_err *xe = userdata;

	if (ev != REMOTE_XML_END || !text)
		return 0;
	if (!strcmp(path, "Error/Code"))
		snprintf(xe->code, xe->code_size, "%s", text);
	else if (!strcmp(path, "Error/Message"))
		snprintf(xe->msg, xe->msg_size, "%.*s",
			 (int)strcspn(text, "\r\n"), text);
	return 0;
}

void remote_xml_error(const char *p, size_t n, char *code, size_t code_size,
		      char *msg, size_t msg_size)
{
	struct xml_err xe = { code, msg, code_size, msg_size };

	code[0] = msg[0] = '\0';
	if (p && n)
		(void)remote_xml_parse(p, n, on_err_elem, &xe, NULL);
}

/* --- credential files -------------------------------------------------- */

#define CRED_FILE_MAX ((size_t)1 << 20)

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

int remote_file_value(const char *path, const char *section, const char *key,
		      bool missing_ok, char **out, struct verror *e)
{
	struct sbuf b;
	char *line, *save = NULL;
	bool in_section = section == NULL;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT && missing_ok)
			return 0;
		return verror_set(e, -errno, "credentials file %s: %s", path,
				  strerror(errno));
	}
	sbuf_init(&b, CRED_FILE_MAX);
	for (;;) {
		char *p = sbuf_reserve(&b, 65536, &r);
		ssize_t n;

		if (!p)
			break;
		n = read(fd, p, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		sbuf_commit(&b, (size_t)n);
	}
	close(fd);
	if (r < 0) {
		sbuf_release(&b);
		return verror_set(e, r, "credentials file %s: %s", path,
				  r == -E2BIG ? "larger than 1 MiB" :
						strerror(-r));
	}
	r = 0;
	for (line = strtok_r(b.buf ? b.buf : (char *)"", "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *s = trim(line), *eq, *k, *v;

		if (!*s || *s == '#' || *s == ';')
			continue;
		if (section && *s == '[') {
			char *close = strchr(s, ']');

			if (!close)
				continue;
			*close = '\0';
			s = trim(s + 1);
			if (!strncmp(s, "profile ", 8))
				s = trim(s + 8);
			in_section = !strcmp(s, section);
			continue;
		}
		if (!in_section)
			continue;
		eq = strchr(s, '=');
		if (!eq)
			continue;
		*eq = '\0';
		k = trim(s);
		if (!section && !strncmp(k, "export ", 7))
			k = trim(k + 7);
		v = trim(eq + 1);
		if (!section) {
			size_t vl = strlen(v);

			if (vl >= 2 && (v[0] == '"' || v[0] == '\'') &&
			    v[vl - 1] == v[0]) {
				v[vl - 1] = '\0';
				v++;
			}
		}
		if (strcmp(k, key) != 0)
			continue;
		*out = strdup(v);
		r = *out ? 1 : -ENOMEM;
		break;
	}
	/* the buffer held secrets */
	if (b.buf)
		OPENSSL_cleanse(b.buf, b.cap);
	sbuf_release(&b);
	return r;
}

/* --- keys -------------------------------------------------------------- */

bool remote_key_ok(const char *key)
{
	const char *p = key;
	size_t len = strlen(key);

	if (len == 0 || len > 1024 || key[0] == '/')
		return false;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && !memcmp(p, "..", 2)))
			return false;
		if (!slash || !slash[1])
			return true; /* a directory key ends in '/' */
		p = slash + 1;
	}
}

int remote_list_emit(const char *prefix, const char *full, bool is_dir,
		     const struct vault_object *obj, vault_list_fn fn,
		     void *userdata)
{
	size_t plen = strlen(prefix), n;
	char name[1025];
	const char *rest;

	if (strncmp(full, prefix, plen) != 0)
		return 0;
	rest = full + plen;
	n = strlen(rest);
	if (is_dir) {
		if (n == 0 || rest[n - 1] != '/')
			return 0;
		n--;
	}
	if (n == 0 || n >= sizeof(name) || memchr(rest, '/', n))
		return 0;
	if ((n == 1 && rest[0] == '.') || (n == 2 && !memcmp(rest, "..", 2)))
		return 0;
	memcpy(name, rest, n);
	name[n] = '\0';
	return fn(name, is_dir ? NULL : obj, userdata);
}
