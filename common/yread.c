/* yread: libyaml events -> jansson values (see yread.h).
 *
 * Scalar resolution follows go-yaml v2's resolve.go for YREAD_GO_YAML
 * (what kubectl applies to the files it is given) and YAML 1.2's core
 * schema for YREAD_CORE. Recursion is bounded by max_depth; every value
 * is charged against max_nodes before it is built. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/macro.h"
#include "common/yread.h"

struct anchor {
	char *name;
	json_t *value; /* owned reference */
	size_t nodes;  /* its size, charged again at each copying alias */
};

struct yread {
	yaml_parser_t parser;
	struct yread_options o;
	struct yread_error *err; /* the caller's, or scratch */
	struct yread_error scratch;
	size_t nodes; /* budget used, the whole stream */
	struct anchor *anchors;
	size_t n_anchors, cap_anchors;
	yaml_event_t root; /* between yread_start() and yread_doc() */
	bool have_root, ended;
};

static int problem(struct yread *y, enum yread_problem what,
		   const yaml_mark_t *m, const char *fmt, ...) _printf_(4, 5);
static int problem(struct yread *y, enum yread_problem what,
		   const yaml_mark_t *m, const char *fmt, ...)
{
	struct yread_error *e = y->err;
	va_list ap;

	e->what = what;
	e->line = m->line + 1;
	e->column = m->column + 1;
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
	return what == YREAD_NODES ? -E2BIG : -EBADMSG;
}

static int next_event(struct yread *y, yaml_event_t *ev)
{
	const char *what, *ctx;

	if (yaml_parser_parse(&y->parser, ev))
		return 0;
	if (y->parser.error == YAML_MEMORY_ERROR)
		return -ENOMEM;
	what = y->parser.problem ? y->parser.problem : "malformed YAML";
	ctx = y->parser.context;
	return problem(y, YREAD_SYNTAX, &y->parser.problem_mark, "%s%s%s", what,
		       ctx ? " " : "", ctx ? ctx : "");
}

static int charge(struct yread *y, size_t n, const yaml_mark_t *m)
{
	if (n > y->o.max_nodes || y->nodes > y->o.max_nodes - n)
		return problem(y, YREAD_NODES, m, "%s", "");
	y->nodes += n;
	return 0;
}

/* ---- anchors ------------------------------------------------------------ */

static void anchors_clear(struct yread *y)
{
	for (size_t i = 0; i < y->n_anchors; i++) {
		free(y->anchors[i].name);
		json_decref(y->anchors[i].value);
	}
	free(y->anchors);
	y->anchors = NULL;
	y->n_anchors = y->cap_anchors = 0;
}

