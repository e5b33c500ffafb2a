/* cli/cmd_browse: `velerofs ls` and `velerofs cat`: the same tree as the
 * mount, read through the core without FUSE. Symlinks (latest, the
 * schedules) are followed. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/log.h"

enum where {
	W_ROOT,
	W_BACKUPS,
	W_SCHEDULES,
	W_SCHEDULE,
	W_NODE,
	W_HISTORY,
	W_SNAPSHOTS,
	W_SNAPLATEST,
};

struct target {
	enum where where;
	struct backup *b;
	uint32_t node;
	size_t sched;
	char *hist[8]; /* W_HISTORY: the path below history/ */
	size_t nhist;
};

static const char *next_comp(const char **p, char *buf, size_t size)
{
	size_t n;

	while (**p == '/')
		(*p)++;
	if (!**p)
		return NULL;
	n = strcspn(*p, "/");
	if (n >= size)
		n = size - 1;
	memcpy(buf, *p, n);
	buf[n] = '\0';
	*p += n;
	return buf;
}

static int resolve(struct backup_repo *repo, const char *path, struct target *t,
		   struct verror *e)
{
	char comp[512];
	size_t slot;

	t->where = W_ROOT;
	if (!next_comp(&path, comp, sizeof(comp)))
		return 0;
	if (!strcmp(comp, "schedules")) {
		t->where = W_SCHEDULES;
		if (!next_comp(&path, comp, sizeof(comp)))
			return 0;
		if (backup_repo_schedule_find(repo, comp, &t->sched) < 0)
			return -ENOENT;
		t->where = W_SCHEDULE;
		if (!next_comp(&path, comp, sizeof(comp)))
			return 0;
		/* schedules/<s>/<b> is backups/<b> */
	} else if (!strcmp(comp, "backups")) {
		t->where = W_BACKUPS;
		if (!next_comp(&path, comp, sizeof(comp)))
			return 0;
	} else if (!strcmp(comp, "snapshots")) {
		t->where = W_SNAPSHOTS;
		if (!next_comp(&path, comp, sizeof(comp)))
			return 0;
		if (!strcmp(comp, BACKUP_LATEST)) {
			struct backup_snapshot_latest *v = NULL;
			size_t n = 0, i;

			t->where = W_SNAPLATEST;
			if (!next_comp(&path, comp, sizeof(comp)))
				return 0;
			if (backup_repo_snapshot_latest(repo, &v, &n) < 0)
				return -ENOMEM;
			for (i = 0; i < n && !t->b; i++)
				if (!strcmp(v[i].cluster, comp))
					t->b = backup_repo_slot(repo,
								v[i].slot);
			free(v);
		} else {
			t->b = backup_repo_find_snapshot(repo, comp, NULL);
		}
		if (!t->b)
			return -ENOENT;
		t->where = W_NODE;
		return backup_node_walk(t->b, path, &t->node, e);
	} else if (!strcmp(comp, "history")) {
		struct backup_version *v = NULL;
		size_t n = 0, i;
		int r = 0;

		t->where = W_HISTORY;
		while (next_comp(&path, comp, sizeof(comp)) && r == 0) {
			if (t->nhist == 5)
				r = -ENOENT;
			else if (!(t->hist[t->nhist++] = strdup(comp)))
				r = -ENOMEM;
		}
		if (r < 0)
			return r;
		/* an object's version is that backup's node */
		if (t->nhist >= 2 &&
		    backup_history_versions(repo, t->hist, t->nhist - 1, &v,
					    &n) == 0) {
			r = -ENOENT;
			for (i = 0; i < n && r < 0; i++)
				if (!strcmp(v[i].name, t->hist[t->nhist - 1])) {
					size_t k = v[i].same_as < 0 ?
							   i :
							   (size_t)v[i].same_as;

					t->b = backup_repo_slot(repo,
								v[k].slot);
					t->node = v[k].node;
					t->where = W_NODE;
					r = 0;
				}
			free(v);
		}
		return r;
	} else {
		return -ENOENT;
	}
	t->b = backup_repo_find(repo, comp, NULL);
	if (!t->b && !strcmp(comp, BACKUP_LATEST) && t->where == W_BACKUPS) {
		int r = backup_repo_latest_link(repo, &slot);

		if (r < 0)
			return r;
		t->b = backup_repo_slot(repo, slot);
	}
	if (!t->b)
		return -ENOENT;
	t->where = W_NODE;
	return backup_node_walk(t->b, path, &t->node, e);
}

