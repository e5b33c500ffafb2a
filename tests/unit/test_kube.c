/* Unit tests for kube/: the YAML converter and its caps, base64, path
 * building, kubeconfig loading and merging (golden cases under
 * tests/data/kube/<case>/{cmd,expected}), exec plugins, in-cluster config.
 * No API server: tests/test_kube.py talks to a real one.
 *
 * A case's cmd holds "kubeconfig: FILE", "KUBECONFIG: A:B" and "context:
 * NAME" lines (paths relative to the case); expected is the resolved
 * configuration or the error, with the data directory written $DATA.
 * KUBE_GOLDEN_UPDATE=1 rewrites the expected files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "common/sbuf.h"
#include "kube/kube_i.h"

static const char *data_dir;

/* ---- yaml ------------------------------------------------------------ */

static json_t *yload(const char *s, unsigned flags,
		     const struct kube_yaml_caps *caps, int *r,
		     struct verror *e)
{
	json_t *j = NULL;

	*r = kube_yaml_load(s, strlen(s), flags, caps, &j, e);
	return j;
}

static void test_yaml(void)
{
	struct verror e = { { 0 } };
	struct kube_yaml_caps caps = { 0 };
	json_t *j;
	char *s;
	int r;

	j = yload("a: 1\nb: true\nc: ~\nd: '1'\ne: 1.5\nf: x y\ng: 0x1F\n"
		  "h: [1, two]\ni: {}\nj: \"\"\nk:\nl: 99999999999999999999\n",
		  0, NULL, &r, &e);
	CHECK_EQ_INT(r, 0);
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	CHECK_STREQ(s, "{\"a\":1,\"b\":true,\"c\":null,\"d\":\"1\",\"e\":1.5,"
		       "\"f\":\"x y\",\"g\":31,\"h\":[1,\"two\"],\"i\":{},"
		       "\"j\":\"\",\"k\":null,\"l\":\"99999999999999999999\"}");
	free(s);
	json_decref(j);

	/* strings mode: what Go string fields get */
	j = yload("a: 1\nb: true\nc: ~\nd: 007\n", KUBE_YAML_STRINGS, NULL, &r,
		  &e);
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	CHECK_STREQ(s, "{\"a\":\"1\",\"b\":\"true\",\"c\":null,\"d\":\"007\"}");
	free(s);
	json_decref(j);

	/* empty stream; only the first document is read */
	j = yload("", 0, NULL, &r, &e);
	CHECK(r == 0 && json_is_null(j));
	json_decref(j);
	j = yload("--- {a: 1}\n--- [\n", 0, NULL, &r, &e);
	CHECK(r == 0 && json_is_object(j));
	json_decref(j);

	/* aliases share the node */
	j = yload("x: &a {k: v}\ny: *a\nz: [*a, *a]\n", 0, NULL, &r, &e);
	CHECK_EQ_INT(r, 0);
	CHECK(json_object_get(j, "x") == json_object_get(j, "y"));
	json_decref(j);

	/* errors with positions */
	j = yload("a: 1\nb: [1, 2\nc: 3\n", 0, NULL, &r, &e);
	CHECK_EQ_INT(r, -EINVAL);
	CHECK(!j);
	CHECK(strstr(e.msg, "line 3, column") != NULL);
	j = yload("a: 1\nb: 2\na: 3\n", 0, NULL, &r, &e);
	CHECK_EQ_INT(r, -EINVAL);
	CHECK_STREQ(e.msg, "line 3, column 1: duplicate key");
	j = yload("? [a]\n: 1\n", 0, NULL, &r, &e);
	CHECK_EQ_INT(r, -EINVAL);
	CHECK(strstr(e.msg, "mapping keys must be scalars") != NULL);
	j = yload("a: &x [*x]\n", 0, NULL, &r, &e);
	CHECK_EQ_INT(r, -EINVAL);
	CHECK(strstr(e.msg, "unknown anchor") != NULL);
	j = yload("a: *nope\n", 0, NULL, &r, &e);
	CHECK_EQ_INT(r, -EINVAL);
	j = yload("a: \"\\0\"\n\"b\\0c\": 1\n", 0, NULL, &r, &e);
	CHECK_EQ_INT(r, -EINVAL);
	CHECK(strstr(e.msg, "NUL byte") != NULL);

	/* caps */
	caps.max_depth = 3;
	j = yload("a: {b: {c: 1}}\n", 0, &caps, &r, &e);
	CHECK_EQ_INT(r, 0);
	json_decref(j);
	j = yload("a: {b: {c: [1]}}\n", 0, &caps, &r, &e);
	CHECK_EQ_INT(r, -E2BIG);
	CHECK(strstr(e.msg, "nested too deeply") != NULL);
	caps.max_depth = 0;
	caps.max_nodes = 5;
	j = yload("[1, 2, 3, 4]\n", 0, &caps, &r, &e);
	CHECK_EQ_INT(r, 0);
	json_decref(j);
	j = yload("[1, 2, 3, 4, 5]\n", 0, &caps, &r, &e);
	CHECK_EQ_INT(r, -E2BIG);
	caps.max_nodes = 0;
	caps.max_bytes = 8;
	j = yload("[1, 2, 3, 4, 5]\n", 0, &caps, &r, &e);
	CHECK_EQ_INT(r, -E2BIG);
	/* the default depth cap stops deep nesting without recursion
	 * trouble */
	{
		struct sbuf b;

		sbuf_init(&b, 0);
		sbuf_addn(&b, '[', 100000);
		j = yload(sbuf_str(&b), 0, NULL, &r, &e);
		CHECK_EQ_INT(r, -E2BIG);
		sbuf_release(&b);
	}
}

