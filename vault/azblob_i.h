/* vault/azblob: the pieces of the Azure Blob backend the unit tests
 * reach. Private to vault/. Pure functions: no clock, no I/O. */
#pragma once

#include <stddef.h>

#include "common/error.h"
#include "common/sbuf.h"
#include "vault/vault.h"

/* Parses one List Blobs answer; see s3_parse_list() in s3_i.h. *next
 * receives NextMarker (caller frees; NULL when complete). */
int azblob_parse_list(const char *xml, size_t n, const char *prefix,
		      vault_list_fn fn, void *userdata, char **next,
		      struct verror *e);

/* The Shared Key string to sign (2009-09-19 and later scheme). headers:
 * "Name: value" strings in any case (standard ones go to their fixed
 * lines, x-ms-* ones are canonicalized); path: the encoded URI path as
 * sent ("/container/blob", or "/acct/container/blob" path-style); query
 * as sent without '?' (NULL ok). out is reset first. */
int azblob_string_to_sign(const char *method, const char *const *headers,
			  size_t n_headers, const char *account,
			  const char *path, const char *query,
			  struct sbuf *out);
/* base64(HMAC-SHA256(key, sts)) into sig. */
void azblob_sign(const unsigned char *key, size_t key_len, const char *sts,
		 char sig[64]);
