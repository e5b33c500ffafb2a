/* Unit tests for backup/: indexing real-shaped tarballs written here with
 * libarchive, the node operations, the cached index and its checks, and a
 * source other than Velero's behind the same index. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "backup/backup.h"
#include "backup/backup_i.h"
#include "backup/source_i.h"
#include "flaky_vault.h"
#include "testvault.h"

static void put_gz(const char *rel, const char *text)
{
	char path[700];
	gzFile g;

	snprintf(path, sizeof(path), "%s/%s", tv_root, rel);
	g = gzopen(path, "wb");
	CHECK(g != NULL);
	if (g) {
		gzwrite(g, text, (unsigned)strlen(text));
		gzclose(g);
	}
}

struct member {
	const char *name;
	const char *data;
};

/* Writes a gzip'd tarball in the given libarchive format. */
static size_t tarball(const char *rel, const struct member *m, size_t n,
		      int format, char **bytes)
{
	struct archive *a = archive_write_new();
	size_t cap = 1 << 20, used = 0;
	char *buf = malloc(cap);
	size_t i;

	archive_write_add_filter_gzip(a);
	archive_write_set_format(a, format);
	archive_write_set_bytes_in_last_block(a, 1);
	archive_write_open_memory(a, buf, cap, &used);
	for (i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();

		archive_entry_set_pathname(e, m[i].name);
		archive_entry_set_size(e, (la_int64_t)strlen(m[i].data));
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0755);
		archive_entry_set_mtime(e, 1700000000, 0);
		archive_write_header(a, e);
		archive_write_data(a, m[i].data, strlen(m[i].data));
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	if (rel)
		tv_put(rel, buf, used);
	if (bytes)
		*bytes = buf;
	else
		free(buf);
	return used;
}

static char long_name[254];
static char long_member[400];

#define CM                                                          \
	"{\"apiVersion\":\"v1\",\"data\":{\"a\":\"yes\"},\"kind\":" \
	"\"ConfigMap\","                                            \
	"\"metadata\":{\"name\":\"app.config\",\"namespace\":\"shop\"}}"
#define SECRET                                                           \
	"{\"apiVersion\":\"v1\",\"data\":{\"p\":\"cGFzcw==\"},\"kind\":" \
	"\"Secret\","                                                    \
	"\"metadata\":{\"name\":\"db\",\"namespace\":\"shop\"}}"
#define CR                                             \
	"{\"apiVersion\":\"rbac.authorization.k8s.io/" \
	"v1\",\"kind\":\"ClusterRole\","               \
	"\"metadata\":{\"name\":\"system:shop:reader\"}}"
#define W1                                                                \
	"{\"apiVersion\":\"example.com/v1beta1\",\"kind\":\"Widget\","    \
	"\"metadata\":{\"name\":\"w\",\"namespace\":\"shop\"},\"spec\":{" \
	"\"old\":1}}"

static void make_vault(void)
{
	static char cm_member[] = "resources/configmaps/namespaces/shop/"
				  "app.config.json";
	struct member good[] = {
		{ "metadata/version", "1.1.0\n" },
		{ "resources/configmaps/v1-preferredversion/namespaces/shop/"
		  "app.config.json",
		  CM },
		{ cm_member, CM },
		{ "resources/secrets/namespaces/shop/db.json", SECRET },
		{ "resources/secrets/v1-preferredversion/namespaces/shop/"
		  "db.json",
		  SECRET },
		{ "resources/clusterroles.rbac.authorization.k8s.io/cluster/"
		  "system:shop:reader.json",
		  CR },
		{ "resources/widgets.example.com/v1beta1/namespaces/shop/"
		  "w.json",
		  W1 },
		{ long_member, "{\"kind\":\"ConfigMap\"}" },
		{ "resources/configmaps/namespaces/shop/broken.json", "{\"kind"
								      "\": " },
		{ "resources/../../escape.json", "{}" },
		{ "/abs/escape.json", "{}" },
		{ "something/else.txt", "hello" },
	};
	struct member v1[] = {
		{ "metadata/version", "1\n" },
		{ cm_member, CM },
	};
	char *bytes = NULL;
	size_t n;

	memset(long_name, 'n', 253);
	long_name[253] = '\0';
	snprintf(long_member, sizeof(long_member),
		 "resources/configmaps/namespaces/shop/%s.json", long_name);

	tv_mkdirs("backups/good");
	tv_put("backups/good/velero-backup.json",
	       "{\"kind\":\"Backup\",\"metadata\":{\"name\":\"good\","
	       "\"labels\":"
	       "{\"velero.io/schedule-name\":\"daily\"}},\"status\":{\"phase\":"
	       "\"Completed\",\"completionTimestamp\":\"2026-11-20T02:00:49Z\"}"
	       "}",
	       strlen("{\"kind\":\"Backup\",\"metadata\":{\"name\":\"good\","
		      "\"labels\":"
		      "{\"velero.io/"
		      "schedule-name\":\"daily\"}},\"status\":{\"phase\":"
		      "\"Completed\",\"completionTimestamp\":\"2026-11-20T02:"
		      "00:"
		      "49Z\"}}"));
	tarball("backups/good/good.tar.gz", good, sizeof(good) / sizeof(*good),
		ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, NULL);
	put_gz("backups/good/good-logs.gz", "time=\"x\" level=info "
					    "msg=hello\n");
	put_gz("backups/good/good-results.gz", "{\"errors\":{},\"warnings\":{}}"
					       "\n");

	/* older format, GNU long names, failed */
	tv_mkdirs("backups/old");
	tv_put("backups/old/velero-backup.json",
	       "{\"status\":{\"phase\":\"Failed\",\"completionTimestamp\":"
	       "\"2026-11-21T00:00:00Z\"}}",
	       strlen("{\"status\":{\"phase\":\"Failed\","
		      "\"completionTimestamp\":"
		      "\"2026-11-21T00:00:00Z\"}}"));
	tarball("backups/old/old.tar.gz", v1, 2, ARCHIVE_FORMAT_TAR_GNUTAR,
		NULL);

	/* truncated in the store */
	tv_mkdirs("backups/cut");
	tv_put("backups/cut/velero-backup.json", "{\"status\":{}}", 13);
	n = tarball(NULL, good, 8, ARCHIVE_FORMAT_TAR_USTAR, &bytes);
	tv_put("backups/cut/cut.tar.gz", bytes, n / 2);
	free(bytes);

	/* no velero-backup.json at all; and one that is not JSON */
	tv_mkdirs("backups/nojson");
	tarball("backups/nojson/nojson.tar.gz", v1, 2, ARCHIVE_FORMAT_TAR_USTAR,
		NULL);
	tv_mkdirs("backups/badjson");
	tv_put("backups/badjson/velero-backup.json", "{not json", 9);
	tv_put("backups/badjson/badjson.tar.gz", "not gzip at all", 15);
}

