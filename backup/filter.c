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
 *   redact:  (Secrets) every value of data and stringData (of any JSON
 *            type; data itself when it is not an object), and the
 *            last-applied annotation, which holds them too, become
 *            "<redacted sha256:HEX>" - the digest of the value as stored
 *            (a string's contents, else its JSON text), so an auditor
 *            sees that a value changed, not the value.
 *
 * Keys are matched as JSON readers decode them ("d\u0061ta" is data).
 *
 * The input was validated by render_yaml() first; malformed input here
 * is still refused, never overrun. */
#include <errno.h>
#include <openssl/evp.h>
#include <string.h>

#include "backup/json_i.h"
#include "backup/render_i.h"

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

static int hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' :
	       c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 :
				      -1;
}

/* Whether the raw key k (escapes and all) reads as lit (ASCII): keys are
 * compared as JSON readers and the YAML view decode them, so "d\u0061ta"
 * is data. */
static bool key_is(const char *k, size_t n, const char *lit)
{
	const char *end = k + n;

	while (k < end) {
		unsigned c = (unsigned char)*k++;

		if (c == '\\' && k < end) {
			c = (unsigned char)*k++;
			if (c == 'u') {
				unsigned v = 0;

				for (int i = 0; i < 4; i++) {
					int d = k < end ? hex_digit(*k++) : -1;

					if (d < 0)
						return false;
					v = v * 16 + (unsigned)d;
				}
				c = v; /* not ASCII: never equal to lit */
			} else {
				c = c == 'n' ? '\n' :
				    c == 't' ? '\t' :
				    c == 'r' ? '\r' :
				    c == 'b' ? '\b' :
				    c == 'f' ? '\f' :
					       c;
			}
		}
		if (!*lit || c != (unsigned char)*lit++)
			return false;
	}
	return *lit == '\0';
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
static int filter_object(struct json_scan *f, const struct rules *ru, int path,
			 struct sbuf *out, size_t *kept)
{
	size_t written = 0;
	int r;

	f->p++; /* '{' */
	r = sbuf_addc(out, '{');
	json_skip_ws(f);
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

		json_skip_ws(f);
		if (f->p >= f->end || *f->p != '"')
			return -EBADMSG;
		vstart = f->p;
		if (json_raw_string(f, &k, &kn) < 0)
			return -EBADMSG;
		json_skip_ws(f);
		if (f->p >= f->end || *f->p++ != ':')
			return -EBADMSG;
		json_skip_ws(f);
		a = decide(ru, path, k, kn, &child);
		if (a == DESCEND && (f->p >= f->end || *f->p != '{'))
			/* not an object: leave it be, but a Secret's data
			 * that is not an object is still its data */
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

			if (json_raw_string(f, &v, &vn) < 0)
				return -EBADMSG;
			r = put_digest(out, v, vn);
		} else if (a == REDACT) {
			/* a number, object, array, ...: its JSON text */
			const char *v = f->p;

			r = json_skip_value(f, 1);
			if (r == 0)
				r = put_digest(out, v, (size_t)(f->p - v));
		} else {
			const char *v = f->p;

			r = json_skip_value(f, 1);
			if (r == 0 && a != DROP)
				r = sbuf_add(out, v, (size_t)(f->p - v));
		}
		if (r < 0)
			return r;
		r = json_next_or_close(f, '}');
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
	struct json_scan f = { json, json + len };
	struct rules ru = { o, secret };
	size_t kept;
	int r;

	json_skip_ws(&f);
	if (f.p >= f.end || *f.p != '{')
		return sbuf_add(out, json, len); /* not an object: as it is */
	r = filter_object(&f, &ru, 0, out, &kept);
	if (r < 0)
		return r;
	json_skip_ws(&f);
	return f.p == f.end ? 0 : -EBADMSG;
}
