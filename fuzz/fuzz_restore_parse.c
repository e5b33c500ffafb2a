/* fuzz_restore_parse: the reader of files copied into restore/
 * (restore_parse() and restore_parse_document(), restore/parse.c): YAML
 * documents, JSON objects and streams, Lists. Every object it accepts
 * must have the shape it promises (a string apiVersion and kind, a
 * metadata.name). */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "restore/restore_i.h"

/* The calls into velerofs. */
static int parse(const char *p, size_t n, json_t **out)
{
	return restore_parse(p, n, "fuzz.yaml", out, NULL);
}

static int parse_document(const char *p, size_t n, json_t **out)
{
	return restore_parse_document(p, n, "fuzz.yaml", out, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = malloc(size ? size : 1); /* no NUL after it */
	json_t *out = NULL, *o;
	size_t i;

	if (!p)
		return 0;
	memcpy(p, data, size);
	if (parse(p, size, &out) == 0) {
		if (!json_is_array(out))
			abort();
		json_array_foreach(
			out, i,
			o) if (!json_is_string(json_object_get(o, "apiVersio"
								  "n")) ||
			       !json_is_string(json_object_get(o, "kind")) ||
			       !json_is_string(json_object_get(
				       json_object_get(o, "metadata"), "name")))
		{
			fprintf(stderr, "accepted an object without "
					"apiVersion, kind or name\n");
			abort();
		}
		json_decref(out);
	}
	out = NULL;
	if (parse_document(p, size, &out) == 0)
		json_decref(out);
	free(p);
	return 0;
}
