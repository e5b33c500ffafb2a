/* fuzz_yaml: render_yaml() (backup/yaml.c), JSON to YAML, and its
 * round-trip property: parsing the YAML gives the JSON's value.
 *
 * The YAML is read back with libyaml's event parser; each plain scalar is
 * resolved with both the YAML 1.1 rules of PyYAML (and libyaml's
 * CSafeLoader, which shares them) and the YAML 1.2 core rules of
 * ruamel.yaml, their regular expressions copied here. Both must give the
 * same type, and it must be one JSON can hold (null, bool, a decimal int,
 * a finite float without '_' or ':'); keys must be strings. The value is
 * then compared strictly with jansson's parse of the input (as
 * tests/test_yaml_exact.py compares them: bool is not int, int is not
 * float, -0.0 is not 0.0, member order is not significant). Input jansson
 * cannot hold (integers beyond 64 bits, duplicate keys) is only rendered;
 * input jansson accepts must not be refused as malformed. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "backup/render_i.h"
#include "common/sbuf.h"

enum tag { T_STR, T_NULL, T_BOOL, T_INT, T_FLOAT, T_OTHER };

struct resolver {
	enum tag tag;
	const char *first; /* tried only for scalars starting with these */
	const char *re;
	regex_t rx;
};

#define TS                                                                  \
	"^([0-9]{4}-[0-9][0-9]-[0-9][0-9]|[0-9]{4}-[0-9][0-9]?-[0-9][0-9]?" \
	"([Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](\\.[0-9]*)?"        \
	"([ \t]*(Z|[-+][0-9][0-9]?(:[0-9][0-9])?))?)$"

/* PyYAML's Resolver, in its order (first match wins), each tried only
 * for its first characters; the empty scalar is null. */
static struct resolver yaml11[] = {
	{ T_BOOL, "yYnNtTfFoO",
	  "^(yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE"
	  "|on|On|ON|off|Off|OFF)$" },
	{ T_FLOAT, "-+0123456789.",
	  "^([-+]?[0-9][0-9_]*\\.[0-9_]*([eE][-+][0-9]+)?"
	  "|\\.[0-9][0-9_]*([eE][-+][0-9]+)?"
	  "|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*"
	  "|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN))$" },
	{ T_INT, "-+0123456789",
	  "^([-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(0|[1-9][0-9_]*)"
	  "|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+)$" },
	{ T_OTHER, "<", "^<<$" },
	{ T_NULL, "~nN", "^(~|null|Null|NULL)$" },
	{ T_OTHER, "0123456789", TS },
	{ T_OTHER, "=", "^=$" },
};

/* ruamel.yaml's VersionedResolver for 1.2. */
static struct resolver yaml12[] = {
	{ T_BOOL, "tTfF", "^(true|True|TRUE|false|False|FALSE)$" },
	{ T_FLOAT, "-+0123456789.",
	  "^([-+]?[0-9][0-9_]*\\.[0-9_]*([eE][-+]?[0-9]+)?"
	  "|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+"
	  "|[-+]?\\.[0-9_]+([eE][-+][0-9]+)?"
	  "|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN))$" },
	{ T_INT, "-+0123456789",
	  "^([-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+"
	  "|[-+]?0x[0-9a-fA-F_]+)$" },
	{ T_OTHER, "<", "^<<$" },
	{ T_NULL, "~nN", "^(~|null|Null|NULL)$" },
	{ T_OTHER, "0123456789", TS },
	{ T_OTHER, "=", "^=$" },
};

static regex_t json_int, json_float;

static void compile(struct resolver *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (regcomp(&v[i].rx, v[i].re, REG_EXTENDED | REG_NOSUB))
			abort();
}

static enum tag resolve(struct resolver *v, size_t n, const char *s)
{
	if (!*s)
		return T_NULL;
	for (size_t i = 0; i < n; i++)
		if (strchr(v[i].first, s[0]) &&
		    !regexec(&v[i].rx, s, 0, NULL, 0))
			return v[i].tag;
	return T_STR;
}

static const char *failure;
/* the JSON had duplicate keys (or jansson could not read it): the YAML
 * keeps them as they were */
static bool dups_ok;

static json_t *fail(const char *why)
{
	if (!failure)
		failure = why;
	return NULL;
}

/* A plain scalar as every reader sees it; NULL (and failure) when the
 * readers disagree or read something JSON doesn't have. */
