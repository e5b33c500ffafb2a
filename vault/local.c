/* vault/local: a backup storage location on a local (or NFS) directory.
 * Keys map to files under the root; '..' components and absolute keys are
 * refused so a key can never name a file outside the location, and every
 * path is resolved beneath the root (openat2 RESOLVE_BENEATH, or a check
 * of where the opened file really is where openat2 is missing): a
 * symbolic link inside the vault is followed while it stays inside, one
 * that leads out (/proc/self/environ, a file of the user's) is not, and a
 * backup or object behind it does not exist as far as velerofs is
 * concerned. Only regular files are read, opened without blocking (a FIFO
 * in the vault is not a hang). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/macro.h"
#include "vault/vault_i.h"

struct local {
	int dirfd;  /* the location's root, O_DIRECTORY */
	char *root; /* its real path, for the check without openat2 */
};

/* Opens key (relative to the root) with flags, never resolving to a file
 * outside the root: -EXDEV when it would. */
static int open_beneath(struct local *l, const char *key, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	char link[64], real[PATH_MAX];
	size_t n = strlen(l->root);
	ssize_t len;
	int fd;

	fd = (int)syscall(SYS_openat2, l->dirfd, key, &how, sizeof(how));
	if (fd >= 0)
		return fd;
	if (errno != ENOSYS && errno != EPERM) /* EPERM: a seccomp filter */
		return -errno;
	fd = openat(l->dirfd, key, flags | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	len = readlink(link, real, sizeof(real) - 1);
	if (len < 0 || (size_t)len < n || memcmp(real, l->root, n) ||
	    (real[n] != '/' && (size_t)len != n && strcmp(l->root, "/"))) {
		close(fd);
		return -EXDEV;
	}
	return fd;
}

static int open_error(struct vault *v, const char *key, int r, struct verror *e)
{
	if (r == -EXDEV || r == -ELOOP)
		return verror_set(e, -ENOENT,
				  "%s/%s: a symbolic link that leads out of "
				  "the vault; not followed",
				  vault_id(v), key);
	return verror_set(e, r, "%s/%s: %s", vault_id(v), key, strerror(-r));
}

static int key_ok(const char *key)
{
	const char *p = key;

	if (key[0] == '/')
		return 0;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if ((n == 1 && p[0] == '.') || (n == 2 && !memcmp(p, "..", 2)))
			return 0;
		if (!slash)
			break;
		p = slash + 1;
	}
	return 1;
}

