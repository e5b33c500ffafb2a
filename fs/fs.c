/* fs: FUSE low-level operations over backup/ (see fs.h).
 *
 * Inode numbers are computed, not allocated, so there is no inode table
 * to grow and forget() has nothing to do:
 *
 *   1             /                 2  backups/     3  schedules/
 *   4             backups/latest    (a symlink)
 *   5             restore/          (fs/spool.c, with 3<<56 | id below)
 *   8             snapshots/        9  snapshots/latest/
 *   6<<56 | slot                    snapshots/latest/<cluster> (symlink)
 *   4<<56 | id                      a directory of history/ (id: backup/)
 *   5<<56 | id<<16 | version        history: a version identical to an
 *                                   earlier one (a symlink to it); other
 *                                   versions are the backup's own inode
 *   1<<56 | slot<<32 | node         a node of the backup in slot
 *   2<<56 | sched<<32 | 0xffffffff  schedules/<sched>/
 *   2<<56 | sched<<32 | slot        schedules/<sched>/<backup> (symlink)
 *   6<<56 | id                      a node of volumes/ (backup/volumes.c's
 *                                   id: volume data, listed lazily)
 *
 * Recovery points never change, so their entries and attributes are
 * cached by the kernel for cfg->timeout, files and directories are opened
 * without a round trip (FUSE_CAP_NO_OPEN_SUPPORT, which also keeps the page
 * cache), and the top-level directories use a short timeout because the
 * backup list may change. Every readdir of a directory is a READDIRPLUS
 * (the kernel then holds every entry and its attributes: no LOOKUP per
 * file), and after the first READ of a file the pusher thread stores the
 * files after it into the page cache (no READ for those): a cold grep -r
 * costs a READ per 64 files or so, not a LOOKUP and a READ per file (see
 * bench/profile-notes.md, "FUSE round trips"). */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/macro.h"
#include "fs/fs.h"
#include "fs/spool.h"

#define INO_ROOT 1
#define INO_BACKUPS 2
#define INO_SCHEDULES 3
#define INO_LATEST 4
/* restore/ when there is no spool: a README saying why */
#define INO_NOSPOOL_README 7
#define INO_SNAPSHOTS 8
#define INO_SNAP_LATEST 9
#define T_BACKUP 1ull
#define T_SCHED 2ull
#define T_HDIR 4ull
#define T_HLINK 5ull
#define T_SNAPLINK 6ull
#define T_VOL 7ull
#define VOL_ID(i) ((uint64_t)(i) & ((1ull << 56) - 1))
#define VOL_DIR "volumes"
#define SCHED_DIR 0xffffffffu
#define TOP_TIMEOUT 1.0
/* After a READ of a file of a recovery point, the files that follow it
 * (its later siblings, as grep -r and cp -r read them) are stored into the
 * kernel's page cache, so their reads need no round trip: up to this many
 * nodes or bytes per READ. */
#define PUSH_NODES 64
#define PUSH_BYTES (1u << 20)
#define PUSH_QUEUE 64

/* Requests served, by kind: logged at info level when the mount ends (the
 * tests and bench/ read them from the log). */
struct fs_counts {
	unsigned long lookup, getattr, readdir, readdirplus, read, readlink,
		pushed;
};
#define COUNT(fs, field) \
	__atomic_fetch_add(&(fs)->counts.field, 1, __ATOMIC_RELAXED)

/* The thread that stores files into the page cache (pusher()): a queue of
 * inodes just read. Not a FUSE worker: a store waits for the lock of a page
 * that a READ being served may hold, and the workers never wait for it. */
struct push {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	fuse_ino_t queue[PUSH_QUEUE]; /* protected by lock */
	size_t head, n;		      /* protected by lock */
	bool stopping;	   /* protected by lock; written atomically, as
			    * push_after() reads it without the lock */
	fuse_ino_t latest; /* atomic: the last inode queued */
	bool running;
	pthread_t thread;
};

struct fs {
	struct backup_repo *repo;
	struct fuse_session *se;
	unsigned refresh_s;
	pthread_mutex_t refresh_lock;
	pthread_cond_t refresh_cond;
	bool stopping;	    /* protected by refresh_lock */
	fuse_ino_t history; /* history/ */
	/* the last history directory listed, for readdir's later calls */
	pthread_mutex_t hist_lock;
	fuse_ino_t hist_ino; /* protected by hist_lock */
	char **hist_names;   /* protected by hist_lock */
	size_t hist_n;	     /* protected by hist_lock */
	struct spool *spool; /* NULL without a restore target */
	char *restore_off;   /* then: restore/README, why */
	double timeout;
	uid_t uid;
	gid_t gid;
	time_t mounted;
	struct fs_counts counts; /* atomic */
	struct push push;
};

static inline fuse_ino_t ino_make(uint64_t type, uint64_t a, uint64_t b)
{
	return (fuse_ino_t)(type << 56 | a << 32 | b);
}
#define INO_TYPE(i) ((uint64_t)(i) >> 56)
#define INO_A(i) (((uint64_t)(i) >> 32) & 0xffffff)
#define INO_B(i) ((uint32_t)(i))

static struct fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* ---- storing files into the kernel's page cache ---- */

/* What the pusher stored last: nodes [lo, hi) of slot. */
struct push_run {
	uint64_t slot;
	uint32_t lo, hi;
};

/* Stores the files that follow node ino into the kernel's page cache, up
 * to PUSH_NODES nodes or PUSH_BYTES: only inodes the kernel holds take a
 * store (those a READDIRPLUS listed); the first it does not know (the
 * store fails with ENOENT) ends the run. */
static void push_after(struct fs *fs, fuse_ino_t ino, struct push_run *run)
{
	uint64_t slot = INO_A(ino);
	uint32_t node = INO_B(ino), end = node + PUSH_NODES, k = node + 1;
	struct backup *b = backup_repo_slot(fs->repo, slot);
	size_t bytes = 0;

	if (!b)
		return;
	if (run->slot == slot && node >= run->lo && node < run->hi)
		k = MAX(k, run->hi); /* stored already up to there */
	else
		run->lo = k;
	run->slot = slot;
	for (; k <= end && bytes < PUSH_BYTES; k++) {
		fuse_ino_t latest =
			__atomic_load_n(&fs->push.latest, __ATOMIC_RELAXED);
		struct verror e = { { 0 } };
		struct fuse_bufvec bv = FUSE_BUFVEC_INIT(0);
		struct backup_stat st;
		const void *data;
		size_t got;

		/* the reader overtook us: go on from where it is */
		if (INO_TYPE(latest) == T_BACKUP && INO_A(latest) == slot &&
		    INO_B(latest) >= k && INO_B(latest) <= end)
			break;
		if (__atomic_load_n(&fs->push.stopping, __ATOMIC_RELAXED))
			break;
		if (backup_node_stat(b, k, &st, &e) < 0)
			break;
		/* files only: the kernel refuses a store into a symlink
		 * (EINVAL), so READLINK stays one round trip per link */
		if (st.type != BACKUP_NODE_FILE || st.broken || !st.size)
			continue;
		if (backup_node_read(b, k, 0, st.size, &data, &got, &e) < 0)
			break;
		bv.buf[0].mem = (void *)data;
		bv.buf[0].size = got;
		if (fuse_lowlevel_notify_store(
			    fs->se, ino_make(T_BACKUP, slot, k), 0, &bv, 0) < 0)
			break;
		COUNT(fs, pushed);
		bytes += got;
	}
	run->hi = k;
}

