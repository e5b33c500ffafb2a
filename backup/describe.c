/* describe.txt: a `velero backup describe --details`-like summary of one
 * backup, rendered from the objects Velero wrote to the storage location.
 *
 * Follows pkg/cmd/util/output/backup_describer.go (Velero main, 2026):
 * same sections, same wording, same column layout (Velero prints through
 * a Go text/tabwriter with minwidth 0, tabwidth 8, padding 2, pad ' ',
 * which tw_format() below reproduces). Where Velero asks the cluster or
 * the object store for something, we read the file the vault holds
 * instead. Differences, on purpose:
 *  - times are printed in UTC (Velero uses the CLI's local zone);
 *  - no colours; map keys are sorted wherever Go iterates a map;
 *  - control characters in values are escaped (\n, \t, \xHH) so a
 *    hostile string cannot break the layout;
 *  - values of the wrong JSON type print as "<invalid>" (Velero would
 *    refuse the whole object); a missing Expiration prints "<n/a>"
 *    rather than Go's "<nil>";
 *  - the Failed/PartiallyFailed hint points at meta/results.yaml and logs
 *    in the mount instead of `velero backup logs`;
 *  - without a resource list, the per-resource counts of the tarball are
 *    shown; a problem reading velero-backup.json or the tarball is noted.
 *
 * Does no I/O, keeps no state, never fails on odd input (only -ENOMEM and
 * -E2BIG from the output buffer). Thread-safe as long as the inputs are
 * not modified concurrently (jansson getters only). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/backup.h"
#include "backup/render_i.h"
#include "common/macro.h"
#include "common/rfc3339.h"
#include "common/sbuf.h"

#define NONE "<none>"
#define INVALID "<invalid>"
#define NA "<n/a>"

/* The raw describer text: tab-separated cells, formatted at the end. */
struct dw {
	struct sbuf raw;
	int r; /* first error; later writes are no-ops */
};

/* ---- small JSON getters; all accept NULL and non-objects ---- */

static json_t *jget(const json_t *o, const char *key)
{
	if (!json_is_object(o))
		return NULL;
	return json_object_get(o, key);
}

/* An object member that must be an object itself; NULL otherwise. */
static json_t *jobj(const json_t *o, const char *key)
{
	json_t *v = jget(o, key);

	return json_is_object(v) ? v : NULL;
}

/* Absent or JSON null: what Go's decoder leaves as the zero value. */
static bool jmissing(const json_t *v)
{
	return !v || json_is_null(v);
}

/* 1: *out set; 0: missing (*out = 0); -1: wrong type (*out = 0). */
static int jint(const json_t *v, int64_t *out)
{
	*out = 0;
	if (jmissing(v))
		return 0;
	if (!json_is_integer(v))
		return -1;
	*out = json_integer_value(v);
	return 1;
}

