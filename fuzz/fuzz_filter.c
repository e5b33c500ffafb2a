/* fuzz_filter: filter_item() (backup/filter.c), the clean and redacted
 * views. The first input byte chooses the options (bit 0 clean, 1
 * keep_status, 2 redact, 3 the item is a Secret); the rest is the item.
 *
 * Properties, for items jansson reads as a JSON object:
 * - valid input is not refused as malformed, and the output is JSON;
 * - redact on a Secret: every member of data and stringData, and the
 *   last-applied annotation, is "<redacted sha256:...>" in the output,
 *   and no value of theirs (at least 4 bytes long) appears in any string
 *   of the output that the input does not hold elsewhere;
 * - clean: the server-set members are gone (keys compared decoded, as
 *   the YAML view shows them). */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/render_i.h"
#include "common/sbuf.h"

#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"
#define REDACTED "<redacted sha256:"

static const uint8_t *cur_data;
static size_t cur_size;
static const struct sbuf *cur_out;

static void report(const char *why)
{
	fprintf(stderr,
		"fuzz_filter: %s\n--- options %#x, input:\n%.*s\n--- output:\n"
		"%.*s\n",
		why, cur_data[0], (int)(cur_size < 4000 ? cur_size - 1 : 4000),
		(const char *)cur_data + 1,
		(int)(cur_out->len < 4000 ? cur_out->len : 4000),
		cur_out->buf ? cur_out->buf : "");
	abort();
}

/* Adds every string (keys too) of v to set, except the subtrees of
 * secrets, when skip is set, the secret parts of a Secret. */
static void strings(json_t *v, json_t *set, json_t *secrets, int level,
		    bool in_secret)
{
	const char *k;
	json_t *m;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_STRING:
		json_object_setn_new(in_secret ? secrets : set,
				     json_string_value(v),
				     json_string_length(v), json_true());
		break;
	case JSON_ARRAY:
		json_array_foreach(v, i, m)
			strings(m, set, secrets, -1, in_secret);
		break;
	case JSON_OBJECT:
		json_object_foreach(v, k, m)
		{
			bool sec = in_secret ||
				   (level == 0 &&
				    (!strcmp(k, "data") || !strcmp(k, "stringDa"
								      "ta"))) ||
				   (level == 2 && !strcmp(k, LAST_APPLIED));
			int next = level == 0 && !strcmp(k, "metadata")	   ? 1 :
				   level == 1 && !strcmp(k, "annotations") ? 2 :
									     -1;

			json_object_set_new(set, k, json_true());
			strings(m, set, secrets, next, sec);
		}
		break;
	default:
		break;
	}
}

static bool redacted(json_t *v)
{
	return json_is_string(v) &&
	       !strncmp(json_string_value(v), REDACTED, strlen(REDACTED));
}

static void check_leaks(json_t *in, json_t *out)
{
	json_t *pub = json_object(), *sec = json_object(),
	       *outs = json_object(), *m, *ann;
	const char *k, *s, *o;
	json_t *dummy, *dummy2;

	if (json_is_object(json_object_get(out, "data")))
		json_object_foreach(json_object_get(out, "data"), k,
				    m) if (!redacted(m)) report("a data value "
								"is not "
								"redacted");
	if (json_is_object(json_object_get(out, "stringData")))
		json_object_foreach(json_object_get(out, "stringData"), k,
				    m) if (!redacted(m)) report("a stringData "
								"value is not "
								"redacted");
	ann = json_object_get(json_object_get(out, "metadata"), "annotations");
	m = json_object_get(ann, LAST_APPLIED);
	if (m && !redacted(m))
		report("the last-applied annotation is not redacted");
	strings(in, pub, sec, 0, false);
	strings(out, outs, outs, 0, false);
	json_object_foreach(outs, o, dummy)
	{
		if (json_object_get(pub, o))
			continue;
		json_object_foreach(sec, s,
				    dummy2) if (strlen(s) >= 4 && strstr(o, s))
			report("a secret value leaks into the output");
	}
	json_decref(pub);
	json_decref(sec);
	json_decref(outs);
}

static void check_clean(json_t *out, bool keep_status)
{
	static const char *const gone[] = {
		"managedFields", "resourceVersion",   "uid",
		"generation",	 "creationTimestamp", "selfLink"
	};
	json_t *meta = json_object_get(out, "metadata");

	if (!keep_status && json_object_get(out, "status"))
		report("clean kept status");
	for (size_t i = 0; i < sizeof(gone) / sizeof(*gone); i++)
		if (json_object_get(meta, gone[i]))
			report("clean kept a server-set member");
	if (json_object_get(json_object_get(meta, "annotations"), LAST_APPLIED))
		report("clean kept the last-applied annotation");
}

/* The one call into velerofs. */
static int filter(const char *json, size_t len, bool secret,
		  const struct filter_options *o, struct sbuf *out)
{
	return filter_item(json, len, secret, o, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct filter_options o;
	bool secret;
	struct sbuf out;
	json_t *in, *got;
	char *json;
	int r;

	if (size < 1)
		return 0;
	o = (struct filter_options){ .clean = data[0] & 1,
				     .keep_status = data[0] & 2,
				     .redact = data[0] & 4 };
	secret = data[0] & 8;
	json = malloc(size); /* the item, without a NUL after it */
	if (!json)
		return 0;
	memcpy(json, data + 1, size - 1);
	sbuf_init(&out, (size_t)64 << 20);
	cur_data = data;
	cur_size = size;
	cur_out = &out;
	r = filter(json, size - 1, secret, &o, &out);
	/* jansson takes a NUL byte outside strings as the end of a number
	 * ({"x":1<NUL>} loads); RFC 8259 does not, nor does filter_item():
	 * such an input is only filtered, not judged */
	in = memchr(json, 0, size - 1) ? NULL :
					 json_loadb(json, size - 1, 0, NULL);
	if (in && r == -EBADMSG)
		report("a valid object refused as malformed");
	if (in && r == 0) {
		got = json_loadb(out.buf, out.len, 0, NULL);
		if (!got)
			report("the output is not a JSON object");
		if (o.redact && secret)
			check_leaks(in, got);
		if (o.clean)
			check_clean(got, o.keep_status);
		json_decref(got);
	}
	json_decref(in);
	sbuf_release(&out);
	free(json);
	return 0;
}