/* A repo of the vault v (stolen) on the test's cache, in one view,
 * refreshed. */
static struct backup_repo *repo_on(struct tv_repo *t, struct vault *v,
				   enum backup_view view)
{
	struct backup_options o = { .view = view };
	struct backup_repo *r = tv_repo_on(t, v, &o);
	struct verror e;

	CHECK_EQ_INT(backup_repo_refresh(r, &e), 0);
	return r;
}

/* Removes the cached indexes: the next open builds again. */
static void drop_index(void)
{
	char cmd[700];

	snprintf(cmd, sizeof(cmd), "rm -rf %s/idx", tv_cache);
	CHECK(system(cmd) == 0);
}

/* The repo of the scratch vault in one view, refreshed. */
static struct backup_repo *repo_open(struct tv_repo *t, enum backup_view view)
{
	struct vault *v = NULL;
	struct verror e;

	CHECK_EQ_INT(vault_open(tv_root, NULL, &v, &e), 0);
	return repo_on(t, v, view);
}

static void test_tree(void)
{
	struct tv_repo t;
	struct backup_repo *r = repo_open(&t, BACKUP_VIEW_YAML);
	struct backup *b = backup_repo_find(r, "good", NULL);
	struct backup_stat st;
	struct verror e;
	uint32_t node, n;
	char path[600], *s;
	size_t slot;
	int err;

	CHECK(b != NULL);
	if (!b)
		goto out;
	CHECK_EQ_INT(backup_repo_count(r), 5);
	/* node 0 without opening: no index built */
	CHECK_EQ_INT(backup_node_stat(b, BACKUP_NODE_ROOT, &st, &e), 0);
	CHECK_EQ_INT(st.mtime, 1795140049);
	CHECK_EQ_INT(backup_build_ms(b), 0);

	CHECK_EQ_INT(backup_open(b, &e), 0);
	CHECK(backup_build_ms(b) > 0);
	s = tv_read(b, "namespaces/shop/configmaps/app.config.yaml", &err);
	CHECK_EQ_INT(err, 0);
	CHECK(s && strstr(s, "a: 'yes'") == NULL &&
	      strstr(s, "\"yes\"") != NULL);
	free(s);
	CHECK_EQ_INT(backup_node_walk(b, "namespaces/shop/secrets/db.yaml",
				      &node, &e),
		     0);
	CHECK_EQ_INT(backup_node_stat(b, node, &st, &e), 0);
	CHECK_EQ_INT(st.perm, 0400);
	CHECK_EQ_INT(backup_node_walk(b,
				      "cluster/"
				      "clusterroles.rbac.authorization.k8s.io/"
				      "system:shop:reader.yaml",
				      &node, &e),
		     0);
	CHECK_EQ_INT(backup_node_stat(b, node, &st, &e), 0);
	CHECK_EQ_INT(st.perm, 0444);
	/* the JSON view's name does not exist in the YAML view */
	CHECK_EQ_INT(backup_node_walk(b, "namespaces/shop/secrets/db.json",
				      &node, &e),
		     -ENOENT);
	/* only in a non-preferred version: still in the default view */
	s = tv_read(b, "namespaces/shop/widgets.example.com/w.yaml", &err);
	CHECK_EQ_INT(err, 0);
	CHECK(s && strstr(s, "v1beta1"));
	free(s);
	s = tv_read(b,
		    "apiversions/widgets.example.com/v1beta1/namespaces/shop/"
		    "w.yaml",
		    &err);
	CHECK_EQ_INT(err, 0);
	free(s);
	CHECK_EQ_INT(backup_node_walk(b,
				      "apiversions/configmaps/"
				      "v1-preferredversion/namespaces/shop/"
				      "app.config.yaml",
				      &node, &e),
		     0);
	/* 253-byte names are shortened to fit NAME_MAX with the extension */
	CHECK_EQ_INT(backup_node_walk(b, "namespaces/shop/configmaps", &node,
				      &e),
		     0);
	CHECK_EQ_INT(backup_node_nchildren(b, node, &n, &e), 0);
	CHECK_EQ_INT(n, 3);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t child;

		CHECK_EQ_INT(backup_node_child(b, node, i, &child, path,
					       sizeof(path), &e),
			     0);
		CHECK(strlen(path) <= 255);
		if (!strncmp(path, "nnnn", 4))
			CHECK(strchr(path, '~') != NULL);
	}
	/* broken member: listed, EIO on read, named in errors.txt */
	s = tv_read(b, "namespaces/shop/configmaps/broken.yaml", &err);
	CHECK_EQ_INT(err, -EIO);
	s = tv_read(b, "errors.txt", &err);
	CHECK(s && strstr(s, "broken.json"));
	CHECK(s && strstr(s, "escapes its directory"));
	CHECK(s && strstr(s, "something/else.txt"));
	free(s);
	s = tv_read(b, "logs", &err);
	CHECK_STREQ(s, "time=\"x\" level=info msg=hello\n");
	free(s);
	s = tv_read(b, "meta/results.yaml", &err);
	CHECK_STREQ(s, "errors: {}\nwarnings: {}\n");
	free(s);
	CHECK(tv_holds(b, "describe.txt", "Completed"));
	CHECK_EQ_INT(backup_node_walk(b, "nope", &node, &e), -ENOENT);
	CHECK_EQ_INT(backup_node_walk(b, "backup.yaml/x", &node, &e), -ENOTDIR);

	/* which backup a file's bytes came from */
	{
		char origin[256];

		s = tv_read(b, "namespaces/shop/secrets/db.yaml", &err);
		CHECK(s != NULL);
		if (s) {
			CHECK_EQ_INT(backup_repo_origin(r, s, strlen(s), origin,
							sizeof(origin)),
				     0);
			CHECK_STREQ(origin, "good");
			s[0] ^= 1; /* edited: no longer any backup's */
			CHECK_EQ_INT(backup_repo_origin(r, s, strlen(s), origin,
							sizeof(origin)),
				     -ENOENT);
		}
		free(s);
	}

	/* latest skips the newer Failed backup; schedules */
	CHECK_EQ_INT(backup_repo_latest(r, &slot), 0);
	CHECK_STREQ(backup_name(backup_repo_slot(r, slot)), "good");
	CHECK_EQ_INT(backup_repo_schedule_count(r), 1);
	CHECK_STREQ(backup_repo_schedule_name(r, 0), "daily");
