/* yaml.c: a libyaml event stream turned into jansson values, with caps on
 * size, depth and node count. Reads; never writes YAML (backup/yaml.c
 * renders). Not a full YAML 1.1 implementation: tags other than !!str are
 * ignored, merge keys (<<) are ordinary keys. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "kube/kube_i.h"

struct yctx {
	yaml_parser_t p;
	unsigned flags;
	unsigned max_depth;
	size_t max_nodes;
	size_t nodes;
	json_t *anchors; /* anchor name -> node */
	struct verror *e;
};

static int ev_next(struct yctx *c, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&c->p, ev)) {
		const char *what = c->p.problem ? c->p.problem : "syntax error";

		if (c->p.error == YAML_MEMORY_ERROR)
			return verror_set(c->e, -ENOMEM, "out of memory");
		return verror_set(c->e, -EINVAL, "line %zu, column %zu: %s%s%s",
				  c->p.problem_mark.line + 1,
				  c->p.problem_mark.column + 1, what,
				  c->p.context ? " " : "",
				  c->p.context ? c->p.context : "");
	}
	return 0;
}

static int at(struct yctx *c, const yaml_event_t *ev, int err, const char *msg)
{
	return verror_set(c->e, err, "line %zu, column %zu: %s",
			  ev->start_mark.line + 1, ev->start_mark.column + 1,
			  msg);
}

static bool is_null(const char *s, size_t n)
{
	return n == 0 || (n == 1 && s[0] == '~') ||
	       (n == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) ||
			   !memcmp(s, "NULL", 4)));
}

static json_t *resolve_plain(const char *s, size_t n)
{
	static const char *const t[] = { "true", "True", "TRUE" };
	static const char *const f[] = { "false", "False", "FALSE" };
	char *end;
	size_t i;

	if (is_null(s, n))
		return json_null();
	for (i = 0; i < 3; i++) {
		if (!strcmp(s, t[i]))
			return json_true();
		if (!strcmp(s, f[i]))
			return json_false();
	}
	/* ints: [-+]?[0-9]+, 0x..., 0o... */
	if (n &&
	    strspn(s + (s[0] == '-' || s[0] == '+'), "0123456789") ==
		    n - (s[0] == '-' || s[0] == '+') &&
	    n > (size_t)(s[0] == '-' || s[0] == '+')) {
		errno = 0;
		long long v = strtoll(s, &end, 10);

		if (!errno && *end == '\0')
			return json_integer(v);
		return json_stringn(s, n); /* too large: keep the text */
	}
	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o') &&
	    strspn(s + 2, s[1] == 'x' ? "0123456789abcdefABCDEF" :
					"01234567") == n - 2) {
		errno = 0;
		long long v = strtoll(s + 2, &end, s[1] == 'x' ? 16 : 8);

		if (!errno && *end == '\0')
			return json_integer(v);
		return json_stringn(s, n);
	}
	/* floats: digits with a '.' or an exponent; no inf/nan in JSON */
	if (n && strspn(s, "0123456789.eE+-") == n &&
	    strpbrk(s, "0123456789") && (strchr(s, '.') || strpbrk(s, "eE"))) {
		errno = 0;
		double d = strtod(s, &end);

		if (!errno && *end == '\0')
			return json_real(d);
	}
	return json_stringn(s, n);
}

static json_t *scalar(struct yctx *c, const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    (tag && !strcmp(tag, YAML_STR_TAG)))
		return json_stringn(s, n);
	if (c->flags & KUBE_YAML_STRINGS)
		return is_null(s, n) ? json_null() : json_stringn(s, n);
	return resolve_plain(s, n);
}

static int count(struct yctx *c, const yaml_event_t *ev)
{
	if (++c->nodes > c->max_nodes)
		return at(c, ev, -E2BIG, "too many nodes");
	return 0;
}

static int anchor(struct yctx *c, const yaml_char_t *name, json_t *v)
{
	if (name && json_object_set(c->anchors, (const char *)name, v) < 0)
		return -ENOMEM;
	return 0;
}

/* Converts the node starting with ev (which this consumes and deletes)
 * into *out. */
