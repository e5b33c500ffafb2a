/* cli/cmd_url: `velerofs url` and what `velerofs mount --bsl` asks of a
 * cluster.
 *
 * `velerofs url BSL.yaml` prints the vault URL of each
 * BackupStorageLocation in a YAML or JSON file (one object, several
 * documents, or a List as `kubectl get bsl -o yaml` prints it); `velerofs
 * url --bsl NAME` reads it from the cluster instead. The mapping itself
 * is vault_bsl_read() (vault/bsl.c).
 *
 * For `mount --bsl` (cli_bsl_resolve()), the BSL and its credential
 * Secret are read from the cluster, and the Secret's content and the
 * BSL's caCert are handed to the vault as anonymous memory files
 * (memfd, sealed, close-on-exec) named /proc/self/fd/N: nothing is
 * written to disk, nothing secret is in argv. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli/cli.h"
#include "common/base64.h"
#include "common/dns.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "common/yread.h"
#include "kube/kube.h"
#include "vault/vault.h"

#define BSL_FILE_MAX (8u << 20)
#define BSL_SECRET_MAX (1u << 20)

/* An anonymous, sealed memory file holding data[0..len); its path is
 * /proc/self/fd/N. Returns the fd or -errno. */
static int memfile(const char *name, const void *data, size_t len)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	const char *p = data;

	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int r = n < 0 ? -errno : -EIO;

			close(fd);
			return r;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS,
		  F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
		log_debug("sealing %s: %m", name);
	return fd;
}

static int bsl_get(struct kube *k, const char *name, const char *ns,
		   json_t **out, struct verror *e)
{
	char path[600];

	snprintf(path, sizeof(path),
		 "/apis/velero.io/v1/namespaces/%s/backupstoragelocations/%s",
		 ns, name);
	return kube_get(k, path, out, e);
}

/* The content of key in Secret name (caller wipes and frees *out).
 * -ENOENT when the Secret does not exist, -ENOKEY when it lacks key. */
static int secret_get(struct kube *k, const char *ns, const char *name,
		      const char *key, struct sbuf *out, struct verror *e)
{
	char path[600];
	json_t *secret = NULL;
	const char *v;
	unsigned char *buf;
	size_t n;
	long len;
	int r;

	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/secrets/%s", ns,
		 name);
	r = kube_get(k, path, &secret, e);
	if (r < 0)
		return r;
	v = json_string_value(
		json_object_get(json_object_get(secret, "data"), key));
	if (!v) {
		json_decref(secret);
		return verror_set(e, -ENOKEY, "Secret %s/%s has no key '%s'",
				  ns, name, key);
	}
	n = strlen(v);
	if (n > BSL_SECRET_MAX * 4 / 3 + 4) {
		json_decref(secret);
		return verror_set(e, -E2BIG, "Secret %s/%s: '%s' is over 1 MiB",
				  ns, name, key);
	}
	buf = malloc(n / 4 * 3 + 4);
	len = buf ? base64_decode(v, n, 0, buf, n / 4 * 3 + 3) : -ENOMEM;
	if (len >= 0)
		r = sbuf_add(out, buf, (size_t)len);
	else
		r = len == -ENOMEM ? -ENOMEM :
				     verror_set(e, -EINVAL,
						"Secret %s/%s: '%s' is not "
						"base64",
						ns, name, key);
	if (buf) {
		OPENSSL_cleanse(buf, n / 4 * 3 + 4);
		free(buf);
	}
	/* the Secret's JSON text is gone with it; its strings were base64 */
	json_decref(secret);
	return r;
}

static int names_ok(const char *name, const char *ns)
{
	if (!dns_subdomain_ok(name, strlen(name)))
		return log_error_errno(
			EINVAL, "--bsl %s: not a Kubernetes object name", name);
	if (!dns_label_ok(ns, strlen(ns)))
		return log_error_errno(
			EINVAL, "-n %s: not a Kubernetes namespace name", ns);
	return 0;
}

static int open_cluster(const char *kubeconfig, const char *context,
			struct kube **k)
{
	struct kube_options ko = { .kubeconfig = kubeconfig,
				   .context = context };
	struct verror e = { { 0 } };
	int r = kube_open(&ko, k, &e);

