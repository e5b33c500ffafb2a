/* backup/index_map: an index file as it is read back - the one place that
 * decides whether a mapped index may be used (backup_index_check) and
 * wraps it for the tree (backup_index_map).
 *
 * The file is a cache written by index.c, but it is read as hostile
 * input: a crash, a full disk or another program may have left anything
 * at that path. Nothing of a mapping is used before it passed the check;
 * the data region's bytes carry their own CRC-32 each, checked on first
 * read (tree.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backup/backup_i.h"
#include "common/log.h"

uint32_t backup_index_header_crc(const struct idx_header *h)
{
	struct idx_header c = *h;

	c.header_crc = 0;
	return backup_crc32(0, &c, sizeof(c));
}

int backup_index_check(const void *addr, size_t len)
{
	const struct idx_header *h = addr;
	const struct idx_node *nodes;
	uint32_t i;
	uint32_t crc;

	if (len < sizeof(*h) || memcmp(h->magic, IDX_MAGIC, 8) ||
	    h->header_crc != backup_index_header_crc(h) || h->file_size != len)
		return -EBADMSG;
	/* every bound in subtraction form: the fields are hostile, and a sum
	 * of two of them can wrap (issue 16 item 3; reproduced with
	 * fuzz/fuzz_index and the seed fuzz/corpus/index/wrap-off.idx) */
	if (h->data_off != sizeof(*h) || h->data_len > len - h->data_off ||
	    h->nodes_off < h->data_off + h->data_len || h->nodes_off > len ||
	    h->nodes_off % 8 || h->node_count == 0 ||
	    (uint64_t)h->node_count * sizeof(struct idx_node) >
		    len - h->nodes_off ||
	    h->names_off != h->nodes_off + (uint64_t)h->node_count *
						   sizeof(struct idx_node) ||
	    h->names_len != len - h->names_off)
		return -EBADMSG;
	crc = backup_crc32(0, (const char *)addr + h->nodes_off,
			   len - h->nodes_off);
	if (crc != h->meta_crc)
		return -EBADMSG;
	nodes = (const struct idx_node *)((const char *)addr + h->nodes_off);
	for (i = 0; i < h->node_count; i++) {
		const struct idx_node *n = &nodes[i];

		if ((uint64_t)n->name_off + n->name_len > h->names_len)
			return -EBADMSG;
		if (n->type == IDX_DIR) {
			if ((n->nchildren &&
			     (n->first_child <= i ||
			      (uint64_t)n->first_child + n->nchildren >
				      h->node_count)))
				return -EBADMSG;
		} else if (n->type == IDX_FILE || n->type == IDX_ITEM ||
			   n->type == IDX_LINK) {
			if (!(n->flags & IDX_F_BROKEN) &&
			    (n->off > h->data_len ||
			     n->len > h->data_len - n->off))
				return -EBADMSG;
		} else {
			return -EBADMSG;
		}
	}
	return nodes[0].type == IDX_DIR ? 0 : -EBADMSG;
}

/* Wraps a checked mapping; on failure the mapping is released. */
static int index_wrap(struct cache *c, struct cache_mapping *m,
		      struct backup_index **out)
{
	const struct idx_header *h = m->addr;
	struct backup_index *x = calloc(1, sizeof(*x));

	if (x)
		x->verified = calloc(h->node_count, 1);
	if (!x || !x->verified) {
		free(x);
		cache_unmap(c, m);
		return -ENOMEM;
	}
	x->map = *m;
	x->header = *h;
	x->hdr = &x->header;
	x->nodes =
		(const struct idx_node *)((const char *)m->addr + h->nodes_off);
	x->names = (const char *)m->addr + h->names_off;
	x->data = (const char *)m->addr + h->data_off;
	*out = x;
	return 0;
}

int backup_index_map(struct cache *c, const char *path, const uint8_t *owner,
		     struct backup_index **out)
{
	struct cache_mapping m = { 0 };
	int r = cache_map(c, path, &m);

	if (r < 0)
		return r;
	if (backup_index_check(m.addr, m.len) < 0) {
		cache_unmap(c, &m);
		return -EBADMSG;
	}
	if (memcmp(((const struct idx_header *)m.addr)->owner, owner,
		   IDX_OWNER_LEN)) {
		/* valid, but another backup's (or another view's): copied or
		 * re-sealed over this one */
		log_debug("%s: the index belongs to another backup", path);
		cache_unmap(c, &m);
		return -EBADMSG;
	}
	return index_wrap(c, &m, out);
}

int backup_index_node(const struct backup_index *x, uint32_t node,
		      struct idx_node *out)
{
	const struct idx_header *h = x->hdr; /* the checked copy */
	struct idx_node n;

	if (node >= h->node_count)
		return -EBADMSG;
	memcpy(&n, &x->nodes[node], sizeof(n)); /* read once */
	if (n.name_off > h->names_len || n.name_len > h->names_len - n.name_off)
		return -EBADMSG;
	if (n.type == IDX_DIR) {
		if (n.nchildren &&
		    (n.first_child <= node || n.first_child > h->node_count ||
		     n.nchildren > h->node_count - n.first_child))
			return -EBADMSG;
	} else if (n.type == IDX_FILE || n.type == IDX_ITEM ||
		   n.type == IDX_LINK) {
		if (!(n.flags & IDX_F_BROKEN) &&
		    (n.off > h->data_len || n.len > h->data_len - n.off))
			return -EBADMSG;
	} else {
		return -EBADMSG;
	}
	*out = n;
	return 0;
}

int backup_index_verify(struct backup_index *x, uint32_t node,
			const struct idx_node *n)
{
	/* the file first: the nodes and names sit at its end, and the bytes
	 * are about to be touched */
	if (!cache_mapping_intact(&x->map))
		return -EIO;
	if (__atomic_load_n(&x->verified[node], __ATOMIC_RELAXED))
		return 0;
	if (backup_crc32(0, (const char *)x->data + n->off, n->len) != n->crc)
		return -EBADMSG;
	__atomic_store_n(&x->verified[node], 1, __ATOMIC_RELAXED);
	return 0;
}

struct backup_index *backup_index_free(struct backup_repo *r,
				       struct backup_index *x)
{
	while (x) {
		struct backup_index *next = x->retired;

		cache_unmap(r->cache, &x->map);
		free(x->verified);
		free(x->origin);
		free(x);
		x = next;
	}
	return NULL;
}
