/* config.c: kubeconfig files as kubectl reads them.
 *
 * Loading rules (client-go clientcmd): an explicit --kubeconfig file (which
 * must exist) alone; else every file of $KUBECONFIG (':'-separated,
 * missing files skipped) merged; else ~/.kube/config; else, when nothing
 * configured a context, the in-cluster service account. Merging: the
 * first file to define a cluster, user or context name wins the whole
 * entry; current-context comes from the first file that sets it. Relative
 * file paths in an entry resolve against the directory of the file that
 * defined it. Referenced files (CA, client certificate and key, token
 * file) are read here, once; the token file is read again by http.c.
 *
 * Error messages name files, contexts, clusters and users, never the
 * content of a credential. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/sbuf.h"
#include "kube/kube_i.h"

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct kc_merged {
	json_t *clusters; /* name -> {"dir": s, "file": s, "v": {...}} */
	json_t *users;
	json_t *contexts;
	char *current;	   /* the first current-context */
	struct sbuf files; /* "a:b" of the files read, for messages */
	size_t nfiles;
};

static void kc_release(struct kc_merged *m)
{
	json_decref(m->clusters);
	json_decref(m->users);
	json_decref(m->contexts);
	free(m->current);
	sbuf_release(&m->files);
}

static char *dir_of(const char *path)
{
	const char *s = strrchr(path, '/');

	if (!s)
		return strdup(".");
	if (s == path)
		return strdup("/");
	return strndup(path, (size_t)(s - path));
}

/* A string member: missing or null -> *out NULL; anything but a string
 * without NUL bytes is an error naming where. */
static int get_str(json_t *o, const char *key, const char *where,
		   const char **out, struct verror *e)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return verror_set(e, -EINVAL, "%s: %s: expected a string",
				  where, key);
	*out = json_string_value(v);
	return 0;
}

/* get_str() for each pair of a key and its const char ** that follow e,
 * up to a NULL key; stops at the first that fails (its error). */
__attribute__((sentinel)) static int get_strs(json_t *o, const char *where,
					      struct verror *e, ...)
{
	const char *key;
	va_list ap;
	int r = 0;

	va_start(ap, e);
	while (r >= 0 && (key = va_arg(ap, const char *)))
		r = get_str(o, key, where, va_arg(ap, const char **), e);
	va_end(ap);
	return r;
}

static int get_bool(json_t *o, const char *key, const char *where, bool *out,
		    struct verror *e)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes",
					   "YES",  "on",   "On",   "ON" };
	static const char *const no[] = { "false", "False", "FALSE", "no", "No",
					  "NO",	   "off",   "Off",   "OFF" };
	json_t *v = json_object_get(o, key);
	size_t i;

	*out = false;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	if (json_is_string(v)) {
		for (i = 0; i < ARRAY_SIZE(yes); i++) {
			if (!strcmp(json_string_value(v), yes[i])) {
				*out = true;
				return 0;
			}
			if (!strcmp(json_string_value(v), no[i]))
				return 0;
		}
	}
	return verror_set(e, -EINVAL, "%s: %s: expected true or false", where,
			  key);
}

/* Adds one list (clusters, users, contexts) of a file to the merged map:
 * a name already there stays as it is. */
