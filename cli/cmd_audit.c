/* cli/cmd_audit: `velerofs find` and `velerofs diff`, answered from the
 * backups' indexes without mounting. */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/log.h"

/* Calls fn for every file below node of b, with its path relative to the
 * backup directory. Stops at fn's first error. */
typedef int (*walk_fn)(struct backup *b, uint32_t node, const char *rel,
		       void *userdata);

static int walk(struct backup *b, uint32_t dir, const char *rel, walk_fn fn,
		void *userdata)
{
	struct verror e = { { 0 } };
	uint32_t n, i, child;
	char name[512], *sub;
	int r;

	r = backup_node_nchildren(b, dir, &n, &e);
	if (r < 0)
		return r;
	for (i = 0; i < n; i++) {
		struct backup_stat st;

		r = backup_node_child(b, dir, i, &child, name, sizeof(name),
				      &e);
		if (r < 0)
			return r;
		if (asprintf(&sub, "%s%s%s", rel, *rel ? "/" : "", name) < 0)
			return -ENOMEM;
		r = backup_node_stat(b, child, &st, &e);
		/* a link (the preferred version under apiversions/) is
		 * the item it points at, visited there */
		if (r == 0 && st.type == BACKUP_NODE_DIR)
			r = walk(b, child, sub, fn, userdata);
		else if (r == 0 && st.type == BACKUP_NODE_FILE)
			r = fn(b, child, sub, userdata);
		free(sub);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The whole file at node, NUL-terminated (borrowed from the index when
 * possible; here copied for simplicity: items are small). */
static char *slurp(struct backup *b, uint32_t node, size_t *len)
{
	struct verror e = { { 0 } };
	const void *data;
	size_t got;
	char *s;

	if (backup_node_read(b, node, 0, (size_t)1 << 30, &data, &got, &e) < 0)
		return NULL;
	s = malloc(got + 1);
	if (!s)
		return NULL;
	memcpy(s, data, got);
	s[got] = '\0';
	*len = got;
	return s;
}

/* ---- find ---- */

/* kubectl's short names of the built-in kinds (its discovery-free table,
 * the names `kubectl api-resources` lists under SHORTNAMES). */
static const char *const short_names[][2] = {
	{ "cm", "configmaps" },
	{ "cj", "cronjobs" },
	{ "crd", "customresourcedefinitions" },
	{ "crds", "customresourcedefinitions" },
	{ "cs", "componentstatuses" },
	{ "csr", "certificatesigningrequests" },
	{ "deploy", "deployments" },
	{ "ds", "daemonsets" },
	{ "ep", "endpoints" },
	{ "ev", "events" },
	{ "hpa", "horizontalpodautoscalers" },
	{ "ing", "ingresses" },
	{ "limits", "limitranges" },
	{ "netpol", "networkpolicies" },
	{ "no", "nodes" },
	{ "ns", "namespaces" },
	{ "pc", "priorityclasses" },
	{ "pdb", "poddisruptionbudgets" },
	{ "po", "pods" },
	{ "psp", "podsecuritypolicies" },
	{ "pv", "persistentvolumes" },
	{ "pvc", "persistentvolumeclaims" },
	{ "quota", "resourcequotas" },
	{ "rc", "replicationcontrollers" },
	{ "rs", "replicasets" },
	{ "sa", "serviceaccounts" },
	{ "sc", "storageclasses" },
	{ "sts", "statefulsets" },
	{ "svc", "services" },
	{ "vs", "volumesnapshots" },
	{ "vsc", "volumesnapshotcontents" },
	{ "vsclass", "volumesnapshotclasses" },
};

/* A --kind as kubectl takes it, split once: the resource or kind word
 * (lower case, short names expanded) and the group ("" for any). */
struct kind_want {
	char word[128];
	char group[256];
	bool has_group;
};

static void kind_parse(const char *k, struct kind_want *w)
{
	const char *dot = strchr(k, '.'), *g;
	size_t n = dot ? (size_t)(dot - k) : strlen(k), i;

	*w = (struct kind_want){ { 0 } };
	if (n >= sizeof(w->word))
		n = sizeof(w->word) - 1;
	for (i = 0; i < n; i++)
		w->word[i] = (char)tolower((unsigned char)k[i]);
	for (i = 0; i < sizeof(short_names) / sizeof(short_names[0]); i++)
		if (!strcmp(w->word, short_names[i][0]))
			snprintf(w->word, sizeof(w->word), "%s",
				 short_names[i][1]);
	if (!dot)
		return;
	g = dot + 1;
	/* resource.version.group: the version is no part of the group */
	if (g[0] == 'v' && isdigit((unsigned char)g[1]) && strchr(g, '.'))
		g = strchr(g, '.') + 1;
	else if (g[0] == 'v' && isdigit((unsigned char)g[1]))
		g = "";
	w->has_group = *g != '\0';
	snprintf(w->group, sizeof(w->group), "%s", g);
	for (i = 0; w->group[i]; i++)
		w->group[i] = (char)tolower((unsigned char)w->group[i]);
}

/* Whether word names resource (plural, singular, or a kind in lower
 * case: deployment(s), ingress(es), networkpolic(y|ies)). */
static bool word_is_resource(const char *word, const char *res, size_t rl)
{
	size_t wl = strlen(word);

	if (wl == rl && !strncmp(word, res, rl))
		return true;
	if (wl + 1 == rl && res[wl] == 's' && !strncmp(word, res, wl))
		return true;
	if (wl + 2 == rl && !strncmp(res + wl, "es", 2) &&
	    !strncmp(word, res, wl))
		return true;
	return wl > 1 && word[wl - 1] == 'y' && wl + 2 == rl &&
	       !strncmp(res + wl - 1, "ies", 3) && !strncmp(word, res, wl - 1);
}

/* Whether the directory gr (resource[.group], Velero's name) is what w
 * names; the group may be given in full or as its first words (apps,
 * networking, rbac.authorization). */
static bool kind_matches_dir(const struct kind_want *w, const char *gr)
{
	const char *dot = strchr(gr, '.');
	size_t rl = dot ? (size_t)(dot - gr) : strlen(gr);
	const char *g = dot ? dot + 1 : "";
	size_t gl = strlen(w->group);

	if (!word_is_resource(w->word, gr, rl))
		return false;
	if (!w->has_group)
		return true;
	if (!strcmp(w->group, "core") || !strcmp(w->group, "v1"))
		return !*g;
	return !strncmp(g, w->group, gl) && (!g[gl] || g[gl] == '.');
}

/* The same test against an object's own kind and apiVersion, for kinds
 * whose resource name isn't their plural (Endpoints, custom ones). */
static bool kind_matches_object(const struct kind_want *w, json_t *obj)
{
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	const char *av = json_string_value(json_object_get(obj, "apiVersion"));
	const char *slash;
	size_t gl = strlen(w->group);

	if (!kind || strcasecmp(kind, w->word))
		return false;
	if (!w->has_group)
		return true;
	slash = av ? strchr(av, '/') : NULL;
	if (!slash)
		return !strcmp(w->group, "core") || !strcmp(w->group, "v1");
	return !strncasecmp(av, w->group, gl) &&
	       (av[gl] == '/' || av[gl] == '.');
}

struct find {
	const char *kind, *ns, *name, *label, *image, *backup;
	struct kind_want want; /* kind, parsed */
	enum cli_output fmt;   /* -o */
	json_t *out;	       /* -o json|yaml: the matches */
	bool json;	       /* print .json paths */
	size_t found;
};

static bool image_matches(json_t *j, const char *glob)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_object(j)) {
		json_object_foreach(j, k, v)
		{
			if (!strcmp(k, "image") && json_is_string(v) &&
			    !fnmatch(glob, json_string_value(v), 0))
				return true;
			if (image_matches(v, glob))
				return true;
		}
	} else if (json_is_array(j)) {
		json_array_foreach(j, i,
				   v) if (image_matches(v, glob)) return true;
	}
	return false;
}

