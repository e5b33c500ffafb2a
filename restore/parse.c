/* parse: the bytes of a file copied into restore/ -> the objects it holds.
 *
 * YAML is read the way kubectl reads it (sigs.k8s.io/yaml, which is
 * go-yaml v2, i.e. YAML 1.1 resolution for plain scalars): plain `yes`,
 * `on`, `y` are true, `no`, `off`, `n` false; `~`, `null` and the empty
 * plain scalar null; integers in decimal, 0x, 0o, 0b and leading-zero
 * octal, with `_` separators; floats by go-yaml's pattern; a plain date
 * (2024-01-15) becomes the RFC 3339 time Go prints for it. Quoted, literal
 * and folded scalars are always strings, and so is anything tagged !!str
 * or with a tag of its own. Anchors, aliases and merge keys (<<) work;
 * keys that are not strings become their text, as sigs.k8s.io/yaml makes
 * them. Unlike go-yaml v2, a duplicate key is an error (kubectl's strict
 * validation refuses it too) and so are .inf/.nan (JSON cannot hold them;
 * kubectl fails on them as well). Not done: other timestamp forms stay the
 * text written, !!binary stays its base64 text.
 *
 * JSON (the first byte that is not blank is `{`) is read with jansson,
 * several objects one after another allowed, duplicate keys refused.
 *
 * Documents that are empty are skipped; a List (any kind ending in "List"
 * with an items array) is replaced by its items. Every object must have
 * apiVersion, kind and metadata.name, and the name and namespace must be
 * safe path segments (they become URL paths). Errors carry the line and
 * column (1-based) where the problem is. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/macro.h"
#include "restore/restore_i.h"

struct anchor {
	char *name;
	json_t *value; /* owned reference */
	size_t nodes;  /* its size, charged again at each alias */
};

struct yparse {
	yaml_parser_t parser;
	const char *source; /* for messages; borrowed */
	struct verror *e;
	size_t nodes; /* budget used */
	struct anchor *anchors;
	size_t n_anchors, cap_anchors;
};

static const char *src_name(const char *source)
{
	const char *s;

	if (!source || !*source)
		return "input";
	s = strrchr(source, '/');
	return s && s[1] ? s + 1 : source;
}

static int perr(struct yparse *p, int err, const yaml_mark_t *m,
		const char *fmt, ...) _printf_(4, 5);
static int perr(struct yparse *p, int err, const yaml_mark_t *m,
		const char *fmt, ...)
{
	char what[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return verror_set(p->e, err, "%s: line %zu column %zu: %s",
			  src_name(p->source), m->line + 1, m->column + 1,
			  what);
}

static void anchors_clear(struct yparse *p)
{
	for (size_t i = 0; i < p->n_anchors; i++) {
		free(p->anchors[i].name);
		json_decref(p->anchors[i].value);
	}
	free(p->anchors);
	p->anchors = NULL;
	p->n_anchors = p->cap_anchors = 0;
}

static int anchor_add(struct yparse *p, const char *name, json_t *v,
		      size_t nodes)
{
	/* A later anchor of the same name replaces the earlier (YAML). */
	for (size_t i = 0; i < p->n_anchors; i++) {
		if (!strcmp(p->anchors[i].name, name)) {
			json_decref(p->anchors[i].value);
			p->anchors[i].value = json_incref(v);
			p->anchors[i].nodes = nodes;
			return 0;
		}
	}
	if (p->n_anchors == p->cap_anchors) {
		size_t cap = p->cap_anchors ? 2 * p->cap_anchors : 8;
		struct anchor *a = realloc(p->anchors, cap * sizeof(*a));

		if (!a)
			return -ENOMEM;
		p->anchors = a;
		p->cap_anchors = cap;
	}
	p->anchors[p->n_anchors].name = strdup(name);
	if (!p->anchors[p->n_anchors].name)
		return -ENOMEM;
	p->anchors[p->n_anchors].value = json_incref(v);
	p->anchors[p->n_anchors].nodes = nodes;
	p->n_anchors++;
	return 0;
}

/* ---- scalar resolution (go-yaml v2 resolve.go) ------------------------- */

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

/* Resolves a plain scalar. Returns a new reference, or NULL with *err
 * (-EBADMSG for .inf/.nan, -ENOMEM). */
static json_t *resolve_plain(const char *s, size_t len, int *err)
{
	char buf[64];

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
	if (len < sizeof(buf) - 1 && strchr("+-.0123456789", s[0])) {
		size_t k = 0;
		bool neg;
		uint64_t mag;

		for (size_t i = 0; i < len; i++)
			if (s[i] != '_')
				buf[k++] = s[i];
		buf[k] = '\0';
		if (parse_go_int(buf, &neg, &mag)) {
			if (!neg && mag <= INT64_MAX)
				return json_integer((json_int_t)mag);
			if (neg && mag <= (uint64_t)INT64_MAX + 1)
				return json_integer(mag == (uint64_t)INT64_MAX +
									    1 ?
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
			snprintf(t, sizeof(t), "%04d-%02d-%02dT00:00:00Z", y, m,
				 d);
			return json_string(t);
		}
	}
	return json_stringn(s, len);
}

/* Scalars with a tag: !!str and tags of one's own are strings; the core
 * tags resolve as if plain. */
static json_t *resolve_scalar(struct yparse *p, const yaml_event_t *ev,
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
			return resolve_plain(v, len, err);
		return json_stringn(v, len);
	}
	(void)p;
	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return json_stringn(v, len);
	return resolve_plain(v, len, err);
}

/* A key that is not a string becomes its text, as sigs.k8s.io/yaml's
 * conversion does (true, 1, 1.5, null). */
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

static int charge(struct yparse *p, size_t n, const yaml_mark_t *m)
{
	if (n > RESTORE_NODES_MAX || p->nodes > RESTORE_NODES_MAX - n)
		return perr(p, -E2BIG, m,
			    "too many values (more than %zu, aliases "
			    "included)",
			    (size_t)RESTORE_NODES_MAX);
	p->nodes += n;
	return 0;
}

static int next_event(struct yparse *p, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&p->parser, ev)) {
		const char *what = p->parser.problem ? p->parser.problem :
						       "malformed YAML";
		const char *ctx = p->parser.context;

		if (p->parser.error == YAML_MEMORY_ERROR)
			return -ENOMEM;
		if (ctx)
			return perr(p, -EBADMSG, &p->parser.problem_mark,
				    "%s %s", what, ctx);
		return perr(p, -EBADMSG, &p->parser.problem_mark, "%s", what);
	}
	return 0;
}

