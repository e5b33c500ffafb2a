/* vault: one interface over the places Velero keeps backups.
 *
 * A vault is a backup storage location named by a URL: a local directory
 * (`/path`, `file:///path`), later S3 and Azure Blob. Keys are relative to
 * the location's prefix and use '/' ("backups/b1/velero-backup.json").
 * velerofs never writes into a vault: there is no put or delete here.
 *
 * Thread-safety: a struct vault may be used from several threads at once;
 * a struct vault_stream belongs to one thread. No FUSE here. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/error.h"
#include "common/sbuf.h"

struct vault;
struct vault_stream;

/* What the store says about one object. identity changes whenever the
 * object's content may have changed (ETag, or size+mtime for files). */
struct vault_object {
	uint64_t size;
	int64_t mtime; /* seconds since the epoch */
	char identity[96];
};

struct vault_options {
	const char *credentials_file; /* may be NULL */
};

/* Parses url and opens the vault. Fails with -EINVAL (bad URL), -ENOENT
 * (no such location) or -EPROTONOSUPPORT (unknown scheme); e says why.
 * *out is set only on success; caller frees with vault_free(). */
int vault_open(const char *url, const struct vault_options *opt,
	       struct vault **out, struct verror *e);
/* Accepts NULL; returns NULL. */
struct vault *vault_free(struct vault *v);

/* Overwrites, in place, the secrets a vault URL may carry, so that what
 * is left can be shown (argv as ps and /proc/PID/cmdline show it, error
 * messages): the value of every query parameter whose name says it is a
 * secret (sas, sig, signature, token, key, secret, password, credential,
 * auth...) becomes "***", a user:password@ becomes "***@". Never makes
 * the string longer (the rest is NUL-padded). Only URLs with a scheme;
 * a plain path is left as it is. */
void vault_url_scrub(char *url);

/* Where the vault's requests go ("https://s3.eu-west-1.amazonaws.com"),
 * for the plain-http warning; NULL for a local vault. Borrowed. */
const char *vault_endpoint(const struct vault *v);

/* NULL when the vault's requests carry credentials; otherwise why none
 * were found (where they were looked for), for a warning before the
 * first request: a private bucket then answers 403. Borrowed. */
const char *vault_no_credentials(const struct vault *v);

/* A stable string naming the location without credentials, e.g.
 * "file:///srv/bsl" or "s3://bucket/prefix"; used in cache keys and
 * messages. Borrowed; lives as long as v. */
const char *vault_id(const struct vault *v);

/* Called once per entry directly under a listed directory. name is the
 * last component (no trailing '/'); obj is NULL for sub-"directories"
 * (common prefixes). Return < 0 to stop the listing with that error. */
typedef int (*vault_list_fn)(const char *name, const struct vault_object *obj,
			     void *userdata);

/* Lists dir ("backups/", "" for the top) one level deep, in no particular
 * order. A missing dir lists nothing. */
int vault_list(struct vault *v, const char *dir, vault_list_fn fn,
	       void *userdata, struct verror *e);
/* -ENOENT if key does not exist. *out untouched on failure. */
int vault_stat(struct vault *v, const char *key, struct vault_object *out,
	       struct verror *e);

/* Opens key for sequential reading. When expect is non-NULL, fails with
 * -ESTALE if the object is no longer that version. *out set on success
 * only; free with vault_stream_free(). */
int vault_stream_open(struct vault *v, const char *key,
		      const struct vault_object *expect,
		      struct vault_stream **out, struct verror *e);
/* Like vault_stream_open(), for the bytes [off, off+len) only (len > 0);
 * the stream ends early where the object does (a range past the end reads
 * as what there is, possibly nothing, or -EIO from a server that refuses
 * it). Remote vaults ask with a Range header and resume within it. */
int vault_stream_open_range(struct vault *v, const char *key,
			    const struct vault_object *expect, uint64_t off,
			    uint64_t len, struct vault_stream **out,
			    struct verror *e);
/* Reads exactly the bytes [off, off+len) of key, appended to out (capped
 * by out->max: -E2BIG); -EIO when the object is shorter, -ENOENT when
 * absent, -ESTALE when expect is given and the object changed. out is
 * untouched on failure. */
int vault_get_range(struct vault *v, const char *key,
		    const struct vault_object *expect, uint64_t off, size_t len,
		    struct sbuf *out, struct verror *e);

/* Reads up to len bytes; returns the count, 0 at the end, -errno on
 * failure (-EIO, -ESTALE when the object changed underneath). */
ssize_t vault_stream_read(struct vault_stream *s, void *buf, size_t len,
			  struct verror *e);
struct vault_stream *vault_stream_free(struct vault_stream *s);

/* Reads a whole (small) object into out (appended; capped by out->max:
 * -E2BIG). -ENOENT if absent. info, if non-NULL, receives its identity. */
int vault_get(struct vault *v, const char *key, struct sbuf *out,
	      struct vault_object *info, struct verror *e);

/* --- BackupStorageLocations (bsl.c) ------------------------------------ */

/* What a Velero BackupStorageLocation says about its vault. */
struct vault_bsl {
	char *url;	       /* the vault URL; no secret in it */
	const char *provider;  /* "aws", "azure" or "alibabacloud" (static) */
	unsigned char *ca_pem; /* objectStorage.caCert decoded; NULL */
	size_t ca_len;
	char *secret_name; /* spec.credential, or Velero's default */
	char *secret_key;  /* ("cloud-credentials", "cloud") */
	char *key_var;	   /* azure: config.storageAccountKeyEnvVar; NULL */
	unsigned notes;	   /* VAULT_BSL_NO_REGION: the plugin would ask
			    * AWS for the bucket's region */
};
#define VAULT_BSL_NO_REGION 1u
/* Name the profile of the credentials file in the URL even when the BSL
 * names none ("default", as the plugin reads it): for credentials that
 * come from the BSL's Secret, so that AWS_PROFILE does not pick another. */
#define VAULT_BSL_PIN_PROFILE 1u

/* Reads a BackupStorageLocation object (as the API server returns it, or
 * parsed from a YAML or JSON file) into *out (caller releases with
 * vault_bsl_release()). -EINVAL (e says which field),
 * -EPROTONOSUPPORT (a provider velerofs does not read), -ENOMEM.
 * Untouched on failure. */
int vault_bsl_read(const json_t *obj, unsigned flags, struct vault_bsl *out,
		   struct verror *e);
void vault_bsl_release(struct vault_bsl *b);
/* Appends to out the credentials file the vault backend reads, from the
 * content of the BSL's credential Secret key (data[0..len)): Velero's
 * AWS and Azure files as they are (an Azure storageAccountKeyEnvVar is
 * copied to AZURE_STORAGE_ACCOUNT_ACCESS_KEY first), Alibaba's
 * ALIBABA_CLOUD_* file as an AWS one. out holds secrets: the caller
 * wipes it. */
int vault_bsl_credentials(const struct vault_bsl *b, const void *data,
			  size_t len, struct sbuf *out, struct verror *e);
