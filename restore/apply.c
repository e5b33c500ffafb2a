/* apply: one job against the API server, as Velero's restore does it.
 *
 * CRDs first, each waited on until Established, then discovery is
 * refreshed; then every other item in Velero's order (order.c). For each
 * item: its type resolved (retried with backoff while the server does not
 * serve it, up to type_wait_s), cleaned and transformed (clean.c,
 * transform.c), its namespace made to exist (from the backed-up Namespace
 * when the job holds it), then "inflight" journalled and a create POSTed
 * (?dryRun=All in dry-run mode); for a built-in kind the answer is asked
 * for in protobuf (post_create()). On AlreadyExists the object is read back
 * and compared after the same cleaning: every field sent already there
 * with the same value is "unchanged" (the server's defaults and its own
 * metadata do not count); otherwise existing=skip reports "skipped" and
 * existing=update sends the RFC 7386 merge patch from what is there to
 * what the backup holds.
 *
 * Never twice: every item a job loaded after a restart has not recorded
 * as decided is looked up first (the journal's item lines are not synced
 * one by one: a request may have been sent after the last line that
 * reached the disk): its collection is listed once by this job's
 * velero.io/restore-name label (list_ours(), one LIST per kind and
 * namespace rather than a GET per item; a GET when the list is refused).
 * Found carrying the label, it was created by the run that was cut off,
 * and is recorded as created; so is one whose create answers
 * AlreadyExists and which carries the label (a request of the killed
 * run the server finished after the list). An item left "inflight" by an
 * outage is looked up with a GET.
 *
 * Parallel where Velero's order allows it: CRDs go one at a time (each
 * waited on until Established, then until discovery serves its kind),
 * then the other items are handed out to up to APPLY_WORKERS threads,
 * a group-resource at a time as soon as every group-resource it needs
 * is finished (restore_order_waits(): namespaces before everything, PVs
 * before PVCs before pods, roles and accounts before bindings, accounts
 * before secrets, everything pods use before pods, pods before replica
 * sets before the alphabetical middle, endpoints before services,
 * admission webhooks and policies and aggregated APIs after everything
 * before them), not when the slowest item of an earlier stage it does
 * not need is done: Services start with the RBAC objects and config
 * maps. Objects of a CRD the job created wait until 2 s after it was
 * Established (CRD_FRESH_MS: kube-apiserver would sleep instead).
 * At debug level every step is logged with its time (run_log()).
 *
 * Threads: restore_apply_job() runs on the worker thread of job.c and
 * starts the group threads (struct sched). An item is handled by one thread
 * only, which reads its state without r->lock (nobody else changes it) and
 * changes it through job.c. What the threads share is struct run: the namespace
 * cache (ns_lock) and dry_types (lock); from_ns, provision_pvs and
 * namespaces are filled before any thread starts and only read after,
 * with json_object_get() and the like (no reference taken on them, as
 * jansson's reference counts need not be atomic), except by ns_ensure()
 * under ns_lock. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/sbuf.h"
#include "etcd/etcd.h"
#include "restore/restore_i.h"

#define CRD_GR "customresourcedefinitions.apiextensions.k8s.io"

/* Requests in flight at once within a group. A create costs the API
 * server 2-4 ms of CPU (bench/restore_throughput.py measures it); the
 * rest of a request's time is the round trip, TLS, admission and etcd's
 * commit, so a few requests at once keep the server busy, and 16 hide
 * the round trips of a server on a loaded machine or far away. That is
 * far below its --max-mutating-requests-inflight (200) and the seats API
 * Priority and Fairness gives one user's flow (global-default: about 50
 * of the default 600), so a busy cluster answers 429 (which kube_request
 * waits out) rather than queueing us for long; it also fits kube's pool
 * of 16 curl handles, so every thread keeps its connection (each thread
 * its own HTTP/2 connection: curl's easy interface does not multiplex
 * the requests of several threads on one). */
#define APPLY_WORKERS 16

/* Velero's nonRestorableResources (pkg/controller/restore_controller.go,
 * checked against vmware-tanzu/velero d30d389, May 2026: the same nine):
 * never restored unless include_nonrestorable says so. */
static const char *const nonrestorable[] = {
	"nodes",
	"events",
	"events.events.k8s.io",
	"backups.velero.io",
	"restores.velero.io",
	"resticrepositories.velero.io",
	"csinodes.storage.k8s.io",
	"volumeattachments.storage.k8s.io",
	"backuprepositories.velero.io",
};

/* item_prepare()'s and ns_ensure()'s answers besides 0, 1, -errno: the
 * item stays as it is and is tried again: its type is not served yet
 * (-EINPROGRESS), or the API server is away (-EAGAIN, recorded in struct
 * run). */
#define DEFERRED (-EINPROGRESS)
#define AWAY (-EAGAIN)

/* A namespace being looked up or made by one thread; the others wait on
 * ns_cond. */
#define NS_BUSY 3

struct ns_state {
	char *name;
	int state; /* 1 exists, 2 would be created (dry run), NS_BUSY,
		    * <0 failed */
	char *message;
};

struct run {
	struct restore *r;
	struct restore_job *j;
	bool timeline; /* debug level: the timeline lines (run_log()) */
	json_t *fresh; /* "<plural>.<group>" of each CRD this job created
			* -> when it was seen Established (ms, an
			* integer); filled while the CRDs go one at a
			* time, read-only once the other items start */
	/* filled before the group threads start, read-only after */
	json_t *from_ns;       /* for each target namespace, the original
				* namespaces mapped to it (a set): of
				* its items, its Namespaces, its PVs'
				* claims */
	json_t *provision_pvs; /* PVs with reclaim policy Delete */
	json_t *namespaces;    /* backed-up Namespace objects by name; its
				* values' references are taken and dropped
				* under ns_lock only */
	char restore_label[RESTORE_LABEL_MAX + 1];

	pthread_mutex_t lock;
	json_t *dry_types; /* "group/Kind" of CRDs only dry-created;
			    * protected by lock */
	bool unreachable;  /* the server could not be reached: no new
			    * item is started; protected by lock */
	char *away;	   /* why items were left to retry (the server
			    * unreachable, 5xx, 429); protected by lock */
	bool types_late;   /* the wait for types is over: an item whose
			    * type is not served fails; protected by
			    * lock */

	/* the namespace cache: one thread makes a namespace (its entry
	 * NS_BUSY meanwhile, ns_lock not held during the requests), the
	 * threads that need the same one wait on ns_cond */
	pthread_mutex_t ns_lock;
	pthread_cond_t ns_cond;
	/* after a restart: for each collection path, the names of its
	 * objects carrying this job's label (an object used as a set), or
	 * null when it could not be listed; protected by list_lock */
	pthread_mutex_t list_lock;
	json_t *listed;
	struct ns_state *ns; /* protected by ns_lock */
	size_t n_ns;	     /* protected by ns_lock */
};

/* A line of the job's timeline at debug level: the monotonic time in ms
 * (the same clock as time.monotonic() of a script timing a copy), so
 * that where a restore's time goes (gathering, CRDs, each stage) can be
 * read from the log (bench/profile-notes.md, issue 10). */
static void run_log(const struct run *x, const char *fmt, ...) _printf_(2, 3);
static void run_log(const struct run *x, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!x->timeline)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_debug("restore job %s: t=%lld %s", x->j->id,
		  (long long)clock_now_ms(), msg);
}

static const char *str(json_t *o, const char *a, const char *b)
{
	o = json_object_get(o, a);
	if (b)
		o = json_object_get(o, b);
	return json_string_value(o);
}

static void gr_of(const struct kube_resource *res, char *buf, size_t sz)
{
	if (res->group && *res->group)
		snprintf(buf, sz, "%s.%s", res->resource, res->group);
	else
		snprintf(buf, sz, "%s", res->resource);
}

static const char *dry_query(const struct run *x)
{
	return x->r->o.dry_run ? "?dryRun=All" : "";
}

/* The query of an item's create: the server is not asked to look for
 * unknown fields (it would only warn, and drop them all the same, as for
 * Velero's own creates; the warnings are never shown) and does less work
 * per item. */
static const char *create_query(const struct run *x)
{
	return x->r->o.dry_run ? "?fieldValidation=Ignore&dryRun=All" :
				 "?fieldValidation=Ignore";
}

/* The message of a failed response: the server's own. */
static const char *resp_message(const struct kube_response *resp)
{
	const char *m = kube_status_message(resp);

	return m && *m ? m : "no message";
}