static int anchor_add(struct yread *y, const char *name, json_t *v,
		      size_t nodes)
{
	struct anchor *a;

	/* A later anchor of the same name replaces the earlier (YAML). */
	for (size_t i = 0; i < y->n_anchors; i++) {
		if (!strcmp(y->anchors[i].name, name)) {
			json_decref(y->anchors[i].value);
			y->anchors[i].value = json_incref(v);
			y->anchors[i].nodes = nodes;
			return 0;
		}
	}
	if (y->n_anchors == y->cap_anchors) {
		size_t cap = y->cap_anchors ? 2 * y->cap_anchors : 8;

		a = realloc(y->anchors, cap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		y->anchors = a;
		y->cap_anchors = cap;
	}
	a = &y->anchors[y->n_anchors];
	a->name = strdup(name);
	if (!a->name)
		return -ENOMEM;
	a->value = json_incref(v);
	a->nodes = nodes;
	y->n_anchors++;
	return 0;
}

static const struct anchor *anchor_find(const struct yread *y, const char *name)
{
	for (size_t i = 0; i < y->n_anchors; i++)
		if (!strcmp(y->anchors[i].name, name))
			return &y->anchors[i];
	return NULL;
}

/* ---- scalars: go-yaml v2 (resolve.go) ---------------------------------- */

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

static const char *const yaml_nulls[] = {
	"", "~", "null", "Null", "NULL", NULL
};
static const char *const yaml_trues[] = { "y",	  "Y",	  "yes",  "Yes",
					  "YES",  "on",	  "On",	  "ON",
					  "true", "True", "TRUE", NULL };
static const char *const yaml_falses[] = { "n",	    "N",     "no",    "No",
					   "NO",    "off",   "Off",   "OFF",
					   "false", "False", "FALSE", NULL };
static const char *const yaml_infs[] = { ".inf",  ".Inf",  ".INF",  "+.inf",
					 "+.Inf", "+.INF", "-.inf", "-.Inf",
					 "-.INF", ".nan",  ".NaN",  ".NAN",
					 NULL };

/* Go's strconv.ParseInt(s, 0, 64) after go-yaml removed the '_'s: sign,
 * then 0x / 0o / 0b / leading 0 (octal) / decimal. Sets *neg and the
 * magnitude; false when s is not such an integer or overflows uint64. */
static bool parse_go_int(const char *s, bool *neg, uint64_t *mag)
{
	unsigned base = 10;
	uint64_t v = 0;
	const char *q = s;

	*neg = false;
	if (*q == '+' || *q == '-')
		*neg = *q++ == '-';
	if (!*q)
		return false;
	if (q[0] == '0' && (q[1] == 'x' || q[1] == 'X')) {
		base = 16;
		q += 2;
	} else if (q[0] == '0' && (q[1] == 'o' || q[1] == 'O')) {
		base = 8;
		q += 2;
	} else if (q[0] == '0' && (q[1] == 'b' || q[1] == 'B')) {
		base = 2;
		q += 2;
	} else if (q[0] == '0' && q[1]) {
		base = 8;
		q++;
	}
	if (!*q)
		return false;
	for (; *q; q++) {
		unsigned d;

		if (*q >= '0' && *q <= '9')
			d = *q - '0';
		else if (*q >= 'a' && *q <= 'f')
			d = *q - 'a' + 10;
		else if (*q >= 'A' && *q <= 'F')
			d = *q - 'A' + 10;
		else
			return false;
		if (d >= base)
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*mag = v;
	return true;
}

/* go-yaml's yamlStyleFloat:
 * ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool is_yaml_float(const char *s)
{
	const char *q = s;

	if (*q == '+' || *q == '-')
		q++;
	if (*q == '.') {
		q++;
		if (!isdigit((unsigned char)*q))
			return false;
		while (isdigit((unsigned char)*q))
			q++;
	} else {
		if (!isdigit((unsigned char)*q))
			return false;
		while (isdigit((unsigned char)*q))
			q++;
		if (*q == '.') {
			q++;
			while (isdigit((unsigned char)*q))
				q++;
		}
	}
	if (*q == 'e' || *q == 'E') {
		q++;
		if (*q == '+' || *q == '-')
			q++;
		if (!isdigit((unsigned char)*q))
			return false;
		while (isdigit((unsigned char)*q))
			q++;
	}
	return *q == '\0';
}

static bool is_plain_date(const char *s)
{
	/* YYYY-M(M)-D(D), as go-yaml's "2006-1-2" layout. */
	int y, m, d, n = 0;

	if (strlen(s) < 8 || strlen(s) > 10)
		return false;
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || s[n])
		return false;
	if (!isdigit((unsigned char)s[0]) || s[4] != '-')
		return false;
	return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

/* A number-like plain scalar (s has no NUL inside), or NULL if it is none
 * of go-yaml's numbers and dates. */
static json_t *go_number(const char *s, size_t len)
{
	char buf[64];
	size_t k = 0;
	bool neg;
	uint64_t mag;

	if (len >= sizeof(buf) - 1 || !strchr("+-.0123456789", s[0]))
		return NULL;
	for (size_t i = 0; i < len; i++)
		if (s[i] != '_')
			buf[k++] = s[i];
	buf[k] = '\0';
	if (parse_go_int(buf, &neg, &mag)) {
		if (!neg && mag <= INT64_MAX)
			return json_integer((json_int_t)mag);
		if (neg && mag <= (uint64_t)INT64_MAX + 1)
			return json_integer(mag == (uint64_t)INT64_MAX + 1 ?
						    INT64_MIN :
						    -(json_int_t)mag);
		if (!neg) /* uint64 > int64: JSON gets the number */
			return json_real((double)mag);
	}
	if (is_yaml_float(buf)) {
		double d = strtod(buf, NULL);
		double ip;

		/* Go's encoding/json prints an integral float64 as an
		 * integer (1e3 -> 1000): keep it an integer here. */
		if (modf(d, &ip) == 0 && d >= -9.0e15 && d <= 9.0e15)
			return json_integer((json_int_t)d);
		return json_real(d);
	}
	if (is_plain_date(s)) {
		int y, m, d;
		char t[40];

		sscanf(s, "%d-%d-%d", &y, &m, &d);
		snprintf(t, sizeof(t), "%04d-%02d-%02dT00:00:00Z", y, m, d);
		return json_string(t);
	}
	return NULL;
}

/* Returns a new reference, or NULL with *err (-EBADMSG for .inf/.nan,
 * -ENOMEM). */
static json_t *resolve_go(const char *s, size_t len, int *err)
{
	json_t *v;

	*err = -ENOMEM;
	if (strlen(s) != len) /* a NUL inside: only a string holds it */
		return json_stringn(s, len);
	if (in_list(s, yaml_nulls))
		return json_null();
	if (in_list(s, yaml_trues))
		return json_true();
	if (in_list(s, yaml_falses))
		return json_false();
	if (in_list(s, yaml_infs)) {
		*err = -EBADMSG;
		return NULL;
	}
	v = go_number(s, len);
	return v ? v : json_stringn(s, len);
}

/* ---- scalars: YAML 1.2 core schema -------------------------------------- */

static json_t *resolve_core(const char *s, size_t n)
{
	static const char *const t[] = { "true", "True", "TRUE", NULL };
	static const char *const f[] = { "false", "False", "FALSE", NULL };
	size_t sign = n && (s[0] == '-' || s[0] == '+');
	char *end;

	if (in_list(s, yaml_nulls))
		return json_null();
	if (in_list(s, t))
		return json_true();
	if (in_list(s, f))
		return json_false();
	/* ints: [-+]?[0-9]+, 0x..., 0o... */
	if (n > sign && strspn(s + sign, "0123456789") == n - sign) {
		long long v;

		errno = 0;
		v = strtoll(s, &end, 10);
		if (!errno && *end == '\0')
			return json_integer(v);
		return json_stringn(s, n); /* too large: keep the text */
	}
	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o') &&
	    strspn(s + 2, s[1] == 'x' ? "0123456789abcdefABCDEF" :
					"01234567") == n - 2) {
		long long v;

		errno = 0;
		v = strtoll(s + 2, &end, s[1] == 'x' ? 16 : 8);
		if (!errno && *end == '\0')
			return json_integer(v);
		return json_stringn(s, n);
	}
	/* floats: digits with a '.' or an exponent; no inf/nan in JSON */
	if (n && strspn(s, "0123456789.eE+-") == n &&
	    strpbrk(s, "0123456789") && (strchr(s, '.') || strpbrk(s, "eE"))) {
		double d;

		errno = 0;
		d = strtod(s, &end);
		if (!errno && *end == '\0')
			return json_real(d);
	}
	return json_stringn(s, n);
}

