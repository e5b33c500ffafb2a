/* backup/filter: the clean and redacted views of an item, JSON to JSON.
 *
 * A streaming pass over the item's JSON that copies every byte as it is
 * (numbers and strings stay exactly as Velero wrote them) except members
 * it drops or values it replaces:
 *
 *   clean:   metadata.{managedFields, resourceVersion, uid, generation,
 *            creationTimestamp, selfLink}, the kubectl last-applied
 *            annotation (and an annotations object left empty), and the
 *            top-level status unless keep_status;
 *   redact:  (Secrets) every value of data and stringData (strings,
 *            objects, arrays, numbers alike; data itself when it is not
 *            an object), and the last-applied annotation, which holds
 *            them too, become "<redacted sha256:HEX>" - the digest of the
 *            value as stored, so an auditor sees that a value changed,
 *            not the value.
 *
 * Keys are compared decoded, as the renderer shows them: "d\u0061ta" is
 * data.
 *
 * The input was validated by render_yaml() first; malformed input here
 * is still refused, never overrun. */
#include <errno.h>
#include <openssl/evp.h>
#include <string.h>

#include "backup/render_i.h"

struct fpos {
	const char *p, *end;
};

static void skip_ws(struct fpos *f)
{
	while (f->p < f->end && (*f->p == ' ' || *f->p == '\t' ||
				 *f->p == '\n' || *f->p == '\r'))
		f->p++;
}

/* Skips one string (at the opening quote); returns its raw span. */
static int skip_string(struct fpos *f, const char **s, size_t *n)
{
	const char *start = ++f->p;

	while (f->p < f->end && *f->p != '"') {
		if (*f->p == '\\')
			f->p++;
		f->p++;
	}
	if (f->p >= f->end)
		return -EBADMSG;
	*s = start;
	*n = (size_t)(f->p - start);
	f->p++;
	return 0;
}

/* After a member or element: 1 at ',' (another follows), 0 at close (the
 * end; consumed), -EBADMSG otherwise. */
static int next_or_close(struct fpos *f, char close)
{
	skip_ws(f);
	if (f->p >= f->end)
		return -EBADMSG;
	if (*f->p == ',') {
		f->p++;
		return 1;
	}
	return *f->p++ == close ? 0 : -EBADMSG;
}

/* Skips one value of any kind. */
static int skip_value(struct fpos *f, int depth)
{
	const char *s;
	size_t n;

	if (depth > RENDER_MAX_DEPTH)
		return -E2BIG;
	skip_ws(f);
	if (f->p >= f->end)
		return -EBADMSG;
	if (*f->p == '"')
		return skip_string(f, &s, &n);
	if (*f->p == '{' || *f->p == '[') {
		char close = *f->p == '{' ? '}' : ']';

		f->p++;
		skip_ws(f);
		if (f->p < f->end && *f->p == close) {
			f->p++;
			return 0;
		}
		for (;;) {
			int r;

			if (close == '}') {
				skip_ws(f);
				if (f->p >= f->end || *f->p != '"' ||
				    skip_string(f, &s, &n) < 0)
					return -EBADMSG;
				skip_ws(f);
				if (f->p >= f->end || *f->p++ != ':')
					return -EBADMSG;
			}
			r = skip_value(f, depth + 1);
			if (r < 0)
				return r;
			r = next_or_close(f, close);
			if (r <= 0)
				return r;
		}
	}
	/* number, true, false, null */
	while (f->p < f->end && !strchr(",}] \t\r\n", *f->p))
		f->p++;
	return 0;
}

enum action {
	KEEP,
	DROP,
	REDACT,	 /* the value becomes a digest */
	DESCEND, /* an object whose members get their own actions */
};

struct rules {
	const struct filter_options *o;
	bool secret;
};

/* Whether the raw key k (between its quotes, escapes as written) says
 * lit: compared decoded, as the renderer shows it ("d\u0061ta" is data).
 * Keys with escapes are decoded by jansson, the one decoder at hand. */
