/* repo/kopia_parse: the parsers of kopia's formats over decrypted bytes
 * (index blobs v1 and v2, object ids, indirect objects, directories, manifest
 * contents) and the decompressors of its compression headers. No I/O,
 * no keys, no state: see kopia_i.h for the contracts and the sources. */
#include <errno.h>
#include <jansson.h>
#include <lz4frame.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include <zstd.h>

#include "common/rfc3339.h"
#include "repo/kopia_i.h"
#include "repo/repo_i.h"

/* --- index v2 ------------------------------------------------------------ */

#define V2_HEADER 17
#define V2_PACKINFO 5
#define V2_FORMATINFO 6
#define V2_ENTRY_MIN 16
#define V2_ENTRY_MAX 19
#define V2_MAX_STRIDE 256

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint32_t be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* --- index v1 (format version 1: kopia before v0.9) -------------------- */

#define V1_HEADER 8
#define V1_ENTRY 20
#define V1_OVERHEAD 28 /* the AEAD's nonce and tag: orig = packed - 28 */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* index_v1.go: a header (version 1, key size, entry size, count), sorted
 * (key, entry) pairs, the pack names in the extra data after them, each
 * entry naming its pack by offset and length. The distinct names are
 * handed to the sink first (sorted by offset), then the entries. */
static int index_v1_parse(const uint8_t *d, size_t len,
			  const struct kopia_index_sink *sink, struct verror *e)
{
	size_t key = d[1], esize = be16(d + 2), count = be32(d + 4), stride;
	size_t i, npacks = 0;
	uint64_t *names = NULL;
	int r = 0;

	stride = key + esize;
	if (key < 2 || key > 1 + KOPIA_MAX_HASH || esize != V1_ENTRY)
		return verror_set(e, -EBADMSG,
				  "index: invalid header (key %zu, entry %zu)",
				  key, esize);
	if ((uint64_t)count * stride > len - V1_HEADER)
		return verror_set(
			e, -EBADMSG,
			"index: truncated (%zu entries need %llu "
			"bytes, it has %zu)",
			count,
			(unsigned long long)(V1_HEADER +
					     (uint64_t)count * stride),
			len);
	if (count == 0)
		return 0;
	if (!(names = malloc(count * sizeof(*names))))
		return -ENOMEM;
	/* the pack names: offset << 8 | length, sorted, unique */
	for (i = 0; i < count; i++) {
		const uint8_t *v = d + V1_HEADER + i * stride + key;
		size_t nl = v[7];
		uint32_t off = be32(v + 8);

		if (nl == 0 || off > len || nl > len - off ||
		    memchr(d + off, '/', nl) || memchr(d + off, '\0', nl)) {
			r = verror_set(e, -EBADMSG,
				       "index: entry %zu: bad pack name", i);
			goto out;
		}
		names[i] = (uint64_t)off << 8 | nl;
	}
	qsort(names, count, sizeof(*names), cmp_u64);
	for (i = 0; i < count; i++)
		if (!npacks || names[npacks - 1] != names[i])
			names[npacks++] = names[i];
	for (i = 0; i < npacks && r >= 0; i++)
		r = sink->pack(sink->ud, (const char *)d + (names[i] >> 8),
			       (size_t)(names[i] & 0xff));
	for (i = 0; i < count && r >= 0; i++) {
		const uint8_t *en = d + V1_HEADER + i * stride;
		const uint8_t *v = en + key;
		uint64_t nm = (uint64_t)be32(v + 8) << 8 | v[7];
		uint64_t *at =
			bsearch(&nm, names, npacks, sizeof(*names), cmp_u64);
		struct kopia_ientry ie = { 0 };
		uint32_t po = be32(v + 12);

		ie.id.prefix = en[0];
		ie.id.len = (uint8_t)(key - 1);
		memcpy(ie.id.hash, en + 1, key - 1);
		/* 48-bit seconds; a uint32 holds them until 2106 */
		ie.ts = (uint32_t)((uint64_t)be16(v) << 32 | be32(v + 2));
		ie.format_version = v[6];
		ie.deleted = (po & 0x80000000u) != 0;
		ie.pack_off = po & 0x7FFFFFFFu;
		ie.packed_len = be32(v + 8 + 8);
		if (ie.packed_len < V1_OVERHEAD) {
			r = verror_set(e, -EBADMSG,
				       "index: entry %zu: packed length %u", i,
				       ie.packed_len);
			break;
		}
		ie.orig_len = ie.packed_len - V1_OVERHEAD;
		ie.pack = (uint32_t)(at - names);
		r = sink->entry(sink->ud, &ie);
	}
out:
	free(names);
	return r < 0 ? r : 0;
}

