/* cli/cmd_restore: `velerofs restore status|wait`: the restore jobs of a
 * mount, as its restore/jobs/ shows them, for scripts and people who
 * prefer a command to `cat`. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/sbuf.h"

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
	      "A JOB is a name in MOUNTPOINT/restore/jobs/ (with or without\n"
	      ".txt).\n",
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
	qsort(names, n, sizeof(*names), cmp_name);
	*out = names;
	return n;
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
};

static int restore_opt(int c, void *userdata)
{
	struct restore_args *ra = userdata;

	if (c == 't')
		ra->timeout = strtod(optarg, NULL);
	else if (c == 'j')
		ra->json = true;
	else
		return CLI_NOT_MINE;
	return CLI_GO_ON;
}

int cmd_restore(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_OPTS_HELP,
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		CLI_OPT_END,
	};
	static const struct cli_cmd cmd = {
		"hV", longopts, restore_usage, restore_opt, 2, 3
	};
	struct restore_args ra = { .timeout = 600 };
	const char *verb, *mnt, *job = NULL;
	struct cli_opts o = { 0 };
	struct sbuf rep;
	char jobs[4096];
	int ret;

	ret = cli_parse(&cmd, argc, argv, &o, &ra);
	if (ret != CLI_GO_ON)
		return ret;
	verb = argv[optind];
	mnt = argv[optind + 1];
	if (argc - optind == 3)
		job = argv[optind + 2];
	if (strcmp(verb, "status") && strcmp(verb, "wait"))
		return cli_usage_error(restore_usage);
	snprintf(jobs, sizeof(jobs), "%s/restore/jobs", mnt);
	if (access(jobs, R_OK) < 0) {
		log_error("%s: %m (is %s a velerofs mount with a target "
			  "cluster?)",
			  jobs, mnt);
		return 1;
	}
	sbuf_init(&rep, (size_t)64 << 20);
	if (!strcmp(verb, "wait"))
		ret = restore_wait(jobs, job, ra.timeout, ra.json, &rep);
	else if (job)
		ret = restore_show(jobs, job, ra.json, &rep);
	else
		ret = restore_status_all(jobs, ra.json, &rep);
	sbuf_release(&rep);
	return ret;
}