static json_t *resolve_plain(const struct yread *y, const char *s, size_t n,
			     int *err)
{
	*err = -ENOMEM;
	switch (y->o.scalars) {
	case YREAD_GO_YAML:
		return resolve_go(s, n, err);
	case YREAD_CORE:
		return resolve_core(s, n);
	case YREAD_STRINGS:
	default:
		return strlen(s) == n && in_list(s, yaml_nulls) ?
			       json_null() :
			       json_stringn(s, n);
	}
}

/* Scalars with a tag: !!str and tags of one's own are strings; the core
 * tags resolve as if plain. */
static json_t *resolve_scalar(const struct yread *y, const yaml_event_t *ev,
			      int *err)
{
	const char *v = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;

	*err = -ENOMEM;
	if (tag) {
		if (!strcmp(tag, YAML_NULL_TAG) ||
		    !strcmp(tag, YAML_BOOL_TAG) || !strcmp(tag, YAML_INT_TAG) ||
		    !strcmp(tag, YAML_FLOAT_TAG))
			return resolve_plain(y, v, len, err);
		return json_stringn(v, len);
	}
	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return json_stringn(v, len);
	return resolve_plain(y, v, len, err);
}

/* ---- collections -------------------------------------------------------- */

/* A key that is not a string becomes its text, as sigs.k8s.io/yaml's
 * conversion does (true, 1, 1.5, null). NULL: out of memory. */
static char *key_text(const json_t *k)
{
	char buf[64];

	switch (json_typeof(k)) {
	case JSON_STRING:
		return strndup(json_string_value(k), json_string_length(k));
	case JSON_TRUE:
		return strdup("true");
	case JSON_FALSE:
		return strdup("false");
	case JSON_NULL:
		return strdup("null");
	case JSON_INTEGER:
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(k));
		return strdup(buf);
	case JSON_REAL:
		snprintf(buf, sizeof(buf), "%g", json_real_value(k));
		return strdup(buf);
	default:
		return NULL;
	}
}

static int parse_node(struct yread *y, yaml_event_t *ev, unsigned depth,
		      json_t **out, size_t *nodes);

/* Merges the mapping src into dst for a << key: keys already in dst win
 * (the YAML merge key spec). */
