/* vault/remote: what the S3 and Azure backends share. Private to vault/.
 * No state of its own, no logging.
 *
 * - URL pieces: query parameters of a vault URL, percent-encoding.
 * - Crypto: SHA-256, HMAC-SHA256, hex and base64 (OpenSSL).
 * - A strict, capped XML scanner for the few elements of list answers
 *   and error bodies: no DTDs, no external entities, bounded depth and
 *   text sizes; anything it does not understand is an error.
 * - Credential files: INI sections (~/.aws/credentials, Velero's AWS
 *   plugin file) and KEY=VALUE files (Velero's Azure plugin file).
 * - The vault operations over http/: the paged list loop, stat
 *   (HEAD) and streams (GET), driven by a small per-backend table,
 *   struct remote_ops, for what differs: URLs, signing, list queries
 *   and answers. I/O happens only here and in remote_file_value(). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/sbuf.h"
#include "http/http.h"
#include "vault/vault.h"

struct vault_ops;

/* The value of parameter name in the query string query ("a=1&b=2", no
 * '?'), percent-decoded ('+' is a space). Returns 1 and *out (caller
 * frees) when present, 0 when absent, -ENOMEM, or -EINVAL for a bad
 * escape or a NUL. */
int remote_query_get(const char *query, const char *name, char **out);
/* One URL parameter a backend knows; its value goes to *out (caller
 * frees; left alone when absent). */
struct remote_param {
	const char *name;
	char **out;
};
/* Reads the parameters of query (NULL ok) listed in params (ended by a
 * NULL name). Fails with -EINVAL naming the first parameter not listed
 * (a typo must not silently change the meaning) or on a bad escape, or
 * -ENOMEM; outs filled before a failure stay filled. Messages start
 * with vault. */
