/* k8s_enc.c: a JSON object of a built-in kind -> the protobuf form
 * kube-apiserver reads (Content-Type application/vnd.kubernetes.protobuf):
 * "k8s\0" + runtime.Unknown{typeMeta{apiVersion, kind}, raw, "", ""},
 * raw being the kind's message, encoded with the same generated tables
 * (k8s_types.c) that k8s.c decodes with.
 *
 * Exact or nothing: what the API server would decode from the protobuf
 * must be what it decodes from the JSON (sigs.k8s.io/json, as Go's
 * encoding/json with case-sensitive names). Anything else makes the
 * whole object -EOPNOTSUPP and the caller sends the JSON: a key the table
 * does not know (the API server drops unknown fields from JSON, and a
 * protobuf message cannot carry them), a value of the wrong JSON type, a
 * number out of its field's range or not an integer where one is wanted,
 * base64 that Go would read differently, a time Go's RFC 3339 parser would
 * refuse or read otherwise, a null where Go's zero value would not be an
 * absent field. Values Go reads by hand from JSON:
 *   Time       RFC 3339 ("2006-01-02T15:04:05Z07:00", fraction optional)
 *              -> Timestamp{seconds=1, nanos=2}; MicroTime the same with
 *              exactly six fractional digits (RFC3339Micro's layout)
 *   IntOrString  a number (int32) -> {type=1: 0, intVal=2}; a string ->
 *              {type: 1, strVal=3}
 *   Quantity   a string without surrounding blanks (Go trims them from
 *              JSON but not from protobuf) or an integer -> {string=1};
 *              the API server parses it either way
 *   RawExtension, FieldsV1, apiextensions JSON: the value's text as
 *              jansson writes it with JSON_COMPACT | JSON_ENCODE_ANY,
 *              which is the text kube_request() sends: Go keeps those
 *              bytes as they came
 *   JSONSchemaPropsOrArray / OrBool / OrStringArray: an object ->
 *              the schema; an array / a bool -> the other field
 *   ExtraValue-like named slices: {items=1}
 *   Duration   (in no kind of the tables): refused.
 * Maps are written with their keys sorted (as Go does), fields in the
 * order of their numbers; repeated scalars unpacked (proto2, as
 * Kubernetes' messages are). No state; thread-safe. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/macro.h"
#include "common/rfc3339.h"
#include "etcd/etcd.h"
#include "etcd/k8s_i.h"
#include "etcd/k8s_types_i.h"
#include "etcd/pb_i.h"

#define ENC_MAX_DEPTH 200

struct enc {
	struct sbuf *out;
	struct verror *e;
	unsigned depth;
	const char *path[ENC_MAX_DEPTH + 2]; /* JSON keys, for messages */
};

/* ---- the wire ----------------------------------------------------------- */

