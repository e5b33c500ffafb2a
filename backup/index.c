/* backup/index: builds a backup's index from the vault and maps it.
 *
 * The tarball is streamed once through libarchive. Every member under
 * resources/ is rendered to YAML (identical copies, like the legacy and
 * <v>-preferredversion ones, are rendered once) and its bytes appended to
 * the index's data region; the per-backup objects (logs, results, ...) are
 * decompressed and added; then the tree is laid out breadth-first and the
 * file committed to the cache. A later run finds it by the identities of
 * the backup's objects and maps it without touching the tarball.
 *
 * Errors in the backup (a corrupt tarball, a member that escapes its
 * directory, JSON that doesn't parse) don't fail the index: they are
 * listed in errors.txt and describe.txt, and broken items read as EIO.
 * Errors reading the vault do fail it, and nothing is cached. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "backup/backup_i.h"
#include "backup/render_i.h"
#include "common/log.h"
#include "common/macro.h"

#define MEMBER_MAX ((size_t)64 << 20) /* one Kubernetes object */
#define META_MAX ((size_t)256 << 20)  /* a decompressed metadata object */
#define LOGS_MAX ((size_t)1 << 30)    /* a decompressed backup log */
#define ERRORS_MAX 1000		      /* lines kept in errors.txt */
#define MAX_DEPTH 8		      /* components in a tree path */

/* One file of the tree before layout. */
struct rec {
	char *path; /* components joined by '/'; items without ext */
	uint16_t comp[MAX_DEPTH]; /* start of each component in path */
	uint8_t ncomp;
	uint8_t type; /* IDX_FILE or IDX_ITEM */
	uint8_t flags;
	uint8_t rank; /* lower wins when two recs share a path */
	uint32_t seq; /* order of arrival: the later wins at equal rank */
	struct idx_ref ref;
};

/* A member already seen, by content: its refs are reused. */
struct seen {
	uint64_t hash;
	uint32_t len; /* of the member */
	uint32_t crc; /* of the member */
	uint8_t flags;
	struct idx_ref ref;
};

struct build {
	struct backup *b;
	enum backup_view view;
	struct filter_options filter;
	bool filtering; /* clean or redact: items pass filter_item() */
	int fd;
	uint64_t off;	 /* next data offset */
	struct sbuf out; /* data not yet written */
	int werr;	 /* first write error */
	struct rec *recs;
	size_t nrecs, caprecs;
	uint32_t seq;	   /* the next rec's seq */
	struct seen *seen; /* open addressing, capseen a power of two */
	size_t nseen, capseen;
	struct sbuf errors; /* errors.txt */
	size_t nerrors;
	size_t item_errors;
	char *index_error;    /* the tarball's own problem */
	char version[16];     /* metadata/version */
	struct sbuf yaml;     /* scratch */
	struct sbuf filtered; /* scratch */
	struct sbuf member;   /* scratch */
};

/* ---- data region ---- */