/* ---- util ------------------------------------------------------------ */

static void test_base64(void)
{
	struct kube_blob b = { 0 };
	char *s;

	CHECK_EQ_INT(kube_base64_decode("aGVsbG8=", 8, &b), 0);
	CHECK_EQ_INT(b.len, 5);
	CHECK_STREQ((char *)b.data, "hello");
	kube_blob_release(&b);
	CHECK_EQ_INT(kube_base64_decode("aGVs\nbG8", 8, &b), 0);
	CHECK_STREQ((char *)b.data, "hello");
	kube_blob_release(&b);
	CHECK_EQ_INT(kube_base64_decode("", 0, &b), 0);
	CHECK_EQ_INT(b.len, 0);
	kube_blob_release(&b);
	CHECK_EQ_INT(kube_base64_decode("aGVs*G8=", 8, &b), -EINVAL);
	CHECK_EQ_INT(kube_base64_decode("aGVsbG8=x", 9, &b), -EINVAL);
	CHECK_EQ_INT(kube_base64_decode("a", 1, &b), -EINVAL);
	s = kube_base64_encode((const unsigned char *)"hello", 5);
	CHECK_STREQ(s, "aGVsbG8=");
	free(s);
	s = kube_base64_encode((const unsigned char *)"hell", 4);
	CHECK_STREQ(s, "aGVsbA==");
	free(s);
	s = kube_base64_encode((const unsigned char *)"", 0);
	CHECK_STREQ(s, "");
	free(s);
}

static void test_path(void)
{
	struct kube_resource cm = { .group = (char *)"",
				    .version = (char *)"v1",
				    .resource = (char *)"configmaps",
				    .namespaced = true };
	struct kube_resource dep = { .group = (char *)"apps",
				     .version = (char *)"v1",
				     .resource = (char *)"deployments",
				     .namespaced = true };
	struct kube_resource ns = { .group = (char *)"",
				    .version = (char *)"v1",
				    .resource = (char *)"namespaces" };
	struct kube_resource crd = { .group = (char *)"apiextensions.k8s.io",
				     .version = (char *)"v1",
				     .resource = (char *)"customresourcedefinit"
							 "ions" };
	char *p;

#define PATH_IS(r, n, name, want)             \
	do {                                  \
		p = kube_path(&(r), n, name); \
		CHECK_STREQ(p, want);         \
		free(p);                      \
	} while (0)
	PATH_IS(cm, "shop", "cfg", "/api/v1/namespaces/shop/configmaps/cfg");
	PATH_IS(cm, "shop", NULL, "/api/v1/namespaces/shop/configmaps");
	PATH_IS(cm, NULL, NULL, "/api/v1/configmaps");
	PATH_IS(dep, "shop", "web",
		"/apis/apps/v1/namespaces/shop/deployments/web");
	PATH_IS(ns, "ignored", "shop", "/api/v1/namespaces/shop");
	PATH_IS(crd, "x", "widgets.example.com",
		"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
		"widgets.example.com");
	/* hostile names stay one path step */
	PATH_IS(cm, "shop", "a b/../c?d#e",
		"/api/v1/namespaces/shop/configmaps/"
		"a%20b%2F..%2Fc%3Fd%23e");
	PATH_IS(cm, "..", "..", "/api/v1/namespaces/%2E%2E/configmaps/%2E%2E");
	PATH_IS(cm, "shop", "system:node",
		"/api/v1/namespaces/shop/configmaps/"
		"system%3Anode");
	PATH_IS(cm, "shop", "\xc3\xa9",
		"/api/v1/namespaces/shop/configmaps/%C3%A9");
	CHECK(kube_path(NULL, "a", "b") == NULL);
#undef PATH_IS
}

