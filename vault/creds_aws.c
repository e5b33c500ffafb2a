/* vault/creds_aws: AWS credentials for the S3 backend, found as the AWS
 * SDKs find them (see aws_creds_new() in creds_i.h), fetched through
 * http/ and refreshed before they expire.
 *
 * What it does not do: SSO token refresh (an expired `aws sso login`
 * token is reported, not renewed), MFA prompts, login through a browser.
 * credential_process runs through /bin/sh, as the AWS CLI's own documentation
 * examples expect, with a 60 s limit and 1 MiB of output. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/macro.h"
#include "http/http.h"
#include "vault/creds_i.h"
#include "vault/remote_i.h"
#include "vault/s3_i.h"

extern char **environ;

#define PROCESS_OUT_MAX (1u << 20)
#define PROCESS_TIMEOUT_MS 60000
#define ANSWER_MAX (1u << 20)
#define CHAIN_MAX 4

enum aws_kind {
	AWS_STATIC,
	AWS_PROCESS,
	AWS_ASSUME_ROLE,
	AWS_WEB_IDENTITY,
	AWS_SSO,
	AWS_IMDS,
	AWS_CONTAINER,
};

static const char *const kind_names[] = {
	[AWS_STATIC] = "static keys",
	[AWS_PROCESS] = "credential_process",
	[AWS_ASSUME_ROLE] = "STS AssumeRole",
	[AWS_WEB_IDENTITY] = "STS AssumeRoleWithWebIdentity",
	[AWS_SSO] = "SSO",
	[AWS_IMDS] = "EC2 instance role",
	[AWS_CONTAINER] = "container credentials",
};

struct aws_creds {
	enum aws_kind kind;
	char *where; /* "profile 'x' in FILE", for messages */
	pthread_mutex_t lock;
	struct aws_keys cur; /* protected by lock */
	/* what a fetch needs; set once by aws_creds_new() */
	char *process;		       /* credential_process */
	char *role_arn, *session_name; /* AssumeRole, web identity */
	char *token_file;	       /* web identity */
	struct aws_creds *source;      /* AssumeRole's own credentials */
	char *endpoint;		       /* STS, SSO portal or IMDS */
	char *region;		       /* STS signing, SSO */
	char *sso_cache, *sso_account, *sso_role, *sso_profile;
	struct http *http; /* NULL for static and process */
};

void aws_keys_release(struct aws_keys *k)
{
	remote_wipe_free(k->access_key);
	remote_wipe_free(k->secret_key);
	remote_wipe_free(k->token);
	*k = (struct aws_keys){ 0 };
}

static int keys_copy(const struct aws_keys *from, struct aws_keys *to)
{
	struct aws_keys k = { .expires = from->expires };

	k.access_key = strdup(from->access_key);
	k.secret_key = strdup(from->secret_key);
	k.token = from->token ? strdup(from->token) : NULL;
	if (!k.access_key || !k.secret_key || (from->token && !k.token)) {
		aws_keys_release(&k);
		return -ENOMEM;
	}
	*to = k;
	return 0;
}

const char *aws_creds_kind(const struct aws_creds *c)
{
	return kind_names[c->kind];
}

struct aws_creds *aws_creds_free(struct aws_creds *c)
{
	if (!c)
		return NULL;
	aws_keys_release(&c->cur);
	pthread_mutex_destroy(&c->lock);
	free(c->where);
	free(c->process);
	free(c->role_arn);
	free(c->session_name);
	free(c->token_file);
	aws_creds_free(c->source);
	free(c->endpoint);
	free(c->region);
	free(c->sso_cache);
	free(c->sso_account);
	free(c->sso_role);
	free(c->sso_profile);
	http_free(c->http);
	free(c);
	return NULL;
}

static struct aws_creds *creds_alloc(enum aws_kind kind, const char *where)
{
	struct aws_creds *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->kind = kind;
	c->where = strdup(where);
	pthread_mutex_init(&c->lock, NULL);
	if (!c->where)
		return aws_creds_free(c);
	return c;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static int http_client(struct aws_creds *c, const char *name, long connect_ms,
		       unsigned attempts, struct verror *e)
{
	struct http_config hc = {
		.name = name,
		.timeout_ms = 30000,
		.connect_timeout_ms = connect_ms,
		.retry = { .attempts = attempts, .timeouts = true },
	};

	hc.tls.ca_file = env("AWS_CA_BUNDLE");
	return http_new(&hc, &c->http, e);
}

/* --- answers --------------------------------------------------------- */

/* The keys of a JSON answer under the given member names. */
static int keys_from_json(const json_t *o, const char *id, const char *secret,
			  const char *token, const char *expiration,
			  struct aws_keys *out, const char *what,
			  struct verror *e)
{
	const json_t *x = json_object_get(o, expiration);
	struct aws_keys k = { 0 };