static void *pusher(void *userdata)
{
	struct fs *fs = userdata;
	struct push *p = &fs->push;
	struct push_run run = { .slot = UINT64_MAX };

	pthread_mutex_lock(&p->lock);
	for (;;) {
		fuse_ino_t ino;

		while (!p->n && !p->stopping)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->stopping)
			break;
		ino = p->queue[p->head];
		p->head = (p->head + 1) % PUSH_QUEUE;
		p->n--;
		pthread_mutex_unlock(&p->lock);
		push_after(fs, ino, &run);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* After the first READ of file ino: store the files after it (never
 * waits; a full queue drops the request). */
static void push_request(struct fs *fs, fuse_ino_t ino)
{
	struct push *p = &fs->push;

	if (!p->running)
		return;
	__atomic_store_n(&p->latest, ino, __ATOMIC_RELAXED);
	pthread_mutex_lock(&p->lock);
	if (p->n < PUSH_QUEUE) {
		p->queue[(p->head + p->n) % PUSH_QUEUE] = ino;
		p->n++;
		pthread_cond_signal(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
}

/* Ends the connection of the mount at mountpoint (its abort file under
 * /sys/fs/fuse/connections): requests in flight fail with ENOTCONN. */
static void abort_connection(const char *mountpoint)
{
	char line[4096], path[128];
	unsigned major, minor;
	bool found = false;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return;
	/* id parent major:minor root mountpoint ... (mountpoint octal-escaped;
	 * ours has no space when it matches plainly, else no abort) */
	while (!found && fgets(line, sizeof(line), f)) {
		char mp[4096];

		found = sscanf(line, "%*u %*u %u:%u %*s %4095s", &major, &minor,
			       mp) == 3 &&
			!strcmp(mp, mountpoint);
	}
	fclose(f);
	if (!found)
		return;
	snprintf(path, sizeof(path), "/sys/fs/fuse/connections/%u/abort",
		 minor);
	f = fopen(path, "we");
	if (f) {
		fputs("1", f);
		fclose(f);
	}
	(void)major;
}

/* Stops the pusher. A store waits for a page that a READ in flight holds;
 * once the loop has ended (a signal) that READ is answered by no one, so
 * if the pusher has not stopped after a while the connection is aborted,
 * which ends the READ and the store. */
static void push_stop(struct fs *fs, const char *mountpoint)
{
	struct timespec ts;

	pthread_mutex_lock(&fs->push.lock);
	__atomic_store_n(&fs->push.stopping, true, __ATOMIC_RELAXED);
	pthread_cond_signal(&fs->push.cond);
	pthread_mutex_unlock(&fs->push.lock);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	if (pthread_timedjoin_np(fs->push.thread, NULL, &ts) == 0)
		return;
	log_warning("storing into the page cache is stuck at unmount; "
		    "aborting the FUSE connection");
	abort_connection(mountpoint);
	pthread_join(fs->push.thread, NULL);
}

/* ---- history/ ---- */

static inline fuse_ino_t hlink_ino(uint32_t dirid, size_t version)
{
	return (fuse_ino_t)(T_HLINK << 56 | (uint64_t)dirid << 16 | version);
}

/* The versions of the object directory dirid; -ENOTDIR... for others. */
static int hist_versions(struct fs *fs, uint32_t dirid,
			 struct backup_version **v, size_t *n)
{
	char **comps = NULL;
	size_t nc;
	int r = backup_history_path(fs->repo, dirid, &comps, &nc);

	if (r < 0)
		return r;
	r = backup_history_versions(fs->repo, comps, nc, v, n);
	free(comps);
	return r;
}

/* The target of a history link: the name of the earlier version. */
static int hist_link_target(struct fs *fs, fuse_ino_t ino, char *buf,
			    size_t size)
{
	uint32_t dirid = (uint32_t)(((uint64_t)ino >> 16) & 0xffffffffff);
	size_t vi = (size_t)(ino & 0xffff), n = 0;
	struct backup_version *v = NULL;
	int r = hist_versions(fs, dirid, &v, &n);

	if (r < 0)
		return r;
	if (vi >= n || v[vi].same_as < 0)
		r = -ENOENT;
	else
		snprintf(buf, size, "%s", v[v[vi].same_as].name);
	free(v);
	return r;
}

static void stat_dir(struct stat *st, nlink_t nlink)
{
	st->st_mode = S_IFDIR | 0555;
	st->st_nlink = nlink;
}

static void stat_link(struct stat *st, size_t len)
{
	st->st_mode = S_IFLNK | 0777;
	st->st_size = (off_t)len;
	st->st_nlink = 1;
}

/* The fixed inodes: /, backups/, schedules/, latest, restore/ without a
 * spool and its README. */
static int stat_top(struct fs *fs, fuse_ino_t ino, struct stat *st)
{
	size_t slot;

	if (ino == INO_LATEST) {
		if (backup_repo_latest_link(fs->repo, &slot) < 0)
			return -ENOENT;
		stat_link(st, strlen(backup_name(
				      backup_repo_slot(fs->repo, slot))));
		return 0;
	}
	if (ino == INO_NOSPOOL_README) {
		st->st_mode = S_IFREG | 0444;
		st->st_size = (off_t)strlen(fs->restore_off);
		st->st_nlink = 1;
		return 0;
	}
	if (ino == INO_SPOOL_ROOT || ino == INO_SNAPSHOTS ||
	    ino == INO_SNAP_LATEST) {
		stat_dir(st, ino == INO_SNAPSHOTS ? 3 : 2);
		return 0;
	}
	if (ino < INO_ROOT || ino > INO_SCHEDULES)
		return -ENOENT;
	stat_dir(st, ino == INO_ROOT ? 7 : 2);
	return 0;
}

/* snapshots/latest/<cluster>: the link's target, "../<snapshot>", if
 * slot is still a cluster's newest. */
static int snap_link_target(struct fs *fs, size_t slot, char *buf, size_t size,
			    char *cluster, size_t csize)
{
	struct backup_snapshot_latest *v = NULL;
	size_t n = 0, i;
	int r = backup_repo_snapshot_latest(fs->repo, &v, &n);

	if (r < 0)
		return r;
	r = -ENOENT;
	for (i = 0; i < n && r < 0; i++)
		if (v[i].slot == slot) {
			snprintf(buf, size, "../%s",
				 backup_name(backup_repo_slot(fs->repo, slot)));
			if (cluster)
				snprintf(cluster, csize, "%s", v[i].cluster);
			r = 0;
		}
	free(v);
	return r;
}

/* A node of a recovery point: its times are the backup's. */
/* st (prefilled by fs_stat()) and the timeout of node ino of a backup
 * from its attributes bs. */
static void backup_attr(const struct fs *fs, fuse_ino_t ino,
			const struct backup_stat *bs, struct stat *st,
			double *timeout)
{
	st->st_mode = (bs->type == BACKUP_NODE_DIR  ? S_IFDIR :
		       bs->type == BACKUP_NODE_LINK ? S_IFLNK :
						      S_IFREG) |
		      bs->perm;
	st->st_size = (off_t)bs->size;
	st->st_blocks = (blkcnt_t)((bs->size + 511) / 512);
	st->st_nlink = bs->nlink;
	st->st_mtime = st->st_ctime = st->st_atime = bs->mtime;
	*timeout = INO_B(ino) == BACKUP_NODE_ROOT ? TOP_TIMEOUT : fs->timeout;
}

static int stat_in_backup(struct fs *fs, fuse_ino_t ino, struct stat *st,
			  double *timeout)
{
	struct verror e = { { 0 } };
	struct backup *b = backup_repo_slot(fs->repo, INO_A(ino));
	struct backup_stat bs;
	int r;

	if (!b)
		return -ENOENT;
	r = backup_node_stat(b, INO_B(ino), &bs, &e);
	if (r < 0) {
		if (r == -EIO)
			log_error("%s: %s", backup_name(b), e.msg);
		return r;
	}
	backup_attr(fs, ino, &bs, st, timeout);
	return 0;
}

/* A node of volumes/: the backed-up metadata (owners, modes, times);
 * the directories above a volume are the backup's. */
static int stat_in_vol(struct fs *fs, fuse_ino_t ino, struct stat *st,
		       double *timeout)
{
	struct verror e = { { 0 } };
	struct backup_vstat vs;
	int r = backup_vol_stat(fs->repo, VOL_ID(ino), &vs, &e);

	if (e.msg[0]) /* a volume that does not open, said once */
		log_warning("volumes: %s", e.msg);
	if (r < 0)
		return r;
	st->st_mode = vs.mode;
	st->st_size = (off_t)vs.size;
	st->st_blocks = (blkcnt_t)((vs.size + 511) / 512);
	st->st_nlink = S_ISDIR(vs.mode) ? 2 : vs.nlink;
	st->st_mtim.tv_sec = st->st_ctim.tv_sec = st->st_atim.tv_sec =
		(time_t)(vs.mtime_ns / 1000000000);
	st->st_mtim.tv_nsec = st->st_ctim.tv_nsec = st->st_atim.tv_nsec =
		(long)(vs.mtime_ns % 1000000000);
	if (!vs.made_up) {
		st->st_uid = vs.uid;
		st->st_gid = vs.gid;
	}
	*timeout = fs->timeout;
	return 0;
}

/* A directory of history/ or a link to an identical earlier version. */
static int stat_in_history(struct fs *fs, fuse_ino_t ino, struct stat *st)
{
	char **comps = NULL, target[400];
	size_t nc;
	int r;

	if (INO_TYPE(ino) == T_HLINK) {
		r = hist_link_target(fs, ino, target, sizeof(target));
		if (r < 0)
			return r;
		stat_link(st, strlen(target));
		return 0;
	}
	if (backup_history_path(fs->repo, (uint32_t)(ino & 0xffffffff), &comps,
				&nc) < 0)
		return -ENOENT;
	free(comps);
	stat_dir(st, 2);
	return 0;
}

/* schedules/<sched>/ and its links to backups. */
static int stat_in_schedule(struct fs *fs, fuse_ino_t ino, struct stat *st)
{
	struct backup *b;

	if (!backup_repo_schedule_name(fs->repo, INO_A(ino)))
		return -ENOENT;
	if (INO_B(ino) == SCHED_DIR) {
		stat_dir(st, 2);
		return 0;
	}
	b = backup_repo_slot(fs->repo, INO_B(ino));
	if (!b)
		return -ENOENT;
	stat_link(st, strlen("../../backups/") + strlen(backup_name(b)));
	return 0;
}

/* The attributes of any inode; *timeout gets how long they hold. */
/* What every node's attributes start from. */
static void stat_init(const struct fs *fs, fuse_ino_t ino, struct stat *st,
		      double *timeout)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_blksize = 4096;
	*timeout = TOP_TIMEOUT;
	st->st_mtime = st->st_ctime = st->st_atime = fs->mounted;
}

static int fs_stat(struct fs *fs, fuse_ino_t ino, struct stat *st,
		   double *timeout)
{
	stat_init(fs, ino, st, timeout);
	if (fs->spool && spool_owns(ino))
		return spool_stat(fs->spool, ino, st, timeout);
	switch (INO_TYPE(ino)) {
	case 0:
		return stat_top(fs, ino, st);
	case T_BACKUP:
		return stat_in_backup(fs, ino, st, timeout);
	case T_HDIR:
	case T_HLINK:
		return stat_in_history(fs, ino, st);
	case T_SCHED:
		return stat_in_schedule(fs, ino, st);
	case T_SNAPLINK: {
		char target[400];
		int r = snap_link_target(fs, INO_B(ino), target, sizeof(target),
					 NULL, 0);

		if (r == 0)
			stat_link(st, strlen(target));
		return r;
	}
	case T_VOL:
		return stat_in_vol(fs, ino, st, timeout);
	}
	return -ENOENT;
}

static void reply_entry(fuse_req_t req, struct fs *fs, fuse_ino_t ino)
{
	struct fuse_entry_param ep = { .ino = ino };
	double t;
	int r = fs_stat(fs, ino, &ep.attr, &t);

	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	ep.attr_timeout = ep.entry_timeout = t;
	fuse_reply_entry(req, &ep);
}

/* name in one of the fixed directories: /, backups/, schedules/ and
 * restore/ without a spool. */
static int lookup_top(struct fs *fs, fuse_ino_t parent, const char *name,
		      fuse_ino_t *out)
{
	size_t i;
	int r;

	if (parent == INO_ROOT) {
		if (!strcmp(name, "backups"))
			*out = INO_BACKUPS;
		else if (!strcmp(name, "schedules"))
			*out = INO_SCHEDULES;
		else if (!strcmp(name, "history"))
			*out = fs->history;
		else if (!strcmp(name, "snapshots"))
			*out = INO_SNAPSHOTS;
		else if (!strcmp(name, "restore"))
			*out = INO_SPOOL_ROOT;
		else
			return -ENOENT;
		return 0;
	}
	if (parent == INO_BACKUPS) {
		if (backup_repo_find(fs->repo, name, &i)) {
			*out = ino_make(T_BACKUP, i, BACKUP_NODE_ROOT);
			return 0;
		}
		if (strcmp(name, BACKUP_LATEST))
			return -ENOENT;
		*out = INO_LATEST;
		return 0;
	}
	if (parent == INO_SNAPSHOTS) {
		if (!strcmp(name, BACKUP_LATEST)) {
			*out = INO_SNAP_LATEST;
			return 0;
		}
		if (!backup_repo_find_snapshot(fs->repo, name, &i))
			return -ENOENT;
		*out = ino_make(T_BACKUP, i, BACKUP_NODE_ROOT);
		return 0;
	}
	if (parent == INO_SNAP_LATEST) {
		struct backup_snapshot_latest *v = NULL;
		size_t n = 0, k;

		r = backup_repo_snapshot_latest(fs->repo, &v, &n);
		if (r < 0)
			return r;
		r = -ENOENT;
		for (k = 0; k < n && r < 0; k++)
			if (!strcmp(v[k].cluster, name)) {
				*out = ino_make(T_SNAPLINK, 0, v[k].slot);
				r = 0;
			}
		free(v);
		return r;
	}
	if (parent == INO_SPOOL_ROOT) {
		if (strcmp(name, "README"))
			return -ENOENT;
		*out = INO_NOSPOOL_README;
		return 0;
	}
	if (parent == INO_SCHEDULES) {
		r = backup_repo_schedule_find(fs->repo, name, &i);
		if (r < 0)
			return r;
		*out = ino_make(T_SCHED, i, SCHED_DIR);
		return 0;
	}
	return -ENOTDIR;
}

/* name in a directory of a recovery point. */
static int lookup_in_backup(struct fs *fs, fuse_ino_t parent, const char *name,
			    fuse_ino_t *out)
{
	struct verror e = { { 0 } };
	struct backup *b = backup_repo_slot(fs->repo, INO_A(parent));
	uint32_t node;
	int r;

	if (!b)
		return -ENOENT;
	r = backup_node_lookup(b, INO_B(parent), name, &node, &e);
	if (r == -ENOENT && INO_B(parent) == BACKUP_NODE_ROOT &&
	    !strcmp(name, VOL_DIR)) {
		uint64_t id;

		r = backup_vol_root(b, INO_A(parent), &id, &e);
		if (r == 0) {
			*out = (fuse_ino_t)(T_VOL << 56 | id);
			return 0;
		}
	}
	if (r == -EIO)
		log_error("%s: %s", backup_name(b), e.msg);
	if (r < 0)
		return r;
	*out = ino_make(T_BACKUP, INO_A(parent), node);
	return 0;
}

/* name in a directory of volumes/. */
static int lookup_in_vol(struct fs *fs, fuse_ino_t parent, const char *name,
			 fuse_ino_t *out)
{
	struct verror e = { { 0 } };
	uint64_t id;
	int r = backup_vol_lookup(fs->repo, VOL_ID(parent), name, &id, &e);

	/* a volume that can't be shown (no repository, a wrong password):
	 * said once, as a warning; the rest of the backup is fine */
	if ((r == -EIO || r == -EACCES) && e.msg[0])
		log_warning("volumes: %s", e.msg);
	if (r < 0)
		return r;
	*out = (fuse_ino_t)(T_VOL << 56 | id);
	return 0;
}

/* name among the versions of the history object dirid: the version's
 * own inode in its backup, or a link to an identical earlier one. */
static int lookup_hist_version(uint32_t dirid, const struct backup_version *v,
			       size_t n, const char *name, fuse_ino_t *out)
{
	size_t k;

	for (k = 0; k < n; k++)
		if (!strcmp(v[k].name, name)) {
			*out = v[k].same_as < 0 ? ino_make(T_BACKUP, v[k].slot,
							   v[k].node) :
						  hlink_ino(dirid, k);
			return 0;
		}
	return -ENOENT;
}

/* name in the history directory comps (not an object): a deeper
 * directory, numbered by backup/. */
static int lookup_hist_dir(struct fs *fs, char **comps, size_t nc,
			   const char *name, fuse_ino_t *out)
{
	char *c[8];
	uint32_t id;
	int r = backup_history_has(fs->repo, comps, nc, name);

	if (r < 0 || nc >= 7)
		return r;
	memcpy(c, comps, nc * sizeof(*c));
	c[nc] = (char *)name;
	r = backup_history_id(fs->repo, c, nc + 1, &id);
	if (r == 0)
		*out = (fuse_ino_t)(T_HDIR << 56 | id);
	return r;
}

/* name in a directory of history/: an object's versions or a path
 * leading to objects. */
static int lookup_in_history(struct fs *fs, fuse_ino_t parent, const char *name,
			     fuse_ino_t *out)
{
	uint32_t dirid = (uint32_t)(parent & 0xffffffff);
	struct backup_version *v = NULL;
	char **comps = NULL;
	size_t nc, n = 0;
	int r;

	r = backup_history_path(fs->repo, dirid, &comps, &nc);
	if (r < 0)
		return r;
	r = backup_history_versions(fs->repo, comps, nc, &v, &n);
	if (r == 0)
		r = lookup_hist_version(dirid, v, n, name, out);
	else if (r == -EISDIR)
		r = lookup_hist_dir(fs, comps, nc, name, out);
	free(v);
	free(comps);
	return r;
}

/* name in schedules/<sched>/: a backup of that schedule. */
static int lookup_in_schedule(struct fs *fs, fuse_ino_t parent,
			      const char *name, fuse_ino_t *out)
{
	size_t *slots = NULL, n = 0, k;
	int r;

	if (INO_B(parent) != SCHED_DIR)
		return -ENOTDIR;
	r = backup_repo_schedule_members(fs->repo, INO_A(parent), &slots, &n);
	if (r < 0)
		return r;
	r = -ENOENT;
	for (k = 0; k < n && r < 0; k++)
		if (!strcmp(backup_name(backup_repo_slot(fs->repo, slots[k])),
			    name)) {
			*out = ino_make(T_SCHED, INO_A(parent), slots[k]);
			r = 0;
		}
	free(slots);
	return r;
}

/* Resolves name in directory parent to an inode number. */
static int fs_lookup_ino(struct fs *fs, fuse_ino_t parent, const char *name,
			 fuse_ino_t *out)
{
	switch (INO_TYPE(parent)) {
	case 0:
		return lookup_top(fs, parent, name, out);
	case T_BACKUP:
		return lookup_in_backup(fs, parent, name, out);
	case T_HDIR:
		return lookup_in_history(fs, parent, name, out);
	case T_SCHED:
		return lookup_in_schedule(fs, parent, name, out);
	case T_VOL:
		return lookup_in_vol(fs, parent, name, out);
	}
	return -ENOENT;
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* READDIRPLUS for every readdir call of a directory, not only the
	 * first (READDIRPLUS_AUTO): the kernel then holds the entry and the
	 * attributes of every file listed, and grep -r or ls -l of a large
	 * directory sends no LOOKUP per file */
	conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;
	if (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT)
		conn->want |= FUSE_CAP_NO_OPEN_SUPPORT;
	if (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT)
		conn->want |= FUSE_CAP_NO_OPENDIR_SUPPORT;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	/* spool reports change in place; backup files never change their
	 * mtime, so they keep their pages */
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	/* With no-open the kernel would fold O_TRUNC into an open we never
	 * see; without atomic O_TRUNC it sends a SETATTR, which says EROFS. */
	conn->want &= ~(unsigned)FUSE_CAP_ATOMIC_O_TRUNC;
	conn->max_readahead = conn->max_readahead ? conn->max_readahead :
						    1 << 20;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	fuse_ino_t ino = 0;
	int r;

	COUNT(fs, lookup);
	if (fs->spool && (spool_owns(parent) ||
			  (parent == INO_ROOT && !strcmp(name, "restore")))) {
		spool_lookup(req, fs->spool, parent, name);
		return;
	}
	r = fs_lookup_ino(fs, parent, name, &ino);
	if (r < 0) {
		if (r == -ENOENT) {
			/* cache the miss too: recovery points don't change */
			struct fuse_entry_param ep = { 0 };

			ep.entry_timeout = INO_TYPE(parent) == T_BACKUP ?
						   fs->timeout :
						   TOP_TIMEOUT;
			fuse_reply_entry(req, &ep);
			return;
		}
		fuse_reply_err(req, -r);
		return;
	}
	reply_entry(req, fs, ino);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct stat st;
	double t;
	int r;

	COUNT(fs, getattr);
	(void)fi;
	if (fs->spool && spool_owns(ino)) {
		spool_getattr(req, fs->spool, ino);
		return;
	}
	r = fs_stat(fs, ino, &st, &t);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, t);
}

/* The target of a link in a recovery point (EINVAL for other nodes). */
static int backup_link_target(struct fs *fs, fuse_ino_t ino, char *buf,
			      size_t size)
{
	struct verror e = { { 0 } };
	struct backup *b = backup_repo_slot(fs->repo, INO_A(ino));
	struct backup_stat bs;
	const void *data;
	size_t got = 0;
	int r;

	if (!b)
		return -ENOENT;
	r = backup_node_stat(b, INO_B(ino), &bs, &e);
	if (r == 0 && bs.type != BACKUP_NODE_LINK)
		r = -EINVAL;
	if (r == 0)
		r = backup_node_read(b, INO_B(ino), 0, size - 1, &data, &got,
				     &e);
	if (r == -EIO)
		log_error("%s: %s", backup_name(b), e.msg);
	if (r < 0)
		return r;
	/* the builder writes relative targets only: a cache that says
	 * otherwise is not followed out of the mount */
	if (got == 0 || ((const char *)data)[0] == '/' ||
	    memchr(data, '\0', got))
		return -EIO;
	memcpy(buf, data, got);
	buf[got] = '\0';
	return 0;
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = fs_of(req);
	char target[4096]; /* PATH_MAX: a link under apiversions/ may be long */
	size_t slot;

	COUNT(fs, readlink);
	if (fs->spool && spool_owns(ino)) {
		spool_readlink(req, fs->spool, ino);
		return;
	}
	if (ino == INO_LATEST) {
		if (backup_repo_latest_link(fs->repo, &slot) < 0) {
			fuse_reply_err(req, ENOENT);
			return;
		}
		snprintf(target, sizeof(target), "%s",
			 backup_name(backup_repo_slot(fs->repo, slot)));
	} else if (INO_TYPE(ino) == T_SNAPLINK) {
		int r = snap_link_target(fs, INO_B(ino), target, sizeof(target),
					 NULL, 0);

		if (r < 0) {
			fuse_reply_err(req, -r);
			return;
		}
	} else if (INO_TYPE(ino) == T_HLINK) {
		int r = hist_link_target(fs, ino, target, sizeof(target));

		if (r < 0) {
			fuse_reply_err(req, -r);
			return;
		}
	} else if (INO_TYPE(ino) == T_BACKUP) {
		/* a version's link under apiversions/: its bytes */
		int r = backup_link_target(fs, ino, target, sizeof(target));

		if (r < 0) {
			fuse_reply_err(req, -r);
			return;
		}
	} else if (INO_TYPE(ino) == T_VOL) {
		struct verror e = { { 0 } };
		int r = backup_vol_readlink(fs->repo, VOL_ID(ino), target,
					    sizeof(target), &e);

		if (r < 0) {
			fuse_reply_err(req, -r);
			return;
		}
	} else if (INO_TYPE(ino) == T_SCHED && INO_B(ino) != SCHED_DIR &&
		   backup_repo_slot(fs->repo, INO_B(ino))) {
		snprintf(target, sizeof(target), "../../backups/%s",
			 backup_name(backup_repo_slot(fs->repo, INO_B(ino))));
	} else {
		fuse_reply_err(req, EINVAL);
		return;
	}
	fuse_reply_readlink(req, target);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);

	if (fs->spool && spool_owns(ino)) {
		spool_open(req, fs->spool, ino, fi);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	/* from now on the kernel opens without asking and keeps the cache */
	fuse_reply_err(req, ENOSYS);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct verror e = { { 0 } };
	const void *data;
	struct backup *b;
	size_t got;
	int r;

	COUNT(fs, read);
	if (fs->spool && spool_owns(ino)) {
		spool_read(req, fs->spool, ino, size, off, fi);
		return;
	}
	if (ino == INO_NOSPOOL_README) {
		size_t len = strlen(fs->restore_off);

		fuse_reply_buf(req, fs->restore_off + MIN((size_t)off, len),
			       (size_t)off >= len ? 0 : MIN(size, len - off));
		return;
	}
	if (INO_TYPE(ino) == T_VOL) {
		char *vb = malloc(size ? size : 1);
		ssize_t n = vb ? backup_vol_read(fs->repo, VOL_ID(ino), vb,
						 size, (uint64_t)off, &e) :
				 -ENOMEM;

		if ((n == -EIO || n == -EACCES) && e.msg[0])
			log_error("volumes: %s", e.msg);
		if (n < 0)
			fuse_reply_err(req, (int)-n);
		else
			fuse_reply_buf(req, vb, (size_t)n);
		free(vb);
		return;
	}
	if (INO_TYPE(ino) != T_BACKUP ||
	    !(b = backup_repo_slot(fs->repo, INO_A(ino)))) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	r = backup_node_read(b, INO_B(ino), (uint64_t)off, size, &data, &got,
			     &e);
	if (r < 0) {
		if (r == -EIO)
			log_error("%s", e.msg);
		fuse_reply_err(req, -r);
		return;
	}
	fuse_reply_buf(req, data, got);
	if (off == 0)
		push_request(fs, ino);
}

/* Adds one entry with its attributes st (NULL for . and ..); returns
 * false when buf is full. */
static bool add_entry_st(fuse_req_t req, char *buf, size_t size, size_t *len,
			 bool plus, const char *name, fuse_ino_t ino,
			 const struct stat *st, double t, off_t next)
{
	size_t n;

	if (plus) {
		struct fuse_entry_param ep = { .ino = ino };

		if (st) {
			ep.attr = *st;
			ep.attr_timeout = ep.entry_timeout = t;
		} else {
			ep.ino = 0; /* no lookup count for . and .. */
			ep.attr.st_ino = ino;
			ep.attr.st_mode = S_IFDIR;
		}
		n = fuse_add_direntry_plus(req, buf + *len, size - *len, name,
					   &ep, next);
	} else {
		struct stat d = { .st_ino = ino,
				  .st_mode = st ? st->st_mode : S_IFDIR };

		n = fuse_add_direntry(req, buf + *len, size - *len, name, &d,
				      next);
	}
	if (n > size - *len)
		return false;
	*len += n;
	return true;
}

/* Adds one entry; returns false when buf is full. */
static bool add_entry(fuse_req_t req, struct fs *fs, char *buf, size_t size,
		      size_t *len, bool plus, const char *name, fuse_ino_t ino,
		      off_t next)
{
	struct stat st;
	double t;

	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return add_entry_st(req, buf, size, len, plus, name, ino, NULL,
				    0, next);
	if (fs_stat(fs, ino, &st, &t) < 0)
		return true; /* vanished: skip it */
	return add_entry_st(req, buf, size, len, plus, name, ino, &st, t, next);
}

static void hist_cache_clear(struct fs *fs)
{
	size_t i;

	for (i = 0; i < fs->hist_n; i++)
		free(fs->hist_names[i]);
	free(fs->hist_names);
	fs->hist_names = NULL;
	fs->hist_n = 0;
	fs->hist_ino = 0;
}

/* Entry p of history directory ino. The listing of one directory is kept
 * between readdir calls (a directory of 50,000 objects takes hundreds of
 * them): entries are "name\0" + inode in text, rebuilt when another
 * directory is listed. */
static int hist_entry(struct fs *fs, fuse_ino_t ino, size_t p, char *name,
		      size_t namesz, fuse_ino_t *child)
{
	uint32_t dirid = (uint32_t)(ino & 0xffffffff);
	int r = 0;

	pthread_mutex_lock(&fs->hist_lock);
	if (fs->hist_ino != ino || p == 0) {
		struct backup_version *v = NULL;
		char **comps = NULL, **names = NULL;
		size_t nc, n = 0, k;

		hist_cache_clear(fs);
		r = backup_history_path(fs->repo, dirid, &comps, &nc);
		if (r == 0) {
			r = backup_history_versions(fs->repo, comps, nc, &v,
						    &n);
			if (r == 0) {
				names = calloc(n ? n : 1, sizeof(*names));
				for (k = 0; names && k < n; k++)
					if (asprintf(
						    &names[k], "%s%c%llx",
						    v[k].name, 0,
						    (unsigned long long)(v[k].same_as < 0 ?
										 ino_make(
											 T_BACKUP,
											 v[k].slot,
											 v[k].node) :
										 hlink_ino(
											 dirid,
											 k))) <
					    0)
						names[k] = NULL;
				free(v);
			} else if (r == -EISDIR) {
				r = backup_history_list(fs->repo, comps, nc,
							&names, &n);
				for (k = 0; r == 0 && k < n; k++) {
					char *c[8], *e = NULL;
					uint32_t id = 0;

					memcpy(c, comps, nc * sizeof(*c));
					c[nc] = names[k];
					if (nc < 7 &&
					    backup_history_id(fs->repo, c,
							      nc + 1,
							      &id) == 0 &&
					    asprintf(
						    &e, "%s%c%llx", names[k], 0,
						    (unsigned long long)(T_HDIR << 56 |
									 id)) >=
						    0) {
						free(names[k]);
						names[k] = e;
					}
				}
			}
			free(comps);
		}
		if (r == 0) {
			fs->hist_ino = ino;
			fs->hist_names = names;
			fs->hist_n = n;
		}
	}
	if (r == 0) {
		if (p >= fs->hist_n) {
			r = -ENOENT;
		} else if (!fs->hist_names[p]) {
			r = 0; /* lost to a failed allocation: skip */
		} else {
			const char *e = fs->hist_names[p];

			snprintf(name, namesz, "%s", e);
			*child = (fuse_ino_t)strtoull(e + strlen(e) + 1, NULL,
						      16);
			r = 1;
		}
	}
	pthread_mutex_unlock(&fs->hist_lock);
	return r;
}

/* Position p of snapshots/latest/: a cluster's link. */
static int snap_latest_entry(struct fs *fs, size_t p, char *name, size_t namesz,
			     fuse_ino_t *child)
{
	struct backup_snapshot_latest *v = NULL;
	size_t n = 0;
	int r = backup_repo_snapshot_latest(fs->repo, &v, &n);

	if (r < 0)
		return r;
	if (p >= n) {
		free(v);
		return -ENOENT;
	}
	snprintf(name, namesz, "%s", v[p].cluster);
	*child = ino_make(T_SNAPLINK, 0, v[p].slot);
	free(v);
	return 1;
}

/* Position p of directory ino: its name and inode. Returns 1 for an
 * entry, 0 for a hole to skip (a gone backup), -ENOENT at the end. */
static int dir_entry(struct fs *fs, fuse_ino_t ino, off_t p, char *name,
		     size_t namesz, fuse_ino_t *child, struct verror *e)
{
	struct backup *b;
	const char *s;
	uint32_t node;
	size_t slot;
	int r;

	if (p == 0 || p == 1) {
		snprintf(name, namesz, p == 0 ? "." : "..");
		*child = ino;
		return 1;
	}
	p -= 2;
	switch (INO_TYPE(ino)) {
	case 0:
		if (ino == INO_ROOT) {
			static const char *const top[] = { "backups",
							   "schedules",
							   "history", "restore",
							   "snapshots" };
			const fuse_ino_t tino[] = { INO_BACKUPS, INO_SCHEDULES,
						    fs->history, INO_SPOOL_ROOT,
						    INO_SNAPSHOTS };

			if (p > 4)
				return -ENOENT;
			snprintf(name, namesz, "%s", top[p]);
			*child = tino[p];
			return 1;
		}
		if (ino == INO_SPOOL_ROOT) {
			if (p > 0)
				return -ENOENT;
			snprintf(name, namesz, "README");
			*child = INO_NOSPOOL_README;
			return 1;
		}
		if (ino == INO_BACKUPS) {
			if (p == 0) {
				if (backup_repo_latest_link(fs->repo, &slot) <
				    0)
					return 0;
				snprintf(name, namesz, BACKUP_LATEST);
				*child = INO_LATEST;
				return 1;
			}
			b = backup_repo_slot(fs->repo, (size_t)p - 1);
			if (!b)
				return -ENOENT;
			if (backup_gone(b) || backup_is_snapshot(b))
				return 0;
			snprintf(name, namesz, "%s", backup_name(b));
			*child = ino_make(T_BACKUP, (uint64_t)p - 1, 0);
			return 1;
		}
		if (ino == INO_SNAPSHOTS) {
			if (p == 0) {
				if (!backup_repo_snapshot_count(fs->repo))
					return 0;
				snprintf(name, namesz, BACKUP_LATEST);
				*child = INO_SNAP_LATEST;
				return 1;
			}
			b = backup_repo_slot(fs->repo, (size_t)p - 1);
			if (!b)
				return -ENOENT;
			if (backup_gone(b) || !backup_is_snapshot(b))
				return 0;
			snprintf(name, namesz, "%s", backup_name(b));
			*child = ino_make(T_BACKUP, (uint64_t)p - 1, 0);
			return 1;
		}
		if (ino == INO_SNAP_LATEST)
			return snap_latest_entry(fs, (size_t)p, name, namesz,
						 child);
		s = backup_repo_schedule_name(fs->repo, (size_t)p);
		if (!s)
			return -ENOENT;
		snprintf(name, namesz, "%s", s);
		*child = ino_make(T_SCHED, (uint64_t)p, SCHED_DIR);
		return 1;
	case T_BACKUP:
		b = backup_repo_slot(fs->repo, INO_A(ino));
		if (!b)
			return -ENOENT;
		r = backup_node_child(b, INO_B(ino), (uint32_t)p, &node, name,
				      namesz, e);
		if (r == -ENOENT && INO_B(ino) == BACKUP_NODE_ROOT) {
			/* after the index's entries: volumes/ */
			uint32_t nk = 0;
			uint64_t id;

			if (backup_node_nchildren(b, BACKUP_NODE_ROOT, &nk, e) <
				    0 ||
			    (uint64_t)p != nk ||
			    backup_vol_root(b, INO_A(ino), &id, e) < 0)
				return -ENOENT;
			snprintf(name, namesz, VOL_DIR);
			*child = (fuse_ino_t)(T_VOL << 56 | id);
			return 1;
		}
		if (r < 0)
			return r;
		*child = ino_make(T_BACKUP, INO_A(ino), node);
		return 1;
	case T_VOL: {
		uint64_t id;

		r = backup_vol_child(fs->repo, VOL_ID(ino), (size_t)p, &id,
				     name, namesz, e);
		if (r < 0)
			return r;
		*child = (fuse_ino_t)(T_VOL << 56 | id);
		return 1;
	}
	case T_HDIR:
		return hist_entry(fs, ino, (size_t)p, name, namesz, child);
	case T_SCHED: {
		size_t *slots = NULL, n = 0;

		r = backup_repo_schedule_members(fs->repo, INO_A(ino), &slots,
						 &n);
		if (r < 0)
			return r;
		if ((size_t)p >= n) {
			free(slots);
			return -ENOENT;
		}
		snprintf(name, namesz, "%s",
			 backup_name(backup_repo_slot(fs->repo, slots[p])));
		*child = ino_make(T_SCHED, INO_A(ino), slots[p]);
		free(slots);
		return 1;
	}
	}
	return -ENOENT;
}

/* A readdir of a backup's directory under way. */
struct list_ctx {
	fuse_req_t req;
	struct fs *fs;
	fuse_ino_t dir;
	char *buf;
	size_t size, len;
	bool plus, full;
};

static bool list_one(void *arg, uint32_t pos, uint32_t node, const char *name,
		     const struct backup_stat *bs)
{
	struct list_ctx *c = arg;
	fuse_ino_t ino = ino_make(T_BACKUP, INO_A(c->dir), node);
	struct stat st;
	double t;

	stat_init(c->fs, ino, &st, &t);
	backup_attr(c->fs, ino, bs, &st, &t);
	if (!add_entry_st(c->req, c->buf, c->size, &c->len, c->plus, name, ino,
			  &st, t, (off_t)pos + 3))
		c->full = true;
	return !c->full;
}

/* Entries pos.. of the backup directory c->dir into c->buf: how many
 * were added, or -errno (nothing added). */
static int list_backup(struct list_ctx *c, uint32_t pos, struct verror *e)
{
	struct backup *b = backup_repo_slot(c->fs->repo, INO_A(c->dir));

	if (!b)
		return -ENOENT;
	return backup_node_list(b, INO_B(c->dir), pos, list_one, c, e);
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       bool plus)
{
	struct fs *fs = fs_of(req);
	struct verror e = { { 0 } };
	char name[512];
	size_t len = 0;
	off_t p;
	char *buf;

	if (ino == INO_SCHEDULES && off == 0)
		(void)backup_repo_schedule_count(fs->repo);
	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (p = off;; p++) {
		fuse_ino_t child = 0;
		int r;

		if (INO_TYPE(ino) == T_BACKUP && p >= 2) {
			/* the index's entries a batch at a time; what
			 * follows them (volumes/) by dir_entry() */
			struct list_ctx c = { req,  fs,	 ino,  buf,
					      size, len, plus, false };

			r = list_backup(&c, (uint32_t)(p - 2), &e);
			if (r > 0) {
				len = c.len;
				p += r;
			}
			if (c.full)
				break;
		}
		r = dir_entry(fs, ino, p, name, sizeof(name), &child, &e);

		if (r == -ENOENT)
			break;
		if (r < 0) {
			if (INO_TYPE(ino) == T_VOL) {
				if ((r == -EIO || r == -EACCES) && e.msg[0])
					log_warning("volumes: %s", e.msg);
			} else if (r == -EIO) {
				log_error("%s", e.msg);
			}
			if (len == 0) {
				free(buf);
				fuse_reply_err(req, -r);
				return;
			}
			break;
		}
		if (r == 0)
			continue;
		if (!add_entry(req, fs, buf, size, &len, plus, name, child,
			       p + 1))
			break;
	}
	fuse_reply_buf(req, buf, len);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);

	(void)fi;
	COUNT(fs, readdir);
	if (fs->spool && spool_owns(ino))
		spool_readdir(req, fs->spool, ino, size, off, false);
	else
		do_readdir(req, ino, size, off, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);

	(void)fi;
	COUNT(fs, readdirplus);
	if (fs->spool && spool_owns(ino))
		spool_readdir(req, fs->spool, ino, size, off, true);
	else
		do_readdir(req, ino, size, off, true);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, ENOSYS);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv = { .f_bsize = 4096,
			      .f_frsize = 4096,
			      .f_namemax = 255,
			      .f_flag = ST_RDONLY };

	(void)ino;
	fuse_reply_statfs(req, &sv);
}