int remote_query_params(const char *query, const struct remote_param *params,
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
/* Code and Message of an S3/Azure XML error body ("<Error><Code>...",
 * or STS's "<ErrorResponse><Error>..."),
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

/* Where one backend's list answer keeps what remote_parse_list() reads:
 * element paths from the root. */
struct remote_list_format {
	const char *answer;    /* for messages: "ListObjectsV2 answer" */
	const char *entry;     /* one object: "ListBucketResult/Contents" */
	const char *name;      /* its key */
	const char *etag;      /* its ETag */
	const char *size;      /* its size (required) */
	const char *mtime;     /* its modification time */
	const char *dir;       /* a common prefix */
	const char *next;      /* the marker of the next page */
	const char *truncated; /* "true" when there is one; NULL: a
				* non-empty next marker says so */
};
/* Parses one list answer in format f: see s3_parse_list() in s3_i.h. */
int remote_parse_list(const struct remote_list_format *f, const char *xml,
		      size_t n, const char *prefix, vault_list_fn fn,
		      void *userdata, char **next, struct verror *e);

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

/* --- the backends' shared operations ---------------------------------- */

/* One request's URL and signing context; it outlives a stream's
 * attempts (the backend's sign callback gets it as ctx). */
struct remote_req {
	void *backend; /* borrowed: the backend's state, for its prepare */
	char *path;    /* the URI path as the backend signs it; owned */
	char *query;   /* as sent, without a SAS; NULL if none; owned */
	char *url;     /* complete; may hold a SAS: wiped on release; owned */
};

/* Steals the contents of path and url (left empty) and copies query
 * (NULL ok) into q: the common tail of a backend's req_init. -ENOMEM
 * leaves q partly filled: the caller releases it. */
int remote_req_take(struct remote_req *q, struct sbuf *path, struct sbuf *url,
		    const char *query);
/* Frees what q owns, wiping the URL first, and leaves q empty: releasing
 * twice is harmless. */
void remote_req_release(struct remote_req *q);
/* Wipes and frees the secret s (NULL ok). */
void remote_wipe_free(char *s);
/* Wipes what b holds (secrets) and releases it. */
void remote_sbuf_wipe(struct sbuf *b);

/* What differs between the backends; one static table each. */
struct remote_ops {
	/* Fills q for key (NULL: the bucket or container itself) and
	 * query (NULL: none); the caller releases q. On failure q holds
	 * nothing. */
	int (*req_init)(void *backend, struct remote_req *q, const char *key,
			const char *query);
	/* Signs one attempt; ctx is the struct remote_req. The attempt
	 * already holds the range header (named range_header) and
	 * If-Match when resuming. */
	http_sign_fn sign;
	const char *range_header; /* NULL: "Range" */
	/* Appends to query (reset by the caller) the list query of one
	 * page under prefix (the full key prefix, "" or ending in '/'),
	 * from marker on (NULL: the first page). */
	int (*list_query)(struct sbuf *query, const char *prefix,
			  const char *marker);
	/* Parses one list page: see s3_parse_list() in s3_i.h. */
	int (*list_parse)(const char *xml, size_t n, const char *prefix,
			  vault_list_fn fn, void *userdata, char **next,
			  struct verror *e);
	/* The backend's name for the next-page marker, for messages
	 * ("continuation token", "marker"). */
	const char *marker_name;
	/* Frees what the backend's state owns (not the state itself, nor
	 * its struct remote); it may be partly filled. */
	void (*release)(void *backend);
	/* A GET answer without Content-Length counts as size 0 when
	 * checking a stream's expected identity (Azure); otherwise it never
	 * matches (S3). */
	bool unsized_get_is_empty;
};

/* The shared part of a remote backend's state: the first member of the
 * backend's struct, so that the functions below find it at v->priv. */
struct remote {
	const struct remote_ops *ops;
	void *backend;	   /* the state this starts; for ops->req_init */
	char *prefix;	   /* owned: "" or ending in '/' */
	struct http *http; /* owned */
	/* set by the backend once it is open, borrowed from its state: the
	 * endpoint's base URL (scheme://host[:port]...) for
	 * vault_endpoint(), and why no credentials were found (NULL when
	 * there are some) for vault_no_credentials() */
	const char *base_url;
	const char *no_credentials;
};

/* The struct vault_ops functions of a remote backend, for a v whose priv
 * starts with its struct remote; contracts as in vault.h. Listing follows
 * the markers page by page (each page capped at 16 MiB, at most 100000
 * pages) and fails with -EIO when the server repeats a marker. */
const char *remote_endpoint(const struct vault *v);
const char *remote_no_credentials(const struct vault *v);
int remote_list(struct vault *v, const char *dir, vault_list_fn fn,
		void *userdata, struct verror *e);
int remote_stat(struct vault *v, const char *key, struct vault_object *out,
		struct verror *e);
int remote_stream_open(struct vault *v, const char *key,
		       const struct vault_object *expect, uint64_t off,
		       uint64_t len, struct vault_stream **out,
		       struct verror *e);
ssize_t remote_stream_read(struct vault_stream *s, void *buf, size_t len,
			   struct verror *e);
void remote_stream_free(struct vault_stream *s);
/* Frees v->priv: the backend's release, then the struct remote. */
void remote_vault_free(struct vault *v);

/* The struct vault_ops of a remote backend: the operations above. */
#define REMOTE_VAULT_OPS(scheme_)                                              \
	{                                                                      \
		.scheme = (scheme_), .list = remote_list, .stat = remote_stat, \
		.stream_open = remote_stream_open,                             \
		.stream_read = remote_stream_read,                             \
		.stream_free = remote_stream_free, .free = remote_vault_free,  \
		.endpoint = remote_endpoint,                                   \
		.no_credentials = remote_no_credentials,                       \
	}

/* Opening a remote backend. */

/* Splits rest (the URL after "scheme://") at its '?': *loc is the part
 * before (caller frees), *query the part after (borrowed from rest;
 * NULL when there is none). -ENOMEM. */
int remote_url_split(const char *rest, char **loc, const char **query);
/* A vault with ops vops (REMOTE_VAULT_OPS) whose priv is a zeroed
 * backend state of size bytes starting with its struct remote, set up
 * for rops. NULL when out of memory; free with vault_free() (rops->release
 * must accept a partly filled state). */
struct vault *remote_vault_new(const struct vault_ops *vops,
			       const struct remote_ops *rops, size_t size);
/* The key prefix of the URL path p: leading and trailing '/' dropped and
 * one '/' appended unless empty. *out (caller frees) is "" or "a/b/";
 * returns its length without that '/' or -ENOMEM (*out NULL). The caller
 * checks it with remote_key_ok(). */
int remote_prefix(const char *p, char **out);
/* The key prefix and the vault id of a remote vault: rm->prefix from the
 * URL path p (see remote_prefix(), checked with remote_key_ok()) and
 * v->id = base ("s3://bucket") plus "/prefix" without its '/'. -EINVAL
 * for a bad prefix (e names base), -ENOMEM. */
int remote_location(struct vault *v, struct remote *rm, const char *base,
		    const char *p, struct verror *e);
/* Creates rm->http for the URL parameters ca (NULL: the file named by
 * the environment variable ca_env, if set), insecure ("0" or NULL: off)
 * and attempts (1 to 20; NULL: the default). All borrowed. */
int remote_http_new(struct remote *rm, const char *vault_id, const char *ca,
		    const char *ca_env, const char *insecure,
		    const char *attempts, struct verror *e);
