/* repo/restic_parse: restic's formats over decrypted bytes (index JSON,
 * pack headers, tree JSON, repository v2's compressed unpacked files). No
 * I/O, no keys, no state: see restic_i.h for the contracts and sources. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/rfc3339.h"
#include "repo/repo_i.h"
#include "repo/restic_i.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int restic_id_parse(const char *s, size_t n, uint8_t id[RESTIC_ID])
{
	size_t i;

	if (n != 2 * RESTIC_ID)
		return -EINVAL;
	for (i = 0; i < RESTIC_ID; i++) {
		int h = hexval(s[2 * i]), l = hexval(s[2 * i + 1]);

		if (h < 0 || l < 0)
			return -EINVAL;
		id[i] = (uint8_t)(h << 4 | l);
	}
	return 0;
}

void restic_id_str(const uint8_t id[RESTIC_ID], char out[2 * RESTIC_ID + 1])
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < RESTIC_ID; i++) {
		out[2 * i] = hx[id[i] >> 4];
		out[2 * i + 1] = hx[id[i] & 15];
	}
	out[2 * RESTIC_ID] = 0;
}

static int json_id(const json_t *s, uint8_t id[RESTIC_ID])
{
	if (!json_is_string(s))
		return -EINVAL;
	return restic_id_parse(json_string_value(s), json_string_length(s), id);
}

/* a JSON integer in [0, max] */
static bool json_u(const json_t *v, uint64_t max, uint64_t *out)
{
	json_int_t i;

	if (!json_is_integer(v))
		return false;
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i > max)
		return false;
	*out = (uint64_t)i;
	return true;
}

/* --- index ------------------------------------------------------------- */

int restic_index_parse(const char *json, size_t len,
		       const struct restic_index_sink *sink, struct verror *e)
{
	json_error_t je;
	json_t *j = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	const json_t *packs;
	size_t i, k;
	int r = 0;

	if (!j)
		return verror_set(e, -EBADMSG, "index: not JSON (%s)", je.text);
	packs = json_is_array(j) ? j : json_object_get(j, "packs");
	if (!json_is_array(packs)) {
		json_decref(j);
		return verror_set(e, -EBADMSG, "index: no packs");
	}
	for (i = 0; i < json_array_size(packs) && r >= 0; i++) {
		const json_t *p = json_array_get(packs, i);
		const json_t *blobs = json_object_get(p, "blobs");
		uint8_t pid[RESTIC_ID];

		if (json_id(json_object_get(p, "id"), pid) < 0 ||
		    !json_is_array(blobs)) {
			r = verror_set(e, -EBADMSG, "index: pack %zu invalid",
				       i);
			break;
		}
		if ((r = sink->pack(sink->ud, pid)) < 0)
			break;
		for (k = 0; k < json_array_size(blobs); k++) {
			const json_t *b = json_array_get(blobs, k);
			const char *t =
				json_string_value(json_object_get(b, "type"));
			const json_t *ul = json_object_get(b, "uncompressed_"
							      "length");
			struct restic_blob rb = { .pack = (uint32_t)i };
			uint64_t off, l, u = 0;

			if (json_id(json_object_get(b, "id"), rb.id) < 0 ||
			    !t ||
			    !json_u(json_object_get(b, "offset"), UINT32_MAX,
				    &off) ||
			    !json_u(json_object_get(b, "length"), UINT32_MAX,
				    &l) ||
			    l < RESTIC_EXTRA ||
			    (ul && !json_is_null(ul) &&
			     !json_u(ul, UINT32_MAX, &u))) {
				r = verror_set(e, -EBADMSG,
					       "index: pack %zu blob %zu "
					       "invalid",
					       i, k);
				break;
			}
			if (!strcmp(t, "data"))
				rb.type = RESTIC_DATA;
			else if (!strcmp(t, "tree"))
				rb.type = RESTIC_TREE;
			else {
				r = verror_set(e, -EBADMSG,
					       "index: blob type '%s' unknown",
					       t);
				break;
			}
			rb.off = (uint32_t)off;
			rb.len = (uint32_t)l;
			rb.compressed = u != 0;
			rb.ulen = rb.compressed ? (uint32_t)u :
						  (uint32_t)(l - RESTIC_EXTRA);
			if ((r = sink->blob(sink->ud, &rb)) < 0)
				break;
		}
	}
	json_decref(j);
	return r < 0 ? r : 0;
}

/* --- pack headers ------------------------------------------------------ */

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

