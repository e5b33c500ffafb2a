/* k8s: kube-apiserver's stored values -> the JSON `kubectl get -o json`
 * shows (k8s_value_to_json() in etcd.h).
 *
 * JSON values (custom resources) pass through. Protobuf values are the
 * "k8s\0" envelope, a runtime.Unknown{typeMeta{apiVersion=1, kind=2}=1,
 * raw=2, contentEncoding=3, contentType=4}, whose raw bytes are the typed
 * message of (apiVersion, kind). They are decoded with the tables of
 * k8s_types.c (generated from the Go API types) the way the apiserver
 * does: the Go struct gogo-protobuf's Unmarshal would fill, written out as
 * Go's encoding/json writes it:
 *   - a field absent on the wire is its Go zero value: omitted when
 *     omitempty (or omitzero and zero) allows, else "", 0, false, null (nil
 *     pointer, slice or map) or the zero struct;
 *   - a repeated field without elements is a nil slice (null), a value
 *     struct is never omitted by omitempty;
 *   - the hand-marshalled types (Time, MicroTime, Duration, IntOrString,
 *     Quantity, RawExtension, FieldsV1, apiextensions' JSON and
 *     JSONSchemaPropsOr*) as their MarshalJSON writes them.
 * What Go would refuse (a hand-marshalled value it can't write, a
 * singular message twice, malformed wire bytes) is -EBADMSG: never a
 * wrong value. What Go would ignore (unknown field numbers, wrong wire
 * types are refused by Go but skipped here) is left out and said in a
 * note line.
 *
 * Field order differs from Go's (members come in table order, map keys
 * sorted as Go sorts them); the value is the same. Not done here: the
 * apiserver's defaulting and conversion on read (a no-op for objects the
 * same version wrote), metadata.resourceVersion (the caller knows the
 * revision: k8s_json_set_resource_version()).
 *
 * Cost: no allocation per field; per value one scratch array for field
 * occurrences and map entries, reused at every depth. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "etcd/etcd.h"
#include "etcd/k8s_i.h"
#include "etcd/k8s_types_i.h"
#include "etcd/pb_i.h"

#define MAX_DEPTH 200	 /* messages inside messages */
#define MAX_NOTES 32	 /* note lines per value */
#define JSON_DEPTH 10000 /* Go's encoding/json nesting limit */

/* Where the fields of the message being decoded occur. */
struct occ {
	uint32_t first, last; /* offsets of the first and last occurrence */
	uint32_t n;
};

/* One map entry while a map is gathered. */
struct ment {
	const uint8_t *key;
	size_t klen;
	struct pb_field val;
	bool has_val;
	uint32_t seq;
};

struct dec {
	struct sbuf *out;
	struct sbuf *notes;
	struct verror *e;
	struct occ *occ; /* a stack: each message level takes nfields */
	size_t nocc, capocc;
	struct ment *ment; /* a stack too: maps inside map values */
	size_t nment, capment;
	unsigned depth;
	unsigned nnotes;
	int meta_msg;	  /* the top-level ObjectMeta's message, -1: no rv */
	bool list_nonnil; /* a named-slice map value: empty is [], not null */
	char rv[24];	  /* metadata.resourceVersion to write, as a string */
};

static void note(struct dec *d, const char *fmt, ...) _printf_(2, 3);
static void note(struct dec *d, const char *fmt, ...)
{
	va_list ap;

	if (!d->notes)
		return;
	if (d->nnotes++ == MAX_NOTES) {
		sbuf_adds(d->notes, "(further notes of this value left out)\n");
		return;
	}
	if (d->nnotes > MAX_NOTES)
		return;
	va_start(ap, fmt);
	sbuf_vaddf(d->notes, fmt, ap);
	va_end(ap);
	sbuf_addc(d->notes, '\n');
}

static const char *msg_name(unsigned mi)
{
	return k8s_msgs[mi].name;
}

/* ---- JSON output ----------------------------------------------------- */

/* sbuf_add() with the common case inline: the decoder appends many small
 * pieces. */
static inline int out_add(struct sbuf *b, const void *p, size_t n)
{
	if (_likely_(b->buf && b->len + n < b->cap)) {
		memcpy(b->buf + b->len, p, n);
		b->len += n;
		b->buf[b->len] = '\0';
		return 0;
	}
	return sbuf_add(b, p, n);
}

static void out_truncate(struct sbuf *b, size_t len)
{
	if (b->buf && len <= b->len) {
		b->len = len;
		b->buf[len] = '\0';
	}
}

/* A Go string as encoding/json writes it: bytes that are not UTF-8 become
 * U+FFFD, one per byte, as utf8.DecodeRuneInString reads them. (Go also
 * escapes <, >, & and U+2028/9; the value is the same either way.) */
int k8s_json_string(struct sbuf *b, const void *str, size_t n)
{
	const uint8_t *s = str;
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, run = 0;

	TRY(sbuf_addc(b, '"'));
	while (i < n) {
		uint8_t c = s[i];
		size_t len = 0;

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0x80) {
			uint32_t cp = 0;

			if (c >= 0xc2 && c <= 0xdf)
				len = 2, cp = c & 0x1f;
			else if (c >= 0xe0 && c <= 0xef)
				len = 3, cp = c & 0x0f;
			else if (c >= 0xf0 && c <= 0xf4)
				len = 4, cp = c & 0x07;
			if (len && i + len <= n) {
				size_t k;

				for (k = 1; k < len; k++) {
					if ((s[i + k] & 0xc0) != 0x80)
						break;
					cp = cp << 6 | (s[i + k] & 0x3f);
				}
				if (k == len && !(len == 3 && cp < 0x800) &&
				    !(len == 4 &&
				      (cp < 0x10000 || cp > 0x10ffff)) &&
				    !(cp >= 0xd800 && cp <= 0xdfff)) {
					i += len;
					continue;
				}
			}
		}
		/* flush the plain run before i, then the escape */
		TRY(out_add(b, s + run, i - run));
		if (c >= 0x80) {
			TRY(sbuf_adds(b, "\xef\xbf\xbd"));
		} else if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };

			TRY(sbuf_add(b, esc, 2));
		} else if (c == '\n') {
			TRY(sbuf_adds(b, "\\n"));
		} else if (c == '\r') {
			TRY(sbuf_adds(b, "\\r"));
		} else if (c == '\t') {
			TRY(sbuf_adds(b, "\\t"));
		} else {
			char esc[6] = { '\\', 'u',	   '0',
					'0',  hex[c >> 4], hex[c & 15] };

			TRY(sbuf_add(b, esc, 6));
		}
		run = ++i;
	}
	TRY(out_add(b, s + run, n - run));
	return sbuf_addc(b, '"');
}

static int out_key(struct dec *d, const char *name, bool *first)
{
	if (!*first)
		TRY(sbuf_addc(d->out, ','));
	*first = false;
	TRY(sbuf_addc(d->out, '"'));
	TRY(out_add(d->out, name, strlen(name))); /* table names: ASCII */
	return out_add(d->out, "\":", 2);
}