out:
	tv_repo_close(&t);
}

static void test_bad_backups(void)
{
	struct tv_repo t;
	struct backup_repo *r = repo_open(&t, BACKUP_VIEW_YAML);
	struct backup_info in;
	struct backup *b;
	struct verror e;
	char *s;
	int err;

	b = backup_repo_find(r, "cut", NULL);
	CHECK_EQ_INT(backup_open(b, &e), 0);
	CHECK(tv_holds(b, "errors.txt", "truncated"));
	CHECK(tv_holds(b, "describe.txt", "truncated"));

	b = backup_repo_find(r, "nojson", NULL);
	CHECK_EQ_INT(backup_info(b, &in, &e), 0);
	CHECK(!in.valid);
	CHECK(tv_holds(b, "errors.txt", "velero-backup.json is missing"));
	s = tv_read(b, "namespaces/shop/configmaps/app.config.yaml", &err);
	CHECK_EQ_INT(err, 0);
	free(s);

	b = backup_repo_find(r, "badjson", NULL);
	s = tv_read(b, "errors.txt", &err);
	CHECK(s && strstr(s, "does not parse"));
	CHECK(s && strstr(s, "not gzip"));
	free(s);

	b = backup_repo_find(r, "old", NULL);
	s = tv_read(b, "namespaces/shop/configmaps/app.config.yaml", &err);
	CHECK_EQ_INT(err, 0);
	free(s);
	tv_repo_close(&t);
}

static void test_json_view_and_reuse(void)
{
	struct tv_repo t;
	struct backup_repo *r = repo_open(&t, BACKUP_VIEW_JSON);
	struct backup *b = backup_repo_find(r, "good", NULL);
	struct verror e;
	char *s;
	int err;

	/* each view has its own index */
	CHECK_EQ_INT(backup_open(b, &e), 0);
	CHECK(backup_build_ms(b) > 0);
	s = tv_read(b, "namespaces/shop/configmaps/app.config.json", &err);
	CHECK_STREQ(s, CM);
	free(s);
	s = tv_read(b, "namespaces/shop/secrets/db.json", &err);
	CHECK_STREQ(s, SECRET);
	free(s);
	/* not JSON: broken in this view too */
	s = tv_read(b, "namespaces/shop/configmaps/broken.json", &err);
	CHECK_EQ_INT(err, -EIO);
	tv_repo_close(&t);

	/* a second run maps what the first built */
	r = repo_open(&t, BACKUP_VIEW_JSON);
	b = backup_repo_find(r, "good", NULL);
	CHECK_EQ_INT(backup_open(b, &e), 0);
	CHECK_EQ_INT(backup_build_ms(b), 0);
	tv_repo_close(&t);
}

