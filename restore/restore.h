/* restore: the spool's engine: files copied into a mount's restore/
 * become restore jobs against the target cluster.
 *
 * A file written into restore/ (YAML or JSON: one object, several `---`
 * documents, or a List) is parsed when it is closed; malformed input is
 * refused whole (nothing of it is applied) with a reason a person can read.
 * A valid file becomes a job: its items are cleaned the way Velero's
 * restore cleans them, transformed (image/storage class maps, resource
 * modifiers), labelled with the backup and the job, and applied in
 * Velero's restore order by a worker thread, which creates missing
 * namespaces and waits for types that are not served yet. Jobs are kept
 * on disk: a daemon killed mid-restore finishes the pending jobs when it
 * starts again, and never applies an item twice.
 *
 * Thread-safety: every function may be called from any thread. No FUSE
 * here; fs/spool.c is the thin front end. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"
#include "common/sbuf.h"

struct kube;
struct restore;
struct restore_input;

enum restore_existing {
	RESTORE_EXISTING_SKIP,	 /* default: report "skipped (exists)" or
				  * "unchanged" when identical */
	RESTORE_EXISTING_UPDATE, /* patch it to the backed-up content */
};

/* Which backup a file's bytes came from: called at commit with the whole
 * input and the files of the mount its writer had open while writing it
 * (hints: "backups/<backup>/namespaces/...", in the order seen; may be
 * none); writes the backup's name to name and returns 0, or -ENOENT when
 * it cannot be known (an edited file, files of several backups). May be
 * NULL. */
typedef int (*restore_origin_fn)(void *userdata, const void *data, size_t len,
				 const char *const *hints, size_t nhints,
				 char *name, size_t namesz);

/* The Namespace ns as backup holds it: the bytes of its file (*data,
 * caller frees; YAML or JSON). -ENOENT when the backup has none. For a
 * namespace that a restore creates when the job does not hold its
 * Namespace. */
typedef int (*restore_namespace_fn)(void *userdata, const char *backup,
				    const char *ns, char **data, size_t *len);

struct restore_options {
	struct kube *kube;	/* borrowed; the target cluster */
	const char *state_dir;	/* jobs are kept here (made 0700; refused
				 * unless the user's own); NULL: the
				 * default for vault_id and mountpoint */
	const char *vault_id;	/* with state_dir NULL: the vault and */
	const char *mountpoint; /* the absolute mount point */
	enum restore_existing existing;
	bool dry_run;		      /* every request with dryRun=All */
	const char *image_map;	      /* "OLD=NEW,..." registry/repo prefixes;
				       * NULL: none */
	const char *storageclass_map; /* "A=B,..."; NULL: none */
	const char *modifiers_file;   /* Velero resource modifiers (v1) */
	const char *hooks_file;	      /* a Restore's spec.hooks: its
				       * init-container hooks */
	unsigned type_wait_s;	      /* how long to wait for a type to be
				       * served; 0: 120 */
	unsigned outage_wait_s;	      /* how long a job waits for an API
				       * server that cannot be reached or
				       * answers 5xx/429; 0: 600 */
	bool include_nonrestorable;   /* restore the kinds Velero never
				       * restores (events, its own
				       * backups/restores, ...) */
	restore_origin_fn origin;
	void *origin_userdata;
	restore_namespace_fn namespace_of; /* may be NULL */
	void *namespace_userdata;
};

/* Checks the options (parses the maps, the modifiers and hooks files:
 * -EINVAL with e saying where), makes or checks the state directory (the
 * user's own, or -EPERM with e saying why) and locks it (-EBUSY: another mount
 * holds it), loads the jobs kept there, each parsed and checked again as
 * new input (a job that fails is ignored with a warning), and starts the
 * worker, which resumes what was pending. *out set on success only. */
int restore_new(const struct restore_options *o, struct restore **out,
		struct verror *e);
/* Stops the worker after the item in flight (pending work stays on disk
 * for the next start). Accepts NULL; returns NULL. */
struct restore *restore_free(struct restore *r);

/* A file being written into the spool. target_ns NULL keeps each item's
 * own namespace; otherwise namespaced items go into target_ns (created if
 * missing). source is the path the user wrote, relative to the mount
 * ("restore/namespaces/shop-copy/web.yaml"), for reports. */
int restore_input_new(struct restore *r, const char *target_ns,
		      const char *source, struct restore_input **out);