	if (r < 0)
		return log_error_errno(r,
				       "reading the BackupStorageLocation: %s",
				       cli_why(&e, r));
	return 0;
}

int cli_bsl_resolve(const struct cli_bsl *in, struct cli_bsl_out *out)
{
	struct vault_bsl b = { 0 };
	struct verror e = { { 0 } };
	struct kube *k = NULL;
	json_t *obj = NULL;
	struct sbuf secret, creds, url;
	bool default_secret;
	int r;

	*out = (struct cli_bsl_out){ .cred_fd = -1, .ca_fd = -1 };
	r = names_ok(in->name, in->ns);
	if (r < 0)
		return r;
	r = open_cluster(in->kubeconfig, in->context, &k);
	if (r < 0)
		return r;
	sbuf_init(&secret, BSL_SECRET_MAX);
	sbuf_init(&creds, 2 * BSL_SECRET_MAX);
	sbuf_init(&url, 1 << 16);
	r = bsl_get(k, in->name, in->ns, &obj, &e);
	if (r < 0) {
		log_error_errno(r, "BackupStorageLocation %s/%s in %s: %s",
				in->ns, in->name, kube_server(k),
				cli_why(&e, r));
		goto out;
	}
	r = vault_bsl_read(obj, 0, &b, &e);
	if (r < 0) {
		log_error_errno(r, "%s/%s: %s", in->ns, in->name, e.msg);
		goto out;
	}
	default_secret = !json_object_get(
		json_object_get(json_object_get(obj, "spec"), "credential"),
		"name");
	if (in->have_credentials) {
		log_debug("--credentials given: the BSL's Secret is not read");
	} else {
		r = secret_get(k, in->ns, b.secret_name, b.secret_key, &secret,
			       &e);
		if (r == -ENOENT && default_secret) {
			/* Velero too runs without one (IRSA, workload
			 * identity, instance roles) */
			log_warning("%s/%s names no credential and there is no "
				    "Secret %s: using the credentials of this "
				    "environment",
				    in->ns, in->name, b.secret_name);
			r = 0;
		} else if (r < 0) {
			log_error_errno(r, "the credentials of %s/%s: %s",
					in->ns, in->name, cli_why(&e, r));
			goto out;
		} else {
			r = vault_bsl_credentials(&b, secret.buf, secret.len,
						  &creds, &e);
			if (r >= 0)
				r = memfile("velerofs-bsl-credentials",
					    creds.buf, creds.len);
			if (r < 0) {
				log_error_errno(r,
						"the credentials of %s/%s: %s",
						in->ns, in->name,
						cli_why(&e, r));
				goto out;
			}
			out->cred_fd = r;
			if (asprintf(&out->credentials, "/proc/self/fd/%d", r) <
			    0) {
				out->credentials = NULL;
				r = log_error_errno(ENOMEM, "%m");
				goto out;
			}
		}
	}
	if (out->cred_fd >= 0) {
		/* the Secret's file: its profile, not AWS_PROFILE's */
		vault_bsl_release(&b);
		r = vault_bsl_read(obj, VAULT_BSL_PIN_PROFILE, &b, &e);
		if (r < 0) {
			log_error_errno(r, "%s/%s: %s", in->ns, in->name,
					e.msg);
			goto out;
		}
	}
	r = sbuf_adds(&url, b.url);
	if (r >= 0 && b.ca_pem) {
		r = memfile("velerofs-bsl-ca", b.ca_pem, b.ca_len);
		if (r >= 0) {
			out->ca_fd = r;
			r = sbuf_addf(&url, "%cca=/proc/self/fd/%d",
				      strchr(b.url, '?') ? '&' : '?', r);
		}
	}
	if (r < 0) {
		log_error_errno(r, "%s/%s: the CA certificate: %m", in->ns,
				in->name);
		goto out;
	}
	out->url = sbuf_take(&url, NULL);
	r = out->url ? 0 : log_error_errno(ENOMEM, "%m");
	if (r >= 0)
		log_info("BackupStorageLocation %s/%s: %s", in->ns, in->name,
			 out->url);
out:
	if (secret.buf)
		OPENSSL_cleanse(secret.buf, secret.cap);
	if (creds.buf)
		OPENSSL_cleanse(creds.buf, creds.cap);
	sbuf_release(&secret);
	sbuf_release(&creds);
	sbuf_release(&url);
	vault_bsl_release(&b);
	json_decref(obj);
	kube_free(k);
	if (r < 0)
		cli_bsl_out_release(out);
	return r;
}

