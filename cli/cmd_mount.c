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
#include "etcd/etcd.h"
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
	char *timeout;	   /* -o timeout=, checked by mount_check() */
	char *refresh;	   /* -o refresh= */
	char *max_threads; /* -o max_threads= */
	char *view;	   /* -o view=yaml|json */
	char *log_file;	   /* --log-file FILE */
	char *log_level;   /* --log-level LEVEL */
	/* restore/ */
	char *kubeconfig;
	char *context;
	char *bsl;	 /* --bsl NAME: the vault a BSL names */
	char *namespace; /* -n: its namespace */
	char *restore_state;
	char *existing;
	char *modifiers;
	char *restore_hooks;	      /* -o restore_hooks=FILE */
	char *encryption_config;      /* -o encryption-config=FILE */
	char *repo_password_file;     /* --repo-password-file FILE */
	struct sbuf image_map;	      /* repeated -o image_map=, joined */
	struct sbuf storageclass_map; /* repeated -o storageclass_map= */
	char *type_wait;	      /* -o type_wait= */
	char *outage_wait;	      /* -o outage_wait= */
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

/* A long option "--name %s" alone: fuse_opt matches it both as
 * "--name VALUE" and as "--name=VALUE", the latter giving "=VALUE"
 * (long_values() drops that '='). A second template "--name=%s" would
 * match "--name=VALUE" again: the value set twice, the first leaked. */

static const struct fuse_opt mount_spec[] = {
	MOPT("--cache %s", cache),
	MOPT("--repo-password-file %s", repo_password_file),
	MOPT("repo_password_file=%s", repo_password_file),
	MOPT("cache=%s", cache),
	MOPT("--credentials %s", credentials),
	MOPT("credentials=%s", credentials),
	MOPT("cache_size=%s", cache_size),
	MOPT("timeout=%s", timeout),
	MOPT("refresh=%s", refresh),
	MOPT("max_threads=%s", max_threads),
	MOPT("view=%s", view),
	MOPT("--log-file %s", log_file),
	MOPT("--log-level %s", log_level),
	MOPT("log_file=%s", log_file),
	MOPT("log_level=%s", log_level),
	MOPT("--kubeconfig %s", kubeconfig),
	MOPT("kubeconfig=%s", kubeconfig),
	MOPT("--bsl %s", bsl),
	MOPT("-n %s", namespace),
	MOPT("--namespace %s", namespace),
	MOPT("--context %s", context),
	MOPT("context=%s", context),
	MOPT("--restore-state %s", restore_state),
	MOPT("restore_state=%s", restore_state),
	MOPT("existing=%s", existing),
	MOPT("modifiers=%s", modifiers),
	MOPT("restore_hooks=%s", restore_hooks),
	MOPT("encryption-config=%s", encryption_config),
	MOPT("encryption_config=%s", encryption_config),
	MOPT("type_wait=%s", type_wait),
	MOPT("outage_wait=%s", outage_wait),
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
		"       velerofs mount [OPTIONS] --bsl NAME [-n NAMESPACE] MOUNTPOINT\n"
		"\n"
		"Mounts every backup of VAULT under MOUNTPOINT/backups/. VAULT:\n"
		"  /path or file:///path   a directory laid out like a BSL\n"
		"  s3://bucket[/prefix]?region=R&endpoint=URL&style=path|virtual\n"
		"  azblob://account/container[/prefix]?endpoint=URL\n"
		"\n"
		"  --bsl NAME            the vault of BackupStorageLocation NAME\n"
		"                        of the cluster (--kubeconfig, --context),\n"
		"                        with the credentials of its Secret\n"
		"  -n, --namespace NS    the BSL's namespace (default velero)\n"
		"  -f, --foreground      stay in the foreground\n"
		"  -d, --debug           log every request (implies -f)\n"
		"  --credentials FILE    the vault's credentials file, as Velero's\n"
		"                        plugins read it (default: environment,\n"
		"                        ~/.aws/credentials, AZURE_STORAGE_*)\n"
		"  --cache DIR           cache directory (default\n"
		"                        $XDG_CACHE_HOME/velerofs)\n"
		"  -o view=json          items as <name>.json, the backup's\n"
		"                        original bytes, instead of YAML\n"
		"                        (-o json: the older spelling)\n"
		"  -o clean              items without server-set noise\n"
		"                        (managedFields, uid, resourceVersion,\n"
		"                        generation, creationTimestamp, the\n"
		"                        last-applied annotation, status), for diff\n"
		"  -o keep_status        with clean: keep status\n"
		"  -o redact             Secrets' values as <redacted sha256:...>\n"
		"  -o encryption-config=FILE  decrypt the values of etcd\n"
		"                        snapshots (snapshots/) encrypted at rest,\n"
		"                        with kube-apiserver's EncryptionConfiguration\n"
		"  --repo-password-file FILE  the password of Velero's\n"
		"                        repositories (volumes/: the\n"
		"                        repository-password of the\n"
		"                        velero-repo-credentials Secret);\n"
		"                        default Velero's own\n"
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
		"  -o restore_hooks=FILE  a Restore's spec.hooks: the init\n"
		"                        containers its postHooks add to pods\n"
		"  -o type_wait=SECONDS  wait this long for a type to be served\n"
		"  -o outage_wait=SECONDS  a job waits this long for an API\n"
		"                        server that is away (default 600)\n"
		"  -o include_nonrestorable  restore the kinds Velero never\n"
		"                        restores (events, nodes, backups ...)\n"
		"  -o no_restore         no restore/ even with a kubeconfig\n"
		"\n"
		"  --log-file FILE       the daemon's messages to FILE (default\n"
		"                        stderr with -f, else syslog)\n"
		"  --log-level LEVEL     error, warning (default), notice, info\n"
		"                        or debug\n"
		"  In /etc/fstab: -o cache=, credentials=, kubeconfig=,\n"
		"  context=, restore_state=, log_file=, log_level= are the\n"
		"  options above.\n"
		"\n"
		"  -o allow_other,...    other options go to libfuse/the kernel\n"
		"  -h, --help            show this help\n");
}
/* clang-format on */