/* One `ls -l`-like line; target non-NULL makes it a symlink. */
/* How ls prints: names, `ls -l` lines (-l, -o wide), or entries as data
 * (-o json|yaml: collected in out, printed at the end). */
struct lister {
	bool lng;
	enum cli_output fmt;
	json_t *out;
};

static void print_long_link(struct lister *l, const char *name,
			    const struct backup_stat *st, const char *target)
{
	char when[32];
	time_t t = (time_t)st->mtime;
	struct tm tm;

	gmtime_r(&t, &tm);
	if (l->out) {
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_array_append_new(
			l->out, json_pack("{s:s, s:s, s:I, s:s, s:s, s:s?, "
					  "s:b}",
					  "name", name, "type",
					  target		      ? "link" :
					  st->type == BACKUP_NODE_DIR ? "direct"
									"ory" :
									"file",
					  "size",
					  (json_int_t)(target ? strlen(target) :
								st->size),
					  "mode",
					  target		      ? "0777" :
					  st->type == BACKUP_NODE_DIR ? "0555" :
					  (st->perm & 044)	      ? "0444" :
									"0400",
					  "modified", when, "target", target,
					  "unreadable", (int)st->broken));
		return;
	}
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
	if (target) {
		printf("lrwxrwxrwx %10zu %s %s -> %s\n", strlen(target), when,
		       name, target);
		return;
	}
	printf("%c%c%c%c%c%c%c%c%c%c %10llu %s %s%s\n",
	       st->type == BACKUP_NODE_DIR ? 'd' : '-',
	       st->perm & 0400 ? 'r' : '-', '-', st->perm & 0100 ? 'x' : '-',
	       st->perm & 040 ? 'r' : '-', '-', st->perm & 010 ? 'x' : '-',
	       st->perm & 04 ? 'r' : '-', '-', st->perm & 01 ? 'x' : '-',
	       (unsigned long long)st->size, when, name,
	       st->broken ? "  (unreadable: see errors.txt)" : "");
}

static void print_long(struct lister *l, const char *name,
		       const struct backup_stat *st)
{
	print_long_link(l, name, st, NULL);
}

/* A directory of the top of the tree (no backup behind it). */
static void print_top(struct lister *l, const char *name, const char *target)
{
	struct backup_stat st = { .type = BACKUP_NODE_DIR,
				  .perm = 0555,
				  .mtime = time(NULL) };

	if (l->lng)
		print_long_link(l, name, &st, target);
	else
		puts(name);
}

static int list_node(struct lister *l, struct backup *b, uint32_t dir)
{
	struct verror e = { { 0 } };
	char name[512];
	uint32_t n, i, node;
	int r;

	r = backup_node_nchildren(b, dir, &n, &e);
	if (r < 0)
		return log_error_errno(r, "%s: %s", backup_name(b),
				       e.msg[0] ? e.msg : strerror(-r));
	for (i = 0; i < n; i++) {
		struct backup_stat st;

		r = backup_node_child(b, dir, i, &node, name, sizeof(name), &e);
		if (r < 0)
			return log_error_errno(r, "%s: %m", backup_name(b));
		if (!l->lng) {
			puts(name);
			continue;
		}
		r = backup_node_stat(b, node, &st, &e);
		if (r < 0)
			return log_error_errno(r, "%s: %m", name);
		if (st.type == BACKUP_NODE_LINK) {
			/* a version's link under apiversions/: its target */
			const void *data;
			char target[4096];
			size_t got = 0;

			r = backup_node_read(b, node, 0, sizeof(target) - 1,
					     &data, &got, &e);
			if (r < 0)
				return log_error_errno(r, "%s: %s", name,
						       cli_why(&e, r));
			memcpy(target, data, got);
			target[got] = '\0';
			print_long_link(l, name, &st, target);
			continue;
		}
		print_long(l, name, &st);
	}
	return 0;
}

