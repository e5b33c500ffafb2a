/* list_check: what the S3 and Azure list fuzz targets check of every
 * entry a list parser hands out: one safe path component. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