static int flush_out(struct build *bd)
{
	const char *p = bd->out.buf;
	size_t n = bd->out.len;

	while (n > 0 && !bd->werr) {
		ssize_t w = write(bd->fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			bd->werr = -errno;
		else {
			p += w;
			n -= (size_t)w;
		}
	}
	sbuf_reset(&bd->out);
	return bd->werr;
}

/* Appends n bytes to the data region; ref says where. crc is theirs if
 * the caller has it already, else NO_CRC. */
#define NO_CRC ((uint64_t)1 << 32)
static int put_data_crc(struct build *bd, const void *p, size_t n, uint64_t crc,
			struct idx_ref *ref)
{
	int r;

	if (n > UINT32_MAX)
		return -E2BIG;
	ref->off = bd->off;
	ref->len = (uint32_t)n;
	ref->crc = crc == NO_CRC ? (uint32_t)crc32(0, p, (uInt)n) :
				   (uint32_t)crc;
	bd->off += n;
	if (bd->out.len + n > ((size_t)1 << 20)) {
		r = flush_out(bd);
		if (r < 0)
			return r;
	}
	if (n > ((size_t)1 << 20)) {
		/* large: write through */
		struct sbuf tmp = bd->out;

		bd->out.buf = (char *)p;
		bd->out.len = n;
		r = flush_out(bd);
		bd->out = tmp;
		return r;
	}
	return sbuf_add(&bd->out, p, n);
}

static int put_data(struct build *bd, const void *p, size_t n,
		    struct idx_ref *ref)
{
	return put_data_crc(bd, p, n, NO_CRC, ref);
}

/* ---- records ---- */

static int add_rec(struct build *bd, const char *path, uint8_t type,
		   uint8_t flags, uint8_t rank, const struct idx_ref *ref)
{
	struct rec *r;
	const char *p;

	if (bd->nrecs == bd->caprecs) {
		size_t cap = bd->caprecs ? bd->caprecs * 2 : 1024;
		struct rec *n = realloc(bd->recs, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		bd->recs = n;
		bd->caprecs = cap;
	}
	r = &bd->recs[bd->nrecs];
	memset(r, 0, sizeof(*r));
	r->path = strdup(path);
	if (!r->path)
		return -ENOMEM;
	r->comp[0] = 0;
	r->ncomp = 1;
	for (p = r->path; *p; p++)
		if (*p == '/') {
			if (r->ncomp == MAX_DEPTH || p - r->path > 65000) {
				free(r->path);
				return -EINVAL;
			}
			r->comp[r->ncomp++] = (uint16_t)(p - r->path + 1);
		}
	r->type = type;
	r->flags = flags;
	r->rank = rank;
	r->seq = bd->seq++;
	r->ref = *ref;
	bd->nrecs++;
	return 0;
}

static void add_error(struct build *bd, const char *fmt, ...) _printf_(2, 3);
/* One line of errors.txt. The line names members and quotes what the
 * backup holds: escaped, so that it can't forge a line or drive the
 * reader's terminal. */
static void add_error(struct build *bd, const char *fmt, ...)
{
	va_list ap;
	char *line = NULL;
	int n;

	if (++bd->nerrors > ERRORS_MAX)
		return;
	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	(void)sbuf_add_escaped(&bd->errors, line, (size_t)n);
	(void)sbuf_addc(&bd->errors, '\n');
	free(line);
}

/* Adds an item: rendered YAML or, in the JSON view, the original bytes.
 * Broken when json doesn't parse (the JSON view checks it the same way);
 * the reason goes to errors.txt under label. */
static int add_json_item(struct build *bd, const char *path, uint8_t flags,
			 uint8_t rank, const char *json, size_t len,
			 uint64_t json_crc, const char *label, bool resource)
{
	struct idx_ref ref = { 0 };
	struct verror e = { { 0 } };
	size_t orig_len = len;
	int r;

	sbuf_reset(&bd->yaml);
	r = render_yaml(json, len, &bd->yaml, &e);
	if (r == 0 && resource && bd->filtering) {
		/* the clean/redacted view: filter, then render that */
		sbuf_reset(&bd->filtered);
		r = filter_item(json, len, flags & IDX_F_SECRET, &bd->filter,
				&bd->filtered);
		if (r == 0) {
			json = bd->filtered.buf;
			len = bd->filtered.len;
			json_crc = NO_CRC;
			sbuf_reset(&bd->yaml);
			r = render_yaml(json, len, &bd->yaml, &e);
		}
	}
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		add_error(bd, "%s: %s", label, e.msg[0] ? e.msg : strerror(-r));
		bd->item_errors++;
		/* a size, so that readers ask and get EIO, not an empty file */
		ref.len = (uint32_t)MIN(orig_len ? orig_len : 1, UINT32_MAX);
		return add_rec(bd, path, IDX_ITEM, flags | IDX_F_BROKEN, rank,
			       &ref);
	}
	if (bd->view == BACKUP_VIEW_JSON)
		r = put_data_crc(bd, json, len, json_crc, &ref);
	else
		r = put_data(bd, bd->yaml.buf, bd->yaml.len, &ref);
	if (r < 0)
		return r;
	return add_rec(bd, path, IDX_ITEM, flags, rank, &ref);
}

static int add_file(struct build *bd, const char *path, const char *data,
		    size_t len)
{
	struct idx_ref ref = { 0 };
	int r = put_data(bd, data, len, &ref);

	if (r < 0)
		return r;
	return add_rec(bd, path, IDX_FILE, 0, 0, &ref);
}

/* ---- the tarball ---- */

/* A fast 64-bit hash (8 bytes per step, multiply-xorshift mixing); with
 * the length and the CRC-32 it tells identical members apart. */
static uint64_t hash64(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n, k;

	while (n >= 8) {
		memcpy(&k, s, 8);
		h = (h ^ (k * 0xbf58476d1ce4e5b9ull)) * 0x94d049bb133111ebull;
		h ^= h >> 31;
		s += 8;
		n -= 8;
	}
	k = 0;
	memcpy(&k, s, n);
	h = (h ^ (k * 0xbf58476d1ce4e5b9ull)) * 0x94d049bb133111ebull;
	return h ^ (h >> 29);
}

static struct seen *seen_slot(struct build *bd, uint64_t h, uint32_t len,
			      uint32_t crc)
{
	size_t i;

	if (bd->capseen == 0)
		return NULL;
	for (i = h & (bd->capseen - 1); bd->seen[i].len || bd->seen[i].hash;
	     i = (i + 1) & (bd->capseen - 1))
		if (bd->seen[i].hash == h && bd->seen[i].len == len &&
		    bd->seen[i].crc == crc)
			return &bd->seen[i];
	return NULL;
}

static int seen_add(struct build *bd, uint64_t h, uint32_t len, uint32_t crc,
		    const struct rec *r)
{
	size_t i;

	if ((bd->nseen + 1) * 2 > bd->capseen) {
		size_t cap = bd->capseen ? bd->capseen * 2 : 4096, j;
		struct seen *n = calloc(cap, sizeof(*n));

		if (!n)
			return -ENOMEM;
		for (j = 0; j < bd->capseen; j++) {
			struct seen *s = &bd->seen[j];

			if (!s->len && !s->hash)
				continue;
			for (i = s->hash & (cap - 1); n[i].len || n[i].hash;
			     i = (i + 1) & (cap - 1))
				;
			n[i] = *s;
		}
		free(bd->seen);
		bd->seen = n;
		bd->capseen = cap;
	}
	for (i = h & (bd->capseen - 1); bd->seen[i].len || bd->seen[i].hash;
	     i = (i + 1) & (bd->capseen - 1))
		;
	bd->seen[i].hash = h;
	bd->seen[i].len = len;
	bd->seen[i].crc = crc;
	bd->seen[i].flags = r->flags;
	bd->seen[i].ref = r->ref;
	bd->nseen++;
	return 0;
}

/* Splits a member path into at most max components; returns the count,
 * or -1 when it is absolute, has empty, "." or ".." components. */
static int split_member(char *p, char **c, int max)
{
	int n = 0;

	if (*p == '/')
		return -1;
	while (p) {
		char *slash = strchr(p, '/');

		if (slash)
			*slash = '\0';
		if (!*p || !strcmp(p, ".") || !strcmp(p, ".."))
			return -1;
		if (n == max)
			return max + 1;
		c[n++] = p;
		p = slash ? slash + 1 : NULL;
	}
	return n;
}

static int append_name(struct sbuf *path, const char *name, size_t extlen)
{
	if (path->len && sbuf_addc(path, '/') < 0)
		return -ENOMEM;
	return backup_component_name(name, strlen(name), extlen, path);
}

/* Maps a member under resources/ to its tree paths and adds it. */
static int add_member(struct build *bd, const char *member, const char *data,
		      size_t len)
{
	char buf[4096], *c[8], *gr, *ver = NULL, *ns = NULL, *file;
	struct sbuf path;
	uint8_t flags, rank = 0;
	uint32_t crc;
	uint64_t h;
	struct seen *s;
	struct rec *last;
	size_t flen;
	int n, r;

	if (strlen(member) >= sizeof(buf)) {
		add_error(bd, "%.200s...: member name too long; skipped",
			  member);
		bd->item_errors++;
		return 0;
	}
	strcpy(buf, member);
	n = split_member(buf, c, 7);
	if (n < 0) {
		add_error(bd, "%s: member path escapes its directory; skipped",
			  member);
		bd->item_errors++;
		return 0;
	}
	if (n >= 4 && !strcmp(c[0], "resources")) {
		gr = c[1];
		if (n == 5 && !strcmp(c[2], "namespaces"))
			ns = c[3];
		else if (n == 4 && !strcmp(c[2], "cluster"))
			;
		else if (n == 6 && !strcmp(c[3], "namespaces"))
			ver = c[2], ns = c[4];
		else if (n == 5 && !strcmp(c[3], "cluster"))
			ver = c[2];
		else
			goto unknown;
		file = c[n - 1];
		flen = strlen(file);
		if (flen <= 5 || strcmp(file + flen - 5, ".json"))
			goto unknown;
		file[flen - 5] = '\0';
	} else {
		goto unknown;
	}
	if (ver) {
		size_t vl = strlen(ver);

		rank = vl > 17 && !strcmp(ver + vl - 17, "-preferredversion") ?
			       1 :
			       2;
	}
	flags = !strcmp(gr, "secrets") ? IDX_F_SECRET : 0;

	/* the default view: namespaces/<ns>/<gr>/<name>, cluster/<gr>/<name> */
	sbuf_init(&path, 8192);
	r = append_name(&path, ns ? "namespaces" : "cluster", 0);
	if (!r && ns)
		r = append_name(&path, ns, 0);
	if (!r)
		r = append_name(&path, gr, 0);
	if (!r)
		r = append_name(&path, file, 5);
	if (r < 0)
		goto out;

	crc = (uint32_t)crc32(0, (const Bytef *)data, (uInt)len);
	h = hash64(data, len) | 1; /* never 0: 0/0 marks a free slot */
	s = seen_slot(bd, h, (uint32_t)len, crc);
	if (s) {
		r = add_rec(bd, path.buf, IDX_ITEM, (uint8_t)(s->flags | flags),
			    rank, &s->ref);
	} else {
		r = add_json_item(bd, path.buf, flags, rank, data, len, crc,
				  member, true);
		last = &bd->recs[bd->nrecs - 1];
		if (r == 0)
			r = seen_add(bd, h, (uint32_t)len, crc, last);
	}
	if (r < 0 || !ver)
		goto out;
	last = &bd->recs[bd->nrecs - 1];
	/* apiversions/<gr>/<ver>/{namespaces/<ns>,cluster}/<name> */
	{
		struct idx_ref ref = last->ref;
		uint8_t f = last->flags;

		sbuf_reset(&path);
		r = append_name(&path, "apiversions", 0);
		if (!r)
			r = append_name(&path, gr, 0);
		if (!r)
			r = append_name(&path, ver, 0);
		if (!r)
			r = append_name(&path, ns ? "namespaces" : "cluster",
					0);
		if (!r && ns)
			r = append_name(&path, ns, 0);
		if (!r)
			r = append_name(&path, file, 5);
		if (!r)
			r = add_rec(bd, path.buf, IDX_ITEM, f, 0, &ref);
	}
out:
	sbuf_release(&path);
	return r;
unknown:
	add_error(bd, "%s: not a Velero resource path; skipped", member);
	return 0;
}

/* The tarball's bytes reach libarchive through zlib here rather than
 * libarchive's own gzip filter, so that the gzip trailer (CRC-32 and size
 * of the data) is always checked, even after the tar's end marker. */
struct tar_src {
	struct vault_stream *stream;
	char *in;  /* compressed bytes from the vault */
	char *out; /* tar bytes for libarchive */
	z_stream z;
	bool z_ready;
	bool started;	    /* the gzip magic was checked */
	bool in_eof;	    /* the vault stream is exhausted */
	bool z_end;	    /* the last gzip member ended cleanly */
	int io_error;	    /* the vault failed: not the backup's fault */
	char gz_error[200]; /* the backup's compression is broken */
	struct verror err;
};

#define TAR_CHUNK (1 << 20)

/* Inflates up to TAR_CHUNK bytes into s->out; returns the count, 0 at the
 * clean end of the data, -1 on failure (io_error or gz_error set). */
static ssize_t gz_pull(struct tar_src *s)
{
	s->z.next_out = (Bytef *)s->out;
	s->z.avail_out = TAR_CHUNK;
	while (s->z.avail_out == TAR_CHUNK) {
		int zr;

		if (s->z.avail_in == 0 && !s->in_eof) {
			ssize_t n = vault_stream_read(s->stream, s->in,
						      TAR_CHUNK, &s->err);

			if (n < 0) {
				s->io_error = (int)n;
				return -1;
			}
			if (!s->started && n > 0) {
				s->started = true;
				if (n < 2 || (unsigned char)s->in[0] != 0x1f ||
				    (unsigned char)s->in[1] != 0x8b) {
					snprintf(s->gz_error,
						 sizeof(s->gz_error),
						 "not gzip-compressed (Velero "
						 "always writes .tar.gz)");
					return -1;
				}
			}
			s->in_eof = n == 0;
			s->z.next_in = (Bytef *)s->in;
			s->z.avail_in = (uInt)n;
		}
		if (s->z_end) {
			/* another gzip member follows, or the data ends */
			if (s->z.avail_in == 0)
				break;
			inflateReset(&s->z);
			s->z_end = false;
		}
		if (s->z.avail_in == 0 && s->in_eof) {
			if (!s->started)
				break; /* an empty object */
			snprintf(s->gz_error, sizeof(s->gz_error),
				 "truncated (the gzip stream ends early)");
			return -1;
		}
		zr = inflate(&s->z, Z_NO_FLUSH);
		if (zr == Z_STREAM_END) {
			s->z_end = true;
		} else if (zr != Z_OK && zr != Z_BUF_ERROR) {
			snprintf(s->gz_error, sizeof(s->gz_error),
				 "corrupt: %s",
				 s->z.msg && !strcmp(s->z.msg, "incorrect data "
							       "check") ?
					 "the gzip checksum (CRC-32) does not "
					 "match the data" :
				 s->z.msg ? s->z.msg :
					    "bad gzip data");
			return -1;
		}
	}
	return (ssize_t)(TAR_CHUNK - s->z.avail_out);
}

static la_ssize_t tar_read(struct archive *a, void *userdata, const void **buf)
{
	struct tar_src *s = userdata;
	ssize_t n = gz_pull(s);

	if (n < 0) {
		archive_set_error(a, EIO, "%s",
				  s->io_error ? s->err.msg : s->gz_error);
		return -1;
	}
	*buf = s->out;
	return n;
}

/* Reads the current entry's data into bd->member. */
static int read_member(struct build *bd, struct archive *a,
		       struct archive_entry *ent)
{
	la_int64_t size = archive_entry_size(ent);

	sbuf_reset(&bd->member);
	if (archive_entry_size_is_set(ent) && size > (la_int64_t)MEMBER_MAX)
		return -E2BIG;
	for (;;) {
		int r;
		char *p = sbuf_reserve(&bd->member, 65536, &r);
		la_ssize_t n;

		if (!p)
			return r;
		n = archive_read_data(a, p, 65536);
		if (n < 0)
			return -EIO;
		if (n == 0)
			return 0;
		sbuf_commit(&bd->member, (size_t)n);
	}
}

static int read_tarball(struct build *bd, const struct vault_object *obj,
			struct verror *e)
{
	struct backup *b = bd->b;
	struct tar_src src = { 0 };
	struct archive_entry *ent;
	struct archive *a = NULL;
	char key[600];
	bool any = false;
	int r, ar;

	snprintf(key, sizeof(key), "backups/%s/%s.tar.gz", b->name, b->name);
	r = vault_stream_open(b->repo->vault, key, obj, &src.stream, e);
	if (r < 0) {
		if (r == -ENOENT) {
			bd->index_error = strdup("the tarball is missing");
			return 0;
		}
		return r;
	}
	src.in = malloc(TAR_CHUNK);
	src.out = malloc(TAR_CHUNK);
	a = archive_read_new();
	if (!src.in || !src.out || !a ||
	    inflateInit2(&src.z, 16 + MAX_WBITS) != Z_OK) {
		r = -ENOMEM;
		goto out;
	}
	src.z_ready = true;
	archive_read_support_format_tar(a);
	ar = archive_read_open(a, &src, NULL, tar_read, NULL);
	while (ar == ARCHIVE_OK) {
		const char *name;
		int mr;

		ar = archive_read_next_header(a, &ent);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar == ARCHIVE_WARN)
			ar = ARCHIVE_OK;
		if (ar != ARCHIVE_OK)
			break;
		any = true;
		name = archive_entry_pathname(ent);
		if (!name)
			continue;
		if (archive_entry_filetype(ent) != AE_IFREG) {
			if (archive_entry_filetype(ent) != AE_IFDIR)
				add_error(bd, "%s: not a regular file; skipped",
					  name);
			continue;
		}
		mr = read_member(bd, a, ent);
		if (mr == -E2BIG) {
			add_error(bd, "%s: larger than %zu bytes; skipped",
				  name, MEMBER_MAX);
			bd->item_errors++;
			continue;
		}
		if (mr == -ENOMEM) {
			r = -ENOMEM;
			goto out;
		}
		if (mr < 0) {
			ar = ARCHIVE_FATAL;
			break;
		}
		if (!strcmp(name, "metadata/version")) {
			snprintf(bd->version, sizeof(bd->version), "%.*s",
				 (int)strcspn(bd->member.buf, "\n"),
				 bd->member.buf);
			continue;
		}
		r = add_member(bd, name, bd->member.buf, bd->member.len);
		if (r < 0)
			goto out;
	}
	/* past the tar's end marker: the rest of the gzip data, and its
	 * trailer, must still check out */
	while (ar == ARCHIVE_EOF && !src.gz_error[0] && !src.io_error &&
	       gz_pull(&src) > 0)
		;
	if (src.io_error) {
		r = verror_set(e, src.io_error, "reading %s: %s", key,
			       src.err.msg);
		goto out;
	}
	if (src.gz_error[0]) {
		if (asprintf(&bd->index_error, "the tarball is %s%s",
			     src.gz_error,
			     any ? "; the items before the damage are shown" :
				   "") < 0)
			bd->index_error = NULL;
	} else if (ar != ARCHIVE_EOF) {
		const char *msg = archive_error_string(a);

		if (asprintf(&bd->index_error,
			     "the tarball is corrupt or truncated: %s",
			     msg ? msg : "unreadable") < 0)
			bd->index_error = NULL;
	} else if (!any) {
		bd->index_error = strdup("the tarball is empty: it holds no "
					 "members at all");
	}
	r = 0;
out:
	if (a)
		archive_read_free(a);
	if (src.z_ready)
		inflateEnd(&src.z);
	vault_stream_free(src.stream);
	free(src.in);
	free(src.out);
	return r;
}

