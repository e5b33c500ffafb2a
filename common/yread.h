/* yread: the one YAML reader. A libyaml event stream turned into jansson
 * values, document by document, with caps on nesting and on the number
 * of values (aliases included), for everything velerofs reads as YAML:
 * files copied into restore/ (restore/parse.c) and kubeconfig files
 * (kube/config.c). Renders nothing: backup/yaml.c writes YAML.
 *
 * How plain scalars resolve is the caller's choice (kubectl's go-yaml v2
 * rules, YAML 1.2's core schema, or strings as Go string fields get
 * them); so are merge keys and whether aliases are copied. Quoted,
 * literal and folded scalars, !!str and tags of one's own are strings;
 * the core tags (!!null, !!bool, !!int, !!float) resolve as if plain.
 * Keys are scalars; one that is not a string becomes its text (true, 1,
 * null), as sigs.k8s.io/yaml makes it; a duplicate key is an error.
 * Anchors do not cross documents.
 *
 * Problems are reported as what went wrong and where (struct
 * yread_error); the caller words them for its users. The input size cap
 * is the caller's too. One reader per thread; no global state. */
#pragma once

#include <jansson.h>
#include <stddef.h>

enum yread_scalars {
	/* YAML 1.1 as go-yaml v2 (so sigs.k8s.io/yaml, kubectl) resolves
	 * plain scalars: yes/no/on/off/y/n booleans, ints in decimal, 0x,
	 * 0o, 0b and leading-zero octal with '_' separators, go-yaml's
	 * floats (integral ones as JSON integers), plain dates as RFC 3339
	 * times; .inf/.nan are errors (JSON cannot hold them). */
	YREAD_GO_YAML,
	/* YAML 1.2's core schema: null, true/false, ints (decimal, 0x, 0o;
	 * too large ones keep their text), floats. */
	YREAD_CORE,
	/* Strings, as a Go struct with string fields gets them: only the
	 * null forms (empty, ~, null) become JSON null. */
	YREAD_STRINGS,
};

/* << merges mappings into the one it is a key of (the YAML merge key);
 * without it, << is an ordinary key. */
#define YREAD_MERGE_KEYS 1u
/* An alias is a deep copy of its anchored value (for callers that change
 * documents in place), charged at the anchored value's size against
 * max_nodes (so a "billion laughs" stops); without it, aliases share the
 * anchored value and count as one. */
#define YREAD_COPY_ALIASES 2u

struct yread_options {
	enum yread_scalars scalars;
	unsigned flags;	    /* YREAD_MERGE_KEYS | YREAD_COPY_ALIASES */
	unsigned max_depth; /* mappings and sequences nested this deep are
			     * refused (the root is depth 0); 0: 64 */
	size_t max_nodes;   /* values, keys and aliases in the whole
			     * stream; 0: 1M */
};

enum yread_problem {
	YREAD_SYNTAX,	      /* libyaml's own words in detail */
	YREAD_DEPTH,	      /* nested max_depth deep */
	YREAD_NODES,	      /* more than max_nodes values */
	YREAD_ANCHOR,	      /* an alias of an unknown anchor (detail) */
	YREAD_DUP_KEY,	      /* a key twice in a mapping (detail) */
	YREAD_KEY_NOT_SCALAR, /* a mapping or sequence as a key */
	YREAD_KEY_NUL,	      /* a key with a NUL byte */
	YREAD_NOT_NUMBER,     /* .inf/.nan (detail), YREAD_GO_YAML */
	YREAD_MERGE,	      /* << of something not a mapping (or a list of
			       * mappings) */
};

struct yread_error {
	enum yread_problem what;
	size_t line, column; /* 1-based */
	char detail[256];    /* see yread_problem; else empty */
};

struct yread;

/* A reader of data[0..len) (borrowed until yread_free()). opts NULL:
 * YREAD_GO_YAML, no flags, default caps. -ENOMEM or 0. */
int yread_new(const void *data, size_t len, const struct yread_options *opts,
	      struct yread **out);
struct yread *yread_free(struct yread *y);

/* Moves to the next document: 1 with the position of its root value in
 * *line and *column (each nullable), 0 at the end of the stream. Then
 * yread_doc() reads it. */
int yread_start(struct yread *y, size_t *line, size_t *column,
		struct yread_error *err);
/* Reads the document yread_start() began into *doc (caller decrefs; JSON
 * null for an empty document). The rest of the stream is not read until
 * the next yread_start(). */
int yread_doc(struct yread *y, json_t **doc, struct yread_error *err);

/* Both return -EBADMSG with err filled in (err nullable) when the input is
 * not what they take (-E2BIG for YREAD_NODES), or -ENOMEM. */
