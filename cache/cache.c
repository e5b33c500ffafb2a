/* cache: see cache.h. Layout: <dir>/<kind>/<sha256>.<kind> entries and
 * <dir>/tmp/ for entries being written. */
#include "cache/cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
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

struct cache {
	char *dir;
	uint64_t limit;
	pthread_mutex_t lock;
	struct mapped *mapped; /* protected by lock */
};

struct cache_writer {
	struct cache *cache;
	char *tmp;
	char *path;
	int fd;
};

static char *default_dir(void)
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

int cache_open(const char *dir, uint64_t limit, struct cache **out,
	       struct verror *e)
{
	char tmp[PATH_MAX];
	struct cache *c;
	struct dirent *de;
	DIR *d;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->dir = dir ? realpath(dir, NULL) : NULL;
	if (!c->dir && dir) {
		r = fsutil_mkdir_p(dir, 0700);
		if (r == 0)
			c->dir = realpath(dir, NULL);
	} else if (!dir) {
		c->dir = default_dir();
	}
	if (!c->dir) {
		free(c);
		return verror_set(e, -errno ? -errno : -ENOMEM,
				  "cache directory %s: %m", dir ? dir : "");
	}
	c->limit = limit;
	pthread_mutex_init(&c->lock, NULL);
	snprintf(tmp, sizeof(tmp), "%s/tmp", c->dir);
	r = fsutil_mkdir_p(tmp, 0700);
	if (r < 0) {
		verror_set(e, r, "cache directory %s: %s", c->dir,
			   strerror(-r));
		cache_free(c);
		return r;
	}
	/* a temporary file is never trusted; whoever wrote it is gone
	 * unless it is younger than a minute (another mount at work) */
	d = opendir(tmp);
	while (d && (de = readdir(d))) {
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0) == 0 &&
		    st.st_mtime < time(NULL) - 3600)
			unlinkat(dirfd(d), de->d_name, 0);
	}
	if (d)
		closedir(d);
	*out = c;
	return 0;
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
	if (fsutil_mkdir_p(dir, 0700) < 0 ||
	    asprintf(&path, "%s/%s.%s", dir, hex, kind) < 0)
		path = NULL;
	free(dir);
	return path;
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

int cache_map(struct cache *c, const char *path, struct cache_mapping *m)
{
	struct stat st;
	void *addr;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_size == 0) {
		r = st.st_size == 0 ? -EBADMSG : -errno;
		close(fd);
		return r;
	}
	addr = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (addr == MAP_FAILED)
		return -errno;
	/* LRU: the mtime records the last use */
	(void)utimensat(AT_FDCWD, path, NULL, 0);
	m->addr = addr;
	m->len = (size_t)st.st_size;
	m->path = strdup(path);
	if (!m->path) {
		munmap(addr, m->len);
		return -ENOMEM;
	}
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
	mapped_ref(c, m->path, -1);
	free(m->path);
	m->addr = NULL;
	m->path = NULL;
	m->len = 0;
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

/* Collects every entry of every kind directory. */
static int scan(struct cache *c, struct entry **out, size_t *n, int64_t *total)
{
	struct entry *v = NULL;
	size_t len = 0, cap = 0;
	struct dirent *k, *f;
	DIR *top, *sub;

	*total = 0;
	top = opendir(c->dir);
	if (!top)
		return -errno;
	while ((k = readdir(top))) {
		char kdir[PATH_MAX];

		if (k->d_name[0] == '.' || strcmp(k->d_name, "tmp") == 0)
			continue;
		snprintf(kdir, sizeof(kdir), "%s/%s", c->dir, k->d_name);
		sub = opendir(kdir);
		if (!sub)
			continue;
		while ((f = readdir(sub))) {
			struct stat st;

			if (f->d_name[0] == '.' ||
			    fstatat(dirfd(sub), f->d_name, &st, 0) < 0 ||
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
			if (asprintf(&v[len].path, "%s/%s", kdir, f->d_name) <
			    0)
				break;
			v[len].size = st.st_blocks * 512;
			v[len].used = st.st_mtime;
			*total += v[len].size;
			len++;
		}
		closedir(sub);
	}
	closedir(top);
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
	if (n)
		qsort(v, n, sizeof(*v), cmp_used);
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

	r = scan(c, &v, &n, &total);
	if (r < 0)
		return r;
	if (n)
		qsort(v, n, sizeof(*v), cmp_used);
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
