/* flaky_vault: see flaky_vault.h. A backend of vault/'s own function
 * table (vault_i.h), so that it is the one test file outside vault/ that
 * knows it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flaky_vault.h"
#include "vault/vault_i.h"

#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif

struct flaky {
	struct vault *inner;
	struct flaky_vault *f;
};

struct flaky_stream {
	struct vault_stream *inner;
	struct flaky_vault *f;
	bool fail;
};

static int flaky_list(struct vault *v, const char *dir, vault_list_fn fn,
		      void *userdata, struct verror *e)
{
	struct flaky *fl = v->priv;

	return vault_list(fl->inner, dir, fn, userdata, e);
}

static int flaky_stat(struct vault *v, const char *key,
		      struct vault_object *out, struct verror *e)
{
	struct flaky *fl = v->priv;

	return vault_stat(fl->inner, key, out, e);
}

static int flaky_stream_open(struct vault *v, const char *key,
			     const struct vault_object *expect, uint64_t off,
			     uint64_t len, struct vault_stream **out,
			     struct verror *e)
{
	struct flaky *fl = v->priv;
	struct vault_stream *s = calloc(1, sizeof(*s));
	struct flaky_stream *fs = calloc(1, sizeof(*fs));
	const char *fk = fl->f->fail_key;
	size_t kl = strlen(key);
	int r;

	if (!s || !fs) {
		free(s);
		free(fs);
		return -ENOMEM;
	}
	r = len ? vault_stream_open_range(fl->inner, key, expect, off, len,
					  &fs->inner, e) :
		  vault_stream_open(fl->inner, key, expect, &fs->inner, e);
	if (r < 0) {
		free(s);
		free(fs);
		return r;
	}
	fs->f = fl->f;
	fs->fail = fk && kl >= strlen(fk) && !strcmp(key + kl - strlen(fk), fk);
	s->vault = v;
	s->priv = fs;
	*out = s;
	return 0;
}

static ssize_t flaky_stream_read(struct vault_stream *s, void *buf, size_t len,
				 struct verror *e)
{
	struct flaky_stream *fs = s->priv;

	if (fs->fail) {
		fs->f->reads_failed++;
		return verror_set(e, -fs->f->fail_errno,
				  "GET: HTTP 403 Forbidden ExpiredToken");
	}
	return vault_stream_read(fs->inner, buf, MIN(len, 1), e);
}

static void flaky_stream_free(struct vault_stream *s)
{
	struct flaky_stream *fs = s->priv;

	vault_stream_free(fs->inner);
	free(fs);
	free(s);
}

static void flaky_free(struct vault *v)
{
	struct flaky *fl = v->priv;

	vault_free(fl->inner);
	free(fl);
}

static const struct vault_ops flaky_ops = {
	.scheme = "flaky",
	.list = flaky_list,
	.stat = flaky_stat,
	.stream_open = flaky_stream_open,
	.stream_read = flaky_stream_read,
	.stream_free = flaky_stream_free,
	.free = flaky_free,
};

int flaky_vault_open(const char *url, struct flaky_vault *f, struct vault **out,
		     struct verror *e)
{
	struct vault *v = calloc(1, sizeof(*v));
	struct flaky *fl = calloc(1, sizeof(*fl));
	int r = v && fl ? vault_open(url, NULL, &fl->inner, e) : -ENOMEM;

	if (r >= 0 && !(v->id = strdup(vault_id(fl->inner))))
		r = -ENOMEM;
	if (r < 0) {
		if (fl)
			vault_free(fl->inner);
		free(fl);
		free(v);
		return r;
	}
	fl->f = f;
	v->ops = &flaky_ops;
	v->priv = fl;
	*out = v;
	return 0;
}