static int merge_one(struct yread *y, json_t *dst, json_t *src,
		     const yaml_mark_t *m)
{
	const char *k;
	json_t *v;

	if (!json_is_object(src))
		return problem(y, YREAD_MERGE, m, "%s", "");
	json_object_foreach(src, k, v)
	{
		if (!json_object_get(dst, k) && json_object_set(dst, k, v))
			return -ENOMEM;
	}
	return 0;
}

static int merge_into(struct yread *y, json_t *dst, json_t *src,
		      const yaml_mark_t *m)
{
	size_t i;
	json_t *it;
	int r;

	if (!json_is_array(src))
		return merge_one(y, dst, src, m);
	json_array_foreach(src, i, it)
	{
		r = merge_one(y, dst, it, m);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Reads one key and its value into obj, or a << value into merges. 1 at
 * the end of the mapping. */
static int parse_pair(struct yread *y, json_t *obj, json_t **merges,
		      unsigned depth, size_t *nodes)
{
	json_t *k = NULL, *v = NULL;
	size_t kn = 0, vn = 0;
	yaml_event_t ev;
	yaml_mark_t km;
	bool is_merge;
	char *ks;
	int r;

	r = next_event(y, &ev);
	if (r < 0)
		return r;
	if (ev.type == YAML_MAPPING_END_EVENT) {
		yaml_event_delete(&ev);
		return 1;
	}
	km = ev.start_mark;
	is_merge = (y->o.flags & YREAD_MERGE_KEYS) &&
		   ev.type == YAML_SCALAR_EVENT &&
		   ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		   !ev.data.scalar.tag &&
		   !strcmp((char *)ev.data.scalar.value, "<<");
	r = parse_node(y, &ev, depth + 1, &k, &kn);
	yaml_event_delete(&ev);
	if (r < 0)
		return r;
	r = next_event(y, &ev);
	if (r >= 0) {
		r = parse_node(y, &ev, depth + 1, &v, &vn);
		yaml_event_delete(&ev);
	}
	if (r < 0)
		goto out;
	*nodes += kn + vn;
	if (is_merge) {
		if (!*merges)
			*merges = json_array();
		r = *merges && !json_array_append(*merges, v) ? 0 : -ENOMEM;
		goto out;
	}
	if (json_is_object(k) || json_is_array(k)) {
		r = problem(y, YREAD_KEY_NOT_SCALAR, &km, "%s", "");
		goto out;
	}
	if (json_is_string(k) &&
	    strlen(json_string_value(k)) != json_string_length(k)) {
		r = problem(y, YREAD_KEY_NUL, &km, "%s", "");
		goto out;
	}
	ks = key_text(k);
	if (!ks) {
		r = -ENOMEM;
		goto out;
	}
	if (json_object_get(obj, ks))
		r = problem(y, YREAD_DUP_KEY, &km, "%s", ks);
	else
		r = json_object_set(obj, ks, v) ? -ENOMEM : 0;
	free(ks);
out:
	json_decref(k);
	json_decref(v);
	return r;
}

static int parse_mapping(struct yread *y, unsigned depth, json_t **out,
			 size_t *nodes)
{
	json_t *obj = json_object(), *merges = NULL;
	int r;

	if (!obj)
		return -ENOMEM;
	while ((r = parse_pair(y, obj, &merges, depth, nodes)) == 0)
		;
	if (r > 0 && merges)
		r = merge_into(y, obj, merges, &y->parser.mark);
	json_decref(merges);
	if (r < 0) {
		json_decref(obj);
		return r;
	}
	*out = obj;
	return 0;
}

static int parse_sequence(struct yread *y, unsigned depth, json_t **out,
			  size_t *nodes)
{
	json_t *arr = json_array();
	yaml_event_t ev;
	int r;

	if (!arr)
		return -ENOMEM;
	for (;;) {
		json_t *v = NULL;
		size_t vn = 0;

		r = next_event(y, &ev);
		if (r < 0)
			goto fail;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		r = parse_node(y, &ev, depth + 1, &v, &vn);
		yaml_event_delete(&ev);
		if (r < 0)
			goto fail;
		*nodes += vn;
		if (json_array_append_new(arr, v)) {
			r = -ENOMEM;
			goto fail;
		}
	}
	*out = arr;
	return 0;
fail:
	json_decref(arr);
	return r;
}

static int parse_alias(struct yread *y, const yaml_event_t *ev, json_t **out,
		       size_t *nodes)
{
	const char *name = (const char *)ev->data.alias.anchor;
	const struct anchor *a = anchor_find(y, name);
	int r;

	if (!a)
		return problem(y, YREAD_ANCHOR, &ev->start_mark, "%s", name);
	if (!(y->o.flags & YREAD_COPY_ALIASES)) {
		*out = json_incref(a->value);
		return 0;
	}
	r = charge(y, a->nodes, &ev->start_mark);
	if (r < 0)
		return r;
	/* A deep copy: the caller changes documents in place. */
	*out = json_deep_copy(a->value);
	if (!*out)
		return -ENOMEM;
	*nodes = a->nodes;
	return 0;
}

/* Builds the value that starts with ev (the caller deletes ev). *nodes
 * gets the number of values in it. */
static int parse_node(struct yread *y, yaml_event_t *ev, unsigned depth,
		      json_t **out, size_t *nodes)
{
	const char *anchor = NULL;
	json_t *v = NULL;
	int r;

	*nodes = 1;
	r = charge(y, 1, &ev->start_mark);
	if (r < 0)
		return r;
	if ((ev->type == YAML_SEQUENCE_START_EVENT ||
	     ev->type == YAML_MAPPING_START_EVENT) &&
	    depth >= y->o.max_depth)
		return problem(y, YREAD_DEPTH, &ev->start_mark, "%s", "");
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		anchor = (const char *)ev->data.scalar.anchor;
		v = resolve_scalar(y, ev, &r);
		if (!v)
			return r == -EBADMSG ?
				       problem(y, YREAD_NOT_NUMBER,
					       &ev->start_mark, "%s",
					       (const char *)
						       ev->data.scalar.value) :
				       r;
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (ev->type == YAML_SEQUENCE_START_EVENT) {
			anchor = (const char *)ev->data.sequence_start.anchor;
			r = parse_sequence(y, depth, &v, nodes);
		} else {
			anchor = (const char *)ev->data.mapping_start.anchor;
			r = parse_mapping(y, depth, &v, nodes);
		}
		if (r < 0)
			return r;
		++*nodes; /* the collection itself */
		break;
	case YAML_ALIAS_EVENT:
		return parse_alias(y, ev, out, nodes);
	default:
		return problem(y, YREAD_SYNTAX, &ev->start_mark, "%s",
			       "unexpected YAML");
	}
	if (anchor) {
		r = anchor_add(y, anchor, v, *nodes);
		if (r < 0) {
			json_decref(v);
			return r;
		}
	}
	*out = v;
	return 0;
}

/* ---- documents ---------------------------------------------------------- */

int yread_new(const void *data, size_t len, const struct yread_options *opts,
	      struct yread **out)
{
	struct yread *y = calloc(1, sizeof(*y));

	if (!y)
		return -ENOMEM;
	if (opts)
		y->o = *opts;
	if (!y->o.max_depth)
		y->o.max_depth = 64;
	if (!y->o.max_nodes)
		y->o.max_nodes = 1000000;
	y->err = &y->scratch;
	if (!yaml_parser_initialize(&y->parser)) {
		free(y);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&y->parser, data, len);
	*out = y;
	return 0;
}

struct yread *yread_free(struct yread *y)
{
	if (!y)
		return NULL;
	if (y->have_root)
		yaml_event_delete(&y->root);
	anchors_clear(y);
	yaml_parser_delete(&y->parser);
	free(y);
	return NULL;
}

int yread_start(struct yread *y, size_t *line, size_t *column,
		struct yread_error *err)
{
	yaml_event_t ev;
	int r;

	y->err = err ? err : &y->scratch;
	if (y->have_root)
		return -EINVAL; /* yread_doc() was not called */
	while (!y->ended) {
		r = next_event(y, &ev);
		if (r < 0)
			return r;
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			y->ended = true;
			break;
		}
		if (ev.type != YAML_DOCUMENT_START_EVENT) {
			yaml_event_delete(&ev); /* STREAM-START */
			continue;
		}
		yaml_event_delete(&ev);
		r = next_event(y, &y->root);
		if (r < 0)
			return r;
		y->have_root = true;
		if (line)
			*line = y->root.start_mark.line + 1;
		if (column)
			*column = y->root.start_mark.column + 1;
		return 1;
	}
	return 0;
}

int yread_doc(struct yread *y, json_t **doc, struct yread_error *err)
{
	size_t nodes = 0;
	yaml_event_t ev;
	json_t *v = NULL;
	int r;

	y->err = err ? err : &y->scratch;
	if (!y->have_root)
		return -EINVAL; /* yread_start() did not begin one */
	r = parse_node(y, &y->root, 0, &v, &nodes);
	yaml_event_delete(&y->root);
	y->have_root = false;
	if (r >= 0)
		r = next_event(y, &ev); /* DOCUMENT-END */
	if (r < 0) {
		json_decref(v);
		return r;
	}
	yaml_event_delete(&ev);
	anchors_clear(y); /* anchors do not cross documents */
	*doc = v;
	return 0;
}