int kopia_index_parse(const void *data, size_t len,
		      const struct kopia_index_sink *sink, struct verror *e)
{
	const uint8_t *d = data;
	size_t key, esize, stride, count, npacks, nformats, i;
	uint64_t entries_end, packs_end, formats_end;
	uint32_t base;
	int r;

	if (len >= V1_HEADER && d[0] == 1)
		return index_v1_parse(d, len, sink, e);
	if (len < V2_HEADER)
		return verror_set(e, -EBADMSG,
				  "index: %zu bytes, shorter "
				  "than its header",
				  len);
	if (d[0] != 2)
		return verror_set(e, -EPROTONOSUPPORT,
				  "index format version %u (velerofs reads 1 "
				  "and 2)",
				  d[0]);
	key = d[1];
	esize = be16(d + 2);
	count = be32(d + 4);
	npacks = be32(d + 8);
	nformats = d[12];
	base = be32(d + 13);
	if (key < 2 || key > 1 + KOPIA_MAX_HASH || esize < V2_ENTRY_MIN ||
	    esize > V2_ENTRY_MAX || nformats == 0xFF)
		return verror_set(e, -EBADMSG,
				  "index: invalid header (key %zu, entry %zu)",
				  key, esize);
	stride = key + esize;
	if (stride > V2_MAX_STRIDE)
		return verror_set(e, -EBADMSG, "index: entry stride too big");
	entries_end = V2_HEADER + (uint64_t)count * stride;
	packs_end = entries_end + (uint64_t)npacks * V2_PACKINFO;
	formats_end = packs_end + (uint64_t)nformats * V2_FORMATINFO;
	if (formats_end > len)
		return verror_set(e, -EBADMSG,
				  "index: truncated (%zu entries, %zu packs "
				  "need %llu bytes, it has %zu)",
				  count, npacks,
				  (unsigned long long)formats_end, len);
	for (i = 0; i < npacks; i++) {
		const uint8_t *pi = d + entries_end + i * V2_PACKINFO;
		size_t nl = pi[0];
		uint32_t off = be32(pi + 1);

		if (nl == 0 || off > len || nl > len - off)
			return verror_set(e, -EBADMSG,
					  "index: pack name %zu out of bounds",
					  i);
		if (memchr(d + off, '/', nl) || memchr(d + off, '\0', nl))
			return verror_set(e, -EBADMSG,
					  "index: pack name %zu is not a blob "
					  "id",
					  i);
		r = sink->pack(sink->ud, (const char *)d + off, nl);
		if (r < 0)
			return r;
	}
	for (i = 0; i < count; i++) {
		const uint8_t *en = d + V2_HEADER + i * stride;
		const uint8_t *v = en + key;
		struct kopia_ientry ie = { 0 };
		uint32_t po = be32(v + 4);
		size_t fid = esize > 16 ? v[16] : 0;

		ie.id.prefix = en[0];
		ie.id.len = (uint8_t)(key - 1);
		memcpy(ie.id.hash, en + 1, key - 1);
		ie.ts = base + be32(v);
		ie.deleted = (po & 0x80000000u) != 0;
		ie.pack_off = po & 0x7FFFFFFFu;
		ie.orig_len = be24(v + 8);
		ie.packed_len = be24(v + 11);
		ie.pack = be16(v + 14);
		if (esize > 17)
			ie.pack |= (uint32_t)v[17] << 16;
		if (esize > 18) {
			ie.orig_len |= (uint32_t)(v[18] >> 4) << 24;
			ie.packed_len |= (uint32_t)(v[18] & 0xF) << 24;
		}
		if (fid >= nformats) {
			if (nformats || fid)
				return verror_set(e, -EBADMSG,
						  "index: entry %zu names "
						  "format %zu of %zu",
						  i, fid, nformats);
		} else {
			const uint8_t *f = d + packs_end + fid * V2_FORMATINFO;

			ie.comp = be32(f);
			ie.format_version = f[4];
			ie.key_id = f[5];
		}
		if (ie.pack >= npacks)
			return verror_set(e, -EBADMSG,
					  "index: entry %zu names pack %u of "
					  "%zu",
					  i, ie.pack, npacks);
		r = sink->entry(sink->ud, &ie);
		if (r < 0)
			return r;
	}
	return 0;
}

