/* fuzz_util: see fuzz_util.h. */
#define _XOPEN_SOURCE 700
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/backup.h"
#include "common/hash.h"
#include "common/log.h"
#include "fuzz/fuzz_util.h"

static char tmpdir[PATH_MAX], vaultdir[PATH_MAX + 8], cachedir[PATH_MAX + 8];

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	if (ftw->level > 0)
		remove(path);
	return 0;
}

void fuzz_empty_dir(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void cleanup(void)
{
	if (tmpdir[0]) {
		fuzz_empty_dir(tmpdir);
		rmdir(tmpdir);
	}
}

const char *fuzz_tmpdir(void)
{
	const char *t = getenv("TMPDIR");

	if (tmpdir[0])
		return tmpdir;
	snprintf(tmpdir, sizeof(tmpdir), "%s/velerofs-fuzz.XXXXXX",
		 t && *t ? t : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("fuzz: mkdtemp");
		abort();
	}
	atexit(cleanup);
	return tmpdir;
}

const char *fuzz_vault_dir(void)
{
	if (!vaultdir[0])
		snprintf(vaultdir, sizeof(vaultdir), "%s/vault", fuzz_tmpdir());
	return vaultdir;
}

const char *fuzz_cache_dir(void)
{
	if (!cachedir[0])
		snprintf(cachedir, sizeof(cachedir), "%s/cache", fuzz_tmpdir());
	return cachedir;
}

void fuzz_vault_init(const char *fz_json)
{
	log_set_max_level(LOG_CRIT);
	if (fz_json)
		fuzz_write(fuzz_vault_dir(), "backups/fz/velero-backup.json",
			   fz_json, strlen(fz_json));
}

struct backup *fuzz_repo_open(struct fuzz_repo *fr,
			      const struct backup_options *o)
{
	*fr = (struct fuzz_repo){ 0 };
	if (vault_open(fuzz_vault_dir(), NULL, &fr->vault, NULL) < 0 ||
	    cache_open(fuzz_cache_dir(), 0, &fr->cache, NULL) < 0 ||
	    backup_repo_new(fr->vault, fr->cache, o, &fr->repo) < 0)
		abort();
	if (backup_repo_refresh(fr->repo, NULL) != 0)
		return NULL;
	return backup_repo_find(fr->repo, "fz", NULL);
}

void fuzz_repo_close(struct fuzz_repo *fr)
{
	backup_repo_free(fr->repo);
	cache_free(fr->cache);
	vault_free(fr->vault);
	*fr = (struct fuzz_repo){ 0 };
}

static void mkparents(char *path)
{
	for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			perror(path);
			abort();
		}
		*s = '/';
	}
}

void fuzz_write(const char *dir, const char *rel, const void *data, size_t len)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	const char *p = data;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : fuzz_tmpdir(), rel);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	mkparents(path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		perror(tmp);
		abort();
	}
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			perror(tmp);
			abort();
		}
		p += w;
		len -= (size_t)w;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		perror(path);
		abort();
	}
}

/* A ConfigMap, a Secret and a Namespace, as Velero lays them out. */
static const struct {
	const char *name, *json;
} members[] = {
	{ "resources/configmaps/namespaces/shop/app.json", "{\"apiVersion\":"
							   "\"v1\",\"kind\":"
							   "\"ConfigMap\","
							   "\"metadata\":{"
							   "\"name\":\"app\","
							   "\"namespace\":"
							   "\"shop\"},\"data\":"
							   "{\"a\":\"b\"}}" },
	{ "resources/secrets/namespaces/shop/db.json", "{\"apiVersion\":\"v1\","
						       "\"kind\":\"Secret\","
						       "\"metadata\":{"
						       "\"name\":\"db\","
						       "\"namespace\":\"shop\"}"
						       ",\"data\":{\"p\":\"cA=="
						       "\"}}" },
	{ "resources/namespaces/cluster/shop.json", "{\"apiVersion\":\"v1\","
						    "\"kind\":\"Namespace\","
						    "\"metadata\":{"
						    "\"name\":\"shop\"}}" },
};

void fuzz_write_small_tarball(const char *dir, const char *rel)
{
	size_t cap = 1 << 16, used = 0, i;
	char *buf = malloc(cap);
	struct archive *a = archive_write_new();

	archive_write_add_filter_gzip(a);
	archive_write_set_format_pax_restricted(a);
	archive_write_open_memory(a, buf, cap, &used);
	for (i = 0; i < sizeof(members) / sizeof(*members); i++) {
		struct archive_entry *e = archive_entry_new();
		size_t n = strlen(members[i].json);

		archive_entry_set_pathname(e, members[i].name);
		archive_entry_set_size(e, (la_int64_t)n);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_write_header(a, e);
		archive_write_data(a, members[i].json, n);
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	fuzz_write(dir, rel, buf, used);
	free(buf);
}

static size_t walk(struct backup *b, uint32_t dir, unsigned depth)
{
	uint32_t i, n = 0, node;
	size_t seen = 0;
	char name[512];

	if (depth > 64 || backup_node_nchildren(b, dir, &n, NULL) < 0)
		return 0;
	for (i = 0; i < n; i++) {
		struct backup_stat st;
		uint32_t again;

		if (backup_node_child(b, dir, i, &node, name, sizeof(name),
				      NULL) < 0 ||
		    backup_node_stat(b, node, &st, NULL) < 0)
			continue;
		seen++;
		/* what readdir listed, looked up by name (a crafted index
		 * need not be sorted: only memory safety matters there) */
		(void)backup_node_lookup(b, dir, name, &again, NULL);
		if (st.type == BACKUP_NODE_DIR && node > dir) {
			seen += walk(b, node, depth + 1);
		} else if (st.type == BACKUP_NODE_FILE) {
			uint64_t off = 0;

			for (;;) {
				const void *d;
				size_t got = 0;

				if (backup_node_read(b, node, off, 65536, &d,
						     &got, NULL) < 0 ||
				    got == 0)
					break;
				off += got;
			}
		}
	}
	return seen;
}

bool fuzz_read_backup(struct backup *b)
{
	if (!b || backup_open(b, NULL) < 0)
		return false;
	walk(b, BACKUP_NODE_ROOT, 0);
	return true;
}

unsigned fuzz_pick(const void *data, size_t len)
{
	uint32_t h = fnv1a32(data, len < 64 ? len : 64);

	return (h ^ (unsigned)len) & 0xff;
}
