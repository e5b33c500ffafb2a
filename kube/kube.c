/* kube.c: the client's life cycle and small helpers. See kube.h; the
 * configuration is read by config.c, requests sent by http.c, kinds
 * resolved by discovery.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kube_i.h"

/* With tls-server-name, curl is asked for https://NAME:PORT/... and told
 * to connect to the real host (CURLOPT_CONNECT_TO), so SNI and the
 * certificate check use NAME. */
static int tls_name(struct kube *k)
{
	const char *s = k->cfg.server, *hp = strstr(s, "://") + 3, *path;
	_cleanup_free_ char *host = NULL, *port = NULL;
	const char *colon;
	size_t hlen;

	path = hp + strcspn(hp, "/");
	if (*hp == '[') {
		const char *end = memchr(hp, ']', (size_t)(path - hp));

		if (!end)
			return -EINVAL;
		hlen = (size_t)(end - hp) + 1;
		colon = end[1] == ':' ? end + 1 : NULL;
	} else {
		colon = memchr(hp, ':', (size_t)(path - hp));
		hlen = colon ? (size_t)(colon - hp) : (size_t)(path - hp);
	}
	host = strndup(hp, hlen);
	port = colon ? strndup(colon + 1, (size_t)(path - colon - 1)) :
		       strdup(strncmp(s, "http://", 7) ? "443" : "80");
	if (!host || !port)
		return -ENOMEM;
	if (!*host || !*port || strspn(port, "0123456789") != strlen(port))
		return -EINVAL;
	if (asprintf(&k->base_url, "%.*s%s:%s%s", (int)(hp - s), s,
		     k->cfg.tls_server_name, port, path) < 0) {
		k->base_url = NULL;
		return -ENOMEM;
	}
	if (asprintf(&k->connect_to, "%s:%s:%s:%s", k->cfg.tls_server_name,
		     port, host, port) < 0) {
		k->connect_to = NULL;
		return -ENOMEM;
	}
	return 0;
}

int kube_open(const struct kube_options *o, struct kube **out, struct verror *e)
{
	static const struct kube_options none = { 0 };
	struct kube *k;
	int r;

	if (!o)
		o = &none;
	k = calloc(1, sizeof(*k));
	if (!k)
		return verror_set(e, -ENOMEM, "out of memory");
	pthread_mutex_init(&k->cred_lock, NULL);
	pthread_mutex_init(&k->disc_lock, NULL);

	r = kube_config_load(o, &k->cfg, e);
	if (r < 0)
		goto fail;
	r = -ENOMEM;
	if (k->cfg.tls_server_name) {
		r = tls_name(k);
		if (r < 0) {
			verror_set(e, r,
				   "%s: server %s: cannot use "
				   "tls-server-name with it",
				   k->cfg.source, k->cfg.server);
			goto fail;
		}
	} else if (!(k->base_url = strdup(k->cfg.server))) {
		goto fail;
	}
	r = kube_http_new(k, o->timeout_ms > 0 ? o->timeout_ms : 30000, e);
	if (r < 0)
		goto fail;
	*out = k;
	return 0;
fail:
	if (r == -ENOMEM && !(e && e->msg[0]))
		verror_set(e, r, "out of memory");
	kube_free(k);
	return r;
}

struct kube *kube_free(struct kube *k)
{
	if (!k)
		return NULL;
	http_free(k->http);
	free(k->connect_to);
	kube_invalidate_discovery(k);
	kube_exec_cred_release(&k->exec_cred);
	if (k->file_token)
		explicit_bzero(k->file_token, strlen(k->file_token));
	free(k->file_token);
	kube_config_release(&k->cfg);
	free(k->base_url);
	pthread_mutex_destroy(&k->cred_lock);
	pthread_mutex_destroy(&k->disc_lock);
	free(k);
	return NULL;
}

const char *kube_server(const struct kube *k)
{
	return k->cfg.server;
}

bool kube_tls_verified(const struct kube *k)
{
	return !k->cfg.insecure;
}

const char *kube_namespace(const struct kube *k)
{
	return k->cfg.ns;
}

const char *kube_context(const struct kube *k)
{
	return k->cfg.context;
}

int kube_status_errno(long status)
{
	switch (status) {
	case 400:
	case 422:
		return -EINVAL;
	case 409:
		return -EEXIST;
	case 410:
		return -ESTALE;
	case 429:
		return -EBUSY;
	default:
		return http_status_errno(status);
	}
}

int kube_get(struct kube *k, const char *path, json_t **out, struct verror *e)
{
	struct kube_response resp = { 0 };
	int r;

	r = kube_request(k, "GET", path, NULL, NULL, &resp, e);
	if (r < 0)
		return r;
	if (resp.status == 200 && resp.body) {
		*out = resp.body;
		resp.body = NULL;
	} else if (resp.status == 200) {
		r = verror_set(e, -EIO, "GET %s%s: the answer is not JSON",
			       k->cfg.server, path);
	} else {
		r = kube_status_errno(resp.status);
		verror_set(e, r ? r : -EIO, "GET %s%s: HTTP %ld: %s",
			   k->cfg.server, path, resp.status,
			   kube_status_message(&resp));
		r = r ? r : -EIO;
	}
	kube_response_release(&resp);
	return r;
}

int kube_server_version(struct kube *k, char **out, struct verror *e)
{
	json_t *v = NULL;
	const char *s;
	int r;

	r = kube_get(k, "/version", &v, e);
	if (r < 0)
		return r;
	s = json_string_value(json_object_get(v, "gitVersion"));
	if (!s) {
		json_decref(v);
		return verror_set(e, -EIO, "%s/version has no gitVersion",
				  k->cfg.server);
	}
	*out = strdup(s);
	json_decref(v);
	return *out ? 0 : verror_set(e, -ENOMEM, "out of memory");
}
