/* etcd-probe: a small CLI over etcd/'s file layer, for the bench and by
 * hand (not installed).
 *
 *   etcd-probe list FILE     every live key at its newest revision, as
 *                            etcd_snapshot_each() gives them (the first
 *                            full listing); prints "<keys> keys, <bytes>
 *                            bytes of values, <problems> problems"
 *   etcd-probe keys FILE     the same, one "<mod_revision> <key>" a line
 *   etcd-probe status FILE   the line `etcdutl snapshot status` prints
 *   etcd-probe verify FILE   the SHA-256 etcdctl appended: "sha256 ok" or
 *                            "no sha256" (exit 1 when it does not match)
 *
 * --mmap first: the file is handed in mapped (etcd_reader.map), not
 * through pread. Exit status 1 on an error (its message on stderr), 2 for
 * usage. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/sbuf.h"
#include "etcd/etcd.h"

struct tally {
	unsigned long long keys, bytes, problems;
	bool print;
};

static int file_pread(void *ud, void *buf, size_t len, uint64_t off,
		      struct verror *e)
{
	int fd = *(int *)ud;
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done,
				  (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return verror_set(e, -errno, "read: %m");
		if (n == 0)
			return verror_set(e, -EIO, "short read");
		done += (size_t)n;
	}
	return 0;
}

static int on_kv(void *ud, const struct etcd_kv *kv)
{
	struct tally *t = ud;

	t->keys++;
	t->bytes += kv->value_len;
	if (t->print)
		printf("%lld %.*s\n", (long long)kv->mod_revision,
		       (int)kv->key_len, kv->key);
	return 0;
}

static void on_problem(void *ud, const char *fmt, ...)
{
	struct tally *t = ud;
	va_list ap;

	t->problems++;
	fputs("problem: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int main(int argc, char **argv)
{
	struct etcd_snapshot *s = NULL;
	struct verror e = { "" };
	struct tally t = { 0 };
	struct etcd_reader r;
	struct stat st;
	void *map = NULL;
	int fd, res;

	if (argc > 1 && strcmp(argv[1], "--mmap") == 0) {
		map = MAP_FAILED;
		argv++;
		argc--;
	}
	if (argc != 3 ||
	    (strcmp(argv[1], "list") && strcmp(argv[1], "keys") &&
	     strcmp(argv[1], "status") && strcmp(argv[1], "verify"))) {
		fprintf(stderr, "usage: etcd-probe list|keys|status|verify "
				"FILE\n");
		return 2;
	}
	fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "%s: %m\n", argv[2]);
		return 1;
	}
	r = (struct etcd_reader){ file_pread, &fd, (uint64_t)st.st_size, NULL };
	if (map == MAP_FAILED && st.st_size > 0) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd,
			   0);
		if (map == MAP_FAILED) {
			fprintf(stderr, "%s: mmap: %m\n", argv[2]);
			return 1;
		}
		r.map = map;
	}
	res = etcd_snapshot_open(&r, &s, &e);
	if (res == 0 && strcmp(argv[1], "status") == 0) {
		struct etcd_status es;
		struct sbuf line;

		res = etcd_snapshot_status(s, &es, &e);
		if (res == 0) {
			sbuf_init(&line, 0);
			res = etcd_status_format(&es, &line);
			fputs(sbuf_str(&line), stdout);
			sbuf_release(&line);
		}
	} else if (res == 0 && strcmp(argv[1], "verify") == 0) {
		res = etcd_snapshot_verify(s, &e);
		if (res >= 0)
			puts(res ? "sha256 ok" : "no sha256");
	} else if (res == 0) {
		t.print = strcmp(argv[1], "keys") == 0;
		res = etcd_snapshot_each(s, on_kv, on_problem, &t, &e);
		if (res == 0 && !t.print)
			printf("%llu keys, %llu bytes of values, %llu "
			       "problems\n",
			       t.keys, t.bytes, t.problems);
	}
	etcd_snapshot_free(s);
	if (r.map)
		munmap(map, (size_t)st.st_size);
	close(fd);
	if (res < 0) {
		fprintf(stderr, "%s: %s (%s)\n", argv[2], e.msg,
			strerror(-res));
		return 1;
	}
	return 0;
}
