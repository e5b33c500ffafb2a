/* cache: see cache.h. Layout: <dir>/CACHEDIR.TAG (the marker, see
 * bford.org/cachedir), <dir>/<kind>/<sha256>.<kind> entries and <dir>/tmp/
 * for entries being written (<sha256>.<kind>.XXXXXX, flock'ed by their
 * writer). Only names of these shapes are ever listed, evicted or cleaned:
 * whatever else is in the directory is not velerofs's and is left alone. */
#include "cache/cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/log.h"
#include "common/macro.h"

struct mapped {
	char *path;
	unsigned refs;
	struct mapped *next;
};

/* The marker a cache directory velerofs made carries; without it (a
 * directory the user named that was not empty), nothing is evicted. */
#define MARKER "CACHEDIR.TAG"
#define MARKER_TEXT                                                   \
	"Signature: 8a477f597d28d172789f06886806bc55\n"               \
	"# This file is a cache directory tag created by velerofs.\n" \
	"# For information about cache directory tags, see:\n"        \
	"#\thttps://bford.org/cachedir/\n"
#define MARKER_CHECK 103 /* the first two lines */

/* A temporary file not locked by a writer is a killed build's; it is
 * removed once older than this (the age only covers the moment between
 * its creation and its writer's flock). */
#define TMP_STALE_S 60

struct cache {
	char *dir;
	uint64_t limit;
	bool marked; /* holds our CACHEDIR.TAG: eviction allowed */
	pthread_mutex_t lock;
	struct mapped *mapped; /* protected by lock */
	unsigned kept_fds;     /* mappings' descriptors kept; under lock */
};

/* Mappings whose file descriptor is kept open (for
 * cache_mapping_intact()); more mappings than that check by path, so
 * that a vault of thousands of backups can't run out of descriptors. */
#define CACHE_KEEP_FDS 256

struct cache_writer {
	struct cache *cache;
	char *tmp;
	char *path;
	int fd;
};

char *cache_default_dir(void)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char *d = NULL;

	if (xdg && xdg[0] == '/') {
		if (asprintf(&d, "%s/velerofs", xdg) < 0)
			return NULL;
	} else if (home && home[0] == '/') {
		if (asprintf(&d, "%s/.cache/velerofs", home) < 0)
			return NULL;
	} else if (asprintf(&d, "/var/tmp/velerofs-%u", (unsigned)getuid()) < 0)
		return NULL;
	return d;
}

static bool has_marker(int dfd)
{
	char buf[MARKER_CHECK];
	ssize_t n;
	int fd = fsutil_open_regular(dfd, MARKER, NULL);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n == (ssize_t)sizeof(buf) && !memcmp(buf, MARKER_TEXT, n);
}

/* Opens the directory name (relative to dfd, or AT_FDCWD) for reading,
 * without following a symbolic link. NULL with errno set when it can't
 * (ELOOP for a symbolic link, ENOTDIR for another kind of file). */
static DIR *opendir_at(int dfd, const char *name)
{
	int fd = openat(dfd, name,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (!d && fd >= 0) {
		int r = errno;

		close(fd);
		errno = r;
	}
	return d;
}

static bool dir_empty(int dfd)
{
	DIR *d = opendir_at(dfd, ".");
	struct dirent *de;
	bool empty = true;

	if (!d)
		return false;
	while (empty && (de = readdir(d)))
		empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
	closedir(d);
	return empty;
}

static int write_marker(int dfd)
{
	int fd = openat(dfd, MARKER,
			O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			0600);
	ssize_t n;

	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	n = write(fd, MARKER_TEXT, strlen(MARKER_TEXT));
	close(fd);
	return n == (ssize_t)strlen(MARKER_TEXT) ? 0 : -EIO;
}

/* Ours: "<64 hex>.<kind>" for an entry of kind, and with tmp set
 * "<64 hex>.<kind>.XXXXXX" for a temporary file of any kind. */
static bool own_name(const char *name, const char *kind, bool tmp)
{
	const char *dot;
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		      (name[i] >= 'a' && name[i] <= 'f')))
			return false;
	if (name[64] != '.')
		return false;
	name += 65;
	if (!tmp)
		return !strcmp(name, kind);
	dot = strrchr(name, '.');
	if (!dot || dot == name || strlen(dot + 1) != 6)
		return false;
	for (i = 0; name + i < dot; i++)
		if (!(name[i] >= 'a' && name[i] <= 'z'))
			return false;
	return true;
}

/* Removes the temporary files of writers that are gone: not flock'ed and
 * older than TMP_STALE_S. */