static bool already_exists(const struct kube_response *resp)
{
	const char *reason = str(resp->body, "reason", NULL);

	return resp->status == 409 && (!reason || !strcmp(reason, "AlreadyExist"
								  "s"));
}

/* The file item i came from. */
static const struct restore_part *part_of(const struct run *x, size_t i)
{
	return &x->j->parts[x->j->items[i].part];
}

/* The original namespaces mapped to target (a set; NULL for none). */
static json_t *from_set(const struct run *x, const char *target)
{
	return target ? json_object_get(x->from_ns, target) : NULL;
}

/* Whether an error means the API server is away (could not be reached,
 * or answered 5xx or 429 after kube_request's own retries): then the item
 * is left as it is, to be tried again when the server is back (see
 * restore_apply_job()). r and status as kube_request gives them (status
 * 0 when r < 0); msg says why. */
static bool server_away(struct run *x, int r, long status, const char *msg)
{
	bool down = r == -ECONNREFUSED || r == -EHOSTUNREACH ||
		    r == -ETIMEDOUT || r == -ECONNRESET || r == -EIO ||
		    r == -EPROTO || r == -ENETUNREACH || r == -EPIPE;
	bool busy = r == 0 && (status >= 500 || status == 429);
	char *m;

	if (!down && !busy)
		return false;
	m = strdup(msg && *msg ? msg : "the API server is not answering");
	pthread_mutex_lock(&x->lock);
	if (down)
		x->unreachable = true;
	if (m) {
		free(x->away);
		x->away = m;
	}
	pthread_mutex_unlock(&x->lock);
	return true;
}

static bool run_unreachable(struct run *x)
{
	bool u;

	pthread_mutex_lock(&x->lock);
	u = x->unreachable;
	pthread_mutex_unlock(&x->lock);
	return u;
}

/* ---- namespaces -------------------------------------------------------- */

static struct ns_state *ns_find(struct run *x, const char *name)
{
	for (size_t i = 0; i < x->n_ns; i++)
		if (!strcmp(x->ns[i].name, name))
			return &x->ns[i];
	return NULL;
}

static struct ns_state *ns_add(struct run *x, const char *name, int state,
			       const char *message)
{
	struct ns_state *v = realloc(x->ns, (x->n_ns + 1) * sizeof(*v));

	if (!v)
		return NULL;
	x->ns = v;
	v[x->n_ns].name = strdup(name);
	if (!v[x->n_ns].name)
		return NULL;
	v[x->n_ns].state = state;
	v[x->n_ns].message = message ? strdup(message) : NULL;
	return &v[x->n_ns++];
}

/* Forgets s (a lookup that is to be made again). */
static void ns_drop(struct run *x, struct ns_state *s)
{
	free(s->name);
	free(s->message);
	*s = x->ns[--x->n_ns];
}

/* The backed-up Namespace that becomes name: the one of that name, or,
 * name being a target namespace, the one its items came from. */
static json_t *ns_source(struct run *x, const char *name)
{
	json_t *n = json_object_get(x->namespaces, name);
	json_t *from = from_set(x, name);
	const char *k;
	json_t *v;

	if (n || !from)
		return n;
	json_object_foreach(x->namespaces, k,
			    v) if (json_object_get(from, k)) return v;
	return NULL;
}

static bool is_kind(json_t *obj, const char *group_prefix, const char *kind)
{
	const char *av = str(obj, "apiVersion", NULL) ?: "";
	const char *k = str(obj, "kind", NULL) ?: "";

	return !strcmp(k, kind) &&
	       !strncmp(av, group_prefix, strlen(group_prefix));
}

/* The Namespace a namespace the restore creates is made from when the
 * job does not hold it: the backup's (the backup of the first file
 * that goes into name), under its original name (the first namespace
 * mapped to name, or name itself). NULL when there is none. New
 * reference. */
static json_t *ns_from_backup(struct run *x, const char *name)
{
	json_t *from = from_set(x, name), *items = NULL, *out = NULL;
	const char *orig = name, *backup = NULL;
	char *data = NULL;
	size_t len = 0;

	if (!x->r->o.namespace_of)
		return NULL;
	if (json_object_size(from))
		orig = json_object_iter_key(json_object_iter(from));
	for (size_t p = 0; !backup && p < x->j->n_parts; p++) {
		const struct restore_part *pt = &x->j->parts[p];

		if (pt->backup &&
		    (pt->target_ns ? !strcmp(pt->target_ns, name) :
				     !strcmp(orig, name)))
			backup = pt->backup;
	}
	if (!backup || x->r->o.namespace_of(x->r->o.namespace_userdata, backup,
					    orig, &data, &len) < 0)
		return NULL;
	if (restore_parse(data, len, NULL, &items, NULL) == 0 &&
	    json_array_size(items) == 1 &&
	    is_kind(json_array_get(items, 0), "v1", "Namespace"))
		out = json_incref(json_array_get(items, 0));
	json_decref(items);
	free(data);
	return out;
}

/* The Namespace to create for name (Velero's getNamespace), as a body of
 * its own: nothing in it is shared with the job's objects, so it may be
 * sent and dropped without ns_lock. Called with x->ns_lock held. NULL
 * when memory runs out. */
static json_t *ns_body_locked(struct run *x, const char *name)
{
	json_t *src = ns_source(x, name), *fetched = NULL, *body = NULL;
	json_t *own = NULL;

	if (!src)
		src = fetched = ns_from_backup(x, name);
	if (restore_clean_namespace(src, name, &body) == 0)
		own = json_deep_copy(body);
	json_decref(body);
	json_decref(fetched);
	return own;
}

/* Makes namespace name exist: a create first (one request when it does
 * not exist yet); AlreadyExists means it is there. Any other refusal
 * (a user who may not create namespaces) is checked with a GET: a
 * namespace that exists is all an item needs. Returns the state (1
 * exists/created, 2 dry), AWAY, or -errno with *msg (owned: caller
 * frees). No lock held: the other namespaces go on meanwhile. */
static int ns_make(struct run *x, const char *name, json_t *body, bool *created,
		   char **msg)
{
	struct kube *k = x->r->o.kube;
	struct kube_resource res = { .group = (char *)"",
				     .version = (char *)"v1",
				     .kind = (char *)"Namespace",
				     .resource = (char *)"namespaces" };
	struct kube_response resp = { 0 };
	struct verror e = { { 0 } };
	char *path = NULL, *url = NULL;
	int r, st;

	*created = false;
	*msg = NULL;
	path = kube_path(&res, NULL, NULL);
	if (!path || asprintf(&url, "%s%s", path, dry_query(x)) < 0) {
		free(path);
		return -ENOMEM;
	}
	free(path);
	r = kube_request(k, "POST", url, NULL, body, &resp, &e);
	free(url);
	if (server_away(x, r, r < 0 ? 0 : resp.status,
			r < 0 ? e.msg : resp_message(&resp))) {
		kube_response_release(&resp);
		return AWAY;
	}
	if (r < 0) {
		*msg = strdup(e.msg);
		return r;
	}
	if (resp.status == 201 || resp.status == 200 || resp.status == 202) {
		kube_response_release(&resp);
		*created = true;
		return x->r->o.dry_run ? 2 : 1;
	}
	if (already_exists(&resp)) {
		kube_response_release(&resp);
		return 1;
	}
	/* refused: is it there all the same? */
	*msg = strdup(resp_message(&resp));
	kube_response_release(&resp);
	path = kube_path(&res, NULL, name);
	r = path ? kube_request(k, "GET", path, NULL, NULL, &resp, &e) :
		   -ENOMEM;
	free(path);
	if (server_away(x, r, r < 0 ? 0 : resp.status,
			r < 0 ? e.msg : resp_message(&resp)))
		st = AWAY;
	else if (r == 0 && resp.status == 200)
		st = 1;
	else
		st = r < 0 ? r : -EIO;
	kube_response_release(&resp);
	if (st == 1 || st == AWAY) {
		free(*msg);
		*msg = NULL;
	}
	return st;
}

/* Velero's EnsureNamespaceExistsAndIsReady without the wait for a
 * terminating namespace. Returns the state (1 exists/created, 2 dry) or
 * -errno with *msg (static or owned by the cache), or AWAY. created says
 * whether this call made it. Each namespace is looked up by one thread
 * while the threads that need it wait for its answer; other namespaces
 * are made at the same time. */