/* ---- the other objects of a backup ---- */

struct objects {
	struct backup_object *v;
	size_t n;
};

static int on_object(const char *name, const struct vault_object *obj,
		     void *userdata)
{
	struct objects *o = userdata;
	struct backup_object *n;

	if (!obj)
		return 0;
	n = realloc(o->v, (o->n + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	o->v = n;
	o->v[o->n].name = strdup(name);
	if (!o->v[o->n].name)
		return -ENOMEM;
	o->v[o->n].obj = *obj;
	o->n++;
	return 0;
}

static int cmp_object(const void *a, const void *b)
{
	return strcmp(((const struct backup_object *)a)->name,
		      ((const struct backup_object *)b)->name);
}

/* Reads a gzip object whole and inflates it into out (capped). */
static int get_gz(struct build *bd, const struct backup_object *o,
		  struct sbuf *out, struct verror *e)
{
	struct backup *b = bd->b;
	struct sbuf raw;
	z_stream z = { 0 };
	char key[600];
	int r, zr = Z_OK;

	snprintf(key, sizeof(key), "backups/%s/%s", b->name, o->name);
	sbuf_init(&raw, LOGS_MAX);
	r = vault_get(b->repo->vault, key, &raw, NULL, e);
	if (r < 0)
		goto out;
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
		r = -ENOMEM;
		goto out;
	}
	z.next_in = (Bytef *)raw.buf;
	z.avail_in = (uInt)raw.len;
	while (z.avail_in > 0 || zr == Z_OK) {
		char *p = sbuf_reserve(out, 65536, &r);

		if (!p) {
			verror_set(e, r, "larger than %zu bytes decompressed",
				   out->max);
			break;
		}
		z.next_out = (Bytef *)p;
		z.avail_out = 65536;
		zr = inflate(&z, Z_NO_FLUSH);
		sbuf_commit(out, 65536 - z.avail_out);
		if (zr == Z_STREAM_END) {
			if (z.avail_in == 0)
				break;
			/* concatenated gzip members */
			inflateReset(&z);
			zr = Z_OK;
			continue;
		}
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			r = verror_set(e, -EBADMSG, "not valid gzip: %s",
				       z.msg ? z.msg : "corrupt data");
			break;
		}
		if (zr == Z_BUF_ERROR && z.avail_in == 0) {
			r = verror_set(e, -EBADMSG,
				       "not valid gzip: truncated");
			break;
		}
	}
	inflateEnd(&z);
out:
	sbuf_release(&raw);
	return r;
}

