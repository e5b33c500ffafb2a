/* cli/cmd_restore: `velerofs restore status|wait`: the restore jobs of a
 * mount, as its restore/jobs/ shows them, for scripts and people who
 * prefer a command to `cat`; `velerofs restore create`: a restore of a
 * whole backup with filters and namespace mappings, done as the copies a
 * person would make into restore/ (so it is the same jobs, the same
 * order, the same reports). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "restore/restore.h"

static void restore_usage(FILE *f)
{
	fputs("Usage: velerofs restore status [--json] MOUNTPOINT [JOB]\n"
	      "       velerofs restore wait [--json] [--timeout SECONDS] "
	      "MOUNTPOINT [JOB]\n"
	      "\n"
	      "status  prints the report of JOB (default: every job, oldest\n"
	      "        first): its source, state and one line per item;\n"
	      "        --json: [{job, state, report}, ...], or with JOB\n"
	      "        that one {job, state, report}\n"
	      "wait    waits until JOB (default: the latest) is done, failed\n"
	      "        or rejected, prints its report; exit status 0 when\n"
	      "        done, 1 when failed or rejected or on timeout\n"
	      "       velerofs restore create MOUNTPOINT --from-backup B\n"
	      "           [--include-namespaces A,B] [--exclude-namespaces A]\n"
	      "           [--include-resources R,..] [--exclude-resources "
	      "R,..]\n"
	      "           [--namespace-mappings A:B,..] [--selector S]\n"
	      "           [--wait] [--json]\n"
	      "A JOB is a name in MOUNTPOINT/restore/jobs/ (with or without\n"
	      ".txt).\n"
	      "create  copies the items of backup B (its namespaces; with no\n"
	      "        --include-namespaces also its cluster-scoped items but\n"
	      "        Namespaces, which are made as needed) into\n"
	      "        MOUNTPOINT/restore/, into namespaces/<ns>/ or the\n"
	      "        mapped namespace, and prints the job(s); resources\n"
	      "        are named as the backup's folders (deployments.apps)\n"
	      "        or by resource alone (deployments). --selector\n"
	      "        copies only items whose labels match S, as kubectl\n"
	      "        and velero read it: k=v, k!=v, 'k in (a,b)',\n"
	      "        'k notin (a,b)', k, !k, joined by commas.\n"
	      "        Velero's --existing-resource-policy and --dry-run\n"
	      "        are mount options here, for every job of the\n"
	      "        mount: mount with -o existing=update, -o dry_run\n"
	      "        (the flags are refused with that advice).\n",
	      f);
}

static int read_report(const char *path, struct sbuf *out)
{
	FILE *f = fopen(path, "r");
	char buf[65536];
	size_t n;

	if (!f)
		return -errno;
	sbuf_reset(out);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (sbuf_add(out, buf, n) < 0)
			break;
	fclose(f);
	return 0;
}

/* The job's state, from the "state" line of its report. */
static const char *report_state(const struct sbuf *r)
{
	static const char *const states[] = {
		"pending", "running", "done", "failed", "rejected", "waiting"
	};
	const char *p = sbuf_str(r);
	size_t i;

	for (; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		const char *v;

		/* "state done" */
		if (strncasecmp(p, "state ", 6))
			continue;
		for (v = p + 6; *v == ' ' || *v == '\t'; v++)
			;
		for (i = 0; i < sizeof(states) / sizeof(*states); i++)
			if (!strncasecmp(v, states[i], strlen(states[i])))
				return states[i];
	}
	return "unknown";
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One job as JSON: {job, state, report}. */
static json_t *job_json(const char *name, const struct sbuf *rep)
{
	const char *r = sbuf_str(rep);
	size_t l;

	if (r && !strncmp(r, "job ", 4)) /* its id, also for "latest" */
		name = r + 4;
	l = strcspn(name, "\n");

	if (l > 4 && !strcmp(name + l - 4, ".txt"))
		l -= 4;
	return json_pack("{s:s%, s:s, s:s}", "job", name, l, "state",
			 report_state(rep), "report", sbuf_str(rep));
}

static void print_json(json_t *v)
{
	char *text = v ? json_dumps(v, JSON_INDENT(2)) : NULL;

	if (text)
		puts(text);
	free(text);
	json_decref(v);
}

/* restore wait: polls the report until the job is finished or timeout
 * seconds have passed. Returns the exit status. */
static int restore_wait(const char *jobs, const char *job, double timeout,
			bool json, struct sbuf *rep)
{
	int64_t t0 = clock_now_ms();
	char path[8192];

	snprintf(path, sizeof(path), "%s/%s%s", jobs, job ? job : "latest",
		 job && !strstr(job, ".txt") ? ".txt" : "");
	for (;;) {
		const char *st;

		if (read_report(path, rep) < 0) {
			log_error("%s: %m", path);
			return 1;
		}
		st = report_state(rep);
		if (!strcmp(st, "done") || !strcmp(st, "failed") ||
		    !strcmp(st, "rejected")) {
			if (json)
				print_json(job_json(job ? job : "latest", rep));
			else
				fputs(sbuf_str(rep), stdout);
			return strcmp(st, "done") ? 1 : 0;
		}
		if ((double)((clock_now_ms() - t0) / 1000) > timeout) {
			if (json)
				print_json(job_json(job ? job : "latest", rep));
			else
				fputs(sbuf_str(rep), stdout);
			log_error("%s: still %s after %.0f s", path, st,
				  timeout);
			return 1;
		}
		clock_sleep_ms(200);
	}
}

/* restore status JOB: its report, or with json the same object as one
 * element of `restore status --json`. */
static int restore_show(const char *jobs, const char *job, bool json,
			struct sbuf *rep)
{
	char path[8192];

	snprintf(path, sizeof(path), "%s/%s%s", jobs, job,
		 strstr(job, ".txt") ? "" : ".txt");
	if (read_report(path, rep) < 0) {
		log_error("%s: %m", path);
		return 1;
	}
	if (json)
		print_json(job_json(job, rep));
	else
		fputs(sbuf_str(rep), stdout);
	return 0;
}

/* The report files in jobs, sorted (oldest first: job ids sort by
 * time). Caller frees each and the array. */
static size_t list_reports(const char *jobs, char ***out)
{
	char **names = NULL;
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	d = opendir(jobs);
	while (d && (de = readdir(d))) {
		size_t l = strlen(de->d_name);
		char **nn;

		if (l < 5 || strcmp(de->d_name + l - 4, ".txt"))
			continue;
		nn = realloc(names, (n + 1) * sizeof(*nn));
		if (!nn)
			break;
		names = nn;
		if ((names[n] = strdup(de->d_name)))
			n++;
	}
	if (d)
		closedir(d);
	if (n) /* no jobs: no array */
		qsort(names, n, sizeof(*names), cmp_name);
	*out = names;
	return n;
}

/* Whether jobs holds any report. */
static bool has_reports(const char *jobs)
{
	char **names = NULL;
	size_t n = list_reports(jobs, &names), i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return n > 0;
}

/* restore status: every job's report, as text or a JSON array. */
static int restore_status_all(const char *jobs, bool json, struct sbuf *rep)
{
	char path[8192], **names = NULL;
	size_t n = list_reports(jobs, &names), i;
	json_t *a = json ? json_array() : NULL;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", jobs, names[i]);
		if (read_report(path, rep) < 0)
			continue;
		if (!json)
			printf("%s%s", i ? "\n" : "", sbuf_str(rep));
		else if (a)
			json_array_append_new(a, job_json(names[i], rep));
	}
	if (a)
		print_json(a);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return 0;
}