/* Everything that changes something is the spool's, or EROFS. */
#define SPOOL_OR_EROFS(ino, call)                   \
	do {                                        \
		struct fs *_fs = fs_of(req);        \
		if (_fs->spool && spool_owns(ino))  \
			call;                       \
		else                                \
			fuse_reply_err(req, EROFS); \
	} while (0)

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	SPOOL_OR_EROFS(ino,
		       spool_setattr(req, _fs->spool, ino, attr, to_set, fi));
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	SPOOL_OR_EROFS(ino,
		       spool_write(req, _fs->spool, ino, buf, size, off, fi));
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);

	if (fs->spool && spool_owns(ino))
		spool_flush(req, fs->spool, ino, fi);
	else
		/* without a spool nothing needs close(): ENOSYS makes the
		 * kernel stop sending FLUSH, a round trip per file saved */
		fuse_reply_err(req, fs->spool ? 0 : ENOSYS);
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);

	if (fs->spool && spool_owns(ino))
		spool_release(req, fs->spool, ino, fi);
	else
		fuse_reply_err(req, 0);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	(void)parent, (void)name, (void)mode, (void)rdev;
	fuse_reply_err(req, EROFS);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	SPOOL_OR_EROFS(parent,
		       spool_mkdir(req, _fs->spool, parent, name, mode));
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	SPOOL_OR_EROFS(parent, spool_unlink(req, _fs->spool, parent, name));
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	SPOOL_OR_EROFS(parent, spool_rmdir(req, _fs->spool, parent, name));
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	(void)link, (void)parent, (void)name;
	fuse_reply_err(req, EROFS);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct fs *fs = fs_of(req);

	if (fs->spool && spool_owns(parent) && spool_owns(newparent))
		spool_rename(req, fs->spool, parent, name, newparent, newname,
			     flags);
	else
		fuse_reply_err(req,
			       spool_owns(parent) != spool_owns(newparent) ?
				       EXDEV :
				       EROFS);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	(void)ino, (void)newparent, (void)newname;
	fuse_reply_err(req, EROFS);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	SPOOL_OR_EROFS(parent,
		       spool_create(req, _fs->spool, parent, name, mode, fi));
}

