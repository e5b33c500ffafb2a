/* restore-probe: the restore engine without FUSE, for
 * tests/test_restore_engine.py.
 *
 *   restore-probe --kubeconfig F [--context C] --state DIR
 *                 [--existing skip|update] [--dry-run] [--image-map M]
 *                 [--storageclass-map M] [--modifiers F] [--ns TARGET]
 *                 [--backup NAME] [--type-wait S] [--debug] [FILE...]
 *
 * Submits each FILE as a job (source: its path), then waits for every job
 * kept in DIR (so with no FILE it finishes what an earlier run left) and
 * prints each report, "---" between them. Exit 0 when every job is done,
 * 1 when one failed or was rejected, 2 on a usage or setup error.
 * --debug: the engine's debug lines on stderr (e.g. which creates went
 * as JSON rather than protobuf, and why). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "kube/kube.h"
#include "restore/restore.h"

static int origin(void *userdata, const void *data, size_t len,
		  const char *const *hints, size_t nhints, char *name,
		  size_t namesz)
{
	(void)data, (void)len, (void)hints, (void)nhints;
	if (!userdata)
		return -ENOENT;
	snprintf(name, namesz, "%s", (const char *)userdata);
	return 0;
}

static int submit(struct restore *r, const char *ns, const char *path)
{
	FILE *f = fopen(path, "rb");
	struct restore_input *in = NULL;
	struct verror e = { { 0 } };
	char buf[65536], *id = NULL;
	off_t off = 0;
	size_t n;
	int k;

	if (!f) {
		fprintf(stderr, "restore-probe: %s: %s\n", path,
			strerror(errno));
		return -errno;
	}
	k = restore_input_new(r, ns, path, &in);
	while (k >= 0 && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
		k = restore_input_write(in, buf, n, off);
		off += n;
	}
	fclose(f);
	if (k >= 0)
		k = restore_input_commit(in, &id, &e);
	restore_input_free(in);
	if (k < 0) {
		printf("rejected %s: %s\n", path,
		       e.msg[0] ? e.msg : strerror(-k));
		return k;
	}
	if (id)
		printf("submitted %s %s\n", path, id);
	free(id);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kubeconfig", required_argument, NULL, 'k' },
		{ "context", required_argument, NULL, 'c' },
		{ "state", required_argument, NULL, 's' },
		{ "existing", required_argument, NULL, 'e' },
		{ "dry-run", no_argument, NULL, 'd' },
		{ "image-map", required_argument, NULL, 'i' },
		{ "storageclass-map", required_argument, NULL, 'S' },
		{ "modifiers", required_argument, NULL, 'm' },
		{ "ns", required_argument, NULL, 'n' },
		{ "backup", required_argument, NULL, 'b' },
		{ "type-wait", required_argument, NULL, 't' },
		{ "debug", no_argument, NULL, 'D' },
		{ 0 },
	};
	struct kube_options ko = { 0 };
	struct restore_options ro = { 0 };
	struct kube *k = NULL;
	struct restore *r = NULL;
	struct verror e = { { 0 } };
	const char *ns = NULL;
	char **ids = NULL;
	size_t n = 0;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			ko.kubeconfig = optarg;
			break;
		case 'c':
			ko.context = optarg;
			break;
		case 's':
			ro.state_dir = optarg;
			break;
		case 'e':
			ro.existing = !strcmp(optarg, "update") ?
					      RESTORE_EXISTING_UPDATE :
					      RESTORE_EXISTING_SKIP;
			break;
		case 'd':
			ro.dry_run = true;
			break;
		case 'i':
			ro.image_map = optarg;
			break;
		case 'S':
			ro.storageclass_map = optarg;
			break;
		case 'm':
			ro.modifiers_file = optarg;
			break;
		case 'n':
			ns = optarg;
			break;
		case 'b':
			ro.origin = origin;
			ro.origin_userdata = optarg;
			break;
		case 't':
			ro.type_wait_s = (unsigned)atoi(optarg);
			break;
		case 'D':
			log_set_max_level(LOG_DEBUG);
			break;
		default:
			return 2;
		}
	}
	if (!ro.state_dir) {
		fprintf(stderr, "restore-probe: --state is required\n");
		return 2;
	}
	if (kube_open(&ko, &k, &e) < 0) {
		fprintf(stderr, "restore-probe: %s\n", e.msg);
		return 2;
	}
	ro.kube = k;
	if (restore_new(&ro, &r, &e) < 0) {
		fprintf(stderr, "restore-probe: %s\n", e.msg);
		kube_free(k);
		return 2;
	}
	for (int i = optind; i < argc; i++)
		if (submit(r, ns, argv[i]) < 0)
			rc = 1;
	/* every file is in: the job starts now, not after the gathering
	 * window */
	restore_seal(r);
	fflush(stdout);
	if (restore_job_list(r, &ids, &n) < 0) {
		rc = 2;
		n = 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct sbuf b;
		enum restore_state st;
		int w = restore_job_wait(r, ids[i], 600000);

		sbuf_init(&b, 0);
		if (restore_job_report(r, ids[i], &b, &st) == 0) {
			printf("---\n%s", sbuf_str(&b));
			if (w < 0 || st != RESTORE_DONE)
				rc = 1;
		}
		sbuf_release(&b);
		free(ids[i]);
	}
	free(ids);
	restore_free(r);
	kube_free(k);
	return rc;
}
