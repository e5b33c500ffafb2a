/* test_restore_util.h: helpers shared by the restore unit tests: golden
 * case directories (tests/data/restore/<suite>/<case>/) and JSON files. */
#pragma once

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* paths built here are short; the truncation warnings are noise */
#pragma GCC diagnostic ignored "-Wformat-truncation"

/* Reads dir/name whole; NULL when it does not exist. Caller frees. */
static inline char *tr_read(const char *dir, const char *name, size_t *len)
{
	char path[4096];
	FILE *f;
	char *buf = NULL;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc(n + 1);
		if (buf && fread(buf, 1, n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		if (buf) {
			buf[n] = '\0';
			if (len)
				*len = n;
		}
	}
	fclose(f);
	return buf;
}

static inline json_t *tr_json(const char *dir, const char *name)
{
	char path[4096];
	json_error_t je;
	json_t *j;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	j = json_load_file(path, 0, &je);
	return j;
}

/* Compares and, on a difference, prints both. */
static inline void tr_check_json(const char *what, json_t *got, json_t *want)
{
	if (json_equal(got, want))
		return;
	char *g = json_dumps(got, JSON_INDENT(1) | JSON_SORT_KEYS);
	char *w = json_dumps(want, JSON_INDENT(1) | JSON_SORT_KEYS);

	fprintf(stderr, "%s: got\n%s\nexpected\n%s\n", what, g ? g : "NULL",
		w ? w : "NULL");
	free(g);
	free(w);
	check_failures++;
}

/* Calls fn(dir_of_case, case_name) for every case directory, sorted. */
static inline int tr_each_case(const char *suite_dir,
			       void (*fn)(const char *, const char *))
{
	struct dirent **names;
	int n = scandir(suite_dir, &names, NULL, alphasort), cases = 0;

	if (n < 0) {
		fprintf(stderr, "%s: cannot list\n", suite_dir);
		check_failures++;
		return 0;
	}
	for (int i = 0; i < n; i++) {
		char dir[4096];

		if (names[i]->d_name[0] != '.') {
			snprintf(dir, sizeof(dir), "%s/%s", suite_dir,
				 names[i]->d_name);
			fn(dir, names[i]->d_name);
			cases++;
		}
		free(names[i]);
	}
	free(names);
	return cases;
}
