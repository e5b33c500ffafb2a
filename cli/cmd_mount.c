/* cli/cmd_mount: `velerofs mount` and `velerofs umount`.
 *
 * The vault is opened and listed before anything else, so a wrong URL is
 * reported at once with a non-zero exit. Without -f the process forks;
 * the parent waits until the child has mounted (or failed) and exits
 * accordingly, so `velerofs mount ... && ls MNT` works. */
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/log.h"
#include "fs/fs.h"

struct mount_opts {
	char *vault;
	char *mountpoint;
	char *cache;
	char *cache_size;
	double timeout;
	unsigned refresh;
	unsigned max_threads;
	int json;
	int clean;
	int keep_status;
	int redact;
	int foreground;
	int debug;
	int help;
	int version;
};

/* clang-format off */
#define MOPT(t, p) { t, offsetof(struct mount_opts, p), 1 }

static const struct fuse_opt mount_spec[] = {
	MOPT("--cache=%s", cache),
	MOPT("--cache %s", cache),
	MOPT("cache=%s", cache),
	MOPT("cache_size=%s", cache_size),
	MOPT("timeout=%lf", timeout),
	MOPT("refresh=%u", refresh),
	MOPT("max_threads=%u", max_threads),
	MOPT("json", json),
	MOPT("clean", clean),
	MOPT("keep_status", keep_status),
	MOPT("redact", redact),
	MOPT("-f", foreground),
	MOPT("--foreground", foreground),
	MOPT("-d", debug),
	MOPT("--debug", debug),
	MOPT("-h", help),
	MOPT("--help", help),
	MOPT("-V", version),
	MOPT("--version", version),
	FUSE_OPT_END
};

static void mount_usage(FILE *f)
{
	fprintf(f,
		"Usage: velerofs mount [OPTIONS] VAULT MOUNTPOINT\n"
		"\n"
		"Mounts every backup of VAULT under MOUNTPOINT/backups/.\n"
		"\n"
		"  -f, --foreground      stay in the foreground\n"
		"  -d, --debug           log every request (implies -f)\n"
		"  --cache DIR           cache directory (default\n"
		"                        $XDG_CACHE_HOME/velerofs)\n"
		"  -o json               items as <name>.json, the backup's\n"
		"                        original bytes, instead of YAML\n"
		"  -o clean              items without server-set noise\n"
		"                        (managedFields, uid, resourceVersion,\n"
		"                        generation, creationTimestamp, the\n"
		"                        last-applied annotation, status), for diff\n"
		"  -o keep_status        with clean: keep status\n"
		"  -o redact             Secrets' values as <redacted sha256:...>\n"
		"  -o cache_size=SIZE    evict least recently used cache entries\n"
		"                        beyond SIZE (e.g. 2G); default no limit\n"
		"  -o timeout=SECONDS    kernel cache time for backup contents\n"
		"                        (default 86400)\n"
		"  -o refresh=SECONDS    re-list the vault this often, so new\n"
		"                        backups appear (default 60; 0: never)\n"
		"  -o max_threads=N      FUSE worker threads\n"
		"  -o allow_other,...    other options go to libfuse/the kernel\n"
		"  -h, --help            show this help\n");
}
/* clang-format on */

static int mount_arg(void *data, const char *arg, int key,
		     struct fuse_args *outargs)
{
	struct mount_opts *o = data;

	(void)outargs;
	if (key == FUSE_OPT_KEY_OPT && arg[0] == '-' && arg[1] != 'o') {
		fprintf(stderr,
			"velerofs mount: unknown option '%s' "
			"(see velerofs mount --help)\n",
			arg);
		return -1;
	}
	if (key != FUSE_OPT_KEY_NONOPT)
		return 1;
	if (!o->vault)
		o->vault = strdup(arg);
	else if (!o->mountpoint)
		o->mountpoint = strdup(arg);
	else {
		fprintf(stderr, "velerofs mount: unexpected argument '%s'\n",
			arg);
		return -1;
	}
	return 0;
}

struct ready {
	int fd;
	bool daemon;
};

static void on_ready(void *userdata)
{
	struct ready *rd = userdata;
	int null;

	if (rd->fd >= 0) {
		if (write(rd->fd, "", 1) < 0) {
			/* the parent is gone; serve anyway */
		}
		close(rd->fd);
		rd->fd = -1;
	}
	if (rd->daemon) {
		null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
			close(null);
		}
		log_set_syslog(1);
	}
}