/* --- ids --------------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int kopia_cid_parse(const char *s, size_t n, struct kopia_cid *out)
{
	struct kopia_cid id = { 0 };
	size_t i;

	if (n % 2) {
		if (s[0] < 'g' || s[0] > 'z')
			return -EINVAL;
		id.prefix = (uint8_t)s[0];
		s++;
		n--;
	}
	if (n == 0 || n / 2 > KOPIA_MAX_HASH)
		return -EINVAL;
	for (i = 0; i < n / 2; i++) {
		int h = hexval(s[2 * i]), l = hexval(s[2 * i + 1]);

		if (h < 0 || l < 0)
			return -EINVAL;
		id.hash[i] = (uint8_t)(h << 4 | l);
	}
	id.len = (uint8_t)(n / 2);
	*out = id;
	return 0;
}

int kopia_oid_parse(const char *s, struct kopia_oid *out)
{
	struct kopia_oid o = { 0 };
	int r;

	while (*s == 'I' && o.indirect < 16) {
		o.indirect++;
		s++;
	}
	if (*s == 'Z') {
		o.compressed = true;
		s++;
	}
	if (*s == 'D')
		s++;
	if (o.indirect && o.compressed)
		return -EINVAL;
	r = kopia_cid_parse(s, strlen(s), &o.cid);
	if (r < 0)
		return r;
	*out = o;
	return 0;
}

/* --- JSON helpers ------------------------------------------------------ */

static json_t *load(const char *json, size_t len, struct verror *e,
		    const char *what)
{
	json_error_t je;
	json_t *j = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);

	if (!j)
		verror_set(e, -EBADMSG, "%s: invalid JSON at %d: %s", what,
			   je.position, je.text);
	else if (!json_is_object(j)) {
		json_decref(j);
		j = NULL;
		verror_set(e, -EBADMSG, "%s: not a JSON object", what);
	}
	return j;
}

static bool get_int(const json_t *o, const char *k, int64_t *v)
{
	const json_t *x = json_object_get(o, k);

	if (!x) {
		*v = 0;
		return true;
	}
	if (!json_is_integer(x))
		return false;
	*v = json_integer_value(x);
	return true;
}

/* --- indirect objects ---------------------------------------------------- */

