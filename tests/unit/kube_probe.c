/* kube-probe: a small CLI over kube/, for tests/test_kube.py.
 *
 *   kube-probe [OPTIONS] info | version | invalidate
 *   kube-probe [OPTIONS] resolve APIVERSION KIND
 *   kube-probe [OPTIONS] request METHOD PATH [BODY_FILE [CONTENT_TYPE]]
 *   kube-probe [OPTIONS] wait-crd NAME TIMEOUT_MS
 *   kube-probe [OPTIONS] shell      (one of the above per stdin line,
 *                                    each answer ended by a "." line)
 * OPTIONS: --kubeconfig F, --context C, --timeout MS,
 *   --serviceaccount-dir D, --repeat N (run the command N times),
 *   --threads T (run it in T threads at once, printing only a summary).
 *
 * Prints "status N", "message M" and the body for a request; "group=...
 * version=... kind=... resource=... namespaced=0|1 path=..." for resolve.
 * A failure prints "error: MESSAGE (strerror)" to stderr; the exit status
 * is 1, 2 for ENOENT, 3 for a usage error. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kube.h"

struct job {
	struct kube *k;
	int argc;
	char **argv;
	int repeat;
	bool quiet;
	int failures;
};

static int fail(int r, const struct verror *e, bool quiet)
{
	if (!quiet)
		fprintf(stderr, "error: %s (%s)\n",
			e->msg[0] ? e->msg : "failed", strerror(-r));
	return r == -ENOENT ? 2 : 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: kube-probe [--kubeconfig F] [--context C] "
			"[--timeout "
			"MS] [--serviceaccount-dir D] [--repeat N] [--threads "
			"T] "
			"info|version|invalidate|shell|resolve AV KIND|request "
			"METHOD "
			"PATH [BODY_FILE [CT]]|wait-crd NAME MS\n");
	return 3;
}

static int run_one(struct kube *k, int argc, char **argv, bool quiet)
{
	struct verror e = { { 0 } };
	const char *cmd = argv[0];
	int r;

	if (!strcmp(cmd, "info") && argc == 1) {
		if (!quiet)
			printf("server %s\nnamespace %s\ncontext %s\n",
			       kube_server(k), kube_namespace(k),
			       kube_context(k));
		return 0;
	}
	if (!strcmp(cmd, "invalidate") && argc == 1) {
		kube_invalidate_discovery(k);
		return 0;
	}
	if (!strcmp(cmd, "version") && argc == 1) {
		char *v = NULL;

		r = kube_server_version(k, &v, &e);
		if (r < 0)
			return fail(r, &e, quiet);
		if (!quiet)
			printf("%s\n", v);
		free(v);
		return 0;
	}
	if (!strcmp(cmd, "resolve") && argc == 3) {
		struct kube_resource res;
		char *p;

		r = kube_resolve(k, argv[1], argv[2], &res, &e);
		if (r < 0)
			return fail(r, &e, quiet);
		p = kube_path(&res, "default", "x");
		if (!quiet)
			printf("group=%s version=%s kind=%s resource=%s "
			       "namespaced=%d path=%s\n",
			       res.group, res.version, res.kind, res.resource,
			       res.namespaced, p ? p : "(null)");
		free(p);
		kube_resource_release(&res);
		return 0;
	}
	if (!strcmp(cmd, "request") && argc >= 3 && argc <= 5) {
		struct kube_response resp = { 0 };
		json_t *body = NULL;

		if (argc >= 4) {
			json_error_t je;

			body = json_load_file(argv[3], JSON_DECODE_ANY, &je);
			if (!body) {
				fprintf(stderr, "error: %s: %s\n", argv[3],
					je.text);
				return 3;
			}
		}
		r = kube_request(k, argv[1], argv[2],
				 argc == 5 ? argv[4] : NULL, body, &resp, &e);
		json_decref(body);
		if (r < 0)
			return fail(r, &e, quiet);
		if (!quiet) {
			printf("status %ld\nmessage %s\n", resp.status,
			       kube_status_message(&resp));
			fwrite(resp.raw, 1, resp.len, stdout);
			printf("\n");
		}
		r = resp.status >= 200 && resp.status < 300 ? 0 : 1;
		kube_response_release(&resp);
		return quiet ? r : 0;
	}
	if (!strcmp(cmd, "wait-crd") && argc == 3) {
		r = kube_wait_crd_established(k, argv[1], atol(argv[2]), &e);
		if (r < 0)
			return fail(r, &e, quiet);
		if (!quiet)
			printf("established\n");
		return 0;
	}
	return usage();
}

static void *thread_main(void *p)
{
	struct job *j = p;
	int i;

	for (i = 0; i < j->repeat; i++)
		if (run_one(j->k, j->argc, j->argv, true))
			j->failures++;
	return NULL;
}

static int shell(struct kube *k)
{
	char line[8192];

	while (fgets(line, sizeof(line), stdin)) {
		char *argv[8], *save = NULL, *t;
		int argc = 0, rc;

		for (t = strtok_r(line, " \t\n", &save); t && argc < 8;
		     t = strtok_r(NULL, " \t\n", &save))
			argv[argc++] = t;
		if (!argc)
			continue;
		rc = run_one(k, argc, argv, false);
		printf("rc %d\n.\n", rc);
		fflush(stdout);
		fflush(stderr);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kubeconfig", required_argument, NULL, 'k' },
		{ "context", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "serviceaccount-dir", required_argument, NULL, 's' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "threads", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	struct kube_options o = { 0 };
	struct verror e = { { 0 } };
	struct kube *k = NULL;
	int c, r, rc = 0, repeat = 1, threads = 0, i;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			o.kubeconfig = optarg;
			break;
		case 'c':
			o.context = optarg;
			break;
		case 't':
			o.timeout_ms = atol(optarg);
			break;
		case 's':
			o.serviceaccount_dir = optarg;
			break;
		case 'r':
			repeat = atoi(optarg);
			break;
		case 'n':
			threads = atoi(optarg);
			break;
		default:
			return usage();
		}
	}
	if (optind >= argc || threads < 0 || threads > 64 || repeat < 1)
		return usage();
	r = kube_open(&o, &k, &e);
	if (r < 0)
		return fail(r, &e, false);

	if (!strcmp(argv[optind], "shell")) {
		rc = shell(k);
	} else if (threads) {
		pthread_t t[64];
		struct job jobs[64];
		int failures = 0;

		for (i = 0; i < threads; i++) {
			jobs[i] = (struct job){
				k, argc - optind, argv + optind, repeat, true, 0
			};
			pthread_create(&t[i], NULL, thread_main, &jobs[i]);
		}
		for (i = 0; i < threads; i++) {
			pthread_join(t[i], NULL);
			failures += jobs[i].failures;
		}
		printf("threads %d repeat %d failures %d\n", threads, repeat,
		       failures);
		rc = failures ? 1 : 0;
	} else {
		for (i = 0; i < repeat && !rc; i++)
			rc = run_one(k, argc - optind, argv + optind, false);
	}
	kube_free(k);
	return rc;
}