static int ns_ensure(struct run *x, const char *name, bool *created,
		     const char **msg)
{
	struct ns_state *s;
	json_t *body;
	char *m = NULL;
	int st;

	*created = false;
	pthread_mutex_lock(&x->ns_lock);
	for (;;) {
		s = ns_find(x, name);
		if (!s)
			break;
		if (s->state != NS_BUSY) {
			*msg = s->message;
			st = s->state;
			pthread_mutex_unlock(&x->ns_lock);
			return st;
		}
		pthread_cond_wait(&x->ns_cond, &x->ns_lock);
	}
	s = ns_add(x, name, NS_BUSY, NULL);
	body = s ? ns_body_locked(x, name) : NULL;
	pthread_mutex_unlock(&x->ns_lock);
	if (!s || !body) {
		st = -ENOMEM;
		m = strdup("out of memory");
	} else {
		int64_t t = clock_now_ms();

		st = ns_make(x, name, body, created, &m);
		run_log(x, "namespace %s: %s in %lld ms", name,
			*created ? "created" : "looked up",
			(long long)(clock_now_ms() - t));
	}
	json_decref(body);
	pthread_mutex_lock(&x->ns_lock);
	s = ns_find(x, name);
	if (st == AWAY || st == -ENOMEM) {
		/* not remembered: asked again next time */
		if (s)
			ns_drop(x, s);
	} else if (s) {
		s->state = st;
		s->message = m;
		m = NULL;
		*msg = s->message;
	}
	pthread_cond_broadcast(&x->ns_cond);
	pthread_mutex_unlock(&x->ns_lock);
	free(m);
	return st;
}

static void ns_note(struct run *x, const char *name, bool created, int st)
{
	char *n;

	if (!created)
		return;
	if (asprintf(&n,
		     st == 2 ? "would create namespaces %s (dry run)" :
			       "created namespaces %s",
		     name) < 0)
		return;
	restore_job_note(x->r, x->j, n);
	free(n);
}

/* ---- types --------------------------------------------------------------- */

static bool dry_type(struct run *x, const char *key)
{
	bool found;

	pthread_mutex_lock(&x->lock);
	found = json_object_get(x->dry_types, key) != NULL;
	pthread_mutex_unlock(&x->lock);
	return found;
}

/* Resolves obj's type. Returns 0; 1 when a dry run will never see the
 * type (its CRD was only dry-created); DEFERRED while the server does not
 * serve it (the item is tried again after the others, until the wait for
 * types is over: then -ENOENT with e saying so); AWAY; other -errno. */
static int resolve(struct run *x, json_t *obj, struct kube_resource *res,
		   struct verror *e)
{
	const char *av = str(obj, "apiVersion", NULL);
	const char *kind = str(obj, "kind", NULL);
	const char *slash = strchr(av, '/');
	char key[512];
	bool late;
	int r = kube_resolve(x->r->o.kube, av, kind, res, e);

	if (r == 0)
		return 0;
	if (r != -ENOENT)
		return server_away(x, r, 0, e->msg) ? AWAY : r;
	snprintf(key, sizeof(key), "%.*s/%s", slash ? (int)(slash - av) : 0, av,
		 kind);
	if (dry_type(x, key))
		return 1;
	pthread_mutex_lock(&x->lock);
	late = x->types_late;
	pthread_mutex_unlock(&x->lock);
	if (!late)
		return DEFERRED;
	return verror_set(e, -ENOENT,
			  "the server does not serve %s %s (waited %us)", av,
			  kind, x->r->o.type_wait_s);
}

/* Waits until the CRD name has condition Established (Velero waits for
 * it before restoring its objects). */
static int crd_wait(struct run *x, const char *name, struct verror *e)
{
	struct kube_resource res = { .group = (char *)"apiextensions.k8s.io",
				     .version = (char *)"v1",
				     .kind = (char *)"CustomResourceDefinition",
				     .resource = (char *)"customresourcedefinit"
							 "ions" };
	int64_t deadline = clock_now_ms() + x->r->o.type_wait_s * 1000LL;
	char *path = kube_path(&res, NULL, name);
	int64_t t0 = clock_now_ms();
	long poll = 25;
	int r = -ENOMEM, polls = 0;

	while (path) {
		struct kube_response resp = { 0 };
		json_t *conds, *c;
		size_t i;
		bool ok = false;

		r = kube_request(x->r->o.kube, "GET", path, NULL, NULL, &resp,
				 e);
		polls++;
		if (r < 0)
			break;
		conds = json_object_get(json_object_get(resp.body, "status"),
					"conditions");
		json_array_foreach(
			conds, i,
			c) if (!strcmp(str(c, "type", NULL) ?: "", "Establishe"
								   "d") &&
			       !strcmp(str(c, "status", NULL) ?: "", "True"))
			ok = true;
		kube_response_release(&resp);
		if (ok) {
			r = 0;
			break;
		}
		if (clock_now_ms() >= deadline) {
			r = verror_set(e, -ETIMEDOUT,
				       "not established after %us",
				       x->r->o.type_wait_s);
			break;
		}
		/* Established comes a few hundred ms after the create:
		 * asked again soon at first */
		if (restore_sleep(x->r, poll)) {
			r = -ECANCELED;
			break;
		}
		poll = MIN(poll * 2, 200L);
	}
	free(path);
	run_log(x, "CRD %s: Established after %lld ms (%d GETs)", name,
		(long long)(clock_now_ms() - t0), polls);
	kube_invalidate_discovery(x->r->o.kube);
	return r;
}

/* ---- one item ------------------------------------------------------------ */

/* Compares what the cluster holds with what would be sent (Velero: reset
 * both, copy the restore labels across). */
static bool same_as_cluster(json_t *want, json_t *have)
{
	json_t *w = json_deep_copy(want), *h = json_deep_copy(have);
	json_t *wl, *hmd;
	const char *k;
	json_t *v;
	bool same;

	restore_clean_reset(w);
	restore_clean_reset(h);
	json_object_del(json_object_get(w, "metadata"), "managedFields");
	json_object_del(json_object_get(h, "metadata"), "managedFields");
	wl = json_object_get(json_object_get(w, "metadata"), "labels");
	hmd = json_object_get(h, "metadata");
	if (json_is_object(hmd)) {
		json_t *hl = json_object_get(hmd, "labels");

		if (!json_is_object(hl)) {
			hl = json_object();
			json_object_set_new(hmd, "labels", hl);
		}
		json_object_foreach(wl, k, v) if (!strncmp(k, "velero.io/", 10))
			json_object_set(hl, k, v);
	}
	same = restore_json_subset(w, h);
	json_decref(w);
	json_decref(h);
	return same;
}

/* The existing object, cleaned for a diff: what update patches from. */
static json_t *diff_base(json_t *have)
{
	json_t *h = json_deep_copy(have);

	restore_clean_reset(h);
	json_object_del(json_object_get(h, "metadata"), "managedFields");
	return h;
}

/* Whether an object as the cluster holds it carries this job's
 * velero.io/restore-name: then this job made it (job ids are unique). */
static bool ours(struct run *x, json_t *have)
{
	const char *l = json_string_value(json_object_get(
		json_object_get(json_object_get(have, "metadata"), "labels"),
		"velero.io/restore-name"));

	return l && !strcmp(l, x->restore_label);
}

static int on_exists(struct run *x, size_t i, json_t *obj,
		     const struct kube_resource *res, const char *objpath)
{
	struct kube *k = x->r->o.kube;
	struct kube_response resp = { 0 };
	struct verror e = { { 0 } };
	json_t *base = NULL, *patch = NULL;
	char *url = NULL;
	bool dry = x->r->o.dry_run;
	int r;

	(void)res;
	r = kube_request(k, "GET", objpath, NULL, NULL, &resp, &e);
	if (server_away(x, r, r < 0 ? 0 : resp.status,
			r < 0 ? e.msg : resp_message(&resp)))
		goto out; /* left inflight, tried again */
	if (r < 0 || resp.status != 200) {
		restore_job_set_item(x->r, x->j, i, ITEM_FAILED, dry,
				     r < 0 ? e.msg : resp_message(&resp));
		goto out;
	}
	if (x->j->resumed && !dry && ours(x, resp.body)) {
		/* made by the run that was cut off, after the lookup */
		restore_job_set_item(x->r, x->j, i, ITEM_CREATED, false,
				     "(confirmed after a restart)");
		goto out;
	}
	if (same_as_cluster(obj, resp.body)) {
		restore_job_set_item(x->r, x->j, i, ITEM_UNCHANGED, dry,
				     "already exists, same as the backup");
		goto out;
	}
	if (x->r->o.existing != RESTORE_EXISTING_UPDATE) {
		restore_job_set_item(x->r, x->j, i, ITEM_SKIPPED, dry,
				     "already exists (different from the "
				     "backup)");
		goto out;
	}
	base = diff_base(resp.body);
	patch = restore_merge_diff(base, obj);
	kube_response_release(&resp);
	if (!patch) {
		restore_job_set_item(x->r, x->j, i, ITEM_UNCHANGED, dry,
				     "already exists, same as the backup");
		goto out;
	}
	/* status and server-owned metadata are not the backup's to set */
	json_object_del(patch, "status");
	if (asprintf(&url, "%s%s", objpath, dry_query(x)) < 0) {
		r = -ENOMEM;
		goto out;
	}
	r = kube_request(k, "PATCH", url, "application/merge-patch+json", patch,
			 &resp, &e);
	if (server_away(x, r, r < 0 ? 0 : resp.status,
			r < 0 ? e.msg : resp_message(&resp)))
		; /* left inflight, tried again */
	else if (r < 0)
		restore_job_set_item(x->r, x->j, i, ITEM_FAILED, dry, e.msg);
	else if (resp.status == 200 || resp.status == 201)
		restore_job_set_item(x->r, x->j, i, ITEM_UPDATED, dry, NULL);
	else
		restore_job_set_item(x->r, x->j, i, ITEM_FAILED, dry,
				     resp_message(&resp));
out:
	kube_response_release(&resp);
	json_decref(base);
	json_decref(patch);
	free(url);
	return r;
}