static char *find_idx_at(const char *which)
{
	char cmd[700], *line = NULL;
	size_t n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ls -S %s/idx/*.idx | %s -1", tv_cache,
		 which);
	p = popen(cmd, "r");
	if (!p)
		return NULL;
	if (getline(&line, &n, p) > 0)
		line[strcspn(line, "\n")] = '\0';
	pclose(p);
	return line;
}

/* The largest index in the cache. */
static char *find_idx(void)
{
	return find_idx_at("head");
}

static void flip_byte(const char *path, off_t off)
{
	int fd = open(path, O_RDWR);
	unsigned char c;

	CHECK(fd >= 0);
	CHECK(pread(fd, &c, 1, off) == 1);
	c ^= 0x55;
	CHECK(pwrite(fd, &c, 1, off) == 1);
	close(fd);
}

static void test_corrupt_index(void)
{
	struct tv_repo t;
	struct backup_repo *r;
	struct backup *b;
	struct verror e;
	struct stat st;
	char *idx, *s;
	int err;

	/* one index, of the YAML view */
	drop_index();
	r = repo_open(&t, BACKUP_VIEW_YAML);
	CHECK_EQ_INT(backup_open(backup_repo_find(r, "good", NULL), &e), 0);
	tv_repo_close(&t);
	idx = find_idx();
	CHECK(idx != NULL);
	if (!idx)
		return;
	CHECK(stat(idx, &st) == 0);
	/* metadata (the tail): detected at map time and rebuilt */
	flip_byte(idx, st.st_size - 10);
	r = repo_open(&t, BACKUP_VIEW_YAML);
	b = backup_repo_find(r, "good", NULL);
	CHECK_EQ_INT(backup_open(b, &e), 0);
	CHECK(backup_build_ms(b) > 0);
	CHECK(tv_holds(b, "namespaces/shop/configmaps/app.config.yaml",
		       "app.config"));
	tv_repo_close(&t);
	free(idx);

	/* a truncated index is rebuilt too */
	idx = find_idx();
	CHECK(idx && truncate(idx, 100) == 0);
	r = repo_open(&t, BACKUP_VIEW_YAML);
	b = backup_repo_find(r, "good", NULL);
	CHECK_EQ_INT(backup_open(b, &e), 0);
	CHECK(backup_build_ms(b) > 0);
	tv_repo_close(&t);
	free(idx);

	/* data: caught by the per-file checksum on read, never served; the
	 * backup is indexed again and the read answered from the new index */
	idx = find_idx();
	flip_byte(idx, 200);
	r = repo_open(&t, BACKUP_VIEW_YAML);
	b = backup_repo_find(r, "good", NULL);
	CHECK_EQ_INT(backup_open(b, &e), 0);
	CHECK_EQ_INT(backup_build_ms(b), 0);
	{
		const char *paths[] = { "backup.yaml", "describe.txt", "logs",
					"namespaces/shop/configmaps/"
					"app.config.yaml",
					"meta/results.yaml" };
		int eio = 0;

		for (size_t i = 0; i < sizeof(paths) / sizeof(*paths); i++) {
			s = tv_read(b, paths[i], &err);
			eio += err == -EIO;
			free(s);
		}
		CHECK_EQ_INT(eio, 0);
		CHECK(backup_build_ms(b) > 0);
		s = tv_read(b, "namespaces/shop/configmaps/app.config.yaml",
			    &err);
		CHECK(s && strstr(s, "name: app.config"));
		free(s);
	}
	tv_repo_close(&t);
	free(idx);
}

/* Recomputes the CRCs of an index image, as someone who can write the
 * cache can. */
static void reseal(unsigned char *p, size_t len)
{
	struct idx_header h;

	memcpy(&h, p, sizeof(h));
	h.meta_crc = (uint32_t)crc32_z(0, p + h.nodes_off, len - h.nodes_off);
	h.header_crc = 0;
	h.header_crc = (uint32_t)crc32(0, (const Bytef *)&h, sizeof(h));
	memcpy(p, &h, sizeof(h));
}

/* Offsets whose sum wraps, with valid CRCs (found by fuzz/fuzz_index):
 * refused by the check, so never used to read out of bounds. */
static void test_crafted_index(void)
{
	struct tv_repo t;
	struct backup_repo *r;
	struct verror e;
	struct idx_header h;
	struct idx_node n;
	unsigned char *img;
	size_t len = 0;
	uint64_t data_len;
	char *idx;
	FILE *f;

	r = repo_open(&t, BACKUP_VIEW_YAML);
	CHECK_EQ_INT(backup_open(backup_repo_find(r, "good", NULL), &e), 0);
	tv_repo_close(&t);
	idx = find_idx();
	f = idx ? fopen(idx, "rb") : NULL;
	CHECK(f != NULL);
	if (!f) {
		free(idx);
		return;
	}
	img = malloc(1 << 24);
	len = fread(img, 1, 1 << 24, f);
	fclose(f);
	CHECK_EQ_INT(backup_index_check(img, len), 0);
	memcpy(&h, img, sizeof(h));
	for (uint32_t i = 0; i < h.node_count; i++) {
		unsigned char *np = img + h.nodes_off + i * sizeof(n);

		memcpy(&n, np, sizeof(n));
		if (n.type != IDX_ITEM && n.type != IDX_FILE)
			continue;
		/* off + len wraps to within the data */
		n.off = UINT64_MAX - 15;
		memcpy(np, &n, sizeof(n));
		reseal(img, len);
		CHECK_EQ_INT(backup_index_check(img, len), -EBADMSG);
		break;
	}
	/* data_off + data_len wraps: every file offset would pass */
	memcpy(&h, img, sizeof(h));
	data_len = h.data_len;
	h.data_len = UINT64_MAX - h.data_off + 1 + 8;
	memcpy(img, &h, sizeof(h));
	reseal(img, len);
	CHECK_EQ_INT(backup_index_check(img, len), -EBADMSG);
	/* names_off + names_len wraps */
	memcpy(&h, img, sizeof(h));
	h.data_len = data_len;
	h.names_len = UINT64_MAX - h.names_off + 1 + len;
	memcpy(img, &h, sizeof(h));
	reseal(img, len);
	CHECK_EQ_INT(backup_index_check(img, len), -EBADMSG);
	free(img);
	free(idx);
}

/* Another backup's index copied over this one's (valid in every CRC): its
 * header names another owner, so it is refused and this backup's own
 * index is built, never the other's items served under this name. */
static void test_index_owner(void)
{
	struct tv_repo t;
	struct backup_repo *r;
	struct backup *b;
	struct verror e;
	char cmd[1400], *big, *small, *s;
	uint32_t node;
	int err;

	drop_index();
	r = repo_open(&t, BACKUP_VIEW_YAML);
	CHECK_EQ_INT(backup_open(backup_repo_find(r, "good", NULL), &e), 0);
	CHECK_EQ_INT(backup_open(backup_repo_find(r, "old", NULL), &e), 0);
	tv_repo_close(&t);
	big = find_idx();	     /* good's */
	small = find_idx_at("tail"); /* old's */
	CHECK(big && small && strcmp(big, small));
	if (!big || !small) {
		free(big);
		free(small);
		return;
	}
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", big, small);
	CHECK(system(cmd) == 0);
	r = repo_open(&t, BACKUP_VIEW_YAML);
	b = backup_repo_find(r, "old", NULL);
	CHECK_EQ_INT(backup_open(b, &e), 0);
	CHECK(backup_build_ms(b) > 0); /* refused, built again */
	CHECK_EQ_INT(backup_node_walk(b, "namespaces/shop/secrets/db.yaml",
				      &node, &e),
		     -ENOENT);
	s = tv_read(b, "namespaces/shop/configmaps/app.config.yaml", &err);
	CHECK(s != NULL);
	free(s);
	tv_repo_close(&t);
	free(big);
	free(small);
}

/* The cache file truncated after it was mapped: no page past its new end
 * is touched (that is a SIGBUS); the backup is indexed again and served. */
static void test_index_truncated_under_mapping(void)
{
	struct tv_repo t;
	struct backup_repo *r;
	struct backup *b;
	struct verror e;
	char *idx, *s;
	int err;

	r = repo_open(&t, BACKUP_VIEW_YAML);
	b = backup_repo_find(r, "good", NULL);
	CHECK_EQ_INT(backup_open(b, &e), 0);
	idx = find_idx();
	CHECK(idx && truncate(idx, 100) == 0);
	s = tv_read(b, "namespaces/shop/configmaps/app.config.yaml", &err);
	CHECK_EQ_INT(err, 0);
	CHECK(s && strstr(s, "name: app.config"));
	free(s);
	/* and once more, after the data's CRC was checked */
	CHECK(idx && truncate(idx, 100) == 0);
	s = tv_read(b, "namespaces/shop/configmaps/app.config.yaml", &err);
	CHECK_EQ_INT(err, 0);
	CHECK(s && strstr(s, "name: app.config"));
	free(s);
	tv_repo_close(&t);
	free(idx);
}

/* The cache file changed after it was mapped and checked: a node's
 * offset set to wrap (the check at map time is past): every field is
 * checked again where it is used, never read out of bounds. */
static void test_index_changed_under_mapping(void)
{
	static const char path[] = "namespaces/shop/configmaps/app.config.yaml";
	struct tv_repo t;
	struct backup_repo *r;
	struct backup *b;
	struct verror e;
	struct idx_header h;
	struct idx_node n;
	uint32_t node;
	char *idx, *s;
	int err, fd;

	r = repo_open(&t, BACKUP_VIEW_YAML);
	b = backup_repo_find(r, "good", NULL);
	CHECK_EQ_INT(backup_node_walk(b, path, &node, &e), 0);
	idx = find_idx();
	fd = idx ? open(idx, O_RDWR) : -1;
	CHECK(fd >= 0);
	CHECK(pread(fd, &h, sizeof(h), 0) == sizeof(h));
	CHECK(pread(fd, &n, sizeof(n),
		    (off_t)(h.nodes_off + node * sizeof(n))) == sizeof(n));
	n.off = UINT64_MAX - 15;
	CHECK(pwrite(fd, &n, sizeof(n),
		     (off_t)(h.nodes_off + node * sizeof(n))) == sizeof(n));
	/* and a directory whose children lie past the table */
	CHECK(pread(fd, &n, sizeof(n), (off_t)h.nodes_off) == sizeof(n));
	n.first_child = UINT32_MAX - 1;
	CHECK(pwrite(fd, &n, sizeof(n), (off_t)h.nodes_off) == sizeof(n));
	close(fd);
	s = tv_read(b, path, &err);
	CHECK_EQ_INT(err, 0);
	CHECK(s && strstr(s, "name: app.config"));
	free(s);
	tv_repo_close(&t);
	free(idx);
}

/* ---- a vault that reads one byte at a time, and fails on demand ---- */

static struct flaky_vault flaky;

static struct backup_repo *flaky_open(struct tv_repo *t)
{
	struct vault *fv = NULL;
	struct verror e;

	CHECK_EQ_INT(flaky_vault_open(tv_root, &flaky, &fv, &e), 0);
	return repo_on(t, fv, BACKUP_VIEW_YAML);
}

/* Every object comes one byte per read: the gzip magic is checked across
 * reads, the tarball and the other objects are read whole. */
static void test_short_reads(void)
{
	struct tv_repo t;
	struct backup_repo *r;
	struct backup *b;
	struct verror e;
	char *s;
	int err;

	drop_index();
	memset(&flaky, 0, sizeof(flaky));
	r = flaky_open(&t);
	b = backup_repo_find(r, "good", NULL);
	CHECK_EQ_INT(backup_open(b, &e), 0);
	CHECK(tv_holds(b, "namespaces/shop/configmaps/app.config.yaml",
		       "name: app.config"));
	CHECK(tv_holds(b, "logs", "msg=hello"));
	s = tv_read(b, "errors.txt", &err);
	CHECK(!s || !strstr(s, "gzip"));
	free(s);
	tv_repo_close(&t);
}

/* A read that fails because of the vault (403 ExpiredToken, a timeout, a
 * reset) fails the build: nothing is cached as the backup's damage, and
 * the next open, with the vault well again, serves the object. */
static void test_temporary_errors(void)
{
	static const int errs[] = { EACCES, ETIMEDOUT, ECONNRESET, EIO };
	struct tv_repo t;
	struct backup_repo *r;
	struct backup *b;
	struct verror e;
	char *s;
	int err;

	for (size_t i = 0; i < sizeof(errs) / sizeof(*errs); i++) {
		drop_index();
		memset(&flaky, 0, sizeof(flaky));
		flaky.fail_key = "good-results.gz";
		flaky.fail_errno = errs[i];
		r = flaky_open(&t);
		b = backup_repo_find(r, "good", NULL);
		CHECK_EQ_INT(backup_open(b, &e), -errs[i]);
		CHECK(flaky.reads_failed > 0);
		flaky.fail_key = NULL;
		CHECK_EQ_INT(backup_open(b, &e), 0);
		CHECK(backup_build_ms(b) > 0); /* built, not read back */
		s = tv_read(b, "meta/results.yaml", &err);
		CHECK_EQ_INT(err, 0);
		CHECK(s && strstr(s, "errors"));
		free(s);
		s = tv_read(b, "errors.txt", &err);
		CHECK(!s || !strstr(s, "results"));
		free(s);
		tv_repo_close(&t);
	}
}

struct thread_arg {
	struct backup *b;
	int ok;
};

static void *opener(void *p)
{
	struct thread_arg *a = p;
	struct verror e;
	uint32_t node;

	a->ok = backup_node_walk(a->b, "namespaces/shop/secrets/db.yaml", &node,
				 &e) == 0;
	return NULL;
}

static void test_threads(void)
{
	struct tv_repo t;
	struct backup_repo *r;
	struct thread_arg args[8];
	pthread_t th[8];
	int i;

	drop_index();
	r = repo_open(&t, BACKUP_VIEW_YAML);
	for (i = 0; i < 8; i++) {
		args[i].b = backup_repo_find(r, "good", NULL);
		pthread_create(&th[i], NULL, opener, &args[i]);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		CHECK(args[i].ok);
	}
	tv_repo_close(&t);
}

/* ---- a source other than Velero's ---- */

static const char *fake_key[] = { "generation", "1" };
static int fake_reads;
static const struct backup_source_ops fake;

static int fake_open(struct backup *b, struct backup_source **out,
		     struct verror *e)
{
	struct backup_source *s = calloc(1, sizeof(*s));

	(void)e;
	if (!s)
		return -ENOMEM;
	s->ops = &fake;
	s->b = b;
	s->key = fake_key;
	s->nkey = 2;
	*out = s;
	return 0;
}

static int fake_read(struct backup_source *s, struct backup_sink *k,
		     struct verror *e)
{
	static const char cm[] = "{\"kind\":\"ConfigMap\",\"data\":{\"a\":"
				 "\"1\"}}";
	static const char ns[] = "{\"kind\":\"Namespace\"}";
	struct backup_item it = { .ns = "shop",
				  .gr = "configmaps",
				  .name = "app",
				  .label = "/registry/configmaps/shop/app",
				  .json = cm,
				  .len = sizeof(cm) - 1 };
	int r;

	(void)s;
	(void)e;
	fake_reads++;
	r = backup_sink_item(k, &it);
	it = (struct backup_item){ .gr = "namespaces",
				   .name = "shop",
				   .version = "v1",
				   .label = "/registry/namespaces/shop",
				   .json = ns,
				   .len = sizeof(ns) - 1 };
	if (r == 0)
		r = backup_sink_item(k, &it);
	it = (struct backup_item){ .ns = "shop",
				   .gr = "secrets",
				   .name = "broken",
				   .label = "/registry/secrets/shop/broken",
				   .json = "{\"x\":",
				   .len = 5 };
	if (r == 0)
		r = backup_sink_item(k, &it);
	backup_sink_item_error(k, "/registry/pods/shop/x: not decoded");
	if (r == 0)
		r = backup_sink_file(k, "status.txt", "ok\n", 3);
	return r;
}

static int fake_describe(struct backup_source *s,
			 const struct backup_summary *sum, struct sbuf *out)
{
	(void)s;
	return sbuf_addf(out, "items %zu errors %zu kinds %zu\n", sum->nitems,
			 sum->item_errors, sum->nkinds);
}

static void fake_close(struct backup_source *s)
{
	free(s);
}

static const struct backup_source_ops fake = {
	.name = "fake",
	.open = fake_open,
	.read = fake_read,
	.describe = fake_describe,
	.close = fake_close,
};

static void check_file(struct backup *b, const char *path, const char *want)
{
	int err;
	char *s = tv_read(b, path, &err);

	CHECK_EQ_INT(err, 0);
	if (s)
		CHECK_STREQ(s, want);
	free(s);
}

/* The backup snap of a repo, read through the fake source. */
static struct backup *open_fake(struct backup_repo **r, struct tv_repo *t)
{
	struct verror e;
	struct backup *b;

	*r = repo_open(t, BACKUP_VIEW_YAML);
	b = backup_repo_find(*r, "snap", NULL);
	CHECK(b != NULL);
	b->source = &fake;
	CHECK_EQ_INT(backup_open(b, &e), 0);
	return b;
}

/* A source that is not Velero's - a few lines that yield items - gets
 * the same tree, views and error reporting (source_i.h), and its key
 * decides when the cached index is rebuilt. */
static void test_fake_source(void)
{
	struct backup_repo *r;
	struct tv_repo t;
	struct backup *b;
	struct verror e;
	uint32_t node;
	int err;
	char *s;

	tv_mkdirs("backups/snap");
	tv_put("backups/snap/x", "{}", 2);
	b = open_fake(&r, &t);
	CHECK_EQ_INT(fake_reads, 1);
	check_file(b, "namespaces/shop/configmaps/app.yaml",
		   "kind: ConfigMap\ndata:\n  a: \"1\"\n");
	/* no version-less copy: the versioned one is shown, and under
	 * apiversions/ */
	check_file(b, "cluster/namespaces/shop.yaml", "kind: Namespace\n");
	check_file(b, "apiversions/namespaces/v1/cluster/shop.yaml",
		   "kind: Namespace\n");
	check_file(b, "status.txt", "ok\n");
	check_file(b, "describe.txt", "items 3 errors 2 kinds 3\n");
	s = tv_read(b, "errors.txt", &err);
	CHECK(s && strstr(s, "/registry/secrets/shop/broken: "));
	CHECK(s && strstr(s, "/registry/pods/shop/x: not decoded\n"));
	free(s);
	/* the item that does not parse is there, reads EIO, mode 0400 */
	CHECK_EQ_INT(backup_node_walk(b, "namespaces/shop/secrets/broken.yaml",
				      &node, &e),
		     0);
	s = tv_read(b, "namespaces/shop/secrets/broken.yaml", &err);
	CHECK(s == NULL);
	CHECK_EQ_INT(err, -EIO);
	tv_repo_close(&t);

	/* the same key: mapped from the cache, the source is not read */
	b = open_fake(&r, &t);
	CHECK_EQ_INT(fake_reads, 1);
	CHECK_EQ_INT(backup_build_ms(b), 0);
	tv_repo_close(&t);

	/* a new key: a new index */
	fake_key[1] = "2";
	b = open_fake(&r, &t);
	CHECK_EQ_INT(fake_reads, 2);
	tv_repo_close(&t);
}

/* The whole index file, read into a malloc'd buffer (*len its size). */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	*len = 0;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0) {
		rewind(f);
		buf = malloc((size_t)n);
		if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n)
			*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