static int put_varint(struct sbuf *b, uint64_t v)
{
	uint8_t buf[10];
	size_t n = 0;

	while (v >= 0x80) {
		buf[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	buf[n++] = (uint8_t)v;
	return sbuf_add(b, buf, n);
}

static int put_tag(struct sbuf *b, uint32_t num, enum pb_wire w)
{
	return put_varint(b, (uint64_t)num << 3 | (uint64_t)w);
}

static int put_bytes(struct sbuf *b, uint32_t num, const void *p, size_t n)
{
	TRY(put_tag(b, num, PB_LEN));
	TRY(put_varint(b, n));
	return sbuf_add(b, p, n);
}

/* A length-delimited field whose content is written after begin_len():
 * end_len() puts the length in front of it. */
static int begin_len(struct enc *x, uint32_t num, size_t *mark)
{
	TRY(put_tag(x->out, num, PB_LEN));
	*mark = x->out->len;
	return 0;
}

static int end_len(struct enc *x, size_t mark)
{
	size_t n = x->out->len - mark, k = 0;
	uint8_t buf[10];
	uint64_t v = n;
	char *p;
	int r;

	do {
		buf[k++] = (uint8_t)(v >= 0x80 ? (v | 0x80) : v);
		v >>= 7;
	} while (v);
	p = sbuf_reserve(x->out, k, &r);
	if (!p)
		return r;
	memmove(x->out->buf + mark + k, x->out->buf + mark, n);
	memcpy(x->out->buf + mark, buf, k);
	sbuf_commit(x->out, k);
	return 0;
}

/* ---- refusals ------------------------------------------------------------ */

static int refuse(struct enc *x, const char *why)
{
	char where[512];
	size_t n = 0;

	where[0] = 0;
	for (unsigned i = 1; i <= x->depth && n < sizeof(where) - 1; i++)
		if (x->path[i])
			n += (size_t)snprintf(where + n, sizeof(where) - n,
					      "%s%s", n ? "." : "", x->path[i]);
	if (n >= sizeof(where))
		n = sizeof(where) - 1;
	return verror_set(x->e, -EOPNOTSUPP, "%s%s%s", where, n ? ": " : "",
			  why);
}

/* ---- Go's RFC 3339 --------------------------------------------------------
 */

/* time.Parse(time.RFC3339, s), or RFC3339Micro's layout when micro: the
 * same with exactly six fractional digits (a layout's ".000000" wants
 * that many). common/rfc3339 refuses what Go refuses. -1 when refused. */
static int parse_time(const char *s, size_t n, bool micro, int64_t *sec,
		      int32_t *nsec)
{
	uint32_t ns;

	if (micro) {
		size_t k = 20;

		if (n < 20 || (s[19] != '.' && s[19] != ','))
			return -1;
		while (k < n && s[k] >= '0' && s[k] <= '9')
			k++;
		if (k - 20 != 6)
			return -1;
	}
	if (rfc3339_parse(s, n, sec, &ns) < 0)
		return -1;
	*nsec = (int32_t)ns;
	return 0;
}

/* ---- values -------------------------------------------------------------- */

static int enc_msg(struct enc *x, unsigned mi, json_t *v);
static int enc_fields(struct enc *x, unsigned mi, json_t *obj, bool member);
static int enc_elem(struct enc *x, const struct k8s_field *f, json_t *v);

/* The elements of the array v as the repeated field af (a null element
 * refused: Go's zero element is not always an absent one). */
static int enc_array(struct enc *x, const struct k8s_field *af, json_t *v)
{
	size_t i;
	json_t *el;

	if (!json_is_array(v))
		return refuse(x, "not an array");
	json_array_foreach(v, i, el)
	{
		if (json_is_null(el))
			return refuse(x, "null in an array");
		TRY(enc_elem(x, af, el));
	}
	return 0;
}

/* An integer of a field of type t from v: -1 when v is not one or out of
 * its range (Go refuses both). */
static int int_of(uint8_t t, json_t *v, uint64_t *u)
{
	json_int_t i;

	if (!json_is_integer(v))
		return -1;
	i = json_integer_value(v);
	switch (t) {
	case K8S_T_INT32:
		if (i < INT32_MIN || i > INT32_MAX)
			return -1;
		break;
	case K8S_T_UINT32:
		if (i < 0 || i > (json_int_t)UINT32_MAX)
			return -1;
		break;
	case K8S_T_UINT64:
		if (i < 0)
			return -1;
		break;
	default:
		break;
	}
	*u = (uint64_t)(int64_t)i; /* int32 negatives: sign-extended */
	return 0;
}

/* One scalar value (not a message) of field f, with its tag. */
static int enc_scalar(struct enc *x, const struct k8s_field *f, json_t *v)
{
	uint64_t u;

	switch (f->type) {
	case K8S_T_STRING:
		if (!json_is_string(v))
			return refuse(x, "not a string");
		return put_bytes(x->out, f->tag, json_string_value(v),
				 json_string_length(v));
	case K8S_T_BYTES: {
		const char *s = json_string_value(v);
		size_t n = json_string_length(v);
		unsigned char *buf;
		long k;
		int r;

		if (!s)
			return refuse(x, "base64 that is not a string");
		buf = malloc(n / 4 * 3 + 3);
		if (!buf)
			return -ENOMEM;
		/* Go's StdEncoding wants the padding; it skips CR and LF,
		 * which the strict form refuses: those go as JSON */
		k = base64_decode(s, n, BASE64_STRICT, buf, n / 4 * 3 + 3);
		r = k < 0 ? refuse(x, "not canonical base64") :
			    put_bytes(x->out, f->tag, buf, (size_t)k);
		free(buf);
		return r;
	}
	case K8S_T_BOOL:
		if (!json_is_boolean(v))
			return refuse(x, "not a boolean");
		TRY(put_tag(x->out, f->tag, PB_VARINT));
		return put_varint(x->out, json_is_true(v));
	case K8S_T_INT32:
	case K8S_T_INT64:
	case K8S_T_UINT32:
	case K8S_T_UINT64:
		if (int_of(f->type, v, &u) < 0)
			return refuse(x, "not an integer of the field's range");
		TRY(put_tag(x->out, f->tag, PB_VARINT));
		return put_varint(x->out, u);
	case K8S_T_FLOAT64:
	case K8S_T_FLOAT32: {
		double d;
		uint8_t b[8];

		if (!json_is_number(v))
			return refuse(x, "not a number");
		d = json_number_value(v);
		if (f->type == K8S_T_FLOAT64) {
			memcpy(&u, &d, 8);
			TRY(put_tag(x->out, f->tag, PB_I64));
			for (int i = 0; i < 8; i++)
				b[i] = (uint8_t)(u >> (8 * i));
			return sbuf_add(x->out, b, 8);
		} else {
			float fl = (float)d;
			uint32_t w;

			/* Go parses the text as a float32 at once: the
			 * same result only when the double is a float */
			if ((double)fl != d || !isfinite(d))
				return refuse(x, "not exactly a float32");
			memcpy(&w, &fl, 4);
			TRY(put_tag(x->out, f->tag, PB_I32));
			for (int i = 0; i < 4; i++)
				b[i] = (uint8_t)(w >> (8 * i));
			return sbuf_add(x->out, b, 4);
		}
	}
	}
	return refuse(x, "a field type the encoder does not know");
}

/* The raw JSON text of v as kube_request() sends it. */
static int enc_raw(struct enc *x, uint32_t tag, json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	int r;

	if (!s)
		return -ENOMEM;
	r = put_bytes(x->out, tag, s, strlen(s));
	free(s);
	return r;
}

/* The fields of a hand-marshalled message (special) from v. */
static int enc_special(struct enc *x, unsigned mi, json_t *v)
{
	const struct k8s_msg *m = &k8s_msgs[mi];
	int64_t sec;
	int32_t ns;

	switch (m->special) {
	case K8S_S_TIME:
	case K8S_S_MICROTIME:
		if (!json_is_string(v) ||
		    parse_time(json_string_value(v), json_string_length(v),
			       m->special == K8S_S_MICROTIME, &sec, &ns) < 0)
			return refuse(x, "not an RFC 3339 time this encoder "
					 "reads as Go does");
		TRY(put_tag(x->out, 1, PB_VARINT));
		TRY(put_varint(x->out, (uint64_t)sec));
		TRY(put_tag(x->out, 2, PB_VARINT));
		return put_varint(x->out, (uint64_t)(int64_t)ns);
	case K8S_S_INTORSTRING:
		if (json_is_string(v)) {
			TRY(put_tag(x->out, 1, PB_VARINT));
			TRY(put_varint(x->out, 1));
			return put_bytes(x->out, 3, json_string_value(v),
					 json_string_length(v));
		}
		if (!json_is_integer(v) || json_integer_value(v) < INT32_MIN ||
		    json_integer_value(v) > INT32_MAX)
			return refuse(x, "neither a string nor an int32");
		TRY(put_tag(x->out, 1, PB_VARINT));
		TRY(put_varint(x->out, 0));
		TRY(put_tag(x->out, 2, PB_VARINT));
		return put_varint(x->out,
				  (uint64_t)(int64_t)json_integer_value(v));
	case K8S_S_QUANTITY: {
		char buf[32];
		const char *s = json_string_value(v);
		size_t n = json_string_length(v);

		if (json_is_integer(v)) {
			n = (size_t)snprintf(buf, sizeof(buf),
					     "%" JSON_INTEGER_FORMAT,
					     json_integer_value(v));
			s = buf;
		}
		if (!s || !n || strchr(" \t\r\n", s[0]) ||
		    strchr(" \t\r\n", s[n - 1]))
			return refuse(x, "a quantity that is neither a string "
					 "without blanks around it nor an "
					 "integer");
		return put_bytes(x->out, 1, s, n);
	}
	case K8S_S_RAW:
	case K8S_S_JSON:
		return enc_raw(x, 1, v);
	case K8S_S_OR_BOOL:
		/* {allows=1, schema=2}; an object: enc_msg() */
		if (!json_is_boolean(v))
			return refuse(x, "neither a bool nor a schema");
		TRY(put_tag(x->out, 1, PB_VARINT));
		return put_varint(x->out, json_is_true(v));
	default:
		break;
	}
	return refuse(x, "a hand-marshalled type the encoder does not write");
}

/* A message as a length-delimited field: tag and length written here. */
static int enc_msg_field(struct enc *x, uint32_t tag, unsigned mi, json_t *v)
{
	size_t mark;

	TRY(begin_len(x, tag, &mark));
	TRY(enc_msg(x, mi, v));
	return end_len(x, mark);
}

/* The content of message mi (no tag, no length) from v. enc_msg() of a
 * special message writes the message whose field 1.. are its parts; for
 * OR_BOOL's schema and OR_ARRAY's the nested schema is a field: see
 * below. */
static int enc_msg(struct enc *x, unsigned mi, json_t *v)
{
	const struct k8s_msg *m = &k8s_msgs[mi];
	int r;

	if (++x->depth > ENC_MAX_DEPTH)
		return refuse(x, "nested too deep");
	x->path[x->depth] = NULL;
	switch (m->special) {
	case K8S_S_NONE:
		r = json_is_object(v) ? enc_fields(x, mi, v, false) :
					refuse(x, "not an object");
		break;
	case K8S_S_OR_BOOL:
	case K8S_S_OR_ARRAY:
	case K8S_S_OR_STRINGS:
		/* the schema is field 2 (OrBool) or 1 (the others); the
		 * array field is 2 */
		if (json_is_object(v)) {
			unsigned si = m->special == K8S_S_OR_BOOL ? 1 : 0;

			r = 0;
			if (m->special == K8S_S_OR_BOOL) {
				r = put_tag(x->out, 1, PB_VARINT);
				if (r >= 0)
					r = put_varint(x->out, 1);
			}
			if (r >= 0)
				r = enc_msg_field(x, m->fields[si].tag,
						  m->fields[si].msg, v);
		} else if (m->special == K8S_S_OR_BOOL) {
			r = enc_special(x, mi, v);
		} else if (json_is_array(v)) {
			r = enc_array(x, &m->fields[1], v);
		} else {
			r = refuse(x, "neither an array nor a schema");
		}
		break;
	case K8S_S_LIST:
		r = enc_array(x, &m->fields[0], v);
		break;
	default:
		r = enc_special(x, mi, v);
		break;
	}
	x->depth--;
	return r;
}

/* One element or value of field f (not null). */
static int enc_elem(struct enc *x, const struct k8s_field *f, json_t *v)
{
	if (f->type == K8S_T_MSG)
		return enc_msg_field(x, f->tag, f->msg, v);
	return enc_scalar(x, f, v);
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A map field: one entry {key=1, value=2} per key, keys sorted. A null
 * value is Go's zero value: an entry without a value, except where the
 * zero is not what an absent value decodes to (bytes: nil against empty;
 * refused). */
static int enc_map(struct enc *x, const struct k8s_field *f, json_t *obj)
{
	size_t n = json_object_size(obj), i = 0;
	const char **keys;
	const char *k;
	json_t *v;
	int r = 0;

	if (!json_is_object(obj))
		return refuse(x, "not an object (a map)");
	keys = malloc((n ? n : 1) * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	json_object_foreach(obj, k, v) keys[i++] = k;
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (i = 0; i < n && r >= 0; i++) {
		struct k8s_field vf = *f;
		size_t mark;

		v = json_object_get(obj, keys[i]);
		vf.tag = 2;
		r = begin_len(x, f->tag, &mark);
		if (r >= 0)
			r = put_bytes(x->out, 1, keys[i], strlen(keys[i]));
		if (r >= 0 && json_is_null(v) && f->type == K8S_T_BYTES)
			r = refuse(x, "null bytes in a map");
		else if (r >= 0 && !json_is_null(v))
			r = enc_elem(x, &vf, v);
		if (r >= 0)
			r = end_len(x, mark);
	}
	free(keys);
	return r;
}

/* Whether message mi (its own fields or those of its inline members)
 * takes the JSON key k. */
static bool takes(unsigned mi, const char *k, unsigned depth)
{
	const struct k8s_msg *m = &k8s_msgs[mi];

	if (m->special != K8S_S_NONE || depth > 8)
		return false;
	for (unsigned i = 0; i < m->nfields; i++) {
		const struct k8s_field *f = &m->fields[i];

		if (f->json && !strcmp(f->json, k))
			return true;
		if (!f->json && (f->flags & K8S_F_INLINE) &&
		    f->type == K8S_T_MSG && takes(f->msg, k, depth + 1))
			return true;
	}
	return false;
}

/* The fields of message mi from the JSON object obj (and the inline
 * members' from the same object), by number. Every key of obj must be
 * taken by some field (checked where the object is a field's value, not
 * again for its inline members: member). */
static int enc_fields(struct enc *x, unsigned mi, json_t *obj, bool member)
{
	const struct k8s_msg *m = &k8s_msgs[mi];
	const char *k;
	json_t *v;

	json_object_foreach(obj, k, v)
	{
		if (!member && !takes(mi, k, 0)) {
			x->path[x->depth] = k;
			return refuse(x, "a field the API server does not "
					 "know");
		}
	}
	for (unsigned i = 0; i < m->nfields; i++) {
		const struct k8s_field *f = &m->fields[i];
		size_t j;
		json_t *el;

		if (!f->json) {
			if (!(f->flags & K8S_F_INLINE) || f->type != K8S_T_MSG)
				continue; /* json:"-": never in JSON */
			if (!f->tag) {
				/* TypeMeta: in the envelope at the top
				 * (checked by the caller); nowhere else on
				 * the wire */
				if (x->depth > 1 &&
				    (json_object_get(obj, "apiVersion") ||
				     json_object_get(obj, "kind")))
					return refuse(x, "a nested apiVersion "
							 "or kind");
				continue;
			}
			{
				size_t mark;

				x->path[x->depth] = NULL;
				TRY(begin_len(x, f->tag, &mark));
				if (k8s_msgs[f->msg].special != K8S_S_NONE)
					return refuse(x, "an inline member "
							 "written by hand");
				TRY(enc_fields(x, f->msg, obj, true));
				TRY(end_len(x, mark));
			}
			continue;
		}
		v = json_object_get(obj, f->json);
		if (!v || json_is_null(v))
			continue; /* Go leaves the zero value: absent */
		x->path[x->depth] = f->json;
		if (!(f->flags & K8S_F_OMITEMPTY) &&
		    (f->flags & (K8S_F_MAP | K8S_F_SLICE)) &&
		    ((json_is_array(v) && !json_array_size(v)) ||
		     (json_is_object(v) && !json_object_size(v))))
			/* Go keeps an empty one apart from nil and shows
			 * it; protobuf can't tell them apart */
			return refuse(x, "empty (not nil) where it shows");
		if (f->flags & K8S_F_MAP) {
			TRY(enc_map(x, f, v));
		} else if (f->flags & K8S_F_SLICE) {
			if (!json_is_array(v))
				return refuse(x, "not an array");
			json_array_foreach(v, j, el)
			{
				if (!json_is_null(el))
					TRY(enc_elem(x, f, el));
				else if (f->type == K8S_T_MSG)
					/* Go's zero element */
					TRY(put_bytes(x->out, f->tag, "", 0));
				else
					return refuse(x, "null in an array");
			}
		} else {
			TRY(enc_elem(x, f, v));
		}
	}
	x->path[x->depth] = NULL;
	return 0;
}

int k8s_json_to_value(json_t *obj, struct sbuf *out, struct verror *e)
{
	struct enc x = { .out = out, .e = e };
	const char *av = json_string_value(json_object_get(obj, "apiVersion"));
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	size_t mark = out->len, tm, raw;
	int ki, r;

	if (!json_is_object(obj) || !av || !kind)
		return verror_set(e, -EINVAL,
				  "not an object with apiVersion "
				  "and kind");
	ki = k8s_kind_find(av, strlen(av), kind, strlen(kind));
	if (ki < 0)
		return verror_set(e, -ENOENT, "%s %s: not a built-in kind", av,
				  kind);
	r = sbuf_add(out, "k8s", 4); /* with the NUL */
	if (r >= 0)
		r = begin_len(&x, 1, &tm);
	if (r >= 0)
		r = put_bytes(out, 1, av, strlen(av));
	if (r >= 0)
		r = put_bytes(out, 2, kind, strlen(kind));
	if (r >= 0)
		r = end_len(&x, tm);
	if (r >= 0)
		r = begin_len(&x, 2, &raw);
	if (r >= 0)
		r = enc_msg(&x, k8s_kinds[ki].msg, obj);
	if (r >= 0)
		r = end_len(&x, raw);
	/* contentEncoding, contentType: empty, as Go writes them */
	if (r >= 0)
		r = put_bytes(out, 3, "", 0);
	if (r >= 0)
		r = put_bytes(out, 4, "", 0);
	if (r < 0) {
		out->len = mark;
		if (out->buf)
			out->buf[mark] = 0;
		if (r == -E2BIG)
			verror_set(e, r, "the protobuf is larger than its cap");
		else if (r == -ENOMEM)
			verror_set(e, r, "out of memory");
	}
	return r;
}