	if (!json_is_string(json_object_get(o, id)) ||
	    !json_is_string(json_object_get(o, secret)))
		return verror_set(e, -EBADMSG, "%s: no %s and %s in the answer",
				  what, id, secret);
	k.access_key = strdup(json_string_value(json_object_get(o, id)));
	k.secret_key = strdup(json_string_value(json_object_get(o, secret)));
	if (json_is_string(json_object_get(o, token)) &&
	    *json_string_value(json_object_get(o, token)))
		k.token = strdup(json_string_value(json_object_get(o, token)));
	if (json_is_string(x)) {
		k.expires = remote_parse_time(json_string_value(x));
		if (!k.expires) {
			aws_keys_release(&k);
			return verror_set(e, -EBADMSG, "%s: %s is not a time",
					  what, expiration);
		}
	} else if (json_is_integer(x)) { /* SSO: milliseconds */
		k.expires = (int64_t)(json_integer_value(x) / 1000);
	}
	if (!k.access_key || !k.secret_key) {
		aws_keys_release(&k);
		return -ENOMEM;
	}
	*out = k;
	return 0;
}

struct sts_answer {
	struct aws_keys k;
	int r;
};

static int sts_xml(enum remote_xml_event ev, const char *path, const char *text,
		   void *userdata)
{
	struct sts_answer *a = userdata;
	const char *leaf = strrchr(path, '/');
	char **slot = NULL;

	if (ev != REMOTE_XML_END || !text || !*text || !leaf ||
	    !strstr(path, "/Credentials/"))
		return 0;
	leaf++;
	if (!strcmp(leaf, "AccessKeyId"))
		slot = &a->k.access_key;
	else if (!strcmp(leaf, "SecretAccessKey"))
		slot = &a->k.secret_key;
	else if (!strcmp(leaf, "SessionToken"))
		slot = &a->k.token;
	else if (!strcmp(leaf, "Expiration"))
		a->k.expires = remote_parse_time(text);
	if (slot) {
		remote_wipe_free(*slot);
		*slot = strdup(text);
		if (!*slot)
			return -ENOMEM;
	}
	return 0;
}

/* --- requests -------------------------------------------------------- */

/* An answer's status as an error naming what, with the XML or JSON error
 * words of the body. */
static int answer_error(struct aws_creds *c, const char *verb, const char *what,
			const struct http_response *resp,
			const struct sbuf *body, struct verror *e)
{
	char code[64], msg[256], detail[360] = "";

	remote_xml_error(body->buf ? body->buf : "", body->len, code,
			 sizeof(code), msg, sizeof(msg));
	if (code[0]) {
		snprintf(detail, sizeof(detail), "(%s: %s)", code, msg);
	} else if (body->len && body->buf[0] == '{') {
		/* SSO: {"message": "..."} */
		json_t *j = json_loadb(body->buf, body->len, 0, NULL);
		const char *m = json_string_value(json_object_get(j, "messag"
								     "e"));

		if (m)
			snprintf(detail, sizeof(detail), "(%.300s)", m);
		json_decref(j);
	}
	return http_status_error(c->http, verb, what, resp,
				 detail[0] ? detail : NULL, e);
}

struct sts_sign {
	const struct aws_keys *k;
	const char *host, *region;
	char body_hash[65];
};

static int sts_sign_cb(void *ctx, struct http_attempt *a, struct verror *e)
{
	struct sts_sign *s = ctx;
	int r = sigv4_sign_attempt(
		a, &(struct sigv4_attempt){ .host = s->host,
					    .path = "/",
					    .payload_hash = s->body_hash,
					    .region = s->region,
					    .service = "sts",
					    .access_key = s->k->access_key,
					    .secret_key = s->k->secret_key,
					    .token = s->k->token });

	return r < 0 ? verror_set(e, r, "AWS STS: cannot sign a request") : 0;
}

/* POSTs an STS form (body) and reads the Credentials of the answer;
 * signed with k when non-NULL. */
static int sts_call(struct aws_creds *c, const char *action, const char *body,
		    const struct aws_keys *k, struct aws_keys *out,
		    struct verror *e)
{
	static const char *const hdrs[] = {
		"Content-Type: application/x-www-form-urlencoded; "
		"charset=utf-8",
		"Accept: application/xml",
		NULL,
	};
	struct sts_sign s = { .k = k, .region = c->region };
	struct http_request req = {
		.method = "POST",
		.url = c->endpoint,
		.what = action,
		.headers = hdrs,
		.body = body,
		.body_len = strlen(body),
	};
	struct http_response resp;
	struct sts_answer a = { { 0 }, 0 };
	struct sbuf ans;
	char host[256];
	const char *p = strstr(c->endpoint, "://");
	unsigned char hash[32];
	int r;

	p = p ? p + 3 : c->endpoint;
	snprintf(host, sizeof(host), "%.*s", (int)strcspn(p, "/"), p);
	if (k) {
		remote_sha256(body, strlen(body), hash);
		remote_hex(hash, 32, s.body_hash);
		s.host = host;
		req.sign = sts_sign_cb;
		req.sign_ctx = &s;
	}
	sbuf_init(&ans, ANSWER_MAX);
	r = http_do(c->http, &req, &ans, &resp, e);
	if (r >= 0 && resp.status / 100 != 2)
		r = answer_error(c, "POST", action, &resp, &ans, e);
	if (r >= 0)
		r = remote_xml_parse(ans.buf ? ans.buf : "", ans.len, sts_xml,
				     &a, e);
	remote_sbuf_wipe(&ans);
	if (r >= 0 && (!a.k.access_key || !a.k.secret_key))
		r = verror_set(e, -EBADMSG,
			       "AWS STS %s: no Credentials in "
			       "the answer",
			       action);
	if (r < 0) {
		aws_keys_release(&a.k);
		return r;
	}
	*out = a.k;
	return 0;
}

static int fetch_sts(struct aws_creds *c, struct aws_keys *out,
		     struct verror *e)
{
	const bool web = c->kind == AWS_WEB_IDENTITY;
	const char *action = web ? "AssumeRoleWithWebIdentity" : "AssumeRole";
	struct aws_keys src = { 0 };
	struct sbuf body, tok;
	int r;

