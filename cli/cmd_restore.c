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
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/log.h"
#include "common/sbuf.h"

static void restore_usage(FILE *f)
{
	fputs("Usage: velerofs restore status [--json] MOUNTPOINT [JOB]\n"
	      "       velerofs restore wait [--timeout SECONDS] MOUNTPOINT "
	      "[JOB]\n"
	      "\n"
	      "status  prints the report of JOB (default: every job, oldest\n"
	      "        first): its source, state and one line per item;\n"
	      "        --json: [{job, state, report}, ...]\n"
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
	static const char *const states[] = { "pending", "running", "done",
					      "failed", "rejected" };
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

int cmd_restore(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	char jobs[4096], path[8192], **names = NULL;
	const char *verb, *mnt, *job = NULL;
	double timeout = 600;
	bool json = false;
	struct dirent *de;
	struct sbuf rep;
	size_t n = 0, i;
	int c, ret = 1;
	DIR *d;

	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			restore_usage(stdout);
			return 0;
		case 'V':
			printf("velerofs %s\n", VELEROFS_VERSION);
			return 0;
		case 't':
			timeout = strtod(optarg, NULL);
			break;
		case 'j':
			json = true;
			break;
		default:
			restore_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind < 2 || argc - optind > 3) {
		restore_usage(stderr);
		return EXIT_USAGE;
	}
	verb = argv[optind];
	mnt = argv[optind + 1];
	if (argc - optind == 3)
		job = argv[optind + 2];
	if (strcmp(verb, "status") && strcmp(verb, "wait")) {
		restore_usage(stderr);
		return EXIT_USAGE;
	}
	snprintf(jobs, sizeof(jobs), "%s/restore/jobs", mnt);
	if (access(jobs, R_OK) < 0) {
		log_error("%s: %m (is %s a velerofs mount with a target "
			  "cluster?)",
			  jobs, mnt);
		return 1;
	}
	sbuf_init(&rep, (size_t)64 << 20);
	if (!strcmp(verb, "wait")) {
		struct timespec t0, now;

		snprintf(path, sizeof(path), "%s/%s%s", jobs,
			 job ? job : "latest",
			 job && !strstr(job, ".txt") ? ".txt" : "");
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			const char *st;

			if (read_report(path, &rep) < 0) {
				log_error("%s: %m", path);
				goto out;
			}
			st = report_state(&rep);
			if (!strcmp(st, "done") || !strcmp(st, "failed") ||
			    !strcmp(st, "rejected")) {
				fputs(sbuf_str(&rep), stdout);
				ret = strcmp(st, "done") ? 1 : 0;
				goto out;
			}
			clock_gettime(CLOCK_MONOTONIC, &now);
			if ((double)(now.tv_sec - t0.tv_sec) > timeout) {
				fputs(sbuf_str(&rep), stdout);
				log_error("%s: still %s after %.0f s", path, st,
					  timeout);
				goto out;
			}
			usleep(200 * 1000);
		}
	}
	if (job) {
		snprintf(path, sizeof(path), "%s/%s%s", jobs, job,
			 strstr(job, ".txt") ? "" : ".txt");
		if (read_report(path, &rep) < 0) {
			log_error("%s: %m", path);
			goto out;
		}
		fputs(sbuf_str(&rep), stdout);
		ret = 0;
		goto out;
	}
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
	if (json) {
		json_t *a = json_array();
		char *text;

		for (i = 0; a && i < n; i++) {
			snprintf(path, sizeof(path), "%s/%s", jobs, names[i]);
			if (read_report(path, &rep) < 0)
				continue;
			json_array_append_new(
				a, json_pack("{s:s%, s:s, s:s}", "job",
					     names[i], strlen(names[i]) - 4,
					     "state", report_state(&rep),
					     "report", sbuf_str(&rep)));
		}
		text = a ? json_dumps(a, JSON_INDENT(2)) : NULL;
		if (text)
			puts(text);
		free(text);
		json_decref(a);
	} else {
		for (i = 0; i < n; i++) {
			snprintf(path, sizeof(path), "%s/%s", jobs, names[i]);
			if (read_report(path, &rep) == 0)
				printf("%s%s", i ? "\n" : "", sbuf_str(&rep));
		}
	}
	ret = 0;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	sbuf_release(&rep);
	return ret;
}