static bool label_matches(json_t *obj, const char *spec)
{
	json_t *labels = json_object_get(json_object_get(obj, "metadata"), "lab"
									   "el"
									   "s");
	const char *eq = strchr(spec, '=');
	char key[512];
	json_t *v;

	snprintf(key, sizeof(key), "%.*s",
		 (int)(eq ? (size_t)(eq - spec) : strlen(spec)), spec);
	v = json_object_get(labels, key);
	if (!v)
		return false;
	return !eq ||
	       (json_is_string(v) && !strcmp(json_string_value(v), eq + 1));
}

static int on_found(struct backup *b, uint32_t node, const char *rel,
		    void *userdata)
{
	struct find *f = userdata;
	char gr[256], ns[256] = "", name[512], *copy, *p, *c[5];
	bool need_json = f->label || f->image;
	size_t n = 0, len = 0;
	json_t *obj = NULL;
	int match = 1;

	copy = strdup(rel);
	if (!copy)
		return -ENOMEM;
	for (p = strtok(copy, "/"); p && n < 5; p = strtok(NULL, "/"))
		c[n++] = p;
	if (n == 4 && !strcmp(c[0], "namespaces")) {
		snprintf(ns, sizeof(ns), "%s", c[1]);
		snprintf(gr, sizeof(gr), "%s", c[2]);
		snprintf(name, sizeof(name), "%s", c[3]);
	} else if (n == 3 && !strcmp(c[0], "cluster")) {
		snprintf(gr, sizeof(gr), "%s", c[1]);
		snprintf(name, sizeof(name), "%s", c[2]);
	} else {
		free(copy);
		return 0;
	}
	free(copy);
	name[strlen(name) - 5] = '\0'; /* .json */
	if (f->ns && fnmatch(f->ns, ns, 0))
		return 0;
	if (f->name && fnmatch(f->name, name, 0))
		return 0;
	if (f->kind && !kind_matches_dir(&f->want, gr))
		need_json = true;
	if (need_json) {
		char *text = slurp(b, node, &len);

		obj = text ? json_loadb(text, len, 0, NULL) : NULL;
		free(text);
		if (!obj)
			return 0;
		if (f->kind && !kind_matches_dir(&f->want, gr) &&
		    !kind_matches_object(&f->want, obj))
			match = 0;
		if (match && f->label && !label_matches(obj, f->label))
			match = 0;
		if (match && f->image && !image_matches(obj, f->image))
			match = 0;
		json_decref(obj);
	}
	if (match) {
		char *path = NULL;

		if (asprintf(&path, "%s/%s/%.*s%s",
			     backup_is_snapshot(b) ? "snapshots" : "backups",
			     backup_name(b), (int)(strlen(rel) - 5), rel,
			     f->json ? ".json" : ".yaml") < 0)
			return -ENOMEM;
		if (f->out)
			json_array_append_new(
				f->out,
				json_pack("{s:s, s:s, s:s?, s:s, s:s}", "path",
					  path, "backup", backup_name(b),
					  "namespace", ns[0] ? ns : NULL,
					  "resource", gr, "name", name));
		else
			puts(path);
		free(path);
		f->found++;
	}
	return 0;
}