void cli_bsl_out_release(struct cli_bsl_out *o)
{
	free(o->url);
	free(o->credentials);
	if (o->cred_fd >= 0)
		close(o->cred_fd);
	if (o->ca_fd >= 0)
		close(o->ca_fd);
	*o = (struct cli_bsl_out){ .cred_fd = -1, .ca_fd = -1 };
}

/* --- velerofs url ------------------------------------------------------ */

struct url_opts {
	const char *bsl, *ns, *kubeconfig, *context, *ca_file;
	int printed;
};

/* clang-format off */
static void url_usage(FILE *f)
{
	fputs("Usage: velerofs url [--ca-file FILE] BSL.yaml\n"
	      "       velerofs url --bsl NAME [-n NAMESPACE] [--kubeconfig FILE]\n"
	      "                    [--context NAME] [--ca-file FILE]\n"
	      "\n"
	      "Prints the vault URL of a Velero BackupStorageLocation: of each\n"
	      "one in a YAML or JSON file (- for stdin; a List as `kubectl get\n"
	      "bsl -o yaml` prints it is fine), or of the one named NAME in the\n"
	      "cluster. Providers: aws (S3, MinIO, Ceph), alibabacloud (OSS),\n"
	      "azure (Blob). Credentials are not printed: mount with --bsl, or\n"
	      "give the Secret's content to mount --credentials.\n"
	      "\n"
	      "  --bsl NAME          read the BSL from the cluster\n"
	      "  -n, --namespace NS  its namespace (default velero)\n"
	      "  --kubeconfig FILE   the cluster (default as kubectl finds it)\n"
	      "  --context NAME      a context of the kubeconfig\n"
	      "  --ca-file FILE      write objectStorage.caCert to FILE and\n"
	      "                      name it in the URL (ca=FILE)\n"
	      "  -h, --help          show this help\n",
	      f);
}
/* clang-format on */

enum { OPT_BSL = 1000, OPT_KUBECONFIG, OPT_CONTEXT, OPT_CA_FILE };

static int url_opt(int c, void *userdata)
{
	struct url_opts *o = userdata;

	switch (c) {
	case OPT_BSL:
		o->bsl = optarg;
		return CLI_GO_ON;
	case 'n':
		o->ns = optarg;
		return CLI_GO_ON;
	case OPT_KUBECONFIG:
		o->kubeconfig = optarg;
		return CLI_GO_ON;
	case OPT_CONTEXT:
		o->context = optarg;
		return CLI_GO_ON;
	case OPT_CA_FILE:
		o->ca_file = optarg;
		return CLI_GO_ON;
	default:
		return CLI_NOT_MINE;
	}
}

static int write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "we");
	int r = 0;

	if (!f)
		return -errno;
	if (fwrite(data, 1, len, f) != len)
		r = -EIO;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	return r;
}

/* Prints the URL of one BSL object; where names it for messages. */
static int print_one(struct url_opts *o, const json_t *obj, const char *where)
{
	struct vault_bsl b = { 0 };
	struct verror e = { { 0 } };
	int r = vault_bsl_read(obj, 0, &b, &e);

	if (r < 0)
		return log_error_errno(r, "%s: %s", where, e.msg);
	if (b.ca_pem && o->ca_file) {
		r = write_file(o->ca_file, b.ca_pem, b.ca_len);
		if (r < 0) {
			vault_bsl_release(&b);
			return log_error_errno(r, "--ca-file %s: %m",
					       o->ca_file);
		}
		printf("%s%cca=%s\n", b.url, strchr(b.url, '?') ? '&' : '?',
		       o->ca_file);
	} else {
		printf("%s\n", b.url);
	}
	if (b.ca_pem && !o->ca_file)
		log_warning("%s: objectStorage.caCert is set: save it with "
			    "--ca-file FILE to name it in the URL",
			    where);
	if (b.notes & VAULT_BSL_NO_REGION)
		log_warning("%s: no config.region: AWS_REGION or us-east-1 is "
			    "used (add &region=... for a bucket elsewhere)",
			    where);
	if (strcmp(b.secret_name, "cloud-credentials") ||
	    strcmp(b.secret_key, "cloud"))
		log_info("%s: credentials are in Secret %s, key %s", where,
			 b.secret_name, b.secret_key);
	vault_bsl_release(&b);
	o->printed++;
	return 0;
}

