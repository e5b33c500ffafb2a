/* fuzz_index: a crafted index file in the cache (backup/index.c's
 * backup_index_check() and every use of a mapped index in backup/tree.c).
 *
 * Setup: a local vault with one small backup, opened once so that its
 * index is built; that file's path is where each input goes. Per input:
 * the file is replaced by the input, a new repo opens the backup (the
 * cached index is checked and mapped, or rebuilt when refused), every
 * node is listed, looked up and read, and the origin lookup runs on the
 * bytes of an item. An attacker who can write the cache can also compute
 * CRCs, so before writing, the target seals the input: the header's
 * magic, owner (the real index's), file_size and CRCs, the CRC of nodes
 * and names, and the CRC of every file whose bytes lie inside the file
 * are made right (unless bit 0 of the header's reserved[0] is set, for
 * the paths that refuse bad CRCs; bit 1 keeps the magic and owner). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "backup/backup.h"
#include "backup/backup_i.h"
#include "fuzz/fuzz_util.h"

static char idx_path[4400];
static uint8_t owner[IDX_OWNER_LEN]; /* the real index's */
static char *item; /* the bytes of the ConfigMap as the view shows it */
static size_t item_len;

/* Opens the backup in a new repo and uses every part of its index.
 * setup: remember where the index is and the bytes of the ConfigMap. */
static void use_index(bool setup)
{
	struct backup_options o = { .view = BACKUP_VIEW_YAML };
	struct fuzz_repo fr;
	struct backup *b = fuzz_repo_open(&fr, &o);
	char name[256];

	if (fuzz_read_backup(b)) {
		if (setup) {
			uint32_t node;
			const void *d;

			if (backup_node_walk(b,
					     "namespaces/shop/configmaps/"
					     "app.yaml",
					     &node, NULL) < 0 ||
			    backup_node_read(b, node, 0, 1 << 20, &d, &item_len,
					     NULL) < 0)
				abort();
			item = malloc(item_len);
			memcpy(item, d, item_len);
		}
		(void)backup_repo_origin(fr.repo, item, item_len, name,
					 sizeof(name));
	} else if (setup) {
		abort();
	}
	fuzz_repo_close(&fr);
}

static void find_index(void)
{
	char dir[4300];
	struct dirent *d;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s/idx", fuzz_cache_dir());
	dp = opendir(dir);
	while (dp && (d = readdir(dp)))
		if (strstr(d->d_name, ".idx") && !strstr(d->d_name, "tmp"))
			snprintf(idx_path, sizeof(idx_path), "%s/%s", dir,
				 d->d_name);
	if (dp)
		closedir(dp);
	if (!idx_path[0])
		abort();
	{
		struct idx_header h;
		FILE *f = fopen(idx_path, "rb");

		if (!f || fread(&h, sizeof(h), 1, f) != 1)
			abort();
		fclose(f);
		memcpy(owner, h.owner, IDX_OWNER_LEN);
	}
}

/* Makes the sums of a crafted index right (see the top of the file). */
static void seal(unsigned char *p, size_t len)
{
	struct idx_header h;
	struct idx_node n;

	if (len < sizeof(h))
		return;
	memcpy(&h, p, sizeof(h));
	if (h.reserved[0] & 1)
		return;
	if (!(h.reserved[0] & 2)) {
		memcpy(h.magic, IDX_MAGIC, 8);
		memcpy(h.owner, owner, IDX_OWNER_LEN);
	}
	h.file_size = len;
	if (h.nodes_off <= len && h.data_off <= len &&
	    h.node_count <= (len - h.nodes_off) / sizeof(n)) {
		size_t data = len - h.data_off;

		for (uint32_t i = 0; i < h.node_count; i++) {
			unsigned char *np = p + h.nodes_off + i * sizeof(n);

			memcpy(&n, np, sizeof(n));
			if ((n.type == IDX_FILE || n.type == IDX_ITEM) &&
			    n.off <= data && n.len <= data - n.off) {
				n.crc = (uint32_t)crc32(
					0, p + h.data_off + n.off, n.len);
				memcpy(np, &n, sizeof(n));
			}
		}
	}
	if (h.nodes_off <= len)
		h.meta_crc = (uint32_t)crc32(0, p + h.nodes_off,
					     (uInt)(len - h.nodes_off));
	h.header_crc = 0;
	h.header_crc = (uint32_t)crc32(0, (const Bytef *)&h, sizeof(h));
	memcpy(p, &h, sizeof(h));
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_vault_init(FUZZ_FZ_JSON);
	fuzz_write_small_tarball(fuzz_vault_dir(), "backups/fz/fz.tar.gz");
	use_index(true);
	find_index();
	/* FUZZ_INDEX_SEED=FILE: a copy of the real index, for the corpus */
	if (getenv("FUZZ_INDEX_SEED")) {
		char cmd[9000];

		snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", idx_path,
			 getenv("FUZZ_INDEX_SEED"));
		if (system(cmd) != 0)
			abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *p;

	if (size > ((size_t)16 << 20))
		return 0;
	p = malloc(size ? size : 1);
	if (!p)
		return 0;
	memcpy(p, data, size);
	seal(p, size);
	fuzz_write(NULL, idx_path + strlen(fuzz_tmpdir()) + 1, p, size);
	free(p);
	use_index(false);
	return 0;
}
