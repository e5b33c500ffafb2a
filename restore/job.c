/* job: the public API of restore.h, the jobs on disk and the worker.
 *
 * On disk, under state_dir (0700), one directory per job:
 *   <id>/job.json  what the job is: id, source, target namespace, backup,
 *                  creation time, and the parsed items (or, for a REJECTED
 *                  job, the reason and no items). Written once, to a
 *                  temporary name, then renamed: when
 *                  restore_input_commit() returns, the job survives a
 *                  killed daemon; it is synced to the disk (job_sync()) when
 *                  the job is sealed, before its first request.
 *   <id>/journal   one JSON line per change, appended: {"i":3,"s":
 *                  "inflight"} before an item's request is sent,
 *                  {"i":3,"s":"created","m":"..."} after, {"note":"..."};
 *                  {"job":"done"} and the other job states fdatasynced
 *                  (several threads' lines share one fdatasync). Item
 *                  lines are not synced one by one (a sync per item cost
 *                  more than the request): they survive a killed daemon,
 *                  and after a crash of the machine the lines lost are
 *                  made up for by looking every undecided item up. A
 *                  torn last line (a crash while writing it) is ignored.
 * Loading replays the journal; an item left "inflight" is checked against
 * the cluster by apply.c before anything is sent again.
 *
 *   <id>/parts.jsonl  the second, third ... file of the job, one line
 *                  each, appended with one write(): {"source":...,
 *                  "target_ns":..., "backup":..., "items":[...]}; items are
 *                  numbered across job.json and the lines in that order.
 *                  A last line without its newline (a daemon killed while
 *                  writing it, before the close() it answers returned) is
 *                  not part of the job. One file rather than one per part:
 *                  creating a file costs ext4 an inode allocation (up to
 *                  0.2 ms of CPU on a file system others churn, in the
 *                  path of every close() of a `cp -r`), and the job is
 *                  made durable with two fdatasyncs instead of a syncfs
 *                  (bench/profile-notes.md).
 *                  Directories written by earlier builds have
 *                  part-NNNN.json files instead (read the same way).
 *
 * A copy is a restore: files that arrive together become one job. A
 * valid file closed while a job is gathering goes into it; otherwise it
 * starts one. A job stops gathering (is sealed) when no other file is
 * being written into restore/ and either the process that wrote its
 * last file has exited GATHER_EXIT_MS ago or, while that process lives,
 * GATHER_QUIET_MS passed since that file; at the latest GATHER_MAX_MS
 * after its first file, or when it holds RESTORE_ITEMS_MAX items; only
 * then is it applied, in Velero's order over all its files. A `cp -r`
 * creates the next file right after closing the previous one, so it is
 * one job (up to the bound), started GATHER_EXIT_MS after `cp` exits;
 * so is a single `cp`. Parts are appended to
 * parts.jsonl (a killed daemon keeps them); they are synced to the
 * disk when the job is sealed, before its first request. A
 * malformed or empty file is a job of its own, REJECTED, with its reason.
 *
 * One worker thread applies the jobs, oldest first, one at a time (apply.c
 * spreads a job's items over a few threads of its own). The
 * kubeconfig's credentials are never written here: job records hold only
 * objects from the input and the API server's messages. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/dns.h"
#include "common/log.h"
#include "common/macro.h"
#include "restore/restore_i.h"

/* A job.json holds at most the input's objects; JSON of a 64 MiB YAML
 * input stays well under 4x that. */
#define JOB_FILE_MAX ((size_t)256 << 20)
#define JOURNAL_MAX ((size_t)64 << 20)
/* Gathering: files closed within GATHER_QUIET_MS of one another (or
 * while another file in restore/ is still being written) are one job;
 * no job waits more than GATHER_MAX_MS before it starts, so that a long
 * copy is applied while it goes on. */
#define GATHER_QUIET_MS 300
#define GATHER_MAX_MS 10000
/* ... but when the process that wrote the last file has exited (a `cp`
 * or `cp -r` that is over) and no file is being written, GATHER_EXIT_MS
 * after its exit: the time a shell loop takes to start its next `cp`
 * and create its file (a few ms; more on a loaded machine). Whether it
 * has exited is looked at every GATHER_POLL_MS. */
#define GATHER_EXIT_MS 50
#define GATHER_POLL_MS 5
/* parts.jsonl: a job that would grow past this starts as it is, and the
 * file that did not fit begins the next one. */
#define PARTS_FILE_MAX ((size_t)1 << 30)

#define INPUT_HINTS_MAX 16

struct restore_input {
	struct restore *r; /* borrowed */
	char *target_ns;
	char *source;
	char *buf;
	size_t len, cap;
	char *hints[INPUT_HINTS_MAX]; /* restore_input_hint() */
	size_t nhints;
	bool too_big;	  /* a write went past RESTORE_INPUT_MAX: what was kept
			   * is a truncated file, never applied */
	int writer_fd;	  /* a pidfd of the writer (restore_input_writer());
			   * -1: not known */
	bool writer_gone; /* it had exited when the pidfd was asked for */
};

static const char *const item_names[] = {
	[ITEM_PENDING] = "pending",	[ITEM_INFLIGHT] = "inflight",
	[ITEM_CREATED] = "created",	[ITEM_UPDATED] = "updated",
	[ITEM_UNCHANGED] = "unchanged", [ITEM_SKIPPED] = "skipped",
	[ITEM_FAILED] = "failed",
};

const char *restore_item_state_name(enum restore_item_state s)
{
	return (unsigned)s < ARRAY_SIZE(item_names) ? item_names[s] : "?";
}

static int item_state_parse(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(item_names); i++)
		if (s && !strcmp(s, item_names[i]))
			return (int)i;
	return -1;
}

const char *restore_state_name(enum restore_state s)
{
	static const char *const names[] = {
		[RESTORE_PENDING] = "pending",	 [RESTORE_RUNNING] = "running",
		[RESTORE_DONE] = "done",	 [RESTORE_FAILED] = "failed",
		[RESTORE_REJECTED] = "rejected", [RESTORE_WAITING] = "waiting",
	};

	return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "?";
}

static bool terminal(enum restore_state s)
{
	return s == RESTORE_DONE || s == RESTORE_FAILED ||
	       s == RESTORE_REJECTED;
}

/* ---- files ------------------------------------------------------------- */

static int fsync_dir(const char *dir)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return fsync(fd) < 0 ? -errno : 0;
}

/* Writes all len bytes of data to fd: 0 or -errno. */
static int write_all(int fd, const char *data, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		off += w;
	}
	return 0;
}

/* Writes data to dir/name through dir/.name.tmp and rename (with sync,
 * the file and the directory fsynced too). */
static int write_atomic(const char *dir, const char *name, const char *data,
			size_t len, bool sync)
{
	_cleanup_free_ char *tmp = NULL, *dst = NULL;
	_cleanup_close_ int fd = -1;
	int k;

	if (asprintf(&tmp, "%s/.%s.tmp", dir, name) < 0 ||
	    asprintf(&dst, "%s/%s", dir, name) < 0)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	k = write_all(fd, data, len);
	if (k < 0) {
		unlink(tmp);
		return k;
	}
	if ((sync && fsync(fd) < 0) || rename(tmp, dst) < 0) {
		int r = -errno;

		unlink(tmp);
		return r;
	}
	return sync ? fsync_dir(dir) : 0;
}