/* Every BSL in doc: the object itself or the items of a List. */
static int print_doc(struct url_opts *o, const json_t *doc, const char *where)
{
	const char *kind = json_string_value(json_object_get(doc, "kind"));
	const json_t *items = json_object_get(doc, "items");
	size_t i;
	int r;

	if (json_is_null(doc))
		return 0;
	if (kind && !strcmp(kind, "List") && json_is_array(items)) {
		for (i = 0; i < json_array_size(items); i++) {
			r = print_doc(o, json_array_get(items, i), where);
			if (r < 0)
				return r;
		}
		return 0;
	}
	return print_one(o, doc, where);
}

static int url_file(struct url_opts *o, const char *path)
{
	struct yread_options yo = { .scalars = YREAD_STRINGS };
	struct yread_error ye;
	struct yread *y = NULL;
	struct sbuf data;
	json_t *doc;
	int fd, r;

	fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
	if (fd < 0)
		return log_error_errno(errno, "%s: %m", path);
	sbuf_init(&data, BSL_FILE_MAX);
	r = sbuf_read_fd(&data, fd);
	if (fd)
		close(fd);
	if (r < 0) {
		sbuf_release(&data);
		return log_error_errno(r, "%s: %s", path,
				       r == -E2BIG ? "larger than 8 MiB" :
						     strerror(-r));
	}
	r = yread_new(data.buf ? data.buf : "", data.len, &yo, &y);
	while (r >= 0) {
		r = yread_start(y, NULL, NULL, &ye);
		if (r <= 0)
			break;
		r = yread_doc(y, &doc, &ye);
		if (r < 0)
			break;
		r = print_doc(o, doc, path);
		json_decref(doc);
		if (r < 0)
			goto out;
	}
	if (r < 0 && r != -ENOMEM) {
		log_error("%s:%zu:%zu: not YAML or JSON%s%s", path, ye.line,
			  ye.column, ye.detail[0] ? ": " : "", ye.detail);
		goto out;
	}
	if (r >= 0 && !o->printed)
		r = log_error_errno(EINVAL,
				    "%s: no BackupStorageLocation in it", path);
out:
	yread_free(y);
	sbuf_release(&data);
	return r;
}

static int url_cluster(struct url_opts *o)
{
	struct verror e = { { 0 } };
	struct kube *k = NULL;
	json_t *obj = NULL;
	char where[400];
	int r;

	r = names_ok(o->bsl, o->ns);
	if (r >= 0)
		r = open_cluster(o->kubeconfig, o->context, &k);
	if (r < 0)
		return r;
	r = bsl_get(k, o->bsl, o->ns, &obj, &e);
	snprintf(where, sizeof(where), "%s/%s", o->ns, o->bsl);
	if (r < 0)
		log_error_errno(r, "BackupStorageLocation %s in %s: %s", where,
				kube_server(k), cli_why(&e, r));
	else
		r = print_one(o, obj, where);
	json_decref(obj);
	kube_free(k);
	return r;
}

int cmd_url(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_OPTS_HELP,
		{ "bsl", required_argument, NULL, OPT_BSL },
		{ "namespace", required_argument, NULL, 'n' },
		{ "kubeconfig", required_argument, NULL, OPT_KUBECONFIG },
		{ "context", required_argument, NULL, OPT_CONTEXT },
		{ "ca-file", required_argument, NULL, OPT_CA_FILE },
		CLI_OPT_END,
	};
	static const struct cli_cmd cmd = {
		.shortopts = "+hVn:",
		.longopts = longopts,
		.usage = url_usage,
		.opt = url_opt,
		.min_args = 0,
		.max_args = 1,
	};
	struct url_opts o = { .ns = "velero" };
	struct cli_opts co = { 0 };
	int r;

	r = cli_parse(&cmd, argc, argv, &co, &o);
	if (r != CLI_GO_ON)
		return r;
	if (!o.bsl == (optind == argc))
		return cli_usage_error(url_usage);
	r = o.bsl ? url_cluster(&o) : url_file(&o, argv[optind]);
	return r < 0 ? 1 : 0;
}