int kopia_indirect_parse(const char *json, size_t len, struct kopia_chunk **out,
			 size_t *n, struct verror *e)
{
	json_t *j = load(json, len, e, "indirect object");
	const json_t *ents, *st;
	struct kopia_chunk *c = NULL;
	uint64_t at = 0;
	size_t i, cnt;

	if (!j)
		return -EBADMSG;
	st = json_object_get(j, "stream");
	ents = json_object_get(j, "entries");
	if ((st && (!json_is_string(st) ||
		    strcmp(json_string_value(st), "kopia:indirect"))) ||
	    !json_is_array(ents)) {
		json_decref(j);
		return verror_set(e, -EBADMSG, "not an indirect object");
	}
	cnt = json_array_size(ents);
	if (cnt && !(c = calloc(cnt, sizeof(*c)))) {
		json_decref(j);
		return -ENOMEM;
	}
	for (i = 0; i < cnt; i++) {
		const json_t *x = json_array_get(ents, i), *o;
		int64_t s, l;
		struct kopia_oid oid;

		o = json_object_get(x, "o");
		if (!json_is_object(x) || !get_int(x, "s", &s) ||
		    !get_int(x, "l", &l) || !json_is_string(o) || s < 0 ||
		    l <= 0 || (uint64_t)s != at ||
		    strlen(json_string_value(o)) >= sizeof(c[i].oid) ||
		    kopia_oid_parse(json_string_value(o), &oid) < 0 ||
		    (uint64_t)l > UINT64_MAX - at) {
			free(c);
			json_decref(j);
			return verror_set(e, -EBADMSG,
					  "indirect object: entry %zu invalid "
					  "or not contiguous",
					  i);
		}
		c[i].start = (uint64_t)s;
		c[i].len = (uint64_t)l;
		strcpy(c[i].oid, json_string_value(o));
		at += (uint64_t)l;
	}
	json_decref(j);
	*out = c;
	*n = cnt;
	return 0;
}

/* --- directories ---------------------------------------------------------- */

int kopia_entry_from_json(const json_t *o, struct ventry *out)
{
	const json_t *nm = json_object_get(o, "name");
	const json_t *ty = json_object_get(o, "type");
	const json_t *md = json_object_get(o, "mode");
	const json_t *mt = json_object_get(o, "mtime");
	const json_t *ob = json_object_get(o, "obj");
	struct ventry v = { 0 };
	int64_t size, uid, gid;
	const char *t;
	unsigned long perm = 0;

	if (!json_is_object(o) || !json_is_string(ty) ||
	    !get_int(o, "size", &size) || size < 0 ||
	    !get_int(o, "uid", &uid) || !get_int(o, "gid", &gid) || uid < 0 ||
	    gid < 0 || uid > UINT32_MAX || gid > UINT32_MAX)
		return -EBADMSG;
	if (nm && !json_is_string(nm))
		return -EBADMSG;
	if (nm && !repo_name_ok(json_string_value(nm), json_string_length(nm)))
		return -EBADMSG;
	if (md) {
		char *end;

		if (!json_is_string(md))
			return -EBADMSG;
		errno = 0;
		perm = strtoul(json_string_value(md), &end, 0);
		if (errno || *end || perm > 0xFFFFFFFFul)
			return -EBADMSG;
	}
	if (mt) {
		int64_t s;
		uint32_t ns;

		if (!json_is_string(mt) ||
		    rfc3339_parse(json_string_value(mt), json_string_length(mt),
				  &s, &ns) < 0 ||
		    s > INT64_MAX / 1000000000 - 1 ||
		    s < INT64_MIN / 1000000000 + 1)
			return -EBADMSG;
		v.mtime_ns = s * 1000000000 + ns;
	}
	t = json_string_value(ty);
	v.mode = perm & 0777;
	if (perm & GO_MODE_SETUID)
		v.mode |= S_ISUID;
	if (perm & GO_MODE_SETGID)
		v.mode |= S_ISGID;
	if (perm & GO_MODE_STICKY)
		v.mode |= S_ISVTX;
	if (!strcmp(t, "d"))
		v.mode |= S_IFDIR;
	else if (!strcmp(t, "f"))
		v.mode |= S_IFREG;
	else if (!strcmp(t, "s"))
		v.mode |= S_IFLNK;
	else
		return -EBADMSG;
	if (ob) {
		struct kopia_oid oid;

		if (!json_is_string(ob) ||
		    json_string_length(ob) >= sizeof(v.obj) ||
		    kopia_oid_parse(json_string_value(ob), &oid) < 0)
			return -EBADMSG;
		strcpy(v.obj, json_string_value(ob));
	} else if (!S_ISREG(v.mode) || size) {
		return -EBADMSG;
	}
	v.size = (uint64_t)size;
	v.uid = (uint32_t)uid;
	v.gid = (uint32_t)gid;
	if (nm && !(v.name = strdup(json_string_value(nm))))
		return -ENOMEM;
	*out = v;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	const struct ventry *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* Velero's block backup (pkg/uploader/kopia/block_backup.go): the root of
 * a block-mode PVC's snapshot is a directory whose one entry is a file
 * named after the device's path (virtualfs.StreamingFileFromReader(source,
 * device)), a name kopia's own uploader never writes (one path component).
 * o is that entry if its name is an absolute path (at most 4096 bytes, no
 * NUL): a copy of it named VREPO_BLOCK_NAME (caller json_decref()s);
 * otherwise NULL, and o is parsed as it is. */
