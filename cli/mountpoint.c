/* cli/mountpoint: checks a mount point before `velerofs mount` uses it.
 *
 * A mount point must be a directory that nothing is mounted on: mounting a
 * second daemon on top of a live mount hides the first one (its restore
 * jobs keep running where nobody sees them). A dead FUSE mount (its daemon
 * was killed: every access fails with "Transport endpoint is not
 * connected") is cleared when it is velerofs's own (fusermount3 -u -z, the
 * same as `velerofs umount` would need), and otherwise named with the
 * command that clears it. Reads /proc/self/mountinfo; no FUSE calls. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/log.h"
#include "common/macro.h"

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++, d++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
				    (s[3] - '0'));
			s += 3;
		} else {
			*d = *s;
		}
	}
	*d = '\0';
}

/* The file system type of the topmost mount on path ("fuse.velerofs"),
 * copied to fstype; 0 when path is a mount point, -ENOENT when not. */
static int mounted_fstype(const char *path, char *fstype, size_t fstypesz)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	int found = -ENOENT;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		char *save = NULL, *mp, *sep, *type;
		int i;

		/* id parent major:minor root mountpoint ... - fstype ... */
		mp = strtok_r(line, " ", &save);
		for (i = 0; mp && i < 4; i++)
			mp = strtok_r(NULL, " ", &save);
		sep = mp ? strstr(save, " - ") : NULL;
		if (!sep)
			continue;
		unescape(mp);
		if (strcmp(mp, path))
			continue;
		type = strtok_r(sep + 3, " ", &save);
		snprintf(fstype, fstypesz, "%s", type ? type : "?");
		found = 0; /* the last one listed is on top */
	}
	return found;
}

/* The absolute path of a mount point that cannot be stat'ed (a dead
 * mount): its parent resolved, its own name appended. */
static char *abs_beside(const char *arg)
{
	_cleanup_free_ char *copy = strdup(arg), *parent = NULL;
	char *slash, *out = NULL;
	const char *name;

	if (!copy)
		return NULL;
	while (strlen(copy) > 1 && copy[strlen(copy) - 1] == '/')
		copy[strlen(copy) - 1] = '\0';
	slash = strrchr(copy, '/');
	if (slash) {
		*slash = '\0';
		name = slash + 1;
		parent = realpath(*copy ? copy : "/", NULL);
	} else {
		name = copy;
		parent = realpath(".", NULL);
	}
	if (!parent || asprintf(&out, "%s/%s",
				strcmp(parent, "/") ? parent : "", name) < 0)
		return NULL;
	return out;
}

static int lazy_unmount(const char *path)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execlp("fusermount3", "fusermount3", "-u", "-z", "--", path,
		       (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return -EIO;
	return 0;
}

int mountpoint_prepare(const char *arg, char **out)
{
	_cleanup_free_ char *mp = NULL;
	char fstype[64];
	struct statfs sf;
	struct stat st;
	bool dead;

	/* a dead FUSE mount fails stat with ENOTCONN, or answers it from the
	 * kernel's attribute cache: statfs always asks the daemon */
	dead = stat(arg, &st) < 0;
	if (dead && errno != ENOTCONN)
		return log_error_errno(errno, "mount point %s: %m", arg);
	if (!dead && !S_ISDIR(st.st_mode)) {
		log_error("mount point %s is not a directory", arg);
		return -ENOTDIR;
	}
	mp = dead ? NULL : realpath(arg, NULL);
	if (!mp && !(mp = abs_beside(arg)))
		return log_error_errno(errno ? errno : ENOMEM,
				       "mount point %s: %m", arg);
	if (mounted_fstype(mp, fstype, sizeof(fstype)) < 0) {
		if (!dead) {
			*out = TAKE_PTR(mp);
			return 0;
		}
		log_error("mount point %s: Transport endpoint is not connected "
			  "(a dead FUSE mount): clear it with fusermount3 -u "
			  "-z %s and mount again",
			  arg, arg);
		return -ENOTCONN;
	}
	if (!dead)
		dead = statfs(mp, &sf) < 0 && errno == ENOTCONN;
	if (!dead) {
		log_error("%s is already mounted (%s): unmount it first "
			  "(velerofs umount %s)",
			  mp, fstype, mp);
		return -EBUSY;
	}
	if (strcmp(fstype, "fuse.velerofs")) {
		log_error("%s is a dead %s mount (Transport endpoint is not "
			  "connected), not velerofs's: clear it with "
			  "fusermount3 -u -z %s and mount again",
			  mp, fstype, mp);
		return -ENOTCONN;
	}
	log_warning("%s: the velerofs mount there is dead (its daemon was "
		    "killed); clearing it with fusermount3 -u -z",
		    mp);
	if (lazy_unmount(mp) < 0 || stat(mp, &st) < 0 || !S_ISDIR(st.st_mode)) {
		log_error("%s: could not clear the dead mount: run fusermount3 "
			  "-u -z %s and mount again",
			  mp, mp);
		return -ENOTCONN;
	}
	*out = TAKE_PTR(mp);
	return 0;
}