static int merge_list(json_t *doc, const char *list, const char *item,
		      const char *path, const char *dir, json_t *map,
		      struct verror *e)
{
	json_t *arr = json_object_get(doc, list), *seen, *el;
	size_t i;
	int r = 0;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return verror_set(e, -EINVAL,
				  "kubeconfig %s: %s: expected a list", path,
				  list);
	seen = json_object();
	if (!seen)
		return -ENOMEM;
	json_array_foreach(arr, i, el)
	{
		char where[64];
		const char *name;
		json_t *v;

		snprintf(where, sizeof(where), "%s[%zu]", list, i);
		if (!json_is_object(el)) {
			r = verror_set(e, -EINVAL,
				       "kubeconfig %s: %s: expected a mapping",
				       path, where);
			break;
		}
		r = get_str(el, "name", where, &name, e);
		if (r < 0) {
			verror_prefix(e, r, "kubeconfig %s", path);
			break;
		}
		if (!name || !*name) {
			r = verror_set(e, -EINVAL,
				       "kubeconfig %s: %s: missing name", path,
				       where);
			break;
		}
		if (json_object_get(seen, name)) {
			r = verror_set(e, -EINVAL,
				       "kubeconfig %s: %s: duplicate name "
				       "\"%s\"",
				       path, where, name);
			break;
		}
		json_object_set(seen, name, json_true());
		v = json_object_get(el, item);
		if (v && !json_is_null(v) && !json_is_object(v)) {
			r = verror_set(e, -EINVAL,
				       "kubeconfig %s: %s \"%s\": %s: expected "
				       "a "
				       "mapping",
				       path, list, name, item);
			break;
		}
		if (json_object_get(map, name))
			continue; /* the first file wins */
		/* "o" steals: a borrowed v gets its own reference first */
		if (json_object_set_new(map, name,
					json_pack("{s:s,s:s,s:o}", "dir", dir,
						  "file", path, "v",
						  v && json_is_object(v) ?
							  json_incref(v) :
							  json_object())) < 0) {
			r = -ENOMEM;
			break;
		}
	}
	json_decref(seen);
	return r;
}

/* Reads one kubeconfig file into m. A missing file is skipped unless
 * must_exist. */
static int kc_read(const char *path, bool must_exist, struct kc_merged *m,
		   struct verror *e)
{
	struct kube_blob b = { 0 };
	_cleanup_free_ char *dir = NULL;
	json_t *doc = NULL;
	const char *cur;
	int r;

	r = kube_read_file(path, KUBE_CONFIG_MAX, &b);
	if (r == -ENOENT && !must_exist)
		return 0;
	if (r == -E2BIG)
		return verror_set(e, r, "kubeconfig %s: larger than %zu bytes",
				  path, KUBE_CONFIG_MAX);
	if (r < 0)
		return verror_set(e, r, "kubeconfig %s: %s", path,
				  strerror(-r));
	r = kube_yaml_load((const char *)b.data, b.len, KUBE_YAML_STRINGS, NULL,
			   &doc, e);
	kube_blob_release(&b);
	if (r < 0)
		return verror_prefix(e, r, "kubeconfig %s", path);
	m->nfiles++;
	if (m->files.len)
		sbuf_addc(&m->files, ':');
	sbuf_adds(&m->files, path);
	if (json_is_null(doc))
		goto out; /* an empty file is an empty config */
	if (!json_is_object(doc)) {
		r = verror_set(e, -EINVAL, "kubeconfig %s: expected a mapping",
			       path);
		goto out;
	}
	dir = dir_of(path);
	if (!dir) {
		r = -ENOMEM;
		goto out;
	}
	r = get_str(doc, "current-context", "top level", &cur, e);
	if (r < 0) {
		verror_prefix(e, r, "kubeconfig %s", path);
		goto out;
	}
	if (cur && *cur && !m->current) {
		m->current = strdup(cur);
		if (!m->current) {
			r = -ENOMEM;
			goto out;
		}
	}
	r = merge_list(doc, "clusters", "cluster", path, dir, m->clusters, e);
	if (r >= 0)
		r = merge_list(doc, "users", "user", path, dir, m->users, e);
	if (r >= 0)
		r = merge_list(doc, "contexts", "context", path, dir,
			       m->contexts, e);
out:
	json_decref(doc);
	return r;
}

static char *resolve_path(const char *dir, const char *p)
{
	char *s;

	if (p[0] == '/')
		return strdup(p);
	if (asprintf(&s, "%s/%s", dir, p) < 0)
		return NULL;
	return s;
}

/* A PEM from "<key>-data" (base64) or "<key>" (a file, relative to
 * dir); data wins as in kubectl. */
