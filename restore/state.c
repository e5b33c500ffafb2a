/* state: the restore state directory, owned here and nowhere else.
 *
 * Where a mount's jobs are kept (job.c writes and reads the files in it):
 * by default one directory per vault and mount point under
 * $XDG_STATE_HOME/velerofs/restore (~/.local/state/velerofs/restore, or
 * /var/tmp/velerofs-<uid>/restore without HOME), so that mounting again
 * resumes the jobs. The directory decides what is applied to a cluster
 * with the mounting user's credentials, so it must be that user's own
 * (fsutil_dir_own(): owned by the effective uid, not a symbolic link, not
 * writable by others, in parents nobody else can change) or the mount
 * refuses to start; and one daemon at a time holds it (an flock on
 * <dir>/.lock), or a job could run twice. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/macro.h"
#include "restore/restore_i.h"

char *restore_state_default(const char *vault_id, const char *mountpoint)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0, i;
	char hex[17], *dir = NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int n;

	if (!ctx)
		return NULL;
	/* the NUL between them: ("ab","c") and ("a","bc") differ */
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, vault_id, strlen(vault_id) + 1);
	EVP_DigestUpdate(ctx, mountpoint, strlen(mountpoint));
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	for (i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (xdg && xdg[0] == '/')
		n = asprintf(&dir, "%s/velerofs/restore/%s", xdg, hex);
	else if (home && home[0] == '/')
		n = asprintf(&dir, "%s/.local/state/velerofs/restore/%s", home,
			     hex);
	else
		n = asprintf(&dir, "/var/tmp/velerofs-%u/restore/%s",
			     (unsigned)geteuid(), hex);
	return n < 0 ? NULL : dir;
}

int restore_state_open(const char *path, char **real, int *lock_fd,
		       struct verror *e)
{
	_cleanup_free_ char *lock = NULL, *dir = NULL;
	struct stat st;
	int r, fd;

	r = fsutil_dir_own(path, &dir, e);
	if (r < 0)
		return verror_prefix(e, r, "restore state");
	if (asprintf(&lock, "%s/.lock", dir) < 0)
		return -ENOMEM;
	fd = open(lock,
		  O_RDONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return verror_set(e, -errno,
				  "restore state %s: cannot open its lock file "
				  "%s: %s",
				  dir, lock, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return verror_set(e, -EINVAL,
				  "restore state %s: its lock file %s is not a "
				  "regular file; remove it",
				  dir, lock);
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		close(fd);
		if (r == -EWOULDBLOCK)
			return verror_set(e, -EBUSY,
					  "restore state %s is in use by "
					  "another velerofs mount (give this "
					  "one its own --restore-state DIR)",
					  dir);
		return verror_set(e, r, "restore state %s: locking %s: %s", dir,
				  lock, strerror(-r));
	}
	*lock_fd = fd;
	*real = TAKE_PTR(dir);
	return 0;
}