/* cp -p/-a set xattrs (ACLs): in the spool ENOTSUP makes them fall back
 * to chmod; elsewhere the mount is read-only. */
static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	(void)name, (void)value, (void)size, (void)flags;
	fuse_reply_err(req, spool_owns(ino) ? ENOTSUP : EROFS);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)name;
	fuse_reply_err(req, spool_owns(ino) ? ENOTSUP : EROFS);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	(void)ino, (void)name, (void)size;
	/* no extended attributes anywhere: ENOSYS makes the kernel answer
	 * ENODATA itself from now on (ls -l asks for ACLs of every file) */
	fuse_reply_err(req, ENOSYS);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	(void)ino;
	if (size == 0)
		fuse_reply_xattr(req, 0);
	else
		fuse_reply_buf(req, NULL, 0);
}

static const struct fuse_lowlevel_ops fs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.getattr = op_getattr,
	.readlink = op_readlink,
	.open = op_open,
	.read = op_read,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.statfs = op_statfs,
	.setattr = op_setattr,
	.write = op_write,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.flush = op_flush,
	.release = op_release,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.create = op_create,
	.setxattr = op_setxattr,
	.removexattr = op_removexattr,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
};

static void fuse_log_to_ours(enum fuse_log_level level, const char *fmt,
			     va_list ap)
{
	char msg[1024];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	if (n && msg[n - 1] == '\n')
		msg[n - 1] = '\0';
	log_full_errno((int)level, 0, "%s", msg);
}