static void test_status(void)
{
	struct kube_response r = { .status = 409 };

	r.body = json_pack("{s:s,s:s}", "kind", "Status", "message",
			   "configmaps \"x\" already exists");
	CHECK_STREQ(kube_status_message(&r), "configmaps \"x\" already exists");
	json_decref(r.body);
	r.body = NULL;
	CHECK_STREQ(kube_status_message(&r), "conflict");
	r.status = 599;
	CHECK_STREQ(kube_status_message(&r), "server error");
	CHECK_EQ_INT(kube_status_errno(200), 0);
	CHECK_EQ_INT(kube_status_errno(201), 0);
	CHECK_EQ_INT(kube_status_errno(404), -ENOENT);
	CHECK_EQ_INT(kube_status_errno(409), -EEXIST);
	CHECK_EQ_INT(kube_status_errno(403), -EACCES);
	CHECK_EQ_INT(kube_status_errno(422), -EINVAL);
	CHECK_EQ_INT(kube_status_errno(500), -EIO);
}

/* ---- golden kubeconfigs ---------------------------------------------- */

static void add_blob(struct sbuf *o, const char *name,
		     const struct kube_blob *b)
{
	size_t n;

	if (!b->len)
		return;
	n = strcspn((const char *)b->data, "\n");
	sbuf_addf(o, "%s: %zu bytes: %.*s\n", name, b->len, (int)n,
		  (const char *)b->data);
}

static void add_str(struct sbuf *o, const char *name, const char *v)
{
	if (v)
		sbuf_addf(o, "%s: %s\n", name, v);
}

static void dump(const struct kube *k, struct sbuf *o)
{
	const struct kube_config *c = &k->cfg;
	char **p;

	add_str(o, "source", c->source);
	add_str(o, "context", c->context);
	add_str(o, "cluster", c->cluster);
	add_str(o, "server", c->server);
	if (strcmp(k->base_url, c->server))
		add_str(o, "base-url", k->base_url);
	if (k->connect_to)
		add_str(o, "connect-to", k->connect_to);
	add_str(o, "namespace", c->ns);
	if (c->insecure)
		add_str(o, "insecure-skip-tls-verify", "true");
	add_str(o, "tls-server-name", c->tls_server_name);
	add_str(o, "proxy-url", c->proxy_url);
	add_blob(o, "ca", &c->ca);
	add_blob(o, "client-cert", &c->cert);
	add_blob(o, "client-key", &c->key);
	add_str(o, "token", c->token);
	add_str(o, "token-file", c->token_file);
	add_str(o, "username", c->username);
	add_str(o, "password", c->password ? "(set)" : NULL);
	if (c->exec) {
		add_str(o, "exec.apiVersion", c->exec->api_version);
		add_str(o, "exec.command", c->exec->command);
		for (p = c->exec->argv; p && *p; p++)
			add_str(o, "exec.argv", *p);
		for (p = c->exec->env; p && *p; p++)
			add_str(o, "exec.env", *p);
		add_str(o, "exec.interactiveMode", c->exec->interactive_mode);
		add_str(o, "exec.installHint", c->exec->install_hint);
		add_str(o, "exec.info", c->exec->exec_info);
	}
}

/* s with every data_dir replaced by $DATA; caller frees. */
static char *redact(const char *s)
{
	struct sbuf b;
	size_t n = strlen(data_dir);
	const char *q;

	sbuf_init(&b, 0);
	while ((q = strstr(s, data_dir))) {
		sbuf_add(&b, s, (size_t)(q - s));
		sbuf_adds(&b, "$DATA");
		s = q + n;
	}
	sbuf_adds(&b, s);
	return sbuf_take(&b, NULL);
}