/* The string value, or NULL when missing or not a string. */
static const char *jstr(const json_t *v)
{
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* An array, treating null as empty; NULL if missing/null; sets *bad if
 * present with another type. */
static json_t *jarr(const json_t *v, bool *bad)
{
	*bad = false;
	if (jmissing(v))
		return NULL;
	if (!json_is_array(v)) {
		*bad = true;
		return NULL;
	}
	return (json_t *)v;
}

/* ---- writing ---- */

static void w_add(struct dw *w, const char *s, size_t n)
{
	if (w->r >= 0)
		w->r = sbuf_add(&w->raw, s, n);
}

/* Literal text of ours: may hold the tabs and newlines of the layout. */
static void w_lit(struct dw *w, const char *s)
{
	w_add(w, s, strlen(s));
}

_printf_(2, 3) static void w_fmt(struct dw *w, const char *fmt, ...)
{
	va_list ap;

	if (w->r < 0)
		return;
	va_start(ap, fmt);
	w->r = sbuf_vaddf(&w->raw, fmt, ap);
	va_end(ap);
}

/* A value from the backup: control characters escaped so they can neither
 * end a cell nor a line. */
static void w_valn(struct dw *w, const char *s, size_t n)
{
	if (w->r >= 0)
		w->r = sbuf_add_escaped(&w->raw, s, n);
}

static void w_val(struct dw *w, const char *s)
{
	w_valn(w, s, strlen(s));
}

/* A JSON string member: its value; dflt when missing; "<invalid>" when
 * of another type. */
static void w_jstr(struct dw *w, const json_t *v, const char *dflt)
{
	if (jmissing(v))
		w_lit(w, dflt);
	else if (!json_is_string(v))
		w_lit(w, INVALID);
	else
		w_valn(w, json_string_value(v), json_string_length(v));
}

/* A JSON string member, or dflt when missing or empty (Go's "if s == ''"). */
static void w_jstr_nonempty(struct dw *w, const json_t *v, const char *dflt)
{
	if (json_is_string(v) && json_string_length(v) == 0)
		w_lit(w, dflt);
	else
		w_jstr(w, v, dflt);
}

/* Go's `s != ""` on a string member: present and not an empty string
 * (another type counts as set, so it prints as "<invalid>"). */
static bool jset(const json_t *v)
{
	return !jmissing(v) &&
	       !(json_is_string(v) && json_string_length(v) == 0);
}

/* One "label value\n" line for a string member that is set; nothing when it
 * is missing or empty (Velero's `if s != ""` before a Printf). */
static void w_line_jstr(struct dw *w, const char *label, const json_t *v)
{
	if (!jset(v))
		return;
	w_lit(w, label);
	w_jstr(w, v, "");
	w_lit(w, "\n");
}

/* An integer member as Go's %d: 0 when missing. */
static void w_jint(struct dw *w, const json_t *v)
{
	int64_t n;

	if (jint(v, &n) < 0)
		w_lit(w, INVALID);
	else
		w_fmt(w, "%" PRId64, n);
}

/* A []string member joined with sep; dflt when missing or empty. */
static void w_jlist(struct dw *w, const json_t *v, const char *sep,
		    const char *dflt)
{
	bool bad;
	json_t *a = jarr(v, &bad), *e;
	size_t i;

	if (bad) {
		w_lit(w, INVALID);
		return;
	}
	if (!a || json_array_size(a) == 0) {
		w_lit(w, dflt);
		return;
	}
	json_array_foreach(a, i, e)
	{
		if (i)
			w_lit(w, sep);
		w_jstr(w, e, INVALID);
	}
}

/* Go's BoolPointerString. */
static void w_jbool(struct dw *w, const json_t *v, const char *f, const char *t,
		    const char *nil)
{
	if (jmissing(v))
		w_lit(w, nil);
	else if (!json_is_boolean(v))
		w_lit(w, INVALID);
	else
		w_lit(w, json_is_true(v) ? t : f);
}

/* ---- times and durations, printed as Go prints them ---- */

/* Parses RFC 3339 (Go's time.RFC3339, fractional seconds allowed) and
 * formats it like Go's Time.String() in UTC:
 * "2006-01-02 15:04:05.999999999 +0000 UTC". Returns false if s is not a
 * valid time. buf holds at least 64 bytes. */
static bool fmt_time(const char *s, size_t n, char *buf, size_t bufsz)
{
	int64_t secs, days, y;
	unsigned M, D;
	uint32_t frac;
	char fbuf[16];

	if (rfc3339_parse(s, n, &secs, &frac) < 0)
		return false;
	days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
	secs -= days * 86400;
	rfc3339_civil_from_days(days, &y, &M, &D);

	fbuf[0] = '\0';
	if (frac) {
		int k = 9;

		snprintf(fbuf, sizeof(fbuf), ".%09u", (unsigned)frac);
		while (fbuf[k] == '0')
			fbuf[k--] = '\0';
	}
	snprintf(buf, bufsz,
		 "%04" PRId64 "-%02u-%02u %02u:%02u:%02u%s +0000 UTC", y, M, D,
		 (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60),
		 (unsigned)(secs % 60), fbuf);
	return true;
}

/* A metav1.Time member: missing or null prints `missing`; a zero time
 * prints `zero` if non-NULL (Velero's IsZero checks). */
static void w_jtime(struct dw *w, const json_t *v, const char *missing,
		    const char *zero)
{
	char buf[96];

	if (jmissing(v)) {
		w_lit(w, missing);
		return;
	}
	if (!json_is_string(v) ||
	    !fmt_time(json_string_value(v), json_string_length(v), buf,
		      sizeof(buf))) {
		w_lit(w, INVALID);
		return;
	}
	if (zero && strncmp(buf, "0001-01-01 00:00:00 ", 20) == 0)
		w_lit(w, zero);
	else
		w_lit(w, buf);
}

/* One "label time\n" line for a metav1.Time member; nothing when it is
 * missing (Velero's `if t != nil`). */
static void w_line_jtime(struct dw *w, const char *label, const json_t *v)
{
	if (jmissing(v))
		return;
	w_lit(w, label);
	w_jtime(w, v, "", NULL);
	w_lit(w, "\n");
}

/* Go's time.ParseDuration into nanoseconds, step for step (same
 * overflow rules, fractions through a double like Go). */
static bool parse_duration(const char *s, size_t n, int64_t *out)
{
	static const struct {
		const char *name;
		uint64_t ns;
	} units[] = {
		{ "ns", 1 },
		{ "us", 1000 },
		{ "\xc2\xb5s", 1000 }, /* U+00B5 micro sign */
		{ "\xce\xbcs", 1000 }, /* U+03BC Greek mu */
		{ "ms", 1000000 },
		{ "s", 1000000000 },
		{ "m", 60ULL * 1000000000 },
		{ "h", 3600ULL * 1000000000 },
	};
	const uint64_t max = (uint64_t)1 << 63;
	uint64_t d = 0;
	bool neg = false;
	size_t i = 0;

	if (i < n && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	if (n - i == 1 && s[i] == '0') {
		*out = 0;
		return true;
	}
	if (i == n)
		return false;
	while (i < n) {
		uint64_t v = 0, f = 0, unit = 0;
		double scale = 1;
		bool pre = false, post = false, overflow = false;
		size_t u, ustart;

		if (!(s[i] == '.' || (s[i] >= '0' && s[i] <= '9')))
			return false;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (v > max / 10)
				return false;
			v = v * 10 + (uint64_t)(s[i++] - '0');
			if (v > max)
				return false;
			pre = true;
		}
		if (i < n && s[i] == '.') {
			i++;
			while (i < n && s[i] >= '0' && s[i] <= '9') {
				uint64_t y;

				post = true;
				if (overflow || f > (max - 1) / 10) {
					overflow = true;
					i++;
					continue;
				}
				y = f * 10 + (uint64_t)(s[i++] - '0');
				if (y > max) {
					overflow = true;
					continue;
				}
				f = y;
				scale *= 10;
			}
		}
		if (!pre && !post)
			return false;
		ustart = i;
		while (i < n && s[i] != '.' && !(s[i] >= '0' && s[i] <= '9'))
			i++;
		for (u = 0; u < ARRAY_SIZE(units); u++)
			if (strlen(units[u].name) == i - ustart &&
			    memcmp(s + ustart, units[u].name, i - ustart) == 0)
				unit = units[u].ns;
		if (!unit)
			return false;
		if (v > max / unit)
			return false;
		v *= unit;
		if (f > 0) {
			v += (uint64_t)((double)f * ((double)unit / scale));
			if (v > max)
				return false;
		}
		d += v;
		if (d > max)
			return false;
	}
	if (neg) {
		*out = d == max ? INT64_MIN : -(int64_t)d;
		return true;
	}
	if (d > max - 1)
		return false;
	*out = (int64_t)d;
	return true;
}

/* Go's fmtFrac: ".123" of v/10^prec without trailing zeros, into the
 * tail of buf ending before w. */
static size_t fmt_frac(char *buf, size_t w, uint64_t *v, int prec)
{
	bool print = false;
	int i;

	for (i = 0; i < prec; i++) {
		unsigned digit = (unsigned)(*v % 10);

		print = print || digit != 0;
		if (print)
			buf[--w] = (char)('0' + digit);
		*v /= 10;
	}
	if (print)
		buf[--w] = '.';
	return w;
}

static size_t fmt_int(char *buf, size_t w, uint64_t v)
{
	if (v == 0) {
		buf[--w] = '0';
		return w;
	}
	while (v > 0) {
		buf[--w] = (char)('0' + v % 10);
		v /= 10;
	}
	return w;
}

/* Go's time.Duration.String(), e.g. "720h0m0s", "1.5ms", "0s". */
static void fmt_duration(int64_t d, char *out, size_t outsz)
{
	char buf[40];
	size_t w = sizeof(buf) - 1;
	uint64_t u = d < 0 ? -(uint64_t)d : (uint64_t)d;

	buf[w] = '\0';
	if (u < 1000000000) {
		int prec;

		buf[--w] = 's';
		if (u == 0) {
			snprintf(out, outsz, "0s");
			return;
		} else if (u < 1000) {
			prec = 0;
			buf[--w] = 'n';
		} else if (u < 1000000) {
			prec = 3;
			buf[--w] = '\xb5';
			buf[--w] = '\xc2';
		} else {
			prec = 6;
			buf[--w] = 'm';
		}
		w = fmt_frac(buf, w, &u, prec);
		w = fmt_int(buf, w, u);
	} else {
		buf[--w] = 's';
		w = fmt_frac(buf, w, &u, 9);
		w = fmt_int(buf, w, u % 60);
		u /= 60;
		if (u > 0) {
			buf[--w] = 'm';
			w = fmt_int(buf, w, u % 60);
			u /= 60;
			if (u > 0) {
				buf[--w] = 'h';
				w = fmt_int(buf, w, u);
			}
		}
	}
	if (d < 0)
		buf[--w] = '-';
	snprintf(out, outsz, "%s", buf + w);
}

/* A metav1.Duration member: "0s" when missing. */
static void w_jduration(struct dw *w, const json_t *v)
{
	char buf[48];
	int64_t d;

	if (jmissing(v)) {
		w_lit(w, "0s");
	} else if (!json_is_string(v) ||
		   !parse_duration(json_string_value(v), json_string_length(v),
				   &d)) {
		w_lit(w, INVALID);
	} else {
		fmt_duration(d, buf, sizeof(buf));
		w_lit(w, buf);
	}
}

/* ---- sorted object keys ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Caller frees the array (not the keys, borrowed from o). NULL with *n 0
 * when o is empty or not an object; NULL with *n (size_t)-1 when out of
 * memory. */
static const char **sorted_keys(const json_t *o, size_t *n)
{
	const char **keys, *k;
	json_t *v;
	size_t i = 0;

	*n = json_is_object(o) ? json_object_size(o) : 0;
	if (*n == 0)
		return NULL;
	keys = calloc(*n, sizeof(*keys));
	if (!keys) {
		*n = (size_t)-1;
		return NULL;
	}
	json_object_foreach((json_t *)o, k, v)
	{
		if (i < *n)
			keys[i++] = k;
	}
	*n = i;
	qsort(keys, i, sizeof(*keys), cmp_str);
	return keys;
}

#define OOM(w, n)                                                             \
	((n) == (size_t)-1 ? ((w)->r = (w)->r < 0 ? (w)->r : -ENOMEM, true) : \
			     false)

/* Go's Describer.DescribeMap: "Name:\tk=v\n\tk2=v2\n", sorted. */
static void describe_map(struct dw *w, const char *name, const json_t *m)
{
	_cleanup_free_ const char **keys = NULL;
	size_t i, n;

	w_lit(w, name);
	w_lit(w, ":\t");
	if (!jmissing(m) && !json_is_object(m)) {
		w_lit(w, INVALID "\n");
		return;
	}
	keys = sorted_keys(m, &n);
	if (OOM(w, n))
		return;
	if (n == 0) {
		w_lit(w, NONE "\n");
		return;
	}
	for (i = 0; i < n; i++) {
		if (i)
			w_lit(w, "\t");
		w_val(w, keys[i]);
		w_lit(w, "=");
		w_jstr(w, json_object_get(m, keys[i]), INVALID);
		w_lit(w, "\n");
	}
}

/* Go's Describer.DescribeSlice (including its doubled indent before
 * "<none>"). */
static void describe_slice(struct dw *w, int preindent, const char *name,
			   const json_t *s)
{
	bool bad;
	json_t *a = jarr(s, &bad), *e;
	size_t i;
	int k;

	for (k = 0; k < preindent; k++)
		w_lit(w, "\t");
	w_val(w, name);
	w_lit(w, ":\t");
	if (bad) {
		w_lit(w, INVALID "\n");
		return;
	}
	if (!a || json_array_size(a) == 0) {
		for (k = 0; k < preindent; k++)
			w_lit(w, "\t");
		w_lit(w, NONE "\n");
		return;
	}
	json_array_foreach(a, i, e)
	{
		if (i)
			for (k = 0; k < preindent + 1; k++)
				w_lit(w, "\t");
		w_jstr(w, e, INVALID);
		w_lit(w, "\n");
	}
}

/* ---- label selectors: metav1.FormatLabelSelector ---- */

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* validation.IsQualifiedName's name part and IsValidLabelValue. */
static bool valid_label_name(const char *s, size_t n, bool empty_ok)
{
	size_t i;

	if (n == 0)
		return empty_ok;
	if (n > 63 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return false;
	for (i = 0; i < n; i++)
		if (!is_name_char(s[i]))
			return false;
	return true;
}

/* IsQualifiedName: [dns-subdomain/]name. */
static bool valid_label_key(const char *s, size_t n)
{
	const char *slash = memchr(s, '/', n);
	size_t i, plen;

	if (!slash)
		return valid_label_name(s, n, false);
	plen = (size_t)(slash - s);
	if (plen == 0 || plen > 253 || !is_alnum(s[0]) ||
	    !is_alnum(s[plen - 1]))
		return false;
	for (i = 0; i < plen; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.'))
			return false;
	}
	return valid_label_name(slash + 1, n - plen - 1, false);
}

struct req {
	const char *key;
	char *text; /* the requirement as printed; owned */
};

static int cmp_req(const void *a, const void *b)
{
	const struct req *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : strcmp(x->text, y->text);
}

/* Renders one requirement into r->text; false if invalid (Go returns an
 * error, printed as "<error>"); -ENOMEM in *err. */
static bool req_render(struct req *r, const char *key, const char *op,
		       const json_t *values, int *err)
{
	struct sbuf b;
	bool bad, ok = false;
	json_t *a = jarr(values, &bad), *e;
	size_t i, nv = a ? json_array_size(a) : 0;
	const char **vals = NULL;
	int k = 0;

	sbuf_init(&b, 0);
	if (bad || !valid_label_key(key, strlen(key)))
		goto out;
	if (!strcmp(op, "=") && nv != 1)
		goto out;
	if ((!strcmp(op, " in ") || !strcmp(op, " notin ")) && nv == 0)
		goto out;
	if ((!strcmp(op, "!") || !strcmp(op, "")) && nv != 0)
		goto out;
	if (nv) {
		vals = calloc(nv, sizeof(*vals));
		if (!vals) {
			*err = -ENOMEM;
			goto out;
		}
		json_array_foreach(a, i, e)
		{
			const char *v = jstr(e);

			if (!v || !valid_label_name(v, strlen(v), true))
				goto out;
			vals[i] = v;
		}
		qsort(vals, nv, sizeof(*vals), cmp_str);
	}
	if (!strcmp(op, "!"))
		k |= sbuf_adds(&b, "!");
	k |= sbuf_adds(&b, key);
	if (strcmp(op, "!") != 0)
		k |= sbuf_adds(&b, op);
	if (op[0] == ' ')
		k |= sbuf_adds(&b, "(");
	for (i = 0; i < nv; i++) {
		if (i)
			k |= sbuf_adds(&b, ",");
		k |= sbuf_adds(&b, vals[i]);
	}
	if (op[0] == ' ')
		k |= sbuf_adds(&b, ")");
	if (k) {
		*err = -ENOMEM;
		goto out;
	}
	r->key = key;
	r->text = sbuf_take(&b, NULL);
	if (!r->text) {
		*err = -ENOMEM;
		goto out;
	}
	ok = true;
out:
	free(vals);
	sbuf_release(&b);
	return ok;
}

static void format_selector(struct dw *w, const json_t *sel)
{
	json_t *ml, *me, *e;
	size_t nml, nme, n = 0, i;
	struct req *reqs = NULL;
	const char *k;
	json_t *v;
	bool ok = true;
	int err = 0;

	if (!json_is_object(sel)) {
		w_lit(w, INVALID);
		return;
	}
	ml = jget(sel, "matchLabels");
	me = jget(sel, "matchExpressions");
	if ((!jmissing(ml) && !json_is_object(ml)) ||
	    (!jmissing(me) && !json_is_array(me))) {
		w_lit(w, "<error>");
		return;
	}
	nml = json_is_object(ml) ? json_object_size(ml) : 0;
	nme = json_is_array(me) ? json_array_size(me) : 0;
	if (nml + nme == 0) {
		w_lit(w, NONE);
		return;
	}
	reqs = calloc(nml + nme, sizeof(*reqs));
	if (!reqs) {
		w->r = w->r < 0 ? w->r : -ENOMEM;
		return;
	}
	if (nml) {
		json_object_foreach(ml, k, v)
		{
			json_t *one = json_is_string(v) ? json_pack("[O]", v) :
							  json_array();

			if (!one) {
				err = -ENOMEM;
				break;
			}
			ok = n < nml + nme &&
			     req_render(&reqs[n], k, "=", one, &err);
			json_decref(one);
			if (!ok)
				break;
			n++;
		}
	}
	for (i = 0; ok && !err && i < nme; i++) {
		const char *key, *op, *gop = NULL;

		e = json_array_get(me, i);
		key = jstr(jget(e, "key"));
		op = jstr(jget(e, "operator"));
		if (!key || !op) {
			ok = false;
			break;
		}
		if (!strcmp(op, "In"))
			gop = " in ";
		else if (!strcmp(op, "NotIn"))
			gop = " notin ";
		else if (!strcmp(op, "Exists"))
			gop = "";
		else if (!strcmp(op, "DoesNotExist"))
			gop = "!";
		if (!gop ||
		    !req_render(&reqs[n], key, gop, jget(e, "values"), &err)) {
			ok = false;
			break;
		}
		n++;
	}
	if (err)
		w->r = w->r < 0 ? w->r : err;
	else if (!ok)
		w_lit(w, "<error>");
	else {
		qsort(reqs, n, sizeof(*reqs), cmp_req);
		for (i = 0; i < n; i++) {
			if (i)
				w_lit(w, ",");
			w_val(w, reqs[i].text);
		}
	}
	for (i = 0; i < n; i++)
		free(reqs[i].text);
	free(reqs);
}

/* "Label selector:\t..." value: "<none>" when absent. */
static void w_selector(struct dw *w, const json_t *sel)
{
	if (jmissing(sel))
		w_lit(w, NONE);
	else
		format_selector(w, sel);
}

/* ---- sections ---- */

static void describe_results_one(struct dw *w, const char *name,
				 const json_t *res)
{
	_cleanup_free_ const char **keys = NULL;
	json_t *ns;
	size_t i, n;

	w_lit(w, name);
	w_lit(w, ":\n");
	if (!jmissing(res) && !json_is_object(res)) {
		w_lit(w, "\t" INVALID "\n");
		return;
	}
	describe_slice(w, 1, "Velero", jget(res, "velero"));
	describe_slice(w, 1, "Cluster", jget(res, "cluster"));
	ns = jget(res, "namespaces");
	if (!jmissing(ns) && !json_is_object(ns)) {
		w_lit(w, "\tNamespaces:\t" INVALID "\n");
		return;
	}
	keys = sorted_keys(ns, &n);
	if (OOM(w, n))
		return;
	if (n == 0) {
		w_lit(w, "\tNamespaces: <none>\n");
		return;
	}
	w_lit(w, "\tNamespaces:\n");
	for (i = 0; i < n; i++)
		describe_slice(w, 2, keys[i], json_object_get(ns, keys[i]));
}

/* DescribeBackupResults. */
static void describe_results(const struct describe_input *in, struct dw *w,
			     const json_t *status)
{
	int64_t nwarn, nerr;
	int rw = jint(jget(status, "warnings"), &nwarn);
	int re = jint(jget(status, "errors"), &nerr);

	if (!in->backup) {
		/* No counts to go by: show whatever the results file says. */
		if (!in->results)
			return;
		nwarn = nerr = 1;
	} else if (nwarn == 0 && nerr == 0 && rw >= 0 && re >= 0) {
		return;
	}
	if (!in->results) {
		w_lit(w, "Errors:\t");
		w_jint(w, jget(status, "errors"));
		w_lit(w, "\nWarnings:\t");
		w_jint(w, jget(status, "warnings"));
		w_lit(w, "\n");
		return;
	}
	if (!json_is_object(in->results)) {
		w_lit(w, "Warnings:\t" INVALID "\n\nErrors:\t" INVALID "\n");
		return;
	}
	if (nwarn > 0 || rw < 0) {
		w_lit(w, "\n");
		describe_results_one(w, "Warnings",
				     jget(in->results, "warnings"));
	}
	if (nerr > 0 || re < 0) {
		w_lit(w, "\n");
		describe_results_one(w, "Errors", jget(in->results, "errors"));
	}
}

static void describe_exec_hooks(struct dw *w, const json_t *hooks,
				const char *title)
{
	bool bad;
	json_t *a = jarr(hooks, &bad), *h;
	size_t i;

	if (bad) {
		w_fmt(w, "\n\t\t\t%s:\t" INVALID "\n", title);
		return;
	}
	json_array_foreach(a, i, h)
	{
		json_t *ex = jget(h, "exec");

		if (jmissing(ex))
			continue;
		w_fmt(w, "\n\t\t\t%s:\n", title);
		if (!json_is_object(ex)) {
			w_lit(w, "\t\t\t\t" INVALID "\n");
			continue;
		}
		w_lit(w, "\t\t\t\tContainer:\t");
		w_jstr(w, jget(ex, "container"), "");
		w_lit(w, "\n\t\t\t\tCommand:\t");
		w_jlist(w, jget(ex, "command"), " ", "");
		w_lit(w, "\n\t\t\t\tOn Error:\t");
		w_jstr(w, jget(ex, "onError"), "");
		w_lit(w, "\n\t\t\t\tTimeout:\t");
		w_jduration(w, jget(ex, "timeout"));
		w_lit(w, "\n");
	}
}

static void describe_hooks(struct dw *w, const json_t *spec)
{
	json_t *hooks = jget(spec, "hooks"), *res, *h;
	bool bad;
	size_t i;

	res = jarr(jget(hooks, "resources"), &bad);
	if (!jmissing(hooks) && !json_is_object(hooks))
		bad = true;
	if (bad) {
		w_lit(w, "Hooks:\t" INVALID "\n");
		return;
	}
	if (!res || json_array_size(res) == 0) {
		w_lit(w, "Hooks:\t" NONE "\n");
		return;
	}
	w_lit(w, "Hooks:\n\tResources:\n");
	json_array_foreach(res, i, h)
	{
		w_lit(w, "\t\t");
		w_jstr(w, jget(h, "name"), "");
		w_lit(w, ":\n\t\t\tNamespaces:\n\t\t\t\tIncluded:\t");
		w_jlist(w, jget(h, "includedNamespaces"), ", ", "*");
		w_lit(w, "\n\t\t\t\tExcluded:\t");
		w_jlist(w, jget(h, "excludedNamespaces"), ", ", NONE);
		w_lit(w, "\n\n\t\t\tResources:\n\t\t\t\tIncluded:\t");
		w_jlist(w, jget(h, "includedResources"), ", ", "*");
		w_lit(w, "\n\t\t\t\tExcluded:\t");
		w_jlist(w, jget(h, "excludedResources"), ", ", NONE);
		w_lit(w, "\n\n\t\t\tLabel selector:\t");
		w_selector(w, jget(h, "labelSelector"));
		w_lit(w, "\n");
		describe_exec_hooks(w, jget(h, "pre"), "Pre Exec Hook");
		describe_exec_hooks(w, jget(h, "post"), "Post Exec Hook");
	}
}

static bool nonempty_list(const json_t *v)
{
	/* Go's len(x) > 0 on a slice; a wrong type counts as present. */
	return !jmissing(v) && (!json_is_array(v) || json_array_size(v) > 0);
}

/* DescribeBackupSpec. */
static void describe_spec(struct dw *w, const json_t *spec)
{
	_cleanup_free_ const char **keys = NULL;
	json_t *ors, *ordered, *e;
	size_t i, n;
	bool bad;

	w_lit(w, "Namespaces:\n\tIncluded:\t");
	w_jlist(w, jget(spec, "includedNamespaces"), ", ", "*");
	w_lit(w, "\n\tExcluded:\t");
	w_jlist(w, jget(spec, "excludedNamespaces"), ", ", NONE);
	w_lit(w, "\n\nResources:\n");
	if (!jmissing(jget(spec, "includeClusterResources")) ||
	    nonempty_list(jget(spec, "includedResources")) ||
	    nonempty_list(jget(spec, "excludedResources"))) {
		w_lit(w, "\tIncluded:\t");
		w_jlist(w, jget(spec, "includedResources"), ", ", "*");
		w_lit(w, "\n\tExcluded:\t");
		w_jlist(w, jget(spec, "excludedResources"), ", ", NONE);
		w_lit(w, "\n\tCluster-scoped:\t");
		w_jbool(w, jget(spec, "includeClusterResources"), "excluded",
			"included", "auto");
		w_lit(w, "\n");
	} else {
		w_lit(w, "\tIncluded cluster-scoped:\t");
		w_jlist(w, jget(spec, "includedClusterScopedResources"), ", ",
			NONE);
		w_lit(w, "\n\tExcluded cluster-scoped:\t");
		w_jlist(w, jget(spec, "excludedClusterScopedResources"), ", ",
			NONE);
		w_lit(w, "\n\tIncluded namespace-scoped:\t");
		w_jlist(w, jget(spec, "includedNamespaceScopedResources"), ", ",
			"*");
		w_lit(w, "\n\tExcluded namespace-scoped:\t");
		w_jlist(w, jget(spec, "excludedNamespaceScopedResources"), ", ",
			NONE);
		w_lit(w, "\n");
	}

	w_lit(w, "\nLabel selector:\t");
	w_selector(w, jget(spec, "labelSelector"));

	w_lit(w, "\n\nOr label selector:\t");
	ors = jarr(jget(spec, "orLabelSelectors"), &bad);
	if (bad)
		w_lit(w, INVALID);
	else if (!ors || json_array_size(ors) == 0)
		w_lit(w, NONE);
	json_array_foreach(ors, i, e)
	{
		if (i)
			w_lit(w, " or ");
		/* a null element is a nil *LabelSelector: labels.Nothing() */
		if (json_is_null(e))
			w_lit(w, NONE);
		else
			format_selector(w, e);
	}

	w_lit(w, "\n\nStorage Location:\t");
	w_jstr(w, jget(spec, "storageLocation"), "");

	w_lit(w, "\n\nVelero-Native Snapshot PVs:\t");
	w_jbool(w, jget(spec, "snapshotVolumes"), "false", "true", "auto");
	w_lit(w, "\n");
	if (!jmissing(jget(spec, "defaultVolumesToFsBackup"))) {
		w_lit(w, "File System Backup (Default):\t");
		w_jbool(w, jget(spec, "defaultVolumesToFsBackup"), "false",
			"true", "");
		w_lit(w, "\n");
	}
	w_lit(w, "Snapshot Move Data:\t");
	w_jbool(w, jget(spec, "snapshotMoveData"), "false", "true", "auto");
	w_lit(w, "\nData Mover:\t");
	w_jstr_nonempty(w, jget(spec, "datamover"), "velero");

	w_lit(w, "\n\nTTL:\t");
	w_jduration(w, jget(spec, "ttl"));

	w_lit(w, "\n\nCSISnapshotTimeout:\t");
	w_jduration(w, jget(spec, "csiSnapshotTimeout"));
	w_lit(w, "\nItemOperationTimeout:\t");
	w_jduration(w, jget(spec, "itemOperationTimeout"));
	w_lit(w, "\n\n");

	describe_hooks(w, spec);

	ordered = jget(spec, "orderedResources");
	if (!jmissing(ordered)) {
		w_lit(w, "\nOrderedResources:\n");
		if (!json_is_object(ordered)) {
			w_lit(w, "\t" INVALID "\n");
			return;
		}
		keys = sorted_keys(ordered, &n);
		if (OOM(w, n))
			return;
		for (i = 0; i < n; i++) {
			w_lit(w, "\t");
			w_val(w, keys[i]);
			w_lit(w, ": ");
			w_jstr(w, json_object_get(ordered, keys[i]), INVALID);
			w_lit(w, "\n");
		}
	}
}

/* "group/resource" of a ResourceIdentifier (Go field names, no JSON tags;
 * Go's decoder matches them case-insensitively). */
static json_t *rid_get(const json_t *rid, const char *upper, const char *lower)
{
	json_t *v = jget(rid, upper);

	return v ? v : jget(rid, lower);
}

static void w_rid(struct dw *w, const json_t *rid)
{
	json_t *g = rid_get(rid, "Group", "group");
	json_t *r = rid_get(rid, "Resource", "resource");

	/* schema.GroupResource.String() */
	w_jstr(w, r, "");
	if (json_is_string(g) && json_string_length(g) > 0) {
		w_lit(w, ".");
		w_jstr(w, g, "");
	} else if (!jmissing(g) && !json_is_string(g)) {
		w_lit(w, "." INVALID);
	}
	w_lit(w, " ");
	w_jstr(w, rid_get(rid, "Namespace", "namespace"), "");
	w_lit(w, "/");
	w_jstr(w, rid_get(rid, "Name", "name"), "");
}

static void describe_operation(struct dw *w, const json_t *op)
{
	json_t *spec = jget(op, "spec"), *st = jget(op, "status"), *items, *e;
	int64_t ncomp, ntot;
	int rc, rt;
	bool bad;
	size_t i;

	w_lit(w, "\tOperation for ");
	w_rid(w, jget(spec, "resourceIdentifier"));
	w_lit(w, ":\n\t\tBackup Item Action Plugin:\t");
	w_jstr(w, jget(spec, "backupItemAction"), "");
	w_lit(w, "\n\t\tOperation ID:\t");
	w_jstr(w, jget(spec, "operationID"), "");
	w_lit(w, "\n");
	items = jarr(jget(spec, "postOperationItems"), &bad);
	if (bad)
		w_lit(w, "\t\tItems to Update:\t" INVALID "\n");
	else if (items && json_array_size(items) > 0)
		w_lit(w, "\t\tItems to Update:\n");
	json_array_foreach(items, i, e)
	{
		w_lit(w, "\t\t\t");
		w_rid(w, e);
		w_lit(w, "\n");
	}
	w_lit(w, "\t\tPhase:\t");
	w_jstr(w, jget(st, "phase"), "");
	w_lit(w, "\n");
	w_line_jstr(w, "\t\tOperation Error:\t", jget(st, "error"));
	rc = jint(jget(st, "nCompleted"), &ncomp);
	rt = jint(jget(st, "nTotal"), &ntot);
	if (ntot > 0 || ncomp > 0 || rc < 0 || rt < 0) {
		w_lit(w, "\t\tProgress:\t");
		w_jint(w, jget(st, "nCompleted"));
		w_lit(w, " of ");
		w_jint(w, jget(st, "nTotal"));
		w_lit(w, " complete (");
		w_jstr(w, jget(st, "operationUnits"), "");
		w_lit(w, ")\n");
	}
	w_line_jstr(w, "\t\tProgress description:\t", jget(st, "description"));
	w_line_jtime(w, "\t\tCreated:\t", jget(st, "created"));
	w_line_jtime(w, "\t\tStarted:\t", jget(st, "started"));
	w_line_jtime(w, "\t\tUpdated:\t", jget(st, "updated"));
}

/* describeBackupItemOperations, --details. */
static void describe_operations(const struct describe_input *in, struct dw *w,
				const json_t *status)
{
	int64_t attempted;
	json_t *ops, *op;
	bool bad;
	size_t i;

	if (jint(jget(status, "backupItemOperationsAttempted"), &attempted) <
	    0) {
		w_lit(w, "Backup Item Operations:\t" INVALID "\n");
		return;
	}
	if (attempted <= 0)
		return;
	if (!in->itemoperations) {
		w_lit(w, "Backup Item Operations:\t<operation info not "
			 "found>\n");
		return;
	}
	ops = jarr(in->itemoperations, &bad);
	if (bad) {
		w_lit(w, "Backup Item Operations:\t" INVALID "\n");
		return;
	}
	w_lit(w, "Backup Item Operations:\n");
	json_array_foreach(ops, i, op) describe_operation(w, op);
}

/* describeBackupResourceList, or the tarball's counts without a list. */
static void describe_resource_list(const struct describe_input *in,
				   struct dw *w)
{
	_cleanup_free_ const char **keys = NULL;
	size_t i, j, n;
	json_t *items, *e;
	bool bad;

	if (!json_is_object(in->resource_list)) {
		if (!in->kinds || in->nkinds == 0) {
			w_lit(w, "Resource List:\t<backup resource list not "
				 "found>\n");
			return;
		}
		w_lit(w, "Resource List (items counted in the tarball):\n");
		for (i = 0; i < in->nkinds; i++) {
			w_lit(w, "\t");
			w_val(w, in->kinds[i].group_resource ?
					 in->kinds[i].group_resource :
					 INVALID);
			w_fmt(w, ":\t%zu\n", in->kinds[i].count);
		}
		return;
	}
	keys = sorted_keys(in->resource_list, &n);
	if (OOM(w, n))
		return;
	w_lit(w, "Resource List:\n");
	for (i = 0; i < n; i++) {
		w_lit(w, "\t");
		w_val(w, keys[i]);
		w_lit(w, ":\n\t\t- ");
		items = jarr(json_object_get(in->resource_list, keys[i]), &bad);
		if (bad)
			w_lit(w, INVALID);
		json_array_foreach(items, j, e)
		{
			if (j)
				w_lit(w, "\n\t\t- ");
			w_jstr(w, e, INVALID);
		}
		w_lit(w, "\n");
	}
}

/* One BackupVolumeInfo-like record, from volumeinfo or the legacy files. */
static void describe_native(struct dw *w, const json_t *pvname,
			    const json_t *handle, const json_t *type,
			    const json_t *az, const json_t *iops,
			    const json_t *result)
{
	w_lit(w, "\t\t");
	w_jstr(w, pvname, "");
	w_lit(w, ":\n\t\t\tSnapshot ID:\t");
	w_jstr(w, handle, "");
	w_lit(w, "\n\t\t\tType:\t");
	w_jstr(w, type, "");
	w_lit(w, "\n\t\t\tAvailability Zone:\t");
	w_jstr(w, az, "");
	w_lit(w, "\n\t\t\tIOPS:\t");
	if (json_is_integer(iops))
		w_jint(w, iops); /* legacy volumeIOPS is an int64 */
	else
		w_jstr(w, iops, "");
	w_lit(w, "\n\t\t\tResult:\t");
	w_jstr(w, result, "");
	w_lit(w, "\n");
}

static bool jtrue(const json_t *v)
{
	return json_is_true(v);
}

static void describe_csi(struct dw *w, const json_t *vi)
{
	json_t *csi = jget(vi, "csiSnapshotInfo");
	json_t *dm = jget(vi, "snapshotDataMovementInfo");
	int64_t inc;

	w_lit(w, "\t\t");
	w_jstr(w, jget(vi, "pvcNamespace"), "");
	w_lit(w, "/");
	w_jstr(w, jget(vi, "pvcName"), "");
	w_lit(w, ":\n");
	if (jtrue(jget(vi, "preserveLocalSnapshot"))) {
		w_lit(w, "\t\t\tSnapshot:\n");
		if (!jtrue(jget(vi, "snapshotDataMoved")))
			w_line_jstr(w, "\t\t\t\tOperation ID: ",
				    jget(csi, "operationID"));
		w_lit(w, "\t\t\t\tSnapshot Content Name: ");
		w_jstr(w, jget(csi, "vscName"), "");
		w_lit(w, "\n\t\t\t\tStorage Snapshot ID: ");
		w_jstr(w, jget(csi, "snapshotHandle"), "");
		w_lit(w, "\n\t\t\t\tSnapshot Size (bytes): ");
		w_jint(w, jget(csi, "size"));
		w_lit(w, "\n\t\t\t\tCSI Driver: ");
		w_jstr(w, jget(csi, "driver"), "");
		w_lit(w, "\n\t\t\t\tResult: ");
		w_jstr(w, jget(vi, "result"), "");
		w_lit(w, "\n");
	}
	if (jtrue(jget(vi, "snapshotDataMoved"))) {
		w_lit(w, "\t\t\tData Movement:\n\t\t\t\tOperation ID: ");
		w_jstr(w, jget(dm, "operationID"), "");
		w_lit(w, "\n\t\t\t\tData Mover: ");
		w_jstr_nonempty(w, jget(dm, "dataMover"), "velero");
		w_lit(w, "\n\t\t\t\tUploader Type: ");
		w_jstr(w, jget(dm, "uploaderType"), "");
		w_lit(w, "\n\t\t\t\tMoved data Size (bytes): ");
		w_jint(w, jget(dm, "size"));
		w_lit(w, "\n");
		if (jint(jget(dm, "incrementalSize"), &inc) != 0 && inc >= 0 &&
		    (inc > 0 || !json_is_integer(jget(dm, "incrementalSiz"
							  "e")))) {
			w_lit(w, "\t\t\t\tIncremental data Size (bytes): ");
			w_jint(w, jget(dm, "incrementalSize"));
			w_lit(w, "\n");
		}
		w_lit(w, "\t\t\t\tResult: ");
		w_jstr(w, jget(vi, "result"), "");
		w_lit(w, "\n");
	}
}

/* Legacy CSI info: Velero pairs VolumeSnapshotContents with VolumeSnapshots;
 * the vault gives us the VolumeSnapshots, so the content's driver, handle
 * and size are unknown here. */
static void describe_csi_legacy(struct dw *w, const json_t *vs)
{
	json_t *bound = jget(jget(vs, "status"), "boundVolumeSnapshotContentNam"
						 "e");
	json_t *pvc = jget(jget(jget(vs, "spec"), "source"), "persistentVolumeC"
							     "laimName");

	w_lit(w, "\t\t");
	w_jstr(w, jget(jget(vs, "metadata"), "namespace"), "");
	w_lit(w, "/");
	w_jstr(w, pvc, "<PVC name not found>");
	w_lit(w, ":\n\t\t\tSnapshot:\n\t\t\t\tSnapshot Content Name: ");
	w_jstr(w, bound, "");
	w_lit(w, "\n\t\t\t\tStorage Snapshot ID: " NA "\n\t\t\t\tSnapshot Size "
		 "(bytes): " NA "\n\t\t\t\tCSI Driver: " NA "\n\t\t\t\tResult: "
		 "\n");
}

static const char *const pvb_phases[] = {
	"Completed", "Failed",	 "Canceled", "In Progress",
	"Canceling", "Prepared", "Accepted", "New",
};

/* Index into pvb_phases of a PodVolumeBackup phase, -1 if unknown (Velero
 * drops those). */
static int pvb_group(const json_t *phase)
{
	const char *p;
	size_t i;

	if (jmissing(phase))
		return 7;
	p = jstr(phase);
	if (!p)
		return -1;
	if (!strcmp(p, "") || !strcmp(p, "New"))
		return 7;
	if (!strcmp(p, "InProgress"))
		return 3;
	for (i = 0; i < ARRAY_SIZE(pvb_phases); i++)
		if (i != 3 && !strcmp(p, pvb_phases[i]))
			return (int)i;
	return -1;
}

struct pvb_row {
	char *label;  /* "ns/name", raw; owned */
	char *volume; /* volume with Velero's size suffix, raw; owned */
};

static int cmp_pvb_row(const void *a, const void *b)
{
	const struct pvb_row *x = a, *y = b;
	int c = strcmp(x->label, y->label);

	return c ? c : strcmp(x->volume, y->volume);
}

_printf_(2, 3) static int xasprintf(char **out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	*out = NULL;
	if (n < 0)
		return -ENOMEM;
	*out = malloc((size_t)n + 1);
	if (!*out)
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(*out, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return 0;
}

static char *jdup(const json_t *v)
{
	return strdup(jmissing(v)	? "" :
		      json_is_string(v) ? json_string_value(v) :
					  INVALID);
}

static int pvb_row_init(struct pvb_row *row, const json_t *pvb, int group)
{
	json_t *spec = jget(pvb, "spec"), *st = jget(pvb, "status");
	json_t *pod = jget(spec, "pod"), *prog = jget(st, "progress");
	_cleanup_free_ char *ns = jdup(jget(pod, "namespace"));
	_cleanup_free_ char *name = jdup(jget(pod, "name"));
	_cleanup_free_ char *vol = jdup(jget(spec, "volume"));
	int64_t total, done, inc;
	int r;

	if (!ns || !name || !vol)
		return -ENOMEM;
	jint(jget(prog, "totalBytes"), &total);
	jint(jget(prog, "bytesDone"), &done);
	jint(jget(st, "incrementalBytes"), &inc);
	if (xasprintf(&row->label, "%s/%s", ns, name) < 0)
		return -ENOMEM;
	if (group == 3 && total != 0)
		r = xasprintf(&row->volume, "%s (%.2f%%)", vol,
			      (double)done / (double)total * 100);
	else if (group == 0 && inc > 0)
		r = xasprintf(&row->volume,
			      "%s (size: %" PRId64 ", incremental size: "
			      "%" PRId64 ")",
			      vol, total, inc);
	else if (group == 0 && total > 0)
		r = xasprintf(&row->volume, "%s (size: %" PRId64 ")", vol,
			      total);
	else
		r = (row->volume = TAKE_PTR(vol)) ? 0 : -1;
	return r < 0 ? -ENOMEM : 0;
}

/* describePodVolumeBackups, --details. */
static void describe_pvbs(struct dw *w, const json_t *list)
{
	struct pvb_row *rows = NULL;
	json_t *a, *pvb;
	size_t n, nrows, i, j;
	bool bad;
	int g, r = 0;

	a = jarr(list, &bad);
	if (bad) {
		w_lit(w, "\tPod Volume Backups:\t" INVALID "\n");
		return;
	}
	n = a ? json_array_size(a) : 0;
	if (n == 0) {
		w_lit(w, "\tPod Volume Backups: <none included>\n");
		return;
	}
	w_lit(w, "\tPod Volume Backups - ");
	w_jstr(w, jget(jget(json_array_get(a, 0), "spec"), "uploaderType"), "");
	w_lit(w, ":\n");

	rows = calloc(n, sizeof(*rows));
	if (!rows) {
		w->r = w->r < 0 ? w->r : -ENOMEM;
		return;
	}
	for (g = 0; g < (int)ARRAY_SIZE(pvb_phases) && r >= 0; g++) {
		nrows = 0;
		json_array_foreach(a, i, pvb)
		{
			if (pvb_group(jget(jget(pvb, "status"), "phase")) != g)
				continue;
			r = pvb_row_init(&rows[nrows++], pvb, g);
			if (r < 0)
				break;
		}
		if (r >= 0 && nrows > 0) {
			qsort(rows, nrows, sizeof(*rows), cmp_pvb_row);
			w_lit(w, "\t\t");
			w_lit(w, pvb_phases[g]);
			w_lit(w, ":\n");
			for (i = 0; i < nrows; i = j) {
				w_lit(w, "\t\t\t");
				w_val(w, rows[i].label);
				w_lit(w, ": ");
				for (j = i; j < nrows && !strcmp(rows[j].label,
								 rows[i].label);
				     j++) {
					if (j > i)
						w_lit(w, ", ");
					w_val(w, rows[j].volume);
				}
				w_lit(w, "\n");
			}
		}
		for (i = 0; i < nrows; i++) {
			free(rows[i].label);
			free(rows[i].volume);
			rows[i].label = rows[i].volume = NULL;
		}
	}
	free(rows);
	if (r < 0)
		w->r = w->r < 0 ? w->r : r;
}

static bool is_method(const json_t *vi, const char *m)
{
	const char *s = jstr(jget(vi, "backupMethod"));

	return s && !strcmp(s, m);
}

/* describeBackupVolumes, --details. */
static void describe_volumes(const struct describe_input *in, struct dw *w,
			     const json_t *status)
{
	json_t *a, *e;
	size_t i, nnative = 0, ncsi = 0;
	int64_t attempted;
	bool bad;

	w_lit(w, "Backup Volumes:\n");
	if (in->volumeinfo) {
		a = jarr(in->volumeinfo, &bad);
		if (bad) {
			w_lit(w, "\t<error reading backup volume info: " INVALID
				 ">\n");
			return;
		}
		json_array_foreach(a, i, e)
		{
			nnative += is_method(e, "NativeSnapshot");
			ncsi += is_method(e, "CSISnapshot");
		}
		if (nnative == 0) {
			w_lit(w, "\tVelero-Native Snapshots: <none "
				 "included>\n");
		} else {
			w_lit(w, "\tVelero-Native Snapshots:\n");
			json_array_foreach(a, i, e)
			{
				json_t *ns = jget(e, "nativeSnapshotInfo");

				if (!is_method(e, "NativeSnapshot"))
					continue;
				describe_native(w, jget(e, "pvName"),
						jget(ns, "snapshotHandle"),
						jget(ns, "volumeType"),
						jget(ns, "volumeAZ"),
						jget(ns, "iops"),
						jget(e, "result"));
			}
		}
		w_lit(w, "\n");
		if (ncsi == 0) {
			w_lit(w, "\tCSI Snapshots: <none included>\n");
		} else {
			w_lit(w, "\tCSI Snapshots:\n");
			json_array_foreach(a, i, e) if (is_method(e, "CSISnapsh"
								     "ot"))
				describe_csi(w, e);
		}
	} else {
		a = jarr(in->volumesnapshots, &bad);
		jint(jget(status, "volumeSnapshotsAttempted"), &attempted);
		if (bad) {
			w_lit(w, "\tVelero-Native Snapshots:\t" INVALID "\n");
		} else if (a && json_array_size(a) > 0) {
			w_lit(w, "\tVelero-Native Snapshots:\n");
			json_array_foreach(a, i, e)
			{
				json_t *sp = jget(e, "spec");

				describe_native(w,
						jget(sp, "persistentVolumeNam"
							 "e"),
						jget(jget(e, "status"), "provid"
									"erSnap"
									"shotI"
									"D"),
						jget(sp, "volumeType"),
						jget(sp, "volumeAZ"),
						jget(sp, "volumeIOPS"), NULL);
			}
		} else if (attempted > 0 && !in->volumesnapshots) {
			w_lit(w, "\tVelero-Native Snapshots: <snapshot info "
				 "not found>\n");
		} else {
			w_lit(w, "\tVelero-Native Snapshots: <none "
				 "included>\n");
		}
		w_lit(w, "\n");

		a = jarr(in->csi_volumesnapshots, &bad);
		jint(jget(status, "csiVolumeSnapshotsAttempted"), &attempted);
		if (bad) {
			w_lit(w, "\tCSI Snapshots:\t" INVALID "\n");
		} else if (attempted > 0 && a) {
			json_array_foreach(a, i, e) ncsi +=
				!jmissing(jget(jget(e, "status"), "boundVolumeS"
								  "napshotConte"
								  "ntName"));
		}
		if (!bad && ncsi == 0) {
			w_lit(w, "\tCSI Snapshots: <none included or not "
				 "detectable>\n");
		} else if (!bad) {
			w_lit(w, "\tCSI Snapshots:\n");
			json_array_foreach(a, i,
					   e) if (!jmissing(jget(jget(e, "statu"
									 "s"),
								 "boundVolumeSn"
								 "apshotContent"
								 "Name")))
				describe_csi_legacy(w, e);
		}
	}
	w_lit(w, "\n");
	describe_pvbs(w, in->podvolumebackups);
}

/* DescribeBackupStatus, --details. */
static void describe_status(const struct describe_input *in, struct dw *w,
			    const json_t *status, const char *phase)
{
	json_t *prog = jget(status, "progress"), *hooks;

	w_lit(w, "Backup Format Version:\t");
	w_jstr(w, jget(status, "formatVersion"), "");
	w_lit(w, "\n\nStarted:\t");
	w_jtime(w, jget(status, "startTimestamp"), NA, NA);
	w_lit(w, "\nCompleted:\t");
	w_jtime(w, jget(status, "completionTimestamp"), NA, NA);
	w_lit(w, "\n\nExpiration:\t");
	w_jtime(w, jget(status, "expiration"), NA, NULL);
	w_lit(w, "\n\n");

	if (!jmissing(prog)) {
		bool est = !strcmp(phase, "InProgress");

		w_lit(w, est ? "Estimated total items to be backed up:\t" :
			       "Total items to be backed up:\t");
		w_jint(w, jget(prog, "totalItems"));
		w_lit(w, est ? "\nItems backed up so far:\t" :
			       "\nItems backed up:\t");
		w_jint(w, jget(prog, "itemsBackedUp"));
		w_lit(w, "\n\n");
	}

	describe_operations(in, w, status);
	describe_resource_list(in, w);
	w_lit(w, "\n");
	describe_volumes(in, w, status);

	hooks = jget(status, "hookStatus");
	if (!jmissing(hooks)) {
		w_lit(w, "\nHooksAttempted:\t");
		w_jint(w, jget(hooks, "hooksAttempted"));
		w_lit(w, "\nHooksFailed:\t");
		w_jint(w, jget(hooks, "hooksFailed"));
		w_lit(w, "\n");
	}
}

/* What velerofs itself knows about this backup's files. */
static void describe_vault_problems(const struct describe_input *in,
				    struct dw *w)
{
	if (!in->index_error && !in->item_errors)
		return;
	w_lit(w, "\n");
	if (in->index_error) {
		w_lit(w, "Tarball:\t<error reading the backup tarball: ");
		w_val(w, in->index_error);
		w_lit(w, ">\n");
	}
	if (in->item_errors)
		w_fmt(w,
		      "Items that could not be read:\t%zu (see errors.txt)\n",
		      in->item_errors);
}

/* The end of an entry of the "Volume Data" section: snapshot id, size,
 * phase of the PodVolumeBackup's or DataUpload's status st, then, when
 * verdicts were given (judged), whether it is browsable: why NULL, under
 * volumes/<ns>/<dir>/<leaf>/ (dir NULL: dir_lit). */
static void describe_vd_tail(struct dw *w, const json_t *st, bool judged,
			     const char *why, const json_t *ns,
			     const json_t *dir, const char *dir_lit,
			     const json_t *leaf)
{
	w_lit(w, "\n\t\t\tSnapshot ID:\t");
	w_jstr_nonempty(w, jget(st, "snapshotID"), NONE);
	w_lit(w, "\n\t\t\tSize (bytes):\t");
	w_jint(w, jget(jget(st, "progress"), "totalBytes"));
	w_lit(w, "\n\t\t\tPhase:\t");
	w_jstr_nonempty(w, jget(st, "phase"), "New");
	if (!judged) {
		w_lit(w, "\n");
	} else if (!why) {
		w_lit(w, "\n\t\t\tBrowsable:\tyes, under volumes/");
		w_jstr(w, ns, "");
		w_lit(w, "/");
		w_jstr(w, dir, dir_lit);
		w_lit(w, "/");
		w_jstr(w, leaf, "");
		w_lit(w, "/\n");
	} else {
		w_lit(w, "\n\t\t\tBrowsable:\tno: ");
		w_val(w, why);
		w_lit(w, "\n");
	}
}

/* One pod volume backup of the "Volume Data" section. */
static void describe_vd_pvb(const struct describe_input *in, struct dw *w,
			    const json_t *pvb, size_t i)
{
	json_t *spec = jget(pvb, "spec"), *st = jget(pvb, "status");
	json_t *pod = jget(spec, "pod");
	const char *why = i < in->npvb_verdicts ? in->pvb_verdicts[i] : NULL;

	w_lit(w, "\t\t");
	w_jstr(w, jget(pod, "namespace"), "");
	w_lit(w, "/");
	w_jstr(w, jget(pod, "name"), "");
	w_lit(w, "/");
	w_jstr(w, jget(spec, "volume"), "");
	w_lit(w, ":\n\t\t\tUploader:\t");
	w_jstr(w, jget(spec, "uploaderType"), "");
	describe_vd_tail(w, st, in->pvb_verdicts, why, jget(pod, "namespace"),
			 jget(pod, "name"), "", jget(spec, "volume"));
}

/* One DataUpload of the "Volume Data" section. */
static void describe_vd_du(const struct describe_input *in, struct dw *w,
			   const json_t *du, size_t i)
{
	json_t *spec = jget(du, "spec"), *md = jget(du, "metadata");
	json_t *dm = jget(spec, "datamover");
	const char *why = i < in->ndu_verdicts ? in->du_verdicts[i] : NULL;

	w_lit(w, "\t\t");
	w_jstr(w, jget(spec, "sourceNamespace"), "");
	w_lit(w, "/");
	w_jstr(w, jget(spec, "sourcePVC"), "");
	w_lit(w, ":\n\t\t\tDataUpload:\t");
	w_jstr(w, jget(md, "namespace"), "");
	w_lit(w, "/");
	w_jstr(w, jget(md, "name"), "");
	w_lit(w, "\n\t\t\tData Mover:\t");
	/* "" is Velero's built-in one (pkg/datamover/util.go) */
	w_jstr_nonempty(w, json_is_string(dm) ? dm : NULL, "velero");
	describe_vd_tail(w, jget(du, "status"), in->du_verdicts, why,
			 jget(spec, "sourceNamespace"), NULL,
			 BACKUP_VOL_PVC_DIR, jget(spec, "sourcePVC"));
}

/* Whether the backup has a DataUpload of the PVC ns/name. */
static bool has_du(const struct describe_input *in, const json_t *ns,
		   const json_t *name)
{
	json_t *a, *e;
	size_t i;
	bool bad;

	if (!json_is_string(ns) || !json_is_string(name))
		return false;
	a = jarr(in->datauploads, &bad);
	json_array_foreach(a, i, e)
	{
		json_t *spec = jget(e, "spec");

		if (json_equal(jget(spec, "sourceNamespace"), ns) &&
		    json_equal(jget(spec, "sourcePVC"), name))
			return true;
	}
	return false;
}

static void snaps_header(struct dw *w, size_t *n, size_t *nsnaps)
{
	w_lit(w, (*n)++ ? "" : "\nVolume Data:\n");
	w_lit(w, (*nsnaps)++ ? "" : "\tSnapshots:\n");
}

/* velerofs's own section: every volume of the backup, where its data is,
 * and whether it can be browsed under volumes/ (and why not). */
static void describe_volume_data(const struct describe_input *in, struct dw *w)
{
	json_t *a, *e;
	size_t i, n = 0, nsnaps = 0;
	bool bad;

	a = jarr(in->podvolumebackups, &bad);
	if (a && json_array_size(a)) {
		w_lit(w, n++ ? "" : "\nVolume Data:\n");
		w_lit(w, "\tPod Volume Backups:\n");
		json_array_foreach(a, i, e) describe_vd_pvb(in, w, e, i);
	}
	a = jarr(in->datauploads, &bad);
	if (a && json_array_size(a)) {
		w_lit(w, n++ ? "" : "\nVolume Data:\n");
		w_lit(w, "\tData Uploads:\n");
		json_array_foreach(a, i, e) describe_vd_du(in, w, e, i);
	}
	if (in->volumeinfo) {
		a = jarr(in->volumeinfo, &bad);
		json_array_foreach(a, i, e)
		{
			bool csi = is_method(e, "CSISnapshot");
			bool moved = csi && jtrue(jget(e, "snapshotDataMoved"));

			if (!csi && !is_method(e, "NativeSnapshot"))
				continue;
			/* a moved one with its DataUpload: under Data Uploads
			 */
			if (moved && has_du(in, jget(e, "pvcNamespace"),
					    jget(e, "pvcName")))
				continue;
			snaps_header(w, &n, &nsnaps);
			w_lit(w, "\t\t");
			w_jstr(w, jget(e, "pvcNamespace"), "");
			w_lit(w, "/");
			w_jstr(w, jget(e, "pvcName"), "");
			w_lit(w, " (PV ");
			w_jstr(w, jget(e, "pvName"), "");
			w_lit(w, "):\n\t\t\tBrowsable:\tno: ");
			if (moved) {
				w_lit(w, "moved by the data mover (operation ");
				w_jstr(w,
				       jget(jget(e, "snapshotDataMovementInfo"),
					    "operationID"),
				       "");
				w_lit(w, "), but the backup holds no "
					 "DataUpload of it\n");
			} else if (csi) {
				w_lit(w, "its data is in a CSI snapshot that "
					 "never left the cloud provider "
					 "(snapshot ");
				w_jstr(w,
				       jget(jget(e, "csiSnapshotInfo"), "snapsh"
									"otHand"
									"le"),
				       "");
				w_lit(w, ")\n");
			} else {
				w_lit(w, "its data is in a snapshot of the "
					 "cloud provider that never left it "
					 "(snapshot ");
				w_jstr(w,
				       jget(jget(e, "nativeSnapshotInfo"), "sna"
									   "psh"
									   "otH"
									   "and"
									   "l"
									   "e"),
				       "");
				w_lit(w, ")\n");
			}
		}
	} else {
		a = jarr(in->volumesnapshots, &bad);
		json_array_foreach(a, i, e)
		{
			json_t *sp = jget(e, "spec");

			snaps_header(w, &n, &nsnaps);
			w_lit(w, "\t\tPV ");
			w_jstr(w, jget(sp, "persistentVolumeName"), "");
			w_lit(w, ":\n\t\t\tBrowsable:\tno: its data is in a "
				 "snapshot of the cloud provider that never "
				 "left it (snapshot ");
			w_jstr(w, jget(jget(e, "status"), "providerSnapshotID"),
			       "");
			w_lit(w, ")\n");
		}
		a = jarr(in->csi_volumesnapshots, &bad);
		json_array_foreach(a, i, e)
		{
			snaps_header(w, &n, &nsnaps);
			w_lit(w, "\t\t");
			w_jstr(w, jget(jget(e, "metadata"), "namespace"), "");
			w_lit(w, "/");
			w_jstr(w,
			       jget(jget(jget(e, "spec"), "source"), "persisten"
								     "tVolumeCl"
								     "aimName"),
			       "<PVC name not found>");
			w_lit(w, ":\n\t\t\tBrowsable:\tno: its data is in a "
				 "CSI "
				 "snapshot that never left the cloud provider "
				 "(VolumeSnapshotContent ");
			w_jstr(w,
			       jget(jget(e, "status"), "boundVolumeSnapshotCont"
						       "entName"),
			       "");
			w_lit(w, ")\n");
		}
	}
}

static void describe_backup(const struct describe_input *in, struct dw *w)
{
	json_t *b = in->backup;
	json_t *meta = jget(b, "metadata"), *spec = jobj(b, "spec");
	json_t *status = jobj(b, "status"), *v;
	const char *phase = "New";
	int64_t n;

	w_lit(w, "Name:\t");
	if (json_is_string(jget(meta, "name")))
		w_jstr(w, jget(meta, "name"), "");
	else
		w_val(w, in->name ? in->name : "");
	w_lit(w, "\n");

	if (!b) {
		w_lit(w, "\nBackup:\t<error reading velero-backup.json: ");
		w_val(w, in->backup_error ? in->backup_error : "unknown error");
		w_lit(w, ">\n\n");
		describe_results(in, w, NULL);
		if (in->results)
			w_lit(w, "\n");
		describe_resource_list(in, w);
		w_lit(w, "\n");
		describe_volumes(in, w, NULL);
		describe_vault_problems(in, w);
		describe_volume_data(in, w);
		return;
	}

	w_lit(w, "Namespace:\t");
	w_jstr(w, jget(meta, "namespace"), "");
	w_lit(w, "\n");
	describe_map(w, "Labels", jget(meta, "labels"));
	describe_map(w, "Annotations", jget(meta, "annotations"));

	v = jget(status, "phase");
	if (json_is_string(v) && json_string_length(v) > 0)
		phase = json_string_value(v);
	w_lit(w, "\nPhase:\t");
	if (!jmissing(v) && !json_is_string(v))
		w_lit(w, INVALID);
	else
		w_val(w, phase);
	if (!strcmp(phase, "Failed") || !strcmp(phase, "PartiallyFailed")) {
		w_lit(w, " (errors: ");
		w_jint(w, jget(status, "errors"));
		w_lit(w, ", warnings: ");
		w_jint(w, jget(status, "warnings"));
		w_lit(w, in->results ? "; see meta/results.yaml and logs)" :
				       "; see logs)");
	}
	/* what Velero's phase can't know: the vault's copy is damaged; said
	 * here, at the top, where a reader looks first */
	if (in->index_error) {
		w_lit(w, " (DAMAGED in the vault: ");
		w_val(w, in->index_error);
		w_lit(w, "; see errors.txt)");
	} else if (in->item_errors) {
		w_fmt(w,
		      " (DAMAGED in the vault: %zu item%s could not be read; "
		      "see errors.txt)",
		      in->item_errors, in->item_errors == 1 ? "" : "s");
	}
	w_lit(w, "\n");
	if (!strcmp(phase, "Queued")) {
		w_lit(w, "Queue position:\t");
		w_jint(w, jget(status, "queuePosition"));
		w_lit(w, "\n");
	}

	v = jget(spec, "resourcePolicy");
	if (!jmissing(v)) {
		w_lit(w, "\nResource policies:\n\tType:\t");
		w_jstr(w, jget(v, "kind"), "");
		w_lit(w, "\n\tName:\t");
		w_jstr(w, jget(v, "name"), "");
		w_lit(w, "\n");
	}

	v = jget(jget(spec, "uploaderConfig"), "parallelFilesUpload");
	if (jint(v, &n) != 0 && (n > 0 || !json_is_integer(v))) {
		w_lit(w, "\nUploader config:\n\tParallel files upload:\t");
		w_jint(w, v);
		w_lit(w, "\n");
	}

	v = jget(status, "validationErrors");
	if (nonempty_list(v)) {
		json_t *a, *e;
		size_t i;
		bool bad;

		/* Velero's "Validation errors:" has no newline: the first
		 * error shares its line. */
		w_lit(w, "\nValidation errors:");
		a = jarr(v, &bad);
		if (bad)
			w_lit(w, "\t" INVALID "\n");
		json_array_foreach(a, i, e)
		{
			w_lit(w, "\t");
			w_jstr(w, e, INVALID);
			w_lit(w, "\n");
		}
	}

	w_lit(w, "\n");
	describe_results(in, w, status);

	w_lit(w, "\n");
	describe_spec(w, spec);

	w_lit(w, "\n");
	describe_status(in, w, status, phase);

	describe_vault_problems(in, w);
	describe_volume_data(in, w);
}

/* ---- Go's text/tabwriter (minwidth 0, tabwidth 8, padding 2, ' ') ---- */

#define TW_PADDING 2

struct tw_cell {
	size_t off, len, width;
};

struct tw_line {
	size_t first, ncells; /* into tw.cells; ncells counts the last,
			       * not tab-terminated, cell too */
	bool newline;
};

struct tw {
	const char *text;
	struct tw_cell *cells;
	struct tw_line *lines;
	size_t nlines;
	size_t *widths;
	struct sbuf *out;
	int r;
};

/* utf8.RuneCount for valid UTF-8 (jansson only hands out valid UTF-8). */
static size_t rune_count(const char *s, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xc0) != 0x80;
	return c;
}

static void tw_write_lines(struct tw *t, size_t nwidths, size_t line0,
			   size_t line1)
{
	size_t i, j;

	for (i = line0; i < line1 && t->r >= 0; i++) {
		const struct tw_line *l = &t->lines[i];

		for (j = 0; j < l->ncells && t->r >= 0; j++) {
			const struct tw_cell *c = &t->cells[l->first + j];

			t->r = sbuf_add(t->out, t->text + c->off, c->len);
			if (t->r >= 0 && j < nwidths)
				t->r = sbuf_addn(t->out, ' ',
						 t->widths[j] - c->width);
		}
		if (t->r >= 0 && l->newline)
			t->r = sbuf_addc(t->out, '\n');
	}
}

/* Go's (*Writer).format: a column block is a run of lines that all have a
 * tab-terminated cell in this column; its width is the widest such cell
 * plus padding. Recursion depth is bounded by the cells per line, which
 * only our own format strings create. */
static void tw_format_rec(struct tw *t, size_t column, size_t line0,
			  size_t line1)
{
	size_t this, width;

	for (this = line0; this < line1; this ++) {
		if (column + 1 >= t->lines[this].ncells)
			continue;
		tw_write_lines(t, column, line0, this);
		line0 = this;
		width = 0;
		for (; this < line1; this ++) {
			const struct tw_line *l = &t->lines[this];
			size_t cw;

			if (column + 1 >= l->ncells)
				break;
			cw = t->cells[l->first + column].width + TW_PADDING;
			if (cw > width)
				width = cw;
		}
		t->widths[column] = width;
		tw_format_rec(t, column + 1, line0, this);
		line0 = this;
		if (this == line1)
			break;
	}
	tw_write_lines(t, column, line0, line1);
}

static int tw_format(const char *text, size_t n, struct sbuf *out)
{
	struct tw t = { .text = text, .out = out };
	size_t i, ncells = 1, nlines = 1, maxcells = 1, cur = 0, start = 0;
	struct tw_line *l;

	for (i = 0; i < n; i++) {
		ncells += text[i] == '\t' || text[i] == '\n';
		nlines += text[i] == '\n';
	}
	t.cells = calloc(ncells, sizeof(*t.cells));
	t.lines = calloc(nlines, sizeof(*t.lines));
	if (!t.cells || !t.lines) {
		t.r = -ENOMEM;
		goto out;
	}
	l = &t.lines[0];
	for (i = 0; i <= n; i++) {
		struct tw_cell *c;

		if (i < n && text[i] != '\t' && text[i] != '\n')
			continue;
		c = &t.cells[cur++];
		c->off = start;
		c->len = i - start;
		c->width = rune_count(text + start, c->len);
		l->ncells++;
		start = i + 1;
		if (i == n || text[i] == '\n') {
			l->newline = i < n;
			if (l->ncells > maxcells)
				maxcells = l->ncells;
			t.nlines++;
			if (i < n) {
				l = &t.lines[t.nlines];
				l->first = cur;
			}
		}
	}
	t.widths = calloc(maxcells, sizeof(*t.widths));
	if (!t.widths) {
		t.r = -ENOMEM;
		goto out;
	}
	tw_format_rec(&t, 0, 0, t.nlines);
out:
	free(t.cells);
	free(t.lines);
	free(t.widths);
	return t.r;
}

int render_describe(const struct describe_input *in, struct sbuf *out)
{
	struct dw w = { .r = 0 };
	size_t old = out->len;
	int r;

	sbuf_init(&w.raw, out->max);
	describe_backup(in, &w);
	r = w.r;
	if (r >= 0)
		r = tw_format(sbuf_str(&w.raw), w.raw.len, out);
	sbuf_release(&w.raw);
	if (r < 0) {
		out->len = old;
		if (out->buf)
			out->buf[old] = '\0';
		return r;
	}
	return 0;
}
