/* vault: URL parsing and dispatch to the backends; what a URL must not
 * show (vault_url_scrub) and the warnings about a connection that is not
 * private (TLS verification off, plain http), said once per process. */
#include "vault/vault_i.h"

#include "common/log.h"
#include "common/macro.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool secret_name(const char *name, size_t len)
{
	static const char *const words[] = { "sig",  "token", "key", "secret",
					     "pass", "cred",  "auth" };
	char low[64];
	size_t i;

	if (len >= sizeof(low))
		return true; /* no parameter of ours is that long */
	for (i = 0; i < len; i++)
		low[i] = (char)tolower((unsigned char)name[i]);
	low[len] = '\0';
	if (!strcmp(low, "sas"))
		return true;
	for (i = 0; i < ARRAY_SIZE(words); i++)
		if (strstr(low, words[i]))
			return true;
	return false;
}

void vault_url_scrub(char *url)
{
	char *s, *w, *at, *q, *end;
	size_t n = strlen(url);

	s = strstr(url, "://");
	if (!s)
		return;
	s += 3;
	w = s;
	/* user:password@host */
	at = strchr(s, '@');
	q = strpbrk(s, "/?#");
	if (at && (!q || at < q)) {
		memcpy(w, "***@", 4);
		w += 4;
		s = at + 1;
	}
	q = strchr(s, '?');
	if (!q) {
		memmove(w, s, strlen(s) + 1);
		goto pad;
	}
	memmove(w, s, (size_t)(q - s) + 1);
	w += q - s + 1;
	s = q + 1;
	while (*s) {
		char *eq, *amp = strchr(s, '&');

		end = amp ? amp : s + strlen(s);
		eq = memchr(s, '=', (size_t)(end - s));
		if (eq && secret_name(s, (size_t)(eq - s))) {
			size_t vlen = (size_t)(end - eq - 1);

			memmove(w, s, (size_t)(eq - s) + 1);
			w += eq - s + 1;
			memcpy(w, "***", MIN(vlen, (size_t)3));
			w += MIN(vlen, (size_t)3);
		} else {
			memmove(w, s, (size_t)(end - s));
			w += end - s;
		}
		if (amp)
			*w++ = '&';
		s = amp ? amp + 1 : end;
	}
	*w = '\0';
pad:
	w = url + strlen(url);
	memset(w, 0, n - (size_t)(w - url));
}

const char *vault_endpoint(const struct vault *v)
{
	return v->ops->endpoint ? v->ops->endpoint(v) : NULL;
}

/* Said once per process, loudly: a connection someone on the path can
 * read (plain http) or impersonate (no TLS verification). */
static void warn_transport(const char *url, const struct vault *v)
{
	static bool said_insecure, said_http;
	const char *q = strchr(url, '?'), *ep = vault_endpoint(v);

	for (; q && *q; q = strchr(q + 1, '&')) {
		const char *p = q + 1;

		if (!strncmp(p, "insecure=", 9) && p[9] && p[9] != '0' &&
		    p[9] != '&' && !said_insecure) {
			said_insecure = true;
			log_warning("%s: insecure=1: TLS VERIFICATION IS OFF: "
				    "anyone between here and the store can "
				    "pose as it, read the credentials and "
				    "change the backups velerofs shows",
				    v->id);
		}
	}
	if (ep && !strncmp(ep, "http://", 7) && !said_http) {
		said_http = true;
		log_warning("%s: the endpoint %s is plain http, not https: "
			    "requests travel unencrypted, with their "
			    "credentials (signatures, SAS tokens)",
			    v->id, ep);
	}
}

static int open_url(const char *url, const struct vault_options *opt,
		    struct vault **out, struct verror *e)
{
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

int vault_open(const char *url, const struct vault_options *opt,
	       struct vault **out, struct verror *e)
{
	static const struct vault_options none;
	int r;

	r = open_url(url, opt ? opt : &none, out, e);
	if (r == 0)
		warn_transport(url, *out);
	return r;
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
	return v->ops->stream_open(v, key, expect, 0, 0, out, e);
}

int vault_stream_open_range(struct vault *v, const char *key,
			    const struct vault_object *expect, uint64_t off,
			    uint64_t len, struct vault_stream **out,
			    struct verror *e)
{
	if (len == 0 || off + len < off)
		return verror_set(e, -EINVAL, "%s: empty or overflowing range",
				  key);
	return v->ops->stream_open(v, key, expect, off, len, out, e);
}

int vault_get_range(struct vault *v, const char *key,
		    const struct vault_object *expect, uint64_t off, size_t len,
		    struct sbuf *out, struct verror *e)
{
	struct vault_stream *s = NULL;
	size_t start = out->len, got = 0;
	char *p;
	int r;

	if (len > out->max - out->len)
		return verror_set(e, -E2BIG,
				  "%s: a range of %zu bytes, more than the "
				  "%zu allowed",
				  key, len, out->max - out->len);
	r = vault_stream_open_range(v, key, expect, off, len, &s, e);
	if (r < 0)
		return r;
	if (!(p = sbuf_reserve(out, len, &r)))
		goto fail;
	while (got < len) {
		ssize_t n = vault_stream_read(s, p + got, len - got, e);

		if (n < 0) {
			r = (int)n;
			goto fail;
		}
		if (n == 0) {
			r = verror_set(e, -EIO,
				       "%s: ends at %llu, before the %zu bytes "
				       "asked for at %llu",
				       key, (unsigned long long)(off + got),
				       len, (unsigned long long)off);
			goto fail;
		}
		got += (size_t)n;
	}
	sbuf_commit(out, len);
	vault_stream_free(s);
	return 0;
fail:
	vault_stream_free(s);
	out->len = start;
	if (out->buf)
		out->buf[start] = '\0';
	return r;
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

const char *vault_no_credentials(const struct vault *v)
{
	return v->ops->no_credentials ? v->ops->no_credentials(v) : NULL;
}
