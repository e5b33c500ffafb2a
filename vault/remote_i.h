/* vault/remote: small helpers the S3 and Azure backends share. Private to
 * vault/. No I/O except remote_file_value(), no state, no logging.
 *
 * - URL pieces: query parameters of a vault URL, percent-encoding.
 * - Crypto: SHA-256, HMAC-SHA256, hex and base64 (OpenSSL).
 * - A strict, capped XML scanner for the few elements of list answers
 *   and error bodies: no DTDs, no external entities, bounded depth and
 *   text sizes; anything it does not understand is an error.
 * - Credential files: INI sections (~/.aws/credentials, Velero's AWS
 *   plugin file) and KEY=VALUE files (Velero's Azure plugin file). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/sbuf.h"
#include "vault/vault.h"

/* The value of parameter name in the query string query ("a=1&b=2", no
 * '?'), percent-decoded ('+' is a space). Returns 1 and *out (caller
 * frees) when present, 0 when absent, -ENOMEM, or -EINVAL for a bad
 * escape or a NUL. */
int remote_query_get(const char *query, const char *name, char **out);
/* Fails with -EINVAL, naming the first parameter of query not in known
 * (a NULL-terminated list): a typo must not silently change the meaning. */
int remote_query_check(const char *query, const char *const *known,
		       const char *vault, struct verror *e);

/* Appends s percent-encoded: every byte but A-Z a-z 0-9 - _ . ~ (and '/'
 * when keep_slash) becomes %XX with upper-case hex (SigV4, Azure). */
int remote_uri_encode(struct sbuf *out, const char *s, bool keep_slash);
/* Decodes %XX escapes of s[0..n) into out (appended). -EINVAL for a bad
 * escape or an escaped NUL. */
int remote_uri_decode(struct sbuf *out, const char *s, size_t n);

void remote_sha256(const void *p, size_t n, unsigned char out[32]);
void remote_hmac_sha256(const void *key, size_t key_len, const void *p,
			size_t n, unsigned char out[32]);
/* Lower-case hex of n bytes into out (2n+1 bytes). */
void remote_hex(const unsigned char *p, size_t n, char *out);
/* Base64 of n bytes; out needs 4*((n+2)/3)+1 bytes. */
void remote_base64(const unsigned char *p, size_t n, char *out);
/* Decodes standard base64 (padding required) into out (at most max
 * bytes); returns the length or -EINVAL. */
int remote_unbase64(const char *s, unsigned char *out, size_t max);

/* "2026-11-21T10:00:00.000Z" or "Sat, 21 Nov 2026 10:00:00 GMT" to
 * seconds since the epoch; 0 if it does not parse. */
int64_t remote_parse_time(const char *s);

/* Fills o->identity from an ETag (quotes stripped; over-long ones are
 * hashed) and the size: "e:<etag>:<size hex>". */
void remote_identity(struct vault_object *o, const char *etag);

/* XML. The scanner calls fn for every element start (text NULL) and end
 * (text = the element's own text, unescaped, NUL-terminated; NULL for an
 * element holding children). path is the element names from the root,
 * joined by '/' ("ListBucketResult/Contents/Key"). fn returns < 0 to
 * stop. Limits: depth 16, names 64 bytes, text 4096 bytes per element,
 * input size is the caller's (a capped body). Returns 0, fn's error, or
 * -EBADMSG for anything malformed or refused (DOCTYPE, unknown entities,
 * mismatched tags, text outside the root, a truncated document). */
enum remote_xml_event { REMOTE_XML_START, REMOTE_XML_END };
typedef int (*remote_xml_fn)(enum remote_xml_event ev, const char *path,
			     const char *text, void *userdata);
int remote_xml_parse(const char *p, size_t n, remote_xml_fn fn, void *userdata,
		     struct verror *e);
/* Code and Message of an S3/Azure XML error body ("<Error><Code>..."),
 * into code/msg (truncated, NUL-terminated; empty when absent). */
void remote_xml_error(const char *p, size_t n, char *code, size_t code_size,
		      char *msg, size_t msg_size);

/* The value of key in a credentials file. section non-NULL: an INI file
 * ("[default]" or "[profile name]" headers, "key = value", # and ;
 * comments). section NULL: KEY=VALUE lines (optionally "export KEY=",
 * optional quotes). Returns 1 with *out (caller frees), 0 when absent
 * (or the file is missing and missing_ok), -errno when unreadable;
 * files over 1 MiB are refused. The message names the file, never a
 * value. */
int remote_file_value(const char *path, const char *section, const char *key,
		      bool missing_ok, char **out, struct verror *e);

/* A key given to stat or a stream (or a directory key ending in '/'):
 * non-empty, relative, at most 1024 bytes, no empty, "." or ".."
 * component. */
bool remote_key_ok(const char *key);
/* For the list parsers: full (a key, or a common prefix ending in '/'
 * when is_dir) must start with prefix; fn receives the single component
 * after it. Anything else (outside the prefix, deeper, empty, "." or
 * "..", the directory's own placeholder) is skipped: returns 0. */
int remote_list_emit(const char *prefix, const char *full, bool is_dir,
		     const struct vault_object *obj, vault_list_fn fn,
		     void *userdata);