static int parse_node(struct yparse *p, yaml_event_t *ev, unsigned depth,
		      json_t **out, size_t *nodes);

/* Merges the mapping src into dst for a << key: keys already in dst win
 * (the YAML merge key spec). */
static int merge_into(struct yparse *p, json_t *dst, json_t *src,
		      const yaml_mark_t *m)
{
	const char *k;
	json_t *v;

	if (json_is_array(src)) {
		size_t i;
		json_t *it;

		json_array_foreach(src, i, it)
		{
			if (!json_is_object(it))
				return perr(p, -EBADMSG, m,
					    "a merge key (<<) takes mappings "
					    "only");
			json_object_foreach(
				it, k,
				v) if (!json_object_get(dst, k) &&
				       json_object_set(dst, k,
						       v)) return -ENOMEM;
		}
		return 0;
	}
	if (!json_is_object(src))
		return perr(p, -EBADMSG, m,
			    "a merge key (<<) takes a mapping or a list of "
			    "mappings");
	json_object_foreach(src, k,
			    v) if (!json_object_get(dst, k) &&
				   json_object_set(dst, k, v)) return -ENOMEM;
	return 0;
}

static int parse_mapping(struct yparse *p, unsigned depth, json_t **out,
			 size_t *nodes)
{
	json_t *obj = json_object(), *merges = NULL;
	yaml_event_t ev;
	int r;

	if (!obj)
		return -ENOMEM;
	for (;;) {
		json_t *k = NULL, *v = NULL;
		size_t kn = 0, vn = 0;
		yaml_mark_t km;
		bool is_merge;
		char *ks;

		r = next_event(p, &ev);
		if (r < 0)
			goto fail;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		km = ev.start_mark;
		is_merge = ev.type == YAML_SCALAR_EVENT &&
			   ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
			   !ev.data.scalar.tag &&
			   !strcmp((char *)ev.data.scalar.value, "<<");
		r = parse_node(p, &ev, depth + 1, &k, &kn);
		yaml_event_delete(&ev);
		if (r < 0)
			goto fail;
		r = next_event(p, &ev);
		if (r < 0) {
			json_decref(k);
			goto fail;
		}
		r = parse_node(p, &ev, depth + 1, &v, &vn);
		yaml_event_delete(&ev);
		if (r < 0) {
			json_decref(k);
			goto fail;
		}
		*nodes += kn + vn;
		if (is_merge) {
			json_decref(k);
			if (!merges)
				merges = json_array();
			if (!merges || json_array_append_new(merges, v)) {
				r = -ENOMEM;
				goto fail;
			}
			continue;
		}
		if (json_is_object(k) || json_is_array(k)) {
			json_decref(k);
			json_decref(v);
			r = perr(p, -EBADMSG, &km,
				 "a mapping or a list cannot be a key");
			goto fail;
		}
		ks = key_text(k);
		json_decref(k);
		if (!ks) {
			json_decref(v);
			r = -ENOMEM;
			goto fail;
		}
		if (json_object_get(obj, ks)) {
			r = perr(p, -EBADMSG, &km, "duplicate key \"%.100s\"",
				 ks);
			free(ks);
			json_decref(v);
			goto fail;
		}
		r = json_object_set_new(obj, ks, v) ? -ENOMEM : 0;
		free(ks);
		if (r < 0)
			goto fail;
	}
	if (merges) {
		size_t i;
		json_t *m;

		json_array_foreach(merges, i, m)
		{
			r = merge_into(p, obj, m, &p->parser.mark);
			if (r < 0)
				goto fail;
		}
		json_decref(merges);
	}
	*out = obj;
	return 0;
fail:
	json_decref(merges);
	json_decref(obj);
	return r;
}