static bool key_is(const char *k, size_t n, const char *lit)
{
	size_t ln = strlen(lit);
	json_t *j;
	bool same;

	if (!memchr(k, '\\', n))
		return ln == n && !memcmp(k, lit, n);
	if (n > 6 * ln + 2) /* each character is at most \uXXXX */
		return false;
	j = json_loadb(k - 1, n + 2, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	same = json_is_string(j) && json_string_length(j) == ln &&
	       !memcmp(json_string_value(j), lit, ln);
	json_decref(j);
	return same;
}

#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

/* What to do with member key of the object at path (0: top level,
 * 1: metadata, 2: metadata.annotations, 3: data/stringData). */
static enum action decide(const struct rules *ru, int path, const char *k,
			  size_t n, int *child)
{
	const struct filter_options *o = ru->o;

	switch (path) {
	case 0:
		if (key_is(k, n, "metadata")) {
			*child = 1;
			return DESCEND;
		}
		if (o->clean && !o->keep_status && key_is(k, n, "status"))
			return DROP;
		if (ru->secret && o->redact &&
		    (key_is(k, n, "data") || key_is(k, n, "stringData"))) {
			*child = 3;
			return DESCEND;
		}
		return KEEP;
	case 1:
		if (o->clean &&
		    (key_is(k, n, "managedFields") ||
		     key_is(k, n, "resourceVersion") || key_is(k, n, "uid") ||
		     key_is(k, n, "generation") ||
		     key_is(k, n, "creationTimestamp") ||
		     key_is(k, n, "selfLink")))
			return DROP;
		if (key_is(k, n, "annotations")) {
			*child = 2;
			return DESCEND;
		}
		return KEEP;
	case 2:
		if (key_is(k, n, LAST_APPLIED)) {
			if (o->clean)
				return DROP;
			if (ru->secret && o->redact)
				return REDACT;
		}
		return KEEP;
	case 3:
		return REDACT;
	}
	return KEEP;
}

static int put_digest(struct sbuf *out, const char *v, size_t n)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0, i;
	int r;

	if (!EVP_Digest(v, n, md, &mdlen, EVP_sha256(), NULL))
		return -ENOMEM;
	r = sbuf_adds(out, "\"<redacted sha256:");
	for (i = 0; r == 0 && i < mdlen; i++)
		r = sbuf_addf(out, "%02x", md[i]);
	return r ? r : sbuf_adds(out, ">\"");
}

/* Copies the object at f (positioned at '{') applying the rules of path.
 * Returns the number of members written through *kept. */
static int filter_object(struct fpos *f, const struct rules *ru, int path,
			 struct sbuf *out, size_t *kept)
{
	size_t written = 0;
	int r;

	f->p++; /* '{' */
	r = sbuf_addc(out, '{');
	skip_ws(f);
	if (f->p < f->end && *f->p == '}') {
		f->p++;
		*kept = 0;
		return r ? r : sbuf_addc(out, '}');
	}
	while (r == 0) {
		const char *k, *vstart;
		size_t kn;
		int child = 0;
		enum action a;

		skip_ws(f);
		if (f->p >= f->end || *f->p != '"')
			return -EBADMSG;
		vstart = f->p;
		if (skip_string(f, &k, &kn) < 0)
			return -EBADMSG;
		skip_ws(f);
		if (f->p >= f->end || *f->p++ != ':')
			return -EBADMSG;
		skip_ws(f);
		a = decide(ru, path, k, kn, &child);
		if (a == DESCEND && (f->p >= f->end || *f->p != '{'))
			/* not an object: a Secret's data of another type is
			 * redacted whole, anything else left be */
			a = child == 3 ? REDACT : KEEP;
		if (a != DROP) {
			if (written++ && (r = sbuf_addc(out, ',')) < 0)
				return r;
			r = sbuf_add(out, vstart,
				     (size_t)(k + kn + 1 - vstart));
			if (r == 0)
				r = sbuf_addc(out, ':');
		}
		if (r < 0)
			return r;
		if (a == DESCEND) {
			size_t before = out->len, sub = 0;

			r = filter_object(f, ru, child, out, &sub);
			/* an annotations object the cleaning emptied goes */
			if (r == 0 && sub == 0 && path == 1 && child == 2 &&
			    ru->o->clean) {
				out->len = before;
				while (out->len &&
				       out->buf[out->len - 1] != ',' &&
				       out->buf[out->len - 1] != '{')
					out->len--;
				if (out->len && out->buf[out->len - 1] == ',')
					out->len--;
				out->buf[out->len] = '\0';
				written--;
			}
		} else if (a == REDACT && f->p < f->end && *f->p == '"') {
			const char *v;
			size_t vn;

			if (skip_string(f, &v, &vn) < 0)
				return -EBADMSG;
			r = put_digest(out, v, vn);
		} else if (a == REDACT) {
			/* an object, array, number, ...: its bytes as stored */
			const char *v = f->p;

			r = skip_value(f, 1);
			if (r == 0)
				r = put_digest(out, v, (size_t)(f->p - v));
		} else {
			const char *v = f->p;

			r = skip_value(f, 1);
			if (r == 0 && a != DROP)
				r = sbuf_add(out, v, (size_t)(f->p - v));
		}
		if (r < 0)
			return r;
		r = next_or_close(f, '}');
		if (r < 0)
			return r;
		if (r == 0)
			break;
		r = 0; /* another member */
	}
	*kept = written;
	return r ? r : sbuf_addc(out, '}');
}

int filter_item(const char *json, size_t len, bool secret,
		const struct filter_options *o, struct sbuf *out)
{
	struct fpos f = { json, json + len };
	struct rules ru = { o, secret };
	size_t kept;
	int r;

	skip_ws(&f);
	if (f.p >= f.end || *f.p != '{')
		return sbuf_add(out, json, len); /* not an object: as it is */
	r = filter_object(&f, &ru, 0, out, &kept);
	if (r < 0)
		return r;
	skip_ws(&f);
	return f.p == f.end ? 0 : -EBADMSG;
}
