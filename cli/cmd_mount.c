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
#include <malloc.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/restore_source.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "fs/fs.h"
#include "kube/kube.h"
#include "restore/restore.h"

struct mount_opts {
	char *vault;
	char *mountpoint;
	char *cache;
	char *credentials;
	char *cache_size;
	double timeout;
	unsigned refresh;
	unsigned max_threads;
	/* restore/ */
	char *kubeconfig;
	char *context;
	char *restore_state;
	char *existing;
	char *modifiers;
	struct sbuf image_map;	      /* repeated -o image_map=, joined */
	struct sbuf storageclass_map; /* repeated -o storageclass_map= */
	unsigned type_wait;
	unsigned outage_wait;
	int include_nonrestorable;
	int dry_run;
	int no_restore;
	int json;
	int clean;
	int keep_status;
	int redact;
	int foreground;
	int debug;
	int help;
	int version;
};

enum { KEY_IMAGE_MAP = 100, KEY_SC_MAP };

/* clang-format off */
#define MOPT(t, p) { t, offsetof(struct mount_opts, p), 1 }

static const struct fuse_opt mount_spec[] = {
	MOPT("--cache=%s", cache),
	MOPT("--cache %s", cache),
	MOPT("cache=%s", cache),
	MOPT("--credentials=%s", credentials),
	MOPT("--credentials %s", credentials),
	MOPT("cache_size=%s", cache_size),
	MOPT("timeout=%lf", timeout),
	MOPT("refresh=%u", refresh),
	MOPT("max_threads=%u", max_threads),
	MOPT("--kubeconfig=%s", kubeconfig),
	MOPT("--kubeconfig %s", kubeconfig),
	MOPT("kubeconfig=%s", kubeconfig),
	MOPT("--context=%s", context),
	MOPT("--context %s", context),
	MOPT("context=%s", context),
	MOPT("--restore-state=%s", restore_state),
	MOPT("--restore-state %s", restore_state),
	MOPT("existing=%s", existing),
	MOPT("modifiers=%s", modifiers),
	MOPT("type_wait=%u", type_wait),
	MOPT("outage_wait=%u", outage_wait),
	MOPT("include_nonrestorable", include_nonrestorable),
	MOPT("dry_run", dry_run),
	MOPT("no_restore", no_restore),
	FUSE_OPT_KEY("image_map=", KEY_IMAGE_MAP),
	FUSE_OPT_KEY("storageclass_map=", KEY_SC_MAP),
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
		"Mounts every backup of VAULT under MOUNTPOINT/backups/. VAULT:\n"
		"  /path or file:///path   a directory laid out like a BSL\n"
		"  s3://bucket[/prefix]?region=R&endpoint=URL&style=path|virtual\n"
		"  azblob://account/container[/prefix]?endpoint=URL\n"
		"\n"
		"  -f, --foreground      stay in the foreground\n"
		"  -d, --debug           log every request (implies -f)\n"
		"  --credentials FILE    the vault's credentials file, as Velero's\n"
		"                        plugins read it (default: environment,\n"
		"                        ~/.aws/credentials, AZURE_STORAGE_*)\n"
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
		"\n"
		"Restoring (the restore/ directory; needs a target cluster):\n"
		"  --kubeconfig FILE     the cluster to restore into (default as\n"
		"                        kubectl: $KUBECONFIG, ~/.kube/config,\n"
		"                        in-cluster); no cluster: no restore/\n"
		"  --context NAME        a context of the kubeconfig\n"
		"  --restore-state DIR   where restore jobs are kept (default\n"
		"                        $XDG_STATE_HOME/velerofs/restore/<id>)\n"
		"  -o existing=skip|update  objects that exist: report them\n"
		"                        (default) or patch them to the backup\n"
		"  -o dry_run            send every request with dryRun=All\n"
		"  -o image_map=OLD=NEW  rewrite image registries/repositories\n"
		"                        (repeat the option for several)\n"
		"  -o storageclass_map=A=B  rewrite storage classes (repeatable)\n"
		"  -o modifiers=FILE     Velero resource modifiers (version v1)\n"
		"  -o type_wait=SECONDS  wait this long for a type to be served\n"
		"  -o outage_wait=SECONDS  a job waits this long for an API\n"
		"                        server that is away (default 600)\n"
		"  -o include_nonrestorable  restore the kinds Velero never\n"
		"                        restores (events, nodes, backups ...)\n"
		"  -o no_restore         no restore/ even with a kubeconfig\n"
		"\n"
		"  -o allow_other,...    other options go to libfuse/the kernel\n"
		"  -h, --help            show this help\n");
}
/* clang-format on */

static int mount_arg(void *data, const char *arg, int key,
		     struct fuse_args *outargs)
{
	struct mount_opts *o = data;