static int out_u64_sign(struct sbuf *b, uint64_t v, bool neg)
{
	char buf[24];
	int w = (int)sizeof(buf);

	do {
		buf[--w] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (neg)
		buf[--w] = '-';
	return out_add(b, buf + w, sizeof(buf) - (size_t)w);
}

static int out_i64(struct sbuf *b, int64_t v)
{
	return v < 0 ? out_u64_sign(b, -(uint64_t)v, true) :
		       out_u64_sign(b, (uint64_t)v, false);
}

static int out_u64(struct sbuf *b, uint64_t v)
{
	return out_u64_sign(b, v, false);
}

int k8s_format_float(char *buf, size_t size, double f, int bits)
{
	char tmp[40], digits[24];
	double a = fabs(f);
	int prec, nd = 0, exp, n = 0, i;
	bool eform;
	const char *p;

	if (!isfinite(f) || size < 32)
		return -EDOM;
	if (bits == 32)
		eform = a != 0 && ((float)a < 1e-6f || (float)a >= 1e21f);
	else
		eform = a != 0 && (a < 1e-6 || a >= 1e21);
	/* the shortest decimal that reads back as the same value, as
	 * strconv.FormatFloat(f, 'g'/'e', -1, bits) finds it */
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, f);
		if (bits == 32 ? strtof(tmp, NULL) == (float)f :
				 strtod(tmp, NULL) == f)
			break;
	}
	p = tmp;
	if (*p == '-')
		p++;
	for (; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9')
			digits[nd++] = *p;
	exp = atoi(p + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (a == 0)
		exp = 0, nd = 1;
	if (signbit(f))
		buf[n++] = '-';
	if (eform) {
		buf[n++] = digits[0];
		if (nd > 1) {
			buf[n++] = '.';
			memcpy(buf + n, digits + 1, (size_t)nd - 1);
			n += nd - 1;
		}
		/* Go: e+21, e-7 (its e-07 cleaned up), e-10 */
		n += snprintf(buf + n, size - (size_t)n, "e%c%s%d",
			      exp < 0 ? '-' : '+',
			      exp >= 0 && exp < 10 ? "0" : "", abs(exp));
	} else if (exp >= nd - 1) {
		memcpy(buf + n, digits, (size_t)nd);
		n += nd;
		for (i = 0; i < exp - (nd - 1); i++)
			buf[n++] = '0';
	} else if (exp >= 0) {
		memcpy(buf + n, digits, (size_t)exp + 1);
		n += exp + 1;
		buf[n++] = '.';
		memcpy(buf + n, digits + exp + 1, (size_t)(nd - exp - 1));
		n += nd - exp - 1;
	} else {
		buf[n++] = '0';
		buf[n++] = '.';
		for (i = 0; i < -exp - 1; i++)
			buf[n++] = '0';
		memcpy(buf + n, digits, (size_t)nd);
		n += nd;
	}
	buf[n] = '\0';
	return n;
}

/* time.Duration.String() */
int k8s_format_duration(char *buf, size_t size, int64_t d)
{
	char b[40];
	int w = (int)sizeof(b);
	uint64_t u = (uint64_t)d;
	bool neg = d < 0;
	int prec, i;
	bool print = false;

	if (size < sizeof(b))
		return -ENOBUFS;
	if (neg)
		u = -u;
	if (u == 0) {
		memcpy(buf, "0s", 3);
		return 2;
	}
	b[--w] = 's';
	if (u < 1000000000ull) {
		if (u < 1000ull) {
			prec = 0;
			b[--w] = 'n';
		} else if (u < 1000000ull) {
			prec = 3;
			w -= 2;
			memcpy(b + w, "\xc2\xb5", 2); /* µ */
		} else {
			prec = 6;
			b[--w] = 'm';
		}
	} else {
		prec = 9;
	}
	for (i = 0; i < prec; i++) {
		unsigned digit = (unsigned)(u % 10);

		print = print || digit != 0;
		if (print)
			b[--w] = (char)('0' + digit);
		u /= 10;
	}
	if (print)
		b[--w] = '.';
	if (prec == 9) {
		uint64_t s = u % 60;

		do {
			b[--w] = (char)('0' + s % 10);
			s /= 10;
		} while (s);
		u /= 60;
		if (u > 0) {
			uint64_t m = u % 60;

			b[--w] = 'm';
			do {
				b[--w] = (char)('0' + m % 10);
				m /= 10;
			} while (m);
			u /= 60;
			if (u > 0) {
				b[--w] = 'h';
				do {
					b[--w] = (char)('0' + u % 10);
					u /= 10;
				} while (u);
			}
		}
	} else {
		do {
			b[--w] = (char)('0' + u % 10);
			u /= 10;
		} while (u);
	}
	if (neg)
		b[--w] = '-';
	memcpy(buf, b + w, sizeof(b) - (size_t)w);
	buf[sizeof(b) - (size_t)w] = '\0';
	return (int)sizeof(b) - w;
}

/* Days since 1970-01-01 -> civil date (Howard Hinnant's algorithm). */
static void civil(int64_t z, int64_t *y, unsigned *m, unsigned *dd)
{
	int64_t era, yy;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*dd = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yy + (*m <= 2);
}

/* Go's t.UTC().Format(time.RFC3339) (micro: RFC3339Micro, 6 digits). */
int k8s_format_time(char *buf, size_t size, int64_t sec, uint32_t nsec,
		    bool micro)
{
	int64_t days = sec / 86400, rem = sec % 86400, y;
	unsigned m, dd;
	int n;

	if (rem < 0)
		rem += 86400, days--;
	civil(days, &y, &m, &dd);
	n = snprintf(buf, size, "%s%04" PRId64 "-%02u-%02uT%02u:%02u:%02u",
		     y < 0 ? "-" : "", y < 0 ? -y : y, m, dd,
		     (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60),
		     (unsigned)(rem % 60));
	if (micro)
		n += snprintf(buf + n, size - (size_t)n, ".%06u", nsec / 1000);
	n += snprintf(buf + n, size - (size_t)n, "Z");
	return n;
}

/* ---- raw JSON ---------------------------------------------------------- */

static const uint8_t *json_ws(const uint8_t *p, const uint8_t *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static const uint8_t *json_str(const uint8_t *p, const uint8_t *end)
{
	if (p >= end || *p != '"')
		return NULL;
	for (p++; p < end; p++) {
		/* the plain bytes first, in a tight loop */
		while (p < end && *p >= 0x20 && *p != '"' && *p != '\\')
			p++;
		if (p >= end)
			break;
		if (*p == '"')
			return p + 1;
		if (*p < 0x20)
			return NULL;
		if (*p == '\\') {
			if (++p >= end)
				return NULL;
			if (*p == 'u') {
				int k;

				for (k = 1; k <= 4; k++)
					if (p + k >= end ||
					    !strchr("0123456789abcdefABCDEF",
						    p[k]) ||
					    !p[k])
						return NULL;
				p += 4;
			} else if (!memchr("\"\\/bfnrt", *p, 8)) {
				return NULL;
			}
		}
	}
	return NULL;
}

static const uint8_t *json_num(const uint8_t *p, const uint8_t *end)
{
	const uint8_t *s;

	if (p < end && *p == '-')
		p++;
	if (p < end && *p == '0')
		p++;
	else if (p < end && *p >= '1' && *p <= '9')
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	else
		return NULL;
	if (p < end && *p == '.') {
		s = ++p;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		if (p == s)
			return NULL;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		s = p;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		if (p == s)
			return NULL;
	}
	return p;
}

bool k8s_json_valid(const void *buf, size_t len)
{
	const uint8_t *p = buf, *end = p + len;
	uint8_t stack[JSON_DEPTH / 8 + 1]; /* 1 bit per level: 1 = object */
	unsigned depth = 0;
	enum { VALUE, KEY, AFTER } st = VALUE;

	for (;;) {
		p = json_ws(p, end);
		if (st == AFTER) {
			bool obj;

			if (!depth)
				return p == end;
			if (p >= end)
				return false;
			obj = stack[(depth - 1) / 8] >> ((depth - 1) % 8) & 1;
			if (*p == ',') {
				p++;
				st = obj ? KEY : VALUE;
			} else if (*p == (obj ? '}' : ']')) {
				p++;
				depth--;
			} else {
				return false;
			}
			continue;
		}
		if (st == KEY) {
			if (!(p = json_str(p, end)))
				return false;
			p = json_ws(p, end);
			if (p >= end || *p != ':')
				return false;
			p++;
			st = VALUE;
			continue;
		}
		if (p >= end)
			return false;
		switch (*p) {
		case '{':
		case '[': {
			bool obj = *p == '{';

			if (depth >= JSON_DEPTH)
				return false;
			if (obj)
				stack[depth / 8] |= (uint8_t)(1u << depth % 8);
			else
				stack[depth / 8] &=
					(uint8_t) ~(1u << depth % 8);
			depth++;
			p = json_ws(p + 1, end);
			if (p < end && *p == (obj ? '}' : ']')) {
				p++;
				depth--;
				st = AFTER;
			} else {
				st = obj ? KEY : VALUE;
			}
			continue;
		}
		case '"':
			p = json_str(p, end);
			break;
		case 't':
			p = (size_t)(end - p) >= 4 && !memcmp(p, "true", 4) ?
				    p + 4 :
				    NULL;
			break;
		case 'f':
			p = (size_t)(end - p) >= 5 && !memcmp(p, "false", 5) ?
				    p + 5 :
				    NULL;
			break;
		case 'n':
			p = (size_t)(end - p) >= 4 && !memcmp(p, "null", 4) ?
				    p + 4 :
				    NULL;
			break;
		default:
			p = json_num(p, end);
		}
		if (!p)
			return false;
		st = AFTER;
	}
}

/* ---- the wire ---------------------------------------------------------- */

static enum pb_wire wire_of(uint8_t type)
{
	switch (type) {
	case K8S_T_BOOL:
	case K8S_T_INT32:
	case K8S_T_INT64:
	case K8S_T_UINT32:
	case K8S_T_UINT64:
		return PB_VARINT;
	case K8S_T_FLOAT64:
		return PB_I64;
	case K8S_T_FLOAT32:
		return PB_I32;
	}
	return PB_LEN;
}

static bool wire_ok(const struct k8s_field *f, enum pb_wire w)
{
	enum pb_wire want = wire_of(f->type);

	if (w == want)
		return true;
	/* a packed repeated scalar */
	return w == PB_LEN && want != PB_LEN && (f->flags & K8S_F_SLICE);
}

static int find_field(const struct k8s_msg *m, uint32_t tag)
{
	int lo = 0, hi = (int)m->nfields - 1;

	/* most messages number their fields 1..n */
	if (tag <= m->nfields && m->fields[tag - 1].tag == tag)
		return (int)tag - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;

		if (m->fields[mid].tag == tag)
			return mid;
		if (m->fields[mid].tag < tag)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

static int bad(struct dec *d, unsigned mi, const char *why)
{
	return verror_set(d->e, -EBADMSG, "%s: %s", msg_name(mi), why);
}

/* Records where each field of message mi occurs in p[0..len); the
 * occurrences are d->occ[*base ..]. Unknown fields and wrong wire types
 * are noted and left out. */
static int scan(struct dec *d, unsigned mi, const uint8_t *p, size_t len,
		size_t *base)
{
	const struct k8s_msg *m = &k8s_msgs[mi];
	struct pb r;
	struct pb_field f;
	size_t off;
	int rc;

	if (len > UINT32_MAX)
		return bad(d, mi, "message too large");
	if (d->nocc + m->nfields > d->capocc) {
		size_t cap = d->capocc ? d->capocc * 2 : 256;
		struct occ *o;

		while (cap < d->nocc + m->nfields)
			cap *= 2;
		o = realloc(d->occ, cap * sizeof(*o));
		if (!o)
			return -ENOMEM;
		d->occ = o;
		d->capocc = cap;
	}
	*base = d->nocc;
	memset(d->occ + d->nocc, 0, m->nfields * sizeof(*d->occ));
	d->nocc += m->nfields;
	pb_init(&r, p, len);
	for (;;) {
		struct occ *o;
		int i;

		off = pb_offset(&r);
		rc = pb_next(&r, &f);
		if (rc == 0)
			return 0;
		if (rc < 0)
			return verror_set(d->e, -EBADMSG, "%s: %s at byte %zu",
					  m->name, r.err, off);
		i = find_field(m, f.num);
		if (i < 0 || !m->fields[i].tag) {
			note(d, "%s: unknown field %u left out", m->name,
			     f.num);
			continue;
		}
		if (!wire_ok(&m->fields[i], f.wire)) {
			note(d, "%s: field %u (%s) has wire type %d, left out",
			     m->name, f.num,
			     m->fields[i].json ? m->fields[i].json : "-",
			     (int)f.wire);
			continue;
		}
		o = &d->occ[*base + (size_t)i];
		if (!o->n++)
			o->first = (uint32_t)off;
		o->last = (uint32_t)off;
	}
}

static void read_at(const uint8_t *p, size_t len, uint32_t off,
		    struct pb_field *f)
{
	struct pb r;

	pb_init(&r, p + off, len - off);
	pb_next(&r, f); /* scan() read it before */
}

/* ---- values ------------------------------------------------------------ */

static int emit_msg(struct dec *d, unsigned mi, const uint8_t *p, size_t len);
static int emit_zero_msg(struct dec *d, unsigned mi);
static int emit_fields(struct dec *d, unsigned mi, const uint8_t *p, size_t len,
		       bool *first);
static int emit_zero_fields(struct dec *d, unsigned mi, bool *first);

static bool scalar_zero(const struct k8s_field *f, const struct pb_field *v)
{
	switch (f->type) {
	case K8S_T_STRING:
	case K8S_T_BYTES:
		return v->len == 0;
	case K8S_T_INT32:
	case K8S_T_UINT32:
	case K8S_T_BOOL:
		return (uint32_t)v->u == 0 || (f->type == K8S_T_BOOL && !v->u);
	case K8S_T_FLOAT64: {
		double x;

		memcpy(&x, &v->u, sizeof(x));
		return x == 0;
	}
	case K8S_T_FLOAT32: {
		uint32_t u32 = (uint32_t)v->u;
		float x;

		memcpy(&x, &u32, sizeof(x));
		return x == 0;
	}
	}
	return v->u == 0;
}

static int emit_float(struct dec *d, double x, int bits)
{
	char buf[40];
	int n = k8s_format_float(buf, sizeof(buf), x, bits);

	if (n < 0)
		return verror_set(d->e, -EBADMSG,
				  "a float that is not finite (Go's JSON "
				  "refuses it)");
	return sbuf_add(d->out, buf, (size_t)n);
}

/* One scalar value from the wire (f->type tells which). */
static int emit_scalar(struct dec *d, uint8_t type, const struct pb_field *v)
{
	switch (type) {
	case K8S_T_STRING:
		return k8s_json_string(d->out, v->data, v->len);
	case K8S_T_BYTES: {
		int r;
		char *s = sbuf_reserve(d->out, BASE64_LEN(v->len) + 3, &r);

		if (!s)
			return r;
		s[0] = '"';
		base64_encode(v->data, v->len, s + 1);
		s[1 + BASE64_LEN(v->len)] = '"';
		sbuf_commit(d->out, BASE64_LEN(v->len) + 2);
		return 0;
	}
	case K8S_T_BOOL:
		return sbuf_adds(d->out, v->u ? "true" : "false");
	case K8S_T_INT32:
		return out_i64(d->out, pb_int32(v->u));
	case K8S_T_INT64:
		return out_i64(d->out, pb_int64(v->u));
	case K8S_T_UINT32:
		return out_u64(d->out, (uint32_t)v->u);
	case K8S_T_UINT64:
		return out_u64(d->out, v->u);
	case K8S_T_FLOAT64: {
		double x;

		memcpy(&x, &v->u, sizeof(x));
		return emit_float(d, x, 64);
	}
	case K8S_T_FLOAT32: {
		uint32_t u32 = (uint32_t)v->u;
		float x;

		memcpy(&x, &u32, sizeof(x));
		return emit_float(d, x, 32);
	}
	}
	return -EINVAL;
}

static int emit_elem(struct dec *d, const struct k8s_field *f,
		     const struct pb_field *v)
{
	if (f->type == K8S_T_MSG)
		return emit_msg(d, f->msg, v->data, v->len);
	return emit_scalar(d, f->type, v);
}

/* The zero value of a field's type (the field is absent). */
static int emit_zero_value(struct dec *d, const struct k8s_field *f)
{
	if (f->flags & (K8S_F_PTR | K8S_F_SLICE | K8S_F_MAP) ||
	    f->type == K8S_T_BYTES)
		return sbuf_add(d->out, "null", 4);
	switch (f->type) {
	case K8S_T_STRING:
		return sbuf_add(d->out, "\"\"", 2);
	case K8S_T_BOOL:
		return sbuf_add(d->out, "false", 5);
	case K8S_T_MSG:
		return emit_zero_msg(d, f->msg);
	}
	return sbuf_addc(d->out, '0');
}

static bool omit_when_absent(const struct k8s_field *f)
{
	if (!f->json)
		return true;
	if (f->flags & K8S_F_OMITZERO)
		return true; /* absent is zero */
	if (!(f->flags & K8S_F_OMITEMPTY))
		return false;
	/* omitempty: everything but a value struct */
	return f->type != K8S_T_MSG ||
	       (f->flags & (K8S_F_PTR | K8S_F_SLICE | K8S_F_MAP));
}

/* Elements of a repeated field: every occurrence between first and last
 * (packed scalars unpacked). *count gets how many. */
static int emit_elems(struct dec *d, const struct k8s_field *f,
		      const struct occ *o, const uint8_t *p, size_t len,
		      unsigned *count)
{
	struct pb r;
	struct pb_field v;

	pb_init(&r, p + o->first, len - o->first);
	while (pb_offset(&r) + o->first <= o->last && pb_next(&r, &v) > 0) {
		if (v.num != f->tag || !wire_ok(f, v.wire))
			continue;
		if (v.wire == PB_LEN && f->type != K8S_T_MSG &&
		    wire_of(f->type) != PB_LEN) {
			const uint8_t *q = v.data, *end = v.data + v.len;
			struct pb_field e = { .num = v.num };

			while (q < end) {
				if (wire_of(f->type) == PB_VARINT) {
					if (pb_varint(&q, end, &e.u) < 0)
						return verror_set(
							d->e, -EBADMSG,
							"field %s: bad packed "
							"varint",
							f->json ? f->json :
								  "-");
				} else {
					unsigned n = wire_of(f->type) ==
								     PB_I64 ?
							     8 :
							     4,
						 i;

					if ((size_t)(end - q) < n)
						return verror_set(
							d->e, -EBADMSG,
							"field %s: bad packed "
							"value",
							f->json ? f->json :
								  "-");
					for (e.u = 0, i = 0; i < n; i++)
						e.u |= (uint64_t)q[i]
						       << (8 * i);
					q += n;
				}
				if ((*count)++)
					TRY(sbuf_addc(d->out, ','));
				TRY(emit_scalar(d, f->type, &e));
			}
			continue;
		}
		if ((*count)++)
			TRY(sbuf_addc(d->out, ','));
		TRY(emit_elem(d, f, &v));
	}
	return 0;
}

static int ment_cmp(const void *a, const void *b)
{
	const struct ment *x = a, *y = b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->key, y->key, n);

	if (c)
		return c;
	if (x->klen != y->klen)
		return x->klen < y->klen ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A map: entries {key=1, value=2}; Go keeps the last of equal keys. */
static int emit_map(struct dec *d, const struct k8s_field *f,
		    const struct occ *o, const uint8_t *p, size_t len)
{
	struct k8s_field vf = *f;
	size_t base = d->nment, i, n;
	struct pb r;
	struct pb_field v;
	bool first = true;
	int rc = 0;

	bool list = f->type == K8S_T_MSG &&
		    k8s_msgs[f->msg].special == K8S_S_LIST;

	vf.flags &= (uint8_t) ~(K8S_F_MAP | K8S_F_SLICE | K8S_F_PTR);
	pb_init(&r, p + o->first, len - o->first);
	while (pb_offset(&r) + o->first <= o->last && pb_next(&r, &v) > 0) {
		struct pb er;
		struct pb_field ef;
		struct ment m = { .key = (const uint8_t *)"", .seq = 0 };

		if (v.num != f->tag || !wire_ok(f, v.wire))
			continue;
		pb_init(&er, v.data, v.len);
		while ((rc = pb_next(&er, &ef)) > 0) {
			if (ef.num == 1 && ef.wire == PB_LEN) {
				m.key = ef.data;
				m.klen = ef.len;
			} else if (ef.num == 2 && ef.wire == wire_of(f->type)) {
				m.val = ef;
				m.has_val = true;
			} else {
				note(d,
				     "map %s: entry field %u (wire type %d) "
				     "left out",
				     f->json ? f->json : "-", ef.num,
				     (int)ef.wire);
			}
		}
		if (rc < 0) {
			rc = verror_set(d->e, -EBADMSG, "map %s: %s",
					f->json ? f->json : "-", er.err);
			goto out;
		}
		if (d->nment == d->capment) {
			size_t cap = d->capment ? d->capment * 2 : 64;
			struct ment *nm = realloc(d->ment, cap * sizeof(*nm));

			if (!nm) {
				rc = -ENOMEM;
				goto out;
			}
			d->ment = nm;
			d->capment = cap;
		}
		m.seq = (uint32_t)(d->nment - base);
		d->ment[d->nment++] = m;
	}
	n = d->nment - base;
	qsort(d->ment + base, n, sizeof(*d->ment), ment_cmp);
	if ((rc = sbuf_addc(d->out, '{')) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		/* each entry's address may move while values are decoded
		 * (a map inside a value grows the stack): index, don't
		 * point */
		struct ment m = d->ment[base + i];

		if (i + 1 < n && d->ment[base + i + 1].klen == m.klen &&
		    !memcmp(d->ment[base + i + 1].key, m.key, m.klen))
			continue; /* a later entry has the same key */
		if (!first && (rc = sbuf_addc(d->out, ',')) < 0)
			goto out;
		first = false;
		if ((rc = k8s_json_string(d->out, m.key, m.klen)) < 0 ||
		    (rc = sbuf_addc(d->out, ':')) < 0)
			goto out;
		/* gogo starts from an empty value: "", []byte{}, a zero
		 * message, and for a named slice &ExtraValue{}: an empty
		 * slice, not nil */
		if (list)
			d->list_nonnil = true;
		if (!m.has_val && f->type == K8S_T_BYTES)
			rc = sbuf_add(d->out, "\"\"", 2);
		else if (!m.has_val && list)
			rc = sbuf_add(d->out, "[]", 2);
		else if (!m.has_val)
			rc = emit_zero_value(d, &vf);
		else
			rc = emit_elem(d, &vf, &m.val);
		d->list_nonnil = false;
		if (rc < 0)
			goto out;
	}
	rc = sbuf_addc(d->out, '}');
out:
	d->nment = base;
	return rc;
}

/* One field of a message with its key (or nothing, as Go would omit it). */
static int emit_field(struct dec *d, const struct k8s_field *f,
		      const struct occ *o, const uint8_t *p, size_t len,
		      bool *first)
{
	struct pb_field v;

	if (f->flags & K8S_F_INLINE) {
		if (!o->n)
			return f->flags & K8S_F_PTR ?
				       0 :
				       emit_zero_fields(d, f->msg, first);
		if (o->n > 1)
			return verror_set(d->e, -EBADMSG,
					  "%s: inlined field %u appears %u "
					  "times",
					  msg_name(f->msg), f->tag, o->n);
		read_at(p, len, o->first, &v);
		if (++d->depth > MAX_DEPTH)
			return verror_set(d->e, -EBADMSG,
					  "messages nested too deep");
		TRY(emit_fields(d, f->msg, v.data, v.len, first));
		d->depth--;
		return 0;
	}
	if (!o->n) {
		if (omit_when_absent(f))
			return 0;
		TRY(out_key(d, f->json, first));
		return emit_zero_value(d, f);
	}
	if (!f->json)
		return 0; /* json:"-": Go decodes it and drops it */
	if (f->flags & K8S_F_MAP) {
		TRY(out_key(d, f->json, first));
		return emit_map(d, f, o, p, len);
	}
	if (f->flags & K8S_F_SLICE) {
		size_t mark = d->out->len;
		bool was_first = *first;
		unsigned count = 0;

		TRY(out_key(d, f->json, first));
		TRY(sbuf_addc(d->out, '['));
		TRY(emit_elems(d, f, o, p, len, &count));
		if (count)
			return sbuf_addc(d->out, ']');
		/* packed fields without elements: still a nil slice */
		out_truncate(d->out, mark);
		*first = was_first;
		if (omit_when_absent(f))
			return 0;
		TRY(out_key(d, f->json, first));
		return sbuf_add(d->out, "null", 4);
	}
	/* singular: the last occurrence wins for scalars (Go overwrites);
	 * a message twice would be merged by Go: refused here */
	if (f->type == K8S_T_MSG && o->n > 1)
		return verror_set(d->e, -EBADMSG,
				  "%s: field %u (%s) appears %u times",
				  msg_name(f->msg), f->tag,
				  f->json ? f->json : "-", o->n);
	read_at(p, len, o->last, &v);
	if (f->type != K8S_T_MSG) {
		if (!(f->flags & K8S_F_PTR) && (f->flags & K8S_F_OMITEMPTY) &&
		    scalar_zero(f, &v))
			return 0;
		TRY(out_key(d, f->json, first));
		return emit_scalar(d, f->type, &v);
	}
	if (f->flags & K8S_F_OMITZERO) {
		/* only Time and MicroTime (the generator checks): IsZero */
		size_t mark = d->out->len;
		bool was_first = *first;

		TRY(out_key(d, f->json, first));
		TRY(emit_msg(d, f->msg, v.data, v.len));
		if (d->out->len - mark >= 4 &&
		    !memcmp(d->out->buf + d->out->len - 4, "null", 4)) {
			out_truncate(d->out, mark);
			*first = was_first;
		}
		return 0;
	}
	TRY(out_key(d, f->json, first));
	return emit_msg(d, f->msg, v.data, v.len);
}

/* The top-level metadata's resourceVersion: not stored, the revision
 * (k8s_object_to_json()). */
static bool is_rv(const struct dec *d, unsigned mi, const struct k8s_field *f)
{
	return d->depth == 1 && (int)mi == d->meta_msg && f->json &&
	       !strcmp(f->json, "resourceVersion");
}

static int emit_rv(struct dec *d, bool *first)
{
	TRY(out_key(d, "resourceVersion", first));
	return k8s_json_string(d->out, d->rv, strlen(d->rv));
}

static int emit_zero_fields(struct dec *d, unsigned mi, bool *first)
{
	const struct k8s_msg *m = &k8s_msgs[mi];
	static const struct occ none;
	unsigned i;

	if (++d->depth > MAX_DEPTH)
		return verror_set(d->e, -EBADMSG, "messages nested too deep");
	for (i = 0; i < m->nfields; i++) {
		if (is_rv(d, mi, &m->fields[i]))
			TRY(emit_rv(d, first));
		else
			TRY(emit_field(d, &m->fields[i], &none, NULL, 0,
				       first));
	}
	d->depth--;
	return 0;
}

static int emit_fields(struct dec *d, unsigned mi, const uint8_t *p, size_t len,
		       bool *first)
{
	const struct k8s_msg *m = &k8s_msgs[mi];
	size_t base;
	unsigned i;
	int r;

	if ((r = scan(d, mi, p, len, &base)) < 0)
		return r;
	for (i = 0; i < m->nfields; i++) {
		/* copy: the occurrence stack may move under nested scans */
		struct occ o = d->occ[base + i];

		if (is_rv(d, mi, &m->fields[i])) {
			if ((r = emit_rv(d, first)) < 0)
				return r;
			continue;
		}
		if ((r = emit_field(d, &m->fields[i], &o, p, len, first)) < 0)
			return r;
	}
	d->nocc = base;
	return 0;
}

/* The zero value of a message type (a value struct that is absent). */
static int emit_zero_msg(struct dec *d, unsigned mi)
{
	bool first = true;

	switch (k8s_msgs[mi].special) {
	case K8S_S_NONE:
		TRY(sbuf_addc(d->out, '{'));
		TRY(emit_zero_fields(d, mi, &first));
		return sbuf_addc(d->out, '}');
	case K8S_S_DURATION:
		return sbuf_adds(d->out, "\"0s\"");
	case K8S_S_INTORSTRING:
		return sbuf_addc(d->out, '0');
	case K8S_S_QUANTITY:
		return sbuf_adds(d->out, "\"0\"");
	case K8S_S_OR_BOOL:
		return sbuf_adds(d->out, "false");
	}
	/* Time, MicroTime, raw JSON, nil schema, nil list */
	return sbuf_add(d->out, "null", 4);
}

/* The last occurrence of field number tag of a hand-rendered message
 * (scan() checked its wire type); false when absent. */
static bool last_of(const struct dec *d, unsigned mi, size_t base, uint32_t tag,
		    const uint8_t *p, size_t len, struct pb_field *v)
{
	int i = find_field(&k8s_msgs[mi], tag);

	if (i < 0 || !d->occ[base + (size_t)i].n)
		return false;
	read_at(p, len, d->occ[base + (size_t)i].last, v);
	return true;
}

static int emit_raw(struct dec *d, unsigned mi, const struct pb_field *raw,
		    bool have)
{
	uint8_t c;

	if (!have || (k8s_msgs[mi].special == K8S_S_JSON && !raw->len))
		return sbuf_add(d->out, "null", 4);
	c = raw->len ? raw->data[0] : 0;
	if (c == 0xd9 || (c >= 0xa0 && c <= 0xbf) || c == 0xf6)
		return bad(d, mi, "CBOR content is not supported");
	if (!raw->len || !k8s_json_valid(raw->data, raw->len))
		return bad(d, mi,
			   "raw content is not JSON (Go's JSON refuses it)");
	return sbuf_add(d->out, raw->data, raw->len);
}

static int emit_special(struct dec *d, unsigned mi, size_t base,
			const uint8_t *p, size_t len)
{
	const struct k8s_msg *m = &k8s_msgs[mi];
	struct pb_field v, w;
	char buf[64];
	int n;

	switch (m->special) {
	case K8S_S_TIME:
	case K8S_S_MICROTIME: {
		int64_t sec = 0, nsec = 0;

		if (last_of(d, mi, base, 1, p, len, &v))
			sec = pb_int64(v.u);
		if (m->special == K8S_S_MICROTIME &&
		    last_of(d, mi, base, 2, p, len, &v))
			nsec = pb_int32(v.u) / 1000 * 1000;
		/* time.Unix(sec, nsec): nsec normalised into [0, 1e9) */
		sec += nsec / 1000000000;
		nsec %= 1000000000;
		if (nsec < 0)
			nsec += 1000000000, sec--;
		if (!len || (sec == -62135596800LL && !nsec))
			return sbuf_add(d->out, "null", 4);
		/* years 0..9999 and then some; Go itself overflows far
		 * beyond */
		if (sec < -62135596800LL * 10 || sec > 253402300799LL * 10)
			return bad(d, mi, "time out of range");
		n = k8s_format_time(buf, sizeof(buf), sec, (uint32_t)nsec,
				    m->special == K8S_S_MICROTIME);
		TRY(sbuf_addc(d->out, '"'));
		TRY(sbuf_add(d->out, buf, (size_t)n));
		return sbuf_addc(d->out, '"');
	}
	case K8S_S_DURATION:
		n = k8s_format_duration(buf, sizeof(buf),
					last_of(d, mi, base, 1, p, len, &v) ?
						pb_int64(v.u) :
						0);
		TRY(sbuf_addc(d->out, '"'));
		TRY(sbuf_add(d->out, buf, (size_t)n));
		return sbuf_addc(d->out, '"');
	case K8S_S_INTORSTRING: {
		int64_t type =
			last_of(d, mi, base, 1, p, len, &v) ? pb_int64(v.u) : 0;

		if (type == 0)
			return out_i64(d->out,
				       last_of(d, mi, base, 2, p, len, &v) ?
					       pb_int32(v.u) :
					       0);
		if (type == 1) {
			if (!last_of(d, mi, base, 3, p, len, &v))
				return sbuf_add(d->out, "\"\"", 2);
			return k8s_json_string(d->out, v.data, v.len);
		}
		return bad(d, mi, "type is neither 0 nor 1");
	}
	case K8S_S_QUANTITY:
		if (!last_of(d, mi, base, 1, p, len, &v))
			return sbuf_adds(d->out, "\"0\"");
		/* written by Quantity.String(): canonical, read back as
		 * is */
		if (!v.len)
			return bad(d, mi, "empty quantity");
		return k8s_json_string(d->out, v.data, v.len);
	case K8S_S_RAW:
	case K8S_S_JSON: {
		bool have = last_of(d, mi, base, 1, p, len, &v);

		return emit_raw(d, mi, &v, have);
	}
	case K8S_S_OR_BOOL:
		if (d->occ[base + 1].n > 1)
			return bad(d, mi, "schema appears twice");
		if (last_of(d, mi, base, 2, p, len, &v))
			return emit_msg(d, m->fields[1].msg, v.data, v.len);
		return sbuf_adds(d->out,
				 last_of(d, mi, base, 1, p, len, &w) && w.u ?
					 "true" :
					 "false");
	case K8S_S_OR_ARRAY:
	case K8S_S_OR_STRINGS:
	case K8S_S_LIST: {
		/* the array field when it has elements, else the schema,
		 * else null */
		int ai = m->special == K8S_S_LIST ? 0 : 1;
		int si = m->special == K8S_S_LIST ? -1 : 0;
		struct occ oa = d->occ[base + (size_t)ai];
		size_t mark = d->out->len;
		unsigned count = 0;

		if (oa.n) {
			TRY(sbuf_addc(d->out, '['));
			TRY(emit_elems(d, &m->fields[ai], &oa, p, len, &count));
			if (count)
				return sbuf_addc(d->out, ']');
			out_truncate(d->out, mark);
		}
		if (si >= 0 && d->occ[base + (size_t)si].n) {
			struct occ os = d->occ[base + (size_t)si];

			if (os.n > 1)
				return bad(d, mi, "schema appears twice");
			read_at(p, len, os.last, &v);
			return emit_msg(d, m->fields[si].msg, v.data, v.len);
		}
		if (m->special == K8S_S_LIST && d->list_nonnil)
			return sbuf_add(d->out, "[]", 2);
		return sbuf_add(d->out, "null", 4);
	}
	}
	return bad(d, mi, "unknown special type");
}

static int emit_msg(struct dec *d, unsigned mi, const uint8_t *p, size_t len)
{
	size_t base;
	int r;

	if (++d->depth > MAX_DEPTH)
		return verror_set(d->e, -EBADMSG, "messages nested too deep");
	if (k8s_msgs[mi].special == K8S_S_NONE) {
		bool first = true;

		TRY(sbuf_addc(d->out, '{'));
		TRY(emit_fields(d, mi, p, len, &first));
		TRY(sbuf_addc(d->out, '}'));
	} else {
		TRY(scan(d, mi, p, len, &base));
		r = emit_special(d, mi, base, p, len);
		d->nocc = base;
		if (r < 0)
			return r;
	}
	d->depth--;
	return 0;
}

/* ---- the envelope ------------------------------------------------------ */

static int kind_cmp(const char *av, size_t avlen, const char *k, size_t klen,
		    const struct k8s_kind *e)
{
	size_t n = strlen(e->api_version);
	int c = memcmp(av, e->api_version, avlen < n ? avlen : n);

	if (c || avlen != n)
		return c ? c : (avlen < n ? -1 : 1);
	n = strlen(e->kind);
	c = memcmp(k, e->kind, klen < n ? klen : n);
	if (c || klen != n)
		return c ? c : (klen < n ? -1 : 1);
	return 0;
}

int k8s_kind_find(const char *api_version, size_t avlen, const char *kind,
		  size_t klen)
{
	int lo = 0, hi = (int)k8s_nkinds - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		int c = kind_cmp(api_version, avlen, kind, klen,
				 &k8s_kinds[mid]);

		if (!c)
			return mid;
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return -1;
}

static const char k8s_magic[4] = { 'k', '8', 's', 0 };

bool k8s_kind_known(const char *api_version, const char *kind)
{
	return api_version && kind &&
	       k8s_kind_find(api_version, strlen(api_version), kind,
			     strlen(kind)) >= 0;
}

static const uint8_t *skip_value(const uint8_t *p, const uint8_t *end);

/* The top-level "apiVersion" and "kind" of a JSON object, when both are
 * plain strings (no escapes): true and the spans set. */
static bool top_type(const uint8_t *p, size_t len, const uint8_t **av,
		     size_t *avlen, const uint8_t **kind, size_t *klen)
{
	const uint8_t *end = p + len;

	*av = *kind = NULL;
	p = json_ws(p, end);
	if (p >= end || *p++ != '{')
		return false;
	for (;;) {
		const uint8_t *k, *v;
		size_t kl;

		p = json_ws(p, end);
		if (p >= end || *p == '}')
			break;
		k = p;
		if (!(p = json_str(p, end)))
			return false;
		kl = (size_t)(p - k);
		p = json_ws(p, end);
		if (p >= end || *p++ != ':')
			return false;
		v = json_ws(p, end);
		if (!(p = skip_value(v, end)))
			return false;
		if (*v == '"' && !memchr(v, '\\', (size_t)(p - v))) {
			if (kl == 12 && !memcmp(k, "\"apiVersion\"", 12))
				*av = v + 1, *avlen = (size_t)(p - v - 2);
			else if (kl == 6 && !memcmp(k, "\"kind\"", 6))
				*kind = v + 1, *klen = (size_t)(p - v - 2);
		}
		p = json_ws(p, end);
		if (p < end && *p == ',')
			p++;
	}
	return *av && *kind;
}

static int set_rv(struct sbuf *json, size_t mark, int64_t mod_revision,
		  struct verror *e);

/* k8s_value_to_json(), and with rev >= 0 k8s_object_to_json(). */
static int decode(const void *val, size_t len, int64_t rev, struct sbuf *json,
		  struct sbuf *notes, struct verror *e)
{
	const uint8_t *p = val;
	struct pb r;
	struct pb_field f;
	const uint8_t *raw = NULL, *av = NULL, *kind = NULL;
	size_t rawlen = 0, avlen = 0, kindlen = 0;
	struct dec d = { .out = json, .notes = notes, .e = e, .meta_msg = -1 };
	size_t mark = json->len, nmark = notes ? notes->len : 0;
	bool first = false;
	int rc, ki, fix;
	const char *out_av;
	size_t out_avlen;

	if (len && p[0] == '{') {
		/* JSON: custom resources (unstructured: as stored), and a
		 * few built-in kinds (CRDs: apiextensions.k8s.io/v1beta1),
		 * which get their read-time defaults and conversion */
		fix = top_type(p, len, &av, &avlen, &kind, &kindlen) ?
			      k8s_read_fix_find((const char *)av, avlen,
						(const char *)kind, kindlen) :
			      -1;
		rc = sbuf_add(json, val, len);
		if (rc >= 0 && fix >= 0)
			rc = k8s_read_fix(fix, json, mark, rev, e);
		if (rc >= 0 && (fix < 0 || rc == 1))
			rc = rev >= 0 ? set_rv(json, mark, rev, e) : 0;
		if (rc < 0) {
			out_truncate(json, mark);
			if (rc != -ENOMEM && rc != -E2BIG)
				rc = -EBADMSG;
		}
		return rc;
	}
	if (len >= 3 && p[0] == 0xd9 && p[1] == 0xd9 && p[2] == 0xf7)
		return verror_set(e, -EBADMSG, "a CBOR value (not supported)");
	if (len < 4 || memcmp(p, k8s_magic, 4))
		return verror_set(e, -EBADMSG,
				  "neither JSON nor a \"k8s\\0\" protobuf "
				  "value");
	pb_init(&r, p + 4, len - 4);
	while ((rc = pb_next(&r, &f)) > 0) {
		if (f.wire != PB_LEN) {
			continue;
		} else if (f.num == 1) {
			struct pb tr;
			struct pb_field tf;

			pb_init(&tr, f.data, f.len);
			while ((rc = pb_next(&tr, &tf)) > 0) {
				if (tf.wire != PB_LEN)
					continue;
				if (tf.num == 1)
					av = tf.data, avlen = tf.len;
				else if (tf.num == 2)
					kind = tf.data, kindlen = tf.len;
			}
			if (rc < 0)
				return verror_set(e, -EBADMSG,
						  "envelope's typeMeta: %s",
						  tr.err);
		} else if (f.num == 2) {
			raw = f.data, rawlen = f.len;
		} else if ((f.num == 3 || f.num == 4) && f.len) {
			/* contentEncoding, contentType: the apiserver
			 * leaves both empty for protobuf */
			return verror_set(e, -EBADMSG,
					  "envelope with content %s \"%.*s\" "
					  "(not supported)",
					  f.num == 3 ? "encoding" : "type",
					  (int)(f.len > 64 ? 64 : f.len),
					  (const char *)f.data);
		}
	}
	if (rc < 0)
		return verror_set(e, -EBADMSG, "envelope: %s", r.err);
	if (!av)
		av = (const uint8_t *)""; /* memcmp wants a pointer */
	if (!raw)
		raw = (const uint8_t *)""; /* no raw: an empty message */
	if (!kindlen)
		return verror_set(e, -EBADMSG, "envelope without a kind");
	ki = k8s_kind_find((const char *)av, avlen, (const char *)kind,
			   kindlen);
	if (ki < 0)
		return verror_set(e, -EBADMSG,
				  "no decoding table for %.*s %.*s (this "
				  "velerofs knows the types of Kubernetes "
				  "1.34)",
				  (int)(avlen > 128 ? 128 : avlen),
				  (const char *)av,
				  (int)(kindlen > 128 ? 128 : kindlen),
				  (const char *)kind);
	/* the version kubectl shows: the stored one, unless the apiserver
	 * does not serve it */
	out_av = (const char *)av;
	out_avlen = avlen;
	if (k8s_kinds[ki].served_as) {
		out_av = k8s_kinds[ki].served_as;
		out_avlen = strlen(out_av);
	}
	if (rev >= 0) {
		const struct k8s_msg *top = &k8s_msgs[k8s_kinds[ki].msg];
		int mf = find_field(top, 1);

		/* every stored kind has ObjectMeta as field 1 "metadata" */
		if (mf >= 0 && top->fields[mf].type == K8S_T_MSG &&
		    top->fields[mf].json &&
		    !strcmp(top->fields[mf].json, "metadata"))
			d.meta_msg = top->fields[mf].msg;
		snprintf(d.rv, sizeof(d.rv), "%" PRId64, rev);
	}
	rc = sbuf_add(json, "{\"apiVersion\":", 14);
	if (rc >= 0)
		rc = k8s_json_string(json, out_av, out_avlen);
	if (rc >= 0)
		rc = sbuf_add(json, ",\"kind\":", 8);
	if (rc >= 0)
		rc = k8s_json_string(json, kind, kindlen);
	if (rc >= 0)
		rc = emit_fields(&d, k8s_kinds[ki].msg, raw, rawlen, &first);
	if (rc >= 0)
		rc = sbuf_addc(json, '}');
	fix = k8s_read_fix_find((const char *)av, avlen, (const char *)kind,
				kindlen);
	if (rc >= 0 && fix >= 0)
		rc = k8s_read_fix(fix, json, mark, rev, e);
	if (rc >= 0 && rev >= 0 && d.meta_msg < 0)
		rc = set_rv(json, mark, rev, e);
	if (rc > 0)
		rc = 0;
	free(d.occ);
	free(d.ment);
	if (rc < 0) {
		out_truncate(json, mark);
		if (notes)
			out_truncate(notes, nmark);
		if (rc != -EBADMSG && rc != -ENOMEM && rc != -E2BIG)
			rc = -EBADMSG;
		if (rc == -E2BIG)
			verror_set(e, rc, "the JSON is larger than its cap");
		return rc;
	}
	return 0;
}

/* ---- metadata.resourceVersion ------------------------------------------ */

static int sbuf_insert(struct sbuf *b, size_t pos, const char *s, size_t n)
{
	int r;
	char *p = sbuf_reserve(b, n, &r);

	if (!p)
		return r;
	memmove(b->buf + pos + n, b->buf + pos, b->len - pos);
	memcpy(b->buf + pos, s, n);
	sbuf_commit(b, n);
	return 0;
}

/* Past one JSON value at p (the text is valid or -1 comes back). */
static const uint8_t *skip_value(const uint8_t *p, const uint8_t *end)
{
	unsigned depth = 0;

	do {
		p = json_ws(p, end);
		if (p >= end)
			return NULL;
		if (*p == '"') {
			if (!(p = json_str(p, end)))
				return NULL;
		} else if (*p == '{' || *p == '[') {
			depth++;
			p++;
		} else if (*p == '}' || *p == ']') {
			if (!depth--)
				return NULL;
			p++;
		} else if (*p == ',' || *p == ':') {
			if (!depth)
				return NULL;
			p++;
		} else {
			const uint8_t *s = p;

			while (p < end && !memchr(",:{}[]\" \t\r\n", *p, 10))
				p++;
			if (p == s)
				return NULL; /* a byte no JSON value starts with
					      */
		}
	} while (depth);
	return p;
}

/* Sets metadata.resourceVersion of the JSON object in json from mark on
 * (a JSON value that passed through): replaced when there, added to
 * metadata (made when missing) otherwise. */
static int set_rv(struct sbuf *json, size_t mark, int64_t mod_revision,
		  struct verror *e)
{
	size_t ins;
	const uint8_t *p, *end, *k;
	char rv[48];
	int n, r;

	p = (const uint8_t *)json->buf + mark;
	end = (const uint8_t *)json->buf + json->len;
	n = snprintf(rv, sizeof(rv), "\"resourceVersion\":\"%" PRId64 "\"",
		     mod_revision);
	p = json_ws(p, end);
	if (p >= end || *p != '{')
		goto bad;
	ins = (size_t)(++p - (const uint8_t *)json->buf);
	for (;;) {
		bool meta;

		p = json_ws(p, end);
		if (p < end && *p == '}')
			break;
		k = p;
		if (!(p = json_str(p, end)))
			goto bad;
		meta = p - k == 10 && !memcmp(k, "\"metadata\"", 10);
		p = json_ws(p, end);
		if (p >= end || *p++ != ':')
			goto bad;
		p = json_ws(p, end);
		if (meta && p < end && *p == '{') {
			/* into metadata: replace a resourceVersion there,
			 * or add one */
			size_t at =
				(size_t)(p + 1 - (const uint8_t *)json->buf);
			const uint8_t *q = json_ws(p + 1, end);
			bool empty_meta = q < end && *q == '}';

			while (q < end && *q != '}') {
				const uint8_t *mk = q, *vs;
				bool is_rv;

				if (!(q = json_str(q, end)))
					goto bad;
				is_rv = q - mk == 17 &&
					!memcmp(mk, "\"resourceVersion\"", 17);
				q = json_ws(q, end);
				if (q >= end || *q++ != ':')
					goto bad;
				vs = json_ws(q, end);
				if (!(q = skip_value(vs, end)))
					goto bad;
				if (is_rv) {
					size_t a = (size_t)(mk -
							    (const uint8_t *)
								    json->buf);
					size_t b =
						(size_t)(q - (const uint8_t *)
								     json->buf);

					memmove(json->buf + a, json->buf + b,
						json->len - b + 1);
					json->len -= b - a;
					r = sbuf_insert(json, a, rv, (size_t)n);
					goto done;
				}
				q = json_ws(q, end);
				if (q < end && *q == ',')
					q = json_ws(q + 1, end);
			}
			r = sbuf_insert(json, at, rv, (size_t)n);
			if (r >= 0 && !empty_meta)
				r = sbuf_insert(json, at + (size_t)n, ",", 1);
			goto done;
		}
		if (!(p = skip_value(p, end)))
			goto bad;
		p = json_ws(p, end);
		if (p < end && *p == ',')
			p++;
	}
	/* no metadata object: add one (as SetResourceVersion would) */
	{
		bool empty_top =
			json->buf[ins] == '}' ||
			json_ws((const uint8_t *)json->buf + ins, end) == p;

		r = sbuf_insert(json, ins, "\"metadata\":{", 12);
		if (r >= 0)
			r = sbuf_insert(json, ins + 12, rv, (size_t)n);
		if (r >= 0)
			r = sbuf_insert(json, ins + 12 + (size_t)n,
					empty_top ? "}" : "},",
					empty_top ? 1 : 2);
	}
	goto done;
bad:
	r = verror_set(e, -EBADMSG, "the object is not a JSON object");
done:
	return r;
}

int k8s_value_to_json(const void *val, size_t len, struct sbuf *json,
		      struct sbuf *notes, struct verror *e)
{
	return decode(val, len, -1, json, notes, e);
}

int k8s_object_to_json(const void *val, size_t len, int64_t mod_revision,
		       struct sbuf *json, struct sbuf *notes, struct verror *e)
{
	return decode(val, len, mod_revision < 0 ? 0 : mod_revision, json,
		      notes, e);
}
