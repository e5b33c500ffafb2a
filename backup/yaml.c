/* yaml: JSON (as Velero wrote it) to block-style YAML in kubectl's layout.
 *
 * One pass over the JSON text with a small recursive-descent tokenizer; no
 * DOM, so number literals are copied exactly (integers of any size, floats
 * as written) and nothing but the current string is ever copied. The JSON
 * is validated strictly (RFC 8259): invalid UTF-8, bad escapes, lone
 * surrogates, raw control characters and trailing garbage are rejected.
 *
 * The output reads back, with a YAML 1.1 parser (PyYAML) and a YAML 1.2
 * parser (ruamel.yaml), as the value the JSON holds. That is the whole
 * reason for the quoting rules below: a string is written plain only when
 * no implicit resolver of either schema would turn it into something else
 * and plain syntax can hold it; multi-line strings become literal blocks
 * when a literal block gives back the same bytes; everything else is
 * double-quoted with JSON-compatible escapes.
 *
 * Not here: flow style, anchors, comments, line folding (long lines stay
 * long, so grep sees them whole), and any YAML parsing. No global state; the
 * renderer is reentrant. */
#include <errno.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "backup/json_i.h"
#include "backup/render_i.h"
#include "common/error.h"
#include "common/macro.h"
#include "common/sbuf.h"

/* PyYAML and ruamel refuse an implicit (simple) key longer than 1024
 * characters; longer keys are written as explicit "? key" entries. Bytes
 * bound characters from above, so a byte limit is safe. */
#define YAML_SIMPLE_KEY_MAX 1000

enum ctx {
	CTX_ROOT,   /* the document itself, at column 0 */
	CTX_MAPVAL, /* after "key:", nothing written after the colon yet */
	CTX_SEQITEM /* after "- " */
};

enum style {
	STYLE_PLAIN,
	STYLE_DQ,      /* double-quoted, one line */
	STYLE_LITERAL, /* literal block scalar */
};

struct ry {
	const char *start;   /* the JSON text, for error positions */
	struct json_scan in; /* the cursor */
	struct sbuf *out;    /* borrowed */
	struct sbuf tmp;     /* decoded string when it can't be borrowed */
	struct verror *e;    /* borrowed, nullable */
	unsigned depth;
};

/* ---- errors ------------------------------------------------------------ */

static int ry_errv(struct ry *ry, const char *at, int err, const char *what)
{
	unsigned long line = 1, col = 1;
	const char *q;

	for (q = ry->start; q < at && q < ry->in.end; q++) {
		if (*q == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	return verror_set(ry->e, err, "line %lu col %lu: %s", line, col, what);
}

static int ry_bad(struct ry *ry, const char *at, const char *what)
{
	return ry_errv(ry, at, -EBADMSG, what);
}

static int ry_unexpected(struct ry *ry)
{
	char what[64];
	unsigned char c;

	if (ry->in.p >= ry->in.end)
		return ry_bad(ry, ry->in.p, "unexpected end of input");
	c = (unsigned char)*ry->in.p;
	if (c > 0x20 && c < 0x7f)
		snprintf(what, sizeof(what), "unexpected character '%c'", c);
	else
		snprintf(what, sizeof(what), "unexpected byte 0x%02x", c);
	return ry_bad(ry, ry->in.p, what);
}

/* Annotates a failed output append. */
static int ry_outerr(struct ry *ry, int r)
{
	if (r == -E2BIG)
		return verror_set(ry->e, r, "output larger than %zu bytes",
				  ry->out->max);
	return verror_set(ry->e, r, "out of memory");
}

/* ---- output ------------------------------------------------------------ */

/* The appends below take a fast path when the allocation already has room
 * (an sbuf never allocates past max + 1, so the cap holds), and go through
 * sbuf_add() otherwise. They run for every token. */
static int put_slow(struct ry *ry, const void *s, size_t n)
{
	int r = sbuf_add(ry->out, s, n);

	return r < 0 ? ry_outerr(ry, r) : 0;
}

static inline int put(struct ry *ry, const void *s, size_t n)
{
	struct sbuf *b = ry->out;

	if (_likely_(b->buf && n < b->cap - b->len)) {
		memcpy(b->buf + b->len, s, n);
		b->len += n;
		b->buf[b->len] = '\0';
		return 0;
	}
	return put_slow(ry, s, n);
}

/* For string literals only. */
#define PUTS(ry, lit) put(ry, lit, sizeof(lit) - 1)

static inline int putc_(struct ry *ry, char c)
{
	return put(ry, &c, 1);
}

static inline int put_indent(struct ry *ry, size_t col)
{
	struct sbuf *b = ry->out;
	int r;

	if (_likely_(b->buf && col < b->cap - b->len)) {
		memset(b->buf + b->len, ' ', col);
		b->len += col;
		b->buf[b->len] = '\0';
		return 0;
	}
	r = sbuf_addn(b, ' ', col);
	return r < 0 ? ry_outerr(ry, r) : 0;
}

/* ---- JSON lexing ------------------------------------------------------- */

/* Bytes that end the fast scan of a JSON string (JS_STOP): the quote, a
 * backslash, control characters and anything non-ASCII (which needs
 * validating). JS_STYLE marks the ASCII bytes scalar_style() must look at,
 * so that it can skip its scan for strings that hold none (space, ':'
 * and DEL; '#' matters only after a space or first). */
enum { JS_STOP = 1, JS_STYLE = 2 };

static const unsigned char json_str_stop[256] = {
	[0x00 ... 0x1f] = JS_STOP, ['"'] = JS_STOP,  ['\\'] = JS_STOP,
	[0x80 ... 0xff] = JS_STOP, [' '] = JS_STYLE, [':'] = JS_STYLE,
	[0x7f] = JS_STYLE,
};

/* The first byte at or after p that ends the fast scan of a string
 * (JS_STOP), or end; JS_STYLE is or-ed into *acc when a byte before it is
 * one scalar_style() must look at. Sixteen bytes at a time where SSE2 is
 * (every x86-64), then one at a time. */
static const unsigned char *
scan_plain(const unsigned char *p, const unsigned char *end, unsigned char *acc)
{
	unsigned char c;

#ifdef __SSE2__
	const __m128i quote = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'),
		      ctl = _mm_set1_epi8(0x20), sp = _mm_set1_epi8(' '),
		      colon = _mm_set1_epi8(':'), del = _mm_set1_epi8(0x7f);

	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)p);
		/* signed: below 0x20, or 0x80 and above */
		unsigned stop = (unsigned)_mm_movemask_epi8(
			_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote),
						  _mm_cmpeq_epi8(v, bs)),
				     _mm_cmplt_epi8(v, ctl)));
		unsigned style = (unsigned)_mm_movemask_epi8(
			_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, sp),
						  _mm_cmpeq_epi8(v, colon)),
				     _mm_cmpeq_epi8(v, del)));

		if (stop) {
			/* the style bytes before the first stop */
			if (style & ((stop & -stop) - 1))
				*acc |= JS_STYLE;
			return p + __builtin_ctz(stop);
		}
		if (style)
			*acc |= JS_STYLE;
		p += 16;
	}
