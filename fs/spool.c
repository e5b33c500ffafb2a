/* fs/spool: the restore/ directory of a mount, the FUSE front end of
 * restore/ (see spool.h; the user's view is DESIGN.md "Restore: the
 * spool").
 *
 *   restore/                 0700, the mounting user's: files and
 *                            directories copied here keep each item's
 *                            own namespace
 *   restore/namespaces/      0755: namespaces/<target>/... restores the
 *                            items into namespace <target>
 *   restore/status           0444: a table, one line per job (state,
 *                            item counts, source; a rejected file's
 *                            reason)
 *   restore/jobs/            0555: <job-id>.txt, one report per job
 *                            (restore_job_report()), and latest ->
 *                            the newest one
 *
 * A file being written is a restore_input and nothing else: its bytes go
 * to the engine and cannot be read back (mode 0200). It is committed at
 * the close() of the process that created it (FLUSH: its error is
 * close()'s, so `cp` reports a malformed file), or at the release of the
 * created handle when that process never closed it with data; then it
 * leaves the tree, it is a job now. Only the owner writes (default_
 * permissions checks the mode bits; the uid check here stops root and
 * everyone under allow_other).
 *
 * Not here: parsing, jobs, their state on disk (restore/). No rename:
 * an input's target namespace is fixed when it is created.
 *
 * Inodes: INO_SPOOL_ROOT for restore/, T_SPOOL << 56 | id for the rest,
 * ids never reused, so a stale inode is ENOENT, never another object.
 * What the kernel may cache (timeouts): the directories people copy
 * into (restore/, namespaces/ and theirs) and the attributes of a file
 * being written, DIR_TIMEOUT: only the kernel's own calls (create,
 * mkdir, unlink, rmdir) add or take names in those directories, and it
 * updates its caches for them, but for one: a file leaves its directory
 * at commit, and the commit tells the kernel (notify_dir_changed()).
 * Without that, a `cp -r` of n files asked for the target directory's
 * attributes 5 times per file (default_permissions checks them on every
 * path walk): 7 GETATTRs per file, now 1-2. Names not there are not
 * cached: `cp` creates with O_EXCL, for which the kernel looks a cached
 * negative entry up again anyway. Everything else is not cached
 * (timeouts 0): reports change while a job runs, files vanish at
 * commit. Report files get a new mtime whenever
 * their bytes change, so a kernel that keeps their page cache (no-open,
 * see spool.h) drops it on the next getattr (with auto_inval_data), and
 * open (while the kernel still sends it) answers direct_io.
 *
 * Locks: s->lock protects the node table and the tree (see the fields);
 * a file's n->io protects its input and is held across engine calls on
 * it (write, commit). Order: n->io before s->lock; never the other way. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/dns.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/sbuf.h"
#include "fs/spool.h"
#include "restore/restore.h"

#define ID_ROOT 0
#define ID_JOBS 1
#define ID_NAMESPACES 2
#define ID_STATUS 3
#define ID_FIRST 16	/* also the first readdir offset of a listed child */
#define DIR_TIMEOUT 1.0 /* s; see above */
#define REPORT_MAX ((size_t)16 << 20)
#define SOURCE_MAX 4096

enum node_kind {
	N_ROOT,	      /* restore/ */
	N_JOBS,	      /* restore/jobs/ */
	N_NAMESPACES, /* restore/namespaces/ */
	N_DIR,	      /* made by the user */
	N_FILE,	      /* being written */
	N_JOB,	      /* jobs/<id>.txt */
	N_LATEST,     /* jobs/latest, one per job it ever named */
	N_STATUS,     /* restore/status: one line per job */
};

struct node {
	fuse_ino_t ino;	     /* immutable */
	enum node_kind kind; /* immutable */
	char *name;	     /* immutable; NULL for restore/ */
	struct node *parent; /* immutable; holds a reference on it */
	char *source;	     /* N_FILE: "restore/..."; immutable */
	char *job_id;	     /* N_JOB, N_LATEST (its target); immutable */

	/* protected by s->lock */
	unsigned refs;	       /* requests in flight, a create handle,
				* one while linked */
	bool linked;	       /* listed in parent */
	struct node *first;    /* linked children, ascending ino */
	struct node *last;     /* (dirs) */
	struct node *prev;     /* siblings */
	struct node *next;     /* */
	unsigned subdirs;      /* linked child directories */
	struct timespec mtime; /* last change */
	size_t size;	       /* N_FILE: bytes written (set under io too) */
	uint64_t hash;	       /* N_JOB, N_STATUS: FNV-1a of the bytes last
				* seen */

	/* N_FILE */
	pthread_mutex_t io;	  /* for the fields below */
	struct restore_input *in; /* protected by io; NULL once committed */
	pid_t creator;		  /* protected by io; 0: unknown */
};

struct spool {
	struct restore *r; /* borrowed; thread-safe itself */
	char *root;	   /* "<mountpoint>/", immutable; NULL: unknown */
	size_t rootlen;	   /* immutable */
	uid_t owner;	   /* immutable */
	gid_t group;	   /* immutable */

	pthread_mutex_t lock;
	struct node **nodes; /* protected by lock; by id, NULL once freed */
	size_t n;	     /* protected by lock; ids handed out */
	size_t cap;	     /* protected by lock */
	uint64_t jobs_hash;  /* protected by lock: the job list last seen */
	struct node *latest; /* protected by lock: the current jobs/latest */
	struct fuse_session *se; /* set before the first request; NULL: the
				  * kernel is told nothing, nothing cached */
};

static struct timespec now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return t;
}

/* Marks a change: t becomes now, and strictly later than it was, since
 * the kernel drops its cached listing or pages only when it differs. */
