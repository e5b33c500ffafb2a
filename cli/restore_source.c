/* cli/restore_source: where the bytes copied into restore/ come from, for
 * the restore engine's callbacks (restore_origin_fn, restore_namespace_fn):
 * files of the mount's backups, read through backup/. The engine knows no
 * backups; the mount (cmd_mount.c) wires these in. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "backup/backup.h"
#include "cli/restore_source.h"
#include "common/error.h"
#include "common/macro.h"
#include "common/sbuf.h"

/* A recovery point by name: a backup, else an etcd snapshot. */
static struct backup *find_point(struct backup_repo *repo, const char *name)
{
	struct backup *b = backup_repo_find(repo, name, NULL);

	return b ? b : backup_repo_find_snapshot(repo, name, NULL);
}

/* The bytes of path ("backups/<backup>/..." or "snapshots/<snapshot>/...",
 * a file of the mount) into sb, its recovery point's name into bname.
 * -ENOENT when it is no such file. */
static int mount_file(struct backup_repo *repo, const char *path, char *bname,
		      size_t bnsz, struct sbuf *sb)
{
	bool snap = !strncmp(path, "snapshots/", strlen("snapshots/"));
	const char *p = path + strlen(snap ? "snapshots/" : "backups/"),
		   *slash = strchr(p, '/');
	struct verror e = { { 0 } };
	struct backup *b;
	uint32_t node;
	uint64_t off = 0;
	int r;

	if ((!snap && strncmp(path, "backups/", strlen("backups/"))) ||
	    !slash || (size_t)(slash - p) >= bnsz)
		return -ENOENT;
	snprintf(bname, bnsz, "%.*s", (int)(slash - p), p);
	b = snap ? backup_repo_find_snapshot(repo, bname, NULL) :
		   backup_repo_find(repo, bname, NULL);
	if (!b || backup_open(b, &e) < 0 ||
	    backup_node_walk(b, slash + 1, &node, &e) < 0)
		return -ENOENT;
	for (;;) {
		const void *d;
		size_t got;

		r = backup_node_read(b, node, off, 65536, &d, &got, &e);
		if (r < 0 || !got || (r = sbuf_add(sb, d, got)) < 0)
			return r;
		off += got;
	}
}

static bool only_separators(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr(" \t\r\n-", p[i]))
			return false;
	return true;
}

/* Which backup the bytes came from (restore_origin_fn): the backup of the
 * files the writer had open (hints), when the bytes are those files'
 * (one, or several joined with `---` lines) and they are of one backup;
 * -EMLINK when they are of several. Without a hint that explains them,
 * the newest opened backup holding a file with exactly these bytes. */
int restore_source_origin(void *userdata, const void *data, size_t len,
			  const char *const *hints, size_t nhints, char *name,
			  size_t namesz)
{
	const char *d = data;
	char first[256] = "", bn[256];
	size_t pos = 0;
	bool several = false;

	for (size_t i = 0; i < nhints; i++) {
		struct sbuf sb;
		const char *at = NULL;

		sbuf_init(&sb, (size_t)64 << 20);
		if (mount_file(userdata, hints[i], bn, sizeof(bn), &sb) == 0 &&
		    sb.len)
			at = memmem(d + pos, len - pos, sb.buf, sb.len);
		if (at && only_separators(d + pos, at - (d + pos))) {
			if (first[0] && strcmp(first, bn))
				several = true;
			else
				snprintf(first, sizeof(first), "%s", bn);
			pos = at - d + sb.len;
		}
		sbuf_release(&sb);
	}
	if (first[0] && only_separators(d + pos, len - pos)) {
		if (several)
			return -EMLINK;
		snprintf(name, namesz, "%s", first);
		return 0;
	}
	return backup_repo_origin(userdata, data, len, name, namesz);
}

/* The file of Namespace ns in backup, for a namespace restore/ creates
 * (see restore_namespace_fn): cluster/namespaces/<ns>.json or .yaml. */
int restore_source_namespace(void *userdata, const char *backup, const char *ns,
			     char **data, size_t *len)
{
	static const char *const ext[] = { "json", "yaml" };
	struct backup *b = find_point(userdata, backup);
	struct verror e = { { 0 } };

	if (!b || backup_open(b, &e) < 0)
		return -ENOENT;
	for (size_t i = 0; i < ARRAY_SIZE(ext); i++) {
		char path[512];
		uint32_t node;
		struct sbuf sb;
		uint64_t off = 0;
		int r = 0;

		snprintf(path, sizeof(path), "cluster/namespaces/%s.%s", ns,
			 ext[i]);
		if (backup_node_walk(b, path, &node, &e) < 0)
			continue;
		sbuf_init(&sb, (size_t)1 << 20);
		for (;;) {
			const void *p;
			size_t got;

			r = backup_node_read(b, node, off, 65536, &p, &got, &e);
			if (r < 0 || !got || (r = sbuf_add(&sb, p, got)) < 0)
				break;
			off += got;
		}
		if (r == 0 && (*data = sbuf_take(&sb, len)))
			return 0;
		sbuf_release(&sb);
		return r < 0 ? r : -ENOMEM;
	}
	return -ENOENT;
}