static int read_file(const char *path, size_t max, char **out, size_t *len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct sbuf b;
	int r = 0;

	if (fd < 0)
		return -errno;
	sbuf_init(&b, max);
	r = sbuf_read_fd(&b, fd);
	if (r < 0) {
		sbuf_release(&b);
		return r;
	}
	if (!b.buf && sbuf_addc(&b, 0) == 0)
		b.len = 0;
	*out = sbuf_take(&b, len);
	return *out ? 0 : -ENOMEM;
}

/* Waits until line seq of j's journal is on disk: the first thread to
 * need it syncs for every line written so far, the others wait for that
 * (group commit: 8 threads make about one fdatasync per round, not one
 * per line). */
static int journal_sync(struct restore_job *j, int fd, uint64_t seq)
{
	int r = 0;

	pthread_mutex_lock(&j->jlock);
	while (j->jsynced < seq) {
		if (j->jsyncing) {
			pthread_cond_wait(&j->jcond, &j->jlock);
			continue;
		}
		uint64_t upto = j->jwritten;

		j->jsyncing = true;
		pthread_mutex_unlock(&j->jlock);
		if (fdatasync(fd) < 0)
			r = -errno;
		pthread_mutex_lock(&j->jlock);
		j->jsyncing = false;
		if (r == 0 && upto > j->jsynced)
			j->jsynced = upto;
		pthread_cond_broadcast(&j->jcond);
		if (r < 0)
			break;
	}
	pthread_mutex_unlock(&j->jlock);
	return r;
}

/* Appends one line; with sync, returns once it is on disk. Called by
 * apply.c's threads at once: O_APPEND makes each line's write() land
 * whole at the end, and the descriptor, opened on first use, is
 * published with a compare-and-swap (the loser closes its own). A line
 * written without sync survives a killed daemon (it is in the page
 * cache), not a crash of the machine: a job loaded again looks every
 * item it has not decided up in the cluster (struct restore_job's
 * resumed) before sending it, so a lost line costs a lookup, never a
 * second create. */
static int journal_append(struct restore_job *j, json_t *line, bool sync)
{
	char *s = json_dumps(line, JSON_COMPACT);
	size_t n, off = 0;
	uint64_t seq = 0;
	int r = 0, fd;

	if (!s)
		return -ENOMEM;
	fd = __atomic_load_n(&j->journal_fd, __ATOMIC_ACQUIRE);
	if (fd < 0) {
		int none = -1;
		char *p;

		if (asprintf(&p, "%s/journal", j->dir) < 0) {
			free(s);
			return -ENOMEM;
		}
		fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		free(p);
		if (fd < 0) {
			r = -errno;
			free(s);
			return r;
		}
		if (!__atomic_compare_exchange_n(&j->journal_fd, &none, fd,
						 false, __ATOMIC_ACQ_REL,
						 __ATOMIC_ACQUIRE)) {
			close(fd);
			fd = none;
		}
	}
	n = strlen(s);
	s[n++] = '\n'; /* json_dumps left room: the NUL */
	while (off < n) {
		ssize_t w = write(fd, s + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			r = -errno;
			break;
		}
		off += w;
	}
	if (r == 0) {
		pthread_mutex_lock(&j->jlock);
		seq = ++j->jwritten;
		pthread_mutex_unlock(&j->jlock);
	}
	if (r == 0 && sync)
		r = journal_sync(j, fd, seq);
	free(s);
	if (r < 0)
		log_warning_errno(r, "restore job %s: journal: %m", j->id);
	return r;
}

/* ---- jobs in memory ---------------------------------------------------- */

static void job_free(struct restore_job *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->n_items; i++) {
		json_decref(j->items[i].obj);
		free(j->items[i].message);
		free(j->items[i].label);
	}
	free(j->items);
	for (size_t i = 0; i < j->n_parts; i++) {
		free(j->parts[i].source);
		free(j->parts[i].target_ns);
		free(j->parts[i].backup);
	}
	free(j->parts);
	free(j->waiting);
	free(j->id);
	free(j->source);
	free(j->target_ns);
	free(j->backup);
	free(j->reason);
	free(j->dir);
	free(j->notes);
	if (j->journal_fd >= 0)
		close(j->journal_fd);
	if (j->writer_fd >= 0)
		close(j->writer_fd);
	pthread_mutex_destroy(&j->jlock);
	pthread_cond_destroy(&j->jcond);
	free(j);
}

/* "deployments.apps shop/web" with the namespace the item will go to. */
static char *item_label(const char *target_ns, json_t *obj,
			const char *default_ns)
{
	const char *av = json_string_value(json_object_get(obj, "apiVersion"));
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	json_t *md = json_object_get(obj, "metadata");
	const char *name = json_string_value(json_object_get(md, "name"));
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	char gr[300];
	char *s = NULL;
	int nsd = restore_guess_namespaced(av, kind);

	restore_guess_resource(av, kind, gr, sizeof(gr));
	if (!strcmp(kind ? kind : "", "Namespace") && target_ns)
		name = target_ns;
	if (nsd == 0 || (nsd < 0 && !(ns && *ns) && !target_ns))
		return asprintf(&s, "%s %s", gr, name) < 0 ? NULL : s;
	if (target_ns)
		ns = target_ns;
	else if (!ns || !*ns)
		ns = default_ns;
	return asprintf(&s, "%s %s/%s", gr, ns, name) < 0 ? NULL : s;
}

/* A new job in memory, nothing in it yet. NULL: out of memory. */
static struct restore_job *job_alloc(void)
{
	struct restore_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->journal_fd = -1;
	j->writer_fd = -1;
	pthread_mutex_init(&j->jlock, NULL);
	pthread_cond_init(&j->jcond, NULL);
	return j;
}

static struct restore_job *job_find(struct restore *r, const char *id)
{
	for (struct restore_job *j = r->jobs; j; j = j->next)
		if (!strcmp(j->id, id))
			return j;
	return NULL;
}

static void job_append(struct restore *r, struct restore_job *j)
{
	struct restore_job **p = &r->jobs;

	while (*p)
		p = &(*p)->next;
	*p = j;
}

static const char *default_ns(struct restore *r)
{
	const char *ns = r->o.kube ? kube_namespace(r->o.kube) : NULL;

	return ns && *ns ? ns : "default";
}

static void item_array_free(struct restore_item *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		json_decref(v[i].obj);
		free(v[i].label);
		free(v[i].message);
	}
	free(v);
}

/* Adds a file to the job: its part (source, target_ns, backup: copied)
 * and its items (references taken on the parsed objects). The arrays
 * grow under r->lock, as reports read them. */
static int job_add_part(struct restore *r, struct restore_job *j,
			const char *source, const char *target_ns,
			const char *backup, json_t *items)
{
	size_t n = json_array_size(items), i;
	struct restore_item *v = calloc(n ? n : 1, sizeof(*v)), *nv;
	struct restore_part p = { 0 }, *np;
	json_t *o;
	int k = 0;

	p.source = strdup(source ? source : "");
	p.target_ns = target_ns ? strdup(target_ns) : NULL;
	p.backup = backup ? strdup(backup) : NULL;
	if (!v || !p.source || (target_ns && !p.target_ns) ||
	    (backup && !p.backup))
		k = -ENOMEM;
	json_array_foreach(items, i, o)
	{
		if (k < 0)
			break;
		v[i].obj = json_incref(o);
		v[i].part = j->n_parts;
		v[i].label = item_label(target_ns, o, default_ns(r));
		if (!v[i].label)
			k = -ENOMEM;
	}
	pthread_mutex_lock(&r->lock);
	np = k < 0 ? NULL : realloc(j->parts, (j->n_parts + 1) * sizeof(*np));
	if (np)
		j->parts = np;
	nv = !np ? NULL :
		   realloc(j->items,
			   (j->n_items + n ? j->n_items + n : 1) * sizeof(*nv));
	if (nv) {
		j->items = nv;
		memcpy(j->items + j->n_items, v, n * sizeof(*v));
		j->n_items += n;
		j->parts[j->n_parts++] = p;
		free(v);
	} else {
		k = -ENOMEM;
	}
	pthread_mutex_unlock(&r->lock);
	if (k < 0) {
		item_array_free(v, n);
		free(p.source);
		free(p.target_ns);
		free(p.backup);
	}
	return k;
}

