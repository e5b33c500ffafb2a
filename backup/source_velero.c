/* backup/source_velero: a Velero backup as a source of items.
 *
 * Reads backups/<name>/ of the vault: the tarball <name>.tar.gz, streamed
 * once through ISA-L's igzip and our tar reader (tar.c), whose members
 * under resources/ are
 * the items; velero-backup.json (read by repo.c) as backup.yaml; the
 * per-backup objects (<name>-logs.gz, <name>-results.gz, the
 * *.json.gz metadata) decompressed as logs and meta/; and the `velero
 * backup describe`-like describe.txt (describe.c). See source_i.h for the
 * contract; this file is the only one that knows Velero's storage layout
 * or opens a tarball.
 *
 * Hostile input is contained here: member names are split into at most
 * seven components and refused when absolute or holding "", "." or ".."
 * (the sink escapes the rest), a member's size is capped (MEMBER_MAX),
 * decompressed objects are streamed and capped (META_MAX, LOGS_MAX; only
 * DESCRIBE_JSON_MAX of one is parsed whole), anything but a regular file
 * or a directory is skipped, PAX oddities and the tar's end are reported,
 * at most TAR_TAIL_MAX is read past the end marker, and the gzip stream is
 * otherwise checked to its trailer. A vault that fails (a temporary error)
 * fails the read; only the backup's own damage goes to errors.txt. Not
 * here: rendering, dedupe, the tree, the cache. */
#include <errno.h>
#include <isa-l/igzip_lib.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/render_i.h"
#include "backup/source_i.h"
#include "backup/tar_i.h"
#include "common/log.h"
#include "common/macro.h"

#define MEMBER_MAX ((size_t)64 << 20) /* one Kubernetes object */
/* A decompressed metadata object shown under meta/ (a resource list of a
 * million items is some 50 MiB), and the part of one that is parsed for
 * describe.txt; a decompressed backup log (Velero's log of a backup of
 * 100,000 items is some 100 MiB). Memory while indexing is about the
 * first two, whatever the objects claim or inflate to: the log is never
 * held whole (it goes into the index a piece at a time). */
#define META_MAX ((size_t)64 << 20)
#define DESCRIBE_JSON_MAX ((size_t)1 << 20)
#define LOGS_MAX ((size_t)128 << 20)

/* The per-backup objects shown under meta/ (and read for describe.txt),
 * by suffix after "<name>"; other *.json.gz objects are shown too. */
enum meta_kind {
	META_RESOURCE_LIST,
	META_VOLUMESNAPSHOTS,
	META_PODVOLUMEBACKUPS,
	META_CSI_VOLUMESNAPSHOTS,
	META_CSI_VOLUMESNAPSHOTCONTENTS,
	META_CSI_VOLUMESNAPSHOTCLASSES,
	META_ITEMOPERATIONS,
	META_VOLUMEINFO,
	META_ITEMSNAPSHOTS,
	META_RESULTS,
	META_N,
};

static const char *const meta_suffixes[META_N] = {
	[META_RESOURCE_LIST] = "-resource-list.json.gz",
	[META_VOLUMESNAPSHOTS] = "-volumesnapshots.json.gz",
	[META_PODVOLUMEBACKUPS] = "-podvolumebackups.json.gz",
	[META_CSI_VOLUMESNAPSHOTS] = "-csi-volumesnapshots.json.gz",
	[META_CSI_VOLUMESNAPSHOTCONTENTS] = "-csi-volumesnapshotcontents.json."
					    "gz",
	[META_CSI_VOLUMESNAPSHOTCLASSES] = "-csi-volumesnapshotclasses.json.gz",
	[META_ITEMOPERATIONS] = "-itemoperations.json.gz",
	[META_VOLUMEINFO] = "-volumeinfo.json.gz",
	[META_ITEMSNAPSHOTS] = "-itemsnapshots.json.gz",
	[META_RESULTS] = "-results.gz",
};

struct velero_src {
	struct backup_source base;
	struct backup_object *objs; /* the backup's directory, by name */
	size_t nobjs;
	char tarname[300];    /* "<name>.tar.gz" */
	char version[16];     /* metadata/version */
	char *index_error;    /* the tarball's own problem, or NULL */
	json_t *backup;	      /* velero-backup.json, NULL if not valid */
	json_t *meta[META_N]; /* for describe.txt; NULL when absent */
	json_t *dus;	      /* the tarball's DataUploads (array), or NULL */
	json_t *dus_seen;     /* "<namespace>/<name>" of each (the member's),
			       * as keys */
	size_t dus_bytes;     /* their JSON's size, capped at META_MAX */
	struct velero_log {   /* the log, streamed by the sink once read()
			       * returned (stream_log()) */
		struct backup *b;
		const struct backup_object *o;
		bool raw_done;
		struct sbuf raw; /* its compressed bytes, if read ahead */
	} log;
};

/* ---- the tarball ---- */

