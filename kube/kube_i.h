/* kube_i.h: the insides of kube/, shared by its files and its unit tests.
 *
 * config.c reads kubeconfig files (through yaml.c) into a struct
 * kube_config; exec.c runs exec credential plugins; http.c sends requests
 * through http/ and authenticates them; discovery.c maps kinds to
 * resources.
 * Nothing here is for other modules. */
#pragma once

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "common/error.h"
#include "common/sbuf.h"
#include "http/http.h"
#include "kube/kube.h"

/* Caps on what we read from the outside. A kubeconfig with a few dozen
 * clusters and embedded certificates is well under 1 MiB; the caps only
 * stop hostile or runaway input. */
#define KUBE_CONFIG_MAX ((size_t)8 << 20)   /* one kubeconfig file */
#define KUBE_PEM_MAX ((size_t)1 << 20)	    /* a CA, certificate or key */
#define KUBE_TOKEN_MAX ((size_t)64 << 10)   /* a token file */
#define KUBE_BODY_MAX ((size_t)64 << 20)    /* one response body */
#define KUBE_EXEC_OUT_MAX ((size_t)1 << 20) /* an exec plugin's stdout */
#define KUBE_PATH_MAX 8192		    /* a request path */
#define KUBE_EXEC_TIMEOUT_MS 60000	    /* an exec plugin's run time */
#define KUBE_TOKEN_FILE_REREAD 60	    /* seconds between re-reads */

/* ---- yaml.c: YAML -> jansson (common/yread with kube/'s caps) ------- */

struct kube_yaml_caps {
	size_t max_bytes;   /* input size; 0: KUBE_CONFIG_MAX */
	unsigned max_depth; /* nesting of mappings/sequences; 0: 64 */
	size_t max_nodes;   /* scalars + collections + aliases; 0: 1M */
};

/* Plain scalars stay strings (only null/~/empty become JSON null): what a
 * Go struct with string fields makes of them (kubeconfig). Without it,
 * plain scalars resolve as YAML 1.2's core schema (null, bool, int,
 * float). */
#define KUBE_YAML_STRINGS 1u

/* Parses the first YAML document of buf[0..len) into *out (caller
 * decrefs; JSON null for an empty stream). Aliases share the anchored
 * node (no copies, so no "billion laughs"); duplicate keys, non-scalar
 * keys and unknown anchors are errors. -EINVAL with "line L, column C:
 * problem" in e; -E2BIG when a cap is hit. caps NULL: defaults. */
int kube_yaml_load(const char *buf, size_t len, unsigned flags,
		   const struct kube_yaml_caps *caps, json_t **out,
		   struct verror *e);

/* ---- util.c ---------------------------------------------------------- */

struct kube_blob {
	unsigned char *data; /* owned; NUL-terminated for convenience */
	size_t len;
};
void kube_blob_release(struct kube_blob *b);

/* Standard base64 (whitespace ignored, padding optional). *out is
 * NUL-terminated; caller frees. -EINVAL on a bad character. */
int kube_base64_decode(const char *in, size_t len, struct kube_blob *out);
/* Caller frees. NULL on ENOMEM. */
char *kube_base64_encode(const unsigned char *in, size_t len);
/* Reads a whole file of at most max bytes. -E2BIG beyond it. */
int kube_read_file(const char *path, size_t max, struct kube_blob *out);
/* Percent-encodes everything but RFC 3986 unreserved characters into b;
 * "." and ".." are encoded as well, so a name is never a path step. */
int kube_escape(struct sbuf *b, const char *s);

/* ---- config.c --------------------------------------------------------- */

struct kube_exec {
	char *api_version; /* client.authentication.k8s.io/v1 or v1beta1 */
	char *command;	   /* resolved against the kubeconfig's directory
			    * when it holds a '/' */
	char **argv;	   /* NULL-terminated; argv[0] is command */
	char **env;	   /* "NAME=value", NULL-terminated */
	char *install_hint;
	char *interactive_mode;
	char *exec_info; /* KUBERNETES_EXEC_INFO (JSON), built at open */
};

struct kube_config {
	char *source;  /* "kubeconfig PATH" or "in-cluster config", for
			* messages */
	char *context; /* context name ("" in-cluster) */
	char *cluster; /* cluster name, for messages */
	char *server;  /* https://host:port[/prefix], no trailing '/' */
	char *ns;      /* never NULL */
	char *tls_server_name;
	char *proxy_url;
	bool insecure;
	struct kube_blob ca;   /* PEM; empty: the system's roots */
	struct kube_blob cert; /* client certificate PEM, may be empty */
	struct kube_blob key;  /* client key PEM, may be empty */
	char *token;
	char *token_file;
	char *username, *password;
	struct kube_exec *exec;
};
void kube_config_release(struct kube_config *c);

/* Resolves o into c (kubectl's loading rules: explicit file, $KUBECONFIG
 * merged, ~/.kube/config, then in-cluster). c is untouched on failure. */
int kube_config_load(const struct kube_options *o, struct kube_config *c,
		     struct verror *e);

/* ---- exec.c ----------------------------------------------------------- */

struct kube_exec_cred {
	char *token;	       /* or NULL */
	struct kube_blob cert; /* PEM, or empty */
	struct kube_blob key;
	time_t expiry; /* 0: none given (valid until a 401) */
};
void kube_exec_cred_release(struct kube_exec_cred *c);

/* Runs the plugin once (timeout KUBE_EXEC_TIMEOUT_MS) and parses its
 * ExecCredential. Messages name the command, never its output's
 * secrets. */
int kube_exec_run(const struct kube_exec *x, struct kube_exec_cred *out,
		  struct verror *e);

/* ---- the client ------------------------------------------------------- */

struct kube_gv {
	char *gv;	   /* "v1", "apps/v1" */
	json_t *resources; /* the APIResourceList's resources */
};

struct kube {
	struct kube_config cfg; /* read-only after kube_open */
	char *base_url;	   /* server, or with tls-server-name as its host */
	char *connect_to;  /* tls-server-name: "H:P:H2:P2" for http/ */
	struct http *http; /* the client: pool, share, TLS, retries */

	pthread_mutex_t cred_lock;
	struct kube_exec_cred exec_cred; /* protected by cred_lock */
	bool exec_valid;		 /* protected by cred_lock */
	char *file_token;		 /* protected by cred_lock */
	time_t file_token_read;		 /* protected by cred_lock */

	pthread_mutex_t disc_lock;
	struct kube_gv *gvs; /* protected by disc_lock */
	size_t ngvs;	     /* protected by disc_lock */
};

/* http.c: the client of k->cfg (TLS, proxy, timeouts, the retry policy:
 * 5 attempts, Retry-After up to 30 s). */
int kube_http_new(struct kube *k, long timeout_ms, struct verror *e);