static void golden_case(const char *name)
{
	char path[4096], line[1024], kc[4096] = "", env[8192] = "",
				     ctx[1024] = "";
	struct kube_options o = { 0 };
	struct verror e = { { 0 } };
	struct kube_blob want = { 0 };
	struct kube *k = NULL;
	struct sbuf out;
	char *got;
	FILE *f;
	int r;

	snprintf(path, sizeof(path), "%s/%s/cmd", data_dir, name);
	f = fopen(path, "r");
	if (!f)
		return; /* not a case */
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "kubeconfig: ", 12)) {
			snprintf(kc, sizeof(kc), "%s/%s/%s", data_dir, name,
				 line + 12);
		} else if (!strncmp(line, "KUBECONFIG: ", 12)) {
			char *save = NULL, *p;

			for (p = strtok_r(line + 12, ":", &save); p;
			     p = strtok_r(NULL, ":", &save)) {
				size_t n = strlen(env);

				snprintf(env + n, sizeof(env) - n, "%s%s/%s/%s",
					 n ? ":" : "", data_dir, name, p);
			}
		} else if (!strncmp(line, "context: ", 9)) {
			snprintf(ctx, sizeof(ctx), "%s", line + 9);
		}
	}
	fclose(f);
	snprintf(path, sizeof(path), "%s/%s", data_dir, name);
	setenv("HOME", path, 1); /* no ~/.kube/config there */
	if (env[0])
		setenv("KUBECONFIG", env, 1);
	else
		unsetenv("KUBECONFIG");
	o.kubeconfig = kc[0] ? kc : NULL;
	o.context = ctx[0] ? ctx : NULL;

	sbuf_init(&out, 0);
	r = kube_open(&o, &k, &e);
	if (r < 0)
		sbuf_addf(&out, "error: %s: %s\n", strerrorname_np(-r), e.msg);
	else
		dump(k, &out);
	kube_free(k);
	got = redact(sbuf_str(&out));
	sbuf_release(&out);

	snprintf(path, sizeof(path), "%s/%s/expected", data_dir, name);
	if (getenv("KUBE_GOLDEN_UPDATE")) {
		f = fopen(path, "w");
		if (f) {
			fputs(got, f);
			fclose(f);
		}
	} else if (kube_read_file(path, 1 << 20, &want) < 0) {
		fprintf(stderr, "%s: missing; got:\n%s", path, got);
		check_failures++;
	} else if (strcmp((char *)want.data, got)) {
		fprintf(stderr, "%s: mismatch; got:\n%s--- expected:\n%s", path,
			got, (char *)want.data);
		check_failures++;
	}
	kube_blob_release(&want);
	free(got);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_golden(void)
{
	DIR *d = opendir(data_dir);
	struct dirent *de;
	char *names[256];
	size_t n = 0, i;

	CHECK(d != NULL);
	if (!d)
		return;
	while ((de = readdir(d)) && n < ARRAY_SIZE(names))
		if (de->d_name[0] != '.')
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	CHECK(n >= 20);
	for (i = 0; i < n; i++) {
		golden_case(names[i]);
		free(names[i]);
	}
	unsetenv("KUBECONFIG");
}

/* ---- exec plugins, in-cluster, caps: generated in a temp dir --------- */

static char tmp[256];

static void write_file(const char *name, const char *content, mode_t mode)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", tmp, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, content, strlen(content)) == (ssize_t)strlen(content));
	close(fd);
}

static int open_with(const char *kubeconfig_text, struct kube **k,
		     struct verror *e)
{
	char p[512];
	struct kube_options o = { .kubeconfig = p };

	write_file("config", kubeconfig_text, 0600);
	snprintf(p, sizeof(p), "%s/config", tmp);
	return kube_open(&o, k, e);
}