struct restore_args {
	double timeout;
	bool json;
	bool wait;
	const char *backup;
	const char *inc_ns, *exc_ns, *inc_res, *exc_res, *mappings;
	struct restore_selector *selector; /* --selector; NULL: all */
};

/* Whether name is in the comma-separated list (NULL: no list). A
 * resource "deployments" matches the folder "deployments.apps". */
static bool in_list(const char *list, const char *name, bool resource)
{
	size_t n = strlen(name);

	for (const char *p = list; p && *p;) {
		size_t k = strcspn(p, ",");

		if ((k == n && !strncmp(p, name, n)) ||
		    (resource && k < n && name[k] == '.' &&
		     !strncmp(p, name, k)))
			return true;
		p += k + (p[k] == ',');
	}
	return false;
}

/* The namespace ns maps to in "a:b,c:d" (ns itself when none), into
 * out. */
static void mapped(const char *maps, const char *ns, char *out, size_t sz)
{
	size_t n = strlen(ns);

	snprintf(out, sz, "%s", ns);
	for (const char *p = maps; p && *p;) {
		size_t k = strcspn(p, ",");
		const char *colon = memchr(p, ':', k);

		if (colon && (size_t)(colon - p) == n && !strncmp(p, ns, n))
			snprintf(out, sz, "%.*s", (int)(k - n - 1), colon + 1);
		p += k + (p[k] == ',');
	}
}

