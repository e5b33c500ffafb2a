/* exec.c: client-go exec credential plugins (client.authentication.k8s.io
 * v1 and v1beta1), as kubelogin, `aws eks get-token` and
 * gke-gcloud-auth-plugin implement them.
 *
 * The plugin runs with our environment plus its configured env and
 * KUBERNETES_EXEC_INFO, stdin from /dev/null (never interactive), its
 * stdout (capped) parsed as an ExecCredential. Its stderr's first line
 * goes into the error message only when it fails. The caller (http.c)
 * caches the result until expirationTimestamp. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/rfc3339.h"
#include "common/sbuf.h"
#include "kube/kube_i.h"

extern char **environ;

void kube_exec_cred_release(struct kube_exec_cred *c)
{
	if (!c)
		return;
	if (c->token)
		explicit_bzero(c->token, strlen(c->token));
	free(c->token);
	kube_blob_release(&c->cert);
	kube_blob_release(&c->key);
	memset(c, 0, sizeof(*c));
}

/* environ, minus the names the plugin config sets, plus them and
 * KUBERNETES_EXEC_INFO. The strings are borrowed; free the array only. */
static char **plugin_env(const struct kube_exec *x, char *info)
{
	size_t n = 0, m = 0, i, j;
	char **env;

	for (i = 0; environ && environ[i]; i++)
		n++;
	for (i = 0; x->env && x->env[i]; i++)
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	for (i = 0; environ && environ[i]; i++) {
		const char *v = environ[i];
		size_t k = strcspn(v, "=");
		bool skip = k == strlen("KUBERNETES_EXEC_INFO") &&
			    !strncmp(v, "KUBERNETES_EXEC_INFO", k);

		for (j = 0; !skip && x->env && x->env[j]; j++)
			skip = !strncmp(x->env[j], v, k) && x->env[j][k] == '=';
		if (!skip)
			env[m++] = environ[i];
	}
	for (i = 0; x->env && x->env[i]; i++)
		env[m++] = x->env[i];
	env[m++] = info;
	env[m] = NULL;
	return env;
}

/* Runs the plugin; fills out (stdout) and err (stderr, capped small).
 * Returns the wait status, or -errno when it could not run. */
static int run(const struct kube_exec *x, struct sbuf *out, struct sbuf *err,
	       struct verror *e)
{
	int opipe[2] = { -1, -1 }, epipe[2] = { -1, -1 }, r, status = 0;
	_cleanup_free_ char *info = NULL;
	_cleanup_free_ char **env = NULL;
	posix_spawn_file_actions_t fa;
	int64_t deadline = clock_now_ms() + KUBE_EXEC_TIMEOUT_MS;
	bool timed_out = false;
	pid_t pid;

	if (asprintf(&info, "KUBERNETES_EXEC_INFO=%s", x->exec_info) < 0) {
		info = NULL;
		return -ENOMEM;
	}
	env = plugin_env(x, info);
	if (!env)
		return -ENOMEM;
	if (pipe2(opipe, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(epipe, O_CLOEXEC) < 0) {
		r = -errno;
		close(opipe[0]);
		close(opipe[1]);
		return r;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, opipe[1], 1);
	posix_spawn_file_actions_adddup2(&fa, epipe[1], 2);
	r = -posix_spawnp(&pid, x->command, &fa, NULL, x->argv, env);
	posix_spawn_file_actions_destroy(&fa);
	close(opipe[1]);
	close(epipe[1]);
	if (r < 0) {
		close(opipe[0]);
		close(epipe[0]);
		if (r == -ENOENT)
			return verror_set(
				e, r,
				"exec plugin %s: command not "
				"found%s%s",
				x->command, x->install_hint ? "; " : "",
				x->install_hint ? x->install_hint : "");
		return verror_set(e, r, "exec plugin %s: %s", x->command,
				  strerror(-r));
	}

	struct pollfd p[2] = { { .fd = opipe[0], .events = POLLIN },
			       { .fd = epipe[0], .events = POLLIN } };
	bool too_big = false;

	while (p[0].fd >= 0 || p[1].fd >= 0) {
		int64_t left = deadline - clock_now_ms();
		char buf[4096];
		int i;

		if (left <= 0) {
			timed_out = true;
			break;
		}
		r = poll(p, 2, (int)MIN(left, 1000));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		for (i = 0; i < 2; i++) {
			ssize_t k;

			if (p[i].fd < 0 || !p[i].revents)
				continue;
			k = read(p[i].fd, buf, sizeof(buf));
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				close(p[i].fd);
				p[i].fd = -1;
				continue;
			}
			if (i == 0 && sbuf_add(out, buf, (size_t)k) < 0)
				too_big = true;
			if (i == 1)
				sbuf_add(err, buf,
					 MIN((size_t)k, err->max - err->len));
		}
		if (too_big)
			break;
	}
	if (p[0].fd >= 0)
		close(p[0].fd);
	if (p[1].fd >= 0)
		close(p[1].fd);
	if (timed_out || too_big)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out)
		return verror_set(e, -ETIMEDOUT,
				  "exec plugin %s: no answer after %d s",
				  x->command, KUBE_EXEC_TIMEOUT_MS / 1000);
	if (too_big)
		return verror_set(e, -E2BIG,
				  "exec plugin %s: output larger than %zu "
				  "bytes",
				  x->command, KUBE_EXEC_OUT_MAX);
	return status;
}