static int node(struct yctx *c, yaml_event_t *ev, unsigned depth, json_t **out)
{
	json_t *v = NULL, *child;
	yaml_event_t k;
	int r;

	r = count(c, ev);
	if (r < 0)
		goto out;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		v = scalar(c, ev);
		if (!v) {
			r = -ENOMEM;
			goto out;
		}
		r = anchor(c, ev->data.scalar.anchor, v);
		break;
	case YAML_ALIAS_EVENT:
		v = json_incref(json_object_get(
			c->anchors, (const char *)ev->data.alias.anchor));
		if (!v)
			r = at(c, ev, -EINVAL, "unknown anchor");
		break;
	case YAML_SEQUENCE_START_EVENT:
		if (depth >= c->max_depth) {
			r = at(c, ev, -E2BIG, "nested too deeply");
			goto out;
		}
		v = json_array();
		if (!v) {
			r = -ENOMEM;
			goto out;
		}
		for (;;) {
			r = ev_next(c, &k);
			if (r < 0)
				goto out;
			if (k.type == YAML_SEQUENCE_END_EVENT) {
				yaml_event_delete(&k);
				break;
			}
			r = node(c, &k, depth + 1, &child);
			if (r < 0)
				goto out;
			if (json_array_append_new(v, child) < 0) {
				r = -ENOMEM;
				goto out;
			}
		}
		r = anchor(c, ev->data.sequence_start.anchor, v);
		break;
	case YAML_MAPPING_START_EVENT:
		if (depth >= c->max_depth) {
			r = at(c, ev, -E2BIG, "nested too deeply");
			goto out;
		}
		v = json_object();
		if (!v) {
			r = -ENOMEM;
			goto out;
		}
		for (;;) {
			char *key;

			r = ev_next(c, &k);
			if (r < 0)
				goto out;
			if (k.type == YAML_MAPPING_END_EVENT) {
				yaml_event_delete(&k);
				break;
			}
			if (k.type != YAML_SCALAR_EVENT) {
				r = at(c, &k, -EINVAL,
				       "mapping keys must be scalars");
				yaml_event_delete(&k);
				goto out;
			}
			if (strlen((const char *)k.data.scalar.value) !=
			    k.data.scalar.length) {
				r = at(c, &k, -EINVAL, "NUL byte in a key");
				yaml_event_delete(&k);
				goto out;
			}
			if (json_object_get(
				    v, (const char *)k.data.scalar.value)) {
				r = at(c, &k, -EINVAL, "duplicate key");
				yaml_event_delete(&k);
				goto out;
			}
			key = strdup((const char *)k.data.scalar.value);
			r = count(c, &k);
			yaml_event_delete(&k);
			if (!key || r < 0) {
				free(key);
				r = r < 0 ? r : -ENOMEM;
				goto out;
			}
			r = ev_next(c, &k);
			if (r >= 0)
				r = node(c, &k, depth + 1, &child);
			if (r >= 0 && json_object_set_new(v, key, child) < 0)
				r = -ENOMEM;
			free(key);
			if (r < 0)
				goto out;
		}
		r = anchor(c, ev->data.mapping_start.anchor, v);
		break;
	default:
		r = at(c, ev, -EINVAL, "unexpected YAML event");
		break;
	}
out:
	yaml_event_delete(ev);
	if (r < 0) {
		json_decref(v);
		return r;
	}
	*out = v;
	return 0;
}

int kube_yaml_load(const char *buf, size_t len, unsigned flags,
		   const struct kube_yaml_caps *caps, json_t **out,
		   struct verror *e)
{
	struct yctx c = { .flags = flags, .e = e };
	size_t max_bytes = caps && caps->max_bytes ? caps->max_bytes :
						     KUBE_CONFIG_MAX;
	json_t *doc = NULL;
	yaml_event_t ev;
	int r;

	c.max_depth = caps && caps->max_depth ? caps->max_depth : 64;
	c.max_nodes = caps && caps->max_nodes ? caps->max_nodes : 1000000;
	if (len > max_bytes)
		return verror_set(e, -E2BIG, "larger than %zu bytes",
				  max_bytes);
	if (!yaml_parser_initialize(&c.p))
		return verror_set(e, -ENOMEM, "out of memory");
	c.anchors = json_object();
	if (!c.anchors) {
		yaml_parser_delete(&c.p);
		return verror_set(e, -ENOMEM, "out of memory");
	}
	yaml_parser_set_input_string(&c.p, (const unsigned char *)buf, len);

	/* STREAM-START, then DOCUMENT-START or STREAM-END */
	r = ev_next(&c, &ev);
	if (r < 0)
		goto out;
	yaml_event_delete(&ev);
	r = ev_next(&c, &ev);
	if (r < 0)
		goto out;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		doc = json_null();
		goto out;
	}
	yaml_event_delete(&ev);
	r = ev_next(&c, &ev);
	if (r >= 0)
		r = node(&c, &ev, 0, &doc);
	/* the rest of the stream is not read (as yaml.Unmarshal) */
out:
	json_decref(c.anchors);
	yaml_parser_delete(&c.p);
	if (r < 0)
		return r;
	*out = doc;
	return 0;
}