#endif
	while (p < end && !((c = json_str_stop[*p]) & JS_STOP)) {
		*acc |= c;
		p++;
	}
	return p;
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, nothing past U+10FFFF), or 0. */
static size_t utf8_valid(const unsigned char *p, const unsigned char *end)
{
	size_t n = (size_t)(end - p);
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

static size_t utf8_put(char *b, uint32_t cp)
{
	if (cp < 0x80) {
		b[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	b[0] = (char)(0xf0 | (cp >> 18));
	b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	b[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static int hex4(const char *p, const char *end, uint32_t *v)
{
	uint32_t x = 0;
	int i;

	if (end - p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		char c = p[i];

		x <<= 4;
		if (c >= '0' && c <= '9')
			x |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			x |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			x |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*v = x;
	return 0;
}

/* The byte each one-letter JSON escape stands for; 0: not an escape. */
static const char json_unescape[256] = {
	['"'] = '"',  ['\\'] = '\\', ['/'] = '/',  ['b'] = '\b',
	['f'] = '\f', ['n'] = '\n',  ['r'] = '\r', ['t'] = '\t',
};

static int tmp_add(struct ry *ry, const void *s, size_t n)
{
	int r = sbuf_add(&ry->tmp, s, n);

	return r < 0 ? verror_set(ry->e, -ENOMEM, "out of memory") : 0;
}

/* Decodes the \uXXXX escape at *p (a surrogate pair counts as one) into
 * ry->tmp and moves *p past it. Lone surrogates are refused: Go never
 * writes them, and they have no UTF-8 form. */
static int read_u_escape(struct ry *ry, const unsigned char **pp)
{
	const unsigned char *p = *pp;
	uint32_t cp, lo;
	char u[4];
	int r;

	if (hex4((const char *)p + 2, ry->in.end, &cp) < 0)
		return ry_bad(ry, (const char *)p, "invalid \\u escape");
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return ry_bad(ry, (const char *)p, "lone low surrogate");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (ry->in.end - (const char *)p < 12 || p[6] != '\\' ||
		    p[7] != 'u' ||
		    hex4((const char *)p + 8, ry->in.end, &lo) < 0 ||
		    lo < 0xdc00 || lo > 0xdfff)
			return ry_bad(ry, (const char *)p,
				      "lone high surrogate");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		p += 6;
	}
	r = tmp_add(ry, u, utf8_put(u, cp));
	if (r < 0)
		return r;
	*pp = p + 6;
	return 0;
}

/* Decodes the string whose opening quote is at ry->in.p. On success *s and *n
 * hold the decoded UTF-8 (valid, may contain NUL), borrowed from the input
 * when it holds no escapes and no non-ASCII, else from ry->tmp (valid
 * until the next call); ry->in.p is past the closing quote. *scan is false
 * when the string is printable ASCII without ' ' or ':'. */
static int read_string(struct ry *ry, const char **s, size_t *n, bool *scan)
{
	unsigned char acc = 0;
	const unsigned char *p = (const unsigned char *)ry->in.p + 1;
	const unsigned char *end = (const unsigned char *)ry->in.end;
	const unsigned char *run;
	char u[1];
	size_t k;
	int r;

	run = p;
	p = scan_plain(p, end, &acc);
	if (_likely_(p < end && *p == '"')) {
		*s = (const char *)run;
		*n = (size_t)(p - run);
		*scan = acc != 0;
		ry->in.p = (const char *)p + 1;
		return 0;
	}

	*scan = true;
	sbuf_reset(&ry->tmp);
	for (;;) {
		p = scan_plain(p, end, &acc);
		if (p > run) {
			r = tmp_add(ry, run, (size_t)(p - run));
			if (r < 0)
				return r;
		}
		if (p >= end)
			return ry_bad(ry, ry->in.end, "unterminated string");
		if (*p == '"')
			break;
		if (*p >= 0x80) {
			k = utf8_valid(p, end);
			if (!k)
				return ry_bad(ry, (const char *)p,
					      "invalid UTF-8 in string");
			run = p;
			p += k;
			/* keep the run going: the bytes are copied verbatim */
			while (p < end &&
			       (!(json_str_stop[*p] & JS_STOP) || *p >= 0x80)) {
				if (*p >= 0x80) {
					k = utf8_valid(p, end);
					if (!k)
						break;
					p += k;
				} else {
					p++;
				}
			}
			continue;
		}
		if (*p < 0x20)
			return ry_bad(ry, (const char *)p,
				      "control character in string");
		/* backslash */
		if (end - p < 2)
			return ry_bad(ry, ry->in.end, "unterminated string");
		if (p[1] != 'u') {
			u[0] = json_unescape[p[1]];
			if (!u[0])
				return ry_bad(ry, (const char *)p,
					      "invalid escape");
			r = tmp_add(ry, u, 1);
			if (r < 0)
				return r;
			p += 2;
			run = p;
			continue;
		}
		r = read_u_escape(ry, &p);
		if (r < 0)
			return r;
		run = p;
	}
	*s = ry->tmp.buf ? ry->tmp.buf : "";
	*n = ry->tmp.len;
	ry->in.p = (const char *)p + 1;
	return 0;
}

/* ---- implicit resolvers (what a plain scalar would turn into) ---------- */

/* Advances over [set]*; returns how many matched. */
static size_t span(const char *s, size_t n, size_t *i, const char *set)
{
	size_t k = *i;

	while (*i < n && s[*i] && strchr(set, s[*i]))
		(*i)++;
	return *i - k;
}

static size_t span_digits(const char *s, size_t n, size_t *i)
{
	size_t k = *i;

	while (*i < n && json_is_digit(s[*i]))
		(*i)++;
	return *i - k;
}

#define DIGU_ "0123456789_"

/* Union of the int and float resolvers of PyYAML (1.1), ruamel (1.1 and
 * 1.2) and the YAML 1.2 core schema, without the sexagesimal forms:
 *   [-+]? ( [0-9_]+ (\.[0-9_]*)? | \.[0-9_]+ ) ([eE][-+]?[0-9]+)?
 *   [-+]? 0[bB][0-1_]+ | [-+]? 0[oO][0-7_]+ | [-+]? 0[xX][0-9a-fA-F_]+
 *   [-+]? \.(inf|Inf|INF) | [-+]? \.(nan|NaN|NAN)
 * A superset on purpose: quoting one string too many is harmless. The
 * upper-case prefixes are for Go's yaml packages (kubectl), which strip
 * '_' and try strconv.ParseInt(s, 0, 64). */
static bool match_number(const char *s, size_t n)
{
	size_t i = 0, k;

	if (s[i] == '-' || s[i] == '+')
		i++;
	if (i + 1 < n && s[i] == '0' && strchr("bBoOxX", s[i + 1])) {
		char base = (char)(s[i + 1] | 0x20);
		const char *set = base == 'b' ? "01_" :
				  base == 'o' ? "01234567_" :
						DIGU_ "abcdefABCDEF";

		i += 2;
		return span(s, n, &i, set) > 0 && i == n;
	}
	if (i < n && s[i] == '.' && n - i == 4) {
		const char *w = s + i + 1;

		if (!memcmp(w, "inf", 3) || !memcmp(w, "Inf", 3) ||
		    !memcmp(w, "INF", 3) || !memcmp(w, "nan", 3) ||
		    !memcmp(w, "NaN", 3) || !memcmp(w, "NAN", 3))
			return true;
	}
	k = span(s, n, &i, DIGU_);
	if (i < n && s[i] == '.') {
		i++;
		if (span(s, n, &i, DIGU_) == 0 && k == 0)
			return false;
	} else if (k == 0) {
		return false;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			i++;
		if (span_digits(s, n, &i) == 0)
			return false;
	}
	return i == n;
}

/* Sexagesimal int and float (YAML 1.1):
 *   [-+]?[1-9][0-9_]*(:[0-5]?[0-9])+
 *   [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*
 * Matched as [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)? (a superset). */
static bool match_sexagesimal(const char *s, size_t n)
{
	size_t i = 0, groups = 0;

	if (s[i] == '-' || s[i] == '+')
		i++;
	if (i >= n || !json_is_digit(s[i]))
		return false;
	span(s, n, &i, DIGU_);
	while (i < n && s[i] == ':') {
		i++;
		if (i + 1 < n && s[i] >= '0' && s[i] <= '5' &&
		    json_is_digit(s[i + 1]))
			i += 2;
		else if (i < n && json_is_digit(s[i]))
			i++;
		else
			return false;
		groups++;
	}
	if (!groups)
		return false;
	if (i < n && s[i] == '.') {
		i++;
		span(s, n, &i, DIGU_);
	}
	return i == n;
}

/* The timestamp resolver, as in PyYAML and ruamel, plus the 1-digit
 * month and day forms of a bare date that Go's yaml accepts:
 *   [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}
 *   [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}
 *     (\.[0-9]*)?([ \t]*(Z|[-+][0-9]{1,2}(:[0-9]{2})?))? */
static bool match_timestamp(const char *s, size_t n)
{
	size_t i = 0, k;

	if (span_digits(s, n, &i) != 4 || i >= n || s[i] != '-')
		return false;
	i++;
	k = span_digits(s, n, &i);
	if (k < 1 || k > 2 || i >= n || s[i] != '-')
		return false;
	i++;
	k = span_digits(s, n, &i);
	if (k < 1 || k > 2)
		return false;
	if (i == n)
		return true; /* 2024-1-2 too: Go's "2006-1-2" reads it */
	if (s[i] == 'T' || s[i] == 't')
		i++;
	else if (!span(s, n, &i, " \t"))
		return false;
	k = span_digits(s, n, &i);
	if (k < 1 || k > 2 || i >= n || s[i] != ':')
		return false;
	i++;
	if (span_digits(s, n, &i) != 2 || i >= n || s[i] != ':')
		return false;
	i++;
	if (span_digits(s, n, &i) != 2)
		return false;
	if (i < n && s[i] == '.') {
		i++;
		span_digits(s, n, &i);
	}
	if (i == n)
		return true;
	span(s, n, &i, " \t");
	if (i < n && s[i] == 'Z') {
		i++;
	} else if (i < n && (s[i] == '-' || s[i] == '+')) {
		i++;
		k = span_digits(s, n, &i);
		if (k < 1 || k > 2)
			return false;
		if (i < n && s[i] == ':') {
			i++;
			if (span_digits(s, n, &i) != 2)
				return false;
		}
	} else {
		return false;
	}
	return i == n;
}

/* bool (YAML 1.1 and 1.2) and null words. */
static const struct {
	const char *w;
	size_t n;
} yaml_words[] = {
	{ "y", 1 },    { "Y", 1 },     { "yes", 3 },   { "Yes", 3 },
	{ "YES", 3 },  { "n", 1 },     { "N", 1 },     { "no", 2 },
	{ "No", 2 },   { "NO", 2 },    { "true", 4 },  { "True", 4 },
	{ "TRUE", 4 }, { "false", 5 }, { "False", 5 }, { "FALSE", 5 },
	{ "on", 2 },   { "On", 2 },    { "ON", 2 },    { "off", 3 },
	{ "Off", 3 },  { "OFF", 3 },   { "~", 1 },     { "null", 4 },
	{ "Null", 4 }, { "NULL", 4 },
};

/* The first letters of yaml_words: a table, not a strchr() per short
 * string. */
static const bool yaml_word_first[256] = {
	['y'] = true, ['Y'] = true, ['n'] = true, ['N'] = true,
	['t'] = true, ['T'] = true, ['f'] = true, ['F'] = true,
	['o'] = true, ['O'] = true, ['~'] = true,
};

/* True when a YAML 1.1 or 1.2 implicit resolver would give a plain scalar
 * s (n > 0) a type other than str. Costs one switch for ordinary strings. */
static bool resolves_implicitly(const char *s, size_t n)
{
	size_t i;

	if (json_is_digit(s[0]))
		return match_timestamp(s, n) || match_number(s, n) ||
		       match_sexagesimal(s, n);
	if (s[0] == '-' || s[0] == '+' || s[0] == '.')
		return match_number(s, n) || match_sexagesimal(s, n);
	if (s[0] == '<')
		return n == 2 && s[1] == '<'; /* merge */
	if (s[0] == '=')
		return n == 1; /* value */
	if (n > 5 || !yaml_word_first[(unsigned char)s[0]])
		return false;
	for (i = 0; i < ARRAY_SIZE(yaml_words); i++)
		if (yaml_words[i].n == n && yaml_words[i].w[0] == s[0] &&
		    !memcmp(yaml_words[i].w, s, n))
			return true;
	return false;
}

/* ---- scalar style ------------------------------------------------------ */

/* Bytes the style scan must look at; everything else (letters, digits,
 * most punctuation, UTF-8 continuation and most lead bytes) is skipped.
 * Each of them is JS_STOP or JS_STYLE in json_str_stop, or the scan would
 * be skipped for a string that needs it. */
enum {
	SC_CTRL = 1, /* C0 control other than \t \n, and DEL */
	SC_TAB,
	SC_NL,
	SC_SPACE,
	SC_COLON,
	SC_C2, /* maybe C1 control or NEL */
	SC_E2, /* maybe U+2028 / U+2029 */
	SC_EF, /* maybe BOM, U+FFFE, U+FFFF */
	SC_F4, /* maybe U+10FFFF */
};

static const unsigned char style_class[256] = {
	[0x00 ... 0x08] = SC_CTRL,
	['\t'] = SC_TAB,
	['\n'] = SC_NL,
	[0x0b ... 0x1f] = SC_CTRL,
	[' '] = SC_SPACE,
	[':'] = SC_COLON,
	[0x7f] = SC_CTRL,
	[0xc2] = SC_C2,
	[0xe2] = SC_E2,
	[0xef] = SC_EF,
	[0xf4] = SC_F4,
};

/* First characters that can't start a plain scalar (YAML indicators and
 * whitespace), or start one only in some contexts: '?' and ':' are
 * quoted always; '-' only when followed by a space or alone. */
static const unsigned char bad_first[256] = {
	['-'] = 2, ['?'] = 1, [':'] = 1,  [','] = 1,  ['['] = 1,  [']'] = 1,
	['{'] = 1, ['}'] = 1, ['#'] = 1,  ['&'] = 1,  ['*'] = 1,  ['!'] = 1,
	['|'] = 1, ['>'] = 1, ['\''] = 1, ['"'] = 1,  ['%'] = 1,  ['@'] = 1,
	['`'] = 1, [' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1,
};

/* The characters YAML can't show raw (non-printable in YAML 1.1, or a
 * line break that only YAML 1.1 knows): C1 controls including NEL, U+2028,
 * U+2029, the BOM, U+FFFE, U+FFFF, U+10FFFF. p points at a lead byte that
 * style_class flagged; n is what is left. */
static bool special_mb(const unsigned char *p, size_t n)
{
	switch (p[0]) {
	case 0xc2:
		return n >= 2 && p[1] <= 0x9f;
	case 0xe2:
		return n >= 3 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9);
	case 0xef:
		return n >= 3 && ((p[1] == 0xbb && p[2] == 0xbf) ||
				  (p[1] == 0xbf && p[2] >= 0xbe));
	case 0xf4:
		return n >= 4 && p[1] == 0x8f && p[2] == 0xbf && p[3] == 0xbf;
	default:
		return false;
	}
}

/* Picks how to write the string s (valid UTF-8, n bytes). Mirrors PyYAML's
 * Emitter.analyze_scalar, widened so that YAML 1.2 reads the same, except
 * that tabs are allowed in literal blocks (both parsers read them back).
 * A literal block is refused where the result would not be exact or would
 * hide something: non-printables, '\r', trailing spaces on any line. */
static enum style scalar_style(const char *s, size_t n, bool key, bool scan)
{
	const unsigned char *u = (const unsigned char *)s;
	bool nl = false, tab = false, inline_bad = false;
	size_t i;

	if (!n)
		return STYLE_DQ;
	for (i = 0; scan && i < n; i++) {
		unsigned char c = style_class[u[i]];

		if (_likely_(!c))
			continue;
		switch (c) {
		case SC_CTRL:
			return STYLE_DQ;
		case SC_TAB:
			/* invisible at the end of a line, like a space */
			if (i + 1 == n || u[i + 1] == '\n')
				return STYLE_DQ;
			tab = true;
			break;
		case SC_NL:
			nl = true;
			break;
		case SC_SPACE:
			/* trailing space on a line, or " #" */
			if (i + 1 == n || u[i + 1] == '\n')
				return STYLE_DQ;
			if (u[i + 1] == '#')
				inline_bad = true;
			break;
		case SC_COLON:
			if (i + 1 == n || u[i + 1] == ' ')
				inline_bad = true;
			break;
		default:
			if (special_mb(u + i, n - i))
				return STYLE_DQ;
			break;
		}
	}
	if (nl)
		return key ? STYLE_DQ : STYLE_LITERAL;
	if (tab || inline_bad)
		return STYLE_DQ;
	switch (bad_first[u[0]]) {
	case 1:
		return STYLE_DQ;
	case 2:
		if (n == 1 || u[1] == ' ')
			return STYLE_DQ;
		break;
	default:
		break;
	}
	if (n >= 3 && (s[0] == '-' || s[0] == '.') && s[1] == s[0] &&
	    s[2] == s[0])
		return STYLE_DQ;
	if (resolves_implicitly(s, n))
		return STYLE_DQ;
	return STYLE_PLAIN;
}

/* ---- scalar writers ---------------------------------------------------- */

/* What double-quoted output must escape: the quote, the backslash, every
 * control character, DEL, and the lead bytes that special_mb() checks. */
static const unsigned char dq_class[256] = {
	[0x00 ... 0x1f] = 1, ['"'] = 1,	 ['\\'] = 1, [0x7f] = 1,
	[0xc2] = 2,	     [0xe2] = 2, [0xef] = 2, [0xf4] = 2,
};

/* The one-letter escapes, as JSON spells them (YAML reads them too). */
static const char dq_escape[256] = {
	['"'] = '"',  ['\\'] = '\\', ['\n'] = 'n', ['\t'] = 't',
	['\r'] = 'r', ['\b'] = 'b',  ['\f'] = 'f',
};

static int put_dq(struct ry *ry, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run;
	char esc[16];
	uint32_t cp;
	int r;

	r = putc_(ry, '"');
	if (r < 0)
		return r;
	while (i < n) {
		run = i;
		while (i < n) {
			unsigned char c = dq_class[u[i]];

			if (_likely_(!c) ||
			    (c == 2 && !special_mb(u + i, n - i)))
				i++;
			else
				break;
		}
		if (i > run) {
			r = put(ry, s + run, i - run);
			if (r < 0)
				return r;
		}
		if (i >= n)
			break;
		if (dq_escape[u[i]]) {
			esc[0] = '\\';
			esc[1] = dq_escape[u[i]];
			r = put(ry, esc, 2);
			i++;
			if (r < 0)
				return r;
			continue;
		}
		switch (u[i]) {
		case 0xc2:
			snprintf(esc, sizeof(esc), "\\u%04x", u[i + 1]);
			r = put(ry, esc, strlen(esc));
			i += 2;
			break;
		case 0xe2:
		case 0xef:
			cp = ((uint32_t)(u[i] & 0x0f) << 12) |
			     ((uint32_t)(u[i + 1] & 0x3f) << 6) |
			     (u[i + 2] & 0x3f);
			snprintf(esc, sizeof(esc), "\\u%04x", cp);
			r = put(ry, esc, strlen(esc));
			i += 3;
			break;
		case 0xf4:
			/* no surrogate pairs: PyYAML doesn't join them */
			r = PUTS(ry, "\\U0010ffff");
			i += 4;
			break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", u[i]);
			r = put(ry, esc, strlen(esc));
			i++;
			break;
		}
		if (r < 0)
			return r;
	}
	return putc_(ry, '"');
}

/* A literal block needs an explicit indentation when its content starts
 * with a space or a blank line (auto-detection would take them as
 * indentation), or with a tab (libyaml refuses a tab while it is still
 * detecting the indentation). */
static inline bool needs_indicator(const char *s)
{
	return s[0] == ' ' || s[0] == '\n' || s[0] == '\t';
}

/* Writes the header and lines of a literal block whose content sits at
 * column col. The caller has written whatever precedes the '|'. */
static int put_literal(struct ry *ry, const char *s, size_t n, size_t col)
{
	char hdr[8];
	size_t h = 0, i = 0, j;
	const char *nl;
	int r;

	hdr[h++] = '|';
	if (needs_indicator(s))
		hdr[h++] = '2';
	if (s[n - 1] != '\n')
		hdr[h++] = '-';
	else if (n == 1 || s[n - 2] == '\n')
		hdr[h++] = '+';
	hdr[h++] = '\n';
	r = put(ry, hdr, h);
	if (r < 0)
		return r;
	while (i < n) {
		nl = memchr(s + i, '\n', n - i);
		j = nl ? (size_t)(nl - s) : n;
		if (j > i) {
			r = put_indent(ry, col);
			if (r < 0)
				return r;
			r = put(ry, s + i, j - i);
			if (r < 0)
				return r;
		}
		r = putc_(ry, '\n');
		if (r < 0)
			return r;
		i = j + 1;
	}
	return 0;
}

/* True when nothing but whitespace and closing brackets follows: a
 * keep-chomped literal there would end the document with blank lines. */
static bool at_doc_end(const struct ry *ry)
{
	const char *q;

	for (q = ry->in.p; q < ry->in.end; q++)
		if (*q != ' ' && *q != '\t' && *q != '\r' && *q != '\n' &&
		    *q != ']' && *q != '}')
			return false;
	return true;
}

/* Writes a string value; the line so far ends with "key:" (ctx MAPVAL),
 * "- " (SEQITEM) or is empty (ROOT). col is the column of the key or dash,
 * or 0 at the root. Ends the line. */
static int put_string_value(struct ry *ry, const char *s, size_t n, bool scan,
			    size_t col, enum ctx ctx)
{
	enum style st = scalar_style(s, n, false, scan);
	int r;

	if (ctx == CTX_MAPVAL) {
		r = putc_(ry, ' ');
		if (r < 0)
			return r;
	}
	if (st == STYLE_LITERAL) {
		bool keep = s[n - 1] == '\n' && (n == 1 || s[n - 2] == '\n');

		/* YAML 1.2 and libyaml disagree on where "|2" content
		 * sits at the root; blank lines would end the document. */
		if ((ctx == CTX_ROOT && needs_indicator(s)) ||
		    (keep && at_doc_end(ry)))
			st = STYLE_DQ;
		else
			return put_literal(ry, s, n,
					   ctx == CTX_ROOT ? 2 : col + 2);
	}
	if (st == STYLE_PLAIN)
		r = put(ry, s, n);
	else
		r = put_dq(ry, s, n);
	if (r < 0)
		return r;
	return putc_(ry, '\n');
}

/* Writes "key:" (the caller has indented), or "? key\n<col>:" when the
 * key is too long for an implicit key. */
static int put_key(struct ry *ry, const char *s, size_t n, bool scan,
		   size_t col)
{
	size_t pos = ry->out->len, klen;
	int r;

	if (scalar_style(s, n, true, scan) == STYLE_PLAIN)
		r = put(ry, s, n);
	else
		r = put_dq(ry, s, n);
	if (r < 0)
		return r;
	klen = ry->out->len - pos;
	if (_unlikely_(klen > YAML_SIMPLE_KEY_MAX)) {
		r = put(ry, "  ", 2);
		if (r < 0)
			return r;
		memmove(ry->out->buf + pos + 2, ry->out->buf + pos, klen);
		memcpy(ry->out->buf + pos, "? ", 2);
		r = putc_(ry, '\n');
		if (r < 0)
			return r;
		r = put_indent(ry, col);
		if (r < 0)
			return r;
	}
	return putc_(ry, ':');
}

/* ---- the walk ---------------------------------------------------------- */

static int walk_value(struct ry *ry, size_t col, enum ctx ctx);

/* Copies a JSON number, rewritten where YAML would read it differently:
 * PyYAML wants a '.' and a signed exponent to see a float, so 1e3 becomes
 * 1.0e+3 and 2E-7 becomes 2.0E-7. Integers and plain decimals are copied
 * verbatim (any size: Python reads them exactly). */
static int walk_number(struct ry *ry, enum ctx ctx)
{
	struct json_number num;
	const char *e;
	int r;

	if (json_number(&ry->in, &num) < 0)
		return ry_bad(ry, ry->in.p, num.why);
	if (ctx == CTX_MAPVAL) {
		r = putc_(ry, ' ');
		if (r < 0)
			return r;
	}
	e = num.exp;
	if (!e)
		return put(ry, num.s, num.n);
	r = put(ry, num.s, (size_t)(e - num.s));
	if (r >= 0 && !num.frac)
		r = put(ry, ".0", 2);
	if (r >= 0)
		r = putc_(ry, *e);
	if (r >= 0 && !num.exp_sign)
		r = putc_(ry, '+');
	if (r >= 0)
		r = put(ry, e + 1, (size_t)(num.s + num.n - e - 1));
	return r;
}

static int walk_literal(struct ry *ry, const char *word, size_t n, enum ctx ctx)
{
	int r;

	if (json_literal(&ry->in, word, n) < 0)
		return ry_unexpected(ry);
	if (ctx == CTX_MAPVAL) {
		r = putc_(ry, ' ');
		if (r < 0)
			return r;
	}
	return put(ry, word, n);
}

static int depth_push(struct ry *ry)
{
	char what[64];

	if (_unlikely_(++ry->depth > RENDER_MAX_DEPTH)) {
		snprintf(what, sizeof(what), "nesting deeper than %d levels",
			 RENDER_MAX_DEPTH);
		return ry_errv(ry, ry->in.p, -E2BIG, what);
	}
	return 0;
}

/* ry->in.p is at '{' (close '}') or '[' (close ']').
 *
 * A mapping's entries sit at column 0 at the root, else at col + 2; in a
 * sequence item the first entry shares the line with the dash.
 *
 * A sequence's dashes sit under the key (kubectl's layout: not indented),
 * at column 0 at the root, and at col + 2 inside another sequence item,
 * where the first one shares the line ("- - a").
 *
 * Empty ones are "{}" and "[]", after a key with a space before them.
 * Inlined into walk_value() with close a constant: the hot path keeps one
 * specialised loop per kind. */
__attribute__((always_inline)) static inline int
walk_collection(struct ry *ry, size_t col, enum ctx ctx, char close)
{
	bool map = close == '}', first = true;
	size_t icol = map ? (ctx == CTX_ROOT ? 0 : col + 2) :
			    (ctx == CTX_SEQITEM ? col + 2 : col);
	const char *k = NULL;
	size_t kn = 0;
	bool scan = false;
	int r;

	r = depth_push(ry);
	if (r < 0)
		return r;
	if (json_open(&ry->in, close)) {
		ry->depth--;
		if (map)
			return ctx == CTX_MAPVAL ? PUTS(ry, " {}\n") :
						   PUTS(ry, "{}\n");
		return ctx == CTX_MAPVAL ? PUTS(ry, " []\n") : PUTS(ry, "[]\n");
	}
	if (ctx == CTX_MAPVAL) {
		r = putc_(ry, '\n');
		if (r < 0)
			return r;
	}
	do {
		if (map) {
			if (!json_at(&ry->in, '"'))
				return ry_unexpected(ry);
			r = read_string(ry, &k, &kn, &scan);
			if (r < 0)
				return r;
		}
		if (!first || ctx != CTX_SEQITEM) {
			r = put_indent(ry, icol);
			if (r < 0)
				return r;
		}
		first = false;
		if (map) {
			r = put_key(ry, k, kn, scan, icol);
			if (r >= 0 && json_colon(&ry->in) < 0)
				return ry_unexpected(ry);
		} else {
			r = put(ry, "- ", 2);
		}
		if (r < 0)
			return r;
		r = walk_value(ry, icol, map ? CTX_MAPVAL : CTX_SEQITEM);
		if (r < 0)
			return r;
		r = json_next_or_close(&ry->in, close);
	} while (r > 0);
	if (r < 0)
		return ry_unexpected(ry);
	ry->depth--;
	return 0;
}

/* Renders the value at ry->in.p (after whitespace) and ends its last line. */
static int walk_value(struct ry *ry, size_t col, enum ctx ctx)
{
	const char *s;
	size_t n;
	bool scan;
	int r;

	json_skip_ws(&ry->in);
	if (ry->in.p >= ry->in.end)
		return ry_unexpected(ry);
	switch (*ry->in.p) {
	case '{':
		return walk_collection(ry, col, ctx, '}');
	case '[':
		return walk_collection(ry, col, ctx, ']');
	case '"':
		r = read_string(ry, &s, &n, &scan);
		if (r < 0)
			return r;
		return put_string_value(ry, s, n, scan, col, ctx);
	case 't':
		r = walk_literal(ry, "true", 4, ctx);
		break;
	case 'f':
		r = walk_literal(ry, "false", 5, ctx);
		break;
	case 'n':
		r = walk_literal(ry, "null", 4, ctx);
		break;
	case '-':
	case '0':
	case '1':
	case '2':
	case '3':
	case '4':
	case '5':
	case '6':
	case '7':
	case '8':
	case '9':
		r = walk_number(ry, ctx);
		break;
	default:
		return ry_unexpected(ry);
	}
	if (r < 0)
		return r;
	return putc_(ry, '\n');
}

int render_yaml(const char *json, size_t len, struct sbuf *out,
		struct verror *e)
{
	struct ry ry = {
		.start = json,
		.in = { json, json + len },
		.out = out,
		.e = e,
	};
	int r;

	/* a decoded string is never longer than the text it came from */
	sbuf_init(&ry.tmp, len + 1);
	json_skip_ws(&ry.in);
	if (ry.in.p >= ry.in.end) {
		r = ry_bad(&ry, ry.in.p, "empty document");
		goto out;
	}
	r = walk_value(&ry, 0, CTX_ROOT);
	if (r < 0)
		goto out;
	json_skip_ws(&ry.in);
	if (ry.in.p < ry.in.end)
		r = ry_bad(&ry, ry.in.p, "trailing data after the document");
out:
	sbuf_release(&ry.tmp);
	return r < 0 ? r : 0;
}
