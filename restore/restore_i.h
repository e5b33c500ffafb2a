/* restore_i.h: the pieces of the restore engine, shared by the restore/ sources
 * and the unit tests; not for other modules.
 *
 *   parse.c      input bytes -> the objects they hold (YAML 1.1 as kubectl
 *                reads it, or JSON), validated and capped
 *   clean.c      Velero's cleaning of one item (metadata reset, status, the
 *                built-in restore item actions, namespace mapping, labels)
 *   transform.c  image and storage class maps, Velero resource modifiers
 *   order.c      Velero's restore order (group-resource priorities)
 *   state.c      the state directory: where it is, that it is ours, its
 *                lock (the only code that decides either)
 *   job.c        jobs on disk, the public API, the worker thread
 *   apply.c      one job against the API server
 *
 * Every function here is pure (no I/O, no locks) except those of job.c
 * and apply.c. json_t ownership follows jansson's words: "steals",
 * "borrowed", "new reference". */
#pragma once

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/sbuf.h"
#include "kube/kube.h"
#include "restore/restore.h"

/* Input caps: a file copied into restore/ is hostile until parsed. 64 MiB
 * holds any real backup folder; 10,000 objects per file bounds one job's
 * journal; 64 levels is deeper than any Kubernetes schema (CRD schemas
 * nest about 30); the node budget bounds alias expansion (a "billion
 * laughs" document) to about 400 MB of jansson values. */
#define RESTORE_INPUT_MAX ((size_t)64 << 20)
#define RESTORE_ITEMS_MAX 10000
#define RESTORE_DEPTH_MAX 64
#define RESTORE_NODES_MAX ((size_t)4 << 20)
/* Kubernetes' own limits: names of most objects are DNS subdomains. */
#define RESTORE_NAME_MAX 253
#define RESTORE_LABEL_MAX 63

/* ---- parse.c ---------------------------------------------------------- */

/* Parses len bytes (YAML documents, a JSON object or a JSON stream; List
 * kinds flattened) into a new array of objects (*out, caller decrefs).
 * Each object is checked: a mapping with string apiVersion, kind and a
 * metadata.name that is a valid path segment. -EBADMSG with e naming
 * "<source>: line L column C: what" (source may be NULL), -EFBIG, -E2BIG
 * (too many items or nodes), -ENOMEM. An input holding no object at all
 * (only comments, empty documents) gives an empty array. */
int restore_parse(const void *data, size_t len, const char *source,
		  json_t **out, struct verror *e);

/* One YAML (or JSON) document as a plain value, with the same scalar
 * rules and caps and no Kubernetes checks (the modifiers file, patch
 * data). An empty input gives json null. *out: new reference. */
int restore_parse_document(const void *data, size_t len, const char *source,
			   json_t **out, struct verror *e);

/* ---- selector.c -------------------------------------------------------- */

/* Whether labels (an object, may be NULL) match sel, a LabelSelector
 * mapping (matchLabels, matchExpressions with In, NotIn, Exists,
 * DoesNotExist); an expression without key or operator never matches. */
bool restore_selector_labels(const json_t *sel, const json_t *labels);

/* ---- hooks.c ----------------------------------------------------------- */

/* Velero's init-container restore hooks of a Restore's spec.hooks (see
 * hooks.c for the file's forms and what is checked). */
struct restore_hooks;
/* Parses and checks a hooks file: -EINVAL with e saying where, -ENOMEM.
 * *out: free with restore_hooks_free(). */
int restore_hooks_new(const void *data, size_t len, struct restore_hooks **out,
		      struct verror *e);
struct restore_hooks *restore_hooks_free(struct restore_hooks *h);
/* The init containers (a new array, in the file's order; caller decrefs)
 * the hooks add to a pod restored into namespace ns with labels (may be
 * NULL); NULL when h is NULL or memory runs out. */
json_t *restore_hooks_init_containers(const struct restore_hooks *h,
				      const char *ns, const json_t *labels);

/* ---- clean.c ---------------------------------------------------------- */