/* Builds backup "many"'s index with threads build threads in view, and
 * returns the index file's bytes. */
static char *build_many(unsigned threads, bool clean, size_t *len)
{
	struct backup_options o = { .view = BACKUP_VIEW_YAML,
				    .clean = clean,
				    .redact = clean,
				    .build_threads = threads };
	struct tv_repo t;
	struct backup_repo *r;
	struct backup *b;
	struct verror e;
	char *path, *bytes = NULL;

	tv_sh("rm -rf '%s.cache'", "");
	r = tv_repo_open(&t, &o);
	CHECK_EQ_INT(backup_repo_refresh(r, &e), 0);
	b = backup_repo_find(r, "many", NULL);
	CHECK(b != NULL);
	if (b && backup_open(b, &e) == 0) {
		path = find_idx();
		if (path)
			bytes = slurp(path, len);
		free(path);
	}
	tv_repo_close(&t);
	return bytes;
}

/* The pipelined build gives the same file as the build on one thread:
 * thousands of items, identical copies, items that do not parse and
 * members that are not items (lines of errors.txt from both the source's
 * thread and the renderers, interleaved), items of every size up to
 * several times the ring's share. */
static void test_build_deterministic(void)
{
	size_t n = 3000, i, k = 0, len1 = 0, len4 = 0, lenc1 = 0, lenc4 = 0;
	struct member *m = calloc(2 * n + 1, sizeof(*m));
	char **bufs = calloc(4 * n, sizeof(*bufs));
	char *one, *four;

	for (i = 0; i < n; i++) {
		char *name = NULL, *json = NULL, *vname = NULL;
		size_t pad = (i * 7919) % (i % 97 == 0 ? 300000 : 3000);
		char *fill = malloc(pad + 1);
		const char *gr = i % 3 == 0 ? "secrets" : "configmaps";

		memset(fill, 'a' + (char)(i % 26), pad);
		fill[pad] = '\0';
		if (i % 37 == 5)
			json = strdup("{\"kind\": ");
		else if (asprintf(&json,
				  "{\"apiVersion\":\"v1\",\"kind\":\"%s\","
				  "\"metadata\":{\"name\":\"o%zu\","
				  "\"namespace\":\"ns%zu\"},\"data\":"
				  "{\"k\":\"%s\",\"n\":%zu}}",
				  i % 3 == 0 ? "Secret" : "ConfigMap", i,
				  i % 11, fill, i % 50) < 0)
			json = NULL;
		free(fill);
		if (i % 53 == 7) {
			if (asprintf(&name, "odd/place/%zu.json", i) < 0)
				name = NULL;
		} else if (asprintf(&name,
				    "resources/%s/namespaces/ns%zu/o%zu.json",
				    gr, i % 11, i) < 0) {
			name = NULL;
		}
		bufs[4 * i] = name;
		bufs[4 * i + 1] = json;
		if (i % 2 == 0) {
			if (asprintf(&vname,
				     "resources/%s/v1-preferredversion/"
				     "namespaces/ns%zu/o%zu.json",
				     gr, i % 11, i) < 0)
				vname = NULL;
			bufs[4 * i + 2] = vname;
		}
	}
	tv_mkdirs("backups/many");
	tv_puts("backups/many/velero-backup.json", "{\"kind\":\"Backup\","
						   "\"metadata\":{\"name\":"
						   "\"many\"},"
						   "\"status\":{\"phase\":"
						   "\"Completed\"}}");
	m[k++] = (struct member){ "metadata/version", "1.1.0\n" };
	for (i = 0; i < n; i++) {
		m[k++] = (struct member){ bufs[4 * i], bufs[4 * i + 1] };
		if (bufs[4 * i + 2])
			m[k++] = (struct member){ bufs[4 * i + 2],
						  bufs[4 * i + 1] };
	}
	tarball("backups/many/many.tar.gz", m, k,
		ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, NULL);
	/* a log of some MiB (streamed into the index while the build sorts,
	 * on more than one thread), a metadata object before and after it
	 * by name, and one after it that is not gzip (its line of
	 * errors.txt after the log's place) */
	tv_sh("seq -f 'time=x level=info msg=\"item %%g\"' 1 300000 | "
	      "gzip > '%s/%s/many-logs.gz'",
	      "backups/many");
	tv_sh("echo '[\"a\"]' | gzip > '%s/%s/many-itemoperations.json.gz'",
	      "backups/many");
	tv_puts("backups/many/many-results.gz", "not gzip");
	one = build_many(1, false, &len1);
	four = build_many(4, false, &len4);
	CHECK(one != NULL && len1 > 1000000);
	CHECK(len1 == len4 && one && four && !memcmp(one, four, len1));
	free(one);
	free(four);
	one = build_many(1, true, &lenc1);
	four = build_many(3, true, &lenc4);
	CHECK(one != NULL && lenc1 > 1000000);
	CHECK(lenc1 == lenc4 && one && four && !memcmp(one, four, lenc1));
	free(one);
	free(four);
	tv_rm("backups/many");
	tv_sh("rm -rf '%s.cache'", "");
	for (i = 0; i < 4 * n; i++)
		free(bufs[i]);
	free(bufs);
	free(m);
}