static int load_pem(json_t *v, const char *key, const char *dir,
		    const char *where, struct kube_blob *out, struct verror *e)
{
	char dkey[64];
	const char *data, *file;
	_cleanup_free_ char *path = NULL;
	int r;

	snprintf(dkey, sizeof(dkey), "%s-data", key);
	r = get_strs(v, where, e, dkey, &data, key, &file, NULL);
	if (r < 0)
		return r;
	if (data && *data) {
		if (strlen(data) > KUBE_PEM_MAX * 4 / 3 + 4)
			return verror_set(e, -E2BIG, "%s: %s: too large", where,
					  dkey);
		r = kube_base64_decode(data, strlen(data), out);
		if (r == -EINVAL)
			return verror_set(e, r, "%s: %s: not valid base64",
					  where, dkey);
		return r;
	}
	if (!file || !*file)
		return 0;
	path = resolve_path(dir, file);
	if (!path)
		return -ENOMEM;
	r = kube_read_file(path, KUBE_PEM_MAX, out);
	if (r < 0)
		return verror_set(e, r, "%s: %s %s: %s", where, key, path,
				  strerror(-r));
	return 0;
}

void kube_config_release(struct kube_config *c)
{
	char **p;

	if (!c)
		return;
	free(c->source);
	free(c->context);
	free(c->cluster);
	free(c->server);
	free(c->ns);
	free(c->tls_server_name);
	free(c->proxy_url);
	kube_blob_release(&c->ca);
	kube_blob_release(&c->cert);
	kube_blob_release(&c->key);
	if (c->token)
		explicit_bzero(c->token, strlen(c->token));
	free(c->token);
	free(c->token_file);
	free(c->username);
	if (c->password)
		explicit_bzero(c->password, strlen(c->password));
	free(c->password);
	if (c->exec) {
		free(c->exec->api_version);
		free(c->exec->command);
		for (p = c->exec->argv; p && *p; p++)
			free(*p);
		free(c->exec->argv);
		for (p = c->exec->env; p && *p; p++)
			free(*p);
		free(c->exec->env);
		free(c->exec->install_hint);
		free(c->exec->interactive_mode);
		free(c->exec->exec_info);
		free(c->exec);
	}
	memset(c, 0, sizeof(*c));
}