/* Velero's secret action, the part that needs the cluster: a token
 * Secret named <sa>-token-* of a ServiceAccount that exists is made again
 * by the cluster, so it is not restored. */
static bool token_secret_of_existing_sa(struct run *x, json_t *obj,
					const char *ns)
{
	struct kube_resource res = { .group = (char *)"",
				     .version = (char *)"v1",
				     .kind = (char *)"ServiceAccount",
				     .resource = (char *)"serviceaccounts",
				     .namespaced = true };
	struct kube_response resp = { 0 };
	const char *name = str(obj, "metadata", "name");
	char *path;
	json_t *sa;
	size_t i;
	bool found = false;

	if (strcmp(str(obj, "type", NULL) ?: "", "kubernetes.io/"
						 "service-account-token"))
		return false;
	path = kube_path(&res, ns, NULL);
	if (path &&
	    kube_request(x->r->o.kube, "GET", path, NULL, NULL, &resp, NULL) ==
		    0 &&
	    resp.status == 200) {
		json_array_foreach(json_object_get(resp.body, "items"), i, sa)
		{
			const char *n = str(sa, "metadata", "name");
			char prefix[300];

			snprintf(prefix, sizeof(prefix), "%s-token-",
				 n ? n : "");
			if (n && !strncmp(name, prefix, strlen(prefix)))
				found = true;
		}
	}
	kube_response_release(&resp);
	free(path);
	return found;
}

/* After a restart or a request cut off: was the create done? The
 * object exists carrying this job's velero.io/restore-name. */
static bool created_before(struct run *x, const char *objpath)
{
	struct kube_response resp = { 0 };
	bool found = false;

	if (kube_request(x->r->o.kube, "GET", objpath, NULL, NULL, &resp,
			 NULL) == 0 &&
	    resp.status == 200)
		found = ours(x, resp.body);
	kube_response_release(&resp);
	return found;
}

/* Whether a continue token can go into a query as it is (the API
 * server's are base64url). */
static bool plain_token(const char *t)
{
	size_t n = strlen(t);

	return n && n < 4096 &&
	       strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789-_=") == n;
}

/* The names of the objects of collection colpath that carry this job's
 * label, listed by that label, a page at a time: a new object used as a
 * set, or NULL when the collection could not be listed. */
static json_t *list_ours(struct run *x, const char *colpath)
{
	json_t *names = json_object();
	char *cont = NULL;

	while (names) {
		struct kube_response resp = { 0 };
		char *url = NULL;
		const char *next;
		json_t *el;
		size_t i;
		int r;

		if (asprintf(&url,
			     "%s?labelSelector=velero.io%%2Frestore-name%%3D%s"
			     "&limit=500%s%s",
			     colpath, x->restore_label,
			     cont ? "&continue=" : "", cont ? cont : "") < 0) {
			json_decref(names);
			names = NULL;
			break;
		}
		r = kube_request(x->r->o.kube, "GET", url, NULL, NULL, &resp,
				 NULL);
		free(url);
		if (r < 0 || resp.status != 200 || !resp.body) {
			kube_response_release(&resp);
			json_decref(names);
			names = NULL;
			break;
		}
		json_array_foreach(json_object_get(resp.body, "items"), i, el)
		{
			const char *n = str(el, "metadata", "name");

			if (n && ours(x, el))
				json_object_set_new(names, n, json_true());
		}
		next = str(resp.body, "metadata", "continue");
		free(cont);
		cont = next && *next && plain_token(next) ? strdup(next) : NULL;
		if (next && *next && !cont) {
			json_decref(names);
			names = NULL;
		}
		kube_response_release(&resp);
		if (!cont)
			break;
	}
	free(cont);
	return names;
}

/* After a restart: whether item name of collection colpath was created
 * by the run that was cut off. The collection is listed once (by this
 * job's label) for all its items, instead of one GET per item; 1 yes,
 * 0 no, -1 when it could not be listed (ask with created_before()). */
static int created_listed(struct run *x, const char *colpath, const char *name)
{
	json_t *set;
	int found;

	pthread_mutex_lock(&x->list_lock);
	set = json_object_get(x->listed, colpath);
	if (!set) {
		set = list_ours(x, colpath);
		if (!set)
			set = json_null();
		json_object_set_new(x->listed, colpath, set);
	}
	found = json_is_object(set) ? json_object_get(set, name) != NULL : -1;
	pthread_mutex_unlock(&x->list_lock);
	return found;
}

/* Decides item i: sets its state and returns 1, so that a step can end
 * the item with `return item_set(...)`. */
static int item_set(struct run *x, size_t i, enum restore_item_state st,
		    bool dry, const char *msg)
{
	restore_job_set_item(x->r, x->j, i, st, dry, msg);
	return 1;
}

/* The first step of an item: its type resolved (waiting for a CRD of
 * this job to be served), the object copied, cleaned and transformed as
 * Velero's restore does. 0 with *out (caller decrefs), res and gr filled;
 * 1 when the item is decided here (its state set) or waits for the next
 * start (it stays pending); -ENOMEM. */
static int item_prepare(struct run *x, size_t i, struct kube_resource *res,
			char *gr, size_t grsz, json_t **out)
{
	struct restore_item *it = &x->j->items[i];
	const struct restore_part *p = part_of(x, i);
	bool dry = x->r->o.dry_run;
	struct restore_clean c = {
		.target_ns = p->target_ns,
		.from_ns = from_set(x, p->target_ns),
		.default_ns = kube_namespace(x->r->o.kube),
		.backup = p->backup,
		.restore = x->j->id,
		.provision_pvs = x->provision_pvs,
		.hooks = x->r->hooks,
	};
	struct verror e = { { 0 } };
	const char *skip = NULL;
	json_t *obj;
	int r;

	r = resolve(x, it->obj, res, &e);
	if (r == DEFERRED || r == AWAY)
		return 1; /* stays as it is, tried again */
	if (r == 1)
		return item_set(x, i, ITEM_CREATED, true,
				"its type comes with a CRD of this job, not "
				"checked by the server");
	if (r < 0)
		return item_set(x, i, ITEM_FAILED, dry, e.msg);
	gr_of(res, gr, grsz);
	c.gr = gr;
	if (!x->r->o.include_nonrestorable)
		for (size_t k = 0; k < ARRAY_SIZE(nonrestorable); k++)
			if (!strcmp(gr, nonrestorable[k]))
				return item_set(x, i, ITEM_SKIPPED, dry,
						"Velero does not restore this "
						"kind (-o "
						"include_nonrestorable "
						"restores it)");
	obj = json_deep_copy(it->obj);
	if (!obj)
		return -ENOMEM;
	r = restore_clean_item(obj, &c, &skip);
	if (r == 1) {
		r = item_set(x, i, ITEM_SKIPPED, dry, skip);
	} else if (r == 0) {
		r = restore_transform_apply(x->r->transform, obj, gr, &e);
		if (r < 0)
			r = item_set(x, i, ITEM_FAILED, dry, e.msg);
		else
			r = restore_clean_finish(obj, &c, res->namespaced) < 0 ?
				    -ENOMEM :
				    0;
	}
	if (r != 0) {
		json_decref(obj);
		return r < 0 ? -ENOMEM : 1;
	}
	*out = obj;
	return 0;
}