/* Notes that the writer had path open while writing (a file of the
 * mount, "backups/<backup>/..."): where the bytes may come from, for
 * restore_origin_fn. Up to 16 distinct paths are kept. */
int restore_input_hint(struct restore_input *in, const char *path);
/* The process writing the file (the caller of FUSE's create): when the
 * last file of a gathering job was written by a process that has exited
 * since, and no other file is being written, the job starts soon
 * (job.c: a copy command that has ended sends nothing more). pid <= 0,
 * or a pid the kernel cannot watch (a thread other than a process's
 * first), changes nothing. */
void restore_input_writer(struct restore_input *in, pid_t pid);
/* Stores len bytes at off. -EFBIG beyond the input cap (64 MiB). */
int restore_input_write(struct restore_input *in, const void *buf, size_t len,
			off_t off);
/* Truncates (for O_TRUNC / ftruncate). */
int restore_input_truncate(struct restore_input *in, off_t size);
/* Bytes written so far. */
size_t restore_input_size(const struct restore_input *in);
/* Parses and queues the input as a job. On success *job_id (caller
 * frees) names it. Malformed input: -EINVAL (or -EBADMSG), e says what
 * and where ("web.yaml: line 3 column 7: ..."), nothing is queued, and a
 * job in state REJECTED records the reason for the mount's view. An empty
 * input (a file created and closed before any write, as `cp` does
 * between create and write) is not an error: 0 with *job_id NULL. */
int restore_input_commit(struct restore_input *in, char **job_id,
			 struct verror *e);
struct restore_input *restore_input_free(struct restore_input *in);
/* No more files are coming now: the job gathering files starts without
 * waiting for more (for a caller that submits its files itself, as
 * restore-probe does). */
void restore_seal(struct restore *r);

enum restore_state {
	RESTORE_PENDING,  /* queued */
	RESTORE_RUNNING,  /* being applied */
	RESTORE_DONE,	  /* every item applied, skipped or unchanged */
	RESTORE_FAILED,	  /* at least one item failed */
	RESTORE_REJECTED, /* the input did not parse; nothing applied */
	RESTORE_WAITING,  /* the API server cannot be reached; retried */
};

const char *restore_state_name(enum restore_state s);

/* The jobs, oldest first: ids (caller frees the array and each string). */
int restore_job_list(struct restore *r, char ***ids, size_t *n);
/* A report a person can read, appended to out: the job, its source, its
 * state, and one line per item ("created deployments.apps shop/web",
 * "skipped ... : already exists", "failed ...: <the API server's
 * message>", "would create ... (dry run)"). -ENOENT for an unknown id. */
int restore_job_report(struct restore *r, const char *id, struct sbuf *out,
		       enum restore_state *state);
/* The first lines of that report only (job, source, state, namespace,
 * backup, the item counts), without a line per item: cheap enough to
 * call for every job on every read of restore/status. */
int restore_job_summary(struct restore *r, const char *id, struct sbuf *out,
			enum restore_state *state);
/* Whether job id exists (0, its state in *state if non-NULL) or not
 * (-ENOENT); cheap: no report is made. */
int restore_job_state(struct restore *r, const char *id,
		      enum restore_state *state);
/* Forgets a finished job (DONE, FAILED or REJECTED): its report goes and
 * its record is removed from the state directory. -EBUSY while it is
 * pending or running, -ENOENT for an unknown id. */
int restore_job_dismiss(struct restore *r, const char *id);

/* Waits until the job is DONE, FAILED or REJECTED, or timeout_ms passes
 * (-ETIMEDOUT). For the CLI and tests. */
int restore_job_wait(struct restore *r, const char *id, long timeout_ms);

/* A label selector in the string form kubectl and velero take with
 * --selector: k=v, k==v, k!=v (also true without k), k in (a,b),
 * k notin (a,b), k, !k, joined by commas; "" selects everything. -EINVAL
 * with e saying where it is wrong (k>N, k<N are refused), -ENOMEM. *out:
 * free with restore_selector_free(). */
struct restore_selector;
int restore_selector_new(const char *s, struct restore_selector **out,
			 struct verror *e);
/* Whether an item file's bytes (parsed as files copied into restore/
 * are) hold an object whose labels the selector matches: 1 or 0;
 * -EBADMSG and the other restore_parse() errors, with e. */
int restore_selector_match(const struct restore_selector *rs, const void *data,
			   size_t len, struct verror *e);
struct restore_selector *restore_selector_free(struct restore_selector *rs);