/* Whether s ends with sfx and has something before it. */
static bool has_suffix(const char *s, const char *sfx)
{
	size_t n = strlen(s), m = strlen(sfx);

	return n > m && !strcmp(s + n - m, sfx);
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

/* Keeps a DataUpload of the tarball (velero.io/v2alpha1) for the volume
 * data: the backup finalizer puts every completed DataUpload there (the
 * CSI PVC action's operations list it in PostOperationItems; Velero
 * v1.17's pkg/backup/backup.go FinalizeBackup backs them up again), and
 * Velero's own restore reads them from there
 * (pkg/restore/actions/dataupload_retrieve_action.go turns each into a
 * DataUploadResult). The copy under a preferred API-version directory is
 * the same object: kept once per namespace and name. At most META_MAX
 * bytes of them. */
static void keep_dataupload(struct velero_src *s, struct backup_sink *k,
			    const struct backup_item *it)
{
	json_t *o;
	char *key;

	if (s->dus_bytes > META_MAX - it->len) {
		backup_sink_error(k,
				  "%s: the DataUploads are larger than %zu MiB "
				  "together; this one's volume is not shown",
				  it->label, META_MAX >> 20);
		return;
	}
	o = json_loadb(it->json, it->len, 0, NULL);
	if (!json_is_object(o)) {
		json_decref(o); /* the sink lists it as broken */
		return;
	}
	/* its place in the tarball, which has no '/' in a component */
	if (asprintf(&key, "%s/%s", it->ns ? it->ns : "", it->name) < 0)
		key = NULL;
	if (!key || (!s->dus_seen && !(s->dus_seen = json_object())) ||
	    json_object_get(s->dus_seen, key) ||
	    json_object_set_new(s->dus_seen, key, json_true()) < 0 ||
	    (!s->dus && !(s->dus = json_array()))) {
		free(key);
		json_decref(o);
		return;
	}
	free(key);
	if (json_array_append_new(s->dus, o) < 0)
		return;
	s->dus_bytes += it->len;
}

/* Maps a member of the tarball to an item and hands it to the sink:
 * resources/<gr>/namespaces/<ns>/<name>.json,
 * resources/<gr>/cluster/<name>.json, and the same with an API-version
 * directory after <gr> (EnableAPIGroupVersions). */
static int add_member(struct velero_src *s, struct backup_sink *k,
		      const char *member, const char *data, size_t len)
{
	struct backup_item it = { .label = member, .json = data, .len = len };
	char buf[4096], *c[8], *file;
	int n;

	if (strlen(member) >= sizeof(buf)) {
		backup_sink_item_error(
			k, "%.200s...: member name too long; skipped", member);
		return 0;
	}
	strcpy(buf, member);
	n = split_member(buf, c, 7);
	if (n < 0) {
		backup_sink_item_error(k,
				       "%s: member path escapes its directory; "
				       "skipped",
				       member);
		return 0;
	}
	if (n < 4 || strcmp(c[0], "resources"))
		goto unknown;
	it.gr = c[1];
	if (n == 5 && !strcmp(c[2], "namespaces"))
		it.ns = c[3];
	else if (n == 4 && !strcmp(c[2], "cluster"))
		;
	else if (n == 6 && !strcmp(c[3], "namespaces"))
		it.version = c[2], it.ns = c[4];
	else if (n == 5 && !strcmp(c[3], "cluster"))
		it.version = c[2];
	else
		goto unknown;
	file = c[n - 1];
	if (!has_suffix(file, ".json"))
		goto unknown;
	file[strlen(file) - 5] = '\0';
	it.name = file;
	if (it.version)
		it.preferred = has_suffix(it.version, "-preferredversion");
	if (!strcmp(it.gr, "datauploads.velero.io") &&
	    (!it.version || it.preferred))
		keep_dataupload(s, k, &it);
	return backup_sink_item(k, &it);
unknown:
	backup_sink_error(k, "%s: not a Velero resource path; skipped", member);
	return 0;
}

/* A gzip object of the vault, inflated as it streams: the tarball (fed
 * to the tar reader; inflated here so that the gzip trailer - CRC-32 and size
 * of the data - is always checked, even after the tar's end marker) and the
 * per-backup objects (get_gz). ISA-L's igzip rather than zlib: on Velero's
 * tarballs it inflates 4-25 times as fast, CRC-32 included
 * (bench/inflate_bench.c, bench/profile-notes.md), and it streams. Memory: two
 * chunks and the inflate state (some 200 KiB), whatever the object's size. */
/* The tarball's compressed bytes read ahead by a thread of their own
 * (PREFETCH chunks), so that the download or the disk overlaps the
 * inflate and the build. */
#define PREFETCH 4
struct prefetch {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct vault_stream *stream;
	char *buf[PREFETCH];
	ssize_t len[PREFETCH]; /* bytes; 0 at the end, -errno on failure */
	unsigned head, tail;   /* chunks taken, chunks read */
	bool stop, done;
	struct verror err;
};

struct tar_src {
	struct vault_stream *stream;
	const struct sbuf *raw; /* else the compressed bytes, read already */
	size_t raw_off;
	struct prefetch *pf; /* NULL: read in gz_pull() */
	char *in;	     /* compressed bytes from the vault */
	char *out;	     /* inflated bytes */
	struct inflate_state *z;
	unsigned nmagic;    /* bytes of the gzip magic checked (0..2): a
			     * read may return a single byte */
	bool started;	    /* some bytes came */
	bool in_eof;	    /* the vault stream is exhausted */
	bool z_end;	    /* the last gzip member ended cleanly */
	uint64_t in_total;  /* compressed bytes read */
	uint64_t in_max;    /* read no more than this (0: no limit) */
	int io_error;	    /* the vault failed: not the backup's fault */
	char gz_error[200]; /* the backup's compression is broken */
	struct verror err;
	/* the tarball only (tar_pull): where the tar's end is */
	uint64_t total;	       /* bytes inflated so far */
	uint64_t last_nonzero; /* offset + 1 of the last byte that isn't 0 */
};

#define TAR_CHUNK (1 << 20)

/* Checks the gzip magic over the first bytes of the object, which may
 * come one read at a time. */
static bool gz_magic_ok(struct tar_src *s, size_t n)
{
	static const unsigned char magic[2] = { 0x1f, 0x8b };
	size_t i;

	for (i = 0; i < n && s->nmagic < 2; i++, s->nmagic++)
		if ((unsigned char)s->in[i] != magic[s->nmagic])
			return false;
	return true;
}

static void *prefetch_main(void *arg)
{
	struct prefetch *pf = arg;

	pthread_mutex_lock(&pf->mu);
	while (!pf->done) {
		unsigned slot;
		ssize_t n;

		while (!pf->stop && pf->tail - pf->head == PREFETCH)
			pthread_cond_wait(&pf->cv, &pf->mu);
		if (pf->stop)
			break;
		slot = pf->tail % PREFETCH;
		pthread_mutex_unlock(&pf->mu);
		n = vault_stream_read(pf->stream, pf->buf[slot], TAR_CHUNK,
				      &pf->err);
		pthread_mutex_lock(&pf->mu);
		pf->len[slot] = n;
		pf->tail++;
		pf->done = n <= 0;
		pthread_cond_broadcast(&pf->cv);
	}
	pthread_mutex_unlock(&pf->mu);
	return NULL;
}

/* Starts reading s's stream ahead; without memory or a thread, gz_pull()
 * reads it itself. */
static void prefetch_start(struct tar_src *s)
{
	struct prefetch *pf = calloc(1, sizeof(*pf));
	unsigned i;

	if (!pf)
		return;
	for (i = 0; i < PREFETCH; i++)
		if (!(pf->buf[i] = malloc(TAR_CHUNK)))
			goto fail;
	pf->stream = s->stream;
	pthread_mutex_init(&pf->mu, NULL);
	pthread_cond_init(&pf->cv, NULL);
	if (pthread_create(&pf->thread, NULL, prefetch_main, pf)) {
		pthread_mutex_destroy(&pf->mu);
		pthread_cond_destroy(&pf->cv);
		goto fail;
	}
	s->pf = pf;
	return;
fail:
	for (i = 0; i < PREFETCH; i++)
		free(pf->buf[i]);
	free(pf);
}

static void prefetch_stop(struct tar_src *s)
{
	struct prefetch *pf = s->pf;
	unsigned i;

	if (!pf)
		return;
	pthread_mutex_lock(&pf->mu);
	pf->stop = true;
	pthread_cond_broadcast(&pf->cv);
	pthread_mutex_unlock(&pf->mu);
	pthread_join(pf->thread, NULL);
	pthread_mutex_destroy(&pf->mu);
	pthread_cond_destroy(&pf->cv);
	for (i = 0; i < PREFETCH; i++)
		free(pf->buf[i]);
	free(pf);
	s->pf = NULL;
}

/* The next chunk of compressed bytes into s->in: from the prefetch
 * thread (its buffer and s->in change places), else read here. */
static ssize_t gz_read(struct tar_src *s)
{
	struct prefetch *pf = s->pf;
	unsigned slot;
	ssize_t n;
	char *t;

	if (s->raw) {
		n = (ssize_t)MIN((size_t)TAR_CHUNK, s->raw->len - s->raw_off);
		memcpy(s->in, s->raw->buf + s->raw_off, (size_t)n);
		s->raw_off += (size_t)n;
		return n;
	}
	if (!pf)
		return vault_stream_read(s->stream, s->in, TAR_CHUNK, &s->err);
	pthread_mutex_lock(&pf->mu);
	while (pf->tail == pf->head)
		pthread_cond_wait(&pf->cv, &pf->mu);
	slot = pf->head % PREFETCH;
	n = pf->len[slot];
	if (n > 0) {
		t = pf->buf[slot];
		pf->buf[slot] = s->in;
		s->in = t;
		pf->head++;
		pthread_cond_broadcast(&pf->cv);
	} else if (n < 0) {
		s->err = pf->err;
	}
	/* the end or a failure stays in the queue for later calls */
	pthread_mutex_unlock(&pf->mu);
	return n;
}

/* Starts a gzip member: header, data, CRC-32 and size checked. */
static void gz_reset(struct inflate_state *z)
{
	isal_inflate_reset(z);
	z->crc_flag = ISAL_GZIP;
}

/* ISA-L's error as words (zlib's where there is one). */
static const char *gz_strerror(int zr)
{
	switch (zr) {
	case ISAL_INCORRECT_CHECKSUM:
		return "the gzip checksum (CRC-32) does not match the data";
	case ISAL_INVALID_WRAPPER:
		return "incorrect header check";
	case ISAL_UNSUPPORTED_METHOD:
		return "unknown compression method";
	case ISAL_INVALID_BLOCK:
		return "invalid block type";
	case ISAL_INVALID_SYMBOL:
		return "invalid code";
	case ISAL_INVALID_LOOKBACK:
		return "invalid distance too far back";
	default:
		return "bad gzip data";
	}
}

/* Inflates up to TAR_CHUNK bytes into s->out; returns the count, 0 at the
 * clean end of the data, -1 on failure (io_error or gz_error set). */
static ssize_t gz_pull(struct tar_src *s)
{
	s->z->next_out = (uint8_t *)s->out;
	s->z->avail_out = TAR_CHUNK;
	while (s->z->avail_out == TAR_CHUNK) {
		uint32_t before;
		int zr;

		if (s->z->avail_in == 0 && !s->in_eof) {
			ssize_t n = gz_read(s);

			if (n < 0) {
				s->io_error = (int)n;
				return -1;
			}
			if (n > 0)
				s->started = true;
			s->in_total += (uint64_t)n;
			if (s->in_max && s->in_total > s->in_max) {
				snprintf(s->gz_error, sizeof(s->gz_error),
					 "more than %llu MiB of compressed "
					 "data for what it holds; the rest was "
					 "not read",
					 (unsigned long long)(s->in_max >> 20));
				return -1;
			}
			if (!gz_magic_ok(s, (size_t)n)) {
				snprintf(s->gz_error, sizeof(s->gz_error),
					 "not gzip-compressed");
				return -1;
			}
			s->in_eof = n == 0;
			s->z->next_in = (uint8_t *)s->in;
			s->z->avail_in = (uint32_t)n;
		}
		if (s->z_end) {
			/* another gzip member follows, or the data ends */
			if (s->z->avail_in == 0)
				break;
			gz_reset(s->z);
			s->z_end = false;
		}
		if (s->z->avail_in == 0 && s->in_eof && !s->started)
			break; /* an empty object */
		before = s->z->avail_out;
		zr = isal_inflate(s->z);
		if (zr < 0) {
			snprintf(s->gz_error, sizeof(s->gz_error),
				 "corrupt: %s", gz_strerror(zr));
			return -1;
		}
		if (s->z->block_state == ISAL_BLOCK_FINISH) {
			s->z_end = true;
		} else if (s->z->avail_in == 0 && s->in_eof &&
			   s->z->avail_out == before) {
			/* all input given, nothing more comes out */
			snprintf(s->gz_error, sizeof(s->gz_error),
				 "truncated (the gzip stream ends early)");
			return -1;
		}
	}
	return (ssize_t)(TAR_CHUNK - s->z->avail_out);
}

/* gz_pull for the tarball: also counts the bytes and where the last one
 * that isn't zero is (to tell an end marker from its absence). */
static ssize_t tar_pull(struct tar_src *s)
{
	ssize_t n, i;

	n = gz_pull(s);
	if (n <= 0)
		return n;
	for (i = n; i > 0 && !s->out[i - 1]; i--)
		;
	if (i > 0)
		s->last_nonzero = s->total + (uint64_t)i;
	s->total += (uint64_t)n;
	return n;
}

/* Opens key (expected to be obj) for gz_pull. -errno: the vault failed,
 * or -ENOMEM. */
static int gz_open(struct tar_src *s, struct vault *v, const char *key,
		   const struct vault_object *obj, struct verror *e)
{
	int r = s->raw ? 0 : vault_stream_open(v, key, obj, &s->stream, e);

	if (r < 0)
		return r;
	s->in = malloc(TAR_CHUNK);
	s->out = malloc(TAR_CHUNK);
	s->z = malloc(sizeof(*s->z));
	if (!s->in || !s->out || !s->z)
		return -ENOMEM;
	isal_inflate_init(s->z);
	gz_reset(s->z);
	return 0;
}

static void gz_close(struct tar_src *s)
{
	prefetch_stop(s); /* before the stream goes */
	free(s->z);
	vault_stream_free(s->stream);
	free(s->in);
	free(s->out);
}

static ssize_t tar_read(void *arg, const char **buf)
{
	struct tar_src *s = arg;
	ssize_t n = tar_pull(s);

	*buf = s->out;
	return n;
}

/* One entry of the tarball: a regular file is read and handed on; other
 * kinds are skipped, and so is a member whose PAX header gives a path with
 * a NUL byte (the name is cut there: not the member's). 0, 1 when the
 * archive can't be read past it, or a fatal -errno. */
static int add_entry(struct velero_src *s, struct backup_sink *k,
		     struct tar_reader *t, const struct tar_entry *ent)
{
	const char *data;
	int r;

	if (ent->pax_nul) {
		backup_sink_item_error(k,
				       "%s: its PAX header gives a path with "
				       "a NUL byte in it; skipped",
				       ent->name);
		return 0;
	}
	if (ent->type != TAR_REG) {
		if (ent->type != TAR_DIR)
			backup_sink_error(k, "%s: not a regular file; skipped",
					  ent->name);
		return 0;
	}
	if (ent->size > MEMBER_MAX) {
		backup_sink_item_error(k, "%s: larger than %zu bytes; skipped",
				       ent->name, MEMBER_MAX);
		return 0;
	}
	r = tar_data(t, ent, &data);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return 1;
	if (!strcmp(ent->name, "metadata/version")) {
		const char *nl = memchr(data, '\n', (size_t)ent->size);
		size_t n = nl ? (size_t)(nl - data) : (size_t)ent->size;

		snprintf(s->version, sizeof(s->version), "%.*s",
			 (int)MIN(n, sizeof(s->version)), data);
		return 0;
	}
	return add_member(s, k, ent->name, data, (size_t)ent->size);
}

/* What follows the tar's end marker that is looked at: Go's archive/tar
 * writes the two zero blocks and nothing after them, other writers pad to
 * a record (10 KiB by default); more is not read (nor is the gzip
 * checksum then checked), so that gigabytes of padding cost nothing. */
#define TAR_TAIL_MAX ((uint64_t)1 << 20)

/* What went wrong with the tarball itself, from how reading it ended
 * (st: the tar reader's last status, its words in t->err; any: a member
 * was seen; end: where the tar's end is), as s->index_error; what is only
 * odd about its end, as a line of errors.txt. */
static void tar_verdict(struct velero_src *s, struct backup_sink *k,
			const struct tar_src *src, const struct tar_reader *t,
			enum tar_status st, bool any, uint64_t end)
{
	if (src->gz_error[0]) {
		if (asprintf(&s->index_error, "the tarball is %s%s",
			     src->gz_error,
			     any ? "; the items before the damage are shown" :
				   "") < 0)
			s->index_error = NULL;
	} else if (st != TAR_EOF) {
		if (asprintf(&s->index_error,
			     "the tarball is corrupt or truncated: %s",
			     t->err[0] ? t->err : "unreadable") < 0)
			s->index_error = NULL;
	} else if (!any) {
		s->index_error = strdup("the tarball is empty: it holds no "
					"members at all");
	} else if (src->total - end > TAR_TAIL_MAX) {
		backup_sink_error(k,
				  "%s: more than %llu bytes follow the tar's "
				  "end marker; the rest was not read (nor the "
				  "gzip checksum checked)",
				  s->tarname, (unsigned long long)TAR_TAIL_MAX);
	} else if (src->last_nonzero > end) {
		backup_sink_error(k,
				  "%s: %llu bytes of data follow the tar's end "
				  "marker; ignored",
				  s->tarname,
				  (unsigned long long)(src->total - end));
	} else if (src->total - end < 1024) {
		backup_sink_error(k,
				  "%s: the tar has no end marker (two zero "
				  "blocks): it may have been cut short at a "
				  "member's end",
				  s->tarname);
	}
}

/* Streams <name>.tar.gz once: every entry through add_entry(). The
 * vault failing is fatal; the tarball being damaged is not (what was read
 * before the damage is kept). */
static int read_tarball(struct velero_src *s, struct backup_sink *k,
			const struct vault_object *obj, struct verror *e)
{
	struct backup *b = s->base.b;
	struct tar_src src = { 0 };
	struct tar_reader t;
	struct tar_entry ent;
	char key[600];
	bool any = false;
	uint64_t end = 0;
	enum tar_status st = TAR_FATAL;
	int r;

	snprintf(key, sizeof(key), "backups/%s/%s.tar.gz", b->name, b->name);
	tar_init(&t, tar_read, &src);
	r = gz_open(&src, b->repo->vault, key, obj, e);
	if (r == -ENOENT) {
		s->index_error = strdup("the tarball is missing");
		r = 0;
		goto out;
	}
	if (r < 0)
		goto out;
	prefetch_start(&src);
	for (;;) {
		st = tar_next(&t, &ent);
		if (st == TAR_WARN) {
			/* a malformed PAX record: said, not ignored */
			backup_sink_error(k, "%s: %s", ent.name, t.err);
			st = TAR_OK;
		}
		if (st == TAR_EOF)
			end = ent.hpos;
		if (st != TAR_OK)
			break;
		any = true;
		r = add_entry(s, k, &t, &ent);
		if (r < 0)
			goto out;
		if (r > 0) {
			st = TAR_FATAL;
			break;
		}
	}
	/* past the tar's end marker: the rest of the gzip data, and its
	 * trailer, must still check out - up to a bound */
	while (st == TAR_EOF && !src.gz_error[0] && !src.io_error &&
	       src.total - end <= TAR_TAIL_MAX && tar_pull(&src) > 0)
		;
	if (src.io_error) {
		r = verror_set(e, src.io_error, "reading %s: %s", key,
			       src.err.msg);
		goto out;
	}
	tar_verdict(s, k, &src, &t, st, any, end);
	r = 0;
out:
	tar_release(&t);
	gz_close(&src);
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

/* What get_gz() found, when the vault could be read. */
enum gz_result {
	GZ_OK,
	GZ_CUT,	    /* more than the cap: put got the first cap bytes */
	GZ_DAMAGED, /* not valid gzip: put got what inflated before */
};

static int put_sbuf(void *ctx, const char *data, size_t len)
{
	return sbuf_add(ctx, data, len);
}

/* Streams the gzip object o of b's directory to put(ctx, ...), at most
 * cap bytes of it (the rest is not read). A gz_result, or -errno when
 * the vault failed (with detail in e) or put did: a temporary error - an
 * expired token, a timeout, a reset connection - is never taken for the
 * backup's damage. why gets what is wrong with a damaged object. */
static int get_gz(struct backup *b, const struct backup_object *o,
		  const struct sbuf *raw, backup_put_fn put, void *ctx,
		  size_t cap, char *why, size_t whysz, struct verror *e)
{
	struct tar_src src = { .raw = raw };
	size_t got = 0;
	char key[600];
	ssize_t n;
	int r;

	snprintf(key, sizeof(key), "backups/%s/%s", b->name, o->name);
	r = gz_open(&src, b->repo->vault, key, &o->obj, e);
	if (r < 0)
		goto out;
	/* gzip never makes data much larger: more compressed bytes than
	 * that (a stream of empty gzip members, say) are not read */
	src.in_max = cap + (cap >> 4) + TAR_CHUNK;
	while ((n = gz_pull(&src)) > 0) {
		size_t room = cap - got;

		r = put(ctx, src.out, MIN((size_t)n, room));
		if (r < 0)
			goto out;
		got += MIN((size_t)n, room);
		if ((size_t)n > room) {
			r = GZ_CUT;
			goto out;
		}
	}
	r = GZ_OK;
	if (src.io_error) {
		r = verror_set(e, src.io_error, "reading %s: %s", key,
			       src.err.msg);
	} else if (src.gz_error[0]) {
		snprintf(why, whysz, "not valid gzip: %s", src.gz_error);
		r = GZ_DAMAGED;
	} else if (!src.started) {
		snprintf(why, whysz, "not valid gzip: the object is empty");
		r = GZ_DAMAGED;
	}
out:
	gz_close(&src);
	return r;
}

/* The text after the cut of a log longer than LOGS_MAX. */
static const char logs_cut[] = "\n[velerofs: the log is cut here: it is "
			       "longer than %zu MiB decompressed]\n";

/* What the objects of the backup's directory are: the log, a metadata
 * object (meta index m, or META_N for another *.json.gz), or neither;
 * kind gets meta/'s name. */
enum obj_role { OBJ_OTHER, OBJ_LOGS, OBJ_META };

static enum obj_role object_role(const struct backup *b,
				 const struct backup_object *o, size_t *m,
				 char *kind, size_t kindsz)
{
	size_t nl = strlen(b->name);
	const char *sfx;

	if (strncmp(o->name, b->name, nl) || o->name[nl] != '-')
		return OBJ_OTHER;
	sfx = o->name + nl;
	if (!strcmp(sfx, "-logs.gz"))
		return OBJ_LOGS;
	for (*m = 0; *m < META_N; (*m)++)
		if (!strcmp(sfx, meta_suffixes[*m]))
			break;
	if (*m < META_N) {
		/* "-results.gz" -> results, "-x.json.gz" -> x */
		size_t kl = strlen(meta_suffixes[*m] + 1) -
			    (strstr(meta_suffixes[*m], ".json.gz") ? 8 : 3);

		snprintf(kind, kindsz, "%.*s", (int)kl, meta_suffixes[*m] + 1);
		return OBJ_META;
	}
	if (has_suffix(sfx, ".json.gz")) {
		snprintf(kind, kindsz, "%.*s", (int)(strlen(sfx) - 9), sfx + 1);
		return OBJ_META;
	}
	return OBJ_OTHER;
}

/* One object of the backup's directory: its compressed bytes when they
 * were read ahead (raw_done); for a metadata object (not the log, which
 * add_logs() streams) then decompressed (get_gz()'s result), and its JSON
 * parsed for describe.txt when it is one
 * describe.txt reads and small enough to parse whole (jansson takes some
 * 20 bytes of memory per byte of a JSON array of short strings). */
struct fetched {
	bool raw_done;
	struct sbuf raw;
	int r; /* get_gz()'s */
	char why[300];
	struct verror e;
	struct sbuf data;
	json_t *json;
};

static void fetch_object(struct backup *b, const struct backup_object *o,
			 bool parse, struct fetched *f)
{
	sbuf_init(&f->data, META_MAX);
	f->json = NULL;
	f->r = get_gz(b, o, f->raw_done ? &f->raw : NULL, put_sbuf, &f->data,
		      META_MAX, f->why, sizeof(f->why), &f->e);
	sbuf_release(&f->raw);
	if (parse && f->r == GZ_OK && f->data.len <= DESCRIBE_JSON_MAX)
		f->json = json_loadb(f->data.buf, f->data.len, 0, NULL);
}

static void fetched_release(struct fetched *f)
{
	sbuf_release(&f->raw);
	sbuf_release(&f->data);
	json_decref(f->json);
	f->json = NULL;
	f->raw_done = false;
}

/* A metadata object as meta/<kind>; its parsed JSON in *j when asked. */
static int add_meta(struct backup_sink *k, const struct backup_object *o,
		    const char *kind, json_t **j, struct fetched *f,
		    struct verror *e)
{
	char path[300];
	int r = f->r;

	snprintf(path, sizeof(path), "meta/%s", kind);
	if (r < 0) {
		if (e)
			*e = f->e;
	} else if (r == GZ_CUT) {
		backup_sink_error(k,
				  "%s: larger than %zu MiB decompressed; not "
				  "shown",
				  o->name, META_MAX >> 20);
		r = backup_sink_broken(k, path);
	} else if (r == GZ_DAMAGED) {
		backup_sink_error(k, "%s: %s", o->name, f->why);
		r = backup_sink_broken(k, path);
	} else if (r == GZ_OK) {
		r = backup_sink_document(k, path, f->data.buf, f->data.len,
					 o->name);
		if (r == 0 && j && f->data.len > DESCRIBE_JSON_MAX)
			backup_sink_error(k,
					  "%s: larger than %zu MiB; not "
					  "summarized in describe.txt",
					  o->name, DESCRIBE_JSON_MAX >> 20);
		else if (r == 0 && j)
			*j = TAKE_PTR(f->json);
	}
	return r;
}

/* <name>-logs.gz as logs, inflated straight into the sink (a log is
 * never whole in memory; the sink calls this once the objects after it
 * and read() are done, on a thread of its own): what could be read is
 * shown even when cut short; a log longer than LOGS_MAX is cut there, and
 * says so at its end and in errors.txt. */
static int stream_log(void *ctx, backup_put_fn put, void *pctx, char *why,
		      size_t whysz, struct verror *e)
{
	struct velero_log *l = ctx;
	char gzwhy[300], cut[sizeof(logs_cut) + 32];
	int r, n;

	r = get_gz(l->b, l->o, l->raw_done ? &l->raw : NULL, put, pctx,
		   LOGS_MAX, gzwhy, sizeof(gzwhy), e);
	sbuf_release(&l->raw);
	if (r == GZ_CUT) {
		n = snprintf(cut, sizeof(cut), logs_cut, LOGS_MAX >> 20);
		snprintf(why, whysz,
			 "%s: longer than %zu MiB decompressed; logs is cut "
			 "there",
			 l->o->name, LOGS_MAX >> 20);
		return put(pctx, cut, (size_t)n);
	}
	if (r == GZ_DAMAGED)
		snprintf(why, whysz, "%s: %s", l->o->name, gzwhy);
	return r < 0 ? r : 0;
}

/* Names the log to the sink, handing its compressed bytes (read ahead,
 * if they were) to stream_log(). */
static int add_logs(struct velero_src *s, struct backup_sink *k,
		    const struct backup_object *o, struct fetched *f)
{
	struct velero_log *l = &s->log;

	sbuf_release(&l->raw);
	l->b = s->base.b;
	l->o = o;
	l->raw_done = f->raw_done;
	l->raw = f->raw; /* taken: f's is left empty */
	f->raw = (struct sbuf){ .max = f->raw.max };
	return backup_sink_file_later(k, "logs", stream_log, l);
}

/* The objects of the backup's directory besides the tarball (the log and
 * meta/: up to some ten GETs) are downloaded by a thread of their own
 * while the tarball is read, so that their round trips and transfers
 * overlap the build instead of following it. Only their compressed bytes
 * are held (a log of 100 MiB is a few MiB of gzip), at most AHEAD_MAX of
 * them; they are inflated when added, and the sink hears of them after
 * the tarball in the same order and with the same bytes as when they are
 * fetched then. An object that fails or would pass the bound is fetched
 * again when it is added (and fails there as it would have). */
#define AHEAD_MAX ((size_t)16 << 20)

struct ahead {
	struct velero_src *s;
	struct fetched *f; /* per object of s->objs; read after the join */
	pthread_t thread;
	bool running;
	bool stop; /* atomic */
};

/* o's compressed bytes into raw (at most max of them); false if they did
 * not all come. */
static bool read_raw(struct backup *b, const struct backup_object *o,
		     struct sbuf *raw, size_t max)
{
	struct vault_stream *st = NULL;
	struct verror e = { { 0 } };
	char key[600];
	bool ok = false;

	snprintf(key, sizeof(key), "backups/%s/%s", b->name, o->name);
	sbuf_init(raw, max);
	if (vault_stream_open(b->repo->vault, key, &o->obj, &st, &e) < 0)
		return false;
	for (;;) {
		int r;
		char *p = sbuf_reserve(raw, 65536, &r);
		ssize_t n;

		if (!p)
			break;
		n = vault_stream_read(st, p, 65536, &e);
		if (n <= 0) {
			ok = n == 0;
			break;
		}
		sbuf_commit(raw, (size_t)n);
	}
	vault_stream_free(st);
	if (!ok)
		sbuf_release(raw);
	return ok;
}

static void *ahead_main(void *arg)
{
	struct ahead *a = arg;
	struct velero_src *s = a->s;
	size_t i, held = 0, m = META_N;
	char kind[200];

	for (i = 0; i < s->nobjs && held < AHEAD_MAX &&
		    !__atomic_load_n(&a->stop, __ATOMIC_RELAXED);
	     i++) {
		struct fetched *f = &a->f[i];

		if (object_role(s->base.b, &s->objs[i], &m, kind,
				sizeof(kind)) == OBJ_OTHER)
			continue;
		f->raw_done = read_raw(s->base.b, &s->objs[i], &f->raw,
				       AHEAD_MAX - held);
		held += f->raw.len;
	}
	return NULL;
}

static void ahead_start(struct velero_src *s, struct ahead *a)
{
	memset(a, 0, sizeof(*a));
	a->s = s;
	if (!s->nobjs || !(a->f = calloc(s->nobjs, sizeof(*a->f))))
		return;
	a->running = !pthread_create(&a->thread, NULL, ahead_main, a);
}

/* Waits for the thread (told to stop fetching ahead when stop). */
static void ahead_join(struct ahead *a, bool stop)
{
	if (!a->running)
		return;
	__atomic_store_n(&a->stop, stop, __ATOMIC_RELAXED);
	pthread_join(a->thread, NULL);
	a->running = false;
}

static void ahead_release(struct ahead *a)
{
	size_t i;

	ahead_join(a, true);
	for (i = 0; a->f && i < a->s->nobjs; i++)
		fetched_release(&a->f[i]);
	free(a->f);
	a->f = NULL;
}

/* The objects <name>-* of the backup's directory: logs and meta/. */
static int add_objects(struct velero_src *s, struct backup_sink *k,
		       struct ahead *a, struct verror *e)
{
	struct backup *b = s->base.b;
	size_t i, m = META_N;
	int r = 0;

	ahead_join(a, false);
	for (i = 0; i < s->nobjs && r == 0; i++) {
		const struct backup_object *o = &s->objs[i];
		struct fetched one = { .raw_done = false },
			       *f = a->f ? &a->f[i] : &one;
		char kind[200];
		enum obj_role role = object_role(b, o, &m, kind, sizeof(kind));

		if (role == OBJ_OTHER)
			continue;
		if (role == OBJ_LOGS) {
			r = add_logs(s, k, o, f);
		} else {
			fetch_object(b, o, m < META_N, f);
			r = add_meta(k, o, kind,
				     m < META_N ? &s->meta[m] : NULL, f, e);
		}
		fetched_release(f);
	}
	return r;
}

static int velero_read(struct backup_source *base, struct backup_sink *k,
		       struct verror *e)
{
	struct velero_src *s = (struct velero_src *)base;
	struct backup *b = base->b;
	const struct backup_object *tar = NULL;
	struct ahead a;
	size_t i;
	int r;

	/* velero-backup.json: backup.yaml */
	if (b->info.valid) {
		r = backup_sink_document(k, "backup", b->backup_json,
					 b->backup_json_len,
					 "velero-backup.json");
		if (r < 0)
			return r;
		s->backup =
			json_loadb(b->backup_json, b->backup_json_len, 0, NULL);
	} else {
		backup_sink_error(k, "velero-backup.json: %s",
				  b->info_error ? b->info_error : "unreadable");
	}

	for (i = 0; i < s->nobjs; i++)
		if (!strcmp(s->objs[i].name, s->tarname))
			tar = &s->objs[i];
	ahead_start(s, &a);
	if (tar) {
		r = read_tarball(s, k, &tar->obj, e);
		if (r < 0) {
			ahead_release(&a);
			return r;
		}
	} else {
		s->index_error = strdup("the tarball is missing");
	}
	if (s->index_error)
		backup_sink_error(k, "%s: %s", s->tarname, s->index_error);
	if (json_array_size(s->dus)) {
		/* meta/datauploads: the DataUploads, one list, for volumes/
		 * (whatever the view does to items) and for people */
		char *js = json_dumps(s->dus, JSON_COMPACT);

		if (!js)
			return -ENOMEM;
		r = backup_sink_document(k, "meta/datauploads", js, strlen(js),
					 "resources/datauploads.velero.io");
		free(js);
		if (r < 0)
			return r;
	}
	if (s->version[0] && strcmp(s->version, "1") &&
	    strcmp(s->version, "1.1.0"))
		backup_sink_error(k,
				  "%s: metadata/version is '%s', a format this "
				  "version of velerofs has not seen",
				  s->tarname, s->version);
	r = add_objects(s, k, &a, e);
	ahead_release(&a);
	return r;
}

/* Out of memory, as a verdict (never freed). */
static const char verdict_oom[] = "out of memory";

/* For describe.txt: why each PodVolumeBackup (du false) or DataUpload of
 * list is not browsable (NULL: it is), as backup_vols_verdict() says;
 * NULL when list is empty or memory ran out. */
static const char **verdicts(struct velero_src *s, const json_t *list, bool du,
			     size_t *n)
{
	size_t i, len = json_is_array(list) ? json_array_size(list) : 0;
	const char **why;
	json_t *o;

	*n = 0;
	if (!len || !(why = calloc(len, sizeof(*why))))
		return NULL;
	json_array_foreach(list, i, o)
	{
		char buf[600];
		int r = backup_vols_verdict(s->base.b->repo->vols, o, du, buf,
					    sizeof(buf));

		if (r < 0) {
			/* the vault: not a verdict to keep */
			snprintf(buf, sizeof(buf),
				 "velerofs could not tell (%s); "
				 "asked again on the next mount",
				 strerror(-r));
			s->base.incomplete = true;
		}
		if (r != 0 && !(why[i] = strdup(buf)))
			why[i] = verdict_oom;
	}
	*n = len;
	return why;
}

static void verdicts_free(const char **why, size_t n)
{
	size_t i;

	for (i = 0; why && i < n; i++)
		if (why[i] != verdict_oom)
			free((char *)why[i]);
	free(why);
}

static int velero_describe(struct backup_source *base,
			   const struct backup_summary *sum, struct sbuf *out)
{
	struct velero_src *s = (struct velero_src *)base;
	struct backup *b = base->b;
	struct describe_input din = {
		.name = b->name,
		.backup = s->backup,
		.backup_error = b->info.valid ? NULL : b->info_error,
		.results = s->meta[META_RESULTS],
		.resource_list = s->meta[META_RESOURCE_LIST],
		.volumesnapshots = s->meta[META_VOLUMESNAPSHOTS],
		.podvolumebackups = s->meta[META_PODVOLUMEBACKUPS],
		.csi_volumesnapshots = s->meta[META_CSI_VOLUMESNAPSHOTS],
		.itemoperations = s->meta[META_ITEMOPERATIONS],
		.volumeinfo = s->meta[META_VOLUMEINFO],
		.kinds = sum->kinds,
		.nkinds = sum->nkinds,
		.nitems = sum->nitems,
		.index_error = s->index_error,
		.item_errors = sum->item_errors,
	};

	size_t npvb = 0, ndu = 0;
	const char **pvb_why =
		verdicts(s, s->meta[META_PODVOLUMEBACKUPS], false, &npvb);
	const char **du_why = verdicts(s, s->dus, true, &ndu);
	int r;

	din.pvb_verdicts = pvb_why;
	din.npvb_verdicts = npvb;
	din.datauploads = s->dus;
	din.du_verdicts = du_why;
	din.ndu_verdicts = ndu;
	r = render_describe(&din, out);
	verdicts_free(pvb_why, npvb);
	verdicts_free(du_why, ndu);
	return r;
}

/* Records in b the identity of the tarball the index is built from (for
 * backup_repo_refresh() to see it change) and returns whether the backup
 * is incomplete: still being written, or its velero-backup.json changed
 * since it was read. Then the index must not be cached. */
static bool note_identities(struct velero_src *s, bool online)
{
	struct backup *b = s->base.b;
	const char *tar_id = NULL, *json_id = "";
	bool incomplete;
	size_t i;

	for (i = 0; i < s->nobjs; i++) {
		if (!strcmp(s->objs[i].name, s->tarname))
			tar_id = s->objs[i].obj.identity;
		else if (!strcmp(s->objs[i].name, "velero-backup.json"))
			json_id = s->objs[i].obj.identity;
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

/* Lists backups/<name>/ (offline: the catalog's copy) into s->objs,
 * sorted by name, and keys the index by every object's identity. */
static int list_objects(struct velero_src *s, struct verror *e)
{
	struct backup *b = s->base.b;
	struct backup_repo *repo = b->repo;
	struct objects objs = { 0 };
	char dir[300];
	bool online = false;
	size_t i;
	int r;

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
		if (objs.n > 1) /* objs.v is NULL for an empty directory */
			qsort(objs.v, objs.n, sizeof(*objs.v), cmp_object);
		catalog_set_objects(repo, b->name, objs.v, objs.n);
	}
	s->objs = objs.v;
	s->nobjs = objs.n;
	if (r < 0)
		return r;
	if (s->nobjs > 1)
		qsort(s->objs, s->nobjs, sizeof(*s->objs), cmp_object);
	s->base.incomplete = note_identities(s, online);
	s->base.key = calloc(2 * s->nobjs + 2, sizeof(*s->base.key));
	if (!s->base.key)
		return -ENOMEM;
	for (i = 0; i < s->nobjs; i++) {
		s->base.key[2 * i] = s->objs[i].name;
		s->base.key[2 * i + 1] = s->objs[i].obj.identity;
		/* describe.txt says whether the password opens the pod
		 * volumes' repositories: the index is per password */
		if (has_suffix(s->objs[i].name,
			       meta_suffixes[META_PODVOLUMEBACKUPS]))
			s->base.key[2 * s->nobjs] =
				backup_vols_password_id(repo->vols);
	}
	s->base.nkey = 2 * s->nobjs + !!s->base.key[2 * s->nobjs];
	return 0;
}

static void velero_close(struct backup_source *base)
{
	struct velero_src *s = (struct velero_src *)base;
	size_t i;

	if (!s)
		return;
	catalog_save(base->b->repo);
	for (i = 0; i < s->nobjs; i++)
		free(s->objs[i].name);
	free(s->objs);
	free(s->base.key);
	free(s->index_error);
	json_decref(s->backup);
	for (i = 0; i < META_N; i++)
		json_decref(s->meta[i]);
	json_decref(s->dus);
	json_decref(s->dus_seen);
	sbuf_release(&s->log.raw);
	free(s);
}

static int velero_open(struct backup *b, struct backup_source **out,
		       struct verror *e)
{
	struct velero_src *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->base.ops = &backup_source_velero;
	s->base.b = b;
	snprintf(s->tarname, sizeof(s->tarname), "%s.tar.gz", b->name);
	r = list_objects(s, e);
	if (r < 0) {
		velero_close(&s->base);
		return r;
	}
	*out = &s->base;
	return 0;
}

const struct backup_source_ops backup_source_velero = {
	.name = "velero",
	.open = velero_open,
	.read = velero_read,
	.describe = velero_describe,
	.close = velero_close,
};