static int names_of(const char *dir, char ***out, size_t *n)
{
	struct dirent **v = NULL;
	int k = scandir(dir, &v, NULL, alphasort), m = 0;
	char **names;

	if (k < 0)
		return -errno;
	names = calloc(k ? k : 1, sizeof(*names));
	for (int i = 0; i < k; i++) {
		if (names && v[i]->d_name[0] != '.')
			names[m++] = strdup(v[i]->d_name);
		free(v[i]);
	}
	free(v);
	if (!names)
		return -ENOMEM;
	*out = names;
	*n = m;
	return 0;
}

static void free_names(char **v, size_t n)
{
	while (n--)
		free(v[n]);
	free(v);
}

/* Copies file src to dst (dst's directory made); close()'s error is
 * the spool's verdict on the file. */
static int copy_file(const char *src, const char *dstdir, const char *name)
{
	char dst[8192], buf[65536];
	int in, out, r = 0;
	ssize_t k;

	if ((size_t)snprintf(dst, sizeof(dst), "%s/%s", dstdir, name) >=
	    sizeof(dst))
		return -ENAMETOOLONG;
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		r = -errno;
		close(in);
		return r;
	}
	while ((k = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, k) != k) {
			r = -errno;
			break;
		}
	if (k < 0)
		r = -errno;
	close(in);
	if (close(out) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		log_error("%s: %s", dst, strerror(-r));
	return r;
}

/* Whether the item file at path is one --selector selects: 1, 0, or
 * -errno (said). Items are read whole, as the spool would read them. */
static int selected(const struct restore_args *ra, const char *path)
{
	struct verror e = { { 0 } };
	struct sbuf b;
	int fd, r;

	if (!ra->selector)
		return 1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_error("%s: %m", path);
		return -errno;
	}
	sbuf_init(&b, (size_t)256 << 20);
	r = sbuf_read_fd(&b, fd);
	close(fd);
	if (r >= 0)
		r = restore_selector_match(ra->selector, b.buf, b.len, &e);
	if (r < 0)
		log_error("%s: %s", path, e.msg[0] ? e.msg : strerror(-r));
	sbuf_release(&b);
	return r;
}

/* Copies the files of src/<gr>/ for each resource folder gr that the
 * filters let through into dst/<gr>/. */
static int copy_resources(const struct restore_args *ra, const char *src,
			  const char *dst, bool cluster, size_t *copied)
{
	char **grs = NULL;
	size_t ngr = 0;
	int r = names_of(src, &grs, &ngr), bad = 0;

	if (r < 0)
		return r == -ENOENT ? 0 : r;
	for (size_t g = 0; g < ngr; g++) {
		char sd[8192], dd[8192], **files = NULL;
		size_t nf = 0;

		if ((ra->inc_res && !in_list(ra->inc_res, grs[g], true)) ||
		    in_list(ra->exc_res, grs[g], true) ||
		    (cluster && !strcmp(grs[g], "namespaces")))
			continue;
		snprintf(sd, sizeof(sd), "%s/%s", src, grs[g]);
		snprintf(dd, sizeof(dd), "%s/%s", dst, grs[g]);
		if (names_of(sd, &files, &nf) < 0)
			continue;
		for (size_t f = 0; f < nf && !bad; f++) {
			char path[8192];
			int sel;

			if ((size_t)snprintf(path, sizeof(path), "%s/%s", sd,
					     files[f]) >= sizeof(path)) {
				bad = -EIO;
				break;
			}
			sel = selected(ra, path);
			if (sel == 0)
				continue;
			if (sel < 0) {
				bad = -EIO;
				break;
			}
			if (mkdir(dd, 0700) < 0 && errno != EEXIST) {
				log_error("%s: %m", dd);
				bad = -errno;
			} else if (copy_file(path, dd, files[f]) < 0) {
				bad = -EIO;
			} else {
				(*copied)++;
			}
		}
		free_names(files, nf);
	}
	free_names(grs, ngr);
	return bad;
}