/* The -o options velerofs passes on to libfuse and the kernel; any other
 * is refused before anything starts (libfuse would refuse it later, in
 * its own words and with exit status 1). */
static bool fuse_option(const char *opt)
{
	/* libfuse's own (lib/mount.c, fuse_lowlevel.c) and the mount flags
	 * it knows */
	static const char *const flags[] = {
		"allow_other",	"allow_root",
		"auto_unmount", "default_permissions",
		"debug",	"ro",
		"rw",		"dev",
		"nodev",	"suid",
		"nosuid",	"exec",
		"noexec",	"async",
		"sync",		"dirsync",
		"noatime",	"nodiratime",
		"norelatime",	"nostrictatime",
	};
	static const char *const valued[] = {
		"fsname=", "subtype=",	 "max_read=",	"blksize=",
		"user=",   "fscontext=", "defcontext=", "rootcontext=",
	};
	size_t i;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (!strcmp(opt, flags[i]))
			return true;
	for (i = 0; i < sizeof(valued) / sizeof(valued[0]); i++)
		if (!strncmp(opt, valued[i], strlen(valued[i])))
			return true;
	return false;
}

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
	if (key == FUSE_OPT_KEY_OPT && arg[0] != '-' && !fuse_option(arg)) {
		fprintf(stderr,
			"velerofs mount: unknown option -o %s "
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

/* An -o option's number: whole (unsigned) or not; -EINVAL and a message
 * naming the option when it is not one. */
static int opt_number(const char *name, const char *v, bool whole, double max,
		      double *out)
{
	char *end;
	double d;

	*out = 0;
	if (!v)
		return 0;
	errno = 0;
	d = whole ? (double)strtoull(v, &end, 10) : strtod(v, &end);
	if (!*v || *end || errno || d < 0 || d > max || d != d ||
	    (whole && v[0] == '-')) {
		fprintf(stderr,
			"velerofs mount: -o %s=%s: not a %snumber%s "
			"(see velerofs mount --help)\n",
			name, v, whole ? "whole " : "",
			whole ? "" : " of seconds");
		return -EINVAL;
	}
	*out = d;
	return 0;
}

/* The values of the options, checked before anything starts: velerofs's
 * own message and exit status 2 for each mistake. */
struct mount_values {
	double timeout, refresh, max_threads, type_wait, outage_wait;
	uint64_t cache_limit;
	int log_level;
};

static int mount_check(struct mount_opts *o, struct mount_values *v)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {
		{ "error", LOG_ERR },	  { "warning", LOG_WARNING },
		{ "notice", LOG_NOTICE }, { "info", LOG_INFO },
		{ "debug", LOG_DEBUG },
	};
	size_t i;

	if (opt_number("timeout", o->timeout, false, 1e9, &v->timeout) < 0 ||
	    opt_number("refresh", o->refresh, true, 1e9, &v->refresh) < 0 ||
	    opt_number("max_threads", o->max_threads, true, 100000,
		       &v->max_threads) < 0 ||
	    opt_number("type_wait", o->type_wait, true, 1e9, &v->type_wait) <
		    0 ||
	    opt_number("outage_wait", o->outage_wait, true, 1e9,
		       &v->outage_wait) < 0)
		return -EINVAL;
	if (!o->refresh)
		v->refresh = 60;
	if (o->cache_size && parse_size(o->cache_size, &v->cache_limit) < 0) {
		fprintf(stderr,
			"velerofs mount: -o cache_size=%s: not a size "
			"(e.g. 512M, 2G)\n",
			o->cache_size);
		return -EINVAL;
	}
	if (o->existing && strcmp(o->existing, "skip") &&
	    strcmp(o->existing, "update")) {
		fprintf(stderr,
			"velerofs mount: -o existing=%s: use existing=skip "
			"(the default) or existing=update\n",
			o->existing);
		return -EINVAL;
	}
	if (o->view && strcmp(o->view, "yaml") && strcmp(o->view, "json")) {
		fprintf(stderr,
			"velerofs mount: -o view=%s: use view=yaml (the "
			"default) or view=json\n",
			o->view);
		return -EINVAL;
	}
	v->log_level = -1;
	for (i = 0; o->log_level && i < sizeof(levels) / sizeof(levels[0]); i++)
		if (!strcmp(o->log_level, levels[i].name))
			v->log_level = levels[i].level;
	if (o->log_level && v->log_level < 0) {
		fprintf(stderr,
			"velerofs mount: --log-level %s: use error, warning, "
			"notice, info or debug\n",
			o->log_level);
		return -EINVAL;
	}
	return 0;
}

/* A relative path the user gave, made absolute: the daemon changes to /
 * before it reads some of them (a kubeconfig, resource modifiers). */
static int absolutize(char **p)
{
	char *abs;

	if (!*p || !**p || (*p)[0] == '/')
		return 0;
	abs = realpath(*p, NULL);
	if (!abs) {
		char cwd[PATH_MAX];

		if (!getcwd(cwd, sizeof(cwd)) ||
		    asprintf(&abs, "%s/%s", cwd, *p) < 0)
			return -ENOMEM;
	}
	free(*p);
	*p = abs;
	return 0;
}

/* $KUBECONFIG is a list of files, some of them maybe relative. */
static int absolutize_kubeconfig_env(void)
{
	const char *env = getenv("KUBECONFIG");
	struct sbuf out;
	char *copy, *tok, *save = NULL;
	int r = 0;

	if (!env || !*env)
		return 0;
	copy = strdup(env);
	if (!copy)
		return -ENOMEM;
	sbuf_init(&out, 1 << 20);
	for (tok = strtok_r(copy, ":", &save); tok && r >= 0;
	     tok = strtok_r(NULL, ":", &save)) {
		char *p = strdup(tok);

		if (!p || absolutize(&p) < 0)
			r = -ENOMEM;
		else if ((out.len && sbuf_addc(&out, ':') < 0) ||
			 sbuf_adds(&out, p) < 0)
			r = -ENOMEM;
		free(p);
	}
	if (r >= 0 && setenv("KUBECONFIG", sbuf_str(&out), 1) < 0)
		r = -errno;
	free(copy);
	sbuf_release(&out);
	return r;
}

static int mount_paths_absolute(struct mount_opts *o)
{
	if (absolutize(&o->kubeconfig) < 0 || absolutize(&o->modifiers) < 0 ||
	    absolutize(&o->restore_hooks) < 0 ||
	    absolutize(&o->encryption_config) < 0 ||
	    absolutize(&o->restore_state) < 0 ||
	    absolutize(&o->credentials) < 0 || absolutize(&o->cache) < 0 ||
	    absolutize(&o->log_file) < 0 || absolutize_kubeconfig_env() < 0)
		return log_error_errno(ENOMEM, "%m");
	return 0;
}

struct ready {
	int fd;
	bool daemon;
	int log_fd;	      /* --log-file, or -1 */
	const char *vault_id; /* for the "mounted" line */
	const char *mountpoint;
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
			dup2(rd->log_fd >= 0 ? rd->log_fd : null,
			     STDERR_FILENO);
			close(null);
		}
		if (rd->log_fd < 0) {
			log_set_syslog(1);
			return;
		}
	}
	/* in the foreground or to --log-file: say so, at any log level */
	fprintf(stderr,
		"velerofs: %s mounted at %s: ready (stop with "
		"`velerofs umount %s`%s)\n",
		rd->vault_id, rd->mountpoint, rd->mountpoint,
		rd->daemon ? "" : " or Ctrl-C");
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
static int restore_setup(const struct mount_opts *o,
			 const struct mount_values *v, struct session *s,
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
	ro.hooks_file = o->restore_hooks;
	ro.type_wait_s = (unsigned)v->type_wait;
	ro.outage_wait_s = (unsigned)v->outage_wait;
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

/* The progress hook is given to the repo before the cache it writes to
 * is open: userdata is where the status will be. */
static void mount_progress(void *userdata, const char *backup, uint64_t items,
			   uint64_t ms, bool done)
{
	struct status *const *st = userdata;

	if (*st)
		status_progress(*st, backup, items, ms, done);
}

static void restore_teardown(struct spool_target *t)
{
	t->restore = restore_free(t->restore);
	t->kube = kube_free(t->kube);
}

/* "--name=VALUE" reaches a "--name %s" option as "=VALUE" (see
 * mount_spec): the value is what follows the '='. */
static void long_values(struct mount_opts *o)
{
	char **v[] = { &o->cache,	  &o->credentials,
		       &o->log_file,	  &o->log_level,
		       &o->kubeconfig,	  &o->bsl,
		       &o->namespace,	  &o->context,
		       &o->restore_state, &o->repo_password_file };

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (*v[i] && (*v[i])[0] == '=')
			memmove(*v[i], *v[i] + 1, strlen(*v[i]));
}

int cmd_mount(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct mount_opts o = { 0 };
	struct spool_target spool = { 0 };
	struct session s = { 0 };
	struct ready rd = { .fd = -1, .log_fd = -1 };
	struct mount_values v = { 0 };
	struct fs_config cfg = { 0 };
	struct backup_options bo = { 0 };
	char repo_pw[1024]; /* wiped once the repo has its copy */
	struct cli_bsl_out bsl = { .cred_fd = -1, .ca_fd = -1 };
	char *mp = NULL, *fsname = NULL;
	struct status *status = NULL;
	struct etcd_crypt *crypt = NULL;
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
	long_values(&o);
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
	if (o.bsl && o.mountpoint) {
		fprintf(stderr, "velerofs mount: with --bsl, give only the "
				"MOUNTPOINT, not a VAULT\n");
		ret = EXIT_USAGE;
		goto out;
	}
	if (o.bsl) {
		o.mountpoint = o.vault;
		o.vault = NULL;
	}
	if ((!o.vault && !o.bsl) || !o.mountpoint) {
		mount_usage(stderr);
		ret = EXIT_USAGE;
		goto out;
	}
	if (mount_check(&o, &v) < 0) {
		ret = EXIT_USAGE;
		goto out;
	}
	if (mount_paths_absolute(&o) < 0)
		goto out;
	/* the daemon's log says what a user waits for (index progress) */
	log_set_max_level(v.log_level >= 0 ? v.log_level : LOG_NOTICE);
	if (o.log_file) {
		rd.log_fd = open(o.log_file,
				 O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
				 0600);
		if (rd.log_fd < 0) {
			log_error("--log-file %s: %m", o.log_file);
			goto out;
		}
	}
	if (o.debug) {
		o.foreground = 1;
		log_set_max_level(LOG_DEBUG);
		fuse_opt_add_arg(&args, "-d");
	}
	if (o.foreground && rd.log_fd >= 0)
		dup2(rd.log_fd, STDERR_FILENO);
	bo.view = o.json || (o.view && !strcmp(o.view, "json")) ?
			  BACKUP_VIEW_JSON :
			  BACKUP_VIEW_YAML;
	bo.progress = mount_progress;
	bo.progress_userdata = &status;
	bo.clean = o.clean;
	bo.keep_status = o.keep_status;
	bo.redact = o.redact;
	if (o.encryption_config &&
	    cli_crypt_load("mount", o.encryption_config, &bo, &crypt) < 0) {
		ret = EXIT_USAGE;
		goto out;
	}
	if (o.repo_password_file) {
		FILE *pf = fopen(o.repo_password_file, "re");
		size_t pn;

		if (!pf) {
			log_error("--repo-password-file %s: %m",
				  o.repo_password_file);
			goto out;
		}
		pn = fread(repo_pw, 1, sizeof(repo_pw) - 1, pf);
		fclose(pf);
		repo_pw[pn] = '\0';
		repo_pw[strcspn(repo_pw, "\r\n")] = '\0';
		bo.repo_password = repo_pw;
	}
	if (mountpoint_prepare(o.mountpoint, &mp) < 0)
		goto out;
	if (o.bsl) {
		struct cli_bsl in = { .name = o.bsl,
				      .ns = o.namespace ? o.namespace :
							  "velero",
				      .kubeconfig = o.kubeconfig,
				      .context = o.context,
				      .have_credentials = !!o.credentials };

		if (cli_bsl_resolve(&in, &bsl) < 0)
			goto out;
		o.vault = strdup(bsl.url);
		if (!o.vault || (!o.credentials && bsl.credentials &&
				 !(o.credentials = strdup(bsl.credentials))))
			goto out;
	}
	r = session_open(&s, o.vault, o.credentials, o.cache, &bo,
			 v.cache_limit);
	if (r < 0)
		goto out;
	rd.vault_id = vault_id(s.vault);
	rd.mountpoint = mp;
	status = status_new(s.cache, mp);
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
	r = restore_setup(&o, &v, &s, mp, &spool);
	if (r < 0)
		goto out;
	/* Without restore/ nothing in the mount is writable: a read-only
	 * mount also spares a GETATTR per file read (the kernel invalidates
	 * the atime of a file it read through the daemon, unless read-only) */
	if (!spool.restore)
		fuse_opt_add_arg(&args, "-oro");
	cfg.restore = spool.restore;
	cfg.restore_off = spool.off;
	cfg.repo = s.repo;
	cfg.mountpoint = mp;
	cfg.args = &args;
	cfg.on_ready = on_ready;
	cfg.userdata = &rd;
	cfg.timeout = v.timeout;
	cfg.refresh_s = (unsigned)v.refresh;
	cfg.max_threads = (unsigned)v.max_threads;
	r = fs_run(&cfg);
	if (r < 0) {
		log_error("cannot mount %s", mp);
		goto out;
	}
	ret = 0;
out:
	restore_teardown(&spool);
	status = status_free(status);
	session_close(&s);
	crypt = etcd_crypt_free(crypt);
	cli_bsl_out_release(&bsl);
	fuse_opt_free_args(&args);
	free(fsname);
	free(mp);
	explicit_bzero(repo_pw, sizeof(repo_pw));
	free(o.repo_password_file);
	free(o.vault);
	free(o.mountpoint);
	free(o.cache);
	free(o.credentials);
	free(o.cache_size);
	free(o.timeout);
	free(o.refresh);
	free(o.max_threads);
	free(o.type_wait);
	free(o.outage_wait);
	free(o.view);
	free(o.log_file);
	free(o.log_level);
	if (rd.log_fd >= 0)
		close(rd.log_fd);
	free(o.kubeconfig);
	free(o.context);
	free(o.bsl);
	free(o.namespace);
	free(o.restore_state);
	free(o.existing);
	free(o.modifiers);
	free(o.restore_hooks);
	free(o.encryption_config);
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

/* mount(8)'s options that are not the file system's: fstab's own words
 * (noauto, nofail, _netdev, user...), systemd's x-systemd.*, comment=. */
static bool fstab_only_option(const char *opt)
{
	static const char *const words[] = {
		"",	  "defaults", "auto",	"noauto",  "user",
		"nouser", "users",    "nofail", "_netdev", "owner",
		"group",  "loud",     "silent",
	};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(opt, words[i]))
			return true;
	return !strncmp(opt, "x-", 2) || !strncmp(opt, "X-", 2) ||
	       !strncmp(opt, "comment=", 8);
}

int cmd_mount_helper(int argc, char **argv)
{
	struct sbuf opts;
	char *args[6], *copy, *tok, *save = NULL;
	const char *given = NULL;
	int i, n = 0, fake = 0, r;

	if (argc < 3) {
		fprintf(stderr, "Usage: mount.fuse.velerofs VAULT MOUNTPOINT "
				"[-o OPTIONS]\n(mount(8)'s helper: "
				"`mount -t fuse.velerofs VAULT MOUNTPOINT`; "
				"see velerofs(1))\n");
		return EXIT_USAGE;
	}
	/* VAULT MOUNTPOINT [-sfnv] [-N NS] [-o OPTIONS] [-t TYPE] */
	for (i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "-o") && i + 1 < argc)
			given = argv[++i];
		else if ((!strcmp(argv[i], "-t") || !strcmp(argv[i], "-N")) &&
			 i + 1 < argc)
			i++;
		else if (!strcmp(argv[i], "-f"))
			fake = 1; /* mount -f: pretend */
		else if (strcmp(argv[i], "-s") && strcmp(argv[i], "-n") &&
			 strcmp(argv[i], "-v")) {
			fprintf(stderr,
				"mount.fuse.velerofs: unknown "
				"argument '%s'\n",
				argv[i]);
			return EXIT_USAGE;
		}
	}
	if (fake)
		return 0;
	sbuf_init(&opts, 1 << 20);
	copy = strdup(given ? given : "");
	if (!copy)
		return 1;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save))
		if (!fstab_only_option(tok) &&
		    ((opts.len && sbuf_addc(&opts, ',') < 0) ||
		     sbuf_adds(&opts, tok) < 0))
			break;
	free(copy);
	args[n++] = (char *)"mount";
	if (opts.len) {
		args[n++] = (char *)"-o";
		args[n++] = opts.buf;
	}
	args[n++] = argv[1];
	args[n++] = argv[2];
	args[n] = NULL;
	optind = 1;
	r = cmd_mount(n, args);
	sbuf_release(&opts);
	return r;
}
