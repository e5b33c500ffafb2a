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

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "common/base64.h"
#include "common/macro.h"
#include "common/rfc3339.h"
#include "vault/vault_i.h"

#define REMOTE_LIST_MAX ((size_t)16 << 20) /* one list page */
#define REMOTE_MAX_PAGES 100000

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

/* Fails with -EINVAL, naming the first parameter of query not in params:
 * a typo must not silently change the meaning. */
static int query_check(const char *query, const struct remote_param *params,
		       const char *vault, struct verror *e)
{
	const char *p = query;

	while (p && *p) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		size_t klen = strcspn(p, "=&");
		const struct remote_param *k;
		bool ok = false;

		if (klen > len)
			klen = len;
		for (k = params; k->name; k++)
			if (strlen(k->name) == klen &&
			    !memcmp(k->name, p, klen))
				ok = true;
		if (!ok && len > 0)
			return verror_set(e, -EINVAL,
					  "%s: unknown URL parameter '%.*s'",
					  vault, (int)MIN(klen, (size_t)40), p);
		p = amp ? amp + 1 : NULL;
	}
	return 0;
}

int remote_query_params(const char *query, const struct remote_param *params,
			const char *vault, struct verror *e)
{
	const struct remote_param *k;
	int r;

	r = query_check(query, params, vault, e);
	if (r < 0)
		return r;
	for (k = params; k->name; k++) {
		r = remote_query_get(query, k->name, k->out);
		if (r == -EINVAL)
			return verror_set(e, r, "%s: bad escape in the URL",
					  vault);
		if (r < 0)
			return r;
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
	base64_encode(p, n, out);
}

int remote_unbase64(const char *s, unsigned char *out, size_t max)
{
	size_t n = strlen(s);
	long len;

	if (n == 0 || n > 4096)
		return -EINVAL;
	len = base64_decode(s, n, BASE64_STRICT, out, max);
	return len < 0 ? -EINVAL : (int)len;
}

int64_t remote_parse_time(const char *s)
{
	int64_t t;

	if (!s || !*s)
		return 0;
	/* S3 listings: RFC 3339; Last-Modified headers: an HTTP date */
	if (rfc3339_parse(s, strlen(s), &t, NULL) == 0)
		return t;
	t = http_parse_date(s);
	return t < 0 ? 0 : t;
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

/* A character reference "&#N;" or "&#xH;" (p at '&', semi at ';'), as
 * UTF-8 into x->text. */
static int xml_charref(struct xml *x, const char *p, const char *semi)
{
	bool hex = p[2] == 'x' || p[2] == 'X';
	const char *d = p + 2 + hex;
	unsigned long cp = 0;
	int r;

	if (d == semi)
		return xml_fail(x, "bad entity");
	for (; d < semi; d++) {
		int v = hex			   ? unhex((unsigned char)*d) :
			isdigit((unsigned char)*d) ? *d - '0' :
						     -1;

		if (v < 0)
			return xml_fail(x, "bad entity");
		cp = cp * (hex ? 16 : 10) + (unsigned)v;
		if (cp > 0x10FFFF)
			return xml_fail(x, "bad entity");
	}
	r = utf8_put(&x->text, cp);
	if (r == -EBADMSG)
		return xml_fail(x, "bad character reference");
	return r;
}

/* One entity at p ('&'), the five predefined ones or a character
 * reference, into x->text; *end is set past its ';'. */
static int xml_entity(struct xml *x, const char *p, const char *q,
		      const char **end)
{
	static const struct {
		const char *name;
		char c;
	} named[] = { { "lt", '<' },
		      { "gt", '>' },
		      { "amp", '&' },
		      { "quot", '"' },
		      { "apos", '\'' } };
	const char *semi = memchr(p, ';', (size_t)(q - p));
	size_t n, i;

	if (!semi || semi - p > 12)
		return xml_fail(x, "bad entity");
	*end = semi + 1;
	n = (size_t)(semi - p - 1);
	for (i = 0; i < ARRAY_SIZE(named); i++)
		if (n == strlen(named[i].name) &&
		    !memcmp(p + 1, named[i].name, n))
			return sbuf_addc(&x->text, named[i].c);
	if (n >= 2 && p[1] == '#')
		return xml_charref(x, p, semi);
	return xml_fail(x, "unknown entity");
}

/* Appends the unescaped text [p, q) to x->text. */
static int xml_text(struct xml *x, const char *p, const char *q)
{
	int r = 0;

	while (p < q && r >= 0) {
		const char *amp = memchr(p, '&', (size_t)(q - p));
		const char *stop = amp ? amp : q;

		if (memchr(p, '\0', (size_t)(stop - p)))
			return xml_fail(x, "NUL byte in text");
		r = sbuf_add(&x->text, p, (size_t)(stop - p));
		p = stop;
		if (r >= 0 && amp)
			r = xml_entity(x, amp, q, &p);
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

/* Character data before the next '<' (or the end): white space only
 * outside the root, unescaped into x->text inside it. */
static int xml_chardata(struct xml *x, const char *stop)
{
	const char *c;

	if (x->depth > 0)
		return xml_text(x, x->p, stop);
	for (c = x->p; c < stop; c++)
		if (!isspace((unsigned char)*c))
			return xml_fail(x, "text outside the root");
	return 0;
}

/* <![CDATA[...]]>, x->p past the '<': its bytes are text as they are. */
static int xml_cdata(struct xml *x)
{
	const char *s = x->p + 8, *q;

	if (x->depth == 0)
		return xml_fail(x, "CDATA outside the root");
	q = memmem(s, (size_t)(x->end - s), "]]>", 3);
	if (!q)
		return xml_fail(x, "truncated CDATA");
	if (memchr(s, '\0', (size_t)(q - s)))
		return xml_fail(x, "NUL byte in text");
	if (sbuf_add(&x->text, s, (size_t)(q - s)) == -E2BIG)
		return xml_fail(x, "element text too long");
	x->p = q + 3;
	return 0;
}

/* Enters element name: one level deeper on x->path. */
static int xml_push(struct xml *x, const char *name, size_t len)
{
	size_t at;
	int d;

	if (x->depth >= XML_MAX_DEPTH)
		return xml_fail(x, "nested too deeply");
	x->had_child[x->depth] = true;
	sbuf_reset(&x->text);
	d = ++x->depth;
	x->had_child[d] = false;
	at = x->plen[d - 1];
	if (d > 1)
		x->path[at++] = '/';
	memcpy(x->path + at, name, len);
	x->plen[d] = at + len;
	x->path[x->plen[d]] = '\0';
	return 0;
}

/* Leaves the innermost element. */
static void xml_pop(struct xml *x)
{
	x->depth--;
	x->path[x->plen[x->depth]] = '\0';
}

/* Skips a start tag's attributes (quotes respected) up to its '>'.
 * *empty: the tag ends in "/>". */
static int xml_attributes(struct xml *x, bool *empty)
{
	while (x->p < x->end && *x->p != '>') {
		if (*x->p == '"' || *x->p == '\'') {
			const char *q = memchr(x->p + 1, *x->p,
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
	*empty = x->p[-1] == '/';
	x->p++;
	return 0;
}

/* <name ...> or <name .../>, x->p at the name. */
static int xml_start_tag(struct xml *x, bool *root_seen, remote_xml_fn fn,
			 void *userdata)
{
	const char *name;
	bool empty = false;
	size_t len;
	int r;

	r = xml_name(x, &name, &len);
	if (r >= 0)
		r = xml_attributes(x, &empty);
	if (r < 0)
		return r;
	if (x->depth == 0 && *root_seen)
		return xml_fail(x, "two root elements");
	*root_seen = true;
	r = xml_push(x, name, len);
	if (r >= 0)
		r = fn(REMOTE_XML_START, x->path, NULL, userdata);
	if (r >= 0 && empty) {
		r = fn(REMOTE_XML_END, x->path, "", userdata);
		xml_pop(x);
	}
	return r;
}

/* </name>, x->p past the '/': must close the innermost element. */
static int xml_end_tag(struct xml *x, remote_xml_fn fn, void *userdata)
{
	int d = x->depth, r;
	const char *name;
	size_t len;

	r = xml_name(x, &name, &len);
	if (r < 0)
		return r;
	if (d == 0 || x->plen[d] - x->plen[d - 1] - (d > 1) != len ||
	    memcmp(x->path + x->plen[d] - len, name, len))
		return xml_fail(x, "mismatched end tag");
	while (x->p < x->end && isspace((unsigned char)*x->p))
		x->p++;
	if (x->p >= x->end || *x->p != '>')
		return xml_fail(x, "truncated");
	x->p++;
	r = fn(REMOTE_XML_END, x->path,
	       x->had_child[d] ? NULL : sbuf_str(&x->text), userdata);
	if (r < 0)
		return r;
	sbuf_reset(&x->text);
	xml_pop(x);
	return 0;
}

/* One piece of markup, x->p past its '<'. */
static int xml_markup(struct xml *x, bool *root_seen, remote_xml_fn fn,
		      void *userdata)
{
	size_t left = (size_t)(x->end - x->p);

	if (*x->p == '?')
		return xml_skip_past(x, "?>", "truncated");
	if (left >= 3 && !memcmp(x->p, "!--", 3))
		return xml_skip_past(x, "-->", "truncated comment");
	if (left >= 8 && !memcmp(x->p, "![CDATA[", 8))
		return xml_cdata(x);
	if (*x->p == '!')
		return xml_fail(x, "DOCTYPE and declarations are refused");
	if (*x->p == '/') {
		x->p++;
		return xml_end_tag(x, fn, userdata);
	}
	return xml_start_tag(x, root_seen, fn, userdata);
}

/* The document: character data and markup, in turn, to the end. */
static int xml_run(struct xml *x, remote_xml_fn fn, void *userdata)
{
	bool root_seen = false;
	int r;

	while (x->p < x->end) {
		const char *lt = memchr(x->p, '<', (size_t)(x->end - x->p));

		r = xml_chardata(x, lt ? lt : x->end);
		if (r < 0)
			return r;
		if (!lt)
			break;
		x->p = lt + 1;
		if (x->p >= x->end)
			return xml_fail(x, "truncated");
		r = xml_markup(x, &root_seen, fn, userdata);
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
	/* S3 and Azure: <Error>; STS: <ErrorResponse><Error> */
	if (!strncmp(path, "ErrorResponse/", 14))
		path += 14;
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
	r = sbuf_read_fd(&b, fd);
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

/* --- list answers ------------------------------------------------------ */

struct list_parse {
	const struct remote_list_format *f;
	const char *prefix;
	vault_list_fn fn;
	void *userdata;
	char *name, *etag, *next;
	struct vault_object obj;
	bool has_size, truncated;
};

static int set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : -ENOMEM;
}

/* A decimal size: digits only, at most INT64_MAX. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)*s))
		return -EBADMSG;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > (uint64_t)INT64_MAX)
		return -EBADMSG;
	*out = v;
	return 0;
}

/* An entry starts (forget the last one) or ends (hand it out). */
static int on_list_entry(struct list_parse *lp, enum remote_xml_event ev)
{
	if (ev == REMOTE_XML_START) {
		free(lp->name);
		free(lp->etag);
		lp->name = lp->etag = NULL;
		lp->obj = (struct vault_object){ 0 };
		lp->has_size = false;
		return 0;
	}
	if (!lp->name || !lp->has_size)
		return -EBADMSG;
	remote_identity(&lp->obj, lp->etag ? lp->etag : "");
	return remote_list_emit(lp->prefix, lp->name, false, &lp->obj, lp->fn,
				lp->userdata);
}

static int on_list_elem(enum remote_xml_event ev, const char *path,
			const char *text, void *userdata)
{
	struct list_parse *lp = userdata;
	const struct remote_list_format *f = lp->f;

	if (!strcmp(path, f->entry))
		return on_list_entry(lp, ev);
	if (ev != REMOTE_XML_END || !text)
		return 0;
	if (!strcmp(path, f->name))
		return set_str(&lp->name, text);
	if (!strcmp(path, f->etag))
		return set_str(&lp->etag, text);
	if (!strcmp(path, f->size)) {
		lp->has_size = true;
		return parse_size(text, &lp->obj.size);
	}
	if (!strcmp(path, f->mtime)) {
		lp->obj.mtime = remote_parse_time(text);
		return 0;
	}
	if (!strcmp(path, f->dir))
		return remote_list_emit(lp->prefix, text, true, NULL, lp->fn,
					lp->userdata);
	if (!strcmp(path, f->next))
		return set_str(&lp->next, text);
	if (f->truncated && !strcmp(path, f->truncated))
		lp->truncated = !strcmp(text, "true");
	return 0;
}

int remote_parse_list(const struct remote_list_format *f, const char *xml,
		      size_t n, const char *prefix, vault_list_fn fn,
		      void *userdata, char **next, struct verror *e)
{
	struct list_parse lp = {
		.f = f, .prefix = prefix, .fn = fn, .userdata = userdata
	};
	bool more;
	int r;

	r = remote_xml_parse(xml, n, on_list_elem, &lp, e);
	if (r == -EBADMSG && e && !strstr(e->msg, "malformed"))
		verror_set(e, r, "malformed %s", f->answer);
	free(lp.name);
	free(lp.etag);
	more = f->truncated ? lp.truncated : lp.next && *lp.next;
	if (r >= 0 && more && (!lp.next || !*lp.next))
		r = verror_set(e, -EBADMSG,
			       "truncated listing without a continuation "
			       "token");
	if (r < 0 || !more) {
		free(lp.next);
		lp.next = NULL;
	}
	if (r >= 0)
		*next = lp.next;
	return r;
}

/* --- the backends' shared operations ---------------------------------- */

int remote_req_take(struct remote_req *q, struct sbuf *path, struct sbuf *url,
		    const char *query)
{
	q->path = sbuf_take(path, NULL);
	q->url = sbuf_take(url, NULL);
	q->query = query ? strdup(query) : NULL;
	if (!q->path || !q->url || (query && !q->query))
		return -ENOMEM;
	return 0;
}

void remote_req_release(struct remote_req *q)
{
	free(q->path);
	free(q->query);
	if (q->url)
		OPENSSL_cleanse(q->url, strlen(q->url)); /* may hold a SAS */
	free(q->url);
	q->path = q->query = q->url = NULL;
}

void remote_sbuf_wipe(struct sbuf *b)
{
	if (b->buf)
		OPENSSL_cleanse(b->buf, b->cap);
	sbuf_release(b);
}

void remote_wipe_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

const char *remote_endpoint(const struct vault *v)
{
	const struct remote *rm = v->priv;

	return rm->base_url;
}

const char *remote_no_credentials(const struct vault *v)
{
	const struct remote *rm = v->priv;

	return rm->no_credentials;
}

void remote_vault_free(struct vault *v)
{
	struct remote *rm = v->priv;

	if (!rm)
		return;
	rm->ops->release(rm->backend);
	http_free(rm->http);
	free(rm->prefix);
	free(rm);
}

/* The vault's errno contract: a transfer that got no answer is -EIO (what
 * a FUSE read answers), a server certificate that is not trusted -EACCES;
 * http/ says more precisely why in the message. */
static int vault_errno(int r)
{
	switch (r) {
	case -ECONNREFUSED:
	case -EHOSTUNREACH:
	case -ETIMEDOUT:
	case -EPROTO:
		return -EIO;
	default:
		return r;
	}
}

/* The Code and Message of an XML error body (or Azure's
 * x-ms-error-code): "(Code: Message)", for http/'s messages. */
static void remote_describe(const struct http_response *resp, const char *body,
			    size_t len, char *out, size_t size)
{
	char code[64], msg[200];

	remote_xml_error(body, len, code, sizeof(code), msg, sizeof(msg));
	if (!code[0] && resp->error_code[0])
		snprintf(code, sizeof(code), "%s", resp->error_code);
	if (code[0] && msg[0])
		snprintf(out, size, "(%s: %s)", code, msg);
	else if (code[0])
		snprintf(out, size, "(%s)", code);
	else if (size)
		out[0] = '\0';
}

/* A final answer that is not the expected one. */
static int remote_status_error(const struct remote *rm, const char *verb,
			       const char *what,
			       const struct http_response *resp,
			       const struct sbuf *body, struct verror *e)
{
	char detail[300];

	remote_describe(resp, body ? body->buf : NULL, body ? body->len : 0,
			detail, sizeof(detail));
	return http_status_error(rm->http, verb, what, resp, detail, e);
}

/* The request of a backend's struct remote_req. */
static struct http_request remote_request(const struct remote *rm,
					  const char *method, const char *what,
					  struct remote_req *q)
{
	return (struct http_request){ .method = method,
				      .url = q->url,
				      .what = what,
				      .range_header = rm->ops->range_header,
				      .sign = rm->ops->sign,
				      .sign_ctx = q };
}

int remote_list(struct vault *v, const char *dir, vault_list_fn fn,
		void *userdata, struct verror *e)
{
	const struct remote *rm = v->priv;
	const struct remote_ops *ops = rm->ops;
	const char *what = *dir ? dir : "(top)";
	_cleanup_free_ char *prefix = NULL;
	char *marker = NULL;
	struct sbuf body, query;
	unsigned pages;
	int r = 0;

	if (*dir && (dir[strlen(dir) - 1] != '/' || !remote_key_ok(dir)))
		return verror_set(e, -EINVAL, "invalid directory key '%s'",
				  dir);
	if (asprintf(&prefix, "%s%s", rm->prefix, dir) < 0) {
		prefix = NULL;
		return -ENOMEM;
	}
	sbuf_init(&body, REMOTE_LIST_MAX);
	sbuf_init(&query, 65536);
	for (pages = 0; pages < REMOTE_MAX_PAGES; pages++) {
		struct http_response resp;
		struct http_request req;
		struct remote_req q;
		char *next = NULL;

		sbuf_reset(&query);
		r = ops->list_query(&query, prefix, marker);
		if (r >= 0)
			r = ops->req_init(rm->backend, &q, NULL, query.buf);
		if (r < 0)
			break;
		req = remote_request(rm, "GET", what, &q);
		sbuf_reset(&body);
		r = vault_errno(http_do(rm->http, &req, &body, &resp, e));
		if (r >= 0 && resp.status != 200)
			r = remote_status_error(rm, "listing", what, &resp,
						&body, e);
		remote_req_release(&q);
		if (r < 0)
			break;
		r = ops->list_parse(sbuf_str(&body), body.len, prefix, fn,
				    userdata, &next, e);
		if (r == -EBADMSG)
			r = verror_prefix(e, -EIO, "%s: listing %s",
					  vault_id(v), what);
		if (r < 0)
			break;
		if (!next)
			break;
		if (marker && !strcmp(marker, next)) {
			free(next);
			r = verror_set(e, -EIO,
				       "%s: listing %s: the server repeats "
				       "its %s",
				       vault_id(v), dir, ops->marker_name);
			break;
		}
		free(marker);
		marker = next;
	}
	free(marker);
	sbuf_release(&body);
	sbuf_release(&query);
	return r < 0 ? r : 0;
}

/* Fills o from an answer's headers. Without Content-Length: -EIO and o
 * untouched, or size 0 when unsized_ok. */
static int fill_from_response(const struct http_response *resp, bool unsized_ok,
			      struct vault_object *o)
{
	if (resp->length < 0 && !unsized_ok)
		return -EIO;
	o->size = resp->length < 0 ? 0 : (uint64_t)resp->length;
	o->mtime = remote_parse_time(resp->last_modified);
	remote_identity(o, resp->etag);
	return 0;
}

int remote_stat(struct vault *v, const char *key, struct vault_object *out,
		struct verror *e)
{
	const struct remote *rm = v->priv;
	struct http_response resp;
	struct http_request req;
	struct vault_object o = { 0 };
	struct remote_req q;
	struct sbuf body;
	int r;

	if (!remote_key_ok(key))
		return verror_set(e, -EINVAL, "invalid key '%s'", key);
	r = rm->ops->req_init(rm->backend, &q, key, NULL);
	if (r < 0)
		return r;
	req = remote_request(rm, "HEAD", key, &q);
	sbuf_init(&body, 65536);
	r = vault_errno(http_do(rm->http, &req, &body, &resp, e));
	if (r >= 0 && resp.status != 200)
		r = remote_status_error(rm, "HEAD", key, &resp, NULL, e);
	if (r >= 0 && fill_from_response(&resp, false, &o) < 0)
		r = verror_set(e, -EIO, "%s: HEAD %s: no Content-Length",
			       vault_id(v), key);
	sbuf_release(&body);
	remote_req_release(&q);
	if (r >= 0)
		*out = o;
	return r < 0 ? r : 0;
}

/* A vault_stream's priv. */
struct remote_stream {
	struct http_stream *hs; /* owned */
	struct remote_req q;	/* owned; hs signs its attempts with it */
};

int remote_stream_open(struct vault *v, const char *key,
		       const struct vault_object *expect, uint64_t off,
		       uint64_t len, struct vault_stream **out,
		       struct verror *e)
{
	const struct remote *rm = v->priv;
	struct remote_stream *rs;
	struct vault_stream *s;
	struct http_response resp;
	struct http_request req;
	int r;

	if (!remote_key_ok(key))
		return verror_set(e, -EINVAL, "invalid key '%s'", key);
	s = calloc(1, sizeof(*s));
	rs = calloc(1, sizeof(*rs));
	if (!s || !rs) {
		free(s);
		free(rs);
		return -ENOMEM;
	}
	r = rm->ops->req_init(rm->backend, &rs->q, key, NULL);
	if (r < 0)
		goto fail;
	req = remote_request(rm, "GET", key, &rs->q);
	req.range_from = off;
	req.range_len = len;
	r = vault_errno(http_stream_open(rm->http, &req, &resp, &rs->hs, e));
	if (r < 0)
		goto fail;
	if (expect) {
		struct vault_object now = { 0 };

		(void)fill_from_response(&resp, rm->ops->unsized_get_is_empty,
					 &now);
		if (strcmp(now.identity, expect->identity) != 0) {
			r = verror_set(e, -ESTALE,
				       "%s/%s changed while being read",
				       vault_id(v), key);
			goto fail;
		}
	}
	s->vault = v;
	s->priv = rs;
	*out = s;
	return 0;
fail:
	http_stream_free(rs->hs);
	remote_req_release(&rs->q);
	free(rs);
	free(s);
	return r;
}

ssize_t remote_stream_read(struct vault_stream *s, void *buf, size_t len,
			   struct verror *e)
{
	struct remote_stream *rs = s->priv;

	ssize_t n = http_stream_read(rs->hs, buf, len, e);

	return n < 0 ? vault_errno((int)n) : n;
}

void remote_stream_free(struct vault_stream *s)
{
	struct remote_stream *rs = s->priv;

	http_stream_free(rs->hs);
	remote_req_release(&rs->q);
	free(rs);
	free(s);
}

/* --- opening ----------------------------------------------------------- */

int remote_url_split(const char *rest, char **loc, const char **query)
{
	const char *q = strchr(rest, '?');

	*loc = q ? strndup(rest, (size_t)(q - rest)) : strdup(rest);
	if (!*loc)
		return -ENOMEM;
	*query = q ? q + 1 : NULL;
	return 0;
}

struct vault *remote_vault_new(const struct vault_ops *vops,
			       const struct remote_ops *rops, size_t size)
{
	struct vault *v = calloc(1, sizeof(*v));
	struct remote *rm = calloc(1, size);

	if (!v || !rm) {
		free(v);
		free(rm);
		return NULL;
	}
	rm->ops = rops;
	rm->backend = rm;
	v->ops = vops;
	v->priv = rm;
	return v;
}

int remote_prefix(const char *p, char **out)
{
	size_t n;

	while (*p == '/')
		p++;
	n = strlen(p);
	while (n && p[n - 1] == '/')
		n--;
	if (n ? asprintf(out, "%.*s/", (int)n, p) < 0 : !(*out = strdup(""))) {
		*out = NULL;
		return -ENOMEM;
	}
	return (int)n;
}

int remote_location(struct vault *v, struct remote *rm, const char *base,
		    const char *p, struct verror *e)
{
	int r = remote_prefix(p, &rm->prefix);
	size_t plen;

	if (r < 0)
		return r;
	plen = (size_t)r;
	if (plen && !remote_key_ok(rm->prefix))
		return verror_set(e, -EINVAL, "%s: invalid prefix '%.*s'", base,
				  (int)MIN(plen, (size_t)200), rm->prefix);
	if (asprintf(&v->id, "%s%s%.*s", base, plen ? "/" : "", (int)plen,
		     rm->prefix) < 0) {
		v->id = NULL;
		return -ENOMEM;
	}
	return 0;
}

int remote_http_new(struct remote *rm, const char *vault_id, const char *ca,
		    const char *ca_env, const char *insecure,
		    const char *attempts, struct verror *e)
{
	struct http_config hc = {
		.name = vault_id,
		.describe = remote_describe,
		.retry = { .timeouts = true }, /* no whole-request timeout */
		.low_speed_time_s = 30,
		.max_parallel = 16,
		.share_connections = true,
	};

	if (!ca) {
		const char *env = getenv(ca_env);

		if (env && *env)
			ca = env;
	}
	hc.tls.ca_file = ca;
	hc.tls.insecure = insecure && strcmp(insecure, "0") != 0;
	if (attempts)
		hc.retry.attempts = (unsigned)MAX(1, MIN(atoi(attempts), 20));
	return http_new(&hc, &rm->http, e);
}