static void test_exec(void)
{
	struct verror e = { { 0 } };
	struct kube_exec_cred c = { 0 };
	struct kube *k = NULL;
	char p[512];
	int r;

	/* the plugin writes what it got next to itself, then answers */
	write_file("plugin.sh",
		   "#!/bin/sh\n"
		   "d=$(dirname \"$0\")\n"
		   "printf '%s\\n' \"$KUBERNETES_EXEC_INFO\" > \"$d/info\"\n"
		   "printf '%s|' \"$@\" > \"$d/args\"\n"
		   "printf '%s' \"$PLUGIN_MODE\" > \"$d/env\"\n"
		   "case \"$PLUGIN_MODE\" in\n"
		   "fail) echo 'login required: run kubelogin' >&2; exit 3;;\n"
		   "junk) echo 'not json';;\n"
		   "wrongver) echo "
		   "'{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\","
		   "\"kind\":\"ExecCredential\",\"status\":{\"token\":\"t\"}}';"
		   ";\n"
		   "cert) echo "
		   "'{\"apiVersion\":\"client.authentication.k8s.io/v1\","
		   "\"kind\":\"ExecCredential\",\"status\":{"
		   "\"clientCertificateData\":"
		   "\"-----BEGIN CERTIFICATE-----\\\\nX\\\\n-----END "
		   "CERTIFICATE-----\\\\n\","
		   "\"clientKeyData\":\"-----BEGIN PRIVATE KEY-----\\\\nY\\\\n"
		   "-----END PRIVATE KEY-----\\\\n\"}}';;\n"
		   "*) echo "
		   "'{\"apiVersion\":\"client.authentication.k8s.io/v1\","
		   "\"kind\":\"ExecCredential\",\"status\":{\"token\":\"tok-"
		   "1\","
		   "\"expirationTimestamp\":\"2030-01-02T03:04:05.123+01:00\"}}"
		   "';;\n"
		   "esac\n",
		   0755);
#define EXEC_CONFIG(mode)                                                \
	"clusters: [{name: c, cluster: {server: 'https://x', "           \
	"insecure-skip-tls-verify: true}}]\n"                            \
	"users:\n- name: u\n  user:\n    exec:\n"                        \
	"      apiVersion: client.authentication.k8s.io/v1\n"            \
	"      command: ./plugin.sh\n      args: [a, 'b c']\n"           \
	"      env: [{name: PLUGIN_MODE, value: " #mode "}]\n"           \
	"      interactiveMode: Never\n      provideClusterInfo: true\n" \
	"      installHint: get the plugin\n"                            \
	"contexts: [{name: c, context: {cluster: c, user: u}}]\n"        \
	"current-context: c\n"

	r = open_with(EXEC_CONFIG(ok), &k, &e);
	CHECK_EQ_INT(r, 0);
	if (r == 0) {
		struct kube_blob b = { 0 };

		r = kube_exec_run(k->cfg.exec, &c, &e);
		CHECK_EQ_INT(r, 0);
		CHECK_STREQ(c.token, "tok-1");
		CHECK_EQ_INT(c.expiry, 1893549845); /* 2030-01-02T02:04:05Z */
		kube_exec_cred_release(&c);
		snprintf(p, sizeof(p), "%s/args", tmp);
		CHECK_EQ_INT(kube_read_file(p, 4096, &b), 0);
		CHECK_STREQ((char *)b.data, "a|b c|");
		kube_blob_release(&b);
		snprintf(p, sizeof(p), "%s/info", tmp);
		CHECK_EQ_INT(kube_read_file(p, 4096, &b), 0);
		CHECK_STREQ((char *)b.data,
			    "{\"kind\":\"ExecCredential\",\"apiVersion\":"
			    "\"client.authentication.k8s.io/v1\",\"spec\":{"
			    "\"interactive\":false,\"cluster\":{\"server\":"
			    "\"https://x\",\"insecure-skip-tls-verify\":true}}}"
			    "\n");
		kube_blob_release(&b);
	}
	k = kube_free(k);

	r = open_with(EXEC_CONFIG(cert), &k, &e);
	CHECK_EQ_INT(r, 0);
	if (r == 0) {
		r = kube_exec_run(k->cfg.exec, &c, &e);
		CHECK_EQ_INT(r, 0);
		CHECK(c.token == NULL);
		CHECK(c.cert.len &&
		      !strncmp((char *)c.cert.data,
			       "-----BEGIN CERTIFICATE-----\n", 28));
		CHECK(c.key.len && strstr((char *)c.key.data, "PRIVATE KEY"));
		CHECK_EQ_INT(c.expiry, 0);
		kube_exec_cred_release(&c);
	}
	k = kube_free(k);

	r = open_with(EXEC_CONFIG(fail), &k, &e);
	CHECK_EQ_INT(r, 0);
	if (r == 0) {
		r = kube_exec_run(k->cfg.exec, &c, &e);
		CHECK_EQ_INT(r, -EIO);
		CHECK(strstr(e.msg, "failed with exit status 3: login "
				    "required: run kubelogin") != NULL);
	}
	k = kube_free(k);

	r = open_with(EXEC_CONFIG(junk), &k, &e);
	if (r == 0) {
		CHECK_EQ_INT(kube_exec_run(k->cfg.exec, &c, &e), -EINVAL);
		CHECK(strstr(e.msg, "not JSON") != NULL);
	}
	k = kube_free(k);

	r = open_with(EXEC_CONFIG(wrongver), &k, &e);
	if (r == 0) {
		CHECK_EQ_INT(kube_exec_run(k->cfg.exec, &c, &e), -EINVAL);
		CHECK(strstr(e.msg, "returned apiVersion "
				    "client.authentication.k8s.io/v1beta1"));
	}
	k = kube_free(k);

	/* a command that is not there: the install hint */
	r = open_with("clusters: [{name: c, cluster: {server: 'https://x'}}]\n"
		      "users: [{name: u, user: {exec: {apiVersion: "
		      "client.authentication.k8s.io/v1beta1, command: "
		      "velerofs-no-such-plugin, installHint: 'brew install "
		      "it'}}}]\n"
		      "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
		      "current-context: c\n",
		      &k, &e);
	CHECK_EQ_INT(r, 0);
	if (r == 0) {
		CHECK_EQ_INT(kube_exec_run(k->cfg.exec, &c, &e), -ENOENT);
		CHECK_STREQ(e.msg, "exec plugin velerofs-no-such-plugin: "
				   "command not found; brew install it");
	}
	k = kube_free(k);
#undef EXEC_CONFIG
}