static json_t *add_meta(struct build *bd, const struct backup_object *o,
			const char *kind, bool want_json)
{
	struct verror e = { { 0 } };
	struct sbuf data;
	json_t *j = NULL;
	char path[300];
	int r;

	sbuf_init(&data, META_MAX);
	r = get_gz(bd, o, &data, &e);
	snprintf(path, sizeof(path), "meta/%s", kind);
	if (r == -EIO || r == -ENOMEM || r == -ESTALE) {
		bd->werr = bd->werr ? bd->werr : r;
	} else if (r < 0) {
		struct idx_ref ref = { .len = 1 };

		add_error(bd, "%s: %s", o->name, e.msg);
		(void)add_rec(bd, path, IDX_ITEM, IDX_F_BROKEN, 0, &ref);
	} else {
		if (add_json_item(bd, path, 0, 0, data.buf, data.len, NO_CRC,
				  o->name, false) < 0)
			bd->werr = bd->werr ? bd->werr : -ENOMEM;
		if (want_json)
			j = json_loadb(data.buf, data.len, 0, NULL);
	}
	sbuf_release(&data);
	return j;
}

/* ---- layout ---- */

/* Component-wise order: '/' sorts before every other byte. */
static int cmp_path(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned ca = (unsigned char)*a, cb = (unsigned char)*b;

		if (ca == '/')
			ca = 1;
		if (cb == '/')
			cb = 1;
		if (ca != cb || !ca)
			return (int)ca - (int)cb;
	}
}