/* The group-resource of an object as Velero names its backup folders
 * ("deployments.apps", "pods"), from a built-in table of Kubernetes' own
 * kinds, else guessed the way kubectl's RESTMapper guesses (lower-case
 * kind + "s", "y" -> "ies", "s"/"x"/"ch"/"sh" -> "es"). Used when
 * discovery is not available yet (a CR whose CRD is in the same job) and
 * by the unit tests. Writes into buf; returns buf. */
const char *restore_guess_resource(const char *api_version, const char *kind,
				   char *buf, size_t bufsz);
/* Whether a built-in kind is namespaced, from the same table: 1, 0, or -1
 * when unknown. */
int restore_guess_namespaced(const char *api_version, const char *kind);

/* A valid label value for value (deterministic): value itself when it is
 * one; else Velero's GetValidName (label values over 63 bytes become their
 * first 57 bytes and 6 hex digits of their SHA-256) applied to value with
 * its leading non-alphanumeric bytes dropped and every byte outside
 * [A-Za-z0-9_.-] as '-' (the hash is of value as given). An etcd
 * snapshot's name, made of its vault key, may be any of these. Writes into
 * buf (>= 64). */
const char *restore_valid_label(const char *value, char *buf, size_t bufsz);

struct restore_clean {
	const char *gr;		/* "deployments.apps"; borrowed */
	const char *target_ns;	/* map every namespace to it; NULL: keep */
	json_t *from_ns;	/* the namespaces mapped to target_ns: an
				 * object used as a set (the job's items'
				 * own namespaces); borrowed; NULL: all */
	const char *default_ns; /* for namespaced items with none and no
				 * target (kubectl: the context's) */
	const char *backup;	/* velero.io/backup-name; NULL: not added */
	const char *restore;	/* velero.io/restore-name (the job id) */
	const struct restore_hooks *hooks; /* init-container hooks of a
					    * hooks file; NULL: none */
	json_t *provision_pvs; /* names of PVs in this job Velero would
				* re-provision (reclaim policy Delete),
				* an array; borrowed, may be NULL */
};

/* Velero's restoreItem up to the resource modifiers (§4.2 steps 1-5):
 * skip rules, the PV branch, resetMetadataAndStatus, the built-in
 * restore item actions, PVC binding reset. Modifies obj in place. Returns
 * 0, or 1 when Velero would not restore the item, with *skip_reason (a
 * static string) saying why; -EINVAL for an object whose metadata is not
 * a mapping. */
int restore_clean_item(json_t *obj, const struct restore_clean *c,
		       const char **skip_reason);
/* Velero's restoreItem after the modifiers (§4.2 step 7): the namespace
 * mapping and the backup/restore labels. Namespaced says whether the type
 * has a namespace. */
int restore_clean_finish(json_t *obj, const struct restore_clean *c,
			 bool namespaced);
/* Velero's getNamespace: the Namespace to create for name, from the
 * backed-up one (labels, annotations and spec only; ns may be NULL). *out
 * is a new reference. */
int restore_clean_namespace(json_t *ns, const char *name, json_t **out);
/* resetMetadataAndStatus alone, and managedFields, for comparing what the
 * cluster holds with what would be sent. */
void restore_clean_reset(json_t *obj);

/* ---- transform.c ------------------------------------------------------ */

struct restore_transform;

/* Parses the maps ("OLD=NEW,...", NULL or "" for none) and the resource
 * modifiers (a YAML file's bytes, NULL for none; also a ConfigMap holding
 * them under one data key, as Velero takes them). -EINVAL with e saying
 * what and where. *out (caller frees) set on success. */
int restore_transform_new(const char *image_map, const char *storageclass_map,
			  const void *modifiers, size_t modifiers_len,
			  struct restore_transform **out, struct verror *e);
struct restore_transform *restore_transform_free(struct restore_transform *t);
/* Applies the maps, then the modifier rules whose conditions match (with
 * the item's original namespace, as Velero does), to obj in place. gr as
 * in struct restore_clean. -EINVAL with e when a patch cannot be applied
 * (the item then fails, as in Velero). t may be NULL. */