static json_t *plain(const char *s, size_t len)
{
	enum tag t;

	if (strlen(s) != len)
		return fail("a NUL in a plain scalar");
	static char why[300];

	t = resolve(yaml11, sizeof(yaml11) / sizeof(*yaml11), s);
	if (t != resolve(yaml12, sizeof(yaml12) / sizeof(*yaml12), s)) {
		snprintf(why, sizeof(why),
			 "YAML 1.1 and 1.2 read the plain scalar '%.200s' "
			 "differently",
			 s);
		return fail(why);
	}
	switch (t) {
	case T_STR:
		return json_stringn(s, len);
	case T_NULL:
		return json_null();
	case T_BOOL:
		return json_boolean(strchr("tTyYoO", s[0]) &&
				    strcmp(s, "off") && strcmp(s, "Off") &&
				    strcmp(s, "OFF"));
	case T_INT:
		if (regexec(&json_int, s, 0, NULL, 0))
			return fail("a plain int JSON doesn't write");
		errno = 0;
		{
			long long v = strtoll(s, NULL, 10);

			/* beyond 64 bits: jansson refused the input, so
			 * there is nothing to compare with */
			if (errno)
				return json_real(strtod(s, NULL));
			return json_integer(v);
		}
	case T_FLOAT:
		if (regexec(&json_float, s, 0, NULL, 0))
			return fail("a plain float JSON doesn't write");
		{
			double d = strtod(s, NULL);

			/* 1e999 overflows for both, and jansson refused the
			 * input: nothing to compare with */
			return isfinite(d) ? json_real(d) : json_string("inf");
		}
	default:
		return fail("a plain scalar with a non-JSON type "
			    "(timestamp, merge key, value)");
	}
}

/* The next node of the event stream as a JSON value. */
static json_t *node(yaml_parser_t *p, unsigned depth);
/* The next node of a sequence or mapping, or *ended (and NULL) at its
 * end event. */
static json_t *node_until(yaml_parser_t *p, unsigned depth,
			  yaml_event_type_t end, bool *ended);

static json_t *node_from(yaml_parser_t *p, yaml_event_t *ev, unsigned depth)
{
	json_t *v = NULL;

	if (depth > RENDER_MAX_DEPTH + 2)
		return fail("nested deeper than the renderer allows");
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		if (ev->data.scalar.tag || ev->data.scalar.anchor)
			return fail("a tag or an anchor");
		if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
			return plain((const char *)ev->data.scalar.value,
				     ev->data.scalar.length);
		return json_stringn((const char *)ev->data.scalar.value,
				    ev->data.scalar.length);
	case YAML_SEQUENCE_START_EVENT:
		if (ev->data.sequence_start.tag ||
		    ev->data.sequence_start.anchor)
			return fail("a tag or an anchor");
		v = json_array();
		for (;;) {
			bool end;
			json_t *item = node_until(
				p, depth + 1, YAML_SEQUENCE_END_EVENT, &end);

			if (end)
				return v;
			if (!item)
				return json_decref(v), NULL;
			json_array_append_new(v, item);
		}
	case YAML_MAPPING_START_EVENT:
		if (ev->data.mapping_start.tag || ev->data.mapping_start.anchor)
			return fail("a tag or an anchor");
		v = json_object();
		for (;;) {
			bool end;
			json_t *key = node_until(p, depth + 1,
						 YAML_MAPPING_END_EVENT, &end);
			json_t *val;

			if (end)
				return v;
			if (!key)
				return json_decref(v), NULL;
			if (!json_is_string(key))
				return json_decref(key), json_decref(v),
				       fail("a key that is not a string");
			val = node(p, depth + 1);
			if (!val ||
			    (json_object_getn(v, json_string_value(key),
					      json_string_length(key)) &&
			     !dups_ok))
				return json_decref(key), json_decref(val),
				       json_decref(v),
				       val ? fail("a duplicate key") : NULL;
			json_object_setn_new(v, json_string_value(key),
					     json_string_length(key), val);
			json_decref(key);
		}
	case YAML_ALIAS_EVENT:
		return fail("an alias");
	default:
		return fail("an unexpected event");
	}
}

static json_t *node_until(yaml_parser_t *p, unsigned depth,
			  yaml_event_type_t end, bool *ended)
{
	yaml_event_t e;
	json_t *v = NULL;

	*ended = false;
	if (!yaml_parser_parse(p, &e))
		return fail("libyaml error");
	if (e.type == end)
		*ended = true;
	else
		v = node_from(p, &e, depth);
	yaml_event_delete(&e);
	return v;
}

static json_t *node(yaml_parser_t *p, unsigned depth)
{
	yaml_event_t e;
	json_t *v;

	if (!yaml_parser_parse(p, &e))
		return fail("libyaml error");
	v = node_from(p, &e, depth);
	yaml_event_delete(&e);
	return v;
}

