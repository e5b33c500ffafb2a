/* fsutil: small file-system helpers shared by the modules: making
 * directories, owning the directories velerofs keeps its files in, opening
 * a file that must be a regular file. */
#pragma once

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "common/error.h"

/* mkdir -p: makes path and its missing parents with mode. 0 or -errno
 * (-ENAMETOOLONG beyond PATH_MAX). */
int fsutil_mkdir_p(const char *path, mode_t mode);

/* Makes (mkdir -p, mode 0700) or checks a directory velerofs keeps its
 * own files in (the cache, the restore state), so that no other local user
 * can plant or swap what is read from it:
 *   - path itself is a directory, not a symbolic link (O_NOFOLLOW), owned
 *     by the effective uid and not writable by group or others;
 *   - every parent (after resolving symbolic links, which are the user's
 *     own choice of layout) is owned by root or the effective uid and,
 *     when writable by group or others, has the sticky bit (/tmp).
 * Nothing is chmod'ed or chown'ed behind the user's back: a directory that
 * fails is refused. *real (if non-NULL; caller frees) gets the resolved
 * path: use it, not path, from then on, so that a symbolic link in path
 * that someone else could change later is not followed again. Returns 1
 * when it created path, 0 when it was there, -errno (-EPERM for a trust
 * failure) with e saying what is wrong and how to fix it. */
int fsutil_dir_own(const char *path, char **real, struct verror *e);

/* Opens name (relative to dirfd, or AT_FDCWD) read-only, without following
 * a symbolic link in its last component and without blocking on a FIFO or
 * a device (O_NOFOLLOW|O_NONBLOCK; O_NONBLOCK is then cleared), and checks
 * that it is a regular file. Returns the descriptor (caller closes; *st
 * filled when st is non-NULL), or -ELOOP (a symbolic link), -EISDIR (a
 * directory), -ENOTSUP (a FIFO, socket or device), or open()'s -errno. */
int fsutil_open_regular(int dirfd, const char *name, struct stat *st);

/* What kind of file a mode is, for messages: "directory", "FIFO",
 * "symbolic link", ... */
const char *fsutil_kind(mode_t mode);