/* The kernel keeps directory listings and entries of the top of the tree;
 * after a refresh changed the list of backups, drop them. */
static void invalidate_top(struct fs *fs)
{
	size_t i, n = backup_repo_count(fs->repo);

	fuse_lowlevel_notify_inval_inode(fs->se, INO_BACKUPS, 0, 0);
	fuse_lowlevel_notify_inval_inode(fs->se, INO_SNAPSHOTS, 0, 0);
	fuse_lowlevel_notify_inval_inode(fs->se, INO_SNAP_LATEST, 0, 0);
	fuse_lowlevel_notify_inval_inode(fs->se, INO_SCHEDULES, 0, 0);
	fuse_lowlevel_notify_inval_inode(fs->se, INO_LATEST, 0, 0);
	fuse_lowlevel_notify_inval_entry(fs->se, INO_BACKUPS, "latest", 6);
	for (i = 0; i < n; i++) {
		struct backup *b = backup_repo_slot(fs->repo, i);

		if (b && backup_gone(b))
			fuse_lowlevel_notify_inval_entry(
				fs->se,
				backup_is_snapshot(b) ? INO_SNAPSHOTS :
							INO_BACKUPS,
				backup_name(b), strlen(backup_name(b)));
	}
	n = backup_repo_schedule_count(fs->repo);
	for (i = 0; i < n; i++)
		fuse_lowlevel_notify_inval_inode(
			fs->se, ino_make(T_SCHED, i, SCHED_DIR), 0, 0);
}