void restore_job_set_item(struct restore *r, struct restore_job *j, size_t i,
			  enum restore_item_state s, bool dry,
			  const char *message)
{
	json_t *line = json_pack("{s:I, s:s}", "i", (json_int_t)i, "s",
				 restore_item_state_name(s));

	if (line && message)
		json_object_set_new(line, "m", json_string(message));
	if (line && dry)
		json_object_set_new(line, "dry", json_true());
	/* on disk first: "inflight" must be durable before the request */
	if (line)
		journal_append(j, line, false);
	json_decref(line);
	pthread_mutex_lock(&r->lock);
	j->items[i].state = s;
	j->items[i].dry = dry;
	free(j->items[i].message);
	j->items[i].message = message ? strdup(message) : NULL;
	pthread_cond_broadcast(&r->changed);
	pthread_mutex_unlock(&r->lock);
}

void restore_job_set_label(struct restore *r, struct restore_job *j, size_t i,
			   const char *label)
{
	char *l = strdup(label);

	if (!l)
		return;
	pthread_mutex_lock(&r->lock);
	free(j->items[i].label);
	j->items[i].label = l;
	pthread_mutex_unlock(&r->lock);
}

void restore_job_note(struct restore *r, struct restore_job *j,
		      const char *note)
{
	json_t *line = json_pack("{s:s}", "note", note);
	char *n;

	if (line)
		journal_append(j, line, false);
	json_decref(line);
	pthread_mutex_lock(&r->lock);
	if (asprintf(&n, "%s%s\n", j->notes ? j->notes : "", note) >= 0) {
		free(j->notes);
		j->notes = n;
	}
	pthread_mutex_unlock(&r->lock);
}

void restore_job_set_state(struct restore *r, struct restore_job *j,
			   enum restore_state s)
{
	restore_job_set_waiting(r, j, s, NULL);
}

void restore_job_set_waiting(struct restore *r, struct restore_job *j,
			     enum restore_state s, const char *why)
{
	json_t *line = json_pack("{s:s}", "job", restore_state_name(s));
	char *w = why ? strdup(why) : NULL;

	if (line && why)
		json_object_set_new(line, "m", json_string(why));
	if (line)
		journal_append(j, line, true);
	json_decref(line);
	pthread_mutex_lock(&r->lock);
	j->state = s;
	free(j->waiting);
	j->waiting = w;
	pthread_cond_broadcast(&r->changed);
	pthread_mutex_unlock(&r->lock);
}