/* clang-format off */
static const char browse_common_help[] =
	"  --view yaml|json  the file view: items as <name>.yaml (the\n"
	"                    default) or <name>.json, the original bytes\n"
	"                    (--json: the older spelling of --view json)\n"
	"  --clean, --keep-status, --redact\n"
	"                    the views of `mount -o clean,keep_status,redact`\n"
	"  --credentials FILE  the vault's credentials file\n"
	"  --encryption-config FILE  decrypt etcd snapshots' values (as\n"
	"                    `mount -o encryption-config=FILE`)\n"
	"  --cache DIR       cache directory\n";

static void ls_usage(FILE *f)
{
	fprintf(f,
		"Usage: velerofs ls [-l] [OPTIONS] VAULT [PATH]\n"
		"\n"
		"Lists PATH (default: the top) of the tree a mount of VAULT\n"
		"shows, e.g. backups/latest/namespaces/shop or history/...,\n"
		"without mounting.\n"
		"  -l                long listing: mode, size, time\n"
		"  -o wide|json|yaml the long listing, or entries as data\n%s",
		browse_common_help);
}

static void cat_usage(FILE *f)
{
	fprintf(f,
		"Usage: velerofs cat [OPTIONS] VAULT PATH\n"
		"\n"
		"Prints the file at PATH of the tree a mount of VAULT shows,\n"
		"e.g. backups/latest/namespaces/shop/configmaps/app.yaml.\n%s",
		browse_common_help);
}
/* clang-format on */

/* ---- ls: one function per kind of directory ---- */

static void list_root(struct lister *l)
{
	print_top(l, "backups", NULL);
	print_top(l, "schedules", NULL);
	print_top(l, "history", NULL);
	print_top(l, "snapshots", NULL);
}

/* snapshots/: latest, then every snapshot still in the vault. */
static void list_snapshots(struct backup_repo *repo, struct lister *l)
{
	struct verror e = { { 0 } };
	size_t i, n = backup_repo_count(repo);

	if (backup_repo_snapshot_count(repo))
		print_top(l, BACKUP_LATEST, NULL);
	for (i = 0; i < n; i++) {
		struct backup *b = backup_repo_slot(repo, i);
		struct backup_stat st;

		if (backup_gone(b) || !backup_is_snapshot(b))
			continue;
		if (!l->lng)
			puts(backup_name(b));
		else if (backup_node_stat(b, BACKUP_NODE_ROOT, &st, &e) == 0)
			print_long(l, backup_name(b), &st);
	}
}

/* snapshots/latest/: a link per cluster. */
static void list_snapshot_latest(struct backup_repo *repo, struct lister *l)
{
	struct backup_snapshot_latest *v = NULL;
	size_t n = 0, i;

	if (backup_repo_snapshot_latest(repo, &v, &n) < 0)
		return;
	for (i = 0; i < n; i++) {
		char target[600];

		snprintf(target, sizeof(target), "../%s",
			 backup_name(backup_repo_slot(repo, v[i].slot)));
		print_top(l, v[i].cluster, target);
	}
	free(v);
}

/* history/...: an object's versions (links to the first backup with the
 * same content), or the directories leading to objects. */
static int list_history(struct backup_repo *repo, const struct target *t,
			const char *path, struct lister *l)
{
	struct backup_version *v = NULL;
	struct verror e = { { 0 } };
	char **names = NULL;
	size_t n = 0, i;
	int r;

	if (backup_history_versions(repo, t->hist, t->nhist, &v, &n) == 0) {
		for (i = 0; i < n; i++) {
			struct backup *vb = backup_repo_slot(repo, v[i].slot);
			struct backup_stat st;

			if (v[i].same_as >= 0)
				print_top(l, v[i].name, v[v[i].same_as].name);
			else if (!l->lng)
				puts(v[i].name);
			else if (backup_node_stat(vb, v[i].node, &st, &e) == 0)
				print_long(l, v[i].name, &st);
		}
		free(v);
		return 0;
	}
	r = backup_history_list(repo, t->hist, t->nhist, &names, &n);
	if (r < 0)
		return log_error_errno(r, "%s: %s", path, strerror(-r));
	for (i = 0; i < n; i++) {
		print_top(l, names[i], NULL);
		free(names[i]);
	}
	free(names);
	return 0;
}