static void clean_tmp(const char *tmp)
{
	DIR *d = opendir_at(AT_FDCWD, tmp);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		struct stat st;
		int fd;

		if (!own_name(de->d_name, NULL, true))
			continue;
		fd = fsutil_open_regular(dirfd(d), de->d_name, &st);
		if (fd < 0)
			continue;
		if (st.st_mtime < time(NULL) - TMP_STALE_S &&
		    flock(fd, LOCK_EX | LOCK_NB) == 0) {
			log_debug("cache: removing %s/%s, left by a writer "
				  "that is gone",
				  tmp, de->d_name);
			unlinkat(dirfd(d), de->d_name, 0);
		}
		close(fd);
	}
	closedir(d);
}

int cache_open(const char *dir, uint64_t limit, struct cache **out,
	       struct verror *e)
{
	char tmp[PATH_MAX];
	_cleanup_close_ int dfd = -1;
	_cleanup_free_ char *def = NULL;
	struct cache *c;
	int r, created;

	if (!dir) {
		dir = def = cache_default_dir();
		if (!def)
			return -ENOMEM;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	c->limit = limit;
	created = fsutil_dir_own(dir, &c->dir, e);
	if (created < 0) {
		verror_prefix(e, created, "cache directory");
		cache_free(c);
		return created;
	}
	dfd = c->dir ? open(c->dir,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) :
		       -1;
	if (dfd < 0) {
		r = verror_set(e, -errno, "cache directory %s: %m", dir);
		cache_free(c);
		return r;
	}
	/* our own directory (made now, empty, or the default one, which has
	 * velerofs in its name) is marked; a directory the user named that
	 * holds other things is used, never pruned */
	c->marked = has_marker(dfd);
	if (!c->marked && (created || def || dir_empty(dfd))) {
		r = write_marker(dfd);
		if (r < 0) {
			verror_set(e, r, "cache directory %s: writing %s: %s",
				   c->dir, MARKER, strerror(-r));
			cache_free(c);
			return r;
		}
		c->marked = true;
	}
	if (limit && !c->marked) {
		r = verror_set(e, -EPERM,
			       "cache directory %s was not made by velerofs "
			       "(no %s in it): cache_size would delete files "
			       "there; use an empty or new directory",
			       c->dir, MARKER);
		cache_free(c);
		return r;
	}
	snprintf(tmp, sizeof(tmp), "%s/tmp", c->dir);
	r = fsutil_dir_own(tmp, NULL, e);
	if (r < 0) {
		verror_prefix(e, r, "cache directory");
		cache_free(c);
		return r;
	}
	clean_tmp(tmp);
	*out = c;
	return 0;
}

bool cache_prunable(const struct cache *c)
{
	return c->marked;
}

struct cache *cache_free(struct cache *c)
{
	struct mapped *m, *n;

	if (!c)
		return NULL;
	for (m = c->mapped; m; m = n) {
		n = m->next;
		free(m->path);
		free(m);
	}
	pthread_mutex_destroy(&c->lock);
	free(c->dir);
	free(c);
	return NULL;
}

const char *cache_dir(const struct cache *c)
{
	return c->dir;
}

char *cache_entry_path(struct cache *c, const char *kind,
		       const char *const *parts, size_t nparts)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx;
	char *path = NULL, *dir = NULL;
	size_t i;

	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return NULL;
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (i = 0; i < nparts; i++)
		/* include the NUL: parts ("ab","c") and ("a","bc") differ */
		EVP_DigestUpdate(ctx, parts[i], strlen(parts[i]) + 1);
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (asprintf(&dir, "%s/%s", c->dir, kind) < 0)
		return NULL;
	if ((mkdir(dir, 0700) < 0 && errno != EEXIST) ||
	    asprintf(&path, "%s/%s.%s", dir, hex, kind) < 0)
		path = NULL;
	free(dir);
	return path;
}

#define LABEL_XATTR "user.velerofs.label"

void cache_writer_label(struct cache_writer *w, const char *label)
{
	if (w && w->fd >= 0 &&
	    fsetxattr(w->fd, LABEL_XATTR, label, strlen(label), 0) < 0) {
		/* no user xattrs here (tmpfs before 6.6): no label */
	}
}