static int cmp_rec(const void *x, const void *y)
{
	const struct rec *a = x, *b = y;
	int c = cmp_path(a->path, b->path);

	if (c)
		return c;
	if (a->type != b->type)
		return (int)a->type - (int)b->type;
	if (a->rank != b->rank)
		return (int)a->rank - (int)b->rank;
	/* a member the tarball holds twice: the last one wins, as when the
	 * tarball is extracted (qsort is not stable; seq makes it total) */
	return (a->seq < b->seq) - (a->seq > b->seq);
}

/* Sorts the records and drops the ones another record with the same path
 * and a lower rank shadows (the legacy copy wins over the versioned
 * ones), or a later one of the same rank (a duplicate member; said in
 * errors.txt when its content differs). */
static void sort_recs(struct build *bd)
{
	size_t i, k = 0;

	if (bd->nrecs > 1) /* recs is NULL when there are none */
		qsort(bd->recs, bd->nrecs, sizeof(*bd->recs), cmp_rec);
	for (i = 1; i < bd->nrecs; i++) {
		const struct rec *a = &bd->recs[i - 1], *c = &bd->recs[i];

		if (a->type == c->type && a->rank == c->rank &&
		    !strcmp(a->path, c->path) &&
		    (a->ref.len != c->ref.len || a->ref.crc != c->ref.crc ||
		     a->flags != c->flags))
			add_error(bd,
				  "%s: the tarball holds this item more than "
				  "once, with different content; the last one "
				  "is shown",
				  c->path);
	}
	for (i = 0; i < bd->nrecs; i++) {
		if (k > 0 && bd->recs[k - 1].type == bd->recs[i].type &&
		    !strcmp(bd->recs[k - 1].path, bd->recs[i].path)) {
			free(bd->recs[i].path);
			continue;
		}
		bd->recs[k++] = bd->recs[i];
	}
	bd->nrecs = k;
}

static size_t comp_len(const struct rec *r, unsigned d)
{
	return d + 1 < r->ncomp ? (size_t)(r->comp[d + 1] - r->comp[d] - 1) :
				  strlen(r->path + r->comp[d]);
}

struct qent {
	uint32_t node;
	uint8_t depth;
	size_t lo, hi;
};

/* Lays the sorted records out as the breadth-first node table. */
static int layout(struct build *bd, struct idx_node **out_nodes,
		  uint32_t *out_count, struct sbuf *names)
{
	struct idx_node *nodes = NULL;
	struct qent *q = NULL;
	size_t nn = 0, capn = 0, qh = 0, qt = 0, capq = 0;
	int r = -ENOMEM;

#define GROW(arr, len, cap)                                             \
	do {                                                            \
		if ((len) == (cap)) {                                   \
			size_t _c = (cap) ? (cap)*2 : 1024;             \
			void *_n = realloc((arr), _c * sizeof(*(arr))); \
			if (!_n)                                        \
				goto fail;                              \
			(arr) = _n;                                     \
			(cap) = _c;                                     \
		}                                                       \
	} while (0)

	GROW(nodes, nn, capn);
	memset(&nodes[0], 0, sizeof(nodes[0]));
	nodes[0].type = IDX_DIR;
	nn = 1;
	GROW(q, qt, capq);
	q[qt++] = (struct qent){ 0, 0, 0, bd->nrecs };
	while (qh < qt) {
		struct qent cur = q[qh++];
		size_t i = cur.lo;
		uint32_t subdirs = 0;

		nodes[cur.node].first_child = (uint32_t)nn;
		while (i < cur.hi) {
			const struct rec *rc = &bd->recs[i];
			const char *name = rc->path + rc->comp[cur.depth];
			size_t len = comp_len(rc, cur.depth), j = i;
			struct idx_node *n;

			GROW(nodes, nn, capn);
			n = &nodes[nn];
			memset(n, 0, sizeof(*n));
			n->name_off = (uint32_t)names->len;
			n->name_len = (uint16_t)len;
			if (sbuf_add(names, name, len) < 0)
				goto fail;
			if (rc->ncomp == cur.depth + 1) {
				/* a file */
				n->type = rc->type;
				n->flags = rc->flags;
				n->off = rc->ref.off;
				n->len = rc->ref.len;
				n->crc = rc->ref.crc;
				nn++;
				i++;
				continue;
			}
			/* a directory: every record sharing the component */
			while (j < cur.hi &&
			       bd->recs[j].ncomp > cur.depth + 1 &&
			       comp_len(&bd->recs[j], cur.depth) == len &&
			       !memcmp(bd->recs[j].path +
					       bd->recs[j].comp[cur.depth],
				       name, len))
				j++;
			n->type = IDX_DIR;
			GROW(q, qt, capq);
			q[qt++] = (struct qent){ (uint32_t)nn,
						 (uint8_t)(cur.depth + 1), i,
						 j };
			nn++;
			subdirs++;
			i = j;
		}
		nodes[cur.node].nchildren =
			(uint32_t)(nn - nodes[cur.node].first_child);
		nodes[cur.node].len = 2 + subdirs; /* nlink */
	}
	free(q);
	*out_nodes = nodes;
	*out_count = (uint32_t)nn;
	return 0;
fail:
#undef GROW
	free(q);
	free(nodes);
	return r;
}