/* CLOCK_MONOTONIC now + ms, for r->changed (a monotonic condvar). */
static struct timespec deadline_after(long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

bool restore_sleep(struct restore *r, long ms)
{
	struct timespec ts;
	bool stop;

	ts = deadline_after(ms);
	pthread_mutex_lock(&r->lock);
	while (!r->stop &&
	       pthread_cond_timedwait(&r->changed, &r->lock, &ts) != ETIMEDOUT)
		;
	stop = r->stop;
	pthread_mutex_unlock(&r->lock);
	return stop;
}

bool restore_stopping(struct restore *r)
{
	bool stop;

	pthread_mutex_lock(&r->lock);
	stop = r->stop;
	pthread_mutex_unlock(&r->lock);
	return stop;
}

/* ---- loading ------------------------------------------------------------ */

static void replay_journal(struct restore_job *j)
{
	_cleanup_free_ char *path = NULL, *data = NULL;
	size_t len;
	char *line, *save = NULL;

	if (asprintf(&path, "%s/journal", j->dir) < 0 ||
	    read_file(path, JOURNAL_MAX, &data, &len) < 0)
		return;
	for (line = strtok_r(data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(line, 0, NULL);
		json_t *iv = json_object_get(o, "i");
		const char *js = json_string_value(json_object_get(o, "job"));
		const char *note = json_string_value(json_object_get(o, "not"
									"e"));

		if (json_is_integer(iv) && json_integer_value(iv) >= 0 &&
		    (size_t)json_integer_value(iv) < j->n_items) {
			struct restore_item *it =
				&j->items[json_integer_value(iv)];
			int s = item_state_parse(
				json_string_value(json_object_get(o, "s")));
			const char *m =
				json_string_value(json_object_get(o, "m"));

			if (s >= 0) {
				it->state = s;
				it->dry = json_is_true(json_object_get(o, "dr"
									  "y"));
				free(it->message);
				it->message = m ? strdup(m) : NULL;
			}
		} else if (js) {
			if (!strcmp(js, "done"))
				j->state = RESTORE_DONE;
			else if (!strcmp(js, "failed"))
				j->state = RESTORE_FAILED;
		} else if (note) {
			char *n;

			if (asprintf(&n, "%s%s\n", j->notes ? j->notes : "",
				     note) >= 0) {
				free(j->notes);
				j->notes = n;
			}
		}
		json_decref(o); /* a torn line parses as nothing */
	}
}

/* The items of a job on disk are input like any other: another process of
 * the same user, a restored home directory, a bug could have changed
 * job.json, and its items go to the cluster with the user's credentials.
 * They are written out again and parsed by restore_parse(), the checks a
 * file copied into restore/ gets; the job is refused (-EBADMSG, e says
 * why) unless that gives back the same number of objects (the journal
 * counts items by position). *out: the parsed items, a new reference. */
static int items_revalidate(const char *id, json_t *items, json_t **out,
			    struct verror *e)
{
	struct sbuf b;
	json_t *o, *parsed = NULL;
	size_t i;
	int k = 0;

	if (!json_is_array(items) || !json_array_size(items) ||
	    json_array_size(items) > RESTORE_ITEMS_MAX)
		return verror_set(e, -EBADMSG, "no valid list of items");
	sbuf_init(&b, RESTORE_INPUT_MAX);
	json_array_foreach(items, i, o)
	{
		char *s = json_is_object(o) ? json_dumps(o, JSON_COMPACT) :
					      NULL;

		if (!s) {
			k = verror_set(e, -EBADMSG, "item %zu is not an object",
				       i);
			break;
		}
		k = sbuf_adds(&b, s);
		if (k == 0)
			k = sbuf_addc(&b, '\n');
		free(s);
		if (k < 0) {
			verror_set(e, k, "items too large");
			break;
		}
	}
	if (k == 0)
		k = restore_parse(b.buf, b.len, id, &parsed, e);
	sbuf_release(&b);
	if (k == 0 && json_array_size(parsed) != json_array_size(items))
		k = verror_set(e, -EBADMSG, "its items are not %zu objects",
			       json_array_size(items));
	if (k < 0) {
		json_decref(parsed);
		return k;
	}
	*out = parsed;
	return 0;
}

/* Reads dir/file as a JSON object (*out, caller decrefs). */
static int load_object(const char *dir, const char *file, json_t **out,
		       struct verror *e)
{
	_cleanup_free_ char *path = NULL, *data = NULL;
	size_t len;
	json_t *o;
	int k;

	if (asprintf(&path, "%s/%s", dir, file) < 0)
		return -ENOMEM;
	k = read_file(path, JOB_FILE_MAX, &data, &len);
	if (k < 0)
		return k == -ENOENT ? k : verror_set(e, k, "%s", strerror(-k));
	o = json_loadb(data, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return verror_set(e, -EBADMSG, "%s is not a JSON object", file);
	}
	*out = o;
	return 0;
}

/* One file of a job on disk (job.json or a part): checked as new input
 * and added to j. */
static int load_part(struct restore *r, struct restore_job *j, json_t *o,
		     struct verror *e)
{
	const char *src = json_string_value(json_object_get(o, "source"));
	const char *tns = json_string_value(json_object_get(o, "target_ns"));
	const char *bk = json_string_value(json_object_get(o, "backup"));
	json_t *items = NULL;
	int k;

	if (tns && !dns_label_ok(tns, strlen(tns)))
		return verror_set(e, -EBADMSG, "invalid target namespace");
	k = items_revalidate(j->id, json_object_get(o, "items"), &items, e);
	if (k == 0)
		k = job_add_part(r, j, src, tns, bk, items);
	json_decref(items);
	return k;
}

/* The lines of <dir>/parts.jsonl, each a file of the job, in order; a
 * last line without its newline is a part whose commit never returned
 * (dropped). No such file: none. */
static int load_parts(struct restore *r, struct restore_job *j,
		      struct verror *e)
{
	_cleanup_free_ char *path = NULL, *data = NULL;
	size_t len, off = 0;
	int k;

	if (asprintf(&path, "%s/parts.jsonl", j->dir) < 0)
		return -ENOMEM;
	k = read_file(path, PARTS_FILE_MAX, &data, &len);
	if (k == -ENOENT)
		return 0;
	if (k < 0)
		return verror_set(e, k, "parts.jsonl: %s", strerror(-k));
	while (off < len) {
		char *nl = memchr(data + off, '\n', len - off);
		json_t *po;

		if (!nl)
			break; /* torn */
		po = json_loadb(data + off, nl - (data + off),
				JSON_REJECT_DUPLICATES, NULL);
		if (!json_is_object(po)) {
			json_decref(po);
			return verror_set(e, -EBADMSG,
					  "parts.jsonl: line at byte %zu is "
					  "not a JSON object",
					  off);
		}
		k = load_part(r, j, po, e);
		json_decref(po);
		if (k < 0)
			return k;
		off = nl + 1 - data;
	}
	j->parts_size = off;
	return 0;
}

static int load_job(struct restore *r, const char *name,
		    struct restore_job **out, struct verror *e)
{
	struct restore_job *j;
	json_t *o = NULL;
	const char *s;
	int k;

	j = job_alloc();
	if (!j)
		return -ENOMEM;
	j->id = strdup(name);
	if (asprintf(&j->dir, "%s/%s", r->state_dir, name) < 0)
		j->dir = NULL;
	k = (!j->id || !j->dir) ? -ENOMEM :
				  load_object(j->dir, "job.json", &o, e);
	if (k == 0) {
		j->source = strdup(
			json_string_value(json_object_get(o, "source")) ?: "");
		s = json_string_value(json_object_get(o, "target_ns"));
		j->target_ns = s ? strdup(s) : NULL;
		s = json_string_value(json_object_get(o, "backup"));
		j->backup = s ? strdup(s) : NULL;
		s = json_string_value(json_object_get(o, "reason"));
		j->reason = s ? strdup(s) : NULL;
		j->created = json_integer_value(json_object_get(o, "created"));
		j->state = j->reason ? RESTORE_REJECTED : RESTORE_PENDING;
		k = !j->source ? -ENOMEM : 0;
	}
	if (k == 0 && j->target_ns &&
	    !dns_label_ok(j->target_ns, strlen(j->target_ns)))
		k = verror_set(e, -EBADMSG, "invalid target namespace");
	if (k == 0 && !j->reason)
		k = load_part(r, j, o, e);
	if (k == 0 && !j->reason)
		k = load_parts(r, j, e);
	/* an earlier build's layout (no parts.jsonl): the other files of
	 * the job, in order, while there are some */
	for (size_t p = 1; k == 0 && !j->reason && !j->parts_size; p++) {
		char file[64];
		json_t *po = NULL;

		snprintf(file, sizeof(file), "part-%04zu.json", p);
		k = load_object(j->dir, file, &po, e);
		if (k == -ENOENT) {
			k = 0;
			break;
		}
		if (k == 0)
			k = load_part(r, j, po, e);
		json_decref(po);
	}
	json_decref(o);
	if (k < 0) {
		job_free(j);
		return k;
	}
	if (!j->reason)
		replay_journal(j);
	j->resumed = !terminal(j->state);
	*out = j;
	return 0;
}

/* A job directory that cannot be loaded. Without its job.json it is what
 * a failed commit left (the user was told at close()): removed quietly.
 * Otherwise it is renamed out of the loader's sight (".invalid-<id>",
 * kept for a person to look at), so it is reported once, not at every
 * mount. */
static void set_aside(struct restore *r, const char *name, const char *why)
{
	_cleanup_free_ char *dir = NULL, *job = NULL, *aside = NULL;

	if (asprintf(&dir, "%s/%s", r->state_dir, name) < 0 ||
	    asprintf(&job, "%s/job.json", dir) < 0 ||
	    asprintf(&aside, "%s/.invalid-%s", r->state_dir, name) < 0)
		return;
	if (access(job, F_OK) < 0 && errno == ENOENT) {
		DIR *d = opendir(dir);
		struct dirent *de;

		while (d && (de = readdir(d)))
			if (de->d_name[0] == '.' && strcmp(de->d_name, ".") &&
			    strcmp(de->d_name, "..") &&
			    strstr(de->d_name, ".tmp"))
				unlinkat(dirfd(d), de->d_name, 0);
		if (d)
			closedir(d);
		if (rmdir(dir) == 0)
			return;
	}
	if (rename(dir, aside) == 0)
		log_warning("restore: job %s in %s is not valid (%s); moved "
			    "aside to .invalid-%s",
			    name, r->state_dir, why, name);
	else
		log_warning("restore: job %s in %s is not valid (%s); ignored",
			    name, r->state_dir, why);
}

static int cmp_jobs(const void *a, const void *b)
{
	const struct restore_job *x = *(struct restore_job *const *)a;
	const struct restore_job *y = *(struct restore_job *const *)b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int load_jobs(struct restore *r)
{
	DIR *d = opendir(r->state_dir);
	struct restore_job **v = NULL, *j = NULL;
	struct dirent *de;
	size_t n = 0, cap = 0;
	int k = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || strncmp(de->d_name, "restore-", 8))
			continue;
		struct verror e = { { 0 } };

		int lk = load_job(r, de->d_name, &j, &e);

		if (lk == -ENOMEM) {
			k = lk;
			break;
		}
		if (lk < 0) {
			set_aside(r, de->d_name,
				  e.msg[0] ? e.msg : strerror(-lk));
			continue;
		}
		if (n == cap) {
			struct restore_job **nv;

			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				job_free(j);
				k = -ENOMEM;
				break;
			}
			v = nv;
		}
		v[n++] = j;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_jobs);
	for (size_t i = 0; i < n; i++) {
		if (k < 0)
			job_free(v[i]);
		else
			job_append(r, v[i]);
	}
	free(v);
	return k;
}