static int parse_sequence(struct yparse *p, unsigned depth, json_t **out,
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

		r = next_event(p, &ev);
		if (r < 0)
			goto fail;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		r = parse_node(p, &ev, depth + 1, &v, &vn);
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

/* Builds the value that starts with ev (consumed by the caller). *nodes
 * gets the number of values in it. */
static int parse_node(struct yparse *p, yaml_event_t *ev, unsigned depth,
		      json_t **out, size_t *nodes)
{
	const char *anchor = NULL;
	json_t *v = NULL;
	int r;

	if (depth > RESTORE_DEPTH_MAX)
		return perr(p, -EBADMSG, &ev->start_mark,
			    "nested deeper than %d levels", RESTORE_DEPTH_MAX);
	*nodes = 1;
	r = charge(p, 1, &ev->start_mark);
	if (r < 0)
		return r;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		anchor = (const char *)ev->data.scalar.anchor;
		v = resolve_scalar(p, ev, &r);
		if (!v)
			return r == -EBADMSG ?
				       perr(p, r, &ev->start_mark,
					    "%s is not a number JSON can hold",
					    (char *)ev->data.scalar.value) :
				       r;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = (const char *)ev->data.sequence_start.anchor;
		r = parse_sequence(p, depth, &v, nodes);
		if (r < 0)
			return r;
		++*nodes;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = (const char *)ev->data.mapping_start.anchor;
		r = parse_mapping(p, depth, &v, nodes);
		if (r < 0)
			return r;
		++*nodes;
		break;
	case YAML_ALIAS_EVENT: {
		const char *name = (const char *)ev->data.alias.anchor;

		for (size_t i = 0; i < p->n_anchors; i++) {
			if (strcmp(p->anchors[i].name, name))
				continue;
			r = charge(p, p->anchors[i].nodes, &ev->start_mark);
			if (r < 0)
				return r;
			/* A deep copy: items are changed in place later. */
			v = json_deep_copy(p->anchors[i].value);
			if (!v)
				return -ENOMEM;
			*nodes = p->anchors[i].nodes;
			*out = v;
			return 0;
		}
		return perr(p, -EBADMSG, &ev->start_mark,
			    "unknown anchor \"%.100s\"", name);
	}
	default:
		return perr(p, -EBADMSG, &ev->start_mark, "unexpected YAML");
	}
	if (anchor) {
		r = anchor_add(p, anchor, v, *nodes);
		if (r < 0) {
			json_decref(v);
			return r;
		}
	}
	*out = v;
	return 0;
}

/* ---- objects: lists, validation --------------------------------------- */

struct collect {
	json_t *items; /* the result */
	const char *source;
	struct verror *e;
};

/* Kubernetes' path segment rule (ValidatePathSegmentName) plus no control
 * characters: name and namespace become URL path segments. */
static const char *bad_segment(const char *s)
{
	if (!*s)
		return "is empty";
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return "may not be \".\" or \"..\"";
	if (strlen(s) > RESTORE_NAME_MAX)
		return "is longer than 253 characters";
	for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
		if (*q == '/' || *q == '%')
			return "may not contain '/' or '%'";
		if (*q < 0x20 || *q == 0x7f)
			return "may not contain control characters";
	}
	return NULL;
}