/* backups/: latest, then every backup still in the vault. */
static void list_backups(struct backup_repo *repo, struct lister *l)
{
	struct verror e = { { 0 } };
	size_t i, n = backup_repo_count(repo), slot;

	if (backup_repo_latest_link(repo, &slot) == 0)
		print_top(l, BACKUP_LATEST,
			  backup_name(backup_repo_slot(repo, slot)));
	for (i = 0; i < n; i++) {
		struct backup *b = backup_repo_slot(repo, i);
		struct backup_stat st;

		if (backup_gone(b) || backup_is_snapshot(b))
			continue;
		if (!l->lng)
			puts(backup_name(b));
		else if (backup_node_stat(b, BACKUP_NODE_ROOT, &st, &e) == 0)
			print_long(l, backup_name(b), &st);
	}
}

static void list_schedules(struct backup_repo *repo, struct lister *l)
{
	size_t i, n = backup_repo_schedule_count(repo);

	for (i = 0; i < n; i++)
		print_top(l, backup_repo_schedule_name(repo, i), NULL);
}

/* schedules/<s>/: links to the backups of the schedule. */
static int list_schedule(struct backup_repo *repo, size_t sched,
			 struct lister *l)
{
	size_t *slots = NULL, n = 0, i;
	int r;

	r = backup_repo_schedule_members(repo, sched, &slots, &n);
	if (r < 0)
		return r;
	for (i = 0; i < n; i++) {
		const char *bn = backup_name(backup_repo_slot(repo, slots[i]));
		char target[600];

		snprintf(target, sizeof(target), "../../backups/%s", bn);
		print_top(l, bn, target);
	}
	free(slots);
	return 0;
}

/* A path inside a backup: a directory's entries, or the file itself. */
static int list_path(const struct target *t, const char *path, struct lister *l)
{
	struct verror e = { { 0 } };
	struct backup_stat st;
	int r;

	r = backup_node_stat(t->b, t->node, &st, &e);
	if (r < 0)
		return log_error_errno(r, "%s: %s", path, cli_why(&e, r));
	if (st.type == BACKUP_NODE_DIR)
		return list_node(l, t->b, t->node);
	if (l->lng)
		print_long(l, path, &st);
	else
		puts(path);
	return 0;
}

static int list_target(struct backup_repo *repo, const struct target *t,
		       const char *path, struct lister *l)
{
	switch (t->where) {
	case W_ROOT:
		list_root(l);
		return 0;
	case W_HISTORY:
		return list_history(repo, t, path, l);
	case W_BACKUPS:
		list_backups(repo, l);
		return 0;
	case W_SCHEDULES:
		list_schedules(repo, l);
		return 0;
	case W_SNAPSHOTS:
		list_snapshots(repo, l);
		return 0;
	case W_SNAPLATEST:
		list_snapshot_latest(repo, l);
		return 0;
	case W_SCHEDULE:
		return list_schedule(repo, t->sched, l);
	case W_NODE:
	default:
		return list_path(t, path, l);
	}
}

/* ---- cat ---- */

static int cat_target(const struct target *t, const char *path)
{
	struct verror e = { { 0 } };
	uint64_t off = 0;
	int r;

	if (t->where != W_NODE) {
		log_error("%s: is a directory", path);
		return -EISDIR;
	}
	for (;;) {
		const void *data;
		size_t got;

		r = backup_node_read(t->b, t->node, off, 1 << 20, &data, &got,
				     &e);
		if (r < 0)
			return log_error_errno(r, "%s: %s", path,
					       cli_why(&e, r));
		if (got == 0)
			break;
		if (fwrite(data, 1, got, stdout) != got)
			return -EIO;
		off += got;
	}
	return fflush(stdout) == 0 ? 0 : -EIO;
}

/* ---- both ---- */

