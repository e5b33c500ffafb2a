/* discovery.c: which resources the server serves, kind -> resource.
 *
 * Only the group-versions asked for are fetched (/api/v1,
 * /apis/<group>/<version>), and kept in k->gvs until
 * kube_invalidate_discovery(). A kind missing from a cached
 * group-version refetches it once; a group-version the server does not
 * serve (404) is not cached, so a CRD created a moment ago is found on
 * the next call. Subresources ("deployments/scale") are skipped. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/dns.h"
#include "kube/kube_i.h"

void kube_resource_release(struct kube_resource *r)
{
	if (!r)
		return;
	free(r->group);
	free(r->version);
	free(r->kind);
	free(r->resource);
	memset(r, 0, sizeof(*r));
}

/* "v1" or "group/version", checked so it can go into a URL path: the group
 * a DNS subdomain, the version a DNS label. */
static int split_gv(const char *av, const char **group, size_t *glen,
		    const char **version)
{
	const char *slash = strchr(av, '/');

	if (!slash) {
		*group = "";
		*glen = 0;
		*version = av;
	} else {
		*group = av;
		*glen = (size_t)(slash - av);
		*version = slash + 1;
		if (!dns_subdomain_ok(av, *glen))
			return -EINVAL;
	}
	/* a version is a DNS label ("v1", "v1beta1") */
	if (!dns_label_ok(*version, strlen(*version)))
		return -EINVAL;
	return 0;
}

static bool valid_kind(const char *kind)
{
	size_t n = strlen(kind), i;

	if (!n || n > 253)
		return false;
	for (i = 0; i < n; i++) {
		char c = kind[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

/* Finds kind in an APIResourceList's resources; fills out. 1 found, 0
 * not, -ENOMEM. */
static int find_kind(json_t *resources, const char *group, size_t glen,
		     const char *version, const char *kind,
		     struct kube_resource *out)
{
	struct kube_resource r = { 0 };
	json_t *el;
	size_t i;

	json_array_foreach(resources, i, el)
	{
		const char *name = json_string_value(json_object_get(el, "nam"
									 "e"));
		const char *k = json_string_value(json_object_get(el, "kind"));

		if (!name || !k || strchr(name, '/') || strcmp(k, kind))
			continue;
		r.group = strndup(group, glen);
		r.version = strdup(version);
		r.kind = strdup(kind);
		r.resource = strdup(name);
		r.namespaced = json_is_true(json_object_get(el, "namespaced"));
		if (!r.group || !r.version || !r.kind || !r.resource) {
			kube_resource_release(&r);
			return -ENOMEM;
		}
		*out = r;
		return 1;
	}
	return 0;
}

/* Called with disc_lock held. */
static struct kube_gv *cached(struct kube *k, const char *gv)
{
	size_t i;

	for (i = 0; i < k->ngvs; i++)
		if (!strcmp(k->gvs[i].gv, gv))
			return &k->gvs[i];
	return NULL;
}

static int fetch_gv(struct kube *k, const char *gv, json_t **out,
		    struct verror *e)
{
	struct kube_response resp = { 0 };
	_cleanup_free_ char *path = NULL;
	json_t *res;
	int r;

	if (asprintf(&path, "%s/%s", strchr(gv, '/') ? "/apis" : "/api", gv) <
	    0) {
		path = NULL;
		return -ENOMEM;
	}
	r = kube_request(k, "GET", path, NULL, NULL, &resp, e);
	if (r < 0)
		return verror_prefix(e, r, "discovery of %s", gv);
	res = json_object_get(resp.body, "resources");
	if (resp.status == 200 && json_is_array(res)) {
		*out = json_incref(res);
		r = 0;
	} else if (resp.status == 404) {
		r = verror_set(e, -ENOENT, "%s does not serve %s",
			       k->cfg.server, gv);
	} else if (resp.status == 401 || resp.status == 403) {
		r = verror_set(e, -EACCES, "discovery of %s on %s: %s", gv,
			       k->cfg.server, kube_status_message(&resp));
	} else if (resp.status == 200) {
		r = verror_set(e, -EIO,
			       "discovery of %s on %s: not an APIResourceList",
			       gv, k->cfg.server);
	} else {
		r = verror_set(e, -EIO, "discovery of %s on %s: HTTP %ld: %s",
			       gv, k->cfg.server, resp.status,
			       kube_status_message(&resp));
	}
	kube_response_release(&resp);
	return r;
}

int kube_resolve(struct kube *k, const char *api_version, const char *kind,
		 struct kube_resource *out, struct verror *e)
{
	const char *group, *version;
	struct kube_gv *g;
	json_t *res = NULL;
	size_t glen;
	int r = 0;

	if (!api_version || !kind ||
	    split_gv(api_version, &group, &glen, &version) < 0)
		return verror_set(e, -EINVAL, "bad apiVersion \"%.100s\"",
				  api_version ? api_version : "");
	if (!valid_kind(kind))
		return verror_set(e, -EINVAL, "bad kind \"%.100s\"", kind);

	pthread_mutex_lock(&k->disc_lock);
	g = cached(k, api_version);
	if (g)
		r = find_kind(g->resources, group, glen, version, kind, out);
	pthread_mutex_unlock(&k->disc_lock);
	if (r < 0)
		return verror_set(e, r, "out of memory");
	if (r > 0)
		return 0;

	r = fetch_gv(k, api_version, &res, e);
	if (r < 0)
		return r;
	pthread_mutex_lock(&k->disc_lock);
	g = cached(k, api_version);
	if (g) {
		json_decref(g->resources);
		g->resources = res;
	} else {
		struct kube_gv *n = realloc(k->gvs, (k->ngvs + 1) * sizeof(*n));
		char *name = strdup(api_version);

		if (!n || !name) {
			free(name);
			if (n)
				k->gvs = n;
			json_decref(res);
			pthread_mutex_unlock(&k->disc_lock);
			return verror_set(e, -ENOMEM, "out of memory");
		}
		k->gvs = n;
		g = &k->gvs[k->ngvs++];
		g->gv = name;
		g->resources = res;
	}
	r = find_kind(g->resources, group, glen, version, kind, out);
	pthread_mutex_unlock(&k->disc_lock);
	if (r < 0)
		return verror_set(e, r, "out of memory");
	if (!r)
		return verror_set(e, -ENOENT, "%s does not serve kind %s in %s",
				  k->cfg.server, kind, api_version);
	return 0;
}

void kube_invalidate_discovery(struct kube *k)
{
	size_t i;

	pthread_mutex_lock(&k->disc_lock);
	for (i = 0; i < k->ngvs; i++) {
		free(k->gvs[i].gv);
		json_decref(k->gvs[i].resources);
	}
	free(k->gvs);
	k->gvs = NULL;
	k->ngvs = 0;
	pthread_mutex_unlock(&k->disc_lock);
}

char *kube_path(const struct kube_resource *r, const char *ns, const char *name)
{
	struct sbuf b;
	int x;

	if (!r || !r->version || !r->resource || !*r->resource)
		return NULL;
	sbuf_init(&b, KUBE_PATH_MAX);
	if (r->group && *r->group)
		x = sbuf_adds(&b, "/apis/") < 0 ||
		    kube_escape(&b, r->group) < 0;
	else
		x = sbuf_adds(&b, "/api") < 0;
	x = x || sbuf_addc(&b, '/') < 0 || kube_escape(&b, r->version) < 0;
	if (r->namespaced && ns && *ns)
		x = x || sbuf_adds(&b, "/namespaces/") < 0 ||
		    kube_escape(&b, ns) < 0;
	x = x || sbuf_addc(&b, '/') < 0 || kube_escape(&b, r->resource) < 0;
	if (name)
		x = x || sbuf_addc(&b, '/') < 0 || kube_escape(&b, name) < 0;
	if (x) {
		sbuf_release(&b);
		return NULL;
	}
	return sbuf_take(&b, NULL);
}

static bool condition_true(json_t *crd, const char *type)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(crd, "status"), "con"
									   "dit"
									   "ion"
									   "s"),
			   i, c)
	{
		const char *t = json_string_value(json_object_get(c, "type"));
		const char *s = json_string_value(json_object_get(c, "status"));

		if (t && s && !strcmp(t, type) && !strcmp(s, "True"))
			return true;
	}
	return false;
}