static void test_in_cluster(void)
{
	char sa[512];
	struct kube_options o = { .serviceaccount_dir = sa };
	struct verror e = { { 0 } };
	struct kube *k = NULL;
	int r;

	snprintf(sa, sizeof(sa), "%s/sa", tmp);
	mkdir(sa, 0700);
	write_file("sa/token", "sa-token\n", 0600);
	write_file("sa/ca.crt", "-----BEGIN CERTIFICATE-----\nSA\n", 0600);
	write_file("sa/namespace", "velero", 0600);
	setenv("HOME", sa, 1);
	unsetenv("KUBECONFIG");
	unsetenv("POD_NAMESPACE");

	/* without the service env: nothing to go by */
	unsetenv("KUBERNETES_SERVICE_HOST");
	r = kube_open(&o, &k, &e);
	CHECK_EQ_INT(r, -ENOENT);
	CHECK(strstr(e.msg, "no kubeconfig found") != NULL);

	setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	r = kube_open(&o, &k, &e);
	CHECK_EQ_INT(r, 0);
	if (r == 0) {
		CHECK_STREQ(kube_server(k), "https://10.0.0.1:443");
		CHECK_STREQ(kube_namespace(k), "velero");
		CHECK_STREQ(kube_context(k), "");
		CHECK_EQ_INT(k->cfg.ca.len, 31);
		CHECK(k->cfg.token_file && strstr(k->cfg.token_file, "/sa/"
								     "token"));
	}
	k = kube_free(k);

	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("POD_NAMESPACE", "from-env", 1);
	r = kube_open(&o, &k, &e);
	CHECK_EQ_INT(r, 0);
	if (r == 0) {
		CHECK_STREQ(kube_server(k), "https://[fd00::1]:443");
		CHECK_STREQ(kube_namespace(k), "from-env");
	}
	k = kube_free(k);

	/* an explicit kubeconfig is never replaced by in-cluster config */
	{
		struct kube_options o2 = { .kubeconfig = "/nonexistent/kc" };

		CHECK_EQ_INT(kube_open(&o2, &k, &e), -ENOENT);
	}
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	unsetenv("POD_NAMESPACE");
}