int restore_transform_apply(const struct restore_transform *t, json_t *obj,
			    const char *gr, struct verror *e);

/* The JSON tools underneath, exposed for the unit tests. */
int restore_json_patch(json_t *doc, const json_t *ops, struct verror *e);
/* RFC 7386: returns the patched document (new reference; target is
 * consumed: "steals"). */
json_t *restore_merge_patch(json_t *target, const json_t *patch);
/* The strategic merge subset (see transform.c). Same ownership. */
json_t *restore_strategic_patch(json_t *target, const json_t *patch,
				struct verror *e);
/* The RFC 7386 patch turning from into to (new reference); NULL when they
 * are equal. */
json_t *restore_merge_diff(const json_t *from, const json_t *to);
/* Whether every field of want is in have with the same value (objects
 * may hold more keys in have; arrays must have the same length). */
bool restore_json_subset(const json_t *want, const json_t *have);

/* ---- order.c ---------------------------------------------------------- */

struct restore_order_item {
	size_t index;	/* into the job's items */
	const char *gr; /* borrowed */
	const char *ns; /* borrowed; "" for cluster-scoped */
	const char *name;
};

/* Sorts items into Velero's restore order: CRDs, the high-priority list,
 * every other group-resource alphabetically, the low-priority list;
 * within a group-resource by namespace, then name, then input order. */
void restore_order_sort(struct restore_order_item *items, size_t n);
/* The rank of a group-resource in that order (for tests). */
int restore_order_rank(const char *gr);
/* A group-resource as restore_order_waits() sees it, computed once. */
struct restore_order_kind {
	const char *gr; /* borrowed */
	int rank;	/* restore_order_rank() */
	bool barrier;	/* an admission webhook or policy, an APIService */
};
void restore_order_kind(const char *gr, struct restore_order_kind *out);
/* Whether every item of a must be decided before an item of b is sent
 * (a sorted before b, and b needs it: see order.c for what of Velero's
 * order is kept and what is relaxed). Cheap: no string compared but
 * the two names when their ranks are equal. */
bool restore_order_waits(const struct restore_order_kind *b,
			 const struct restore_order_kind *a);
/* The same from the names (for tests). */
bool restore_order_needs(const char *b, const char *a);

/* ---- job.c / apply.c -------------------------------------------------- */

enum restore_item_state {
	ITEM_PENDING,
	ITEM_INFLIGHT, /* journalled before its request was sent */
	ITEM_CREATED,
	ITEM_UPDATED,
	ITEM_UNCHANGED,
	ITEM_SKIPPED,
	ITEM_FAILED,
};

const char *restore_item_state_name(enum restore_item_state s);

struct restore_item {
	json_t *obj; /* as parsed; owned */
	size_t part; /* index into the job's parts: the file it came from */
	enum restore_item_state state;
	char *message; /* reason, the server's message; owned */
	char *label;   /* "deployments.apps shop/web"; owned */
	bool dry;      /* the outcome came from a dry run */
};

/* One file of a job: a job gathers the files that arrive together (see
 * job.c), each with its own target namespace and backup. */
struct restore_part {
	char *source;	 /* "restore/namespaces/x/web.yaml" */
	char *target_ns; /* NULL: keep namespaces */
	char *backup;	 /* NULL: not known */
};

