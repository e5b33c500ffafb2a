/* vault: URL parsing and dispatch to the backends. */
#include "vault/vault_i.h"

#include "common/macro.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int vault_open(const char *url, const struct vault_options *opt,
	       struct vault **out, struct verror *e)
{
	static const struct vault_options none;

	if (!opt)
		opt = &none;
	if (!url || !*url)
		return verror_set(e, -EINVAL, "empty vault URL");
	if (strncmp(url, "file://", 7) == 0) {
		if (url[7] != '/')
			return verror_set(e, -EINVAL,
					  "%s: file:// URLs need an absolute "
					  "path (file:///srv/bsl)",
					  url);
		return vault_local_open(url + 7, opt, out, e);
	}
	if (strncmp(url, "s3://", 5) == 0)
		return vault_s3_open(url + 5, opt, out, e);
	if (strncmp(url, "azblob://", 9) == 0)
		return vault_azblob_open(url + 9, opt, out, e);
	/* only the scheme is echoed: the rest may hold a SAS token */
	if (strstr(url, "://"))
		return verror_set(e, -EPROTONOSUPPORT,
				  "unsupported vault URL scheme '%.*s' "
				  "(supported: a path, file://, s3://, "
				  "azblob://)",
				  (int)MIN(strstr(url, "://") - url, 20), url);
	return vault_local_open(url, opt, out, e);
}

struct vault *vault_free(struct vault *v)
{
	if (!v)
		return NULL;
	v->ops->free(v);
	free(v->id);
	free(v);
	return NULL;
}

const char *vault_id(const struct vault *v)
{
	return v->id;
}

int vault_list(struct vault *v, const char *dir, vault_list_fn fn,
	       void *userdata, struct verror *e)
{
	return v->ops->list(v, dir, fn, userdata, e);
}

int vault_stat(struct vault *v, const char *key, struct vault_object *out,
	       struct verror *e)
{
	return v->ops->stat(v, key, out, e);
}

int vault_stream_open(struct vault *v, const char *key,
		      const struct vault_object *expect,
		      struct vault_stream **out, struct verror *e)
{
	return v->ops->stream_open(v, key, expect, out, e);
}

ssize_t vault_stream_read(struct vault_stream *s, void *buf, size_t len,
			  struct verror *e)
{
	return s->vault->ops->stream_read(s, buf, len, e);
}

struct vault_stream *vault_stream_free(struct vault_stream *s)
{
	if (s)
		s->vault->ops->stream_free(s);
	return NULL;
}

int vault_get(struct vault *v, const char *key, struct sbuf *out,
	      struct vault_object *info, struct verror *e)
{
	struct vault_stream *s = NULL;
	struct vault_object obj;
	size_t start = out->len;
	int r;

	r = vault_stat(v, key, &obj, e);
	if (r < 0)
		return r;
	if (obj.size > out->max - out->len)
		return verror_set(e, -E2BIG,
				  "%s: %llu bytes, more than the "
				  "%zu allowed for this object",
				  key, (unsigned long long)obj.size,
				  out->max - out->len);
	r = vault_stream_open(v, key, &obj, &s, e);
	if (r < 0)
		return r;
	for (;;) {
		size_t want = MIN((size_t)65536, out->max - out->len);
		char probe, *p = &probe;
		ssize_t n;

		/* at the cap, a one-byte read tells EOF from too big */
		if (want > 0 && !(p = sbuf_reserve(out, want, &r)))
			goto fail;
		n = vault_stream_read(s, p, want ? want : 1, e);
		if (n < 0) {
			r = (int)n;
			goto fail;
		}
		if (n == 0)
			break;
		if (want == 0) {
			r = verror_set(e, -E2BIG, "%s: larger than %zu bytes",
				       key, out->max);
			goto fail;
		}
		sbuf_commit(out, (size_t)n);
	}
	vault_stream_free(s);
	if (info)
		*info = obj;
	return 0;
fail:
	vault_stream_free(s);
	out->len = start;
	if (out->buf)
		out->buf[start] = '\0';
	return r;
}