/* ---- the worker ---------------------------------------------------------- */

/* When the gathering job j is to be sealed (monotonic ms). Under
 * r->lock. */
static int64_t gather_due(const struct restore *r, struct restore_job *j,
			  int64_t now)
{
	int64_t due = j->last_ms + GATHER_QUIET_MS;

	if (r->open_inputs) {
		/* a file still being written: the copy goes on */
		if (now + GATHER_QUIET_MS > due)
			due = now + GATHER_QUIET_MS;
	} else if (j->writer_gone_ms) {
		due = MAX(j->last_ms, j->writer_gone_ms) + GATHER_EXIT_MS;
	} else if (j->writer_fd >= 0) {
		struct pollfd p = { .fd = j->writer_fd, .events = POLLIN };

		/* a pidfd is readable once its process has exited; while
		 * it is not, the worker looks again soon (gather_wait()) */
		if (poll(&p, 1, 0) > 0) {
			j->writer_gone_ms = now;
			due = MAX(j->last_ms, now) + GATHER_EXIT_MS;
		}
	}
	return MIN(due, j->first_ms + GATHER_MAX_MS);
}

/* How long the worker sleeps before it looks at the gathering job j
 * again: until it is due, or GATHER_POLL_MS while its writer may exit
 * (a pidfd cannot wake a condition variable). Under r->lock. */
static int64_t gather_wait(const struct restore *r, const struct restore_job *j,
			   int64_t due, int64_t now)
{
	int64_t wait = due - now;

	if (!r->open_inputs && j->writer_fd >= 0 && !j->writer_gone_ms)
		wait = MIN(wait, (int64_t)GATHER_POLL_MS);
	return wait;
}

/* Seals j if it is still the gathering job: no file goes into it after
 * this. Takes gather_lock (so no commit is half-way into j) and
 * r->lock. */
static void seal(struct restore *r, struct restore_job *j)
{
	int64_t now = clock_now_ms();

	pthread_mutex_lock(&r->gather_lock);
	pthread_mutex_lock(&r->lock);
	j->gathering = false;
	if (r->gathering == j)
		r->gathering = NULL;
	if (j->writer_fd >= 0)
		close(j->writer_fd);
	j->writer_fd = -1;
	log_debug("restore job %s: t=%lld sealed: %zu files, %zu items, "
		  "%lld ms after its first file, %lld ms after its last",
		  j->id, (long long)now, j->n_parts, j->n_items,
		  (long long)(now - j->first_ms),
		  (long long)(now - j->last_ms));
	pthread_mutex_unlock(&r->lock);
	pthread_mutex_unlock(&r->gather_lock);
}

/* Makes the job's files durable before its first request: they were
 * written without fsync. job.json, parts.jsonl and the directory: three
 * syncs however many files the job gathered. */
static void job_sync(struct restore_job *j)
{
	int64_t t0 = clock_now_ms();
	_cleanup_close_ int fd =
		open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	static const char *const files[] = { "job.json", "parts.jsonl" };

	if (fd < 0)
		return;
	for (size_t p = 0; p < ARRAY_SIZE(files); p++) {
		int f = openat(fd, files[p], O_RDONLY | O_CLOEXEC);

		if (f < 0 && errno == ENOENT && p > 0) {
			/* a job of one file, or one of part-NNNN.json files
			 * (an earlier build's, loaded unfinished) */
			if (j->n_parts > 1 && syncfs(fd) < 0)
				log_debug("restore job %s: syncfs: %m", j->id);
			continue;
		}
		if (f < 0 || fdatasync(f) < 0)
			log_debug("restore job %s: %s: sync: %m", j->id,
				  files[p]);
		if (f >= 0)
			close(f);
	}
	if (fsync(fd) < 0)
		log_debug("restore job %s: sync: %m", j->id);
	log_debug("restore job %s: t=%lld synced in %lld ms", j->id,
		  (long long)clock_now_ms(), (long long)(clock_now_ms() - t0));
}

static void *worker_main(void *arg)
{
	struct restore *r = arg;

	for (;;) {
		struct restore_job *j = NULL;
		bool sealing = false;

		pthread_mutex_lock(&r->lock);
		for (;;) {
			if (r->stop)
				break;
			for (j = r->jobs; j; j = j->next)
				if (!terminal(j->state))
					break;
			if (j && j->gathering) {
				int64_t now = clock_now_ms();
				int64_t due = gather_due(r, j, now);
				struct timespec ts;

				if (now >= due) {
					sealing = true;
					break;
				}
				ts = deadline_after(
					gather_wait(r, j, due, now));
				pthread_cond_timedwait(&r->changed, &r->lock,
						       &ts);
				continue;
			}
			if (j)
				break;
			pthread_cond_wait(&r->changed, &r->lock);
		}
		pthread_mutex_unlock(&r->lock);
		if (!j)
			return NULL;
		if (sealing) {
			seal(r, j);
			continue;
		}
		job_sync(j);
		restore_apply_job(r, j);
		if (restore_stopping(r))
			return NULL;
	}
}

/* ---- public: lifecycle ----------------------------------------------------
 */

int restore_new(const struct restore_options *o, struct restore **out,
		struct verror *e)
{
	struct restore *r;
	pthread_condattr_t ca;
	_cleanup_free_ char *mods = NULL, *hooks = NULL;
	size_t mods_len = 0, hooks_len = 0;
	int k;

