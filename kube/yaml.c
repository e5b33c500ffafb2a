/* yaml.c: kubeconfig YAML, read by common/yread with kube/'s caps, and its
 * problems worded as kube/ reports them ("line L, column C: problem"). */
#include <errno.h>
#include <string.h>

#include "common/yread.h"
#include "kube/kube_i.h"

static int yaml_error(const struct yread_error *ye, struct verror *e)
{
	const char *what = ye->detail;
	int err = -EINVAL;

	switch (ye->what) {
	case YREAD_SYNTAX:
		break;
	case YREAD_DEPTH:
		what = "nested too deeply";
		err = -E2BIG;
		break;
	case YREAD_NODES:
		what = "too many nodes";
		err = -E2BIG;
		break;
	case YREAD_ANCHOR:
		what = "unknown anchor";
		break;
	case YREAD_DUP_KEY:
		what = "duplicate key";
		break;
	case YREAD_KEY_NOT_SCALAR:
		what = "mapping keys must be scalars";
		break;
	case YREAD_KEY_NUL:
		what = "NUL byte in a key";
		break;
	default: /* not with kube/'s options */
		what = "unexpected YAML";
		break;
	}
	return verror_set(e, err, "line %zu, column %zu: %s", ye->line,
			  ye->column, what);
}

int kube_yaml_load(const char *buf, size_t len, unsigned flags,
		   const struct kube_yaml_caps *caps, json_t **out,
		   struct verror *e)
{
	struct yread_options o = {
		.scalars = flags & KUBE_YAML_STRINGS ? YREAD_STRINGS :
						       YREAD_CORE,
		.max_depth = caps ? caps->max_depth : 0,
		.max_nodes = caps ? caps->max_nodes : 0,
	};
	size_t max_bytes = caps && caps->max_bytes ? caps->max_bytes :
						     KUBE_CONFIG_MAX;
	struct yread_error ye;
	struct yread *y;
	json_t *doc = NULL;
	int r;

	if (len > max_bytes)
		return verror_set(e, -E2BIG, "larger than %zu bytes",
				  max_bytes);
	r = yread_new(buf, len, &o, &y);
	if (r < 0)
		return verror_set(e, r, "out of memory");
	/* the first document; the rest of the stream is not read (as
	 * yaml.Unmarshal) */
	r = yread_start(y, NULL, NULL, &ye);
	if (r > 0)
		r = yread_doc(y, &doc, &ye);
	else if (r == 0)
		doc = json_null();
	yread_free(y);
	if (r == -ENOMEM)
		return verror_set(e, r, "out of memory");
	if (r < 0)
		return yaml_error(&ye, e);
	*out = doc;
	return 0;
}
