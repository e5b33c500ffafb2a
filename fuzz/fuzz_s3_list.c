/* fuzz_s3_list: the body of an S3 ListObjectsV2 answer (s3_parse_list(),
 * vault/s3.c), under two prefixes, and the same bytes as an error body
 * (remote_xml_error(), vault/remote.c). Every entry handed out must be
 * one safe path component. */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz/list_check.h"
#include "vault/remote_i.h"
#include "vault/s3_i.h"

/* The one call into velerofs per parser. */
static void parse(const char *xml, size_t n, const char *prefix)
{
	char *next = NULL;
	size_t entries = 0;

	(void)s3_parse_list(xml, n, prefix, list_entry, &entries, &next, NULL);
	free(next);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char code[64], msg[256];
	char *xml = malloc(size ? size : 1); /* no NUL after it */

	if (!xml)
		return 0;
	memcpy(xml, data, size);
	parse(xml, size, "");
	parse(xml, size, "backups/");
	remote_xml_error(xml, size, code, sizeof(code), msg, sizeof(msg));
	free(xml);
	return 0;
}
