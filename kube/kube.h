/* kube: a Kubernetes API client on libcurl and jansson.
 *
 * Reads the kubeconfig as kubectl does (--kubeconfig, $KUBECONFIG with
 * several files merged, ~/.kube/config, --context, in-cluster service
 * account), authenticates (client certificates, bearer tokens and token
 * files, exec credential plugins), verifies TLS, discovers which resources
 * the server serves, and sends requests. Credentials never appear in
 * errors or logs: messages name the server URL and the resource only.
 *
 * Thread-safety: a struct kube may be used from several threads at once
 * (kube_open/kube_free excepted). Requests go through http/ (a pool of
 * curl easy handles, so a handle is never used by two threads and keeps
 * its connections for the next request; DNS and TLS sessions shared). No
 * FUSE here.
 *
 * Caps: a kubeconfig file 8 MiB, a certificate or key 1 MiB, a response
 * body 64 MiB, an exec plugin's output 1 MiB and run time 60 s. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

struct kube;

struct kube_options {
	const char *kubeconfig; /* NULL: $KUBECONFIG, then ~/.kube/config,
				 * then the in-cluster service account */
	const char *context;	/* NULL: the current-context */
	long timeout_ms;	/* per request; 0: 30 s */
	const char *serviceaccount_dir; /* in-cluster; NULL: /var/run/secrets/
					 * kubernetes.io/serviceaccount */
};

/* Loads the configuration and prepares a client; does not contact the
 * server. -ENOENT (no kubeconfig), -EINVAL (malformed: e says where).
 * *out set on success only. */
int kube_open(const struct kube_options *o, struct kube **out,
	      struct verror *e);
struct kube *kube_free(struct kube *k);

/* The server URL (borrowed) and the context's namespace ("default" when
 * unset). */
const char *kube_server(const struct kube *k);
const char *kube_namespace(const struct kube *k);
/* false when the kubeconfig turns TLS verification off
 * (insecure-skip-tls-verify), for the caller's warning. */
bool kube_tls_verified(const struct kube *k);

/* A served resource type. */
struct kube_resource {
	char *group;	/* "" for the core group */
	char *version;	/* "v1" */
	char *kind;	/* "Deployment" */
	char *resource; /* "deployments" */
	bool namespaced;
};
void kube_resource_release(struct kube_resource *r);

/* Finds the resource serving apiVersion ("apps/v1", "v1") and kind, from
 * discovery (cached; refreshed once when the type is not found, so a CRD
 * created a moment ago is seen). -ENOENT when the server does not serve
 * it; other -errno when discovery itself fails. *out set on success. */
int kube_resolve(struct kube *k, const char *api_version, const char *kind,
		 struct kube_resource *out, struct verror *e);
/* Forgets the discovery cache (after creating CRDs). */
void kube_invalidate_discovery(struct kube *k);

/* The URL path of a collection (name NULL) or of one object: e.g.
 * /apis/apps/v1/namespaces/shop/deployments/web. ns is ignored for
 * cluster-scoped resources. Caller frees. */
char *kube_path(const struct kube_resource *r, const char *ns,
		const char *name);

struct kube_response {
	long status;  /* HTTP status */
	json_t *body; /* the parsed body, NULL if not JSON */
	char *raw;    /* the body as received (capped), NUL-terminated */
	size_t len;
	bool protobuf; /* the answer is KUBE_PROTOBUF (body NULL, raw the
			* "k8s\0" envelope: see kube_request_raw()) */
};

/* Kubernetes' protobuf media type: built-in kinds only (custom resources
 * speak JSON). */
#define KUBE_PROTOBUF "application/vnd.kubernetes.protobuf"
void kube_response_release(struct kube_response *r);

/* Sends one request. path may carry a query ("?dryRun=All"). body, if
 * non-NULL, is sent as JSON with content_type (NULL:
 * "application/json"; merge patches use
 * "application/merge-patch+json"). Returns 0 once the server answered,
 * whatever the status (check resp->status); -errno when it could not be
 * reached or the answer was unreadable (e names the server and why).
 * resp is filled on success only; release it with
 * kube_response_release(). body is borrowed.
 * Retries (5 attempts in all, exponential backoff): connection refused
 * and unresolved hosts for every method (nothing was sent); other
 * transport errors and 5xx for GET, HEAD, PUT and DELETE only; 429 for
 * every method, waiting as Retry-After says (at most 30 s). A 401 with a
 * token file or an exec plugin fetches the credential again, once. */
int kube_request(struct kube *k, const char *method, const char *path,
		 const char *content_type, json_t *body,
		 struct kube_response *resp, struct verror *e);

/* kube_request() with the body as bytes (body_len of them, sent with
 * content_type; body NULL: none) and the Accept header's value (NULL:
 * "application/json"). With KUBE_PROTOBUF among what accept names, the
 * API server may answer in protobuf, errors included: then
 * resp->protobuf is set, resp->body is NULL and resp->raw holds the
 * "k8s\0" envelope (a Status for errors); a JSON answer is parsed as by
 * kube_request(). Same retries. */
int kube_request_raw(struct kube *k, const char *method, const char *path,
		     const char *accept, const char *content_type,
		     const void *body, size_t body_len,
		     struct kube_response *resp, struct verror *e);

/* The message of a Kubernetes Status body ("configmaps \"x\" already
 * exists"), or a short description of the HTTP status. Borrowed from
 * resp. */
const char *kube_status_message(const struct kube_response *resp);

/* ---- additions ---------------------------------------------------------- */

/* The context's name (borrowed; "" for the in-cluster config), for
 * messages such as "restoring into context prod". */
const char *kube_context(const struct kube *k);

/* An -errno for an HTTP status: 0 for 2xx, -ENOENT 404, -EEXIST 409,
 * -EACCES 401/403, -EINVAL 400/422, -ESTALE 410 and 412, -EBUSY 429,
 * -ERANGE 416, -EIO for the rest (http_status_errno() but for the
 * API server's own meanings). */
int kube_status_errno(long status);

/* GETs path and hands out the body of a 200 (*out, caller decrefs).
 * Any other status gives kube_status_errno() with the server's message
 * in e; transport errors as kube_request(). */
int kube_get(struct kube *k, const char *path, json_t **out, struct verror *e);

/* The server's version ("v1.34.10", from /version). Caller frees. */
int kube_server_version(struct kube *k, char **out, struct verror *e);

/* Waits until the CustomResourceDefinition name (e.g.
 * "widgets.example.com") is Established and NamesAccepted, polling with
 * backoff; -ETIMEDOUT after timeout_ms. A CRD that does not exist yet is
 * waited for too. */
int kube_wait_crd_established(struct kube *k, const char *name, long timeout_ms,
			      struct verror *e);