static void test_caps(void)
{
	struct verror e = { { 0 } };
	struct kube *k = NULL;
	char p[512];
	int fd;

	/* a kubeconfig beyond the cap is refused before it is read */
	snprintf(p, sizeof(p), "%s/huge", tmp);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && ftruncate(fd, KUBE_CONFIG_MAX + 1) == 0);
	close(fd);
	{
		struct kube_options o = { .kubeconfig = p };

		CHECK_EQ_INT(kube_open(&o, &k, &e), -E2BIG);
		CHECK(strstr(e.msg, "larger than") != NULL);
	}
	unlink(p);
	/* a certificate file beyond its cap */
	snprintf(p, sizeof(p), "%s/big.pem", tmp);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && ftruncate(fd, KUBE_PEM_MAX + 1) == 0);
	close(fd);
	CHECK_EQ_INT(open_with("clusters: [{name: c, cluster: {server: "
			       "'https://x', certificate-authority: "
			       "big.pem}}]\n"
			       "contexts: [{name: c, context: {cluster: c}}]\n"
			       "current-context: c\n",
			       &k, &e),
		     -E2BIG);
	unlink(p);
	/* aliases cannot blow up: nine levels of ten aliases each stay
	 * small */
	CHECK_EQ_INT(open_with("a: &a [x, x, x, x, x, x, x, x, x, x]\n"
			       "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, "
			       "*a]\n"
			       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, "
			       "*b]\n"
			       "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, "
			       "*c]\n"
			       "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, "
			       "*d]\n"
			       "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, "
			       "*e]\n"
			       "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, "
			       "*f]\n"
			       "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, "
			       "*g]\n"
			       "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, "
			       "*h]\n"
			       "clusters: [{name: c, cluster: {server: "
			       "'https://x'}}]\n"
			       "contexts: [{name: c, context: {cluster: c}}]\n"
			       "current-context: c\n",
			       &k, &e),
		     0);
	k = kube_free(k);
}

static void test_request_args(void)
{
	struct verror e = { { 0 } };
	struct kube_response resp = { 0 };
	struct kube_resource res;
	struct kube *k = NULL;
	int r;

	r = open_with("clusters: [{name: c, cluster: {server: "
		      "'https://127.0.0.1:1'}}]\n"
		      "contexts: [{name: c, context: {cluster: c}}]\n"
		      "current-context: c\n",
		      &k, &e);
	CHECK_EQ_INT(r, 0);
	if (r < 0)
		return;
	CHECK_EQ_INT(kube_request(k, "GET", "api", NULL, NULL, &resp, &e),
		     -EINVAL);
	CHECK_EQ_INT(kube_request(k, "GET", "/api v1", NULL, NULL, &resp, &e),
		     -EINVAL);
	CHECK_EQ_INT(kube_request(k, "GET", "/api\r\nX: y", NULL, NULL, &resp,
				  &e),
		     -EINVAL);
	CHECK_EQ_INT(kube_request(k, "get x", "/api", NULL, NULL, &resp, &e),
		     -EINVAL);
	CHECK_EQ_INT(kube_request(k, "POST", "/api", "a\r\nb", NULL, &resp, &e),
		     -EINVAL);
	CHECK_EQ_INT(kube_resolve(k, "apps/v1/x", "Deployment", &res, &e),
		     -EINVAL);
	CHECK_EQ_INT(kube_resolve(k, "../v1", "Deployment", &res, &e), -EINVAL);
	CHECK_EQ_INT(kube_resolve(k, "apps/v1", "Deploy/ment", &res, &e),
		     -EINVAL);
	CHECK_EQ_INT(kube_resolve(k, "", "Pod", &res, &e), -EINVAL);
	CHECK_EQ_INT(kube_resolve(k, "apps/", "Pod", &res, &e), -EINVAL);
	CHECK_EQ_INT(kube_resolve(k, ".apps/v1", "Pod", &res, &e), -EINVAL);
	CHECK_EQ_INT(kube_resolve(k, "Apps/v1", "Pod", &res, &e), -EINVAL);
	CHECK_EQ_INT(kube_resolve(k, "apps/v1%2F", "Pod", &res, &e), -EINVAL);
	kube_free(k);
}

int main(int argc, char **argv)
{
	char *t;

	if (argc < 2) {
		fprintf(stderr, "usage: test_kube DATA_DIR\n");
		return 2;
	}
	data_dir = argv[1];
	snprintf(tmp, sizeof(tmp), "%s/test_kube.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	t = mkdtemp(tmp);
	CHECK(t != NULL);

	test_yaml();
	test_base64();
	test_path();
	test_status();
	test_golden();
	test_exec();
	test_in_cluster();
	test_caps();
	test_request_args();

	if (t) {
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		CHECK(system(cmd) == 0);
	}
	return check_status();
}