/* restore create: the backup's items copied into restore/ at once, so
 * the spool gathers them into one job (two if the copy outlasts a job's
 * gathering bound); prints the jobs. */
static int restore_create(const char *mnt, const struct restore_args *ra,
			  struct sbuf *rep)
{
	char base[4096], path[8192], dst[8192], target[256], **nss = NULL;
	char last[512] = "";
	size_t nns = 0, copied = 0;
	int r;

	if (!ra->backup) {
		log_error("restore create: --from-backup is required");
		return 2;
	}
	snprintf(base, sizeof(base), "%s/backups/%s", mnt, ra->backup);
	snprintf(path, sizeof(path), "%s/namespaces", base);
	r = names_of(path, &nss, &nns);
	if (r < 0 && r != -ENOENT) {
		log_error("%s: %s", path, strerror(-r));
		return 1;
	}
	if (access(base, R_OK) < 0) {
		log_error("%s: %m (no backup %s)", base, ra->backup);
		free_names(nss, nns);
		return 1;
	}
	for (size_t i = 0; i < nns && r >= 0; i++) {
		if ((ra->inc_ns && !in_list(ra->inc_ns, nss[i], false)) ||
		    in_list(ra->exc_ns, nss[i], false))
			continue;
		mapped(ra->mappings, nss[i], target, sizeof(target));
		snprintf(dst, sizeof(dst), "%s/restore/namespaces/%s", mnt,
			 target);
		if (mkdir(dst, 0700) < 0 && errno != EEXIST) {
			log_error("%s: %m", dst);
			r = -errno;
			break;
		}
		snprintf(path, sizeof(path), "%s/namespaces/%s", base, nss[i]);
		r = copy_resources(ra, path, dst, false, &copied);
	}
	if (r >= 0 && !ra->inc_ns) {
		snprintf(path, sizeof(path), "%s/cluster", base);
		snprintf(dst, sizeof(dst), "%s/restore/cluster-%s", mnt,
			 ra->backup);
		if (mkdir(dst, 0700) < 0 && errno != EEXIST)
			r = -errno;
		else
			r = copy_resources(ra, path, dst, true, &copied);
	}
	free_names(nss, nns);
	if (!copied) {
		log_error("restore create: nothing in backup %s matches",
			  ra->backup);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/restore/jobs/latest", mnt);
	{
		ssize_t k = readlink(path, last, sizeof(last) - 1);

		last[k > 4 ? k - 4 : 0] = 0; /* without ".txt" */
	}
	if (!ra->wait) {
		if (ra->json)
			printf("{\"job\": \"%s\", \"items_copied\": %zu}\n",
			       last, copied);
		else
			printf("job %s (%zu files)\n", last, copied);
		return r < 0 ? 1 : 0;
	}
	snprintf(path, sizeof(path), "%s/restore/jobs", mnt);
	return restore_wait(path, last, ra->timeout, ra->json, rep) || r < 0;
}

static int restore_opt(int c, void *userdata)
{
	struct restore_args *ra = userdata;

	if (c == 't')
		ra->timeout = strtod(optarg, NULL);
	else if (c == 'j')
		ra->json = true;
	else if (c == 'w')
		ra->wait = true;
	else if (c == 'B')
		ra->backup = optarg;
	else if (c == 'n')
		ra->inc_ns = optarg;
	else if (c == 'N')
		ra->exc_ns = optarg;
	else if (c == 'r')
		ra->inc_res = optarg;
	else if (c == 'R')
		ra->exc_res = optarg;
	else if (c == 'm')
		ra->mappings = optarg;
	else if (c == 'l') {
		struct verror e = { { 0 } };

		ra->selector = restore_selector_free(ra->selector);
		if (restore_selector_new(optarg, &ra->selector, &e) < 0) {
			log_error("restore create: --selector %s: %s", optarg,
				  e.msg[0] ? e.msg : "out of memory");
			return EXIT_USAGE;
		}
	} else if (c == 'P' || c == 'D') {
		/* a job is the files copied into restore/: nothing in it
		 * carries a policy, so these stay the mount's */
		log_error("restore create: %s is a mount option here: mount "
			  "with %s (it holds for every job of the mount)",
			  c == 'P' ? "--existing-resource-policy" : "--dry-run",
			  c == 'P' ? "-o existing=update" : "-o dry_run");
		return EXIT_USAGE;
	} else
		return CLI_NOT_MINE;
	return CLI_GO_ON;
}

/* cmd_restore after its options: the verb on MOUNTPOINT [JOB]. */
static int restore_run(struct restore_args *ra, const char *verb,
		       const char *mnt, const char *job)
{
	struct sbuf rep;
	char jobs[4096];
	int ret;

	if (strcmp(verb, "status") && strcmp(verb, "wait") &&
	    strcmp(verb, "create"))
		return cli_usage_error(restore_usage);
	snprintf(jobs, sizeof(jobs), "%s/restore/jobs", mnt);
	if (access(jobs, R_OK) < 0) {
		log_error("%s: %m (is %s a velerofs mount with a target "
			  "cluster?)",
			  jobs, mnt);
		return 1;
	}
	if (strcmp(verb, "create") && !job && !has_reports(jobs)) {
		/* nothing to wait for, nothing to show: say so, at once */
		if (ra->json)
			puts("[]");
		else
			printf("no restore jobs in %s (copy items into "
			       "%s/restore/ to start one)\n",
			       mnt, mnt);
		return 0;
	}
	sbuf_init(&rep, (size_t)64 << 20);
	if (!strcmp(verb, "create"))
		ret = job ? cli_usage_error(restore_usage) :
			    restore_create(mnt, ra, &rep);
	else if (!strcmp(verb, "wait"))
		ret = restore_wait(jobs, job, ra->timeout, ra->json, &rep);
	else if (job)
		ret = restore_show(jobs, job, ra->json, &rep);
	else
		ret = restore_status_all(jobs, ra->json, &rep);
	sbuf_release(&rep);
	return ret;
}

int cmd_restore(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_OPTS_HELP,
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "wait", no_argument, NULL, 'w' },
		{ "from-backup", required_argument, NULL, 'B' },
		{ "include-namespaces", required_argument, NULL, 'n' },
		{ "exclude-namespaces", required_argument, NULL, 'N' },
		{ "include-resources", required_argument, NULL, 'r' },
		{ "exclude-resources", required_argument, NULL, 'R' },
		{ "namespace-mappings", required_argument, NULL, 'm' },
		{ "selector", required_argument, NULL, 'l' },
		{ "existing-resource-policy", required_argument, NULL, 'P' },
		{ "dry-run", no_argument, NULL, 'D' },
		CLI_OPT_END,
	};
	static const struct cli_cmd cmd = {
		"hV", longopts, restore_usage, restore_opt, 2, 3
	};
	struct restore_args ra = { .timeout = 600 };
	struct cli_opts o = { 0 };
	int ret;

	ret = cli_parse(&cmd, argc, argv, &o, &ra);
	if (ret != CLI_GO_ON) {
		restore_selector_free(ra.selector);
		return ret;
	}
	ret = restore_run(&ra, argv[optind], argv[optind + 1],
			  argc - optind == 3 ? argv[optind + 2] : NULL);
	restore_selector_free(ra.selector);
	return ret;
}
