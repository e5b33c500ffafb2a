/* Private to vault/: the backend function table (curl's vtls_int.h).
 * Each backend fills one struct vault_ops; vault.c dispatches. */
#pragma once

#include "vault/vault.h"

struct vault_ops {
	const char *scheme;
	int (*list)(struct vault *v, const char *dir, vault_list_fn fn,
		    void *userdata, struct verror *e);
	int (*stat)(struct vault *v, const char *key, struct vault_object *out,
		    struct verror *e);
	/* len 0: from off to the end; otherwise at most len bytes */
	int (*stream_open)(struct vault *v, const char *key,
			   const struct vault_object *expect, uint64_t off,
			   uint64_t len, struct vault_stream **out,
			   struct verror *e);
	ssize_t (*stream_read)(struct vault_stream *s, void *buf, size_t len,
			       struct verror *e);
	void (*stream_free)(struct vault_stream *s);
	void (*free)(struct vault *v);
	/* where requests go; NULL (or no op) for a local vault */
	const char *(*endpoint)(const struct vault *v);
	/* requests go unsigned: why no credentials were found; NULL when
	 * they are signed (or no op) */
	const char *(*no_credentials)(const struct vault *v);
};

struct vault {
	const struct vault_ops *ops;
	char *id;   /* owned; see vault_id() */
	void *priv; /* the backend's own state */
};

struct vault_stream {
	struct vault *vault;
	void *priv;
};

int vault_local_open(const char *path, const struct vault_options *opt,
		     struct vault **out, struct verror *e);
/* s3.c: rest is the URL after "s3://". */
int vault_s3_open(const char *rest, const struct vault_options *opt,
		  struct vault **out, struct verror *e);
/* azblob.c: rest is the URL after "azblob://". */
int vault_azblob_open(const char *rest, const struct vault_options *opt,
		      struct vault **out, struct verror *e);
