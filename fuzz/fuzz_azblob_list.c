/* fuzz_azblob_list: the body of an Azure List Blobs answer
 * (azblob_parse_list(), vault/azblob.c), under two prefixes, and the same bytes
 * as an error body (remote_xml_error(), vault/remote.c). Every entry handed out
 * must be one safe path component. */
#include <stdint.h>

#include "fuzz/list_check.h"
#include "vault/azblob_i.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return list_fuzz_one(data, size, azblob_parse_list);
}