static void touch(struct timespec *t)
{
	struct timespec n = now();

	if (n.tv_sec < t->tv_sec ||
	    (n.tv_sec == t->tv_sec && n.tv_nsec <= t->tv_nsec)) {
		n = *t;
		if (++n.tv_nsec == 1000000000) {
			n.tv_sec++;
			n.tv_nsec = 0;
		}
	}
	*t = n;
}

static fuse_ino_t ino_of(uint64_t id)
{
	return id == ID_ROOT ? INO_SPOOL_ROOT :
			       (fuse_ino_t)(T_SPOOL << 56 | id);
}

static bool is_dir(const struct node *n)
{
	return n->kind == N_ROOT || n->kind == N_JOBS ||
	       n->kind == N_NAMESPACES || n->kind == N_DIR;
}

/* A node not yet in the tree (steals name). NULL: out of memory (name
 * freed). */
static struct node *node_alloc(enum node_kind kind, char *name)
{
	struct node *n = calloc(1, sizeof(*n));

	if (!n) {
		free(name);
		return NULL;
	}
	n->kind = kind;
	n->name = name;
	n->mtime = now();
	if (kind == N_FILE)
		pthread_mutex_init(&n->io, NULL);
	return n;
}

/* Gives n the next id and lists it in parent (if any, and if listed).
 * Called with s->lock held; -ENOMEM leaves n to the caller. */
static int node_insert_locked(struct spool *s, struct node *parent,
			      struct node *n, bool listed)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct node **t = realloc(s->nodes, cap * sizeof(*t));

		if (!t)
			return -ENOMEM;
		s->nodes = t;
		s->cap = cap;
	}
	n->ino = ino_of(s->n);
	s->nodes[s->n++] = n;
	n->refs = 1; /* the listing's, or the spool's own */
	n->linked = listed;
	if (!parent)
		return 0;
	n->parent = parent;
	parent->refs++;
	if (!listed)
		return 0;
	n->prev = parent->last;
	if (parent->last)
		parent->last->next = n;
	else
		parent->first = n;
	parent->last = n;
	if (is_dir(n))
		parent->subdirs++;
	touch(&parent->mtime);
	return 0;
}

static struct node *node_destroy(struct node *n)
{
	if (!n)
		return NULL;
	if (n->kind == N_FILE) {
		restore_input_free(n->in);
		pthread_mutex_destroy(&n->io);
	}
	free(n->name);
	free(n->source);
	free(n->job_id);
	free(n);
	return NULL;
}

/* Drops a reference; frees n (and then perhaps its parent) at zero.
 * Called with s->lock held. */
static void node_unref_locked(struct spool *s, struct node *n)
{
	while (n && --n->refs == 0) {
		struct node *p = n->parent;
		uint64_t id = (uint64_t)n->ino & ((1ull << 56) - 1);

		if (n->ino != INO_SPOOL_ROOT && id < s->n)
			s->nodes[id] = NULL;
		node_destroy(n);
		n = p;
	}
}

static void node_put(struct spool *s, struct node *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&s->lock);
	node_unref_locked(s, n);
	pthread_mutex_unlock(&s->lock);
}

static struct node *node_find_locked(struct spool *s, fuse_ino_t ino)
{
	uint64_t id;

	if (ino == INO_SPOOL_ROOT)
		return s->nodes[ID_ROOT];
	if (((uint64_t)ino >> 56) != T_SPOOL)
		return NULL;
	id = (uint64_t)ino & ((1ull << 56) - 1);
	if (id == ID_ROOT || id >= s->n)
		return NULL;
	return s->nodes[id];
}

/* The node of ino with a reference (node_put() it), or NULL. */
static struct node *node_get(struct spool *s, fuse_ino_t ino)
{
	struct node *n;

