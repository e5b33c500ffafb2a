/* fsutil: see fsutil.h. */
#include "common/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/macro.h"

int fsutil_mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	char *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

const char *fsutil_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "regular file";
	case S_IFDIR:
		return "directory";
	case S_IFLNK:
		return "symbolic link";
	case S_IFIFO:
		return "FIFO";
	case S_IFSOCK:
		return "socket";
	case S_IFCHR:
	case S_IFBLK:
		return "device";
	default:
		return "special file";
	}
}

/* The parents of dir (an absolute path without symbolic links), up to /:
 * owned by root or us, and writable by others only with the sticky bit. */
static int parents_trusted(const char *dir, uid_t uid, struct verror *e)
{
	char buf[PATH_MAX];
	struct stat st;
	char *slash;

	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
		return verror_set(e, -ENAMETOOLONG, "%s: name too long", dir);
	while ((slash = strrchr(buf, '/'))) {
		if (slash == buf)
			slash[1] = '\0'; /* "/" itself, last */
		else
			*slash = '\0';
		if (lstat(buf, &st) < 0)
			return verror_set(e, -errno, "%s: %s", buf,
					  strerror(errno));
		if (st.st_uid != 0 && st.st_uid != uid)
			return verror_set(e, -EPERM,
					  "%s is inside %s, which belongs to "
					  "uid %u (not to you or root): "
					  "another "
					  "user could replace it; choose a "
					  "directory of your own",
					  dir, buf, (unsigned)st.st_uid);
		if ((st.st_mode & 022) && !(st.st_mode & S_ISVTX))
			return verror_set(e, -EPERM,
					  "%s is inside %s, which others can "
					  "write to (mode %03o, no sticky "
					  "bit): "
					  "another user could replace it; "
					  "choose another directory or run "
					  "chmod go-w %s",
					  dir, buf, st.st_mode & 07777, buf);
		if (!strcmp(buf, "/"))
			break;
	}
	return 0;
}

int fsutil_dir_own(const char *path, char **realp, struct verror *e)
{
	_cleanup_free_ char *real = NULL;
	_cleanup_close_ int fd = -1;
	uid_t uid = geteuid();
	struct stat st;
	int created = 0, r;

	if (!path || !*path)
		return verror_set(e, -EINVAL, "empty directory name");
	if (mkdir(path, 0700) == 0) {
		created = 1;
	} else if (errno == ENOENT) {
		r = fsutil_mkdir_p(path, 0700);
		if (r < 0)
			return verror_set(e, r, "%s: %s", path, strerror(-r));
		created = 1;
	} else if (errno != EEXIST) {
		return verror_set(e, -errno, "%s: %s", path, strerror(errno));
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		if (lstat(path, &st) == 0 && !S_ISDIR(st.st_mode))
			return verror_set(
				e, S_ISLNK(st.st_mode) ? -ELOOP : -ENOTDIR,
				"%s is a %s, not a directory: "
				"velerofs uses only a real directory "
				"there (give the directory itself, "
				"or remove it)",
				path, fsutil_kind(st.st_mode));
		return verror_set(e, r, "%s: %s", path, strerror(-r));
	}
	if (fstat(fd, &st) < 0)
		return verror_set(e, -errno, "%s: %s", path, strerror(errno));
	if (st.st_uid != uid)
		return verror_set(e, -EPERM,
				  "%s belongs to uid %u, not to you (uid %u): "
				  "velerofs keeps only its own files there; "
				  "remove it or choose another directory",
				  path, (unsigned)st.st_uid, (unsigned)uid);
	if (st.st_mode & 022)
		return verror_set(e, -EPERM,
				  "%s can be written by others (mode %03o): "
				  "velerofs would read what they put there; "
				  "run chmod go-w %s or choose another "
				  "directory",
				  path, st.st_mode & 07777, path);
	real = realpath(path, NULL);
	if (!real)
		return verror_set(e, -errno, "%s: %s", path, strerror(errno));
	r = parents_trusted(real, uid, e);
	if (r < 0)
		return r;
	if (realp)
		*realp = TAKE_PTR(real);
	return created;
}

int fsutil_open_regular(int dirfd, const char *name, struct stat *st)
{
	struct stat sb;
	int fd, r;

	fd = openat(dirfd, name,
		    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		return S_ISDIR(sb.st_mode) ? -EISDIR : -ENOTSUP;
	}
	/* a regular file: blocking reads again (O_NONBLOCK was for FIFOs) */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (st)
		*st = sb;
	return fd;
}