/* ---- the index file ---- */

static uint32_t header_crc(const struct idx_header *h)
{
	struct idx_header c = *h;

	c.header_crc = 0;
	return (uint32_t)crc32(0, (const Bytef *)&c, sizeof(c));
}

int backup_index_check(const void *addr, size_t len)
{
	const struct idx_header *h = addr;
	const struct idx_node *nodes;
	uint32_t i;
	uLong crc;

	if (len < sizeof(*h) || memcmp(h->magic, IDX_MAGIC, 8) ||
	    h->header_crc != header_crc(h) || h->file_size != len)
		return -EBADMSG;
	if (h->data_off != sizeof(*h) || h->data_off + h->data_len > len ||
	    h->nodes_off < h->data_off + h->data_len || h->nodes_off % 8 ||
	    h->node_count == 0 ||
	    (uint64_t)h->node_count * sizeof(struct idx_node) >
		    len - h->nodes_off ||
	    h->names_off != h->nodes_off + (uint64_t)h->node_count *
						   sizeof(struct idx_node) ||
	    h->names_off + h->names_len != len)
		return -EBADMSG;
	crc = crc32(0, (const Bytef *)addr + h->nodes_off,
		    (uInt)(len - h->nodes_off));
	if ((uint32_t)crc != h->meta_crc)
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
		} else if (n->type == IDX_FILE || n->type == IDX_ITEM) {
			if (!(n->flags & IDX_F_BROKEN) &&
			    n->off + n->len > h->data_len)
				return -EBADMSG;
		} else {
			return -EBADMSG;
		}
	}
	return nodes[0].type == IDX_DIR ? 0 : -EBADMSG;
}

