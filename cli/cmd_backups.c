/* cli/cmd_backups: `velerofs backups VAULT`: the recovery points of a
 * vault as `velero backup get` lists them (NAME STATUS ERRORS WARNINGS
 * CREATED EXPIRES STORAGE LOCATION SELECTOR), from each backup's
 * velero-backup.json only: no tarball is read. -o wide adds the schedule
 * and the completion time; -o json|yaml print the same rows as data. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "common/log.h"

/* clang-format off */
static void backups_usage(FILE *f)
{
	fprintf(f,
		"Usage: velerofs backups [-o wide|json|yaml] [OPTIONS] VAULT\n"
		"\n"
		"Lists the recovery points of VAULT like `velero backup get`:\n"
		"NAME STATUS ERRORS WARNINGS CREATED EXPIRES STORAGE LOCATION\n"
		"SELECTOR (-o wide: also SCHEDULE and COMPLETED), reading only\n"
		"each backup's velero-backup.json.\n"
		"  -o, --output FORMAT  wide, json or yaml\n"
		"  --credentials FILE   the vault's credentials file\n"
		"  --cache DIR          cache directory\n");
}
/* clang-format on */

/* "2026-11-22 00:36:44 +0000 UTC", as velero prints a time; "<nil>"
 * for none. */
static void velero_time(int64_t t, char *out, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t) {
		snprintf(out, size, "<nil>");
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(out, size, "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
}

/* RFC 3339, for -o json|yaml; NULL for none. */
static json_t *rfc3339(int64_t t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t)
		return json_null();
	gmtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

/* Kubernetes' ShortHumanDuration, "29d" or "3h ago" as velero prints
 * EXPIRES; "n/a" for none. */
static void expires_in(int64_t when, int64_t now, char *out, size_t size)
{
	int64_t d = when >= now ? when - now : now - when;
	const char *ago = when >= now ? "" : " ago";

	if (!when)
		snprintf(out, size, "n/a");
	else if (d < 120)
		snprintf(out, size, "%llds%s", (long long)d, ago);
	else if (d < 3600 * 2)
		snprintf(out, size, "%lldm%s", (long long)(d / 60), ago);
	else if (d < 86400 * 2)
		snprintf(out, size, "%lldh%s", (long long)(d / 3600), ago);
	else if (d < 86400 * 365 * 2)
		snprintf(out, size, "%lldd%s", (long long)(d / 86400), ago);
	else
		snprintf(out, size, "%lldy%s", (long long)(d / 86400 / 365),
			 ago);
}

enum {
	COL_NAME,
	COL_STATUS,
	COL_ERR,
	COL_WARN,
	COL_CREATED,
	COL_EXPIRES,
	COL_LOCATION,
	COL_SELECTOR,
	COL_SCHEDULE,
	COL_COMPLETED,
	NCOLS
};

static const char *const headers[NCOLS] = {
	"NAME",	   "STATUS",	       "ERRORS",   "WARNINGS", "CREATED",
	"EXPIRES", "STORAGE LOCATION", "SELECTOR", "SCHEDULE", "COMPLETED",
};

struct row {
	char cell[NCOLS][600];
};

static void row_fill(struct row *r, const char *name,
		     const struct backup_info *in, int64_t now)
{
	snprintf(r->cell[COL_NAME], sizeof(r->cell[0]), "%s", name);
	snprintf(r->cell[COL_STATUS], sizeof(r->cell[0]), "%s",
		 !in->valid   ? "Unreadable" :
		 in->phase[0] ? in->phase :
				"New");
	snprintf(r->cell[COL_ERR], sizeof(r->cell[0]), "%lld",
		 (long long)in->errors);
	snprintf(r->cell[COL_WARN], sizeof(r->cell[0]), "%lld",
		 (long long)in->warnings);
	velero_time(in->created, r->cell[COL_CREATED], sizeof(r->cell[0]));
	expires_in(in->expires, now, r->cell[COL_EXPIRES], sizeof(r->cell[0]));
	snprintf(r->cell[COL_LOCATION], sizeof(r->cell[0]), "%s", in->location);
	snprintf(r->cell[COL_SELECTOR], sizeof(r->cell[0]), "%s",
		 in->selector[0] ? in->selector : "<none>");
	snprintf(r->cell[COL_SCHEDULE], sizeof(r->cell[0]), "%s",
		 in->schedule[0] ? in->schedule : "<none>");
	velero_time(in->completed, r->cell[COL_COMPLETED], sizeof(r->cell[0]));
}

static json_t *row_json(const char *name, const struct backup_info *in)
{
	return json_pack("{s:s, s:s, s:I, s:I, s:o, s:o, s:o, s:s, s:s?, s:s?}",
			 "name", name, "status",
			 !in->valid   ? "Unreadable" :
			 in->phase[0] ? in->phase :
					"New",
			 "errors", (json_int_t)in->errors, "warnings",
			 (json_int_t)in->warnings, "created",
			 rfc3339(in->created), "expires", rfc3339(in->expires),
			 "completed", rfc3339(in->completed), "storageLocation",
			 in->location, "selector",
			 in->selector[0] ? in->selector : NULL, "schedule",
			 in->schedule[0] ? in->schedule : NULL);
}

static void print_table(const struct row *rows, size_t n, int ncols)
{
	size_t w[NCOLS], i;
	int c;

	for (c = 0; c < ncols; c++)
		w[c] = strlen(headers[c]);
	for (i = 0; i < n; i++)
		for (c = 0; c < ncols; c++)
			if (strlen(rows[i].cell[c]) > w[c])
				w[c] = strlen(rows[i].cell[c]);
	for (i = 0; i <= n; i++)
		for (c = 0; c < ncols; c++) {
			const char *cell = i ? rows[i - 1].cell[c] : headers[c];

			if (c + 1 < ncols)
				printf("%-*s   ", (int)w[c], cell);
			else
				printf("%s\n", cell);
		}
}

struct backups_args {
	enum cli_output fmt;
};

static int backups_opt(int c, void *userdata)
{
	struct backups_args *a = userdata;

	if (c != 'o')
		return CLI_NOT_MINE;
	return cli_output_parse("backups", optarg, &a->fmt);
}

int cmd_backups(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_OPTS_HELP,	     CLI_OPT_CACHE,
		CLI_OPT_CREDENTIALS, { "output", required_argument, NULL, 'o' },
		CLI_OPT_END,
	};
	static const struct cli_cmd cmd = {
		"hVo:", longopts, backups_usage, backups_opt, 1, 1
	};
	struct backups_args a = { CLI_OUTPUT_TABLE };
	struct backup_options bo = { 0 };
	struct cli_opts o = { 0 };
	struct row *rows = NULL;
	struct session s;
	json_t *list = NULL;
	size_t i, n, nrows = 0;
	int64_t now = (int64_t)time(NULL);
	int r, ret = 0;

	r = cli_parse(&cmd, argc, argv, &o, &a);
	if (r != CLI_GO_ON)
		return r;
	if (session_open(&s, argv[optind], o.credentials, o.cache, &bo, 0) < 0)
		return 1;
	n = backup_repo_count(s.repo);
	if (a.fmt == CLI_OUTPUT_JSON || a.fmt == CLI_OUTPUT_YAML)
		list = json_array();
	else
		rows = calloc(n ? n : 1, sizeof(*rows));
	if (!list && !rows) {
		session_close(&s);
		return log_error_errno(ENOMEM, "%m"), 1;
	}
	for (i = 0; i < n; i++) {
		struct backup *b = backup_repo_slot(s.repo, i);
		struct backup_info in;
		struct verror e = { { 0 } };

		if (backup_gone(b) || backup_is_snapshot(b))
			continue; /* etcd snapshots: `velerofs ls VAULT
				     snapshots` */
		if (backup_info(b, &in, &e) < 0) {
			log_error("%s: %s", backup_name(b), e.msg);
			ret = 1;
			continue;
		}
		if (list)
			json_array_append_new(list,
					      row_json(backup_name(b), &in));
		else
			row_fill(&rows[nrows++], backup_name(b), &in, now);
	}
	if (list)
		cli_print_doc(list, a.fmt);
	else if (!nrows)
		fprintf(stderr, "velerofs: %s holds no backups\n",
			vault_id(s.vault));
	else
		print_table(rows, nrows,
			    a.fmt == CLI_OUTPUT_WIDE ? NCOLS : COL_SCHEDULE);
	free(rows);
	session_close(&s);
	return ret;
}