/* Re-lists the vault every refresh_s seconds, so new backups appear and
 * deleted ones disappear without a remount; an unreachable vault is
 * retried at the same pace. */
static void *refresher(void *userdata)
{
	struct fs *fs = userdata;

	bool offline = false;

	pthread_mutex_lock(&fs->refresh_lock);
	while (!fs->stopping) {
		struct verror e = { { 0 } };
		struct timespec ts;
		uint64_t gen;
		int r;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += fs->refresh_s;
		pthread_cond_timedwait(&fs->refresh_cond, &fs->refresh_lock,
				       &ts);
		if (fs->stopping)
			break;
		pthread_mutex_unlock(&fs->refresh_lock);
		gen = backup_repo_generation(fs->repo);
		r = backup_repo_refresh(fs->repo, &e);
		if (r < 0)
			log_warning("refreshing the list of backups: %s",
				    e.msg[0] ? e.msg : strerror(-r));
		else if (backup_repo_generation(fs->repo) != gen)
			invalidate_top(fs);
		/* say it once when the vault goes away and once it is back */
		if (r == 0 && backup_repo_offline(fs->repo) != offline) {
			offline = !offline;
			if (offline)
				log_warning("the vault can't be reached; "
					    "serving what the cache holds");
			else
				log_notice("the vault can be reached again");
		}
		pthread_mutex_lock(&fs->refresh_lock);
	}
	pthread_mutex_unlock(&fs->refresh_lock);
	return NULL;
}