/* The whole output: one document holding one node. */
static json_t *load_yaml(const char *s, size_t n)
{
	yaml_parser_t p;
	yaml_event_t e;
	json_t *v = NULL;
	bool ok;

	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)s, n);
	ok = yaml_parser_parse(&p, &e) && e.type == YAML_STREAM_START_EVENT;
	yaml_event_delete(&e);
	ok = ok && yaml_parser_parse(&p, &e) &&
	     e.type == YAML_DOCUMENT_START_EVENT;
	if (ok)
		yaml_event_delete(&e);
	if (ok)
		v = node(&p, 0);
	ok = v && yaml_parser_parse(&p, &e) &&
	     e.type == YAML_DOCUMENT_END_EVENT;
	if (ok)
		yaml_event_delete(&e);
	ok = ok && yaml_parser_parse(&p, &e) && e.type == YAML_STREAM_END_EVENT;
	if (ok)
		yaml_event_delete(&e);
	if (!ok && v) {
		json_decref(v);
		v = fail("not exactly one YAML document");
	} else if (!v) {
		fail(p.problem ? p.problem : "not a YAML document");
	}
	yaml_parser_delete(&p);
	return v;
}

/* Strict equality; NULL or what differs. */
static const char *same(json_t *a, json_t *b)
{
	const char *k;
	json_t *av;
	size_t i;

	if (json_typeof(a) != json_typeof(b))
		return "types differ";
	switch (json_typeof(a)) {
	case JSON_OBJECT:
		if (json_object_size(a) != json_object_size(b))
			return "member counts differ";
		for (void *it = json_object_iter(a); it;
		     it = json_object_iter_next(a, it)) {
			json_t *bv;
			const char *d;

			k = json_object_iter_key(it);
			av = json_object_iter_value(it);
			bv = json_object_getn(b, k,
					      json_object_iter_key_len(it));

			if (!bv)
				return "a member is missing";
			d = same(av, bv);
			if (d)
				return d;
		}
		return NULL;
	case JSON_ARRAY:
		if (json_array_size(a) != json_array_size(b))
			return "array lengths differ";
		json_array_foreach(a, i, av)
		{
			const char *d = same(av, json_array_get(b, i));

			if (d)
				return d;
		}
		return NULL;
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
				       !memcmp(json_string_value(a),
					       json_string_value(b),
					       json_string_length(a)) ?
			       NULL :
			       "strings differ";
	case JSON_INTEGER:
		return json_integer_value(a) == json_integer_value(b) ?
			       NULL :
			       "integers differ";
	case JSON_REAL:
		return json_real_value(a) == json_real_value(b) &&
				       signbit(json_real_value(a)) ==
					       signbit(json_real_value(b)) ?
			       NULL :
			       "reals differ";
	default:
		return NULL;
	}
}

static void report(const char *why, const uint8_t *in, size_t n,
		   const struct sbuf *out)
{
	fprintf(stderr, "fuzz_yaml: %s\n--- json:\n%.*s\n--- yaml:\n%.*s\n",
		why, (int)(n < 4000 ? n : 4000), (const char *)in,
		(int)(out->len < 4000 ? out->len : 4000),
		out->buf ? out->buf : "");
	abort();
}

/* The one call into velerofs. */
static int render(const char *json, size_t len, struct sbuf *out)
{
	return render_yaml(json, len, out, NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	compile(yaml11, sizeof(yaml11) / sizeof(*yaml11));
	compile(yaml12, sizeof(yaml12) / sizeof(*yaml12));
	if (regcomp(&json_int, "^-?(0|[1-9][0-9]*)$",
		    REG_EXTENDED | REG_NOSUB) ||
	    regcomp(&json_float,
		    "^-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][-+]?[0-9]+)?$",
		    REG_EXTENDED | REG_NOSUB))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *json = malloc(size ? size : 1); /* no NUL after it */
	json_t *want, *got;
	json_error_t je;
	struct sbuf out;
	const char *d;
	int r;

	if (!json)
		return 0;
	memcpy(json, data, size);
	sbuf_init(&out, (size_t)64 << 20);
	r = render(json, size, &out);
	want = json_loadb(
		json, size,
		JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &je);
	/* (jansson stops at a NUL byte; RFC 8259 has none outside strings,
	 * and none raw inside them) */
	if (r == -EBADMSG && want && !memchr(json, '\0', size))
		report("valid JSON refused as malformed", data, size, &out);
	if (r == 0) {
		if (!out.len || out.buf[out.len - 1] != '\n')
			report("no final newline", data, size, &out);
		failure = NULL;
		dups_ok = !want;
		got = load_yaml(out.buf, out.len);
		if (!got)
			report(failure, data, size, &out);
		if (want && (d = same(want, got)))
			report(d, data, size, &out);
		json_decref(got);
	}
	json_decref(want);
	sbuf_release(&out);
	free(json);
	return 0;
}