	sbuf_init(&body, 1 << 20);
	sbuf_init(&tok, 1 << 20);
	if (web) {
		r = creds_read_token(c->token_file, "web identity token file",
				     &tok, e);
		if (r < 0) {
			remote_sbuf_wipe(&tok);
			return r;
		}
	} else {
		r = aws_creds_get(c->source, &src, e);
		if (r < 0) {
			remote_sbuf_wipe(&tok);
			return verror_prefix(e, r, "the source of %s",
					     c->where);
		}
	}
	r = creds_form_add(&body, "Action", action);
	if (r >= 0)
		r = creds_form_add(&body, "Version", "2011-06-15");
	if (r >= 0)
		r = creds_form_add(&body, "RoleArn", c->role_arn);
	if (r >= 0)
		r = creds_form_add(&body, "RoleSessionName", c->session_name);
	if (r >= 0)
		r = creds_form_add(&body, "DurationSeconds", "3600");
	if (r >= 0 && web)
		r = creds_form_add(&body, "WebIdentityToken", tok.buf);
	if (r >= 0)
		r = sts_call(c, action, body.buf, web ? NULL : &src, out, e);
	remote_sbuf_wipe(&body);
	remote_sbuf_wipe(&tok);
	aws_keys_release(&src);
	return r;
}

/* Runs cmd through /bin/sh with stdout into out (capped), within the
 * time limit. Returns 0 when it exited 0. */
static int run_process(const char *cmd, struct sbuf *out, struct verror *e)
{
	char *argv[] = { (char *)"sh", (char *)"-c", (char *)cmd, NULL };
	posix_spawn_file_actions_t fa;
	int p[2], status, r = 0;
	int64_t deadline = clock_now_ms() + PROCESS_TIMEOUT_MS;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null",
					 O_RDONLY, 0);
	r = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (r) {
		close(p[0]);
		return verror_set(e, -r, "credential_process: cannot run: %s",
				  strerror(r));
	}
	for (;;) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		int64_t left = deadline - clock_now_ms();
		char buf[4096];
		ssize_t n;

