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
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "common/yread.h"
#include "restore/restore_i.h"

static const char *src_name(const char *source)
{
	const char *s;

	if (!source || !*source)
		return "input";
	s = strrchr(source, '/');
	return s && s[1] ? s + 1 : source;
}

/* The reader's problem in the words restore/ reports: "file: line L
 * column C: problem". */
static int yaml_error(const char *source, const struct yread_error *ye,
		      struct verror *e)
{
	char what[300];
	int err = -EBADMSG;

	switch (ye->what) {
	case YREAD_SYNTAX:
		snprintf(what, sizeof(what), "%s", ye->detail);
		break;
	case YREAD_DEPTH:
		snprintf(what, sizeof(what), "nested deeper than %d levels",
			 RESTORE_DEPTH_MAX);
		break;
	case YREAD_NODES:
		snprintf(what, sizeof(what),
			 "too many values (more than %zu, aliases included)",
			 (size_t)RESTORE_NODES_MAX);
		err = -E2BIG;
		break;
	case YREAD_ANCHOR:
		snprintf(what, sizeof(what), "unknown anchor \"%.100s\"",
			 ye->detail);
		break;
	case YREAD_DUP_KEY:
		snprintf(what, sizeof(what), "duplicate key \"%.100s\"",
			 ye->detail);
		break;
	case YREAD_KEY_NOT_SCALAR:
		snprintf(what, sizeof(what),
			 "a mapping or a list cannot be a key");
		break;
	case YREAD_KEY_NUL:
		snprintf(what, sizeof(what), "a key with a NUL byte");
		break;
	case YREAD_NOT_NUMBER:
		snprintf(what, sizeof(what),
			 "%.100s is not a number JSON can hold", ye->detail);
		break;
	case YREAD_MERGE:
	default:
		snprintf(what, sizeof(what),
			 "a merge key (<<) takes a mapping or a list of "
			 "mappings");
		break;
	}
	return verror_set(e, err, "%s: line %zu column %zu: %s",
			  src_name(source), ye->line, ye->column, what);
}

/* kubectl's reading of YAML (go-yaml v2), with restore/'s caps; nesting
 * counts collections, so RESTORE_DEPTH_MAX levels of them below the root
 * are allowed. */
static int reader_new(const void *data, size_t len, struct yread **out)
{
	static const struct yread_options o = {
		.scalars = YREAD_GO_YAML,
		.flags = YREAD_MERGE_KEYS | YREAD_COPY_ALIASES,
		.max_depth = RESTORE_DEPTH_MAX + 1,
		.max_nodes = RESTORE_NODES_MAX,
	};

	return yread_new(data, len, &o, out);
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

static int parse_yaml(const void *data, size_t len, struct collect *c)
{
	struct yread_error ye;
	struct yread *y;
	size_t line, col;
	int r;

	r = reader_new(data, len, &y);
	if (r < 0)
		return r;
	while ((r = yread_start(y, &line, &col, &ye)) > 0) {
		json_t *doc = NULL;

		r = yread_doc(y, &doc, &ye);
		if (r < 0)
			break;
		r = collect_add(c, doc, line, col, 0);
		json_decref(doc);
		if (r < 0) {
			yread_free(y);
			return r;
		}
	}
	yread_free(y);
	return r == -EBADMSG || r == -E2BIG ? yaml_error(c->source, &ye, c->e) :
					      r;
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
	struct yread_error ye;
	json_t *doc = NULL;
	struct yread *y;
	size_t line, col;
	int r;

	if (len > RESTORE_INPUT_MAX)
		return verror_set(e, -EFBIG, "%s: larger than %zu MiB",
				  src_name(source), RESTORE_INPUT_MAX >> 20);
	r = reader_new(data, len, &y);
	if (r < 0)
		return r;
	while ((r = yread_start(y, &line, &col, &ye)) > 0) {
		if (doc) {
			r = verror_set(e, -EBADMSG,
				       "%s: line %zu column %zu: more than one "
				       "YAML document",
				       src_name(source), line, col);
			goto out;
		}
		r = yread_doc(y, &doc, &ye);
		if (r < 0)
			break;
	}
	if (r == -EBADMSG || r == -E2BIG)
		r = yaml_error(source, &ye, e);
out:
	yread_free(y);
	if (r < 0) {
		json_decref(doc);
		return r;
	}
	*out = doc ? doc : json_null();
	return 0;
}