static int where(struct collect *c, unsigned long line, unsigned long col,
		 int err, const char *fmt, const char *a, const char *b)
{
	char what[300];

	snprintf(what, sizeof(what), fmt, a, b);
	if (line)
		return verror_set(c->e, err, "%s: line %lu column %lu: %s",
				  src_name(c->source), line, col, what);
	return verror_set(c->e, err, "%s: %s", src_name(c->source), what);
}

static bool is_list(const json_t *o)
{
	const char *kind = json_string_value(json_object_get(o, "kind"));
	size_t n;

	if (!kind || !json_is_array(json_object_get(o, "items")))
		return false;
	n = strlen(kind);
	return n >= 4 && !strcmp(kind + n - 4, "List");
}

/* Adds o (a document or a List's item; borrowed), flattening Lists. line
 * and col locate the document (0: unknown). */
static int collect_add(struct collect *c, json_t *o, unsigned long line,
		       unsigned long col, unsigned depth)
{
	const char *av, *kind, *name, *ns = NULL, *why;
	json_t *md, *nsv;

	if (json_is_null(o))
		return 0; /* an empty document */
	if (!json_is_object(o))
		return where(c, line, col, -EBADMSG,
			     "expected a Kubernetes object (a mapping with "
			     "apiVersion, kind and metadata)%s%s",
			     "", "");
	if (is_list(o) && depth < 4) {
		size_t i;
		json_t *it;

		json_array_foreach(json_object_get(o, "items"), i, it)
		{
			int r = collect_add(c, it, line, col, depth + 1);

			if (r < 0)
				return verror_prefix(c->e, r, "List item %zu",
						     i);
		}
		return 0;
	}
	av = json_string_value(json_object_get(o, "apiVersion"));
	kind = json_string_value(json_object_get(o, "kind"));
	md = json_object_get(o, "metadata");
	name = json_string_value(json_object_get(md, "name"));
	if (!av || !*av)
		return where(c, line, col, -EBADMSG,
			     "not a Kubernetes object: no apiVersion%s%s", "",
			     "");
	if (!kind || !*kind)
		return where(c, line, col, -EBADMSG,
			     "not a Kubernetes object: no kind%s%s", "", "");
	if (!json_is_object(md))
		return where(c, line, col, -EBADMSG, "%s has no metadata%s",
			     kind, "");
	if (!name)
		return where(c, line, col, -EBADMSG,
			     "%s has no metadata.name%s (generateName is not "
			     "restored)",
			     kind, "");
	why = bad_segment(name);
	if (why)
		return where(c, line, col, -EBADMSG, "metadata.name %s: %s",
			     why, kind);
	nsv = json_object_get(md, "namespace");
	if (nsv && !json_is_null(nsv)) {
		ns = json_string_value(nsv);
		if (!ns)
			return where(c, line, col, -EBADMSG,
				     "%s %s: metadata.namespace is not a "
				     "string",
				     kind, name);
		if (*ns && (why = bad_segment(ns)))
			return where(c, line, col, -EBADMSG,
				     "metadata.namespace %s (%s)", why, name);
	}
	if (json_array_size(c->items) >= RESTORE_ITEMS_MAX)
		return where(c, line, col, -E2BIG,
			     "more than %s objects in one file%s", "10000", "");
	return json_array_append(c->items, o) ? -ENOMEM : 0;
}

/* The start of the next document of the stream: 1 with *ev the first
 * event of its root node (the caller deletes it), 0 at the end of the
 * stream. */
static int doc_start(struct yparse *p, yaml_event_t *ev)
{
	for (;;) {
		int r = next_event(p, ev);

		if (r < 0)
			return r;
		if (ev->type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(ev);
			return 0;
		}
		if (ev->type == YAML_DOCUMENT_START_EVENT) {
			yaml_event_delete(ev);
			r = next_event(p, ev);
			return r < 0 ? r : 1;
		}
		yaml_event_delete(ev); /* STREAM_START */
	}
}

/* The rest of the document doc_start() began: its root node into *doc
 * (caller owns it), through DOCUMENT_END; ev is consumed. */
static int doc_finish(struct yparse *p, yaml_event_t *ev, json_t **doc)
{
	size_t nodes = 0;
	int r = parse_node(p, ev, 0, doc, &nodes);

	yaml_event_delete(ev);
	if (r < 0)
		return r;
	r = next_event(p, ev); /* DOCUMENT_END */
	if (r < 0) {
		json_decref(*doc);
		*doc = NULL;
		return r;
	}
	yaml_event_delete(ev);
	anchors_clear(p); /* anchors do not cross documents */
	return 0;
}