/* Wraps a checked mapping; on failure the mapping is released. */
static int index_new(struct cache *c, struct cache_mapping *m,
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
	x->hdr = h;
	x->nodes =
		(const struct idx_node *)((const char *)m->addr + h->nodes_off);
	x->names = (const char *)m->addr + h->names_off;
	x->data = (const char *)m->addr + h->data_off;
	*out = x;
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

static int write_all(int fd, const void *p, size_t n, uint64_t off)
{
	while (n > 0) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p = (const char *)p + w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

static void counts_of(struct build *bd, struct describe_kind_count **out,
		      size_t *nout, size_t *nitems)
{
	struct describe_kind_count *v = NULL;
	size_t n = 0, i;

	*nitems = 0;
	for (i = 0; i < bd->nrecs; i++) {
		const struct rec *r = &bd->recs[i];
		const char *gr;
		size_t j;

		if (r->type != IDX_ITEM)
			continue;
		if (r->ncomp == 4 && !strncmp(r->path, "namespaces/", 11))
			gr = r->path + r->comp[2];
		else if (r->ncomp == 3 && !strncmp(r->path, "cluster/", 8))
			gr = r->path + r->comp[1];
		else
			continue;
		(*nitems)++;
		for (j = 0; j < n; j++)
			if (!strncmp(v[j].group_resource, gr,
				     strcspn(gr, "/")) &&
			    v[j].group_resource[strcspn(gr, "/")] == '\0')
				break;
		if (j == n) {
			struct describe_kind_count *nv =
				realloc(v, (n + 1) * sizeof(*v));

			if (!nv)
				break;
			v = nv;
			v[n].group_resource = strndup(gr, strcspn(gr, "/"));
			v[n].count = 0;
			if (!v[n].group_resource)
				break;
			n++;
		}
		v[j].count++;
	}
	for (i = 1; i < n; i++) {
		struct describe_kind_count x = v[i];
		size_t j = i;

		while (j > 0 &&
		       strcmp(v[j - 1].group_resource, x.group_resource) > 0) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
	*out = v;
	*nout = n;
}

static const char *const meta_suffixes[] = {
	"-resource-list.json.gz",
	"-volumesnapshots.json.gz",
	"-podvolumebackups.json.gz",
	"-csi-volumesnapshots.json.gz",
	"-csi-volumesnapshotcontents.json.gz",
	"-csi-volumesnapshotclasses.json.gz",
	"-itemoperations.json.gz",
	"-volumeinfo.json.gz",
	"-itemsnapshots.json.gz",
	"-results.gz",
};

static int build(struct backup *b, struct cache_writer *w,
		 const struct objects *objs, struct verror *e)
{
	struct build bd = {
		.b = b,
		.fd = cache_writer_fd(w),
		.view = b->repo->opt.view,
		.filter = { .clean = b->repo->opt.clean,
			    .keep_status = b->repo->opt.keep_status,
			    .redact = b->repo->opt.redact },
		.filtering = b->repo->opt.clean || b->repo->opt.redact,
	};
	struct describe_input din = { .name = b->name };
	struct describe_kind_count *kinds = NULL;
	const struct backup_object *tar = NULL;
	json_t *metaj[ARRAY_SIZE(meta_suffixes)] = { 0 };
	struct idx_node *nodes = NULL;
	struct idx_header h = { 0 };
	struct sbuf names, desc;
	json_t *bj = NULL;
	size_t nl = strlen(b->name), i, k, nkinds = 0;
	char tarname[300];
	int r;

	sbuf_init(&bd.out, 4u << 20);
	sbuf_init(&bd.errors, 1 << 20);
	sbuf_init(&bd.yaml, 0);
	sbuf_init(&bd.filtered, 0);
	sbuf_init(&bd.member, MEMBER_MAX + 65536);
	sbuf_init(&names, (size_t)1 << 31);
	sbuf_init(&desc, 0);
	bd.off = 0;
	if (lseek(bd.fd, sizeof(h), SEEK_SET) < 0) {
		r = -errno;
		goto out;
	}

	snprintf(tarname, sizeof(tarname), "%s.tar.gz", b->name);
	for (i = 0; i < objs->n; i++)
		if (!strcmp(objs->v[i].name, tarname))
			tar = &objs->v[i];

	/* velero-backup.json: backup.yaml */
	if (b->info.valid) {
		r = add_json_item(&bd, "backup", 0, 0, b->backup_json,
				  b->backup_json_len, NO_CRC,
				  "velero-backup.json", false);
		if (r < 0)
			goto out;
		bj = json_loadb(b->backup_json, b->backup_json_len, 0, NULL);
	} else {
		add_error(&bd, "velero-backup.json: %s",
			  b->info_error ? b->info_error : "unreadable");
		din.backup_error = b->info_error;
	}

	if (tar) {
		r = read_tarball(&bd, &tar->obj, e);
		if (r < 0)
			goto out;
	} else {
		bd.index_error = strdup("the tarball is missing");
	}
	if (bd.index_error)
		add_error(&bd, "%s: %s", tarname, bd.index_error);
	if (bd.version[0] && strcmp(bd.version, "1") &&
	    strcmp(bd.version, "1.1.0"))
		add_error(&bd,
			  "%s: metadata/version is '%s', a format this "
			  "version of velerofs has not seen",
			  tarname, bd.version);

	/* logs and meta/ */
	for (i = 0; i < objs->n; i++) {
		const struct backup_object *o = &objs->v[i];
		const char *sfx;

		if (strncmp(o->name, b->name, nl) || o->name[nl] != '-')
			continue;
		sfx = o->name + nl;
		if (!strcmp(sfx, "-logs.gz")) {
			struct sbuf logs;
			struct verror le = { { 0 } };

			sbuf_init(&logs, LOGS_MAX);
			r = get_gz(&bd, o, &logs, &le);
			if (r == -EIO || r == -ESTALE || r == -ENOMEM) {
				sbuf_release(&logs);
				goto out;
			}
			if (r < 0)
				add_error(&bd, "%s: %s", o->name, le.msg);
			/* what could be read is shown even when cut short */
			r = add_file(&bd, "logs", sbuf_str(&logs), logs.len);
			sbuf_release(&logs);
			if (r < 0)
				goto out;
			continue;
		}
		for (k = 0; k < ARRAY_SIZE(meta_suffixes); k++)
			if (!strcmp(sfx, meta_suffixes[k]))
				break;
		if (k < ARRAY_SIZE(meta_suffixes)) {
			char kind[64];
			size_t kl =
				strlen(meta_suffixes[k] + 1) -
				(strstr(meta_suffixes[k], ".json.gz") ? 8 : 3);

			snprintf(kind, sizeof(kind), "%.*s", (int)kl,
				 meta_suffixes[k] + 1);
			metaj[k] = add_meta(&bd, o, kind, true);
		} else if (strlen(sfx) > 8 &&
			   !strcmp(sfx + strlen(sfx) - 8, ".json.gz")) {
			char kind[200];

			snprintf(kind, sizeof(kind), "%.*s",
				 (int)(strlen(sfx) - 9), sfx + 1);
			json_decref(add_meta(&bd, o, kind, false));
		}
		if (bd.werr) {
			r = bd.werr;
			goto out;
		}
	}

	sort_recs(&bd);
	counts_of(&bd, &kinds, &nkinds, &din.nitems);
	din.backup = bj;
	din.results = metaj[9];
	din.resource_list = metaj[0];
	din.volumesnapshots = metaj[1];
	din.podvolumebackups = metaj[2];
	din.csi_volumesnapshots = metaj[3];
	din.itemoperations = metaj[6];
	din.volumeinfo = metaj[7];
	din.kinds = kinds;
	din.nkinds = nkinds;
	din.index_error = bd.index_error;
	din.item_errors = bd.item_errors;
	r = render_describe(&din, &desc);
	if (r < 0)
		goto out;
	r = add_file(&bd, "describe.txt", sbuf_str(&desc), desc.len);
	if (r == 0 && bd.errors.len) {
		if (bd.nerrors > ERRORS_MAX)
			(void)sbuf_addf(&bd.errors, "... and %zu more\n",
					bd.nerrors - ERRORS_MAX);
		r = add_file(&bd, "errors.txt", bd.errors.buf, bd.errors.len);
	}
	if (r < 0)
		goto out;
	sort_recs(&bd);

	r = layout(&bd, &nodes, &h.node_count, &names);
	if (r < 0)
		goto out;
	r = flush_out(&bd);
	if (r < 0)
		goto out;

	memcpy(h.magic, IDX_MAGIC, 8);
	h.data_off = sizeof(h);
	h.data_len = bd.off;
	h.nodes_off = (h.data_off + h.data_len + 7) & ~(uint64_t)7;
	h.names_off = h.nodes_off + (uint64_t)h.node_count * sizeof(*nodes);
	h.names_len = names.len;
	h.file_size = h.names_off + h.names_len;
	h.meta_crc = (uint32_t)crc32(0, (const Bytef *)nodes,
				     (uInt)(h.node_count * sizeof(*nodes)));
	h.meta_crc = (uint32_t)crc32(
		h.meta_crc, (const Bytef *)sbuf_str(&names), (uInt)names.len);
	h.header_crc = header_crc(&h);
	r = write_all(bd.fd, nodes, h.node_count * sizeof(*nodes), h.nodes_off);
	if (r == 0)
		r = write_all(bd.fd, sbuf_str(&names), names.len, h.names_off);
	if (r == 0)
		r = write_all(bd.fd, &h, sizeof(h), 0);
	if (r < 0)
		verror_set(e, r, "writing the index of %s: %s", b->name,
			   strerror(-r));
out:
	if (bd.werr && r == 0)
		r = bd.werr;
	for (i = 0; i < bd.nrecs; i++)
		free(bd.recs[i].path);
	free(bd.recs);
	free(bd.seen);
	for (i = 0; i < nkinds; i++)
		free((char *)kinds[i].group_resource);
	free(kinds);
	for (k = 0; k < ARRAY_SIZE(metaj); k++)
		json_decref(metaj[k]);
	json_decref(bj);
	free(nodes);
	free(bd.index_error);
	sbuf_release(&bd.out);
	sbuf_release(&bd.errors);
	sbuf_release(&bd.yaml);
	sbuf_release(&bd.filtered);
	sbuf_release(&bd.member);
	sbuf_release(&names);
	sbuf_release(&desc);
	return r;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Records in b the identity of the tarball the index is built from (for
 * backup_repo_refresh() to see it change) and returns whether the backup
 * is incomplete: still being written, or its velero-backup.json changed
 * since it was read. Then the index must not be cached. */
static bool index_identities(struct backup *b, const struct objects *objs,
			     bool online)
{
	const char *tar_id = NULL, *json_id = "";
	char tarname[300];
	bool incomplete;
	size_t i;

	snprintf(tarname, sizeof(tarname), "%s.tar.gz", b->name);
	for (i = 0; i < objs->n; i++) {
		if (!strcmp(objs->v[i].name, tarname))
			tar_id = objs->v[i].obj.identity;
		else if (!strcmp(objs->v[i].name, "velero-backup.json"))
			json_id = objs->v[i].obj.identity;
	}
	pthread_mutex_lock(&b->lock);
	b->tar_known = online;
	snprintf(b->tar_id, sizeof(b->tar_id), "%s", tar_id ? tar_id : "");
	incomplete = online &&
		     (backup_incomplete(&b->info, tar_id, b->json_mtime) ||
		      (b->json_known && strcmp(b->json_id, json_id)));
	b->incomplete = incomplete;
	pthread_mutex_unlock(&b->lock);
	return incomplete;
}

int backup_index_load(struct backup *b, bool rebuild, struct backup_index **out,
		      struct verror *e)
{
	struct backup_repo *repo = b->repo;
	struct objects objs = { 0 };
	struct cache_writer *w = NULL;
	struct cache_mapping m = { 0 };
	const char **parts = NULL;
	char dir[300], view[64], *path = NULL;
	uint64_t t0 = now_ms();
	size_t i, np = 0;
	bool online = false, incomplete = false;
	int r;

	/* the key: every object of the backup, by identity */
	snprintf(dir, sizeof(dir), "backups/%s/", b->name);
	r = vault_list(repo->vault, dir, on_object, &objs, e);
	if (r < 0 && backup_offline_error(r)) {
		/* unreachable: what the cache holds is still served */
		for (i = 0; i < objs.n; i++)
			free(objs.v[i].name);
		free(objs.v);
		objs.v = NULL;
		objs.n = 0;
		if (catalog_objects(repo, b->name, &objs.v, &objs.n) == 0) {
			log_debug("%s: vault unreachable, using the catalog",
				  b->name);
			r = 0;
		}
	} else if (r == 0) {
		online = true;
		qsort(objs.v, objs.n, sizeof(*objs.v), cmp_object);
		catalog_set_objects(repo, b->name, objs.v, objs.n);
	}
	if (r < 0)
		goto out;
	incomplete = index_identities(b, &objs, online);
	qsort(objs.v, objs.n, sizeof(*objs.v), cmp_object);
	parts = calloc(4 + 2 * objs.n, sizeof(*parts));
	if (!parts) {
		r = -ENOMEM;
		goto out;
	}
	parts[np++] = IDX_MAGIC;
	snprintf(view, sizeof(view), "%s%s%s%s",
		 repo->opt.view == BACKUP_VIEW_JSON ? "json" : "yaml",
		 repo->opt.clean ? ",clean" : "",
		 repo->opt.clean && repo->opt.keep_status ? ",status" : "",
		 repo->opt.redact ? ",redact" : "");
	parts[np++] = view;
	parts[np++] = vault_id(repo->vault);
	parts[np++] = b->name;
	for (i = 0; i < objs.n; i++) {
		parts[np++] = objs.v[i].name;
		parts[np++] = objs.v[i].obj.identity;
	}
	path = cache_entry_path(repo->cache, "idx", parts, np);
	if (!path) {
		r = -ENOMEM;
		goto out;
	}

	if (rebuild)
		cache_remove(repo->cache, path);
	r = cache_map(repo->cache, path, &m);
	if (r == 0) {
		if (backup_index_check(m.addr, m.len) == 0) {
			r = index_new(repo->cache, &m, out);
			b->build_ms = 0;
			goto out;
		}
		log_debug("%s: the cached index is corrupt; rebuilding it",
			  b->name);
		cache_unmap(repo->cache, &m);
		cache_remove(repo->cache, path);
	}

	r = cache_writer_open(repo->cache, path, &w, e);
	if (r < 0)
		goto out;
	r = build(b, w, &objs, e);
	if (r < 0 && backup_offline_error(r))
		verror_prefix(e, r,
			      "%s: the vault can't be reached and this backup "
			      "is not in the cache",
			      b->name);
	if (r < 0) {
		if (!e || !e->msg[0])
			verror_set(e, r, "indexing %s: %s", b->name,
				   strerror(-r));
		goto out;
	}
	r = cache_writer_commit(w, e);
	w = NULL;
	if (r < 0)
		goto out;
	r = cache_map(repo->cache, path, &m);
	if (r == 0 && incomplete) {
		/* mapped, but not kept for later: the backup is still being
		 * written (repo.c checks it again on refresh) */
		log_debug("%s: incomplete; its index is not cached", b->name);
		cache_remove(repo->cache, path);
	}
	if (r == 0 && backup_index_check(m.addr, m.len) < 0) {
		cache_unmap(repo->cache, &m);
		r = verror_set(e, -EIO,
			       "%s: the index just written reads "
			       "back corrupt",
			       b->name);
	}
	if (r == 0)
		r = index_new(repo->cache, &m, out);
	if (r == 0) /* its bytes were checked as they were written */
		memset((*out)->verified, 1, (*out)->hdr->node_count);
	/* the build's buffers were large: give the memory back now, not
	 * when glibc next decides to trim */
	malloc_trim(0);
	b->build_ms = now_ms() - t0;
	if (b->build_ms == 0)
		b->build_ms = 1;
out:
	catalog_save(repo);
	cache_writer_free(w);
	for (i = 0; i < objs.n; i++)
		free(objs.v[i].name);
	free(objs.v);
	free(parts);
	free(path);
	return r;
}