/* The tarball's DataUploads (resources/datauploads.velero.io, with the
 * preferred-version copy) are kept once each, whole, as
 * meta/datauploads, in every view and with clean (which drops items'
 * status); one that does not parse is not; volumes/ is not shown when
 * their repository is not in the vault. */
#define DU(name, phase)                                                   \
	"{\"kind\":\"DataUpload\",\"apiVersion\":\"velero.io/v2alpha1\"," \
	"\"metadata\":{\"name\":\"" name "\",\"namespace\":\"velero\"},"  \
	"\"spec\":{\"sourceNamespace\":\"shop\",\"sourcePVC\":\"data\"}," \
	"\"status\":{\"phase\":\"" phase "\",\"snapshotID\":\"0123456789\"}}"
static void test_datauploads(void)
{
	struct member m[] = {
		{ "metadata/version", "1.1.0\n" },
		{ "resources/datauploads.velero.io/namespaces/velero/dm-a.json",
		  DU("dm-a", "Completed") },
		{ "resources/datauploads.velero.io/v2alpha1-preferredversion/"
		  "namespaces/velero/dm-a.json",
		  DU("dm-a", "Completed") },
		{ "resources/datauploads.velero.io/v2alpha1-preferredversion/"
		  "namespaces/velero/dm-b.json",
		  DU("dm-b", "Failed") },
		{ "resources/datauploads.velero.io/namespaces/velero/dm-c.json",
		  "{\"kind\": " },
	};
	static const bool cleans[] = { false, true, false };
	static const enum backup_view views[] = { BACKUP_VIEW_YAML,
						  BACKUP_VIEW_YAML,
						  BACKUP_VIEW_JSON };
	size_t i;

	tv_mkdirs("backups/dm");
	tv_put("backups/dm/velero-backup.json",
	       "{\"status\":{\"phase\":\"Completed\"}}",
	       strlen("{\"status\":{\"phase\":\"Completed\"}}"));
	tarball("backups/dm/dm.tar.gz", m, sizeof(m) / sizeof(*m),
		ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, NULL);
	for (i = 0; i < sizeof(views) / sizeof(*views); i++) {
		struct backup_options o = { .view = views[i],
					    .clean = cleans[i] };
		bool json = views[i] == BACKUP_VIEW_JSON;
		struct tv_repo t;
		struct backup_repo *r;
		struct backup *b;
		struct verror e;
		size_t slot = 0;
		uint64_t id;
		const char *a;
		json_t *j;
		char *s;
		int err;

		drop_index();
		r = tv_repo_open(&t, &o);
		CHECK_EQ_INT(backup_repo_refresh(r, &e), 0);
		b = backup_repo_find(r, "dm", &slot);
		CHECK(b != NULL);
		if (!b) {
			tv_repo_close(&t);
			continue;
		}
		s = tv_read(b,
			    json ? "meta/datauploads.json" :
				   "meta/datauploads.yaml",
			    &err);
		CHECK_EQ_INT(err, 0);
		if (s && json) {
			j = json_loads(s, 0, NULL);
			CHECK_EQ_INT(json_array_size(j), 2);
			CHECK_STREQ(json_string_value(json_object_get(
					    json_object_get(
						    json_array_get(j, 0), "stat"
									  "us"),
					    "snapshotID")),
				    "0123456789");
			json_decref(j);
		} else if (s) {
			CHECK(strstr(s, "name: dm-a") != NULL);
			CHECK(strstr(s, "name: dm-b") != NULL);
			CHECK(strstr(s, "dm-c") == NULL);
			CHECK(strstr(s, "snapshotID: \"0123456789\"") != NULL);
			a = strstr(s, "name: dm-a");
			CHECK(a && !strstr(a + 1, "name: dm-a"));
		}
		free(s);
		/* the data upload's repository, kopia/shop/, is not there */
		CHECK_EQ_INT(backup_vol_root(b, slot, &id, &e), -ENOENT);
		tv_repo_close(&t);
	}
}

int main(void)
{
	struct stat st;

	if (!tv_init("backup"))
		return 1;
	make_vault();
	test_tree();
	test_bad_backups();
	test_json_view_and_reuse();
	test_corrupt_index();
	test_crafted_index();
	test_index_owner();
	test_index_truncated_under_mapping();
	test_index_changed_under_mapping();
	test_short_reads();
	test_temporary_errors();
	test_threads();
	test_fake_source();
	test_build_deterministic();
	test_datauploads();
	/* nothing escaped: no file written outside the cache */
	CHECK(stat("/escape.json", &st) < 0);
	CHECK(stat("/abs/escape.json", &st) < 0);
	tv_cleanup();
	return check_status();
}