struct restore_job {
	char *id;
	char *source;
	char *target_ns; /* NULL: keep namespaces */
	char *backup;	 /* NULL: not known */
	char *reason;	 /* REJECTED: why */
	char *dir;	 /* state_dir/<id> */
	char *notes;	 /* lines about the job as a whole
			  * ("created namespaces shop-copy") */
	char *waiting;	 /* RESTORE_WAITING: why (the server's error) */
	struct restore_part *parts; /* n_parts >= 1 unless REJECTED; parts[0]
				     * is source/target_ns/backup above */
	size_t n_parts;
	bool gathering;		/* still taking files; the worker has not
				 * started it (protected by r->lock) */
	int64_t first_ms;	/* gathering: monotonic time of the first and */
	int64_t last_ms;	/* the last file taken */
	int writer_fd;		/* gathering: a pidfd of the process that wrote
				 * the last file; -1: not known (protected by
				 * r->lock) */
	int64_t writer_gone_ms; /* when it was seen gone; 0: not yet
				 * (protected by r->lock) */
	size_t parts_size;	/* bytes in <dir>/parts.jsonl (protected by
				 * r->gather_lock while gathering) */
	long long created;	/* unix seconds */
	enum restore_state state;
	struct restore_item *items;
	size_t n_items;
	bool resumed;	/* loaded from disk unfinished: its items not
			 * decided are looked up before they are sent */
	int journal_fd; /* -1 when closed */
	/* group commit of the journal: lines are numbered as written;
	 * one fdatasync covers every line written before it */
	pthread_mutex_t jlock;
	pthread_cond_t jcond;
	uint64_t jwritten; /* protected by jlock */
	uint64_t jsynced;  /* protected by jlock */
	bool jsyncing;	   /* protected by jlock */
	struct restore_job *next;
};

struct restore {
	struct restore_options o; /* strings below are our copies */
	char *state_dir;
	int lock_fd; /* flock'ed: this process holds state_dir */
	struct restore_transform *transform;
	struct restore_hooks *hooks; /* -o restore_hooks; NULL: none */
	bool json_only; /* VELEROFS_RESTORE_PROTOBUF=0: creates ask for JSON
			 * answers (apply.c's post_create()) */

	pthread_mutex_t lock;
	pthread_cond_t changed;	       /* a job changed state; a job was queued;
					* stop was asked */
	struct restore_job *jobs;      /* oldest first; protected by lock */
	struct restore_job *gathering; /* the job taking files; protected
					* by lock (and gather_lock) */
	unsigned open_inputs;	       /* restore_inputs alive; protected
					* by lock */
	/* held across the commit of a file into the gathering job and the
	 * sealing of that job; taken before lock */
	pthread_mutex_t gather_lock;
	unsigned seq; /* id counter; protected by lock */
	bool stop;    /* protected by lock */
	pthread_t worker;
	bool worker_started;
};

/* ---- state.c ---------------------------------------------------------- */

/* The default state directory of a mount of vault_id on mountpoint (an
 * absolute path). Caller frees; NULL when out of memory. */
char *restore_state_default(const char *vault_id, const char *mountpoint);
/* Makes or checks path as the user's own directory (refusing it with
 * -EPERM and a reason otherwise) and takes its lock: *lock_fd (caller
 * closes) and *real, the resolved path to use from then on (caller frees),
 * on success; -EBUSY when another mount holds it, or the real reason why
 * the lock file could not be opened or locked. */
int restore_state_open(const char *path, char **real, int *lock_fd,
		       struct verror *e);

/* apply.c: runs one job to its end (the worker calls it without the
 * lock). Items' states are journalled through restore_job_journal(). */
void restore_apply_job(struct restore *r, struct restore_job *j);
/* job.c: records an item's new state (under r->lock, then fsynced to the
 * job's journal) and wakes the waiters. message may be NULL. */
void restore_job_set_item(struct restore *r, struct restore_job *j, size_t i,
			  enum restore_item_state s, bool dry,
			  const char *message);
/* job.c: the item's report label, once discovery named its type. */
void restore_job_set_label(struct restore *r, struct restore_job *j, size_t i,
			   const char *label);
/* job.c: a line about the job as a whole, journalled. */
void restore_job_note(struct restore *r, struct restore_job *j,
		      const char *note);
/* Whether restore_free() asked the worker to stop. */
bool restore_stopping(struct restore *r);
void restore_job_set_state(struct restore *r, struct restore_job *j,
			   enum restore_state s);
/* The same, with why (journalled; NULL: none) for RESTORE_WAITING. */
void restore_job_set_waiting(struct restore *r, struct restore_job *j,
			     enum restore_state s, const char *why);
/* Sleeps up to ms unless stop is asked; returns true when it was. */
bool restore_sleep(struct restore *r, long ms);