/* Forks; the parent returns only after the child mounted (0) or died. */
static int daemonize(int *ready_fd)
{
	int p[2], status;
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		close(p[0]);
		setsid();
		*ready_fd = p[1];
		return 1;
	}
	close(p[1]);
	if (read(p[0], &c, 1) == 1)
		_exit(0);
	/* the child failed before mounting; it said why on stderr */
	if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status))
		_exit(WEXITSTATUS(status));
	_exit(1);
}

int cmd_mount(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct mount_opts o = { .refresh = 60 };
	struct session s = { 0 };
	struct ready rd = { .fd = -1 };
	struct fs_config cfg = { 0 };
	struct backup_options bo = { 0 };
	char *mp = NULL, *fsname = NULL;
	uint64_t limit = 0;
	int r, ret = 1;

	if (fuse_opt_parse(&args, &o, mount_spec, mount_arg) < 0) {
		ret = EXIT_USAGE;
		goto out;
	}
	if (o.help) {
		mount_usage(stdout);
		ret = 0;
		goto out;
	}
	if (o.version) {
		printf("velerofs %s (libfuse %s)\n", VELEROFS_VERSION,
		       fuse_pkgversion());
		ret = 0;
		goto out;
	}
	if (!o.vault || !o.mountpoint) {
		mount_usage(stderr);
		ret = EXIT_USAGE;
		goto out;
	}
	if (o.cache_size && parse_size(o.cache_size, &limit) < 0) {
		fprintf(stderr, "velerofs mount: cache_size=%s: not a size\n",
			o.cache_size);
		ret = EXIT_USAGE;
		goto out;
	}
	if (o.debug) {
		o.foreground = 1;
		log_set_max_level(LOG_DEBUG);
		fuse_opt_add_arg(&args, "-d");
	}
	bo.view = o.json ? BACKUP_VIEW_JSON : BACKUP_VIEW_YAML;
	bo.clean = o.clean;
	bo.keep_status = o.keep_status;
	bo.redact = o.redact;
	mp = realpath(o.mountpoint, NULL);
	if (!mp) {
		log_error("mount point %s: %m", o.mountpoint);
		goto out;
	}
	r = session_open(&s, o.vault, o.cache, &bo, limit);
	if (r < 0)
		goto out;
	if (asprintf(&fsname, "-ofsname=velerofs,subtype=velerofs,"
			      "default_permissions") < 0)
		goto out;
	fuse_opt_add_arg(&args, fsname);

	if (!o.foreground) {
		r = daemonize(&rd.fd);
		if (r < 0) {
			log_error_errno(r, "fork: %m");
			goto out;
		}
		rd.daemon = true;
		if (chdir("/") < 0) {
			/* harmless */
		}
	}
	cfg.repo = s.repo;
	cfg.mountpoint = mp;
	cfg.args = &args;
	cfg.on_ready = on_ready;
	cfg.userdata = &rd;
	cfg.timeout = o.timeout;
	cfg.refresh_s = o.refresh;
	cfg.max_threads = o.max_threads;
	cfg.debug = o.debug;
	r = fs_run(&cfg);
	if (r < 0) {
		log_error("cannot mount %s", mp);
		goto out;
	}
	ret = 0;
out:
	session_close(&s);
	fuse_opt_free_args(&args);
	free(fsname);
	free(mp);
	free(o.vault);
	free(o.mountpoint);
	free(o.cache);
	free(o.cache_size);
	return ret;
}

int cmd_umount(int argc, char **argv)
{
	static const char usage[] = "Usage: velerofs umount MOUNTPOINT\n";

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--"
								     "help"))) {
		printf("%s\nUnmounts a velerofs mount (fusermount3 -u).\n",
		       usage);
		return 0;
	}
	if (argc == 2 && (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--"
								     "versio"
								     "n"))) {
		printf("velerofs %s\n", VELEROFS_VERSION);
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "%s", usage);
		return EXIT_USAGE;
	}
	execlp("fusermount3", "fusermount3", "-u", "--", argv[1], (char *)NULL);
	log_error("running fusermount3: %m");
	return 1;
}