static json_t *block_entry(const json_t *o)
{
	const json_t *nm = json_object_get(o, "name");
	json_t *c;

	if (!json_is_string(nm) || json_string_value(nm)[0] != '/' ||
	    json_string_length(nm) > 4096 ||
	    strlen(json_string_value(nm)) != json_string_length(nm))
		return NULL;
	c = json_copy((json_t *)o);
	if (c &&
	    json_object_set_new(c, "name", json_string(VREPO_BLOCK_NAME)) < 0) {
		json_decref(c);
		return NULL;
	}
	return c;
}

int kopia_dir_parse(const char *json, size_t len, struct ventry **out,
		    size_t *n, struct verror *e)
{
	json_t *j = load(json, len, e, "directory");
	const json_t *ents, *st;
	struct ventry *v = NULL;
	size_t i, cnt, k = 0;

	if (!j)
		return -EBADMSG;
	st = json_object_get(j, "stream");
	ents = json_object_get(j, "entries");
	/* an empty directory: "entries":null (a nil slice in Go) */
	if ((st && (!json_is_string(st) ||
		    strcmp(json_string_value(st), "kopia:directory"))) ||
	    (!json_is_array(ents) && !json_is_null(ents))) {
		json_decref(j);
		return verror_set(e, -EBADMSG, "not a kopia directory");
	}
	cnt = json_array_size(ents);
	if (cnt && !(v = calloc(cnt, sizeof(*v)))) {
		json_decref(j);
		return -ENOMEM;
	}
	for (i = 0; i < cnt; i++) {
		const json_t *o = json_array_get(ents, i);
		json_t *b = cnt == 1 ? block_entry(o) : NULL;
		int r = kopia_entry_from_json(b ? b : o, &v[k]);

		json_decref(b);
		if (b && r >= 0 && !S_ISREG(v[k].mode))
			r = -EBADMSG;

		if (r == -ENOMEM) {
			while (k)
				ventry_release(&v[--k]);
			free(v);
			json_decref(j);
			return r;
		}
		if (r < 0 || !v[k].name) {
			ventry_release(&v[k]);
			continue; /* an entry velerofs cannot show */
		}
		k++;
	}
	json_decref(j);
	if (k)
		qsort(v, k, sizeof(*v), by_name);
	/* a name twice: keep the first */
	for (i = 1; i < k;) {
		if (!strcmp(v[i].name, v[i - 1].name)) {
			ventry_release(&v[i]);
			memmove(&v[i], &v[i + 1], (k - i - 1) * sizeof(*v));
			k--;
		} else {
			i++;
		}
	}
	*out = v;
	*n = k;
	return 0;
}

/* --- manifests --------------------------------------------------------------
 */

/* Nanoseconds since the epoch, saturated (manifest times only order). */
static int64_t to_ns(int64_t s, uint32_t ns)
{
	if (s >= INT64_MAX / 1000000000 - 1)
		return INT64_MAX;
	if (s <= INT64_MIN / 1000000000 + 1)
		return INT64_MIN;
	return s * 1000000000 + ns;
}