	if (!o || ((!o->state_dir || !*o->state_dir) &&
		   (!o->vault_id || !o->mountpoint)))
		return verror_set(e, -EINVAL, "restore: no state directory");
	if (o->modifiers_file) {
		k = read_file(o->modifiers_file, 1 << 20, &mods, &mods_len);
		if (k < 0)
			return verror_set(e, k, "modifiers file %s: %s",
					  o->modifiers_file, strerror(-k));
	}
	if (o->hooks_file) {
		k = read_file(o->hooks_file, 1 << 20, &hooks, &hooks_len);
		if (k < 0)
			return verror_set(e, k, "restore hooks file %s: %s",
					  o->hooks_file, strerror(-k));
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->o = *o;
	{
		const char *pb = getenv("VELEROFS_RESTORE_PROTOBUF");

		r->json_only = pb && !strcmp(pb, "0");
	}
	r->o.image_map = r->o.storageclass_map = r->o.modifiers_file = NULL;
	r->o.hooks_file = NULL;
	if (!r->o.type_wait_s)
		r->o.type_wait_s = 120;
	if (!r->o.outage_wait_s)
		r->o.outage_wait_s = 600;
	r->lock_fd = -1;
	r->state_dir =
		o->state_dir && *o->state_dir ?
			strdup(o->state_dir) :
			restore_state_default(o->vault_id, o->mountpoint);
	r->o.state_dir = r->o.vault_id = r->o.mountpoint = NULL;
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_init(&r->gather_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->changed, &ca);
	pthread_condattr_destroy(&ca);
	if (!r->state_dir) {
		restore_free(r);
		return -ENOMEM;
	}
	k = restore_transform_new(o->image_map, o->storageclass_map, mods,
				  mods_len, &r->transform, e);
	if (k >= 0 && hooks)
		k = restore_hooks_new(hooks, hooks_len, &r->hooks, e);
	if (k < 0) {
		restore_free(r);
		return k;
	}
	{
		char *real = NULL;

		k = restore_state_open(r->state_dir, &real, &r->lock_fd, e);
		if (k < 0) {
			restore_free(r);
			return k;
		}
		free(r->state_dir);
		r->state_dir = real;
	}
	k = load_jobs(r);
	if (k < 0) {
		verror_set(e, k, "restore state %s: %s", r->state_dir,
			   strerror(-k));
		restore_free(r);
		return k;
	}
	k = -pthread_create(&r->worker, NULL, worker_main, r);
	if (k < 0) {
		restore_free(r);
		return verror_set(e, k, "restore: cannot start the worker");
	}
	r->worker_started = true;
	*out = r;
	return 0;
}

struct restore *restore_free(struct restore *r)
{
	if (!r)
		return NULL;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_broadcast(&r->changed);
	pthread_mutex_unlock(&r->lock);
	if (r->worker_started)
		pthread_join(r->worker, NULL);
	while (r->jobs) {
		struct restore_job *j = r->jobs;

		r->jobs = j->next;
		job_free(j);
	}
	restore_transform_free(r->transform);
	restore_hooks_free(r->hooks);
	pthread_cond_destroy(&r->changed);
	pthread_mutex_destroy(&r->lock);
	pthread_mutex_destroy(&r->gather_lock);
	free(r->state_dir);
	if (r->lock_fd >= 0)
		close(r->lock_fd);
	free(r);
	return NULL;
}

/* ---- public: inputs ------------------------------------------------------ */

int restore_input_new(struct restore *r, const char *target_ns,
		      const char *source, struct restore_input **out)
{
	struct restore_input *in;

	if (target_ns && !dns_label_ok(target_ns, strlen(target_ns)))
		return -EINVAL;
	in = calloc(1, sizeof(*in));
	if (!in)
		return -ENOMEM;
	in->r = r;
	in->writer_fd = -1;
	in->target_ns = target_ns ? strdup(target_ns) : NULL;
	in->source = strdup(source ? source : "");
	pthread_mutex_lock(&r->lock);
	r->open_inputs++;
	pthread_mutex_unlock(&r->lock);
	if ((target_ns && !in->target_ns) || !in->source) {
		restore_input_free(in);
		return -ENOMEM;
	}
	*out = in;
	return 0;
}

static int input_reserve(struct restore_input *in, size_t size)
{
	char *b;
	size_t cap;

	if (size > RESTORE_INPUT_MAX)
		return -EFBIG;
	if (size <= in->cap)
		return 0;
	cap = in->cap ? in->cap : 65536;
	while (cap < size)
		cap *= 2;
	if (cap > RESTORE_INPUT_MAX)
		cap = RESTORE_INPUT_MAX;
	b = realloc(in->buf, cap);
	if (!b)
		return -ENOMEM;
	in->buf = b;
	in->cap = cap;
	return 0;
}

int restore_input_write(struct restore_input *in, const void *buf, size_t len,
			off_t off)
{
	int r;

	if (off < 0)
		return -EINVAL;
	if ((size_t)off > RESTORE_INPUT_MAX || len > RESTORE_INPUT_MAX - off) {
		in->too_big = true;
		return -EFBIG;
	}
	r = input_reserve(in, off + len);
	if (r < 0)
		return r;
	if ((size_t)off > in->len)
		memset(in->buf + in->len, 0, off - in->len);
	memcpy(in->buf + off, buf, len);
	if (off + len > in->len)
		in->len = off + len;
	return (int)MIN(len, (size_t)INT_MAX);
}

int restore_input_truncate(struct restore_input *in, off_t size)
{
	int r;

	if (size < 0)
		return -EINVAL;
	if ((size_t)size > RESTORE_INPUT_MAX)
		return -EFBIG;
	r = input_reserve(in, size);
	if (r < 0)
		return r;
	if ((size_t)size > in->len)
		memset(in->buf + in->len, 0, size - in->len);
	in->len = size;
	return 0;
}

void restore_input_writer(struct restore_input *in, pid_t pid)
{
	int fd = -1;

	if (pid <= 0)
		return;
#ifdef SYS_pidfd_open
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0 && errno == ESRCH)
		in->writer_gone = true;
#endif
	if (in->writer_fd >= 0)
		close(in->writer_fd);
	in->writer_fd = fd;
	if (fd >= 0)
		in->writer_gone = false;
}

void restore_seal(struct restore *r)
{
	struct restore_job *j;

	pthread_mutex_lock(&r->lock);
	j = r->gathering;
	pthread_mutex_unlock(&r->lock);
	if (j)
		seal(r, j);
	pthread_mutex_lock(&r->lock);
	pthread_cond_broadcast(&r->changed);
	pthread_mutex_unlock(&r->lock);
}

int restore_input_hint(struct restore_input *in, const char *path)
{
	for (size_t i = 0; i < in->nhints; i++)
		if (!strcmp(in->hints[i], path))
			return 0;
	if (in->nhints == INPUT_HINTS_MAX)
		return 0;
	in->hints[in->nhints] = strdup(path);
	if (!in->hints[in->nhints])
		return -ENOMEM;
	in->nhints++;
	return 0;
}

size_t restore_input_size(const struct restore_input *in)
{
	return in->len;
}

struct restore_input *restore_input_free(struct restore_input *in)
{
	if (!in)
		return NULL;
	pthread_mutex_lock(&in->r->lock);
	in->r->open_inputs--;
	pthread_cond_broadcast(&in->r->changed);
	pthread_mutex_unlock(&in->r->lock);
	for (size_t i = 0; i < in->nhints; i++)
		free(in->hints[i]);
	if (in->writer_fd >= 0)
		close(in->writer_fd);
	free(in->buf);
	free(in->target_ns);
	free(in->source);
	free(in);
	return NULL;
}

/* Makes state_dir/<id> with a fresh id; under r->lock. */
static int job_mkdir(struct restore *r, long long now, char **id, char **dir)
{
	struct tm tm;
	time_t t = now;
	char stamp[32];

	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	for (int tries = 0; tries < 10000; tries++) {
		unsigned seq = ++r->seq;

		if (asprintf(id, "restore-%s-%04u", stamp, seq % 10000) < 0)
			return -ENOMEM;
		if (asprintf(dir, "%s/%s", r->state_dir, *id) < 0) {
			free(*id);
			*id = *dir = NULL;
			return -ENOMEM;
		}
		if (mkdir(*dir, 0700) == 0)
			return 0;
		free(*id);
		free(*dir);
		*id = *dir = NULL;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/* A file of a job as JSON (caller frees): its source, target namespace,
 * backup, and items or the reason it was rejected; with the job's id and
 * creation time for job.json (j), without for a line of parts.jsonl
 * (NULL; that line ends in a newline). */
static char *part_dump(const struct restore_job *j, const char *source,
		       const char *target_ns, const char *backup,
		       const char *reason, json_t *items)
{
	json_t *o = json_pack("{s:s}", "source", source);
	char *s, *line = NULL;

	if (!o)
		return NULL;
	if (j) {
		json_object_set_new(o, "id", json_string(j->id));
		json_object_set_new(o, "created",
				    json_integer((json_int_t)j->created));
	}
	if (target_ns)
		json_object_set_new(o, "target_ns", json_string(target_ns));
	if (backup)
		json_object_set_new(o, "backup", json_string(backup));
	if (reason)
		json_object_set_new(o, "reason", json_string(reason));
	if (items)
		json_object_set(o, "items", items);
	/* compact: no newline inside (jansson escapes those in strings) */
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!s || j)
		return s;
	if (asprintf(&line, "%s\n", s) < 0)
		line = NULL;
	free(s);
	return line;
}

/* Writes job.json of j, without fsync (job_sync() does that before the
 * job's first request). */
static int job_write(struct restore_job *j, const char *source,
		     const char *target_ns, const char *backup,
		     const char *reason, json_t *items)
{
	_cleanup_free_ char *s =
		part_dump(j, source, target_ns, backup, reason, items);

	if (!s)
		return -ENOMEM;
	return write_atomic(j->dir, "job.json", s, strlen(s), false);
}

/* Appends line (len bytes, its newline last) to j's parts.jsonl, without
 * fsync; on failure the file is cut back to what it held, so a later
 * line is not glued to a partial one. Under r->gather_lock. */
static int parts_append(struct restore_job *j, const char *line, size_t len)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;
	int k;

	if (asprintf(&path, "%s/parts.jsonl", j->dir) < 0)
		return -ENOMEM;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	k = write_all(fd, line, len);
	if (k < 0) {
		if (ftruncate(fd, (off_t)j->parts_size) < 0)
			log_debug("restore job %s: parts.jsonl: %m", j->id);
		return k;
	}
	j->parts_size += len;
	return 0;
}