int restic_pack_header_parse(const void *hdr, size_t len, uint64_t hdr_off,
			     struct restic_blob **out, size_t *n,
			     struct verror *e)
{
	const uint8_t *p = hdr, *end = p + len;
	struct restic_blob *v = NULL;
	size_t cnt = 0, cap = 0;
	uint64_t at = 0;

	while (p < end) {
		struct restic_blob b = { 0 };
		uint8_t t = p[0];
		size_t need = t >= 2 ? 1 + 4 + 4 + RESTIC_ID :
				       1 + 4 + RESTIC_ID;

		if (t > 3) {
			free(v);
			return verror_set(e, -EPROTONOSUPPORT,
					  "pack header: blob type %u unknown",
					  t);
		}
		if ((size_t)(end - p) < need) {
			free(v);
			return verror_set(e, -EBADMSG,
					  "pack header: entry %zu truncated",
					  cnt);
		}
		b.type = t & 1;
		b.compressed = t >= 2;
		b.len = le32(p + 1);
		b.ulen = b.compressed ? le32(p + 5) : b.len - RESTIC_EXTRA;
		memcpy(b.id, p + need - RESTIC_ID, RESTIC_ID);
		b.off = (uint32_t)at;
		if (b.len < RESTIC_EXTRA || at + b.len > hdr_off) {
			free(v);
			return verror_set(e, -EBADMSG,
					  "pack header: entry %zu out of range",
					  cnt);
		}
		at += b.len;
		if (cnt == cap) {
			struct restic_blob *nv;

			cap = cap ? 2 * cap : 16;
			if (!(nv = realloc(v, cap * sizeof(*v)))) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		v[cnt++] = b;
		p += need;
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* --- trees ------------------------------------------------------------- */

void restic_node_release(struct restic_node *n)
{
	if (!n)
		return;
	ventry_release(&n->ent);
	free(n->content);
	n->content = NULL;
	n->ncontent = 0;
}

/* One node → *out. 1: converted, 0: skipped (a type or name velerofs does
 * not show), -EBADMSG, -ENOMEM. */
static int node_from_json(const json_t *o, struct restic_node *out)
{
	const char *name = json_string_value(json_object_get(o, "name"));
	const char *type = json_string_value(json_object_get(o, "type"));
	const json_t *mt = json_object_get(o, "mtime");
	const json_t *content = json_object_get(o, "content");
	uint64_t mode = 0, u = 0;
	size_t i;

	memset(out, 0, sizeof(*out));
	(void)i;
	if (!name || !type || !json_is_object(o))
		return -EBADMSG;
	if (!repo_name_ok(name, json_string_length(json_object_get(o, "name"))))
		return 0;
	if (json_object_get(o, "mode") &&
	    !json_u(json_object_get(o, "mode"), UINT32_MAX, &mode))
		return -EBADMSG;
	out->ent.mode = (mode_t)(mode & 0777);
	if (mode & GO_MODE_SETUID)
		out->ent.mode |= S_ISUID;
	if (mode & GO_MODE_SETGID)
		out->ent.mode |= S_ISGID;
	if (mode & GO_MODE_STICKY)
		out->ent.mode |= S_ISVTX;
	if (!strcmp(type, "dir")) {
		out->ent.mode |= S_IFDIR;
		if (json_id(json_object_get(o, "subtree"), out->subtree) < 0)
			return -EBADMSG;
	} else if (!strcmp(type, "file")) {
		out->ent.mode |= S_IFREG;
		if (json_object_get(o, "size") &&
		    !json_u(json_object_get(o, "size"), INT64_MAX,
			    &out->ent.size))
			return -EBADMSG;
		if (content && !json_is_null(content) &&
		    !json_is_array(content))
			return -EBADMSG;
	} else if (!strcmp(type, "symlink")) {
		const json_t *t = json_object_get(o, "linktarget");

		out->ent.mode |= S_IFLNK;
		if (!json_is_string(t) ||
		    strlen(json_string_value(t)) != json_string_length(t))
			return -EBADMSG;
		out->ent.size = json_string_length(t);
	} else {
		return 0; /* dev, chardev, fifo, socket, irregular */
	}
	if (json_u(json_object_get(o, "uid"), UINT32_MAX, &u))
		out->ent.uid = (uint32_t)u;
	if (json_u(json_object_get(o, "gid"), UINT32_MAX, &u))
		out->ent.gid = (uint32_t)u;
	/* a hard link, as restic restore tells them (internal/restorer:
	 * files with links > 1 and the same inode and device_id are one) */
	if (S_ISREG(out->ent.mode) &&
	    json_u(json_object_get(o, "links"), UINT64_MAX, &u) && u > 1 &&
	    json_u(json_object_get(o, "inode"), UINT64_MAX, &out->ent.ino) &&
	    out->ent.ino) {
		out->ent.nlink = u > UINT32_MAX ? UINT32_MAX : (uint32_t)u;
		if (!json_u(json_object_get(o, "device_id"), UINT64_MAX,
			    &out->ent.dev))
			out->ent.dev = 0;
	}
	if (json_is_string(mt)) {
		int64_t s;
		uint32_t ns;

		if (rfc3339_parse(json_string_value(mt), json_string_length(mt),
				  &s, &ns) < 0 ||
		    s > INT64_MAX / 1000000000 - 1 ||
		    s < INT64_MIN / 1000000000 + 1)
			return -EBADMSG;
		out->ent.mtime_ns = s * 1000000000 + ns;
	}
	if (!(out->ent.name = strdup(name)))
		return -ENOMEM;
	if (S_ISLNK(out->ent.mode) &&
	    !(out->ent.target =
		      strdup(json_string_value(json_object_get(o, "linktarge"
								  "t")))))
		return -ENOMEM;
	return 1;
}

static int node_content(const json_t *o, struct restic_node *out)
{
	const json_t *content = json_object_get(o, "content");
	size_t i, n = json_is_array(content) ? json_array_size(content) : 0;

	if (!n)
		return 0;
	if (!(out->content = calloc(n, RESTIC_ID)))
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (json_id(json_array_get(content, i), out->content[i]) < 0)
			return -EBADMSG;
	out->ncontent = n;
	return 0;
}

static const json_t *tree_nodes(const char *json, size_t len, json_t **j,
				struct verror *e)
{
	json_error_t je;
	const json_t *nodes;

	*j = json_loadb(json, len, 0, &je);
	if (!*j) {
		verror_set(e, -EBADMSG, "tree: not JSON (%s)", je.text);
		return NULL;
	}
	nodes = json_object_get(*j, "nodes");
	if (!json_is_array(nodes) && !json_is_null(nodes)) {
		verror_set(e, -EBADMSG, "tree: no nodes");
		json_decref(*j);
		*j = NULL;
		return NULL;
	}
	return nodes;
}

int restic_tree_parse(const char *json, size_t len, struct restic_node **out,
		      size_t *n, struct verror *e)
{
	json_t *j;
	const json_t *nodes = tree_nodes(json, len, &j, e);
	struct restic_node *v = NULL;
	size_t i, k = 0, cnt;
	int r = 0;

	if (!j)
		return -EBADMSG;
	cnt = json_array_size(nodes); /* 0 for null */
	if (cnt && !(v = calloc(cnt, sizeof(*v)))) {
		json_decref(j);
		return -ENOMEM;
	}
	for (i = 0; i < cnt; i++) {
		r = node_from_json(json_array_get(nodes, i), &v[k]);
		if (r < 0) {
			restic_node_release(&v[k]);
			verror_set(e, r, "tree: node %zu invalid", i);
			break;
		}
		if (r == 0) {
			restic_node_release(&v[k]);
			continue;
		}
		v[k++].pos = i;
		r = 0;
	}
	json_decref(j);
	if (r < 0) {
		for (i = 0; i < k; i++)
			restic_node_release(&v[i]);
		free(v);
		return r;
	}
	*out = v;
	*n = k;
	return 0;
}

int restic_tree_node(const char *json, size_t len, size_t idx,
		     struct restic_node *out, struct verror *e)
{
	json_t *j;
	const json_t *nodes = tree_nodes(json, len, &j, e);
	const json_t *o;
	int r;

	if (!j)
		return -EBADMSG;
	o = json_array_get(nodes, idx);
	if (!o) {
		json_decref(j);
		return verror_set(e, -ENOENT, "tree: no node %zu", idx);
	}
	r = node_from_json(o, out);
	if (r == 1)
		r = S_ISREG(out->ent.mode) ? node_content(o, out) : -ENOENT;
	else if (r == 0)
		r = -ENOENT;
	json_decref(j);
	if (r < 0) {
		restic_node_release(out);
		return verror_set(e, r, "tree: node %zu invalid", idx);
	}
	return 0;
}

/* --- unpacked files ---------------------------------------------------- */

int restic_unpacked(const void *p, size_t len, struct sbuf *out,
		    struct verror *e)
{
	const uint8_t *b = p;

	if (!len)
		return verror_set(e, -EBADMSG, "empty file");
	if (b[0] == '{' || b[0] == '[')
		return sbuf_add(out, p, len);
	if (b[0] == 2)
		return repo_zstd(b + 1, len - 1, out, e);
	return verror_set(e, -EPROTONOSUPPORT, "unknown file format version %u",
			  b[0]);
}