	pthread_mutex_lock(&s->lock);
	n = node_find_locked(s, ino);
	if (n)
		n->refs++;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static struct node *child_locked(struct node *dir, const char *name)
{
	struct node *c;

	for (c = dir->first; c; c = c->next)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

/* Takes n out of its directory; drops the reference the listing held.
 * The caller holds another one. Called with s->lock held. */
static void unlink_locked(struct spool *s, struct node *n)
{
	struct node *p = n->parent;

	if (!n->linked)
		return;
	n->linked = false;
	if (n->prev)
		n->prev->next = n->next;
	else
		p->first = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		p->last = n->prev;
	n->prev = n->next = NULL;
	if (is_dir(n))
		p->subdirs--;
	touch(&p->mtime);
	node_unref_locked(s, n);
}

static bool job_name_ok(const char *id)
{
	size_t len = strlen(id);
	const char *p;

	if (!len || len > 200 || id[0] == '.')
		return false;
	for (p = id; *p; p++)
		if (*p == '/' || (unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* The report of job id appended to b (reset first); -ENOENT if unknown. */
static int job_report(struct spool *s, const char *id, struct sbuf *b)
{
	enum restore_state st;

	sbuf_reset(b);
	return restore_job_report(s->r, id, b, &st);
}

/* restore/status: one line per job, oldest first. */
static int status_table(struct spool *s, struct sbuf *b)
{
	struct sbuf rep;
	char **ids = NULL;
	size_t n = 0, i;
	int r;

	sbuf_reset(b);
	r = restore_job_list(s->r, &ids, &n);
	if (r < 0)
		return r;
	sbuf_init(&rep, REPORT_MAX);
	r = sbuf_addf(b, "%-32s %-9s %-40s %s\n", "JOB", "STATE", "ITEMS",
		      "SOURCE");
	for (i = 0; r >= 0 && i < n; i++) {
		enum restore_state st;
		const char *items = "", *src = "", *why = "", *p;
		size_t il = 0, sl = 0, wl = 0;

		sbuf_reset(&rep);
		if (restore_job_summary(s->r, ids[i], &rep, &st) < 0)
			continue;
		for (p = sbuf_str(&rep); p && *p;
		     p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
			size_t len = strcspn(p, "\n");

			if (!strncmp(p, "items ", 6))
				items = p + 6, il = len - 6;
			else if (!strncmp(p, "source ", 7))
				src = p + 7, sl = len - 7;
			else if (!strncmp(p, "rejected: ", 10))
				why = p, wl = len;
		}
		/* a rejected file says why after its source */
		r = sbuf_addf(b, "%-32s %-9s %-40.*s %.*s%s%.*s%s\n", ids[i],
			      restore_state_name(st), (int)il, items, (int)sl,
			      src, wl ? " (" : "", (int)wl, why, wl ? ")" : "");
	}
	sbuf_release(&rep);
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	return r < 0 ? r : 0;
}

/* What a read-only spool file holds now: a job's report or the table. */
static int node_content(struct spool *s, const struct node *n, struct sbuf *b)
{
	return n->kind == N_STATUS ? status_table(s, b) :
				     job_report(s, n->job_id, b);
}

/* Notes the report n now has: a new mtime when its bytes changed, so the
 * kernel drops pages it cached of the old one. Called with s->lock. */
static void job_seen_locked(struct node *n, const struct sbuf *b)
{
	uint64_t h = fnv1a64(sbuf_str(b), b->len);

	if (h != n->hash || n->size != b->len) {
		touch(&n->mtime);
		n->hash = h;
		n->size = b->len;
	}
}

/* The node of job id, made on first sight, with a reference. */
static struct node *job_node(struct spool *s, const char *id)
{
	struct node *jobs, *n, *fresh;
	char *name;

	if (asprintf(&name, "%s.txt", id) < 0)
		return NULL;
	fresh = node_alloc(N_JOB, name);
	if (!fresh || !(fresh->job_id = strdup(id))) {
		if (fresh)
			node_destroy(fresh);
		return NULL;
	}
	pthread_mutex_lock(&s->lock);
	jobs = s->nodes[ID_JOBS];
	for (n = jobs->first; n; n = n->next)
		if (!strcmp(n->job_id, id))
			break;
	if (!n && node_insert_locked(s, jobs, fresh, true) >= 0)
		n = TAKE_PTR(fresh);
	if (n)
		n->refs++;
	pthread_mutex_unlock(&s->lock);
	if (fresh)
		node_destroy(fresh);
	return n;
}

/* The job list; notes a change of it in jobs/'s mtime (the kernel keeps
 * listings until that changes). Caller frees ids and each of them. */
static int job_list(struct spool *s, char ***ids, size_t *n)
{
	uint64_t h = FNV1A64_INIT;
	size_t i;
	int r = restore_job_list(s->r, ids, n);

	if (r < 0)
		return r;
	for (i = 0; i < *n; i++)
		h = fnv1a64((*ids)[i], strlen((*ids)[i]) + 1) ^ (h * 31);
	pthread_mutex_lock(&s->lock);
	if (h != s->jobs_hash) {
		s->jobs_hash = h;
		touch(&s->nodes[ID_JOBS]->mtime);
	}
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static void free_ids(char **ids, size_t n)
{
	while (n--)
		free(ids[n]);
	free(ids);
}

/* jobs/latest naming id (the newest job), with a reference: the same node
 * while the newest job stays the same, a new inode when it changes, so no
 * kernel cache of the link's target outlives it. */
static struct node *latest_node(struct spool *s, const char *id)
{
	struct node *n = NULL, *fresh = node_alloc(N_LATEST, strdup("latest"));

	if (fresh && !(fresh->job_id = strdup(id)))
		fresh = node_destroy(fresh);
	pthread_mutex_lock(&s->lock);
	if (s->latest && !strcmp(s->latest->job_id, id)) {
		n = s->latest;
	} else if (fresh && fresh->name &&
		   node_insert_locked(s, s->nodes[ID_JOBS], fresh, false) >=
			   0) {
		fresh->size = strlen(id) + strlen(".txt");
		if (s->latest)
			node_unref_locked(s, s->latest);
		n = s->latest = TAKE_PTR(fresh);
	}
	if (n)
		n->refs++;
	pthread_mutex_unlock(&s->lock);
	node_destroy(fresh);
	return n;
}

/* The newest job's (whose name is fit for a file) latest_node(), or
 * NULL: none yet. */
static struct node *latest_get(struct spool *s)
{
	char **ids = NULL;
	size_t n = 0, i = 0;
	struct node *l = NULL;

	if (job_list(s, &ids, &n) < 0)
		return NULL;
	for (i = n; i-- > 0;)
		if (job_name_ok(ids[i])) {
			l = latest_node(s, ids[i]);
			break;
		}
	free_ids(ids, n);
	return l;
}

/* Attributes of n. Called with s->lock held. */
static void stat_locked(struct spool *s, const struct node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_uid = s->owner;
	st->st_gid = s->group;
	st->st_blksize = 4096;
	st->st_mtim = st->st_ctim = st->st_atim = n->mtime;
	switch (n->kind) {
	case N_ROOT:
		/* only the owner: the spool writes into a cluster */
		st->st_mode = S_IFDIR | 0700;
		st->st_nlink = 2 + n->subdirs;
		break;
	case N_NAMESPACES:
	case N_DIR:
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2 + n->subdirs;
		break;
	case N_JOBS:
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
		break;
	case N_FILE:
		st->st_mode = S_IFREG | 0200;
		st->st_nlink = n->linked ? 1 : 0;
		st->st_size = (off_t)n->size;
		break;
	case N_JOB:
	case N_STATUS:
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = (off_t)n->size;
		break;
	case N_LATEST:
		st->st_mode = S_IFLNK | 0777;
		st->st_nlink = 1;
		st->st_size = (off_t)n->size;
		break;
	}
	st->st_blocks = (st->st_size + 511) / 512;
}

/* Attributes of n as they are now: a job's report and the job list are
 * looked at again. */
static int node_stat(struct spool *s, struct node *n, struct stat *st)
{
	struct sbuf b;
	char **ids = NULL;
	size_t k = 0;
	int r = 0;

	if (n->kind == N_JOB || n->kind == N_STATUS) {
		sbuf_init(&b, REPORT_MAX);
		r = node_content(s, n, &b);
		if (r >= 0) {
			pthread_mutex_lock(&s->lock);
			job_seen_locked(n, &b);
			pthread_mutex_unlock(&s->lock);
		}
		sbuf_release(&b);
	} else if (n->kind == N_JOBS) {
		if (job_list(s, &ids, &k) >= 0)
			free_ids(ids, k);
	}
	if (r < 0)
		return r;
	pthread_mutex_lock(&s->lock);
	stat_locked(s, n, st);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* The directories whose names only the kernel's calls change (and a
 * commit, which says so). */
static bool cached_dir(const struct spool *s, const struct node *n)
{
	return s->se && (n->kind == N_ROOT || n->kind == N_NAMESPACES ||
			 n->kind == N_DIR);
}

/* How long the kernel may keep n's attributes, and its name. */
static double attr_timeout(const struct spool *s, const struct node *n)
{
	return cached_dir(s, n) || (s->se && n->kind == N_FILE) ? DIR_TIMEOUT :
								  0;
}

static double entry_timeout(const struct spool *s, const struct node *n)
{
	return cached_dir(s, n) ? DIR_TIMEOUT : 0;
}

/* dir lost a name without a call of the kernel's: its attributes and
 * the listing it keeps (FOPEN_CACHE_DIR) are stale. No lock of ours is
 * needed by the kernel for this (no inode lock either), so it is safe
 * from a request's thread. */
static void notify_dir_changed(struct spool *s, struct node *dir)
{
	if (cached_dir(s, dir))
		(void)fuse_lowlevel_notify_inval_inode(s->se, dir->ino, 0, 0);
}

void spool_set_session(struct spool *s, struct fuse_session *se)
{
	s->se = se;
}

static void reply_entry(fuse_req_t req, struct spool *s, struct node *n)
{
	struct fuse_entry_param ep = { .ino = n->ino,
				       .attr_timeout = attr_timeout(s, n),
				       .entry_timeout = entry_timeout(s, n) };
	int r = node_stat(s, n, &ep.attr);

	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_entry(req, &ep);
}

/* Only the owner changes anything (root and allow_other included). */
static int check_owner(fuse_req_t req, struct spool *s)
{
	return fuse_req_ctx(req)->uid == s->owner ? 0 : -EACCES;
}

/* Where a file made in dir goes: "restore/<path>/<name>" and the target
 * namespace (NULL: the items' own). Called with s->lock held; caller
 * frees both. */
static int placement_locked(struct node *dir, const char *name, char **source,
			    char **target)
{
	const char *parts[256];
	struct node *n;
	size_t k = 0, len = strlen("restore/") + strlen(name);
	char *p;

	*target = NULL;
	for (n = dir; n && n->kind != N_ROOT; n = n->parent) {
		if (k == ARRAY_SIZE(parts))
			return -ENAMETOOLONG;
		parts[k++] = n->name;
		len += strlen(n->name) + 1;
		if (n->parent && n->parent->kind == N_NAMESPACES)
			*target = n->name;
	}
	if (len >= SOURCE_MAX)
		return -ENAMETOOLONG;
	*source = p = malloc(len + 1);
	if (!p)
		return -ENOMEM;
	p += sprintf(p, "restore/");
	while (k--)
		p += sprintf(p, "%s/", parts[k]);
	sprintf(p, "%s", name);
	if (*target && !(*target = strdup(*target))) {
		free(*source);
		return -ENOMEM;
	}
	return 0;
}

/* Whether name may be made in dir. Called with s->lock held. */
static int may_make_locked(struct node *dir, const char *name, bool directory)
{
	if (!dir->linked)
		return -ENOENT;
	switch (dir->kind) {
	case N_ROOT:
		if (!strcmp(name, "jobs") || !strcmp(name, "namespaces") ||
		    !strcmp(name, "status"))
			return -EEXIST;
		break;
	case N_NAMESPACES:
		if (!directory)
			return -EPERM; /* only namespaces/<target>/ */
		if (!dns_label_ok(name, strlen(name)))
			return -EINVAL;
		break;
	case N_DIR:
		break;
	case N_JOBS:
		return -EACCES;
	default:
		return -ENOTDIR;
	}
	if (strlen(name) > 255)
		return -ENAMETOOLONG;
	return child_locked(dir, name) ? -EEXIST : 0;
}

/* Notes on in the files of this mount's backups (and snapshots) that the writer
 * pid has open (cp has its source open when it creates and writes the copy; cat
 * when it writes): where the bytes come from, checked at commit by the
 * origin callback. Called with n->io held. */
static void note_sources(struct spool *s, pid_t pid, struct restore_input *in)
{
	char dir[64], target[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (!s->root || pid <= 0)
		return;
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		ssize_t k;

		if (de->d_name[0] == '.')
			continue;
		k = readlinkat(dirfd(d), de->d_name, target,
			       sizeof(target) - 1);
		if (k <= 0)
			continue;
		target[k] = 0;
		if (!strncmp(target, s->root, s->rootlen) &&
		    (!strncmp(target + s->rootlen, "backups/", 8) ||
		     !strncmp(target + s->rootlen, "snapshots/", 10)))
			(void)restore_input_hint(in, target + s->rootlen);
	}
	if (d)
		closedir(d);
}

/* Commits n's input (n->io held): the file becomes a job and leaves the
 * tree, whether the engine took it or refused it (the refusal is a
 * REJECTED job whose report says why). -EINVAL for malformed input. */
static int commit_locked(struct spool *s, struct node *n)
{
	struct verror e = { { 0 } };
	char *job = NULL;
	int r;

	r = restore_input_commit(n->in, &job, &e);
	if (r >= 0 && !job)
		return 0; /* empty: still a file */
	n->in = restore_input_free(n->in);
	pthread_mutex_lock(&s->lock);
	unlink_locked(s, n);
	pthread_mutex_unlock(&s->lock);
	notify_dir_changed(s, n->parent); /* n holds a reference on it */
	if (r < 0) {
		/* the user's mistake, not ours: the report has it */
		log_debug("%s: not restored: %s", n->source, e.msg);
		/* close()'s errno is all cp can print: "Invalid argument"
		 * for a file that does not parse, "File too large" past a
		 * bound; the parser's words (line, column) are in the
		 * report and restore/status */
		return r == -EBADMSG ? -EINVAL : r == -E2BIG ? -EFBIG : r;
	}
	log_debug("%s: job %s", n->source, job);
	free(job);
	return 0;
}

int spool_new(struct restore *r, const char *mountpoint, uid_t owner,
	      gid_t group, struct spool **out)
{
	static const enum node_kind kinds[] = { N_ROOT, N_JOBS, N_NAMESPACES,
						N_STATUS };
	static const char *const names[] = { NULL, "jobs", "namespaces",
					     "status" };
	struct spool *s = calloc(1, sizeof(*s));
	size_t i;
	int ret = 0;

	if (!s)
		return -ENOMEM;
	s->r = r;
	if (mountpoint && mountpoint[0] == '/' &&
	    asprintf(&s->root, "%s/", mountpoint) >= 0)
		s->rootlen = strlen(s->root);
	s->owner = owner;
	s->group = group;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < ARRAY_SIZE(kinds) && ret >= 0; i++) {
		/* ids: ID_ROOT, ID_JOBS, ID_NAMESPACES, ID_STATUS */
		struct node *parent = i == ID_ROOT ? NULL : s->nodes[ID_ROOT];
		char *name = names[i] ? strdup(names[i]) : NULL;
		struct node *n =
			(!names[i] || name) ? node_alloc(kinds[i], name) : NULL;

		ret = n ? node_insert_locked(s, parent, n, true) : -ENOMEM;
		if (ret < 0 && n)
			node_destroy(n);
	}
	while (ret >= 0 && s->n < ID_FIRST)
		s->nodes[s->n++] = NULL; /* cap is 64 */
	pthread_mutex_unlock(&s->lock);
	if (ret < 0) {
		spool_free(s);
		return ret;
	}
	*out = s;
	return 0;
}

struct spool *spool_free(struct spool *s)
{
	size_t i;

	if (!s)
		return NULL;
	/* no requests are in flight any more: free everything left */
	for (i = 0; i < s->n; i++)
		if (s->nodes[i])
			node_destroy(s->nodes[i]);
	free(s->nodes);
	free(s->root);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return NULL;
}

int spool_stat(struct spool *s, fuse_ino_t ino, struct stat *st,
	       double *timeout)
{
	struct node *n = node_get(s, ino);
	int r;

	if (!n)
		return -ENOENT;
	r = node_stat(s, n, st);
	*timeout = attr_timeout(s, n);
	node_put(s, n);
	return r;
}

void spool_lookup(fuse_req_t req, struct spool *s, fuse_ino_t parent,
		  const char *name)
{
	struct node *dir, *n = NULL;
	size_t len = strlen(name);

	if (!spool_owns(parent)) { /* "restore" in the root */
		n = node_get(s, INO_SPOOL_ROOT);
		reply_entry(req, s, n);
		node_put(s, n);
		return;
	}
	dir = node_get(s, parent);
	if (!dir) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (dir->kind == N_JOBS) {
		if (!strcmp(name, "latest")) {
			n = latest_get(s);
		} else if (len > 4 && !strcmp(name + len - 4, ".txt")) {
			char *id = strndup(name, len - 4);

			/* a node only for a job that exists: looking up
			 * names that are no job must not grow memory */
			if (id && job_name_ok(id) &&
			    restore_job_state(s->r, id, NULL) == 0)
				n = job_node(s, id);
			free(id);
		}
	} else if (is_dir(dir)) {
		pthread_mutex_lock(&s->lock);
		n = child_locked(dir, name);
		if (n)
			n->refs++;
		pthread_mutex_unlock(&s->lock);
	}
	node_put(s, dir);
	if (n)
		reply_entry(req, s, n); /* ENOENT for an unknown job */
	else
		fuse_reply_err(req, ENOENT);
	node_put(s, n);
}

void spool_getattr(fuse_req_t req, struct spool *s, fuse_ino_t ino)
{
	struct node *n = node_get(s, ino);
	struct stat st;
	int r = n ? node_stat(s, n, &st) : -ENOENT;
	double t = n ? attr_timeout(s, n) : 0;

	node_put(s, n);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, t);
}

/* Size changes truncate a file being written (O_TRUNC arrives as one:
 * fs.c has no atomic O_TRUNC); mode, owner and times are accepted and
 * ignored, as `cp -r`'s chmod and utimens need. */
void spool_setattr(fuse_req_t req, struct spool *s, fuse_ino_t ino,
		   struct stat *attr, int to_set, struct fuse_file_info *fi)
{
	struct node *n = node_get(s, ino);
	struct stat st;
	int r = n ? check_owner(req, s) : -ENOENT;
	double t;

	(void)fi;
	if (r < 0)
		r = n ? -EPERM : r;
	else if (((to_set & FUSE_SET_ATTR_UID) && attr->st_uid != s->owner) ||
		 ((to_set & FUSE_SET_ATTR_GID) && attr->st_gid != s->group))
		r = -EPERM;
	else if ((to_set & FUSE_SET_ATTR_SIZE) && n->kind != N_FILE)
		r = is_dir(n) ? -EISDIR : -EPERM;
	else if (to_set & FUSE_SET_ATTR_SIZE) {
		pthread_mutex_lock(&n->io);
		r = n->in ? restore_input_truncate(n->in, attr->st_size) :
			    -EPERM;
		if (r >= 0) {
			/* the one who truncates is writing it now */
			if (attr->st_size == 0) {
				n->creator = fuse_req_ctx(req)->pid;
				restore_input_writer(n->in, n->creator);
			}
			pthread_mutex_lock(&s->lock);
			n->size = restore_input_size(n->in);
			n->mtime = now();
			pthread_mutex_unlock(&s->lock);
		}
		pthread_mutex_unlock(&n->io);
	}
	if (r >= 0)
		r = node_stat(s, n, &st);
	t = n ? attr_timeout(s, n) : 0;
	node_put(s, n);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, t);
}

void spool_readlink(fuse_req_t req, struct spool *s, fuse_ino_t ino)
{
	struct node *n = node_get(s, ino);
	char *target = NULL;

	if (!n || n->kind != N_LATEST)
		fuse_reply_err(req, n ? EINVAL : ENOENT);
	else if (asprintf(&target, "%s.txt", n->job_id) < 0)
		fuse_reply_err(req, ENOMEM);
	else
		fuse_reply_readlink(req, target);
	free(target);
	node_put(s, n);
}

/* Appends one entry at offset off to buf; false when it is full. */
static bool add_entry(fuse_req_t req, char *buf, size_t size, size_t *len,
		      bool plus, const char *name, const struct stat *st,
		      double attr_t, double entry_t, off_t off)
{
	size_t k;

	if (plus) {
		struct fuse_entry_param ep = { .ino = st->st_ino,
					       .attr = *st,
					       .attr_timeout = attr_t,
					       .entry_timeout = entry_t };

		if (!strcmp(name, ".") || !strcmp(name, ".."))
			ep.ino = 0; /* no lookup count for these */
		k = fuse_add_direntry_plus(req, buf + *len, size - *len, name,
					   &ep, off);
	} else {
		k = fuse_add_direntry(req, buf + *len, size - *len, name, st,
				      off);
	}
	if (k > size - *len)
		return false;
	*len += k;
	return true;
}

/* jobs/: latest (while there is a job), then one report per job, oldest
 * first; job i at offset ID_FIRST + i, which stays its place as jobs are
 * only ever added. */
static void readdir_jobs(fuse_req_t req, struct spool *s, char *buf,
			 size_t size, size_t *len, off_t off, bool plus)
{
	char **ids = NULL, name[256];
	struct node *l = NULL;
	size_t n = 0, i;
	struct sbuf b;
	struct stat st;
	int r;

	r = job_list(s, &ids, &n);
	if (r < 0) {
		log_warning_errno(r, "listing restore jobs: %m");
		return;
	}
	sbuf_init(&b, REPORT_MAX);
	for (i = n; off < 3 && !l && i-- > 0;)
		if (job_name_ok(ids[i]))
			l = latest_node(s, ids[i]);
	if (l) {
		pthread_mutex_lock(&s->lock);
		stat_locked(s, l, &st);
		pthread_mutex_unlock(&s->lock);
		node_put(s, l);
		if (!add_entry(req, buf, size, len, plus, "latest", &st, 0, 0,
			       3))
			goto out;
	}
	for (i = 0; i < n; i++) {
		struct node *j;

		if ((off_t)(ID_FIRST + i) < off || !job_name_ok(ids[i]))
			continue;
		if (job_report(s, ids[i], &b) < 0)
			continue;
		j = job_node(s, ids[i]);
		if (!j)
			break;
		pthread_mutex_lock(&s->lock);
		job_seen_locked(j, &b);
		stat_locked(s, j, &st);
		pthread_mutex_unlock(&s->lock);
		node_put(s, j);
		snprintf(name, sizeof(name), "%s.txt", ids[i]);
		if (!add_entry(req, buf, size, len, plus, name, &st, 0, 0,
			       (off_t)(ID_FIRST + i + 1)))
			break;
	}
out:
	sbuf_release(&b);
	free_ids(ids, n);
}

/* Offsets: . 1, .. 2, then ID_FIRST + a child's id (children are kept
 * in id order), so removals during a listing skip nothing. */
void spool_readdir(fuse_req_t req, struct spool *s, fuse_ino_t ino, size_t size,
		   off_t off, bool plus)
{
	struct node *dir = node_get(s, ino), *c;
	size_t len = 0;
	struct stat st;
	char *buf;

	if (!dir || !is_dir(dir)) {
		fuse_reply_err(req, dir ? ENOTDIR : ENOENT);
		node_put(s, dir);
		return;
	}
	buf = malloc(size);
	if (!buf) {
		node_put(s, dir);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&s->lock);
	if (off < 1) {
		stat_locked(s, dir, &st);
		if (!add_entry(req, buf, size, &len, plus, ".", &st, 0, 0, 1))
			goto full;
	}
	if (off < 2) {
		struct node *p = dir->parent ? dir->parent : dir;

		stat_locked(s, p, &st);
		if (!dir->parent)
			st.st_ino = 1; /* the mount's root */
		if (!add_entry(req, buf, size, &len, plus, "..", &st, 0, 0, 2))
			goto full;
	}
	if (dir->kind == N_JOBS) {
		pthread_mutex_unlock(&s->lock);
		readdir_jobs(req, s, buf, size, &len, off, plus);
		goto out;
	}
	for (c = dir->first; c; c = c->next) {
		off_t next = (off_t)(ID_FIRST +
				     ((uint64_t)c->ino & ((1ull << 56) - 1)));

		if (next <= off)
			continue;
		stat_locked(s, c, &st);
		if (!add_entry(req, buf, size, &len, plus, c->name, &st,
			       attr_timeout(s, c), entry_timeout(s, c), next))
			break;
	}
full:
	pthread_mutex_unlock(&s->lock);
out:
	node_put(s, dir);
	fuse_reply_buf(req, buf, len);
	free(buf);
}

void spool_mkdir(fuse_req_t req, struct spool *s, fuse_ino_t parent,
		 const char *name, mode_t mode)
{
	struct node *dir = node_get(s, parent), *n = NULL;
	char *dup = strdup(name);
	int r = dir ? check_owner(req, s) : -ENOENT;

	(void)mode; /* directories are 0755 */
	if (r >= 0 && !(dup && (n = node_alloc(N_DIR, TAKE_PTR(dup)))))
		r = -ENOMEM;
	if (r >= 0) {
		pthread_mutex_lock(&s->lock);
		r = may_make_locked(dir, name, true);
		if (r >= 0)
			r = node_insert_locked(s, dir, n, true);
		if (r >= 0)
			n->refs++;
		pthread_mutex_unlock(&s->lock);
		if (r < 0)
			n = node_destroy(n);
	}
	free(dup);
	if (r >= 0)
		reply_entry(req, s, n);
	else
		fuse_reply_err(req, -r);
	node_put(s, n);
	node_put(s, dir);
}

void spool_create(fuse_req_t req, struct spool *s, fuse_ino_t parent,
		  const char *name, mode_t mode, struct fuse_file_info *fi)
{
	struct node *dir = node_get(s, parent), *n = NULL;
	struct fuse_entry_param ep = { 0 };
	char *target = NULL, *dup = strdup(name);
	int r = dir ? check_owner(req, s) : -ENOENT;

	(void)mode; /* files being written are 0200 */
	if (r >= 0 && !(dup && (n = node_alloc(N_FILE, TAKE_PTR(dup)))))
		r = -ENOMEM;
	if (r >= 0) {
		pthread_mutex_lock(&s->lock);
		r = may_make_locked(dir, name, false);
		if (r >= 0)
			r = placement_locked(dir, name, &n->source, &target);
		pthread_mutex_unlock(&s->lock);
	}
	if (r >= 0)
		r = restore_input_new(s->r, target, n->source, &n->in);
	if (r >= 0) {
		n->creator = fuse_req_ctx(req)->pid;
		restore_input_writer(n->in, n->creator);
		note_sources(s, n->creator, n->in);
		pthread_mutex_lock(&s->lock);
		r = may_make_locked(dir, name, false); /* again: a twin? */
		if (r >= 0)
			r = node_insert_locked(s, dir, n, true);
		if (r >= 0) {
			n->refs += 2; /* the handle's, until release; ours */
			stat_locked(s, n, &ep.attr);
		}
		pthread_mutex_unlock(&s->lock);
	}
	free(target);
	free(dup);
	node_put(s, dir);
	if (r < 0) {
		if (n)
			node_destroy(n);
		fuse_reply_err(req, -r);
		return;
	}
	ep.ino = n->ino;
	ep.attr_timeout = attr_timeout(s, n);
	ep.entry_timeout = entry_timeout(s, n);
	fi->fh = n->ino;
	fi->direct_io = 1; /* nothing to cache: the bytes are the engine's */
	fi->keep_cache = 0;
	if (fuse_reply_create(req, &ep, fi) < 0)
		node_put(s, n); /* interrupted: no release will come */
	node_put(s, n);
}

/* Sent only while the kernel still opens (see spool.h): reports are read
 * direct, so every read sees the report as it is. */
void spool_open(fuse_req_t req, struct spool *s, fuse_ino_t ino,
		struct fuse_file_info *fi)
{
	struct node *n = node_get(s, ino);
	int acc = fi->flags & O_ACCMODE;
	int r = 0;

	if (!n)
		r = -ENOENT;
	else if (is_dir(n))
		r = -EISDIR;
	else if ((n->kind == N_JOB || n->kind == N_STATUS) && acc != O_RDONLY)
		r = -EACCES;
	else if (n->kind == N_FILE && acc != O_WRONLY)
		r = -EACCES; /* write-only: the bytes are the engine's */
	else if (n->kind == N_FILE)
		r = check_owner(req, s);
	node_put(s, n);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	fi->fh = 0; /* not a create handle: release commits nothing */
	fi->direct_io = 1;
	fi->keep_cache = 0;
	fuse_reply_open(req, fi);
}

void spool_read(fuse_req_t req, struct spool *s, fuse_ino_t ino, size_t size,
		off_t off, struct fuse_file_info *fi)
{
	struct node *n = node_get(s, ino);
	struct sbuf b;
	int r;

	(void)fi;
	if (!n || (n->kind != N_JOB && n->kind != N_STATUS)) {
		fuse_reply_err(req, !n		      ? ENOENT :
				    is_dir(n)	      ? EISDIR :
				    n->kind == N_FILE ? EACCES :
							EINVAL);
		node_put(s, n);
		return;
	}
	sbuf_init(&b, REPORT_MAX);
	r = node_content(s, n, &b);
	if (r >= 0) {
		pthread_mutex_lock(&s->lock);
		job_seen_locked(n, &b);
		pthread_mutex_unlock(&s->lock);
	}
	node_put(s, n);
	if (r < 0)
		fuse_reply_err(req, -r);
	else if (off < 0 || (size_t)off >= b.len)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_buf(req, b.buf + off,
			       MIN(size, b.len - (size_t)off));
	sbuf_release(&b);
}

void spool_write(fuse_req_t req, struct spool *s, fuse_ino_t ino,
		 const char *buf, size_t size, off_t off,
		 struct fuse_file_info *fi)
{
	struct node *n = node_get(s, ino);
	int r = n ? 0 : -EBADF;

	if (r >= 0 && !fi->writepage)
		r = check_owner(req, s);
	if (r >= 0 && n->kind != N_FILE)
		r = -EBADF;
	if (r >= 0) {
		pthread_mutex_lock(&n->io);
		/* committed: it is a job now, the file is gone */
		r = n->in ? restore_input_write(n->in, buf, size, off) : -EBADF;
		if (r >= 0)
			note_sources(s, fuse_req_ctx(req)->pid, n->in);
		if (r >= 0) {
			pthread_mutex_lock(&s->lock);
			n->size = restore_input_size(n->in);
			n->mtime = now();
			pthread_mutex_unlock(&s->lock);
		}
		pthread_mutex_unlock(&n->io);
	}
	node_put(s, n);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_write(req, size);
}

/* Every close(). The creator's (the process that made the file, or
 * truncated it to write it anew) commits what was written; others (a
 * child of a shell that holds the file open, a dup) commit nothing, so
 * `{ a; b; } > restore/x.yaml` is one input. Unknown creator: the first
 * close with data. */
void spool_flush(fuse_req_t req, struct spool *s, fuse_ino_t ino,
		 struct fuse_file_info *fi)
{
	struct node *n = node_get(s, ino);
	pid_t pid = fuse_req_ctx(req)->pid;
	int r = 0;

	(void)fi;
	if (n && n->kind == N_FILE) {
		pthread_mutex_lock(&n->io);
		if (n->in && restore_input_size(n->in) > 0 &&
		    (!n->creator || n->creator == pid))
			r = commit_locked(s, n);
		pthread_mutex_unlock(&n->io);
	}
	node_put(s, n);
	fuse_reply_err(req, -r);
}

/* The last close of a created file: commit what its creator's close did
 * not (a creator that is a thread other than the closer, or a file left
 * empty: a REJECTED job says so); errors are in the job's report, there
 * is nobody to tell. */
void spool_release(fuse_req_t req, struct spool *s, fuse_ino_t ino,
		   struct fuse_file_info *fi)
{
	struct node *n = fi->fh == ino ? node_get(s, ino) : NULL;

	if (n && n->kind == N_FILE) {
		pthread_mutex_lock(&n->io);
		/* empty too: every file gets a report, none stays behind */
		if (n->in)
			(void)commit_locked(s, n);
		pthread_mutex_unlock(&n->io);
		node_put(s, n); /* the handle's */
	}
	node_put(s, n);
	fuse_reply_err(req, 0);
}

/* Takes name out of dir if it is of the wanted sort; the removed node
 * with a reference, or NULL and *r. */
static struct node *remove_child(fuse_req_t req, struct spool *s,
				 fuse_ino_t parent, const char *name,
				 bool directory, int *r)
{
	struct node *dir = node_get(s, parent), *n = NULL;

	*r = dir ? check_owner(req, s) : -ENOENT;
	if (*r < 0) {
		node_put(s, dir);
		return NULL;
	}
	pthread_mutex_lock(&s->lock);
	if (dir->kind == N_JOBS)
		*r = -EPERM; /* jobs go by spool_unlink's dismiss() */
	else if (!is_dir(dir))
		*r = -ENOTDIR;
	else if (!(n = child_locked(dir, name)))
		*r = -ENOENT;
	else if (directory && !is_dir(n))
		*r = -ENOTDIR;
	else if (!directory && is_dir(n))
		*r = -EISDIR;
	else if (n->kind == N_JOBS || n->kind == N_NAMESPACES ||
		 n->kind == N_STATUS)
		*r = -EBUSY;
	else if (n->first)
		*r = -ENOTEMPTY;
	if (*r < 0) {
		n = NULL;
	} else {
		n->refs++;
		unlink_locked(s, n);
	}
	node_unref_locked(s, dir);
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* jobs/<id>.txt: dismisses a finished job (its report goes). */
static int dismiss(fuse_req_t req, struct spool *s, const char *name)
{
	size_t len = strlen(name);
	char id[256];
	int r = check_owner(req, s);

	if (r < 0)
		return r;
	if (len <= 4 || len - 4 >= sizeof(id) || strcmp(name + len - 4, ".txt"))
		return -EPERM; /* latest follows the jobs by itself */
	snprintf(id, sizeof(id), "%.*s", (int)(len - 4), name);
	return restore_job_dismiss(s->r, id);
}

/* A file being written is dropped with what it had; a finished job's
 * report is dismissed. */
void spool_unlink(fuse_req_t req, struct spool *s, fuse_ino_t parent,
		  const char *name)
{
	struct node *n, *dir = node_get(s, parent);
	bool jobs = dir && dir->kind == N_JOBS;
	int r;

	node_put(s, dir);
	if (jobs) {
		fuse_reply_err(req, -dismiss(req, s, name));
		return;
	}
	n = remove_child(req, s, parent, name, false, &r);

	if (n) {
		pthread_mutex_lock(&n->io);
		n->in = restore_input_free(n->in);
		pthread_mutex_unlock(&n->io);
		node_put(s, n);
	}
	fuse_reply_err(req, -r);
}

void spool_rmdir(fuse_req_t req, struct spool *s, fuse_ino_t parent,
		 const char *name)
{
	int r;
	struct node *n = remove_child(req, s, parent, name, true, &r);

	node_put(s, n);
	fuse_reply_err(req, -r);
}

/* An input's target namespace is fixed when it is created. */
void spool_rename(fuse_req_t req, struct spool *s, fuse_ino_t parent,
		  const char *name, fuse_ino_t newparent, const char *newname,
		  unsigned int flags)
{
	(void)s, (void)parent, (void)name, (void)newparent, (void)newname,
		(void)flags;
	fuse_reply_err(req, EPERM);
}