/* The item's namespace, made to exist; a ServiceAccount's token Secret
 * and items in a namespace a dry run only pretended to create are decided
 * here. 0: go on; 1: decided; -ENOMEM. */
static int item_namespace(struct run *x, size_t i, json_t *obj, const char *ns,
			  const char *gr)
{
	bool dry = x->r->o.dry_run, created;
	const char *msg = NULL;
	char *m = NULL;
	int r;

	r = ns_ensure(x, ns, &created, &msg);
	if (r == AWAY)
		return 1; /* stays as it is, tried again */
	ns_note(x, ns, created, r);
	if (r < 0) {
		if (asprintf(&m, "namespace %s: %s", ns,
			     msg ? msg : strerror(-r)) < 0)
			return -ENOMEM;
		item_set(x, i, ITEM_FAILED, dry, m);
		free(m);
		return 1;
	}
	if (!strcmp(gr, "secrets") && token_secret_of_existing_sa(x, obj, ns))
		return item_set(x, i, ITEM_SKIPPED, dry,
				"a ServiceAccount token: the cluster makes it "
				"again");
	if (r == 2) /* the server cannot dry-run into a namespace that a dry
		     * run did not create */
		return item_set(x, i, ITEM_CREATED, true,
				"in a namespace that does not exist yet, not "
				"checked by the server");
	return 0;
}

/* A CRD was created: wait until it is Established; in a dry run, note
 * its type so that its objects are not looked up on the server. */
static void crd_created(struct run *x, json_t *obj, const char *name)
{
	struct verror e = { { 0 } };

	if (x->r->o.dry_run) {
		const char *g = str(obj, "spec", "group");
		const char *kd =
			str(json_object_get(obj, "spec"), "names", "kind");
		char key[512];

		snprintf(key, sizeof(key), "%s/%s", g ?: "", kd ?: "");
		pthread_mutex_lock(&x->lock);
		json_object_set_new(x->dry_types, key, json_true());
		pthread_mutex_unlock(&x->lock);
	} else if (crd_wait(x, name, &e) < 0) {
		restore_job_note(x->r, x->j, e.msg);
	} else {
		const char *g = str(obj, "spec", "group");
		const char *pl =
			str(json_object_get(obj, "spec"), "names", "plural");
		char gr[600];

		snprintf(gr, sizeof(gr), "%s.%s", pl ?: "", g ?: "");
		json_object_set_new(x->fresh, gr, json_integer(clock_now_ms()));
	}
}

/* A protobuf answer's Status ("k8s\0" + runtime.Unknown around a
 * meta.v1.Status) decoded with etcd/'s tables into resp->body, so that
 * its message and reason read as a JSON answer's. Left without a body
 * (kube_status_message() then describes the HTTP status) when it does
 * not decode. */
static void status_to_json(struct kube_response *resp)
{
	struct sbuf js;
	struct verror e = { { 0 } };

	sbuf_init(&js, 1 << 20);
	if (k8s_value_to_json(resp->raw, resp->len, &js, NULL, &e) == 0)
		resp->body = json_loadb(js.buf, js.len, 0, NULL);
	sbuf_release(&js);
}

/* The create's POST. For a built-in kind (custom resources speak JSON
 * only) it goes in protobuf both ways, which costs kube-apiserver less
 * CPU than JSON (docs/BENCHMARKS.md): the body encoded by etcd/k8s_enc.c
 * when it can be encoded exactly (otherwise, e.g. a field the API server
 * does not know, which it would drop from JSON, the JSON goes: never a
 * field lost or read otherwise), the answer asked for in protobuf
 * (nothing of a created object's answer is read) and a failure's Status
 * decoded back to JSON (status_to_json()), so that errors read the same.
 * x->r->json_only (VELEROFS_RESTORE_PROTOBUF=0) turns both off. */
static int post_create(struct run *x, const char *url, json_t *obj,
		       struct kube_response *resp, struct verror *e)
{
	struct kube *k = x->r->o.kube;
	struct verror pe = { { 0 } };
	struct sbuf pb;
	char *payload;
	int r;

	if (x->r->json_only || !k8s_kind_known(str(obj, "apiVersion", NULL),
					       str(obj, "kind", NULL)))
		return kube_request(k, "POST", url, NULL, obj, resp, e);
	sbuf_init(&pb, SBUF_DEFAULT_MAX);
	r = k8s_json_to_value(obj, &pb, &pe);
	if (r == 0) {
		log_debug("%s: sent as protobuf", url);
		r = kube_request_raw(k, "POST", url,
				     KUBE_PROTOBUF ", application/json",
				     KUBE_PROTOBUF, pb.buf, pb.len, resp, e);
		sbuf_release(&pb);
	} else {
		sbuf_release(&pb);
		if (r == -ENOMEM)
			return verror_set(e, r, "encoding the body");
		log_debug("%s: sent as JSON: %s", url, pe.msg);
		payload = json_dumps(obj, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!payload)
			return verror_set(e, -ENOMEM, "encoding the body");
		r = kube_request_raw(k, "POST", url,
				     KUBE_PROTOBUF ", application/json",
				     "application/json", payload,
				     strlen(payload), resp, e);
		free(payload);
	}
	if (r == 0 && resp->protobuf &&
	    (resp->status < 200 || resp->status > 299))
		status_to_json(resp);
	return r;
}

/* The create itself (journalled "inflight" first) and what its answer
 * means: created, already there (on_exists()), or failed. */
static void item_post(struct run *x, size_t i, json_t *obj,
		      const struct kube_resource *res, const char *gr,
		      const char *objpath, const char *url)
{
	struct kube_response resp = { 0 };
	struct verror e = { { 0 } };
	bool dry = x->r->o.dry_run;
	int r;

	if (x->j->items[i].state != ITEM_INFLIGHT)
		restore_job_set_item(x->r, x->j, i, ITEM_INFLIGHT, dry, NULL);
	r = post_create(x, url, obj, &resp, &e);
	if (server_away(x, r, r < 0 ? 0 : resp.status,
			r < 0 ? e.msg : resp_message(&resp))) {
		/* left inflight: looked up before it is sent again */
	} else if (r < 0) {
		restore_job_set_item(x->r, x->j, i, ITEM_FAILED, dry, e.msg);
	} else if (resp.status == 201 || resp.status == 200 ||
		   resp.status == 202) {
		restore_job_set_item(x->r, x->j, i, ITEM_CREATED, dry, NULL);
		if (!strcmp(gr, CRD_GR))
			crd_created(x, obj, str(obj, "metadata", "name"));
	} else if (already_exists(&resp)) {
		kube_response_release(&resp);
		on_exists(x, i, obj, res, objpath);
	} else {
		restore_job_set_item(x->r, x->j, i, ITEM_FAILED, dry,
				     resp_message(&resp));
	}
	kube_response_release(&resp);
}

/* One item, step by step: prepared, its paths and label, its namespace,
 * never created twice across a restart, then POSTed. */
static void apply_item(struct run *x, size_t i)
{
	struct kube_resource res = { 0 };
	bool dry = x->r->o.dry_run;
	/* after a restart every item not decided is looked up first: the
	 * journal is not synced line by line, a request may have been sent
	 * after the last line that reached the disk */
	bool was_inflight = x->j->items[i].state == ITEM_INFLIGHT ||
			    x->j->resumed;
	char gr[300], *label = NULL, *objpath = NULL, *colpath = NULL;
	char *url = NULL;
	const char *ns, *name;
	json_t *obj = NULL;
	int r, before = 0;

	r = item_prepare(x, i, &res, gr, sizeof(gr), &obj);
	if (r != 0)
		goto out;
	ns = res.namespaced ? str(obj, "metadata", "namespace") : NULL;
	name = str(obj, "metadata", "name");
	if (asprintf(&label, ns ? "%s %s/%s" : "%s %s%s", gr, ns ? ns : "",
		     name) < 0) {
		label = NULL;
		r = -ENOMEM;
		goto out;
	}
	restore_job_set_label(x->r, x->j, i, label);
	objpath = kube_path(&res, ns, name);
	colpath = kube_path(&res, ns, NULL);
	if (!objpath || !colpath ||
	    asprintf(&url, "%s%s", colpath, create_query(x)) < 0) {
		url = NULL;
		r = -ENOMEM;
		goto out;
	}
	if (ns) {
		r = item_namespace(x, i, obj, ns, gr);
		if (r != 0)
			goto out;
	}
	if (was_inflight && !dry) {
		before = x->j->resumed ? created_listed(x, colpath, name) : -1;
		if (before < 0)
			before = created_before(x, objpath);
	}
	if (before == 1)
		item_set(x, i, ITEM_CREATED, false,
			 "(confirmed after a restart)");
	else
		item_post(x, i, obj, &res, gr, objpath, url);
out:
	if (r == -ENOMEM)
		item_set(x, i, ITEM_FAILED, dry, "out of memory");
	kube_resource_release(&res);
	json_decref(obj);
	free(label);
	free(objpath);
	free(colpath);
	free(url);
}