/* RFC 3339 ("2026-11-21T10:00:00Z", fractions, offsets) to time_t. */
static int parse_time(const char *s, time_t *out)
{
	int64_t t;
	int r = rfc3339_parse(s, strlen(s), &t, NULL);

	if (r < 0)
		return r;
	*out = (time_t)t;
	return 0;
}

static int parse_cred(const struct kube_exec *x, const char *buf, size_t len,
		      struct kube_exec_cred *out, struct verror *e)
{
	struct kube_exec_cred c = { 0 };
	json_t *j, *st;
	const char *kind, *av, *tok, *cert, *key, *exp;
	int r = -EINVAL;

	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	if (!j)
		return verror_set(e, -EINVAL,
				  "exec plugin %s: output is not JSON",
				  x->command);
	kind = json_string_value(json_object_get(j, "kind"));
	av = json_string_value(json_object_get(j, "apiVersion"));
	st = json_object_get(j, "status");
	if (!kind || strcmp(kind, "ExecCredential")) {
		verror_set(e, r,
			   "exec plugin %s: output is not an ExecCredential",
			   x->command);
		goto out;
	}
	if (!av || strcmp(av, x->api_version)) {
		verror_set(e, r,
			   "exec plugin %s is configured for %s but returned "
			   "apiVersion %s",
			   x->command, x->api_version, av ? av : "(none)");
		goto out;
	}
	if (!json_is_object(st)) {
		verror_set(e, r, "exec plugin %s: ExecCredential has no status",
			   x->command);
		goto out;
	}
	tok = json_string_value(json_object_get(st, "token"));
	cert = json_string_value(json_object_get(st, "clientCertificateData"));
	key = json_string_value(json_object_get(st, "clientKeyData"));
	exp = json_string_value(json_object_get(st, "expirationTimestamp"));
	if (tok &&
	    (!*tok || strpbrk(tok, "\r\n") ||
	     strlen(tok) != json_string_length(json_object_get(st, "token")))) {
		verror_set(e, r, "exec plugin %s: status.token is malformed",
			   x->command);
		goto out;
	}
	if (!cert != !key) {
		verror_set(e, r,
			   "exec plugin %s: clientCertificateData and "
			   "clientKeyData must come together",
			   x->command);
		goto out;
	}
	if (!tok && !cert) {
		verror_set(e, r,
			   "exec plugin %s: status has neither a token nor a "
			   "client certificate",
			   x->command);
		goto out;
	}
	if (exp && parse_time(exp, &c.expiry) < 0) {
		verror_set(e, r,
			   "exec plugin %s: status.expirationTimestamp is not "
			   "RFC 3339",
			   x->command);
		goto out;
	}
	r = -ENOMEM;
	if (tok && !(c.token = strdup(tok)))
		goto out;
	if (cert) {
		c.cert.data = (unsigned char *)strdup(cert);
		c.key.data = (unsigned char *)strdup(key);
		if (!c.cert.data || !c.key.data)
			goto out;
		c.cert.len = strlen(cert);
		c.key.len = strlen(key);
	}
	*out = c;
	memset(&c, 0, sizeof(c));
	r = 0;
out:
	kube_exec_cred_release(&c);
	json_decref(j);
	return r;
}

int kube_exec_run(const struct kube_exec *x, struct kube_exec_cred *out,
		  struct verror *e)
{
	struct sbuf o, er;
	int r;

	sbuf_init(&o, KUBE_EXEC_OUT_MAX);
	sbuf_init(&er, 512);
	r = run(x, &o, &er, e);
	if (r >= 0 && !(WIFEXITED(r) && WEXITSTATUS(r) == 0)) {
		const char *msg = sbuf_str(&er);
		int n = (int)strcspn(msg, "\n");

		/* 127 without a word: the exec in the child failed (as
		 * posix_spawnp reports it under valgrind, or a shell
		 * wrapper does) */
		if (WIFEXITED(r) && WEXITSTATUS(r) == 127 && !n)
			r = verror_set(e, -ENOENT,
				       "exec plugin %s: command not found%s%s",
				       x->command, x->install_hint ? "; " : "",
				       x->install_hint ? x->install_hint : "");
		else if (WIFEXITED(r))
			r = verror_set(e, -EIO,
				       "exec plugin %s failed with exit status "
				       "%d%s%.*s",
				       x->command, WEXITSTATUS(r),
				       n ? ": " : "", n, msg);
		else
			r = verror_set(e, -EIO,
				       "exec plugin %s killed by signal %d",
				       x->command, WTERMSIG(r));
	} else if (r >= 0) {
		r = parse_cred(x, sbuf_str(&o), o.len, out, e);
	}
	if (o.buf)
		explicit_bzero(o.buf, o.len);
	sbuf_release(&o);
	sbuf_release(&er);
	return r;
}