struct browse {
	struct cli_opts o;
	struct backup_options bo;
	struct lister ls;
	const char *cmd; /* "ls" or "cat", for messages */
	char *vault;	 /* argv's: session_open() scrubs its secrets */
	const char *path;
};

static int browse_opt(int c, void *userdata)
{
	struct browse *bw = userdata;

	switch (c) {
	case 'j':
		/* the older spelling of --view json: -o json is the output */
		fputs("velerofs: --json is now --view json (-o json formats "
		      "ls's output)\n",
		      stderr);
		bw->bo.view = BACKUP_VIEW_JSON;
		break;
	case 'v':
		return cli_view_parse(bw->cmd, optarg, &bw->bo.view);
	case 'o':
		return cli_output_parse(bw->cmd, optarg, &bw->ls.fmt) ==
				       CLI_GO_ON ?
			       CLI_GO_ON :
			       EXIT_USAGE;
	case 'C':
		bw->bo.clean = true;
		break;
	case 'S':
		bw->bo.keep_status = true;
		break;
	case 'R':
		bw->bo.redact = true;
		break;
	case 'l':
		bw->ls.lng = true;
		break;
	default:
		return CLI_NOT_MINE;
	}
	return CLI_GO_ON;
}

/* The command line into bw: CLI_GO_ON, or the exit status. */
static int browse_args(int argc, char **argv, bool cat, struct browse *bw)
{
	static const struct option longopts[] = {
		CLI_OPTS_HELP,
		CLI_OPT_CACHE,
		CLI_OPT_CREDENTIALS,
		CLI_OPT_ENCRYPTION,
		{ "json", no_argument, NULL, 'j' },
		{ "view", required_argument, NULL, 'v' },
		{ "output", required_argument, NULL, 'o' },
		{ "long", no_argument, NULL, 'l' },
		{ "clean", no_argument, NULL, 'C' },
		{ "keep-status", no_argument, NULL, 'S' },
		{ "redact", no_argument, NULL, 'R' },
		CLI_OPT_END,
	};
	static const struct cli_cmd ls = { "hlVc:o:",  longopts, ls_usage,
					   browse_opt, 1,	 2 };
	static const struct cli_cmd cat_ = { "hlVc:",	 longopts, cat_usage,
					     browse_opt, 2,	   2 };
	int r;

	bw->cmd = cat ? "cat" : "ls";
	r = cli_parse(cat ? &cat_ : &ls, argc, argv, &bw->o, bw);

	if (r != CLI_GO_ON)
		return r;
	bw->vault = argv[optind];
	bw->path = optind + 1 < argc ? argv[optind + 1] : "";
	return CLI_GO_ON;
}

static int browse(int argc, char **argv, bool cat)
{
	struct browse bw = { 0 };
	struct verror e = { { 0 } };
	struct target t = { 0 };
	struct session s;
	int r;

	r = browse_args(argc, argv, cat, &bw);
	if (r != CLI_GO_ON)
		return r;
	if (session_open_opts(&s, bw.cmd, bw.vault, &bw.o, &bw.bo) < 0)
		return 1;
	r = resolve(s.repo, bw.path, &t, &e);
	if (r < 0)
		log_error("%s: %s", bw.path, cli_why(&e, r));
	else if (cat)
		r = cat_target(&t, bw.path);
	else {
		if (bw.ls.fmt == CLI_OUTPUT_JSON ||
		    bw.ls.fmt == CLI_OUTPUT_YAML)
			bw.ls.out = json_array();
		if (bw.ls.fmt != CLI_OUTPUT_TABLE)
			bw.ls.lng = true;
		r = list_target(s.repo, &t, bw.path, &bw.ls);
		if (bw.ls.out)
			cli_print_doc(bw.ls.out, bw.ls.fmt);
	}
	for (size_t i = 0; i < t.nhist; i++)
		free(t.hist[i]);
	session_close(&s);
	return r < 0 ? 1 : 0;
}

int cmd_ls(int argc, char **argv)
{
	return browse(argc, argv, false);
}

int cmd_cat(int argc, char **argv)
{
	return browse(argc, argv, true);
}