/* A Namespace item: created (Velero's getNamespace), never labelled. */
static void apply_namespace(struct run *x, size_t i)
{
	json_t *obj = x->j->items[i].obj;
	const char *name = str(obj, "metadata", "name");
	const char *msg = NULL, *target = part_of(x, i)->target_ns;
	bool created;
	char *label = NULL;
	int r;

	if (target && json_object_get(from_set(x, target), name))
		name = target;
	if (asprintf(&label, "namespaces %s", name) >= 0) {
		restore_job_set_label(x->r, x->j, i, label);
		free(label);
	}
	r = ns_ensure(x, name, &created, &msg);
	if (r == AWAY)
		return; /* tried again */
	if (r < 0)
		restore_job_set_item(x->r, x->j, i, ITEM_FAILED,
				     x->r->o.dry_run, msg ? msg : strerror(-r));
	else if (created)
		restore_job_set_item(x->r, x->j, i, ITEM_CREATED, r == 2, NULL);
	else
		restore_job_set_item(x->r, x->j, i, ITEM_SKIPPED,
				     x->r->o.dry_run, "already exists");
}

static bool done_state(enum restore_item_state s)
{
	return s != ITEM_PENDING && s != ITEM_INFLIGHT;
}

/* Adds ns to the set of namespaces mapped to target. */
static void map_from(struct run *x, const char *target, const char *ns)
{
	json_t *set;

	if (!target || !ns || !*ns)
		return;
	set = json_object_get(x->from_ns, target);
	if (!set) {
		set = json_object();
		if (!set || json_object_set_new(x->from_ns, target, set))
			return;
	}
	json_object_set_new(set, ns, json_true());
}

/* What the job's items say about one another, whatever file each came
 * from: the namespaces mapped to each target (an item's own, a copied
 * Namespace's, and a PersistentVolume's claim: a PV copied into
 * restore/namespaces/<target>/ is for a claim there), the backed-up
 * Namespaces, the PVs Velero would re-provision. */
static void run_prepare(struct run *x)
{
	for (size_t i = 0; i < x->j->n_items; i++) {
		json_t *o = x->j->items[i].obj;
		const char *target = part_of(x, i)->target_ns;
		const char *ns = str(o, "metadata", "namespace");
		const char *name = str(o, "metadata", "name");

		map_from(x, target, ns);
		if (is_kind(o, "v1", "Namespace")) {
			json_object_set(x->namespaces, name, o);
			map_from(x, target, name);
		}
		if (is_kind(o, "v1", "PersistentVolume")) {
			map_from(x, target,
				 str(json_object_get(o, "spec"), "claimRef",
				     "namespace"));
			if (!strcmp(str(o, "spec", "persistentVolumeReclaimPolicy") ?:
					    "",
				    "Delete"))
				json_array_append_new(x->provision_pvs,
						      json_string(name));
		}
	}
}

/* ---- the schedule ---------------------------------------------------------
 */

/* The items of one group-resource: order[next..end) not handed out yet. */
struct kind_run {
	struct restore_order_kind kind;
	size_t first, next, end;
	unsigned busy;	 /* items of it being applied */
	size_t left;	 /* items not finished (handed out or not) */
	size_t blockers; /* kinds it waits for that are not finished */
	size_t *waiters; /* kinds that wait for it; into sched->edges */
	size_t n_waiters;
	int64_t started;    /* when its first item was handed out; 0: not */
	int64_t not_before; /* no item of it is sent before (monotonic ms;
			     * 0: any time): objects of a CRD this job
			     * created (CRD_FRESH_MS) */
};

/* Every item of apply_rest()'s sort, handed out to APPLY_WORKERS threads
 * one at a time: a kind's items in order, once every kind it waits for
 * (restore_order_waits()) is finished, so that no stage waits for the
 * slowest item of a stage it does not need; kinds ready at the same
 * time go in Velero's order, but no more than their share of threads on
 * one kind while another ready kind has items waiting. */
struct sched {
	struct run *x;
	const struct restore_order_item *order;
	struct kind_run *kinds; /* in order; protected by x->lock */
	size_t n_kinds;
	size_t *edges;	/* the waiters of every kind, one array */
	size_t pending; /* items not handed out; protected by x->lock */
	bool halt;	/* stop asked or server away; protected by x->lock */
	pthread_cond_t cond; /* a kind finished, or halt */
};

#define KIND_SHARE (APPLY_WORKERS / 2)
/* The Services go first (up to KIND_SHARE threads): kube-apiserver
 * allocates a Service's cluster IP (an IPAddress object, written through
 * its own API) under one lock, so a Service takes longer than other
 * creates, more so while the server is busy with others, and the
 * Services of a restore, which nothing waits for, are its longest
 * chain: started first, they end with the rest rather than after it
 * (bench/profile-notes.md, issue 10). */

/* kube-apiserver (apiextensions-apiserver's customresource_handler.go,
 * since v1.21, kubernetes PR 99199) makes a create of a custom resource
 * whose CRD became Established less than 2 s before sleep 2 s (so that
 * another API server of an HA cluster has seen the CRD too). Such
 * objects are held until 2 s after their CRD was seen Established:
 * sent earlier they would only end later and hold a thread each while
 * the server sleeps; meanwhile the other kinds go on. */
#define CRD_FRESH_MS 2050

static void apply_one(struct run *x, const struct restore_order_item *o)
{
	if (done_state(x->j->items[o->index].state))
		return;
	if (!strcmp(o->gr, "namespaces"))
		apply_namespace(x, o->index);
	else
		apply_item(x, o->index);
}

static bool is_services(const struct kind_run *kr)
{
	return !strcmp(kr->kind.gr, "services");
}

/* The next item to apply (its kind in *kind), or SIZE_MAX when none is
 * ready. Under x->lock. */
static size_t sched_take(struct sched *s, size_t *kind)
{
	for (int pass = 0; pass < 3; pass++)
		for (size_t r = 0; r < s->n_kinds; r++) {
			struct kind_run *kr = &s->kinds[r];

			if (kr->next >= kr->end || kr->blockers ||
			    (kr->not_before && clock_now_ms() < kr->not_before))
				continue;
			/* pass 0: the Services; 1: every kind up to its
			 * share; 2: any */
			if ((pass == 0 && !is_services(kr)) ||
			    (pass < 2 && kr->busy >= KIND_SHARE))
				continue;
			if (!kr->started)
				kr->started = clock_now_ms();
			kr->busy++;
			s->pending--;
			*kind = r;
			return kr->next++;
		}
	return SIZE_MAX;
}

/* Item of kind r done: the kind finished when it was its last, which
 * may make others ready. Under x->lock. */
static void sched_done(struct sched *s, size_t r)
{
	struct kind_run *kr = &s->kinds[r];

	kr->busy--;
	if (--kr->left)
		return;
	run_log(s->x, "kind %s: %zu items done, %lld ms after its first",
		kr->kind.gr, kr->end - kr->first,
		(long long)(clock_now_ms() - kr->started));
	for (size_t w = 0; w < kr->n_waiters; w++) {
		struct kind_run *o = &s->kinds[kr->waiters[w]];

		if (!--o->blockers && o->next < o->end)
			run_log(s->x, "kind %s: %zu items ready", o->kind.gr,
				o->end - o->next);
	}
	pthread_cond_broadcast(&s->cond);
}

/* The earliest time a kind ready but for its time may start; 0: none.
 * Under x->lock. */
static int64_t sched_next_time(const struct sched *s)
{
	int64_t t = 0;

	for (size_t r = 0; r < s->n_kinds; r++) {
		const struct kind_run *kr = &s->kinds[r];

		if (kr->next < kr->end && !kr->blockers && kr->not_before &&
		    (!t || kr->not_before < t))
			t = kr->not_before;
	}
	return t;
}

/* A CLOCK_MONOTONIC deadline at monotonic ms t (s->cond waits on that
 * clock). */
static struct timespec mono_deadline(int64_t t)
{
	struct timespec ts = { .tv_sec = t / 1000,
			       .tv_nsec = (t % 1000) * 1000000 };

	return ts;
}

/* How long a thread with nothing to take waits for a kind held for its
 * time before it looks whether stop was asked. */
#define SCHED_STOP_POLL_MS 200

