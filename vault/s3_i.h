/* vault/s3: the pieces of the S3 backend the unit tests reach. Private to
 * vault/.
 *
 * sigv4_sign() is AWS Signature Version 4 over a described request, pure
 * (no clock, no I/O), so the published test vectors can check each of
 * its three products separately. s3_parse_list() reads one
 * ListObjectsV2 answer. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "common/sbuf.h"
#include "vault/vault.h"

struct sigv4_header {
	const char *name; /* any case; duplicates are joined with ',' */
	const char *value;
};

struct sigv4_input {
	const char *method;
	const char *path;  /* raw (not encoded); each byte but unreserved
			    * ones and '/' is percent-encoded once */
	const char *query; /* as sent, without '?': "a=1&b=%20x"; NULL ok */
	const struct sigv4_header *headers;
	size_t n_headers;
	const char *payload_hash; /* hex SHA-256 or "UNSIGNED-PAYLOAD" */
	const char *region;
	const char *service;
	const char *amz_date; /* "20150830T123600Z" */
	const char *access_key;
	const char *secret_key;
};

/* Fills creq (canonical request), sts (string to sign) and authz (the
 * Authorization header value); any of the three may be NULL. They are
 * reset first. Returns 0, -ENOMEM, -E2BIG or -EINVAL (a bad escape in
 * the query, more than 64 headers). */
int sigv4_sign(const struct sigv4_input *in, struct sbuf *creq,
	       struct sbuf *sts, struct sbuf *authz);

/* One attempt signed with SigV4: Host, x-amz-content-sha256 (when
 * payload_header), x-amz-date (now) and x-amz-security-token (when token)
 * are added, then, with an access_key, an Authorization over every
 * header of the attempt. Without one, the request goes unsigned. For the
 * S3 backend and STS. Returns 0, -ENOMEM or -EINVAL. */
struct http_attempt;
struct sigv4_attempt {
	const char *host, *path, *query, *payload_hash, *region, *service;
	bool payload_header;
	const char *access_key, *secret_key, *token; /* borrowed; NULL ok */
};
int sigv4_sign_attempt(struct http_attempt *a, const struct sigv4_attempt *s);

/* Parses one ListObjectsV2 answer. Keys and prefixes must start with
 * prefix (the listed "directory", with its trailing '/'); fn gets the
 * rest, one level deep (entries that are not a single safe name are
 * skipped). *next receives the continuation token (caller frees; NULL
 * when the listing is complete). Returns 0, fn's error or -EBADMSG. */
int s3_parse_list(const char *xml, size_t n, const char *prefix,
		  vault_list_fn fn, void *userdata, char **next,
		  struct verror *e);