/* Removes what a failed commit left of a fresh job's directory. */
static void job_unmake(struct restore_job *j)
{
	char tmp[PATH_MAX];

	if (!j->dir)
		return;
	snprintf(tmp, sizeof(tmp), "%s/.job.json.tmp", j->dir);
	unlink(tmp);
	/* written, then refused (out of memory): not to be loaded later */
	snprintf(tmp, sizeof(tmp), "%s/job.json", j->dir);
	unlink(tmp);
	rmdir(j->dir);
}

/* A job that is one file and failed to parse (or is empty): REJECTED,
 * with the reason in its report. */
static int commit_rejected(struct restore_input *in, const char *reason,
			   char **job_id)
{
	struct restore *r = in->r;
	struct restore_job *j = job_alloc();
	int k;

	if (!j)
		return -ENOMEM;
	j->created = time(NULL);
	j->state = RESTORE_REJECTED;
	j->source = strdup(in->source);
	j->target_ns = in->target_ns ? strdup(in->target_ns) : NULL;
	j->reason = strdup(reason);
	pthread_mutex_lock(&r->lock);
	k = job_mkdir(r, j->created, &j->id, &j->dir);
	pthread_mutex_unlock(&r->lock);
	if (k == 0 && (!j->source || !j->reason))
		k = -ENOMEM;
	if (k == 0)
		k = job_write(j, j->source, j->target_ns, NULL, j->reason,
			      NULL);
	if (k < 0) {
		job_unmake(j);
		job_free(j);
		return k;
	}
	pthread_mutex_lock(&r->lock);
	job_append(r, j);
	pthread_cond_broadcast(&r->changed);
	pthread_mutex_unlock(&r->lock);
	*job_id = strdup(j->id);
	return *job_id ? 0 : -ENOMEM;
}

/* A valid file goes into the gathering job, or starts one. */
static int commit_gather(struct restore_input *in, json_t *items, char **job_id,
			 struct verror *e)
{
	struct restore *r = in->r;
	struct restore_job *j, *fresh = NULL;
	char backup[256] = "";
	size_t n = json_array_size(items), p;
	_cleanup_free_ char *line = NULL;
	size_t line_len;
	bool appended = false;
	int k = 0;

	if (r->o.origin && r->o.origin(r->o.origin_userdata, in->buf, in->len,
				       (const char *const *)in->hints,
				       in->nhints, backup, sizeof(backup)) < 0)
		backup[0] = 0;
	/* as a line of parts.jsonl (unused if it starts a job) */
	line = part_dump(NULL, in->source, in->target_ns,
			 backup[0] ? backup : NULL, NULL, items);
	if (!line)
		return -ENOMEM;
	line_len = strlen(line);
	pthread_mutex_lock(&r->gather_lock);
	pthread_mutex_lock(&r->lock);
	j = r->gathering;
	if (j && (j->n_items + n > RESTORE_ITEMS_MAX ||
		  j->parts_size + line_len > PARTS_FILE_MAX)) {
		/* full: it starts as it is, this file begins the next */
		j->gathering = false;
		r->gathering = NULL;
		pthread_cond_broadcast(&r->changed);
		j = NULL;
	}
	p = j ? j->n_parts : 0;
	pthread_mutex_unlock(&r->lock);
	if (!j) {
		fresh = j = job_alloc();
		if (!j) {
			pthread_mutex_unlock(&r->gather_lock);
			return -ENOMEM;
		}
		j->created = time(NULL);
		j->state = RESTORE_PENDING;
		j->source = strdup(in->source);
		j->target_ns = in->target_ns ? strdup(in->target_ns) : NULL;
		j->backup = backup[0] ? strdup(backup) : NULL;
		pthread_mutex_lock(&r->lock);
		k = job_mkdir(r, j->created, &j->id, &j->dir);
		pthread_mutex_unlock(&r->lock);
		if (k == 0 && (!j->source || (in->target_ns && !j->target_ns)))
			k = -ENOMEM;
	}
	if (k == 0 && p == 0)
		k = job_write(j, in->source, in->target_ns,
			      backup[0] ? backup : NULL, NULL, items);
	else if (k == 0 && (k = parts_append(j, line, line_len)) == 0)
		appended = true;
	if (k == 0)
		k = job_add_part(r, j, in->source, in->target_ns,
				 backup[0] ? backup : NULL, items);
	if (k < 0 && appended) {
		/* not loaded as part of the job after a restart either */
		char path[PATH_MAX];

		j->parts_size -= line_len;
		snprintf(path, sizeof(path), "%s/parts.jsonl", j->dir);
		if (truncate(path, (off_t)j->parts_size) < 0)
			log_debug("restore job %s: parts.jsonl: %m", j->id);
	}
	if (k == 0) {
		pthread_mutex_lock(&r->lock);
		j->last_ms = clock_now_ms();
		/* the writer of the last file is the one that counts */
		if (j->writer_fd >= 0)
			close(j->writer_fd);
		j->writer_fd = in->writer_fd;
		in->writer_fd = -1;
		j->writer_gone_ms = in->writer_gone ? j->last_ms : 0;
		if (fresh) {
			j->first_ms = j->last_ms;
			j->gathering = true;
			r->gathering = j;
			job_append(r, j);
		}
		pthread_cond_broadcast(&r->changed);
		pthread_mutex_unlock(&r->lock);
		*job_id = strdup(j->id);
		if (!*job_id)
			k = -ENOMEM; /* queued all the same */
	} else if (fresh) {
		job_unmake(fresh);
		job_free(fresh);
	}
	pthread_mutex_unlock(&r->gather_lock);
	if (k < 0 && k != -ENOMEM)
		return verror_set(e, k,
				  "restore: cannot keep the job in %s: %s",
				  r->state_dir, strerror(-k));
	return k;
}

int restore_input_commit(struct restore_input *in, char **job_id,
			 struct verror *e)
{
	json_t *items = NULL;
	struct verror pe = { { 0 } };
	int perr, k;