static void find_usage(FILE *f)
{
	fputs("Usage: velerofs find [OPTIONS] VAULT\n"
	      "\n"
	      "Prints the items of every backup that match, as paths of the\n"
	      "mount (backups/<b>/namespaces/<ns>/<resource>/<name>.yaml), so\n"
	      "the output pipes into cp for a restore. Filters combine (AND);\n"
	      "GLOBs are shell patterns.\n"
	      "  --kind K          resource (deployments, deployments.apps) "
	      "or\n"
	      "                    kind (Deployment)\n"
	      "  --namespace GLOB  namespace\n"
	      "  --name GLOB       object name\n"
	      "  --label K[=V]     has label K (with value V)\n"
	      "  --image GLOB      a container image matches\n"
	      "  --backup GLOB     only these backups\n"
	      "  -o json|yaml      the matches as data (path, backup,\n"
	      "                    namespace, resource, name)\n"
	      "  --view yaml|json  the paths of that file view (--json: "
	      "the same\n"
	      "                    as --view json)\n"
	      "  --encryption-config FILE  decrypt etcd snapshots' values\n"
	      "  --cache DIR       cache directory\n"
	      "Exit status: 0 when something matched, 1 when nothing did.\n",
	      f);
}

static int find_opt(int c, void *userdata)
{
	struct find *f = userdata;

	switch (c) {
	case 'k':
		f->kind = optarg;
		break;
	case 'n':
		f->ns = optarg;
		break;
	case 'N':
		f->name = optarg;
		break;
	case 'l':
		f->label = optarg;
		break;
	case 'i':
		f->image = optarg;
		break;
	case 'b':
		f->backup = optarg;
		break;
	case 'j':
		f->json = true;
		break;
	case 'o':
		return cli_output_parse("find", optarg, &f->fmt) == CLI_GO_ON ?
			       CLI_GO_ON :
			       EXIT_USAGE;
	case 'v': {
		enum backup_view v;

		if (cli_view_parse("find", optarg, &v) != CLI_GO_ON)
			return EXIT_USAGE;
		f->json = v == BACKUP_VIEW_JSON;
		break;
	}
	default:
		return CLI_NOT_MINE;
	}
	return CLI_GO_ON;
}