static void fill_object(const struct stat *st, struct vault_object *o)
{
	o->size = (uint64_t)st->st_size;
	o->mtime = st->st_mtim.tv_sec;
	snprintf(o->identity, sizeof(o->identity), "f:%llx:%llx.%09ld:%llx",
		 (unsigned long long)st->st_size,
		 (unsigned long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
		 (unsigned long long)st->st_ino);
}

static int local_list(struct vault *v, const char *dir, vault_list_fn fn,
		      void *userdata, struct verror *e)
{
	struct local *l = v->priv;
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int fd, r = 0;

	snprintf(path, sizeof(path), "%s", *dir ? dir : ".");
	/* "" is the top (vault.h); "." itself is no key */
	if (*dir && !key_ok(path))
		return verror_set(e, -EINVAL, "invalid directory key '%s'",
				  dir);
	fd = open_beneath(l, path, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		if (fd == -ENOENT || fd == -ENOTDIR || fd == -EXDEV ||
		    fd == -ELOOP)
			return 0;
		return open_error(v, dir, fd, e);
	}
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return verror_set(e, r, "%s/%s: %s", vault_id(v), dir,
				  strerror(-r));
	}
	while ((errno = 0, de = readdir(d))) {
		struct vault_object o;
		struct stat st;

		if (de->d_name[0] == '.' &&
		    (!de->d_name[1] ||
		     (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* vanished */
		if (S_ISLNK(st.st_mode)) {
			char key[PATH_MAX];
			int lfd;

			/* followed only while it stays in the vault */
			if (snprintf(key, sizeof(key), "%s/%s", path,
				     de->d_name) >= (int)sizeof(key))
				continue;
			lfd = open_beneath(l, key, O_PATH);
			if (lfd < 0)
				continue; /* dangling, or out of the vault */
			r = fstat(lfd, &st);
			close(lfd);
			if (r < 0) {
				r = 0;
				continue;
			}
		}
		if (S_ISDIR(st.st_mode)) {
			r = fn(de->d_name, NULL, userdata);
		} else if (S_ISREG(st.st_mode)) {
			fill_object(&st, &o);
			r = fn(de->d_name, &o, userdata);
		}
		if (r < 0)
			break;
	}
	if (!de && errno && r == 0)
		r = verror_set(e, -errno, "%s/%s: %s", vault_id(v), dir,
			       strerror(errno));
	closedir(d);
	return r;
}

static int local_stat(struct vault *v, const char *key,
		      struct vault_object *out, struct verror *e)
{
	struct local *l = v->priv;
	struct stat st;
	int fd, r;

	if (!key_ok(key))
		return verror_set(e, -EINVAL, "invalid key '%s'", key);
	fd = open_beneath(l, key, O_PATH);
	if (fd < 0)
		return open_error(v, key, fd, e);
	r = fstat(fd, &st) < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return verror_set(e, r, "%s/%s: %s", vault_id(v), key,
				  strerror(-r));
	if (!S_ISREG(st.st_mode))
		return verror_set(e, -ENOENT, "%s/%s: not a regular file",
				  vault_id(v), key);
	fill_object(&st, out);
	return 0;
}

/* A local stream's priv: the file and what is left of its range. */
struct local_stream {
	int fd;
	uint64_t left; /* UINT64_MAX: to the end */
};

static int local_stream_open(struct vault *v, const char *key,
			     const struct vault_object *expect, uint64_t off,
			     uint64_t len, struct vault_stream **out,
			     struct verror *e)
{
	struct local *l = v->priv;
	struct local_stream *ls;
	struct vault_stream *s;
	struct stat st;
	int fd;

	if (!key_ok(key))
		return verror_set(e, -EINVAL, "invalid key '%s'", key);
	/* O_NONBLOCK: a FIFO must not hang the open; a regular file then
	 * reads as usual (the flag does nothing for regular files) */
	fd = open_beneath(l, key, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return open_error(v, key, fd, e);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return verror_set(e, -EIO, "%s/%s: not a regular file",
				  vault_id(v), key);
	}
	if (expect) {
		struct vault_object now;

		fill_object(&st, &now);
		if (strcmp(now.identity, expect->identity) != 0) {
			close(fd);
			return verror_set(e, -ESTALE,
					  "%s/%s changed while being read",
					  vault_id(v), key);
		}
	}
	if (off &&
	    lseek(fd, (off_t)MIN(off, (uint64_t)INT64_MAX), SEEK_SET) < 0) {
		int err = errno;

		close(fd);
		return verror_set(e, -err, "%s/%s: seek: %s", vault_id(v), key,
				  strerror(err));
	}
	if (!len)
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	s = calloc(1, sizeof(*s));
	ls = calloc(1, sizeof(*ls));
	if (!s || !ls) {
		free(s);
		free(ls);
		close(fd);
		return -ENOMEM;
	}
	ls->fd = fd;
	ls->left = len ? len : UINT64_MAX;
	s->vault = v;
	s->priv = ls;
	*out = s;
	return 0;
}

static ssize_t local_stream_read(struct vault_stream *s, void *buf, size_t len,
				 struct verror *e)
{
	struct local_stream *ls = s->priv;
	ssize_t n;

	len = (size_t)MIN((uint64_t)len, ls->left);
	if (!len)
		return 0;
	do
		n = read(ls->fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return verror_set(e, -errno, "%s: read: %s", vault_id(s->vault),
				  strerror(errno));
	ls->left -= (uint64_t)n;
	return n;
}

static void local_stream_free(struct vault_stream *s)
{
	struct local_stream *ls = s->priv;

	close(ls->fd);
	free(ls);
	free(s);
}

static void local_free(struct vault *v)
{
	struct local *l = v->priv;

	if (l) {
		close(l->dirfd);
		free(l->root);
	}
	free(l);
}

static const struct vault_ops local_ops = {
	.scheme = "file",
	.list = local_list,
	.stat = local_stat,
	.stream_open = local_stream_open,
	.stream_read = local_stream_read,
	.stream_free = local_stream_free,
	.free = local_free,
};

int vault_local_open(const char *path, const struct vault_options *opt,
		     struct vault **out, struct verror *e)
{
	_cleanup_free_ char *abs = NULL;
	struct vault *v;
	struct local *l;
	int fd;

	(void)opt;
	abs = realpath(path, NULL);
	if (!abs)
		return verror_set(e, -errno, "%s: %s", path, strerror(errno));
	fd = open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return verror_set(e, -errno, "%s: %s", path, strerror(errno));
	v = calloc(1, sizeof(*v));
	l = calloc(1, sizeof(*l));
	if (!v || !l || asprintf(&v->id, "file://%s", abs) < 0) {
		free(v);
		free(l);
		close(fd);
		return -ENOMEM;
	}
	l->dirfd = fd;
	l->root = TAKE_PTR(abs);
	v->ops = &local_ops;
	v->priv = l;
	*out = v;
	return 0;
}