	*job_id = NULL;
	if (!in->len) {
		/* a report all the same: every file gets one */
		k = commit_rejected(in,
				    "empty file: there is nothing in it to "
				    "restore",
				    job_id);
		return k < 0 ? verror_set(e, k,
					  "restore: cannot keep the job "
					  "in %s: %s",
					  in->r->state_dir, strerror(-k)) :
			       0;
	}
	if (in->too_big)
		perr = verror_set(&pe, -EFBIG, "%s: larger than %zu MiB",
				  in->source, RESTORE_INPUT_MAX >> 20);
	else
		perr = restore_parse(in->buf, in->len, in->source, &items, &pe);
	if (perr == 0 && !json_array_size(items)) {
		json_decref(items);
		items = NULL;
		perr = verror_set(&pe, -EBADMSG,
				  "%s: no Kubernetes object in it", in->source);
	}
	if (perr < 0) {
		char *id = NULL;

		k = commit_rejected(in, pe.msg[0] ? pe.msg : strerror(-perr),
				    &id);
		free(id);
		if (k < 0)
			return verror_set(e, k,
					  "restore: cannot keep the job in "
					  "%s: %s",
					  in->r->state_dir, strerror(-k));
		return verror_set(e, perr, "%s", pe.msg);
	}
	k = commit_gather(in, items, job_id, e);
	json_decref(items);
	return k;
}

/* ---- public: jobs -----------------------------------------------------------
 */

int restore_job_dismiss(struct restore *r, const char *id)
{
	struct restore_job **pp, *j;
	char *gone = NULL;
	int k = 0;

	pthread_mutex_lock(&r->lock);
	for (pp = &r->jobs; (j = *pp); pp = &j->next)
		if (!strcmp(j->id, id))
			break;
	if (!j)
		k = -ENOENT;
	else if (!terminal(j->state))
		k = -EBUSY;
	else
		*pp = j->next;
	pthread_cond_broadcast(&r->changed);
	pthread_mutex_unlock(&r->lock);
	if (k < 0)
		return k;
	/* out of the loader's sight first (it skips dot names), then gone:
	 * a crash in between leaves a directory nobody loads */
	if (asprintf(&gone, "%s/.dismissed-%s", r->state_dir, j->id) >= 0 &&
	    rename(j->dir, gone) == 0) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/job.json", gone);
		unlink(path);
		snprintf(path, sizeof(path), "%s/journal", gone);
		unlink(path);
		rmdir(gone);
	}
	free(gone);
	job_free(j);
	return 0;
}

int restore_job_list(struct restore *r, char ***ids, size_t *n)
{
	char **v;
	size_t count = 0, i = 0;
	struct restore_job *j;

	pthread_mutex_lock(&r->lock);
	for (j = r->jobs; j; j = j->next)
		count++;
	v = calloc(count ? count : 1, sizeof(*v));
	for (j = r->jobs; v && j; j = j->next) {
		v[i] = strdup(j->id);
		if (!v[i]) {
			while (i--)
				free(v[i]);
			free(v);
			v = NULL;
			break;
		}
		i++;
	}
	pthread_mutex_unlock(&r->lock);
	if (!v)
		return -ENOMEM;
	*ids = v;
	*n = count;
	return 0;
}

int restore_job_state(struct restore *r, const char *id,
		      enum restore_state *state)
{
	struct restore_job *j;

	pthread_mutex_lock(&r->lock);
	j = job_find(r, id);
	if (j && state)
		*state = j->state;
	pthread_mutex_unlock(&r->lock);
	return j ? 0 : -ENOENT;
}

static int job_report(struct restore *r, const char *id, struct sbuf *out,
		      enum restore_state *state, bool brief);

int restore_job_report(struct restore *r, const char *id, struct sbuf *out,
		       enum restore_state *state)
{
	return job_report(r, id, out, state, false);
}

int restore_job_summary(struct restore *r, const char *id, struct sbuf *out,
			enum restore_state *state)
{
	return job_report(r, id, out, state, true);
}

static int job_report(struct restore *r, const char *id, struct sbuf *out,
		      enum restore_state *state, bool brief)
{
	struct restore_job *j;
	size_t counts[ITEM_FAILED + 1] = { 0 };
	int k = 0;

	pthread_mutex_lock(&r->lock);
	j = job_find(r, id);
	if (!j) {
		pthread_mutex_unlock(&r->lock);
		return -ENOENT;
	}
	for (size_t i = 0; i < j->n_items; i++)
		counts[j->items[i].state]++;
	k |= sbuf_addf(out, "job %s\nsource %s", j->id, j->source);
	if (j->n_parts > 1)
		k |= sbuf_addf(out, " and %zu more files", j->n_parts - 1);
	k |= sbuf_addf(out, "\nstate %s\n", restore_state_name(j->state));
	if (j->state == RESTORE_WAITING && j->waiting)
		k |= sbuf_addf(out, "waiting: %s\n", j->waiting);
	if (j->target_ns)
		k |= sbuf_addf(out, "namespace %s\n", j->target_ns);
	if (j->backup)
		k |= sbuf_addf(out, "backup %s\n", j->backup);
	if (r->o.dry_run)
		k |= sbuf_adds(out, "dry run\n");
	if (j->reason)
		k |= sbuf_addf(out, "rejected: %s\nnothing was applied\n",
			       j->reason);
	if (j->n_items) {
		k |= sbuf_addf(out, "items %zu:", j->n_items);
		for (size_t s = 0; s < ARRAY_SIZE(counts); s++)
			if (counts[s])
				k |= sbuf_addf(out, " %zu %s", counts[s],
					       restore_item_state_name(s));
		k |= sbuf_addc(out, '\n');
	}
	if (j->n_parts > 1 && !brief) {
		size_t *per = calloc(j->n_parts, sizeof(*per));

		for (size_t i = 0; per && i < j->n_items; i++)
			per[j->items[i].part]++;
		for (size_t p = 0; per && p < j->n_parts; p++)
			k |= sbuf_addf(out, "file %s: %zu item%s\n",
				       j->parts[p].source, per[p],
				       per[p] == 1 ? "" : "s");
		free(per);
	}
	if (j->notes && !brief)
		k |= sbuf_adds(out, j->notes);
	for (size_t i = 0; !brief && i < j->n_items; i++) {
		const struct restore_item *it = &j->items[i];
		const char *m = it->message;

		if (it->dry && it->state == ITEM_CREATED)
			k |= sbuf_addf(out, "would create %s (dry run)",
				       it->label);
		else if (it->dry && it->state == ITEM_UPDATED)
			k |= sbuf_addf(out, "would update %s (dry run)",
				       it->label);
		else
			k |= sbuf_addf(
				out, "%s %s",
				it->state == ITEM_INFLIGHT ?
					"applying" :
					restore_item_state_name(it->state),
				it->label);
		if (m && *m)
			k |= sbuf_addf(out, ": %s", m);
		k |= sbuf_addc(out, '\n');
	}
	if (state)
		*state = j->state;
	pthread_mutex_unlock(&r->lock);
	return k < 0 ? -ENOMEM : 0;
}

int restore_job_wait(struct restore *r, const char *id, long timeout_ms)
{
	struct restore_job *j;
	struct timespec ts;
	int k = 0;

	ts = deadline_after(timeout_ms);
	pthread_mutex_lock(&r->lock);
	j = job_find(r, id);
	if (!j)
		k = -ENOENT;
	while (j && !terminal(j->state)) {
		if (pthread_cond_timedwait(&r->changed, &r->lock, &ts) ==
		    ETIMEDOUT) {
			k = terminal(j->state) ? 0 : -ETIMEDOUT;
			break;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return k;
}