int cmd_find(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_OPTS_HELP,
		CLI_OPT_CACHE,
		CLI_OPT_CREDENTIALS,
		CLI_OPT_ENCRYPTION,
		{ "kind", required_argument, NULL, 'k' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "name", required_argument, NULL, 'N' },
		{ "label", required_argument, NULL, 'l' },
		{ "image", required_argument, NULL, 'i' },
		{ "backup", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "view", required_argument, NULL, 'v' },
		{ "output", required_argument, NULL, 'o' },
		CLI_OPT_END,
	};
	static const struct cli_cmd cmd = { "hVn:l:o:", longopts, find_usage,
					    find_opt,	1,	  1 };
	struct backup_options bo = { .view = BACKUP_VIEW_JSON };
	struct cli_opts o = { 0 };
	struct find f = { 0 };
	struct session s;
	size_t i, n, damaged = 0;
	int r;

	r = cli_parse(&cmd, argc, argv, &o, &f);
	if (r != CLI_GO_ON)
		return r;
	if (f.kind)
		kind_parse(f.kind, &f.want);
	if (f.fmt == CLI_OUTPUT_JSON || f.fmt == CLI_OUTPUT_YAML)
		f.out = json_array();
	if (session_open_opts(&s, "find", argv[optind], &o, &bo) < 0)
		return EXIT_USAGE;
	if (f.backup && !strcmp(f.backup, "latest")) {
		struct backup *l = cli_backup_find(s.repo, "latest");

		f.backup = l ? backup_name(l) : "";
	}
	n = backup_repo_count(s.repo);
	for (i = 0; i < n; i++) {
		struct backup *b = backup_repo_slot(s.repo, i);
		struct verror e = { { 0 } };
		char why[512];
		uint32_t node;

		if (backup_gone(b) ||
		    (f.backup && fnmatch(f.backup, backup_name(b), 0)))
			continue;
		r = backup_open(b, &e);
		if (r < 0) {
			log_error("%s: %s", backup_name(b), e.msg);
			damaged++;
			continue;
		}
		if (cli_backup_damaged(b, why, sizeof(why))) {
			/* what it still holds is searched; the exit says */
			log_error("backup %s is damaged: %s (see "
				  "%s/%s/errors.txt)",
				  backup_name(b), why,
				  backup_is_snapshot(b) ? "snapshots" :
							  "backups",
				  backup_name(b));
			damaged++;
		}
		if (backup_node_walk(b, "namespaces", &node, NULL) == 0)
			walk(b, node, "namespaces", on_found, &f);
		/* cluster-scoped items have no namespace to match */
		if (!f.ns && backup_node_walk(b, "cluster", &node, NULL) == 0)
			walk(b, node, "cluster", on_found, &f);
	}
	session_close(&s);
	if (f.out)
		cli_print_doc(f.out, f.fmt);
	if (damaged)
		return EXIT_USAGE;
	return f.found ? 0 : 1;
}

/* ---- diff ---- */

struct entry {
	char *rel;
	uint32_t node;
};

struct entries {
	struct entry *v;
	size_t n, cap;
};

static int collect(struct backup *b, uint32_t node, const char *rel,
		   void *userdata)
{
	struct entries *es = userdata;

	if (es->n == es->cap) {
		size_t cap = es->cap ? es->cap * 2 : 256;
		struct entry *nv = realloc(es->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		es->v = nv;
		es->cap = cap;
	}
	(void)b;
	es->v[es->n].rel = strdup(rel);
	if (!es->v[es->n].rel)
		return -ENOMEM;
	es->v[es->n].node = node;
	es->n++;
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->rel,
		      ((const struct entry *)b)->rel);
}

/* Writes data to a temporary file; returns its path (caller unlinks and
 * frees). */