int cache_entry_label(const char *path, char *buf, size_t size)
{
	ssize_t n;

	if (!size)
		return -EINVAL;
	n = lgetxattr(path, LABEL_XATTR, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

int cache_writer_open(struct cache *c, const char *path,
		      struct cache_writer **out, struct verror *e)
{
	struct cache_writer *w;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->cache = c;
	w->fd = -1;
	w->path = strdup(path);
	if (!w->path ||
	    asprintf(&w->tmp, "%s/tmp/%s.XXXXXX", c->dir,
		     strrchr(path, '/') ? strrchr(path, '/') + 1 : path) < 0) {
		w->tmp = NULL;
		cache_writer_free(w);
		return -ENOMEM;
	}
	w->fd = mkostemp(w->tmp, O_CLOEXEC);
	/* held until the writer is done: clean_tmp() leaves it alone */
	if (w->fd >= 0 && flock(w->fd, LOCK_EX) < 0) {
		close(w->fd);
		unlink(w->tmp);
		w->fd = -1;
	}
	if (w->fd < 0) {
		int r = -errno;

		verror_set(e, r, "cache: creating %s: %s", w->tmp,
			   strerror(-r));
		free(w->tmp);
		w->tmp = NULL;
		cache_writer_free(w);
		return r;
	}
	*out = w;
	return 0;
}

int cache_writer_fd(const struct cache_writer *w)
{
	return w->fd;
}

int cache_writer_commit(struct cache_writer *w, struct verror *e)
{
	int r = 0;

	/* No fsync: a process crash can't tear a file renamed after its last
	 * write, and what a power loss might tear, the index's own checksums
	 * catch (and the entry is rebuilt); an fsync of a 400 MB index would
	 * double the time to open a backup. */
	if (rename(w->tmp, w->path) < 0) {
		r = -errno;
		verror_set(e, r, "cache: storing %s: %s", w->path,
			   strerror(-r));
	} else {
		free(w->tmp);
		w->tmp = NULL; /* nothing left to unlink */
	}
	cache_writer_free(w);
	return r;
}

struct cache_writer *cache_writer_free(struct cache_writer *w)
{
	if (!w)
		return NULL;
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp)
		unlink(w->tmp);
	free(w->tmp);
	free(w->path);
	free(w);
	return NULL;
}

static void mapped_ref(struct cache *c, const char *path, int delta)
{
	struct mapped **pp, *m;

	pthread_mutex_lock(&c->lock);
	for (pp = &c->mapped; (m = *pp); pp = &m->next)
		if (strcmp(m->path, path) == 0)
			break;
	if (delta > 0) {
		if (!m && (m = calloc(1, sizeof(*m)))) {
			m->path = strdup(path);
			m->next = c->mapped;
			c->mapped = m;
		}
		if (m)
			m->refs++;
	} else if (m && --m->refs == 0) {
		*pp = m->next;
		free(m->path);
		free(m);
	}
	pthread_mutex_unlock(&c->lock);
}

/* Something that is not a regular file stands where an entry should be
 * (a FIFO, a directory, a symbolic link: not written by velerofs): say so
 * and take it out of the way without touching what a link points to, so
 * that the entry is rebuilt. -ENOENT when it is gone. */
static int remove_foreign(const char *path, int err)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? -ENOENT : err;
	log_warning("cache: %s is a %s, not an entry velerofs wrote; "
		    "removing it",
		    path, fsutil_kind(st.st_mode));
	if ((S_ISDIR(st.st_mode) ? rmdir(path) : unlink(path)) == 0)
		return -ENOENT;
	log_error("cache: cannot remove %s (%m): remove it by hand", path);
	return err;
}

int cache_map(struct cache *c, const char *path, struct cache_mapping *m)
{
	struct stat st;
	void *addr;
	int fd;

	fd = fsutil_open_regular(AT_FDCWD, path, &st);
	if (fd == -ELOOP || fd == -EISDIR || fd == -ENOTSUP)
		return remove_foreign(path, fd);
	if (fd < 0)
		return fd;
	if (st.st_size == 0) {
		close(fd);
		return -EBADMSG;
	}
	addr = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	/* LRU: the mtime records the last use (of this file, never of what
	 * a link would point to) */
	if (addr == MAP_FAILED) {
		int r = -errno;

		close(fd);
		return r;
	}
	(void)futimens(fd, NULL);
	m->addr = addr;
	m->len = (size_t)st.st_size;
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	m->path = strdup(path);
	if (!m->path) {
		munmap(addr, m->len);
		close(fd);
		return -ENOMEM;
	}
	pthread_mutex_lock(&c->lock);
	if (c->kept_fds < CACHE_KEEP_FDS) {
		c->kept_fds++;
		m->fd = fd;
		fd = -1;
	} else {
		m->fd = -1;
	}
	pthread_mutex_unlock(&c->lock);
	if (fd >= 0)
		close(fd);
	mapped_ref(c, path, +1);
	/* over the limit? only now that this entry is protected, or an entry
	 * just written could be evicted before its first use */
	if (c->limit)
		cache_prune(c, c->limit);
	return 0;
}

