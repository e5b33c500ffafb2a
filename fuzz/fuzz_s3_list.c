/* fuzz_s3_list: the body of an S3 ListObjectsV2 answer (s3_parse_list(),
 * vault/s3.c), under two prefixes, and the same bytes as an error body
 * (remote_xml_error(), vault/remote.c). Every entry handed out must be
 * one safe path component. */
#include <stdint.h>

#include "fuzz/list_check.h"
#include "vault/s3_i.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return list_fuzz_one(data, size, s3_parse_list);
}
