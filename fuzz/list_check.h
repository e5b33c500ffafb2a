/* list_check: what the S3 and Azure list fuzz targets share: the check
 * of every entry a list parser hands out (one safe path component), and
 * the one input run through a list parser and the error-body parser. */
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault/remote_i.h"
#include "vault/vault.h"

static int list_entry(const char *name, const struct vault_object *obj,
		      void *userdata)
{
	size_t *n = userdata;

	if (!name || !*name || strchr(name, '/') || !strcmp(name, ".") ||
	    !strcmp(name, "..") ||
	    (obj && !memchr(obj->identity, '\0', sizeof(obj->identity)))) {
		fprintf(stderr, "list parser handed out \"%s\"\n",
			name ? name : "(null)");
		abort();
	}
	(*n)++;
	return 0;
}

/* A list parser of vault/ (s3_parse_list(), azblob_parse_list()). */
typedef int (*list_parse_fn)(const char *xml, size_t n, const char *prefix,
			     vault_list_fn fn, void *userdata, char **next,
			     struct verror *e);

/* The one call into velerofs per parser. */
static void list_parse(list_parse_fn parse, const char *xml, size_t n,
		       const char *prefix)
{
	char *next = NULL;
	size_t entries = 0;

	(void)parse(xml, n, prefix, list_entry, &entries, &next, NULL);
	free(next);
}

/* What each list target does with one input: the bytes as a list page
 * under the prefixes "" and "backups/", then as an error body. They are
 * copied so that no NUL follows them. */
static int list_fuzz_one(const uint8_t *data, size_t size, list_parse_fn parse)
{
	char code[64], msg[256];
	char *xml = malloc(size ? size : 1); /* no NUL after it */

	if (!xml)
		return 0;
	memcpy(xml, data, size);
	list_parse(parse, xml, size, "");
	list_parse(parse, xml, size, "backups/");
	remote_xml_error(xml, size, code, sizeof(code), msg, sizeof(msg));
	free(xml);
	return 0;
}