int fs_run(const struct fs_config *cfg)
{
	struct fs fs = {
		.repo = cfg->repo,
		.timeout = cfg->timeout > 0 ? cfg->timeout : 86400.0,
		.uid = getuid(),
		.gid = getgid(),
		.mounted = time(NULL),
		.refresh_s = cfg->refresh_s,
		.refresh_lock = PTHREAD_MUTEX_INITIALIZER,
		.refresh_cond = PTHREAD_COND_INITIALIZER,
		.push = { .lock = PTHREAD_MUTEX_INITIALIZER,
			  .cond = PTHREAD_COND_INITIALIZER },
	};
	pthread_t refresh_thread;
	bool refreshing = false;
	struct fuse_loop_config *lc = NULL;
	struct fuse_session *se;
	int r;

	{
		uint32_t hid;

		r = backup_history_id(fs.repo, NULL, 0, &hid);
		if (r < 0)
			return r;
		fs.history = (fuse_ino_t)(T_HDIR << 56 | hid);
	}
	pthread_mutex_init(&fs.hist_lock, NULL);
	if (cfg->restore) {
		r = spool_new(cfg->restore, cfg->mountpoint, fs.uid, fs.gid,
			      &fs.spool);
		if (r < 0)
			return r;
	} else if (asprintf(&fs.restore_off,
			    "restore/ is not available in this mount: %s.\n"
			    "Files copied here would be restored into the "
			    "cluster of a kubeconfig:\n"
			    "mount with --kubeconfig FILE [--context NAME] "
			    "(or with $KUBECONFIG or ~/.kube/config set).\n",
			    cfg->restore_off ? cfg->restore_off :
					       "no target cluster") < 0) {
		return -ENOMEM;
	}
	fuse_set_log_func(fuse_log_to_ours);
	se = fuse_session_new(cfg->args, &fs_ops, sizeof(fs_ops), &fs);
	if (!se) {
		spool_free(fs.spool);
		return -EINVAL;
	}
	if (fuse_set_signal_handlers(se) != 0) {
		fuse_session_destroy(se);
		spool_free(fs.spool);
		return -EIO;
	}
	if (fuse_session_mount(se, cfg->mountpoint) != 0) {
		fuse_remove_signal_handlers(se);
		fuse_session_destroy(se);
		spool_free(fs.spool);
		return -EIO;
	}
	fs.se = se;
	if (fs.spool)
		spool_set_session(fs.spool, se);
	if (cfg->on_ready)
		cfg->on_ready(cfg->userdata);
	if (fs.refresh_s)
		refreshing = pthread_create(&refresh_thread, NULL, refresher,
					    &fs) == 0;
	fs.push.running = pthread_create(&fs.push.thread, NULL, pusher, &fs) ==
			  0;
	lc = fuse_loop_cfg_create();
	if (lc) {
		if (cfg->max_threads)
			fuse_loop_cfg_set_max_threads(lc, cfg->max_threads);
		r = fuse_session_loop_mt(se, lc);
		fuse_loop_cfg_destroy(lc);
	} else {
		r = fuse_session_loop(se);
	}
	if (refreshing) {
		pthread_mutex_lock(&fs.refresh_lock);
		fs.stopping = true;
		pthread_cond_signal(&fs.refresh_cond);
		pthread_mutex_unlock(&fs.refresh_lock);
		pthread_join(refresh_thread, NULL);
	}
	if (fs.push.running)
		push_stop(&fs, cfg->mountpoint);
	log_info("requests: lookup %lu, getattr %lu, readdir %lu, "
		 "readdirplus %lu, read %lu, readlink %lu; files stored "
		 "into the page cache %lu",
		 fs.counts.lookup, fs.counts.getattr, fs.counts.readdir,
		 fs.counts.readdirplus, fs.counts.read, fs.counts.readlink,
		 fs.counts.pushed);
	fuse_session_unmount(se);
	fuse_remove_signal_handlers(se);
	fuse_session_destroy(se);
	spool_free(fs.spool);
	free(fs.restore_off);
	hist_cache_clear(&fs);
	return r < 0 ? r : 0;
}