int kopia_manifest_find(const char *json, size_t len, const char *id,
			bool *found, int64_t *modified, bool *deleted,
			struct ventry *root, struct verror *e)
{
	json_t *j = load(json, len, e, "manifest");
	const json_t *ents;
	size_t i;
	int r = 0;

	*found = false;
	if (!j)
		return -EBADMSG;
	ents = json_object_get(j, "entries");
	if (!json_is_array(ents)) {
		json_decref(j);
		return verror_set(e, -EBADMSG, "manifest: no entries");
	}
	for (i = 0; i < json_array_size(ents); i++) {
		const json_t *x = json_array_get(ents, i);
		const json_t *xid = json_object_get(x, "id");
		const json_t *mod = json_object_get(x, "modified");
		const json_t *del = json_object_get(x, "deleted");
		const json_t *data = json_object_get(x, "data"), *ro;
		json_t *re;
		int64_t s = 0;
		uint32_t ns = 0;
		struct ventry v = { 0 };

		if (!json_is_string(xid) || strcmp(json_string_value(xid), id))
			continue;
		if (json_is_string(mod) &&
		    rfc3339_parse(json_string_value(mod),
				  json_string_length(mod), &s, &ns) < 0)
			s = 0;
		if (json_is_true(del)) {
			if (!*found || to_ns(s, ns) >= *modified) {
				ventry_release(root);
				*found = true;
				*deleted = true;
				*modified = to_ns(s, ns);
			}
			continue;
		}
		if (!json_is_object(data)) {
			r = verror_set(e, -EBADMSG, "manifest %s: no data", id);
			break;
		}
		if (*found && to_ns(s, ns) < *modified)
			continue;
		/* the root's name is not shown, and may be a path: a
		 * block-mode PVC's is the device's (block_entry()) */
		ro = json_object_get(data, "rootEntry");
		re = json_is_object(ro) ? json_copy((json_t *)ro) : NULL;
		if (re)
			json_object_del(re, "name");
		if (re)
			r = kopia_entry_from_json(re, &v);
		else
			r = json_is_object(ro) ? -ENOMEM : -EBADMSG;
		json_decref(re);
		if (r < 0 || !S_ISDIR(v.mode) || !v.obj[0]) {
			ventry_release(&v);
			r = verror_set(e, r == -ENOMEM ? r : -EBADMSG,
				       "manifest %s: not a snapshot of a "
				       "directory",
				       id);
			break;
		}
		ventry_release(root);
		*root = v;
		*found = true;
		*deleted = false;
		*modified = to_ns(s, ns);
	}
	json_decref(j);
	return r;
}

/* --- compression
 * -------------------------------------------------------------- */

int repo_zstd(const void *data, size_t len, struct sbuf *out, struct verror *e)
{
	ZSTD_DStream *z = ZSTD_createDStream();
	ZSTD_inBuffer in = { data, len, 0 };
	size_t start = out->len, ret = 1;
	int r = 0;

	if (!z)
		return -ENOMEM;
	ZSTD_initDStream(z);
	while (in.pos < in.size || ret != 0) {
		size_t want = MIN((size_t)1 << 20, out->max - out->len);
		ZSTD_outBuffer ob;
		char *p;

		if (want == 0) {
			r = verror_set(e, -EBADMSG, "zstd: more than %zu bytes",
				       out->max);
			break;
		}
		if (!(p = sbuf_reserve(out, want, &r)))
			break;
		ob = (ZSTD_outBuffer){ p, want, 0 };
		ret = ZSTD_decompressStream(z, &ob, &in);
		if (ZSTD_isError(ret)) {
			r = verror_set(e, -EBADMSG, "zstd: %s",
				       ZSTD_getErrorName(ret));
			break;
		}
		sbuf_commit(out, ob.pos);
		if (ob.pos == 0 && in.pos == in.size && ret != 0) {
			r = verror_set(e, -EBADMSG, "zstd: truncated");
			break;
		}
	}
	ZSTD_freeDStream(z);
	if (r < 0)
		out->len = start;
	return r;
}