		if (left <= 0) {
			r = verror_set(e, -ETIMEDOUT,
				       "credential_process: no answer within "
				       "%d s",
				       PROCESS_TIMEOUT_MS / 1000);
			kill(pid, SIGKILL);
			break;
		}
		if (poll(&pfd, 1, (int)MIN(left, 1000)) <= 0)
			continue;
		n = read(p[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (sbuf_add(out, buf, (size_t)n) < 0) {
			r = verror_set(e, -E2BIG,
				       "credential_process: more than 1 MiB "
				       "of output");
			kill(pid, SIGKILL);
			OPENSSL_cleanse(buf, sizeof(buf));
			break;
		}
		OPENSSL_cleanse(buf, sizeof(buf));
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r >= 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		r = verror_set(e, -EACCES,
			       "credential_process failed (exit status %d)",
			       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return r;
}

static int fetch_process(struct aws_creds *c, struct aws_keys *out,
			 struct verror *e)
{
	struct sbuf o;
	json_t *j = NULL;
	int r;

	sbuf_init(&o, PROCESS_OUT_MAX);
	r = run_process(c->process, &o, e);
	if (r >= 0) {
		j = json_loadb(o.buf ? o.buf : "", o.len, 0, NULL);
		if (!json_is_object(j) ||
		    json_integer_value(json_object_get(j, "Version")) != 1)
			r = verror_set(e, -EBADMSG,
				       "credential_process: the output is not "
				       "a JSON object with Version 1");
	}
	if (r >= 0)
		r = keys_from_json(j, "AccessKeyId", "SecretAccessKey",
				   "SessionToken", "Expiration", out,
				   "credential_process", e);
	json_decref(j);
	remote_sbuf_wipe(&o);
	if (r < 0)
		verror_prefix(e, r, "%s", c->where);
	return r;
}

/* GET or PUT with extra header lines; the body of a 2xx into out. */
static int simple_call(struct aws_creds *c, const char *method, const char *url,
		       const char *what, const char *const *hdrs,
		       struct sbuf *out, struct verror *e)
{
	struct http_request req = {
		.method = method,
		.url = url,
		.what = what,
		.headers = hdrs,
	};
	struct http_response resp;
	int r = http_do(c->http, &req, out, &resp, e);

	if (r >= 0 && resp.status / 100 != 2)
		r = answer_error(c, method, what, &resp, out, e);
	return r;
}

static int fetch_sso(struct aws_creds *c, struct aws_keys *out,
		     struct verror *e)
{
	json_t *cache = NULL, *ans = NULL;
	struct sbuf b, url, hdr;
	const char *tok, *exp;
	const char *hdrs[2] = { NULL, NULL };
	int r;

	cache = json_load_file(c->sso_cache, 0, NULL);
	tok = json_string_value(json_object_get(cache, "accessToken"));
	exp = json_string_value(json_object_get(cache, "expiresAt"));
	if (!tok) {
		json_decref(cache);
		return verror_set(e, -EACCES,
				  "%s: no SSO token in %s: run `aws sso login "
				  "--profile %s`",
				  c->where, c->sso_cache, c->sso_profile);
	}
	if (exp && remote_parse_time(exp) &&
	    remote_parse_time(exp) <= creds_now()) {
		r = verror_set(e, -EACCES,
			       "%s: the SSO token expired at %.40s: run `aws "
			       "sso login --profile %s`",
			       c->where, exp, c->sso_profile);
		json_decref(cache);
		return r;
	}
	sbuf_init(&b, ANSWER_MAX);
	sbuf_init(&url, 8192);
	sbuf_init(&hdr, 65536);
	r = sbuf_addf(&url,
		      "%s/federation/credentials?account_id=", c->endpoint);
	if (r >= 0)
		r = remote_uri_encode(&url, c->sso_account, false);
	if (r >= 0)
		r = sbuf_adds(&url, "&role_name=");
	if (r >= 0)
		r = remote_uri_encode(&url, c->sso_role, false);
	if (r >= 0)
		r = sbuf_addf(&hdr, "x-amz-sso_bearer_token: %s", tok);
	hdrs[0] = hdr.buf;
	if (r >= 0)
		r = simple_call(c, "GET", url.buf, "GetRoleCredentials", hdrs,
				&b, e);
	if (r >= 0) {
		ans = json_loadb(b.buf ? b.buf : "", b.len, 0, NULL);
		r = keys_from_json(json_object_get(ans, "roleCredentials"),
				   "accessKeyId", "secretAccessKey",
				   "sessionToken", "expiration", out,
				   "SSO GetRoleCredentials", e);
	}
	remote_sbuf_wipe(&hdr);
	remote_sbuf_wipe(&b);
	sbuf_release(&url);
	json_decref(ans);
	json_decref(cache);
	return r;
}

static int fetch_imds(struct aws_creds *c, struct aws_keys *out,
		      struct verror *e)
{
	static const char *const ttl[] = { "X-aws-ec2-metadata-token-ttl-"
					   "seconds: 21600",
					   NULL };
	struct sbuf tok, b, url, hdr;
	const char *hdrs[2] = { NULL, NULL };
	json_t *j = NULL;
	size_t n;
	int r;

	sbuf_init(&tok, 16384);
	sbuf_init(&b, ANSWER_MAX);
	sbuf_init(&url, 8192);
	sbuf_init(&hdr, 16384);
	r = sbuf_addf(&url, "%s/latest/api/token", c->endpoint);
	if (r >= 0)
		r = simple_call(c, "PUT", url.buf, "IMDSv2 token", ttl, &tok,
				e);
	if (r >= 0)
		r = sbuf_addc(&tok, '\0');
	if (r >= 0)
		r = sbuf_addf(&hdr, "X-aws-ec2-metadata-token: %s", tok.buf);
	hdrs[0] = hdr.buf;
	sbuf_reset(&url);
	if (r >= 0)
		r = sbuf_addf(&url,
			      "%s/latest/meta-data/iam/security-"
			      "credentials/",
			      c->endpoint);
	if (r >= 0)
		r = simple_call(c, "GET", url.buf, "the instance's role", hdrs,
				&b, e);
	n = b.buf ? strcspn(b.buf, "\r\n") : 0;
	if (r >= 0 && (n == 0 || n > 128 || memchr(b.buf, '/', n)))
		r = verror_set(e, -EACCES, "the EC2 instance has no IAM role");
	if (r >= 0)
		r = sbuf_addf(&url, "%.*s", (int)n, b.buf);
	sbuf_reset(&b);
	if (r >= 0)
		r = simple_call(c, "GET", url.buf, "the role's credentials",
				hdrs, &b, e);
	if (r >= 0) {
		j = json_loadb(b.buf ? b.buf : "", b.len, 0, NULL);
		r = keys_from_json(j, "AccessKeyId", "SecretAccessKey", "Token",
				   "Expiration", out, "IMDS", e);
	}
	json_decref(j);
	remote_sbuf_wipe(&tok);
	remote_sbuf_wipe(&hdr);
	remote_sbuf_wipe(&b);
	sbuf_release(&url);
	return r;
}

/* ECS task roles and EKS Pod Identity: GET the endpoint, with the
 * authorization token (read again each time: it is rotated) when given. */
static int fetch_container(struct aws_creds *c, struct aws_keys *out,
			   struct verror *e)
{
	struct sbuf b, tok, hdr;
	const char *hdrs[2] = { NULL, NULL };
	json_t *j = NULL;
	int r = 0;

	sbuf_init(&b, ANSWER_MAX);
	sbuf_init(&tok, 16384);
	sbuf_init(&hdr, 16384);
	if (c->token_file)
		r = creds_read_token(c->token_file,
				     "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
				     &tok, e);
	else if (env("AWS_CONTAINER_AUTHORIZATION_TOKEN"))
		r = sbuf_adds(&tok, env("AWS_CONTAINER_AUTHORIZATION_TOKEN"));
	if (r >= 0 && tok.len && strpbrk(tok.buf, "\r\n"))
		r = verror_set(e, -EINVAL,
			       "the container authorization token has a line "
			       "break");
	if (r >= 0 && tok.len)
		r = sbuf_addf(&hdr, "Authorization: %s", tok.buf);
	hdrs[0] = hdr.len ? hdr.buf : NULL;
	if (r >= 0)
		r = simple_call(c, "GET", c->endpoint, "container credentials",
				hdrs, &b, e);
	if (r >= 0) {
		j = json_loadb(b.buf ? b.buf : "", b.len, 0, NULL);
		r = keys_from_json(j, "AccessKeyId", "SecretAccessKey", "Token",
				   "Expiration", out, "container credentials",
				   e);
	}
	json_decref(j);
	remote_sbuf_wipe(&tok);
	remote_sbuf_wipe(&hdr);
	remote_sbuf_wipe(&b);
	return r;
}

static int fetch(struct aws_creds *c, struct aws_keys *out, struct verror *e)
{
	switch (c->kind) {
	case AWS_PROCESS:
		return fetch_process(c, out, e);
	case AWS_ASSUME_ROLE:
	case AWS_WEB_IDENTITY:
		return fetch_sts(c, out, e);
	case AWS_SSO:
		return fetch_sso(c, out, e);
	case AWS_IMDS:
		return fetch_imds(c, out, e);
	case AWS_CONTAINER:
		return fetch_container(c, out, e);
	case AWS_STATIC:
	default:
		return verror_set(e, -EINVAL, "static keys do not refresh");
	}
}

int aws_creds_get(struct aws_creds *c, struct aws_keys *out, struct verror *e)
{
	int64_t now = creds_now();
	int r = 0;

	pthread_mutex_lock(&c->lock);
	if (c->kind != AWS_STATIC &&
	    (!c->cur.access_key ||
	     (c->cur.expires &&
	      now >= c->cur.expires - CREDS_REFRESH_MARGIN_S))) {
		struct aws_keys fresh = { 0 };

		r = fetch(c, &fresh, e);
		if (r >= 0) {
			log_debug("%s: %s credentials fetched%s", c->where,
				  kind_names[c->kind],
				  fresh.expires ? ", with an expiry" : "");
			aws_keys_release(&c->cur);
			c->cur = fresh;
		} else if (c->cur.access_key && now < c->cur.expires) {
			log_debug("%s: refreshing failed (%s); the current "
				  "credentials are still valid",
				  c->where, e ? e->msg : "");
			r = 0;
		}
	}
	if (r >= 0)
		r = keys_copy(&c->cur, out);
	pthread_mutex_unlock(&c->lock);
	return r;
}

/* --- finding them ----------------------------------------------------- */

struct finder {
	const struct aws_creds_options *o;
	const char *files[2]; /* where profiles are read, in order */
	bool missing_ok;
	char *shared, *config; /* owned paths */
};

/* A key of a profile: the first file that has it. */
static int prof(struct finder *f, const char *profile, const char *key,
		char **out, struct verror *e)
{
	size_t i;
	int r;

	for (i = 0; i < ARRAY_SIZE(f->files) && f->files[i]; i++) {
		r = remote_file_value(f->files[i], profile, key, f->missing_ok,
				      out, e);
		if (r != 0)
			return r;
	}
	return 0;
}

static int set_sts_endpoint(struct aws_creds *c, const char *region)
{
	const char *ep = env("AWS_ENDPOINT_URL_STS");

	if (!ep)
		ep = env("AWS_ENDPOINT_URL");
	c->region = strdup(region ? region : "us-east-1");
	if (ep)
		c->endpoint = strdup(ep);
	else if (asprintf(&c->endpoint, "https://sts.%s.amazonaws.com",
			  c->region ? c->region : "us-east-1") < 0)
		c->endpoint = NULL;
	return c->endpoint && c->region ? 0 : -ENOMEM;
}

static int session_name(struct aws_creds *c, const char *given)
{
	if (given)
		c->session_name = strdup(given);
	else if (asprintf(&c->session_name, "velerofs-%lld",
			  (long long)creds_now()) < 0)
		c->session_name = NULL;
	return c->session_name ? 0 : -ENOMEM;
}

static int imds_new(struct aws_creds **out, unsigned attempts, struct verror *e)
{
	const char *ep = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	struct aws_creds *c = creds_alloc(AWS_IMDS, "the EC2 instance role");
	size_t n;

	if (!c)
		return -ENOMEM;
	c->endpoint = strdup(ep ? ep : "http://169.254.169.254");
	if (!c->endpoint) {
		aws_creds_free(c);
		return -ENOMEM;
	}
	n = strlen(c->endpoint);
	while (n && c->endpoint[n - 1] == '/')
		c->endpoint[--n] = '\0';
	if (http_client(c, "EC2 instance metadata", 1000, attempts, e) < 0) {
		aws_creds_free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

static int static_new(struct aws_keys *k, const char *where,
		      struct aws_creds **out)
{
	struct aws_creds *c = creds_alloc(AWS_STATIC, where);

	if (!c) {
		aws_keys_release(k);
		return -ENOMEM;
	}
	c->cur = *k;
	*k = (struct aws_keys){ 0 };
	*out = c;
	return 0;
}

static int from_profile(struct finder *f, const char *profile, int depth,
			struct aws_creds **out, struct verror *e);

/* role_arn with source_profile or credential_source. */
static int assume_role_new(struct finder *f, const char *profile,
			   char *role_arn, int depth, struct aws_creds *c,
			   struct verror *e)
{
	_cleanup_free_ char *src = NULL, *cs = NULL, *name = NULL,
			    *region = NULL;
	int r;

	c->role_arn = role_arn;
	r = prof(f, profile, "source_profile", &src, e);
	if (r >= 0)
		r = prof(f, profile, "credential_source", &cs, e);
	if (r >= 0)
		r = prof(f, profile, "role_session_name", &name, e);
	if (r >= 0)
		r = prof(f, profile, "region", &region, e);
	if (r < 0)
		return r;
	if (src && !strcmp(src, profile)) {
		/* a profile that is its own source: its keys, then the role */
		struct finder g = *f;
		_cleanup_free_ char *id = NULL, *secret = NULL, *token = NULL;
		struct aws_keys k = { 0 };

		r = prof(&g, profile, "aws_access_key_id", &id, e);
		if (r >= 0)
			r = prof(&g, profile, "aws_secret_access_key", &secret,
				 e);
		if (r >= 0)
			r = prof(&g, profile, "aws_session_token", &token, e);
		if (r < 0)
			return r;
		if (!id || !secret)
			return verror_set(e, -EINVAL,
					  "profile '%s' is its own "
					  "source_profile but has no keys",
					  profile);
		k.access_key = TAKE_PTR(id);
		k.secret_key = TAKE_PTR(secret);
		k.token = TAKE_PTR(token);
		r = static_new(&k, "source keys", &c->source);
	} else if (src) {
		r = from_profile(f, src, depth + 1, &c->source, e);
		if (r >= 0 && !c->source)
			r = verror_set(e, -EINVAL,
				       "profile '%s': source_profile '%s' has "
				       "no credentials",
				       profile, src);
	} else if (cs && !strcmp(cs, "Ec2InstanceMetadata")) {
		r = imds_new(&c->source, 3, e);
	} else if (cs && !strcmp(cs, "Environment")) {
		struct aws_keys k = { 0 };

		if (!env("AWS_ACCESS_KEY_ID") || !env("AWS_SECRET_ACCESS_KEY"))
			return verror_set(e, -EINVAL,
					  "profile '%s': credential_source "
					  "Environment, but AWS_ACCESS_KEY_ID "
					  "or AWS_SECRET_ACCESS_KEY is unset",
					  profile);
		k.access_key = strdup(env("AWS_ACCESS_KEY_ID"));
		k.secret_key = strdup(env("AWS_SECRET_ACCESS_KEY"));
		if (env("AWS_SESSION_TOKEN"))
			k.token = strdup(env("AWS_SESSION_TOKEN"));
		r = static_new(&k, "the environment", &c->source);
	} else {
		r = verror_set(e, -EINVAL,
			       "profile '%s' has role_arn but no "
			       "source_profile, credential_source or "
			       "web_identity_token_file",
			       profile);
	}
	if (r >= 0)
		r = set_sts_endpoint(c, region ? region : f->o->region);
	if (r >= 0)
		r = session_name(c, name);
	if (r >= 0)
		r = http_client(c, "AWS STS", 0, 0, e);
	return r;
}

static int sso_new(struct finder *f, const char *profile, struct aws_creds *c,
		   struct verror *e)
{
	_cleanup_free_ char *sess = NULL, *start = NULL, *region = NULL,
			    *section = NULL;
	const char *home = env("HOME"), *ep = env("AWS_ENDPOINT_URL_SSO");
	unsigned char sha[SHA_DIGEST_LENGTH];
	char hex[2 * SHA_DIGEST_LENGTH + 1];
	const char *key;
	int r;

	r = prof(f, profile, "sso_session", &sess, e);
	if (r >= 0)
		r = prof(f, profile, "sso_account_id", &c->sso_account, e);
	if (r >= 0)
		r = prof(f, profile, "sso_role_name", &c->sso_role, e);
	if (r >= 0)
		r = prof(f, profile, "sso_start_url", &start, e);
	if (r >= 0)
		r = prof(f, profile, "sso_region", &region, e);
	if (r >= 0 && sess && !region) {
		if (asprintf(&section, "sso-session %s", sess) < 0)
			return -ENOMEM;
		r = prof(f, section, "sso_region", &region, e);
	}
	if (r < 0)
		return r;
	if (!c->sso_account || !c->sso_role || !region || (!sess && !start))
		return verror_set(e, -EINVAL,
				  "profile '%s': an SSO profile needs "
				  "sso_account_id, sso_role_name, sso_region "
				  "and sso_session or sso_start_url",
				  profile);
	key = sess ? sess : start;
	SHA1((const unsigned char *)key, strlen(key), sha);
	remote_hex(sha, SHA_DIGEST_LENGTH, hex);
	if (!home)
		return verror_set(e, -EINVAL, "SSO: HOME is not set");
	if (asprintf(&c->sso_cache, "%s/.aws/sso/cache/%s.json", home, hex) <
	    0) {
		c->sso_cache = NULL;
		return -ENOMEM;
	}
	if (ep)
		c->endpoint = strdup(ep);
	else if (asprintf(&c->endpoint, "https://portal.sso.%s.amazonaws.com",
			  region) < 0)
		c->endpoint = NULL;
	c->sso_profile = strdup(profile);
	if (!c->endpoint || !c->sso_profile)
		return -ENOMEM;
	return http_client(c, "AWS SSO", 0, 0, e);
}

static int web_identity_new(const char *token_file, const char *role_arn,
			    const char *name, const char *region,
			    const char *where, struct aws_creds **out,
			    struct verror *e)
{
	struct aws_creds *c = creds_alloc(AWS_WEB_IDENTITY, where);
	int r;

	if (!c)
		return -ENOMEM;
	c->token_file = strdup(token_file);
	c->role_arn = strdup(role_arn);
	r = c->token_file && c->role_arn ? 0 : -ENOMEM;
	if (r >= 0)
		r = set_sts_endpoint(c, region);
	if (r >= 0)
		r = session_name(c, name);
	if (r >= 0)
		r = http_client(c, "AWS STS", 0, 0, e);
	if (r < 0) {
		aws_creds_free(c);
		return r;
	}
	*out = c;
	return 0;
}

/* The credentials of profile (NULL *out: it has none). */
static int from_profile(struct finder *f, const char *profile, int depth,
			struct aws_creds **out, struct verror *e)
{
	_cleanup_free_ char *id = NULL, *secret = NULL, *token = NULL,
			    *role = NULL, *process = NULL, *sso = NULL,
			    *sso_sess = NULL, *wif = NULL, *where = NULL;
	struct aws_creds *c = NULL;
	int r;

	*out = NULL;
	if (depth > CHAIN_MAX)
		return verror_set(e, -ELOOP,
				  "profile '%s': source_profile chain longer "
				  "than %d",
				  profile, CHAIN_MAX);
	if (asprintf(&where, "profile '%s'", profile) < 0) {
		where = NULL;
		return -ENOMEM;
	}
	r = prof(f, profile, "role_arn", &role, e);
	if (r >= 0)
		r = prof(f, profile, "web_identity_token_file", &wif, e);
	if (r >= 0)
		r = prof(f, profile, "credential_process", &process, e);
	if (r >= 0)
		r = prof(f, profile, "sso_account_id", &sso, e);
	if (r >= 0)
		r = prof(f, profile, "sso_session", &sso_sess, e);
	if (r >= 0)
		r = prof(f, profile, "aws_access_key_id", &id, e);
	if (r < 0)
		return r;
	if (role && wif) {
		_cleanup_free_ char *name = NULL, *region = NULL;

		r = prof(f, profile, "role_session_name", &name, e);
		if (r >= 0)
			r = prof(f, profile, "region", &region, e);
		if (r >= 0)
			r = web_identity_new(wif, role, name,
					     region ? region : f->o->region,
					     where, out, e);
		return r;
	}
	if (role) {
		c = creds_alloc(AWS_ASSUME_ROLE, where);
		if (!c)
			return -ENOMEM;
		r = assume_role_new(f, profile, TAKE_PTR(role), depth, c, e);
	} else if (id) {
		struct aws_keys k = { 0 };

		r = prof(f, profile, "aws_secret_access_key", &secret, e);
		if (r == 0)
			return verror_set(e, -EINVAL,
					  "profile '%s' has aws_access_key_id "
					  "but no aws_secret_access_key",
					  profile);
		if (r >= 0)
			r = prof(f, profile, "aws_session_token", &token, e);
		if (r < 0)
			return r;
		k.access_key = TAKE_PTR(id);
		k.secret_key = TAKE_PTR(secret);
		k.token = TAKE_PTR(token);
		return static_new(&k, where, out);
	} else if (process) {
		c = creds_alloc(AWS_PROCESS, where);
		if (!c)
			return -ENOMEM;
		c->process = TAKE_PTR(process);
	} else if (sso || sso_sess) {
		c = creds_alloc(AWS_SSO, where);
		if (!c)
			return -ENOMEM;
		r = sso_new(f, profile, c, e);
	} else {
		return 0;
	}
	if (r < 0) {
		aws_creds_free(c);
		return r;
	}
	*out = c;
	return 0;
}

static int finder_init(struct finder *f, const struct aws_creds_options *o)
{
	const char *home = env("HOME");

	*f = (struct finder){ .o = o };
	if (o->credentials_file) {
		f->files[0] = o->credentials_file;
		return 0;
	}
	f->missing_ok = true;
	if (env("AWS_SHARED_CREDENTIALS_FILE"))
		f->files[0] = env("AWS_SHARED_CREDENTIALS_FILE");
	else if (home && asprintf(&f->shared, "%s/.aws/credentials", home) >= 0)
		f->files[0] = f->shared;
	if (env("AWS_CONFIG_FILE"))
		f->files[f->files[0] ? 1 : 0] = env("AWS_CONFIG_FILE");
	else if (home && asprintf(&f->config, "%s/.aws/config", home) >= 0)
		f->files[f->files[0] ? 1 : 0] = f->config;
	return 0;
}

static void finder_release(struct finder *f)
{
	free(f->shared);
	free(f->config);
}

/* The sources of the chain, after the profile, when nothing is named. */
static int chain_env(const struct aws_creds_options *o, struct aws_creds **out,
		     struct verror *e)
{
	struct aws_keys k = { 0 };

	if (env("AWS_ACCESS_KEY_ID")) {
		if (!env("AWS_SECRET_ACCESS_KEY"))
			return verror_set(e, -EINVAL,
					  "AWS_ACCESS_KEY_ID is set but "
					  "AWS_SECRET_ACCESS_KEY is not");
		k.access_key = strdup(env("AWS_ACCESS_KEY_ID"));
		k.secret_key = strdup(env("AWS_SECRET_ACCESS_KEY"));
		if (env("AWS_SESSION_TOKEN"))
			k.token = strdup(env("AWS_SESSION_TOKEN"));
		if (!k.access_key || !k.secret_key ||
		    (env("AWS_SESSION_TOKEN") && !k.token)) {
			aws_keys_release(&k);
			return -ENOMEM;
		}
		return static_new(&k, "the environment", out);
	}
	if (env("AWS_CONTAINER_CREDENTIALS_FULL_URI") || env("AWS_CONTAINER_"
							     "CREDENTIALS_"
							     "RELATIVE_URI")) {
		struct aws_creds *c = creds_alloc(AWS_CONTAINER, "the "
								 "container's "
								 "role");
		int r;

		if (!c)
			return -ENOMEM;
		if (env("AWS_CONTAINER_CREDENTIALS_FULL_URI"))
			c->endpoint = strdup(env("AWS_CONTAINER_CREDENTIALS_"
						 "FULL_URI"));
		else if (asprintf(&c->endpoint, "http://169.254.170.2%s",
				  env("AWS_CONTAINER_CREDENTIALS_RELATIVE_"
				      "URI")) < 0)
			c->endpoint = NULL;
		if (env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"))
			c->token_file = strdup(env("AWS_CONTAINER_"
						   "AUTHORIZATION_TOKEN_FILE"));
		r = c->endpoint ?
			    http_client(c, "container credentials", 0, 0, e) :
			    -ENOMEM;
		if (r < 0) {
			aws_creds_free(c);
			return r;
		}
		*out = c;
		return 0;
	}
	if (env("AWS_WEB_IDENTITY_TOKEN_FILE") && env("AWS_ROLE_ARN"))
		return web_identity_new(env("AWS_WEB_IDENTITY_TOKEN_FILE"),
					env("AWS_ROLE_ARN"),
					env("AWS_ROLE_SESSION_NAME"), o->region,
					"AWS_WEB_IDENTITY_TOKEN_FILE", out, e);
	return 0;
}

int aws_creds_new(const struct aws_creds_options *o, struct aws_creds **out,
		  struct verror *e)
{
	const char *profile = o->profile;
	struct aws_creds *c = NULL;
	struct aws_keys first = { 0 };
	struct finder f;
	const char *imds_off = env("AWS_EC2_METADATA_DISABLED");
	int r = 0;

	*out = NULL;
	if (!profile)
		profile = env("AWS_PROFILE");
	if (!profile)
		profile = "default";
	finder_init(&f, o);
	if (!o->credentials_file && !o->profile)
		r = chain_env(o, &c, e);
	if (r >= 0 && !c)
		r = from_profile(&f, profile, 0, &c, e);
	if (r >= 0 && !c && o->credentials_file)
		r = verror_set(e, -EINVAL,
			       "credentials file %s: no credentials in "
			       "profile '%s' (aws_access_key_id, "
			       "credential_process, role_arn, sso_*)",
			       o->credentials_file, profile);
	if (r >= 0 && !c && (o->profile || env("AWS_PROFILE")))
		r = verror_set(e, -EINVAL,
			       "no credentials for profile '%s' in %s%s%s",
			       profile, f.files[0] ? f.files[0] : "",
			       f.files[1] ? " or " : "",
			       f.files[1] ? f.files[1] : "");
	if (r >= 0 && !c && !(imds_off && !strcasecmp(imds_off, "true"))) {
		struct verror ie = { { 0 } };

		r = imds_new(&c, 1, e);
		if (r >= 0 && aws_creds_get(c, &first, &ie) < 0) {
			log_debug("no EC2 instance role: %s", ie.msg);
			c = aws_creds_free(c);
		}
	}
	finder_release(&f);
	if (r >= 0 && c && !first.access_key)
		r = aws_creds_get(c, &first, e);
	aws_keys_release(&first);
	if (r < 0) {
		aws_creds_free(c);
		return r;
	}
	if (!c)
		verror_set(e, 0,
			   "no AWS credentials: none in the environment "
			   "(AWS_ACCESS_KEY_ID, AWS_WEB_IDENTITY_TOKEN_FILE), "
			   "in profile '%s' of ~/.aws/credentials or "
			   "~/.aws/config, nor an EC2 instance role",
			   profile);
	*out = c;
	return 0;
}