static void *sched_worker(void *arg)
{
	struct sched *s = arg;
	struct run *x = s->x;
	bool halt = false;

	for (;;) {
		size_t k, kind = 0;

		/* stop is asked under r->lock, never taken with x->lock */
		halt = halt || restore_stopping(x->r);
		pthread_mutex_lock(&x->lock);
		if (halt && !s->halt) {
			s->halt = true;
			pthread_cond_broadcast(&s->cond);
		}
		if (s->halt || !s->pending) {
			pthread_mutex_unlock(&x->lock);
			break;
		}
		k = sched_take(s, &kind);
		if (k == SIZE_MAX) {
			/* what is left waits for kinds being applied (one of
			 * their items ends with a broadcast) or for its
			 * time */
			int64_t until = sched_next_time(s);

			if (until) {
				struct timespec ts = mono_deadline(
					MIN(until, clock_now_ms() +
							   SCHED_STOP_POLL_MS));

				pthread_cond_timedwait(&s->cond, &x->lock, &ts);
			} else {
				pthread_cond_wait(&s->cond, &x->lock);
			}
			pthread_mutex_unlock(&x->lock);
			continue;
		}
		pthread_mutex_unlock(&x->lock);
		if (!restore_stopping(x->r) && !run_unreachable(x))
			apply_one(x, &s->order[k]);
		halt = restore_stopping(x->r) || run_unreachable(x);
		pthread_mutex_lock(&x->lock);
		sched_done(s, kind);
		pthread_mutex_unlock(&x->lock);
	}
	return NULL;
}

/* The kinds of order[0..n) and what each waits for. -ENOMEM. */
static int sched_init(struct sched *s, struct run *x,
		      const struct restore_order_item *order, size_t n)
{
	size_t n_edges = 0, e = 0;

	*s = (struct sched){ .x = x, .order = order, .pending = n };
	s->kinds = calloc(n ? n : 1, sizeof(*s->kinds));
	if (!s->kinds)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct kind_run *kr;

		if (i && !strcmp(order[i].gr, order[i - 1].gr))
			continue;
		if (s->n_kinds)
			s->kinds[s->n_kinds - 1].end = i;
		kr = &s->kinds[s->n_kinds++];
		kr->first = kr->next = i;
		restore_order_kind(order[i].gr, &kr->kind);
		if (json_is_integer(json_object_get(x->fresh, order[i].gr)))
			kr->not_before = json_integer_value(json_object_get(
						 x->fresh, order[i].gr)) +
					 CRD_FRESH_MS;
	}
	if (s->n_kinds)
		s->kinds[s->n_kinds - 1].end = n;
	/* the pairs twice (a job has a few dozen kinds; thousands cost a
	 * few hundred ms of integer compares): counted, then filled in */
	for (size_t a = 0; a < s->n_kinds; a++)
		for (size_t b = a + 1; b < s->n_kinds; b++)
			if (restore_order_waits(&s->kinds[b].kind,
						&s->kinds[a].kind)) {
				s->kinds[a].n_waiters++;
				n_edges++;
			}
	s->edges = calloc(n_edges ? n_edges : 1, sizeof(*s->edges));
	if (!s->edges) {
		free(s->kinds);
		return -ENOMEM;
	}
	for (size_t a = 0; a < s->n_kinds; a++) {
		s->kinds[a].waiters = s->edges + e;
		e += s->kinds[a].n_waiters;
		s->kinds[a].n_waiters = 0;
	}
	for (size_t a = 0; a < s->n_kinds; a++)
		for (size_t b = a + 1; b < s->n_kinds; b++)
			if (restore_order_waits(&s->kinds[b].kind,
						&s->kinds[a].kind)) {
				s->kinds[a].waiters[s->kinds[a].n_waiters++] =
					b;
				s->kinds[b].blockers++;
			}
	for (size_t r = 0; r < s->n_kinds; r++)
		s->kinds[r].left = s->kinds[r].end - s->kinds[r].first;
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	return 0;
}

/* Applies order[0..n) with up to APPLY_WORKERS threads, this one among
 * them, and returns when all of it is done (or stop was asked, or the
 * server went away, and the requests under way have ended). Out of
 * memory, or a thread that cannot be started, means fewer threads or
 * Velero's order one item at a time. */
static void apply_sched(struct run *x, const struct restore_order_item *order,
			size_t n)
{
	struct sched s;
	pthread_t t[APPLY_WORKERS - 1];
	size_t nt = 0, want = MIN(n, (size_t)APPLY_WORKERS);

	if (sched_init(&s, x, order, n) < 0) {
		for (size_t i = 0;
		     i < n && !restore_stopping(x->r) && !run_unreachable(x);
		     i++)
			apply_one(x, &order[i]);
		return;
	}
	for (size_t r = 0; r < s.n_kinds; r++)
		run_log(x, "kind %s: %zu items, waits for %zu kinds%s",
			s.kinds[r].kind.gr, s.kinds[r].left,
			s.kinds[r].blockers,
			s.kinds[r].not_before ? " and its fresh CRD" : "");
	while (nt + 1 < want &&
	       pthread_create(&t[nt], NULL, sched_worker, &s) == 0)
		nt++;
	sched_worker(&s);
	while (nt)
		pthread_join(t[--nt], NULL);
	pthread_cond_destroy(&s.cond);
	free(s.edges);
	free(s.kinds);
}

/* Sorts the items not done yet (CRDs excepted) into Velero's order and
 * applies them (apply_sched()). Types are named from discovery, or
 * guessed where the server cannot say yet (a CR's CRD may be on its
 * way). Returns how many items it took. */
static size_t apply_rest(struct run *x, struct restore_order_item *order,
			 char (*grs)[300])
{
	struct restore_job *j = x->j;
	int64_t t0 = clock_now_ms();
	size_t m = 0;

	for (size_t i = 0; i < j->n_items; i++) {
		json_t *o = j->items[i].obj;
		const char *av = str(o, "apiVersion", NULL);
		const char *kind = str(o, "kind", NULL);
		struct kube_resource res = { 0 };

		if (done_state(j->items[i].state) ||
		    is_kind(o, "apiextensions.k8s.io/",
			    "CustomResourceDefinition"))
			continue;
		if (kube_resolve(x->r->o.kube, av, kind, &res, NULL) == 0)
			gr_of(&res, grs[i], sizeof(grs[i]));
		else
			restore_guess_resource(av, kind, grs[i],
					       sizeof(grs[i]));
		kube_resource_release(&res);
		order[m].index = i;
		order[m].gr = grs[i];
		order[m].ns = str(o, "metadata", "namespace") ?: "";
		order[m].name = str(o, "metadata", "name");
		m++;
	}
	restore_order_sort(order, m);
	run_log(x, "%zu items typed and sorted in %lld ms", m,
		(long long)(clock_now_ms() - t0));
	if (m && !restore_stopping(x->r) && !run_unreachable(x))
		apply_sched(x, order, m);
	run_log(x, "%zu items done in %lld ms", m,
		(long long)(clock_now_ms() - t0));
	return m;
}

static size_t count_left(const struct restore_job *j)
{
	size_t n = 0;

	for (size_t i = 0; i < j->n_items; i++)
		if (!done_state(j->items[i].state))
			n++;
	return n;
}

/* After the CRDs of order[0..n) were created and Established: waits
 * until discovery serves the kind of each created one in each of its
 * served versions, asking again every CRD_DISCOVERY_POLL_MS, for up to
 * CRD_DISCOVERY_MAX_MS. kube-apiserver may serve a type's discovery a
 * little after it is Established (the discovery controller and the
 * aggregator catch up on their own); an item typed in that gap would
 * only be tried again after every other item of the job, with backoff
 * (seconds), instead of in its place. */
#define CRD_DISCOVERY_POLL_MS 10
#define CRD_DISCOVERY_MAX_MS 5000
static void crd_types_wait(struct run *x,
			   const struct restore_order_item *order, size_t n)
{
	int64_t t0 = clock_now_ms(), deadline = t0 + CRD_DISCOVERY_MAX_MS;
	unsigned asked = 0;

	if (x->r->o.dry_run)
		return;
	for (size_t k = 0; k < n; k++) {
		json_t *o = x->j->items[order[k].index].obj, *v;
		json_t *spec = json_object_get(o, "spec");
		const char *group = str(spec, "group", NULL);
		const char *kind = str(spec, "names", "kind");
		size_t i;

		if (x->j->items[order[k].index].state != ITEM_CREATED ||
		    !group || !kind)
			continue;
		json_array_foreach(json_object_get(spec, "versions"), i, v)
		{
			const char *ver = str(v, "name", NULL);
			char av[600];

			if (!ver || !json_is_true(json_object_get(v, "serve"
								     "d")))
				continue;
			snprintf(av, sizeof(av), "%s/%s", group, ver);
			for (;;) {
				struct kube_resource res = { 0 };
				int r = kube_resolve(x->r->o.kube, av, kind,
						     &res, NULL);

				kube_resource_release(&res);
				asked++;
				if (r != -ENOENT ||
				    clock_now_ms() >= deadline ||
				    restore_sleep(x->r, CRD_DISCOVERY_POLL_MS))
					break;
				kube_invalidate_discovery(x->r->o.kube);
			}
		}
	}
	run_log(x, "CRDs' types in discovery after %lld ms (%u lookups)",
		(long long)(clock_now_ms() - t0), asked);
}

