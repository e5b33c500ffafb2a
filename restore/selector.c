/* selector: label selectors, as a LabelSelector mapping (matchLabels,
 * matchExpressions: In, NotIn, Exists, DoesNotExist; the resource
 * modifiers' conditions, a hooks file) and as the string kubectl and
 * velero take with --selector (k8s.io/apimachinery pkg/labels/selector.go
 * Parse: k=v, k==v, k!=v, k in (a,b), k notin (a,b), k, !k, joined by
 * commas), which is parsed into the same mapping so one matcher serves
 * both. The string forms k>N and k<N (no LabelSelector can hold them) are
 * refused. Pure: no I/O. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "restore/restore.h"
#include "restore/restore_i.h"

struct restore_selector {
	json_t *sel; /* {"matchLabels": {}, "matchExpressions": []} */
};

bool restore_selector_labels(const json_t *sel, const json_t *labels)
{
	json_t *ml = json_object_get(sel, "matchLabels"), *v, *ex;
	const char *k;
	size_t i;

	json_object_foreach(ml, k, v)
	{
		const char *have =
			json_string_value(json_object_get(labels, k));

		if (!have || !json_is_string(v) ||
		    strcmp(have, json_string_value(v)))
			return false;
	}
	json_array_foreach(json_object_get(sel, "matchExpressions"), i, ex)
	{
		const char *key = json_string_value(json_object_get(ex, "key"));
		const char *op = json_string_value(json_object_get(ex, "operato"
								       "r"));
		const char *have = json_string_value(
			json_object_get(labels, key ? key : ""));
		json_t *vals = json_object_get(ex, "values"), *x;
		size_t j;
		bool in = false;

		if (!key || !op)
			return false;
		json_array_foreach(vals, j,
				   x) if (have && json_is_string(x) &&
					  !strcmp(have, json_string_value(x)))
			in = true;
		if ((!strcmp(op, "In") && !in) ||
		    (!strcmp(op, "NotIn") && have && in) ||
		    (!strcmp(op, "Exists") && !have) ||
		    (!strcmp(op, "DoesNotExist") && have))
			return false;
	}
	return true;
}

/* ---- the string form --------------------------------------------------- */

static bool key_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.' ||
	       c == '/';
}

static bool value_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.';
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A word of key or value characters at *p into buf; its length. */
static size_t word(const char **p, bool key, char *buf, size_t sz)
{
	size_t n = 0;

	while ((key ? key_char : value_char)((*p)[n]))
		n++;
	if (n < sz) {
		memcpy(buf, *p, n);
		buf[n] = 0;
	}
	*p += n;
	return n;
}

static int expr(json_t *sel, const char *key, const char *op, json_t *vals)
{
	json_t *ex = json_pack("{s:s, s:s}", "key", key, "operator", op);

	if (!ex) {
		json_decref(vals);
		return -ENOMEM;
	}
	if (vals)
		json_object_set_new(ex, "values", vals);
	return json_array_append_new(json_object_get(sel, "matchExpressions"),
				     ex) ?
		       -ENOMEM :
		       0;
}