void cache_unmap(struct cache *c, struct cache_mapping *m)
{
	if (!m->addr)
		return;
	munmap((void *)m->addr, m->len);
	if (m->fd >= 0) {
		close(m->fd);
		m->fd = -1;
		pthread_mutex_lock(&c->lock);
		c->kept_fds--;
		pthread_mutex_unlock(&c->lock);
	}
	mapped_ref(c, m->path, -1);
	free(m->path);
	m->addr = NULL;
	m->path = NULL;
	m->len = 0;
}

bool cache_mapping_intact(const struct cache_mapping *m)
{
	struct stat st;

	if (!m->path)
		return true;
	if (m->fd >= 0) {
		/* the mapped file itself: renamed over or not */
		if (fstat(m->fd, &st) < 0)
			return true;
	} else if (lstat(m->path, &st) < 0 || st.st_dev != m->dev ||
		   st.st_ino != m->ino) {
		return true;
	}
	return st.st_size >= 0 && (uint64_t)st.st_size >= m->len;
}

int cache_remove(struct cache *c, const char *path)
{
	(void)c;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

struct entry {
	char *path;
	off_t size;
	time_t used;
};

static int cmp_used(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	return (x->used > y->used) - (x->used < y->used);
}

/* Collects every entry of every kind directory: files named as velerofs
 * names them, regular, found without following a symbolic link; least
 * recently used first. */
static int scan(struct cache *c, struct entry **out, size_t *n, int64_t *total)
{
	struct entry *v = NULL;
	size_t len = 0, cap = 0;
	struct dirent *k, *f;
	DIR *top, *sub;

	*total = 0;
	top = opendir_at(AT_FDCWD, c->dir);
	if (!top)
		return -errno;
	while ((k = readdir(top))) {
		if (k->d_name[0] == '.' || strcmp(k->d_name, "tmp") == 0 ||
		    strlen(k->d_name) > 16)
			continue;
		sub = opendir_at(dirfd(top), k->d_name);
		if (!sub)
			continue;
		while ((f = readdir(sub))) {
			struct stat st;

			if (!own_name(f->d_name, k->d_name, false) ||
			    fstatat(dirfd(sub), f->d_name, &st,
				    AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISREG(st.st_mode))
				continue;
			if (len == cap) {
				struct entry *nv;

				cap = cap ? cap * 2 : 64;
				nv = realloc(v, cap * sizeof(*v));
				if (!nv)
					break;
				v = nv;
			}
			if (asprintf(&v[len].path, "%s/%s/%s", c->dir,
				     k->d_name, f->d_name) < 0)
				break;
			v[len].size = st.st_blocks * 512;
			v[len].used = st.st_mtime;
			*total += v[len].size;
			len++;
		}
		closedir(sub);
	}
	closedir(top);
	if (len)
		qsort(v, len, sizeof(*v), cmp_used);
	*out = v;
	*n = len;
	return 0;
}

int cache_list(struct cache *c, cache_list_fn fn, void *userdata)
{
	struct entry *v = NULL;
	int64_t total;
	size_t n = 0, i;
	int r;

	r = scan(c, &v, &n, &total);
	if (r < 0)
		return r;
	for (i = 0; i < n; i++) {
		if (r == 0)
			r = fn(v[i].path, (uint64_t)v[i].size, v[i].used,
			       userdata);
		free(v[i].path);
	}
	free(v);
	return r;
}

struct usage {
	int64_t bytes;
	uint64_t n;
};

static int add_usage(const char *path, uint64_t bytes, int64_t used,
		     void *userdata)
{
	struct usage *u = userdata;

	(void)path, (void)used;
	u->bytes += (int64_t)bytes;
	u->n++;
	return 0;
}

int64_t cache_usage(struct cache *c, uint64_t *nentries)
{
	struct usage u = { 0 };
	int r = cache_list(c, add_usage, &u);

	if (r < 0)
		return r;
	if (nentries)
		*nentries = u.n;
	return u.bytes;
}

int64_t cache_prune(struct cache *c, uint64_t limit)
{
	struct entry *v = NULL;
	int64_t total, removed = 0;
	size_t n = 0, i;
	int r;

	if (!c->marked)
		return -EPERM;
	r = scan(c, &v, &n, &total);
	if (r < 0)
		return r;
	for (i = 0; i < n; i++) {
		struct mapped *m;
		int busy = 0;

		if ((uint64_t)total > limit) {
			pthread_mutex_lock(&c->lock);
			for (m = c->mapped; m; m = m->next)
				busy |= strcmp(m->path, v[i].path) == 0;
			pthread_mutex_unlock(&c->lock);
			if (!busy && unlink(v[i].path) == 0) {
				log_debug("cache: evicted %s", v[i].path);
				total -= v[i].size;
				removed += v[i].size;
			}
		}
		free(v[i].path);
	}
	free(v);
	return removed;
}