/* One pass over what is left of the job: CRDs (each waited on until
 * Established), then the rest in Velero's order; items whose type is not
 * served yet are tried again, after the others, with backoff, until
 * type_wait_s after started. Ends early when the server is unreachable. */
static void apply_pass(struct run *x, struct restore_order_item *order,
		       char (*grs)[300], int64_t started)
{
	struct restore *r = x->r;
	struct restore_job *j = x->j;
	size_t n = 0;
	long backoff = 250;

	for (size_t i = 0; i < j->n_items; i++) {
		json_t *o = j->items[i].obj;

		if (!is_kind(o, "apiextensions.k8s.io/",
			     "CustomResourceDefinition"))
			continue;
		order[n].index = i;
		order[n].gr = CRD_GR;
		order[n].ns = "";
		order[n].name = str(o, "metadata", "name");
		n++;
	}
	restore_order_sort(order, n);
	if (n)
		run_log(x, "CRDs: %zu start", n);
	for (size_t k = 0; k < n && !restore_stopping(r) && !run_unreachable(x);
	     k++)
		if (!done_state(j->items[order[k].index].state))
			apply_item(x, order[k].index);
	if (n)
		run_log(x, "CRDs: %zu done", n);
	/* only after CRDs: a discovery costs a dozen requests, and a job of
	 * one item (a file copied in) should not pay it */
	if (n) {
		kube_invalidate_discovery(r->o.kube);
		crd_types_wait(x, order, n);
	}
	if (!apply_rest(x, order, grs))
		return;
	/* the items left: types not served yet (or a server that answered
	 * 5xx: tried again too) */
	while (count_left(j) && !restore_stopping(r) && !run_unreachable(x)) {
		bool late = clock_now_ms() >=
			    started + r->o.type_wait_s * 1000LL;

		if (!late) {
			if (restore_sleep(r, backoff))
				return;
			backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
			late = clock_now_ms() >=
			       started + r->o.type_wait_s * 1000LL;
		}
		pthread_mutex_lock(&x->lock);
		x->types_late = late;
		pthread_mutex_unlock(&x->lock);
		kube_invalidate_discovery(r->o.kube);
		apply_rest(x, order, grs);
		if (late)
			break;
	}
}

/* The server is away: the job waits (RESTORE_WAITING, with the reason),
 * asking the server for its version with backoff, until it answers
 * (true) or outage_wait_s have passed since away_since (false). false
 * too when stop is asked. */
static bool wait_for_server(struct run *x, int64_t away_since)
{
	struct restore *r = x->r;
	int64_t deadline = away_since + r->o.outage_wait_s * 1000LL;
	long backoff = 1000;
	char *why;

	pthread_mutex_lock(&x->lock);
	if (asprintf(&why, "%s (retrying for up to %us)",
		     x->away ? x->away : "the API server is away",
		     r->o.outage_wait_s) < 0)
		why = NULL;
	pthread_mutex_unlock(&x->lock);
	restore_job_set_waiting(r, x->j, RESTORE_WAITING, why);
	free(why);
	while (clock_now_ms() < deadline) {
		struct verror e = { { 0 } };
		char *v = NULL;

		if (restore_sleep(r, backoff))
			return false;
		backoff = backoff * 2 > 10000 ? 10000 : backoff * 2;
		if (kube_server_version(r->o.kube, &v, &e) == 0) {
			free(v);
			return true;
		}
	}
	return false;
}

void restore_apply_job(struct restore *r, struct restore_job *j)
{
	struct run x = { .r = r, .j = j };
	struct restore_order_item *order = NULL;
	char(*grs)[300] = NULL;
	int64_t started = clock_now_ms(), away_since = 0;
	size_t failed = 0, left = 0;

	x.from_ns = json_object();
	x.provision_pvs = json_array();
	x.namespaces = json_object();
	x.dry_types = json_object();
	pthread_mutex_init(&x.lock, NULL);
	pthread_mutex_init(&x.ns_lock, NULL);
	pthread_cond_init(&x.ns_cond, NULL);
	pthread_mutex_init(&x.list_lock, NULL);
	x.listed = json_object();
	x.fresh = json_object();
	restore_valid_label(j->id, x.restore_label, sizeof(x.restore_label));
	x.timeline = log_get_max_level() >= LOG_DEBUG;
	run_log(&x, "applying %zu items", j->n_items);
	restore_job_set_state(r, j, RESTORE_RUNNING);
	if (!r->o.kube) {
		for (size_t i = 0; i < j->n_items; i++)
			if (!done_state(j->items[i].state))
				restore_job_set_item(r, j, i, ITEM_FAILED,
						     false,
						     "no cluster: velerofs was "
						     "started without a "
						     "kubeconfig");
		goto end;
	}
	run_prepare(&x);
	order = calloc(j->n_items ? j->n_items : 1, sizeof(*order));
	grs = calloc(j->n_items ? j->n_items : 1, sizeof(*grs));
	if (!order || !grs)
		goto end;
	/* passes until every item is decided; between them, the server
	 * being away, the job waits for it (outage_wait_s from when the
	 * last pass that got anything done ended) */
	for (left = count_left(j);;) {
		size_t before = left;
		bool away;

		apply_pass(&x, order, grs, started);
		left = count_left(j);
		pthread_mutex_lock(&x.lock);
		away = x.away != NULL;
		pthread_mutex_unlock(&x.lock);
		if (!left || !away || restore_stopping(r))
			break;
		if (!away_since || left < before)
			away_since = clock_now_ms();
		if (!wait_for_server(&x, away_since)) {
			if (restore_stopping(r))
				break;
			for (size_t i = 0; i < j->n_items; i++) {
				char *m = NULL;

				if (done_state(j->items[i].state))
					continue;
				if (asprintf(&m,
					     "the API server was away for "
					     "%us: %s",
					     r->o.outage_wait_s, x.away) < 0)
					m = NULL;
				restore_job_set_item(r, j, i, ITEM_FAILED,
						     false,
						     m ? m :
							 "the API server "
							 "was away");
				free(m);
			}
			break;
		}
		pthread_mutex_lock(&x.lock);
		x.unreachable = false;
		free(x.away);
		x.away = NULL;
		pthread_mutex_unlock(&x.lock);
		/* what a namespace lookup found may be stale */
		pthread_mutex_lock(&x.ns_lock);
		for (size_t i = 0; i < x.n_ns; i++) {
			free(x.ns[i].name);
			free(x.ns[i].message);
		}
		x.n_ns = 0;
		pthread_mutex_unlock(&x.ns_lock);
		restore_job_set_state(r, j, RESTORE_RUNNING);
	}
end:
	run_log(&x, "applied (%zu items)", j->n_items);
	if (!restore_stopping(r)) {
		bool all = true;

		for (size_t i = 0; i < j->n_items; i++) {
			if (j->items[i].state == ITEM_FAILED)
				failed++;
			if (!done_state(j->items[i].state))
				all = false;
		}
		if (all)
			restore_job_set_state(
				r, j, failed ? RESTORE_FAILED : RESTORE_DONE);
		else
			restore_job_set_state(r, j, RESTORE_FAILED);
	}
	for (size_t i = 0; i < x.n_ns; i++) {
		free(x.ns[i].name);
		free(x.ns[i].message);
	}
	free(x.ns);
	free(order);
	free(grs);
	free(x.away);
	json_decref(x.from_ns);
	json_decref(x.provision_pvs);
	json_decref(x.namespaces);
	json_decref(x.dry_types);
	pthread_mutex_destroy(&x.lock);
	pthread_mutex_destroy(&x.ns_lock);
	pthread_cond_destroy(&x.ns_cond);
	pthread_mutex_destroy(&x.list_lock);
	json_decref(x.listed);
	json_decref(x.fresh);
}