/* gzip (several members, as pgzip may write) or raw deflate (window -15) */
static int zlib_dec(const void *data, size_t len, int window, struct sbuf *out,
		    struct verror *e)
{
	z_stream z = { 0 };
	size_t start = out->len;
	int r = 0, zr = Z_OK;

	if (inflateInit2(&z, window) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)(uintptr_t)data;
	z.avail_in = (uInt)MIN(len, (size_t)UINT32_MAX);
	for (;;) {
		size_t want = MIN((size_t)1 << 20, out->max - out->len);
		char *p;

		if (zr == Z_STREAM_END) {
			if (z.avail_in == 0 || window < 0)
				break;
			inflateReset(&z);
		}
		if (want == 0) {
			r = verror_set(e, -EBADMSG,
				       "inflate: more than %zu bytes",
				       out->max);
			break;
		}
		if (!(p = sbuf_reserve(out, want, &r)))
			break;
		z.next_out = (Bytef *)p;
		z.avail_out = (uInt)want;
		zr = inflate(&z, Z_NO_FLUSH);
		sbuf_commit(out, want - z.avail_out);
		if (zr != Z_OK && zr != Z_STREAM_END) {
			r = verror_set(e, -EBADMSG, "inflate: %s",
				       z.msg ? z.msg : "truncated");
			break;
		}
		if (zr == Z_OK && z.avail_in == 0 && z.avail_out != 0) {
			r = verror_set(e, -EBADMSG, "inflate: truncated");
			break;
		}
	}
	inflateEnd(&z);
	if (r < 0)
		out->len = start;
	return r;
}

static int lz4_dec(const void *data, size_t len, struct sbuf *out,
		   struct verror *e)
{
	LZ4F_dctx *d;
	const char *in = data;
	size_t start = out->len, ret = 1;
	int r = 0;

	if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION)))
		return -ENOMEM;
	while (len > 0 || ret != 0) {
		size_t want = MIN((size_t)1 << 20, out->max - out->len);
		size_t olen = want, ilen = len;
		char *p;

		if (want == 0) {
			r = verror_set(e, -EBADMSG, "lz4: more than %zu bytes",
				       out->max);
			break;
		}
		if (!(p = sbuf_reserve(out, want, &r)))
			break;
		ret = LZ4F_decompress(d, p, &olen, in, &ilen, NULL);
		if (LZ4F_isError(ret)) {
			r = verror_set(e, -EBADMSG, "lz4: %s",
				       LZ4F_getErrorName(ret));
			break;
		}
		sbuf_commit(out, olen);
		in += ilen;
		len -= ilen;
		if (olen == 0 && ilen == 0 && ret != 0) {
			r = verror_set(e, -EBADMSG, "lz4: truncated");
			break;
		}
	}
	LZ4F_freeDecompressionContext(d);
	if (r < 0)
		out->len = start;
	return r;
}

int kopia_decompress(uint32_t hdr, const void *data, size_t len,
		     struct sbuf *out, struct verror *e)
{
	switch (hdr) {
	case 0x1100: /* zstd, zstd-fastest, -better, -best */
	case 0x1101:
	case 0x1102:
	case 0x1103:
		return repo_zstd(data, len, out, e);
	case 0x1000: /* gzip */
	case 0x1001:
	case 0x1002:
	case 0x1300: /* pgzip: gzip members */
	case 0x1301:
	case 0x1302:
		return zlib_dec(data, len, 15 + 16, out, e);
	case 0x1500: /* deflate: raw */
	case 0x1501:
	case 0x1502:
		return zlib_dec(data, len, -15, out, e);
	case 0x1400:
		return lz4_dec(data, len, out, e);
	case 0x1200: /* s2-default, -better, -parallel-4, -parallel-8 */
	case 0x1201:
	case 0x1202:
	case 0x1203:
		return repo_s2(data, len, out, e);
	default:
		return verror_set(e, -EPROTONOSUPPORT,
				  "unknown compression header %#x", hdr);
	}
}