static char *temp_with(const char *data, size_t len)
{
	const char *dir = getenv("TMPDIR");
	char *path;
	int fd;

	if (asprintf(&path, "%s/velerofs-diff-XXXXXX", dir ? dir : "/tmp") < 0)
		return NULL;
	fd = mkstemp(path);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
		free(path);
		return NULL;
	}
	close(fd);
	return path;
}

/* diff -u of two texts (either may be NULL: /dev/null). */
static void unified(const char *la, const char *a, size_t alen, const char *lb,
		    const char *bb, size_t blen)
{
	char *pa = a ? temp_with(a, alen) : NULL;
	char *pb = bb ? temp_with(bb, blen) : NULL;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execlp("diff", "diff", "-u", "--label", la, "--label", lb,
		       pa ? pa : "/dev/null", pb ? pb : "/dev/null",
		       (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	if (pa)
		unlink(pa);
	if (pb)
		unlink(pb);
	free(pa);
	free(pb);
}

static void diff_usage(FILE *f)
{
	fputs("Usage: velerofs diff [-p] [--raw] [--cache DIR] VAULT BACKUP_A "
	      "BACKUP_B [PATH]\n"
	      "\n"
	      "Lists the items added, removed and changed from BACKUP_A to\n"
	      "BACKUP_B, below PATH (default: namespaces and cluster; e.g.\n"
	      "namespaces/shop). Items are compared as `-o clean` shows them:\n"
	      "without managedFields, resourceVersion, uid, status and the\n"
	      "other server-set noise.\n"
	      "  -p, --patch  a unified diff of each change\n"
	      "  --raw        compare the items as backed up (no cleaning)\n"
	      "  --encryption-config FILE  decrypt etcd snapshots' values\n"
	      "  --cache DIR  cache directory\n"
	      "BACKUP_A and BACKUP_B may be etcd snapshots (their names,\n"
	      "snapshots/<name> or snapshots/latest/<cluster>).\n"
	      "Exit status: 0 when the backups are the same, 1 when they\n"
	      "differ, 2 on trouble.\n",
	      f);
}

static void entries_release(struct entries *es)
{
	for (size_t i = 0; i < es->n; i++)
		free(es->v[i].rel);
	free(es->v);
	*es = (struct entries){ 0 };
}

/* The files of b below each of tops (a missing one is empty), sorted by
 * path. Logs and returns -errno on failure. */
static int diff_collect(struct backup *b, const char *const *tops, size_t ntops,
			struct entries *es)
{
	for (size_t i = 0; i < ntops; i++) {
		struct verror e = { { 0 } };
		uint32_t node;
		int r;

		r = backup_node_walk(b, tops[i], &node, &e);
		if (r == 0)
			r = walk(b, node, tops[i], collect, es);
		if (r < 0 && r != -ENOENT)
			return log_error_errno(r, "%s: %s", backup_name(b),
					       cli_why(&e, r));
	}
	if (es->n) /* a path with nothing below: no array */
		qsort(es->v, es->n, sizeof(*es->v), cmp_entry);
	return 0;
}

/* A backup diff can compare: opened, and not damaged (a diff against a
 * half-read tarball would report its lost items as removed). Says why
 * not; -errno. */
static int diff_usable(struct backup *b)
{
	struct verror e = { { 0 } };
	char why[512];
	int r;

	r = backup_open(b, &e);
	if (r < 0)
		return log_error_errno(r, "backup %s: %s", backup_name(b),
				       cli_why(&e, r));
	if (cli_backup_damaged(b, why, sizeof(why)))
		return log_error_errno(EIO,
				       "backup %s is damaged: %s (see "
				       "%s/%s/errors.txt)",
				       backup_name(b), why,
				       backup_is_snapshot(b) ? "snapshots" :
							       "backups",
				       backup_name(b));
	return 0;
}

/* Whether path names nothing in either backup (a typo, not an empty
 * directory). */
static bool diff_path_missing(struct backup *a, struct backup *b,
			      const char *path)
{
	uint32_t node;

	return backup_node_walk(a, path, &node, NULL) < 0 &&
	       backup_node_walk(b, path, &node, NULL) < 0;
}

/* One line for a file removed (ea, cmp < 0), added (eb, cmp > 0) or
 * present in both (cmp == 0: nothing if the same); with patch, its diff
 * -u. Returns 1 if it differs. */
static int diff_one(struct backup *a, const struct entry *ea, struct backup *b,
		    const struct entry *eb, int cmp, bool patch)
{
	const char *rel = cmp > 0 ? eb->rel : ea->rel;
	char la[1200], lb[1200], *ta = NULL, *tb = NULL;
	size_t lena = 0, lenb = 0;

	if (cmp <= 0)
		ta = slurp(a, ea->node, &lena);
	if (cmp >= 0)
		tb = slurp(b, eb->node, &lenb);
	if (cmp == 0 && ta && tb && lena == lenb && !memcmp(ta, tb, lena)) {
		free(ta);
		free(tb);
		return 0;
	}
	printf("%-8s %s\n",
	       cmp < 0 ? "removed" :
	       cmp > 0 ? "added" :
			 "changed",
	       rel);
	if (patch) {
		snprintf(la, sizeof(la), "%s/%s", backup_name(a), rel);
		snprintf(lb, sizeof(lb), "%s/%s", backup_name(b), rel);
		unified(la, ta, lena, lb, tb, lenb);
	}
	free(ta);
	free(tb);
	return 1;
}

/* Walks the two sorted lists side by side; returns how many differ. */
static size_t diff_entries(struct backup *a, const struct entries *ea,
			   struct backup *b, const struct entries *eb,
			   bool patch)
{
	size_t i = 0, j = 0, changes = 0;

	while (i < ea->n || j < eb->n) {
		int cmp = i == ea->n ? 1 :
			  j == eb->n ? -1 :
				       strcmp(ea->v[i].rel, eb->v[j].rel);

		changes += diff_one(a, i < ea->n ? &ea->v[i] : NULL, b,
				    j < eb->n ? &eb->v[j] : NULL, cmp, patch);
		if (cmp <= 0)
			i++;
		if (cmp >= 0)
			j++;
	}
	return changes;
}

struct diff_args {
	struct backup_options bo;
	bool patch;
};

static int diff_opt(int c, void *userdata)
{
	struct diff_args *da = userdata;

	if (c == 'p')
		da->patch = true;
	else if (c == 'r')
		da->bo.clean = false;
	else
		return CLI_NOT_MINE;
	return CLI_GO_ON;
}

int cmd_diff(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_OPTS_HELP,
		CLI_OPT_CACHE,
		CLI_OPT_CREDENTIALS,
		CLI_OPT_ENCRYPTION,
		{ "patch", no_argument, NULL, 'p' },
		{ "raw", no_argument, NULL, 'r' },
		CLI_OPT_END,
	};
	static const struct cli_cmd cmd = { "hVp",    longopts, diff_usage,
					    diff_opt, 3,	4 };
	struct diff_args da = { .bo = { .clean = true } };
	struct entries ea = { 0 }, eb = { 0 };
	const char *tops[2] = { "namespaces", "cluster" };
	struct cli_opts o = { 0 };
	struct backup *a, *b;
	struct session s;
	size_t ntops = 2;
	int ret;

	ret = cli_parse(&cmd, argc, argv, &o, &da);
	if (ret != CLI_GO_ON)
		return ret;
	ret = EXIT_USAGE;
	if (argc - optind == 4) {
		tops[0] = argv[optind + 3];
		ntops = 1;
	}
	if (session_open_opts(&s, "diff", argv[optind], &o, &da.bo) < 0)
		return EXIT_USAGE;
	a = cli_backup_find(s.repo, argv[optind + 1]);
	b = cli_backup_find(s.repo, argv[optind + 2]);
	if (!a || !b)
		log_error("no backup named %s in %s",
			  a ? argv[optind + 2] : argv[optind + 1],
			  vault_id(s.vault));
	else if (diff_usable(a) == 0 && diff_usable(b) == 0 &&
		 diff_collect(a, tops, ntops, &ea) == 0 &&
		 diff_collect(b, tops, ntops, &eb) == 0) {
		if (ntops == 1 && !ea.n && !eb.n &&
		    diff_path_missing(a, b, tops[0]))
			log_error("%s: no such path in %s or %s (paths are "
				  "like namespaces/NS or "
				  "cluster/RESOURCE.GROUP)",
				  tops[0], backup_name(a), backup_name(b));
		else
			ret = diff_entries(a, &ea, b, &eb, da.patch) ? 1 : 0;
	}
	entries_release(&ea);
	entries_release(&eb);
	session_close(&s);
	return ret;
}