int kube_wait_crd_established(struct kube *k, const char *name, long timeout_ms,
			      struct verror *e)
{
	struct kube_resource crd = { .group = (char *)"apiextensions.k8s.io",
				     .version = (char *)"v1",
				     .resource = (char *)"customresourcedefinit"
							 "ions" };
	_cleanup_free_ char *path = kube_path(&crd, NULL, name);
	int64_t deadline = clock_now_ms() + timeout_ms;
	long delay = 50;
	int r;

	if (!path)
		return verror_set(e, -ENOMEM, "out of memory");
	for (;;) {
		struct kube_response resp = { 0 };
		bool ok;

		r = kube_request(k, "GET", path, NULL, NULL, &resp, e);
		if (r < 0)
			return r;
		if (resp.status != 200 && resp.status != 404) {
			r = verror_set(e, kube_status_errno(resp.status),
				       "CustomResourceDefinition %s: %s", name,
				       kube_status_message(&resp));
			kube_response_release(&resp);
			return r;
		}
		ok = resp.status == 200 &&
		     condition_true(resp.body, "Established") &&
		     condition_true(resp.body, "NamesAccepted");
		kube_response_release(&resp);
		if (ok)
			break;
		if (clock_now_ms() + delay > deadline)
			return verror_set(e, -ETIMEDOUT,
					  "CustomResourceDefinition %s not "
					  "established after %ld ms",
					  name, timeout_ms);
		clock_sleep_ms(delay);
		delay = MIN(delay * 2, 1000L);
	}
	/* no need to drop the discovery cache: kube_resolve() refetches a
	 * group-version that lacks the kind */
	return 0;
}