static int dup_opt(const char *s, char **out)
{
	*out = NULL;
	if (!s || !*s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

/* get_str() of key, copied into *out (NULL when absent or empty; caller
 * frees). */
static int get_dup(json_t *o, const char *key, const char *where, char **out,
		   struct verror *e)
{
	const char *s;
	int r = get_str(o, key, where, &s, e);

	return r < 0 ? r : dup_opt(s, out);
}

/* The server URL: a scheme is added when missing (https), a trailing
 * '/' removed; credentials in it are refused so they cannot reach a
 * message. */
static int set_server(struct kube_config *c, const char *server,
		      const char *where, struct verror *e)
{
	const char *hostpart;
	size_t n;

	if (!server || !*server)
		return verror_set(e, -EINVAL, "%s: no server", where);
	if (strpbrk(server, " \t\r\n"))
		return verror_set(e, -EINVAL, "%s: server: not a URL", where);
	if (strstr(server, "://")) {
		if (strncmp(server, "https://", 8) &&
		    strncmp(server, "http://", 7))
			return verror_set(e, -EINVAL,
					  "%s: server: only https:// and "
					  "http:// URLs are supported",
					  where);
		c->server = strdup(server);
	} else if (asprintf(&c->server, "https://%s", server) < 0) {
		c->server = NULL;
	}
	if (!c->server)
		return -ENOMEM;
	hostpart = strstr(c->server, "://") + 3;
	n = strcspn(hostpart, "/");
	if (memchr(hostpart, '@', n))
		return verror_set(e, -EINVAL,
				  "%s: server: credentials in the URL are not "
				  "supported",
				  where);
	n = strlen(c->server);
	while (n > 8 && c->server[n - 1] == '/')
		c->server[--n] = '\0';
	return 0;
}

static char **str_array_append(char **a, size_t *n, char *s)
{
	char **na;

	if (!s)
		return NULL;
	na = realloc(a, (*n + 2) * sizeof(*na));
	if (!na) {
		free(s);
		return NULL;
	}
	na[(*n)++] = s;
	na[*n] = NULL;
	return na;
}

/* The cluster part of KUBERNETES_EXEC_INFO (provideClusterInfo). */
static json_t *exec_cluster_info(const struct kube_config *c, json_t *cl)
{
	json_t *ci = json_object(), *ext, *x;
	size_t i;

	if (!ci)
		return NULL;
	json_object_set_new(ci, "server", json_string(c->server));
	if (c->tls_server_name)
		json_object_set_new(ci, "tls-server-name",
				    json_string(c->tls_server_name));
	if (c->insecure)
		json_object_set_new(ci, "insecure-skip-tls-verify",
				    json_true());
	if (c->ca.len) {
		char *b = kube_base64_encode(c->ca.data, c->ca.len);

		if (b)
			json_object_set_new(ci, "certificate-authority-data",
					    json_string(b));
		free(b);
	}
	if (c->proxy_url)
		json_object_set_new(ci, "proxy-url", json_string(c->proxy_url));
	ext = json_object_get(cl, "extensions");
	json_array_foreach(ext, i, x)
	{
		const char *name = json_string_value(json_object_get(x, "nam"
									"e"));

		if (name && !strcmp(name, "client.authentication.k8s.io/exec"))
			json_object_set(ci, "config",
					json_object_get(x, "extension"));
	}
	return ci;
}

static int load_exec(struct kube_config *c, json_t *x, json_t *cl,
		     const char *dir, const char *where, struct verror *e)
{
	_cleanup_free_ char *w = NULL;
	struct kube_exec *ex;
	const char *s, *mode;
	json_t *a, *el, *info, *spec;
	bool provide;
	size_t i, n = 0;
	int r;

	if (asprintf(&w, "%s: exec", where) < 0)
		return -ENOMEM;
	ex = calloc(1, sizeof(*ex));
	if (!ex)
		return -ENOMEM;
	c->exec = ex;
	r = get_str(x, "apiVersion", w, &s, e);
	if (r < 0)
		return r;
	if (!s || (strcmp(s, "client.authentication.k8s.io/v1") &&
		   strcmp(s, "client.authentication.k8s.io/v1beta1")))
		return verror_set(e, -EINVAL,
				  "%s: apiVersion %s is not supported (use "
				  "client.authentication.k8s.io/v1 or v1beta1)",
				  w, s ? s : "(missing)");
	if (dup_opt(s, &ex->api_version) < 0)
		return -ENOMEM;
	r = get_str(x, "command", w, &s, e);
	if (r < 0)
		return r;
	if (!s || !*s)
		return verror_set(e, -EINVAL, "%s: no command", w);
	ex->command = strchr(s, '/') ? resolve_path(dir, s) : strdup(s);
	if (!ex->command)
		return -ENOMEM;
	ex->argv = str_array_append(NULL, &n, strdup(ex->command));
	if (!ex->argv)
		return -ENOMEM;
	a = json_object_get(x, "args");
	if (a && !json_is_null(a) && !json_is_array(a))
		return verror_set(e, -EINVAL, "%s: args: expected a list", w);
	json_array_foreach(a, i, el)
	{
		if (!json_is_string(el) ||
		    strlen(json_string_value(el)) != json_string_length(el))
			return verror_set(e, -EINVAL,
					  "%s: args[%zu]: expected a string", w,
					  i);
		ex->argv = str_array_append(ex->argv, &n,
					    strdup(json_string_value(el)));
		if (!ex->argv)
			return -ENOMEM;
	}
	n = 0;
	a = json_object_get(x, "env");
	if (a && !json_is_null(a) && !json_is_array(a))
		return verror_set(e, -EINVAL, "%s: env: expected a list", w);
	json_array_foreach(a, i, el)
	{
		const char *name = NULL, *value = NULL;
		char *kv;

		if (json_is_object(el)) {
			r = get_strs(el, w, e, "name", &name, "value", &value,
				     NULL);
			if (r < 0)
				return r;
		}
		if (!name || !*name || strchr(name, '='))
			return verror_set(e, -EINVAL,
					  "%s: env[%zu]: expected a name and a "
					  "value",
					  w, i);
		if (asprintf(&kv, "%s=%s", name, value ? value : "") < 0)
			return -ENOMEM;
		ex->env = str_array_append(ex->env, &n, kv);
		if (!ex->env)
			return -ENOMEM;
	}
	r = get_dup(x, "installHint", w, &ex->install_hint, e);
	if (r >= 0)
		r = get_str(x, "interactiveMode", w, &mode, e);
	if (r >= 0)
		r = get_bool(x, "provideClusterInfo", w, &provide, e);
	if (r < 0)
		return r;
	if (!mode && !strcmp(ex->api_version, "client.authentication.k8s.io/"
					      "v1"))
		return verror_set(e, -EINVAL,
				  "%s: interactiveMode must be specified for "
				  "client.authentication.k8s.io/v1",
				  w);
	if (mode && strcmp(mode, "Never") && strcmp(mode, "IfAvailable") &&
	    strcmp(mode, "Always"))
		return verror_set(e, -EINVAL,
				  "%s: interactiveMode %s is not Never, "
				  "IfAvailable or Always",
				  w, mode);
	if (mode && !strcmp(mode, "Always"))
		return verror_set(e, -ENOTSUP,
				  "%s: the plugin needs an interactive "
				  "terminal (interactiveMode Always), which "
				  "velerofs does not have",
				  w);
	if (dup_opt(mode ? mode : "IfAvailable", &ex->interactive_mode) < 0)
		return -ENOMEM;
	spec = json_pack("{s:b}", "interactive", 0);
	if (spec && provide)
		json_object_set_new(spec, "cluster", exec_cluster_info(c, cl));
	info = json_pack("{s:s,s:s,s:o}", "kind", "ExecCredential",
			 "apiVersion", ex->api_version, "spec", spec);
	if (!info)
		return -ENOMEM;
	ex->exec_info = json_dumps(info, JSON_COMPACT);
	json_decref(info);
	return ex->exec_info ? 0 : -ENOMEM;
}

static int load_user(struct kube_config *c, json_t *ent, json_t *cl,
		     const char *name, struct verror *e)
{
	json_t *u = json_object_get(ent, "v");
	const char *dir = json_string_value(json_object_get(ent, "dir"));
	_cleanup_free_ char *where = NULL;
	const char *token, *tfile, *user, *pass;
	json_t *x, *ap;
	int r;

	if (asprintf(&where, "user \"%s\"", name) < 0)
		return -ENOMEM;
	r = load_pem(u, "client-certificate", dir, where, &c->cert, e);
	if (r >= 0)
		r = load_pem(u, "client-key", dir, where, &c->key, e);
	if (r < 0)
		return r;
	if (!c->cert.len != !c->key.len)
		return verror_set(e, -EINVAL,
				  "%s: a client certificate needs both "
				  "client-certificate and client-key",
				  where);
	r = get_strs(u, where, e, "token", &token, "tokenFile", &tfile,
		     "username", &user, "password", &pass, NULL);
	if (r < 0)
		return r;
	if ((token && *token) || (tfile && *tfile)) {
		if ((user && *user) || (pass && *pass))
			return verror_set(e, -EINVAL,
					  "%s: more than one authentication "
					  "method (token and "
					  "username/password)",
					  where);
	}
	if (token && *token) {
		if (strpbrk(token, "\r\n"))
			return verror_set(e, -EINVAL,
					  "%s: token: line break in the token",
					  where);
		r = dup_opt(token, &c->token);
	} else if (tfile && *tfile) {
		struct kube_blob b = { 0 };

		c->token_file = resolve_path(dir, tfile);
		if (!c->token_file)
			return -ENOMEM;
		r = kube_read_file(c->token_file, KUBE_TOKEN_MAX, &b);
		kube_blob_release(&b);
		if (r < 0)
			return verror_set(e, r, "%s: tokenFile %s: %s", where,
					  c->token_file, strerror(-r));
	}
	if (r >= 0)
		r = dup_opt(user, &c->username);
	if (r >= 0)
		r = dup_opt(pass, &c->password);
	if (r < 0)
		return r;
	x = json_object_get(u, "exec");
	if (x && !json_is_null(x)) {
		if (!json_is_object(x))
			return verror_set(e, -EINVAL,
					  "%s: exec: expected a mapping",
					  where);
		r = load_exec(c, x, cl, dir, where, e);
		if (r < 0)
			return r;
	}
	ap = json_object_get(u, "auth-provider");
	if (ap && !json_is_null(ap) && !c->token && !c->token_file &&
	    !c->exec) {
		const char *apn = json_string_value(json_object_get(ap, "nam"
									"e"));

		return verror_set(e, -ENOTSUP,
				  "%s: auth-provider %s is not supported; use "
				  "an exec credential plugin (kubelogin, "
				  "gke-gcloud-auth-plugin, aws eks get-token)",
				  where, apn ? apn : "(unnamed)");
	}
	return 0;
}

static int load_context(struct kc_merged *m, const char *name,
			struct kube_config *c, struct verror *e)
{
	json_t *ent = json_object_get(m->contexts, name), *ctx, *cent, *cl,
	       *uent = NULL;
	const char *cluster, *user, *ns, *s, *dir;
	_cleanup_free_ char *where = NULL;
	int r;

	if (!ent)
		return verror_set(e, -EINVAL,
				  "kubeconfig %s: context \"%s\" not found",
				  sbuf_str(&m->files), name);
	ctx = json_object_get(ent, "v");
	if (asprintf(&where, "kubeconfig %s: context \"%s\"",
		     json_string_value(json_object_get(ent, "file")), name) < 0)
		return -ENOMEM;
	r = get_strs(ctx, where, e, "cluster", &cluster, "user", &user,
		     "namespace", &ns, NULL);
	if (r < 0)
		return r;
	if (!cluster || !*cluster)
		return verror_set(e, -EINVAL, "%s: no cluster", where);
	cent = json_object_get(m->clusters, cluster);
	if (!cent)
		return verror_set(e, -EINVAL,
				  "%s: cluster \"%s\" is not defined", where,
				  cluster);
	if (user && *user) {
		uent = json_object_get(m->users, user);
		if (!uent)
			return verror_set(e, -EINVAL,
					  "%s: user \"%s\" is not defined",
					  where, user);
	}
	if (asprintf(&c->source, "kubeconfig %s", sbuf_str(&m->files)) < 0) {
		c->source = NULL;
		return -ENOMEM;
	}
	if (dup_opt(name, &c->context) < 0 || dup_opt(cluster, &c->cluster) ||
	    dup_opt(ns && *ns ? ns : "default", &c->ns) < 0)
		return -ENOMEM;

	free(where);
	if (asprintf(&where, "kubeconfig %s: cluster \"%s\"",
		     json_string_value(json_object_get(cent, "file")),
		     cluster) < 0) {
		where = NULL;
		return -ENOMEM;
	}
	cl = json_object_get(cent, "v");
	dir = json_string_value(json_object_get(cent, "dir"));
	r = get_str(cl, "server", where, &s, e);
	if (r >= 0)
		r = set_server(c, s, where, e);
	if (r >= 0)
		r = get_bool(cl, "insecure-skip-tls-verify", where,
			     &c->insecure, e);
	if (r >= 0)
		r = get_dup(cl, "tls-server-name", where, &c->tls_server_name,
			    e);
	if (r >= 0)
		r = get_dup(cl, "proxy-url", where, &c->proxy_url, e);
	if (r >= 0)
		r = load_pem(cl, "certificate-authority", dir, where, &c->ca,
			     e);
	if (r < 0)
		return r;
	if (c->insecure && c->ca.len)
		return verror_set(e, -EINVAL,
				  "%s: certificate-authority and "
				  "insecure-skip-tls-verify exclude each other",
				  where);
	if (uent) {
		free(where);
		if (asprintf(&where, "kubeconfig %s",
			     json_string_value(json_object_get(uent, "file"))) <
		    0) {
			where = NULL;
			return -ENOMEM;
		}
		r = load_user(c, uent, cl, user, e);
		if (r < 0)
			return verror_prefix(e, r, "%s", where);
	}
	return 0;
}

static int in_cluster(const struct kube_options *o, struct kube_config *c,
		      struct verror *e)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	const char *sa = o->serviceaccount_dir ? o->serviceaccount_dir : SA_DIR;
	_cleanup_free_ char *path = NULL;
	struct kube_blob b = { 0 };
	const char *pns = getenv("POD_NAMESPACE");
	int r;

	if (asprintf(&c->source, "in-cluster config (%s)", sa) < 0 ||
	    !(c->context = strdup("")) || !(c->cluster = strdup("in-cluster")))
		return -ENOMEM;
	if (strchr(host, ':'))
		r = asprintf(&c->server, "https://[%s]:%s", host, port);
	else
		r = asprintf(&c->server, "https://%s:%s", host, port);
	if (r < 0) {
		c->server = NULL;
		return -ENOMEM;
	}
	if (asprintf(&c->token_file, "%s/token", sa) < 0) {
		c->token_file = NULL;
		return -ENOMEM;
	}
	r = kube_read_file(c->token_file, KUBE_TOKEN_MAX, &b);
	kube_blob_release(&b);
	if (r < 0)
		return verror_set(e, r, "in-cluster config: %s: %s",
				  c->token_file, strerror(-r));
	if (asprintf(&path, "%s/ca.crt", sa) < 0) {
		path = NULL;
		return -ENOMEM;
	}
	r = kube_read_file(path, KUBE_PEM_MAX, &c->ca);
	if (r < 0)
		return verror_set(e, r, "in-cluster config: %s: %s", path,
				  strerror(-r));
	free(path);
	if (asprintf(&path, "%s/namespace", sa) < 0) {
		path = NULL;
		return -ENOMEM;
	}
	if (pns && *pns) {
		c->ns = strdup(pns);
	} else if (kube_read_file(path, 256, &b) >= 0) {
		size_t n = strcspn((char *)b.data, " \t\r\n");

		c->ns = n ? strndup((char *)b.data, n) : strdup("default");
		kube_blob_release(&b);
	} else {
		c->ns = strdup("default");
	}
	return c->ns ? 0 : -ENOMEM;
}

static int add_env_files(struct kc_merged *m, const char *list,
			 struct verror *e)
{
	_cleanup_free_ char *copy = strdup(list);
	json_t *seen = json_object();
	char *save = NULL, *p;
	int r = 0;

	if (!copy || !seen) {
		json_decref(seen);
		return -ENOMEM;
	}
	for (p = strtok_r(copy, ":", &save); p;
	     p = strtok_r(NULL, ":", &save)) {
		if (json_object_get(seen, p))
			continue;
		json_object_set(seen, p, json_true());
		r = kc_read(p, false, m, e);
		if (r < 0)
			break;
	}
	json_decref(seen);
	return r;
}

int kube_config_load(const struct kube_options *o, struct kube_config *out,
		     struct verror *e)
{
	struct kc_merged m = { 0 };
	struct kube_config c = { 0 };
	const char *env = getenv("KUBECONFIG"), *home = getenv("HOME");
	const char *name;
	int r;

	sbuf_init(&m.files, 64 << 10);
	m.clusters = json_object();
	m.users = json_object();
	m.contexts = json_object();
	if (!m.clusters || !m.users || !m.contexts) {
		r = -ENOMEM;
		goto out;
	}
	if (o->kubeconfig) {
		r = kc_read(o->kubeconfig, true, &m, e);
	} else if (env && *env) {
		r = add_env_files(&m, env, e);
	} else if (home && *home) {
		_cleanup_free_ char *p = NULL;

		if (asprintf(&p, "%s/.kube/config", home) < 0) {
			p = NULL;
			r = -ENOMEM;
			goto out;
		}
		r = kc_read(p, false, &m, e);
	} else {
		r = 0;
	}
	if (r < 0)
		goto out;

	name = o->context ? o->context : m.current;
	if (!o->kubeconfig && !o->context && !m.current &&
	    !json_object_size(m.contexts) &&
	    getenv("KUBERNETES_SERVICE_HOST") &&
	    getenv("KUBERNETES_SERVICE_PORT")) {
		r = in_cluster(o, &c, e);
		goto out;
	}
	if (!m.nfiles) {
		r = verror_set(e, -ENOENT,
			       "no kubeconfig found (--kubeconfig, "
			       "$KUBECONFIG, ~/.kube/config) and not running "
			       "in a cluster");
		goto out;
	}
	if (!name) {
		r = verror_set(e, -EINVAL,
			       "kubeconfig %s: no current-context set and no "
			       "context given",
			       sbuf_str(&m.files));
		goto out;
	}
	r = load_context(&m, name, &c, e);
out:
	kc_release(&m);
	if (r < 0) {
		kube_config_release(&c);
		return r;
	}
	*out = c;
	return 0;
}