	(void)outargs;
	if (key == KEY_IMAGE_MAP || key == KEY_SC_MAP) {
		struct sbuf *b = key == KEY_IMAGE_MAP ? &o->image_map :
							&o->storageclass_map;

		if ((b->len && sbuf_addc(b, ',') < 0) ||
		    sbuf_adds(b, strchr(arg, '=') + 1) < 0)
			return -1;
		return 0;
	}
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

struct spool_target {
	struct kube *kube;
	struct restore *restore;
	const char *off; /* without a spool: why */
};

/* Connects restore/ to the target cluster, if there is one: a kubeconfig
 * found as kubectl finds it. 0 with nothing set up when there is none
 * (and none was asked for). */
static int restore_setup(const struct mount_opts *o, struct session *s,
			 const char *mp, struct spool_target *t)
{
	struct kube_options ko = { .kubeconfig = o->kubeconfig,
				   .context = o->context };
	struct restore_options ro = { 0 };
	struct verror e = { { 0 } };
	int r;

	if (o->no_restore) {
		t->off = "it was mounted with -o no_restore";
		return 0;
	}
	r = kube_open(&ko, &t->kube, &e);
	if (r == -ENOENT && !o->kubeconfig && !o->context) {
		log_info("no kubeconfig found: restore/ is not available");
		t->off = "no kubeconfig was found";
		return 0;
	}
	if (r < 0)
		return log_error_errno(r, "the target cluster: %s", e.msg);
	if (!kube_tls_verified(t->kube))
		log_warning("the target cluster %s: insecure-skip-tls-verify: "
			    "TLS VERIFICATION IS OFF: anyone between here and "
			    "it can pose as the API server and take the "
			    "kubeconfig's credentials",
			    kube_server(t->kube));
	if (!strncmp(kube_server(t->kube), "http://", 7))
		log_warning("the target cluster %s is plain http, not https: "
			    "the kubeconfig's credentials travel unencrypted",
			    kube_server(t->kube));
	if (o->existing && strcmp(o->existing, "skip") &&
	    strcmp(o->existing, "update")) {
		return log_error_errno(EINVAL,
				       "existing=%s: use existing=skip or "
				       "existing=update",
				       o->existing);
	}
	ro.kube = t->kube;
	/* the state directory is restore/'s: where, whose, locked */
	ro.state_dir = o->restore_state;
	ro.vault_id = vault_id(s->vault);
	ro.mountpoint = mp;
	ro.existing = o->existing && !strcmp(o->existing, "update") ?
			      RESTORE_EXISTING_UPDATE :
			      RESTORE_EXISTING_SKIP;
	ro.dry_run = o->dry_run;
	ro.image_map = o->image_map.len ? o->image_map.buf : NULL;
	ro.storageclass_map =
		o->storageclass_map.len ? o->storageclass_map.buf : NULL;
	ro.modifiers_file = o->modifiers;
	ro.type_wait_s = o->type_wait;
	ro.outage_wait_s = o->outage_wait;
	ro.include_nonrestorable = o->include_nonrestorable;
	ro.origin = restore_source_origin;
	ro.origin_userdata = s->repo;
	ro.namespace_of = restore_source_namespace;
	ro.namespace_userdata = s->repo;
	r = restore_new(&ro, &t->restore, &e);
	if (r < 0)
		log_error_errno(r, "restore/: %s", e.msg);
	else
		log_info("restore/ restores into %s", kube_server(t->kube));
	return r;
}

static void restore_teardown(struct spool_target *t)
{
	t->restore = restore_free(t->restore);
	t->kube = kube_free(t->kube);
}

int cmd_mount(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct mount_opts o = { .refresh = 60 };
	struct spool_target spool = { 0 };
	struct session s = { 0 };
	struct ready rd = { .fd = -1 };
	struct fs_config cfg = { 0 };
	struct backup_options bo = { 0 };
	char *mp = NULL, *fsname = NULL;
	uint64_t limit = 0;
	int r, ret = 1;

	/* The daemon frees large buffers (a backup's index build) in worker
	 * threads: fixed thresholds and few arenas let glibc hand that memory
	 * back instead of keeping it per thread (bench scenario 6). */
	mallopt(M_ARENA_MAX, 2);
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
	sbuf_init(&o.image_map, 1 << 16);
	sbuf_init(&o.storageclass_map, 1 << 16);
	if (fuse_opt_parse(&args, &o, mount_spec, mount_arg) < 0) {
		ret = EXIT_USAGE;
		goto out;
	}
	/* argv is what ps and /proc/PID/cmdline show for the daemon's whole
	 * life: the vault URL there keeps no secret (o.vault is a copy) */
	for (int i = 1; o.vault && i < argc; i++)
		if (!strcmp(argv[i], o.vault))
			vault_url_scrub(argv[i]);
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
	if (mountpoint_prepare(o.mountpoint, &mp) < 0)
		goto out;
	r = session_open(&s, o.vault, o.credentials, o.cache, &bo, limit);
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
	/* after the fork: the engine runs a thread */
	r = restore_setup(&o, &s, mp, &spool);
	if (r < 0)
		goto out;
	cfg.restore = spool.restore;
	cfg.restore_off = spool.off;
	cfg.repo = s.repo;
	cfg.mountpoint = mp;
	cfg.args = &args;
	cfg.on_ready = on_ready;
	cfg.userdata = &rd;
	cfg.timeout = o.timeout;
	cfg.refresh_s = o.refresh;
	cfg.max_threads = o.max_threads;
	r = fs_run(&cfg);
	if (r < 0) {
		log_error("cannot mount %s", mp);
		goto out;
	}
	ret = 0;
out:
	restore_teardown(&spool);
	session_close(&s);
	fuse_opt_free_args(&args);
	free(fsname);
	free(mp);
	free(o.vault);
	free(o.mountpoint);
	free(o.cache);
	free(o.credentials);
	free(o.cache_size);
	free(o.kubeconfig);
	free(o.context);
	free(o.restore_state);
	free(o.existing);
	free(o.modifiers);
	sbuf_release(&o.image_map);
	sbuf_release(&o.storageclass_map);
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