static int parse_yaml(const void *data, size_t len, struct collect *c)
{
	struct yparse p = { .source = c->source, .e = c->e };
	yaml_event_t ev;
	int r;

	if (!yaml_parser_initialize(&p.parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&p.parser, data, len);
	while ((r = doc_start(&p, &ev)) > 0) {
		yaml_mark_t dm = ev.start_mark;
		json_t *doc = NULL;

		r = doc_finish(&p, &ev, &doc);
		if (r < 0)
			break;
		r = collect_add(c, doc, dm.line + 1, dm.column + 1, 0);
		json_decref(doc);
		if (r < 0)
			break;
	}
	anchors_clear(&p);
	yaml_parser_delete(&p.parser);
	return r;
}

static int parse_json(const char *data, size_t len, size_t off,
		      struct collect *c)
{
	for (;;) {
		json_error_t je;
		json_t *doc;
		size_t line = 1, col = 1;
		int r;

		while (off < len && strchr(" \t\r\n", data[off]))
			off++;
		if (off >= len)
			return 0;
		doc = json_loadb(
			data + off, len - off,
			JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK, &je);
		for (size_t i = 0; i < off; i++) {
			if (data[i] == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
		if (!doc) {
			/* je.line is relative to where this document began */
			size_t l = line + (je.line > 0 ? je.line - 1 : 0);
			size_t cc = je.line > 1 ? (size_t)je.column :
						  col + je.column - 1;

			return verror_set(c->e, -EBADMSG,
					  "%s: line %zu column %zu: %s",
					  src_name(c->source), l, cc, je.text);
		}
		if (json_is_array(doc)) {
			json_decref(doc);
			return verror_set(c->e, -EBADMSG,
					  "%s: line %zu column %zu: a JSON "
					  "array is not a Kubernetes object "
					  "(use a List)",
					  src_name(c->source), line, col);
		}
		r = collect_add(c, doc, line, col, 0);
		json_decref(doc);
		if (r < 0)
			return r;
		off += je.position;
	}
}

int restore_parse(const void *data, size_t len, const char *source,
		  json_t **out, struct verror *e)
{
	struct collect c = { .source = source, .e = e };
	const char *s = data;
	size_t i = 0;
	int r;

	if (len > RESTORE_INPUT_MAX)
		return verror_set(e, -EFBIG, "%s: larger than %zu MiB",
				  src_name(source), RESTORE_INPUT_MAX >> 20);
	if (len && memchr(data, '\0', len))
		return verror_set(e, -EBADMSG,
				  "%s: a NUL byte: not a YAML or JSON text",
				  src_name(source));
	c.items = json_array();
	if (!c.items)
		return -ENOMEM;
	/* a UTF-8 byte order mark is allowed before either */
	if (len >= 3 && !memcmp(s, "\xef\xbb\xbf", 3))
		i = 3;
	while (i < len && strchr(" \t\r\n", s[i]))
		i++;
	if (i < len && s[i] == '{')
		r = parse_json(s, len, i, &c);
	else
		r = parse_yaml(data, len, &c);
	if (r < 0) {
		json_decref(c.items);
		return r;
	}
	*out = c.items;
	return 0;
}

int restore_parse_document(const void *data, size_t len, const char *source,
			   json_t **out, struct verror *e)
{
	struct yparse p = { .source = source, .e = e };
	json_t *doc = NULL;
	yaml_event_t ev;
	int r;

	if (len > RESTORE_INPUT_MAX)
		return verror_set(e, -EFBIG, "%s: larger than %zu MiB",
				  src_name(source), RESTORE_INPUT_MAX >> 20);
	if (!yaml_parser_initialize(&p.parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&p.parser, data, len);
	while ((r = doc_start(&p, &ev)) > 0) {
		json_t *v = NULL;

		if (doc) {
			r = perr(&p, -EBADMSG, &ev.start_mark,
				 "more than one YAML document");
			yaml_event_delete(&ev);
			break;
		}
		r = doc_finish(&p, &ev, &v);
		if (r < 0)
			break;
		doc = v;
	}
	anchors_clear(&p);
	yaml_parser_delete(&p.parser);
	if (r < 0) {
		json_decref(doc);
		return r;
	}
	*out = doc ? doc : json_null();
	return 0;
}