/* One requirement at *p (leading blanks skipped), added to sel. */
static int requirement(json_t *sel, const char **pp, struct verror *e)
{
	const char *p = skip_ws(*pp), *at;
	char key[320], val[RESTORE_LABEL_MAX + 1];
	bool neg = false;
	size_t n;

	if (*p == '!') {
		neg = true;
		p = skip_ws(p + 1);
	}
	at = p;
	n = word(&p, true, key, sizeof(key));
	if (!n || n >= sizeof(key))
		return verror_set(e, -EINVAL, "a label key at \"%s\"", at);
	p = skip_ws(p);
	if (neg || !*p || *p == ',') {
		*pp = p;
		return expr(sel, key, neg ? "DoesNotExist" : "Exists", NULL);
	}
	if (*p == '=' || (*p == '!' && p[1] == '=')) {
		bool ne = *p == '!';

		p += (ne || p[1] == '=') ? 2 : 1;
		p = skip_ws(p);
		at = p;
		n = word(&p, false, val, sizeof(val));
		if (n >= sizeof(val))
			return verror_set(e, -EINVAL,
					  "a label value longer than %d at "
					  "\"%s\"",
					  RESTORE_LABEL_MAX, at);
		*pp = p;
		if (ne)
			return expr(sel, key, "NotIn", json_pack("[s]", val));
		if (json_object_get(json_object_get(sel, "matchLabels"), key))
			return expr(sel, key, "In", json_pack("[s]", val));
		return json_object_set_new(json_object_get(sel, "matchLabels"),
					   key, json_string(val)) ?
			       -ENOMEM :
			       0;
	}
	if (*p == '>' || *p == '<')
		return verror_set(e, -EINVAL,
				  "the %c operator is not supported at \"%s\"",
				  *p, p);
	{
		bool notin = !strncmp(p, "notin", 5);
		json_t *vals;

		if (!notin && strncmp(p, "in", 2))
			return verror_set(e, -EINVAL,
					  "=, !=, in or notin expected at "
					  "\"%s\"",
					  p);
		p = skip_ws(p + (notin ? 5 : 2));
		if (*p != '(')
			return verror_set(e, -EINVAL, "( expected at \"%s\"",
					  p);
		vals = json_array();
		if (!vals)
			return -ENOMEM;
		for (p++;;) {
			p = skip_ws(p);
			at = p;
			n = word(&p, false, val, sizeof(val));
			if (n >= sizeof(val)) {
				json_decref(vals);
				return verror_set(e, -EINVAL,
						  "a label value longer than "
						  "%d at \"%s\"",
						  RESTORE_LABEL_MAX, at);
			}
			json_array_append_new(vals, json_string(val));
			p = skip_ws(p);
			if (*p == ')' && n == 0 && json_array_size(vals) == 1) {
				json_decref(vals);
				return verror_set(e, -EINVAL,
						  "for in and notin the values "
						  "set can't be empty at "
						  "\"%s\"",
						  p);
			}
			if (*p == ')')
				break;
			if (*p != ',') {
				json_decref(vals);
				return verror_set(e, -EINVAL,
						  ", or ) expected at \"%s\"",
						  p);
			}
			p++;
		}
		*pp = p + 1;
		return expr(sel, key, notin ? "NotIn" : "In", vals);
	}
}

int restore_selector_new(const char *s, struct restore_selector **out,
			 struct verror *e)
{
	struct restore_selector *rs = calloc(1, sizeof(*rs));
	const char *p = s ? s : "";
	int r = 0;

	if (!rs)
		return -ENOMEM;
	rs->sel = json_pack("{s:{}, s:[]}", "matchLabels", "matchExpressions");
	if (!rs->sel) {
		free(rs);
		return -ENOMEM;
	}
	p = skip_ws(p);
	while (*p && r >= 0) {
		r = requirement(rs->sel, &p, e);
		p = skip_ws(p);
		if (r >= 0 && *p == ',') {
			p = skip_ws(p + 1);
			if (!*p)
				r = verror_set(e, -EINVAL,
					       "a requirement expected after "
					       "the last ','");
		} else if (r >= 0 && *p) {
			r = verror_set(e, -EINVAL, "',' expected at \"%s\"", p);
		}
	}
	if (r < 0) {
		restore_selector_free(rs);
		return r;
	}
	*out = rs;
	return 0;
}

int restore_selector_match(const struct restore_selector *rs, const void *data,
			   size_t len, struct verror *e)
{
	json_t *items = NULL, *it;
	size_t i;
	int r = restore_parse(data, len, NULL, &items, e), hit = 0;

	if (r < 0)
		return r;
	json_array_foreach(
		items, i,
		it) if (restore_selector_labels(rs->sel,
						json_object_get(
							json_object_get(it,
									"metada"
									"ta"),
							"labels"))) hit = 1;
	json_decref(items);
	return hit;
}

struct restore_selector *restore_selector_free(struct restore_selector *rs)
{
	if (rs) {
		json_decref(rs->sel);
		free(rs);
	}
	return NULL;
}
