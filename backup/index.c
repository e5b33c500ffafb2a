/* backup/index: builds a recovery point's index and maps it.
 *
 * The builder is the sink of source_i.h: a source (source_velero.c, the
 * only one that knows where items come from) hands it items and files.
 * Every item is rendered in the view's format (YAML or the original
 * JSON, clean, redact); identical bytes (like Velero's legacy and
 * <v>-preferredversion copies) are rendered once, and a copy under
 * apiversions/ that is the very item namespaces/ or cluster/ shows is a
 * symlink to it (grep -r and find see each item once); the bytes go to the
 * index's data region with a CRC-32 each. Then describe.txt and
 * errors.txt are added, the tree is laid out breadth-first (layout) and
 * the file committed to the cache. A later run finds it by the source's
 * key and maps it without reading the source (backup_index_load).
 *
 * Errors in the recovery point (a corrupt tarball, JSON that doesn't
 * parse) don't fail the index: they are listed in errors.txt and
 * describe.txt, and broken items read as EIO. Errors reading the vault
 * do fail it, and nothing is cached.
 *
 * The build is a pipeline: the source's thread (inflate, tar, the
 * dedupe of identical items) hands each item to rendering threads through
 * a bounded ring of jobs, and takes the rendered bytes back in the order
 * it gave them, so that the data region, errors.txt and everything else
 * are byte for byte those of a build on one thread (build_threads, or
 * VELEROFS_BUILD_THREADS: 1 renders in the source's thread, as on a
 * machine of one core). The source's thread renders too when the ring is
 * full. Memory: at most RING jobs and RING_BYTES of their input, whatever
 * the number of items.
 *
 * Reading an index file back (and deciding whether it may be used) is
 * index_map.c's job. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "backup/backup_i.h"
#include "backup/render_i.h"
#include "backup/source_i.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/macro.h"

#define ERRORS_MAX 1000			/* lines kept in errors.txt */
#define MAX_DEPTH 8			/* components in a tree path */
#define DESCRIBE_MAX ((size_t)16 << 20) /* describe.txt */
#define RENDER_OUT_MAX ((size_t)128 << 20)
#define RING 64			      /* jobs in the pipeline */
#define RING_BYTES ((size_t)16 << 20) /* of their input, unless one is more */
#define WORKERS_MAX 16
#define WAKE_BATCH 8		   /* queued jobs that wake a worker */
#define JOB_KEEP ((size_t)1 << 20) /* a job's buffers larger are freed */

/* One file of the tree before layout. */
struct rec {
	char *path; /* components joined by '/'; items without ext; in the
		     * sink's paths */
	uint16_t comp[MAX_DEPTH]; /* start of each component in path */
	uint8_t ncomp;
	uint8_t type; /* IDX_FILE or IDX_ITEM */
	uint8_t flags;
	uint8_t rank;	/* lower wins when two recs share a path */
	bool versioned; /* an item's copy under apiversions/ */
	uint32_t seq;	/* order of arrival: the later wins at equal rank */
	uint32_t pend;	/* 1 + the rendering whose ref this is, or 0 */
	struct idx_ref ref;
};

/* An item already seen, by content: its rendering is reused. */
struct seen {
	uint64_t hash, hash2; /* of the item's bytes (hash never 0) */
	uint32_t len;	      /* of the item's bytes */
	uint32_t pend;	      /* its rendering */
	uint8_t flags;
};

/* Where a rendering went, once it is committed: the ref, and
 * IDX_F_BROKEN when it did not render. */
struct pend {
	struct idx_ref ref;
	uint8_t flags;
};

/* One item or document to render, in the ring. */
enum { JOB_QUEUED, JOB_RUNNING, JOB_DONE };
struct job {
	int state;
	uint32_t pend;
	uint8_t flags;	   /* IDX_F_SECRET */
	bool resource;	   /* an item: filtered in the clean/redact views */
	struct sbuf in;	   /* the JSON (a copy) */
	struct sbuf label; /* for errors.txt */
	/* the result */
	struct sbuf yaml, filtered;
	const char *out; /* the bytes to store (in yaml or in), if r == 0 */
	size_t outlen;
	uint32_t crc;
	int r; /* 0, -ENOMEM (fatal) or another error: broken */
	struct verror e;
};

/* The records' paths, packed in zeroed chunks that never move: no
 * malloc() and free() per record, and the sort reads them close
 * together. At least PATHS_PAD zero bytes follow the last path of a
 * chunk, so that a path can be read a word at a time up to its NUL
 * (cmp_rec_path()). */
#define PATHS_CHUNK ((size_t)1 << 20)
#define PATHS_PAD 8
struct paths {
	char *cur;   /* where the next path goes */
	size_t left; /* bytes free at cur, not counting the pad */
	char **chunks;
	size_t nchunks, cap;
};

/* The file backup_sink_file_later() names: its bytes go to the data
 * region after everything read() gave, written by later_main() on a
 * thread of its own while the sink sorts and summarizes. */
struct later {
	bool set, running;
	char path[64];
	backup_file_fn fn;
	void *ctx;
	pthread_t thread;
	int fd;
	struct idx_ref ref; /* where its bytes go; length and CRC so far */
	int r;		    /* fn's result */
	char why[512];	    /* fn's line for errors.txt */
	struct verror e;
	size_t epos, eidx; /* where that line goes: errors' length and line
			    * count when it was named */
};

/* A buffer of the data region queued for the writer thread. */
struct wbuf {
	struct sbuf b;
	uint64_t off; /* of its first byte in the data region */
};

#define WQ_MAX 2 /* buffers queued for the writer (and spares) */
/* the data region is gathered and written in pieces of this size */
#define OUT_CHUNK ((size_t)1 << 20)

struct backup_sink {
	struct backup *b;
	enum backup_view view;
	struct filter_options filter;
	bool filtering; /* clean or redact: items pass filter_item() */
	int fd;
	uint64_t off;	 /* next data offset */
	struct sbuf out; /* data not yet written */
	uint64_t woff;	 /* data offset of out's first byte */
	int werr;	 /* first write error */
	/* the writer thread (with workers only); its fields under mu */
	bool writer, wstop;
	pthread_t wthread;
	struct wbuf wq[WQ_MAX];
	size_t nwq;
	struct sbuf spare[WQ_MAX];
	size_t nspare;
	int werr_async;
	pthread_cond_t wq_cv, wdone_cv;
	struct rec *recs;
	size_t nrecs, caprecs;
	struct paths paths;    /* the records' paths */
	struct sbuf item_path; /* backup_sink_item()'s, kept */
	uint32_t seq;	       /* the next rec's seq */
	struct seen *seen;     /* open addressing, capseen a power of two */
	size_t nseen, capseen;
	struct pend *pend; /* renderings, in the order they were asked for */
	size_t npend, cappend;
	const struct job *prev_job; /* the last item's, if its pend is still
				     * prev_pend */
	uint32_t prev_pend;
	uint8_t prev_flags;
	struct later later; /* backup_sink_file_later()'s */
	struct sbuf errors; /* errors.txt */
	size_t nerrors;
	size_t item_errors;
	uint64_t nitems;  /* items so far, for progress */
	int64_t t0, last; /* build start, last progress call (ms) */
	/* the pipeline: ring[head % RING] is the next to commit,
	 * ring[take % RING] the next to render, ring[tail % RING] the next
	 * to fill; only the source's thread fills and commits */
	struct job ring[RING];
	uint64_t head, take, tail;
	size_t inflight; /* input bytes of the jobs not committed */
	int fatal;	 /* a commit failed: every later call fails */
	pthread_mutex_t mu;
	pthread_cond_t work_cv, done_cv;
	bool stop;
	unsigned idle;	   /* workers waiting for work */
	bool waiting;	   /* the source's thread waits for a job */
	unsigned nworkers; /* 0: render in the source's thread */
	pthread_t workers[WORKERS_MAX];
};

/* ---- data region ---- */

/* Writes n bytes at the data region's offset off. */
static int write_data(int fd, const char *p, size_t n, uint64_t off)
{
	off += sizeof(struct idx_header);
	while (n > 0) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

/* The writer thread: writes the full buffers flush_out() queues, so
 * that the source's thread does not copy them into the page cache. */
static void *writer_main(void *arg)
{
	struct backup_sink *bd = arg;

	pthread_mutex_lock(&bd->mu);
	for (;;) {
		struct wbuf *w;
		int r;

		while (!bd->wstop && !bd->nwq)
			pthread_cond_wait(&bd->wq_cv, &bd->mu);
		if (!bd->nwq)
			break;
		w = &bd->wq[0];
		pthread_mutex_unlock(&bd->mu);
		r = write_data(bd->fd, w->b.buf, w->b.len, w->off);
		pthread_mutex_lock(&bd->mu);
		if (r < 0 && !bd->werr_async)
			bd->werr_async = r;
		sbuf_reset(&w->b);
		/* the written buffer goes back to the spares (there are at
		 * most WQ_MAX + 1 buffers: out and the queued ones) */
		if (bd->nspare < WQ_MAX)
			bd->spare[bd->nspare++] = w->b;
		else
			sbuf_release(&w->b);
		memmove(&bd->wq[0], &bd->wq[1], --bd->nwq * sizeof(*bd->wq));
		pthread_cond_broadcast(&bd->wdone_cv);
	}
	pthread_mutex_unlock(&bd->mu);
	return NULL;
}

/* Writes out the data not yet written: handed to the writer thread when
 * there is one (waiting while WQ_MAX buffers are queued; out gets a spare
 * buffer), else written here. */
static int flush_out(struct backup_sink *bd)
{
	if (bd->out.len == 0 || bd->werr)
		return bd->werr;
	if (!bd->writer) {
		bd->werr =
			write_data(bd->fd, bd->out.buf, bd->out.len, bd->woff);
		bd->woff += bd->out.len;
		sbuf_reset(&bd->out);
		return bd->werr;
	}
	pthread_mutex_lock(&bd->mu);
	while (bd->nwq == WQ_MAX)
		pthread_cond_wait(&bd->wdone_cv, &bd->mu);
	bd->wq[bd->nwq++] = (struct wbuf){ bd->out, bd->woff };
	bd->woff += bd->out.len;
	if (bd->nspare)
		bd->out = bd->spare[--bd->nspare];
	else
		sbuf_init(&bd->out, OUT_CHUNK);
	if (bd->werr_async)
		bd->werr = bd->werr_async;
	pthread_cond_signal(&bd->wq_cv);
	pthread_mutex_unlock(&bd->mu);
	return bd->werr;
}

/* flush_out(), and waits until everything is written. */
static int flush_all(struct backup_sink *bd)
{
	int r = flush_out(bd);

	if (bd->writer) {
		pthread_mutex_lock(&bd->mu);
		while (bd->nwq)
			pthread_cond_wait(&bd->wdone_cv, &bd->mu);
		if (bd->werr_async && !bd->werr)
			bd->werr = bd->werr_async;
		pthread_mutex_unlock(&bd->mu);
		r = bd->werr;
	}
	return r;
}

/* Copies n bytes to the end of the data not yet written, which goes out
 * a full OUT_CHUNK at a time: a large file (the log) too, a piece at a
 * time through the same buffers, which the writer thread copies into
 * the page cache while this thread goes on. */
static int append_out(struct backup_sink *bd, const char *p, size_t n)
{
	while (n > 0) {
		size_t k;
		int r;

		if (bd->out.len == OUT_CHUNK && (r = flush_out(bd)) < 0)
			return r;
		k = MIN(n, OUT_CHUNK - bd->out.len);
		r = sbuf_add(&bd->out, p, k);
		if (r < 0)
			return r;
		p += k;
		n -= k;
	}
	return 0;
}

/* Appends n bytes to the data region; ref says where. crc is theirs if
 * the caller has it already, else NO_CRC. */
#define NO_CRC ((uint64_t)1 << 32)
static int put_data_crc(struct backup_sink *bd, const void *p, size_t n,
			uint64_t crc, struct idx_ref *ref)
{
	if (n > UINT32_MAX)
		return -E2BIG;
	ref->off = bd->off;
	ref->len = (uint32_t)n;
	ref->crc = crc == NO_CRC ? backup_crc32(0, p, n) : (uint32_t)crc;
	bd->off += n;
	return append_out(bd, p, n);
}

static int put_data(struct backup_sink *bd, const void *p, size_t n,
		    struct idx_ref *ref)
{
	return put_data_crc(bd, p, n, NO_CRC, ref);
}

/* ---- records ---- */

/* A copy of the n bytes at s and a NUL, in ps. */
static char *paths_add(struct paths *ps, const char *s, size_t n)
{
	char *p;

	if (n + 1 > ps->left) {
		size_t sz = MAX(PATHS_CHUNK, n + 1 + PATHS_PAD);
		char *c;

		if (ps->nchunks == ps->cap) {
			size_t cap = ps->cap ? ps->cap * 2 : 16;
			char **nc = realloc(ps->chunks, cap * sizeof(*nc));

			if (!nc)
				return NULL;
			ps->chunks = nc;
			ps->cap = cap;
		}
		c = calloc(1, sz);
		if (!c)
			return NULL;
		ps->chunks[ps->nchunks++] = c;
		ps->cur = c;
		ps->left = sz - PATHS_PAD;
	}
	p = ps->cur;
	memcpy(p, s, n);
	p[n] = '\0';
	ps->cur += n + 1;
	ps->left -= n + 1;
	return p;
}

static void paths_free(struct paths *ps)
{
	for (size_t i = 0; i < ps->nchunks; i++)
		free(ps->chunks[i]);
	free(ps->chunks);
	memset(ps, 0, sizeof(*ps));
}

static int add_rec(struct backup_sink *bd, const char *path, uint8_t type,
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
	r->comp[0] = 0;
	r->ncomp = 1;
	for (p = path; *p; p++)
		if (*p == '/') {
			if (r->ncomp == MAX_DEPTH || p - path > 65000)
				return -EINVAL;
			r->comp[r->ncomp++] = (uint16_t)(p - path + 1);
		}
	r->path = paths_add(&bd->paths, path, (size_t)(p - path));
	if (!r->path)
		return -ENOMEM;
	r->type = type;
	r->flags = flags;
	r->rank = rank;
	r->seq = bd->seq++;
	r->ref = *ref;
	bd->nrecs++;
	return 0;
}

/* add_rec() of a rec whose ref the rendering pend will give. */
static int add_pending_rec(struct backup_sink *bd, const char *path,
			   uint8_t flags, uint8_t rank, uint32_t pend)
{
	static const struct idx_ref none = { 0 };
	int r = add_rec(bd, path, IDX_ITEM, flags, rank, &none);

	if (r == 0)
		bd->recs[bd->nrecs - 1].pend = pend + 1;
	return r;
}

static void put_verror(struct backup_sink *bd, size_t pos, size_t idx,
		       const char *fmt, va_list ap) _printf_(4, 0);
/* One line of errors.txt, at byte pos as line number idx (where it was
 * said: the end, or earlier for the file streamed later). The line names
 * members and quotes what the backup holds: escaped, so that it can't
 * forge a line or drive the reader's terminal. Past ERRORS_MAX lines it
 * is only counted (so is one that finds errors.txt full); when it goes
 * before others and one more would be too many, the last kept gives
 * way. */
static void put_verror(struct backup_sink *bd, size_t pos, size_t idx,
		       const char *fmt, va_list ap)
{
	struct sbuf *er = &bd->errors;
	size_t tail = er->len - pos;
	char *line = NULL;
	struct sbuf l;
	int n;

	bd->nerrors++;
	if (idx >= ERRORS_MAX)
		return;
	n = vasprintf(&line, fmt, ap);
	if (n < 0)
		return;
	sbuf_init(&l, 0);
	if (sbuf_add_escaped(&l, line, (size_t)n) == 0 &&
	    sbuf_addc(&l, '\n') == 0 && sbuf_add(er, l.buf, l.len) == 0) {
		memmove(er->buf + pos + l.len, er->buf + pos, tail);
		memcpy(er->buf + pos, l.buf, l.len);
		if (bd->nerrors > ERRORS_MAX) {
			/* drop the last line kept */
			char *nl = memrchr(er->buf, '\n', er->len - 1);

			er->len = nl ? (size_t)(nl - er->buf) + 1 : 0;
			er->buf[er->len] = '\0';
		}
	}
	sbuf_release(&l);
	free(line);
}

static void put_error(struct backup_sink *bd, size_t pos, size_t idx,
		      const char *fmt, ...) _printf_(4, 5);
static void put_error(struct backup_sink *bd, size_t pos, size_t idx,
		      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	put_verror(bd, pos, idx, fmt, ap);
	va_end(ap);
}

static void add_verror(struct backup_sink *bd, const char *fmt, va_list ap)
	_printf_(2, 0);
/* One line of errors.txt, at its end. */
static void add_verror(struct backup_sink *bd, const char *fmt, va_list ap)
{
	put_verror(bd, bd->errors.len, bd->nerrors, fmt, ap);
}

/* ---- rendering ---- */

static void sink_error(struct backup_sink *bd, const char *fmt, ...)
	_printf_(2, 3);
/* A line of errors.txt now (backup_sink_error() first commits what is
 * in the ring). */
static void sink_error(struct backup_sink *bd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_verror(bd, fmt, ap);
	va_end(ap);
}

/* Renders a job: YAML or, in the JSON view, the original bytes; broken
 * (r < 0, the reason in e) when the JSON doesn't parse (the JSON view
 * checks it the same way). Any thread; reads only bd's options. */
static void run_job(const struct backup_sink *bd, struct job *j)
{
	const char *json = j->in.buf ? j->in.buf : "";
	size_t len = j->in.len;
	int r;

	j->e.msg[0] = '\0';
	sbuf_reset(&j->yaml);
	r = render_yaml(json, len, &j->yaml, &j->e);
	if (r == 0 && j->resource && bd->filtering) {
		/* the clean/redacted view: filter, then render that */
		sbuf_reset(&j->filtered);
		r = filter_item(json, len, j->flags & IDX_F_SECRET, &bd->filter,
				&j->filtered);
		if (r == 0) {
			json = sbuf_str(&j->filtered);
			len = j->filtered.len;
			sbuf_reset(&j->yaml);
			r = render_yaml(json, len, &j->yaml, &j->e);
		}
	}
	if (r == -E2BIG && !j->e.msg[0])
		verror_set(&j->e, r,
			   "larger than %zu MiB once rendered; not shown "
			   "(the original JSON is %zu bytes)",
			   j->yaml.max >> 20, j->in.len);
	j->r = r;
	if (r < 0)
		return;
	if (bd->view == BACKUP_VIEW_JSON) {
		j->out = json;
		j->outlen = len;
	} else {
		j->out = sbuf_str(&j->yaml);
		j->outlen = j->yaml.len;
	}
	j->crc = backup_crc32(0, j->out, j->outlen);
}

/* Stores a rendered job's bytes (in the order jobs were given) and says
 * in errors.txt why one is broken. */
static int commit_job(struct backup_sink *bd, struct job *j)
{
	struct pend *p = &bd->pend[j->pend];
	int r = j->r;

	bd->inflight -= j->in.len;
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		sink_error(bd, "%s: %s", sbuf_str(&j->label),
			   j->e.msg[0] ? j->e.msg : strerror(-r));
		bd->item_errors++;
		/* a size, so that readers ask and get EIO, not an empty file */
		p->ref = (struct idx_ref){ .len = (uint32_t)MIN(
						   j->in.len ? j->in.len : 1,
						   UINT32_MAX) };
		p->flags = IDX_F_BROKEN;
		r = 0;
	} else {
		r = put_data_crc(bd, j->out, j->outlen, j->crc, &p->ref);
	}
	/* a big item's buffers go; the usual ones are kept for the next */
	if (j->in.cap > JOB_KEEP)
		sbuf_release(&j->in);
	if (j->yaml.cap > JOB_KEEP)
		sbuf_release(&j->yaml);
	if (j->filtered.cap > JOB_KEEP)
		sbuf_release(&j->filtered);
	return r;
}

/* Jobs a worker takes at once (each still marked done on its own). */
#define CLAIM 4

/* Wakes a thread waiting on cv whose condition just came true. The
 * mutex is taken and let go first: a waiter has then either not yet
 * checked the condition (it will see it) or is registered in
 * pthread_cond_wait(), so the signal is not lost. Signalling after the
 * unlock, not under the lock: the woken thread, when it preempts this
 * one on its core, finds the mutex free instead of sleeping on it again
 * (two context switches per wake-up otherwise). */
static void wake(struct backup_sink *bd, pthread_cond_t *cv)
{
	pthread_mutex_lock(&bd->mu);
	pthread_mutex_unlock(&bd->mu);
	pthread_cond_signal(cv);
}

static void job_done(struct backup_sink *bd, struct job *j)
{
	/* seq_cst with wait_one()'s store of waiting: either it sees the
	 * job done or this sees it waiting */
	__atomic_store_n(&j->state, JOB_DONE, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&bd->waiting, __ATOMIC_SEQ_CST))
		wake(bd, &bd->done_cv);
}

/* Takes up to max queued jobs: the first's number in *first, how many
 * (0: none queued). Workers and the source's thread (wait_one()) take
 * from the same queue. */
static uint64_t claim(struct backup_sink *bd, uint64_t max, uint64_t *first)
{
	uint64_t t = __atomic_load_n(&bd->take, __ATOMIC_SEQ_CST), k;

	do {
		uint64_t tail = __atomic_load_n(&bd->tail, __ATOMIC_SEQ_CST);

		if (t == tail)
			return 0;
		k = MIN(tail - t, max);
	} while (!__atomic_compare_exchange_n(&bd->take, &t, t + k, false,
					      __ATOMIC_SEQ_CST,
					      __ATOMIC_SEQ_CST));
	for (uint64_t i = 0; i < k; i++)
		__atomic_store_n(&bd->ring[(t + i) % RING].state, JOB_RUNNING,
				 __ATOMIC_RELAXED);
	*first = t;
	return k;
}

static bool queue_empty(struct backup_sink *bd)
{
	return __atomic_load_n(&bd->take, __ATOMIC_SEQ_CST) ==
	       __atomic_load_n(&bd->tail, __ATOMIC_SEQ_CST);
}

static void *worker_main(void *arg)
{
	struct backup_sink *bd = arg;

	for (;;) {
		uint64_t first, k = claim(bd, CLAIM, &first);

		if (k) {
			for (uint64_t i = 0; i < k; i++) {
				struct job *j = &bd->ring[(first + i) % RING];

				run_job(bd, j);
				job_done(bd, j);
			}
			continue;
		}
		if (__atomic_load_n(&bd->stop, __ATOMIC_ACQUIRE))
			break;
		pthread_mutex_lock(&bd->mu);
		/* seq_cst with submit(): either it sees this worker idle or
		 * this sees its job */
		__atomic_add_fetch(&bd->idle, 1, __ATOMIC_SEQ_CST);
		while (!__atomic_load_n(&bd->stop, __ATOMIC_ACQUIRE) &&
		       queue_empty(bd))
			pthread_cond_wait(&bd->work_cv, &bd->mu);
		__atomic_sub_fetch(&bd->idle, 1, __ATOMIC_SEQ_CST);
		pthread_mutex_unlock(&bd->mu);
	}
	return NULL;
}

/* Commits the jobs that are done, in order. */
static int commit_ready(struct backup_sink *bd)
{
	while (bd->head < bd->tail) {
		struct job *j = &bd->ring[bd->head % RING];

		if (__atomic_load_n(&j->state, __ATOMIC_ACQUIRE) != JOB_DONE)
			break;
		if (!bd->fatal)
			bd->fatal = commit_job(bd, j);
		bd->head++;
	}
	return bd->fatal;
}

/* Waits for the oldest job (rendering one itself if none has started),
 * then commits what is done. */
static int wait_one(struct backup_sink *bd)
{
	uint64_t first;

	if (claim(bd, 1, &first)) {
		struct job *j = &bd->ring[first % RING];

		run_job(bd, j);
		__atomic_store_n(&j->state, JOB_DONE, __ATOMIC_RELEASE);
	} else {
		struct job *h = &bd->ring[bd->head % RING];

		pthread_mutex_lock(&bd->mu);
		__atomic_store_n(&bd->waiting, true, __ATOMIC_SEQ_CST);
		while (__atomic_load_n(&h->state, __ATOMIC_SEQ_CST) != JOB_DONE)
			pthread_cond_wait(&bd->done_cv, &bd->mu);
		__atomic_store_n(&bd->waiting, false, __ATOMIC_SEQ_CST);
		pthread_mutex_unlock(&bd->mu);
	}
	return commit_ready(bd);
}

/* Commits every job given so far: errors.txt and the data region are
 * then in step with the calls made. */
static int drain(struct backup_sink *bd)
{
	int r = commit_ready(bd);

	if (bd->nworkers && bd->head < bd->tail) {
		pthread_mutex_lock(&bd->mu);
		pthread_cond_broadcast(&bd->work_cv);
		pthread_mutex_unlock(&bd->mu);
	}

	while (bd->head < bd->tail)
		r = wait_one(bd);
	return r ? r : bd->fatal;
}

/* Renders json (copied) as the rendering pend: at once with no workers,
 * else in a worker, committed later in order. */
static int submit(struct backup_sink *bd, uint32_t pend, uint8_t flags,
		  bool resource, const char *json, size_t len,
		  const char *label)
{
	struct job *j;
	int r = commit_ready(bd);

	while (r == 0 &&
	       (bd->tail - bd->head == RING ||
		(bd->head < bd->tail && bd->inflight + len > RING_BYTES)))
		r = wait_one(bd);
	if (r < 0)
		return r;
	j = &bd->ring[bd->tail % RING];
	j->pend = pend;
	j->flags = flags;
	j->resource = resource;
	j->r = 0;
	sbuf_reset(&j->in);
	sbuf_reset(&j->label);
	r = sbuf_add(&j->in, json, len);
	if (r == 0)
		r = sbuf_adds(&j->label, label);
	if (r < 0)
		return r;
	bd->inflight += len;
	if (!bd->nworkers) {
		bd->tail++;
		run_job(bd, j);
		j->state = JOB_DONE;
		return commit_ready(bd);
	}
	__atomic_store_n(&j->state, JOB_QUEUED, __ATOMIC_RELAXED);
	/* the job's fields before it is seen queued */
	__atomic_store_n(&bd->tail, bd->tail + 1, __ATOMIC_SEQ_CST);
	/* a sleeping worker is woken for a batch of jobs, not for each
	 * (or for a job that is large): a wake-up costs about what
	 * rendering a small item does */
	if (__atomic_load_n(&bd->idle, __ATOMIC_SEQ_CST) &&
	    (bd->tail - __atomic_load_n(&bd->take, __ATOMIC_RELAXED) >=
		     WAKE_BATCH ||
	     bd->inflight >= RING_BYTES / 4))
		wake(bd, &bd->work_cv);
	return 0;
}

/* A new rendering's number. */
static int new_pend(struct backup_sink *bd, uint32_t *out)
{
	if (bd->npend == bd->cappend) {
		size_t cap = bd->cappend ? bd->cappend * 2 : 1024;
		struct pend *n = realloc(bd->pend, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		bd->pend = n;
		bd->cappend = cap;
	}
	if (bd->npend >= UINT32_MAX - 1)
		return -E2BIG;
	memset(&bd->pend[bd->npend], 0, sizeof(*bd->pend));
	*out = (uint32_t)bd->npend++;
	return 0;
}

/* Adds a record at path for JSON to render; pend_out gets the rendering
 * (for the dedupe). */
static int add_json_item(struct backup_sink *bd, const char *path,
			 uint8_t flags, uint8_t rank, const char *json,
			 size_t len, const char *label, bool resource,
			 uint32_t *pend_out)
{
	uint32_t pend;
	int r = new_pend(bd, &pend);

	if (r == 0)
		r = add_pending_rec(bd, path, flags, rank, pend);
	if (r == 0)
		r = submit(bd, pend, flags, resource, json, len, label);
	if (r == 0 && pend_out)
		*pend_out = pend;
	return r;
}

/* Gives every rec its rendering's ref once all are committed. */
static void resolve_pending(struct backup_sink *bd)
{
	size_t i;

	for (i = 0; i < bd->nrecs; i++) {
		struct rec *r = &bd->recs[i];

		if (!r->pend)
			continue;
		r->ref = bd->pend[r->pend - 1].ref;
		r->flags |= bd->pend[r->pend - 1].flags;
		r->pend = 0;
	}
}

static int add_file_flags(struct backup_sink *bd, const char *path,
			  const char *data, size_t len, uint8_t flags)
{
	struct idx_ref ref = { 0 };
	int r = put_data(bd, data, len, &ref);

	if (r < 0)
		return r;
	return add_rec(bd, path, IDX_FILE, flags, 0, &ref);
}

static int add_file(struct backup_sink *bd, const char *path, const char *data,
		    size_t len)
{
	return add_file_flags(bd, path, data, len, 0);
}

/* ---- the file streamed later ---- */

/* later's put: its bytes written where they go, here, on its thread. */
static int later_put(void *pctx, const char *data, size_t len)
{
	struct later *L = pctx;
	int r;

	if (len > UINT32_MAX - L->ref.len)
		return -E2BIG;
	r = write_data(L->fd, data, len, L->ref.off + L->ref.len);
	if (r < 0)
		return r;
	L->ref.crc = backup_crc32(L->ref.crc, data, len);
	L->ref.len += (uint32_t)len;
	return 0;
}

static void *later_main(void *arg)
{
	struct later *L = arg;

	L->r = L->fn(L->ctx, later_put, L, L->why, sizeof(L->why), &L->e);
	return NULL;
}

/* Starts the file named later, after everything read() gave: on a
 * thread of its own when the build has workers, else at once. */
static int later_start(struct backup_sink *bd)
{
	struct later *L = &bd->later;
	int r;

	if (!L->set)
		return 0;
	r = flush_all(bd); /* what is before it is written */
	if (r < 0)
		return r;
	L->fd = bd->fd;
	L->ref = (struct idx_ref){ .off = bd->off };
	L->why[0] = '\0';
	if (bd->nworkers && !pthread_create(&L->thread, NULL, later_main, L))
		L->running = true;
	else
		later_main(L);
	return 0;
}

/* Waits for the file named later and adds it (its line, if any, where
 * it was said in errors.txt); its bytes end the data region so far. */
static int later_join(struct backup_sink *bd, struct verror *e)
{
	struct later *L = &bd->later;

	if (!L->set)
		return 0;
	if (L->running)
		pthread_join(L->thread, NULL);
	L->running = false;
	L->set = false;
	if (L->r < 0) {
		if (e && L->e.msg[0])
			*e = L->e;
		return L->r;
	}
	bd->off = bd->woff = L->ref.off + L->ref.len;
	if (L->why[0])
		put_error(bd, L->epos, L->eidx, "%s", L->why);
	return add_rec(bd, L->path, IDX_FILE, 0, 0, &L->ref);
}

/* ---- the tarball ---- */

static inline uint64_t rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

/* One step of a lane: xxHash64's round (a multiply off the lane's
 * chain, an add, a rotation and a multiply on it). */
static inline uint64_t hash_lane(uint64_t acc, uint64_t k)
{
	acc += k * 0xc2b2ae3d27d4eb4full;
	return rotl64(acc, 31) * 0x9e3779b185ebca87ull;
}

static inline uint64_t fmix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 33);
}

/* A fast 128-bit hash in one pass: four lanes of 8 bytes each step, each
 * lane its own dependency chain (one lane over every word waited some 8
 * cycles on each multiply); the 256 bits of the lanes, folded twice, give
 * the two halves. With the length it tells identical members apart (it
 * replaced a 64-bit hash plus a CRC-32, a second pass over every
 * member). */
static void hash128(const void *p, size_t n, uint64_t *h1, uint64_t *h2)
{
	const unsigned char *s = p;
	/* four variables, not an array: an array was kept in memory, a
	 * store and a load on each lane's chain */
	uint64_t a = 0x9e3779b97f4a7c15ull ^ n, b = 0x6a09e667f3bcc909ull,
		 c = 0xbb67ae8584caa73bull + n,
		 d = 0x3c6ef372fe94f82bull ^ (n << 32), k[4];

	for (; n >= 32; s += 32, n -= 32) {
		memcpy(k, s, 32);
		a = hash_lane(a, k[0]);
		b = hash_lane(b, k[1]);
		c = hash_lane(c, k[2]);
		d = hash_lane(d, k[3]);
	}
	/* the last 0-31 bytes, zero-padded (the length is in the seeds) */
	memset(k, 0, sizeof(k));
	memcpy(k, s, n);
	a = hash_lane(a, k[0]);
	b = hash_lane(b, k[1]);
	c = hash_lane(c, k[2]);
	d = hash_lane(d, k[3]);
	*h1 = fmix64(a + rotl64(b, 7) + rotl64(c, 12) + rotl64(d, 18));
	*h2 = fmix64((a ^ rotl64(d, 23)) * 0x94d049bb133111ebull +
		     (b ^ rotl64(c, 41)) * 0xbf58476d1ce4e5b9ull);
}

static struct seen *seen_slot(struct backup_sink *bd, uint64_t h, uint64_t h2,
			      uint32_t len)
{
	size_t i;

	if (bd->capseen == 0)
		return NULL;
	for (i = h & (bd->capseen - 1); bd->seen[i].len || bd->seen[i].hash;
	     i = (i + 1) & (bd->capseen - 1))
		if (bd->seen[i].hash == h && bd->seen[i].len == len &&
		    bd->seen[i].hash2 == h2)
			return &bd->seen[i];
	return NULL;
}

static int seen_add(struct backup_sink *bd, uint64_t h, uint64_t h2,
		    uint32_t len, uint8_t flags, uint32_t pend)
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
	bd->seen[i].hash2 = h2;
	bd->seen[i].len = len;
	bd->seen[i].flags = flags;
	bd->seen[i].pend = pend;
	bd->nseen++;
	return 0;
}

static int append_name(struct sbuf *path, const char *name, size_t extlen)
{
	if (path->len && sbuf_addc(path, '/') < 0)
		return -ENOMEM;
	return backup_component_name(name, strlen(name), extlen, path);
}

/* An item's path in the default tree: namespaces/<ns>/<gr>/<name> or
 * cluster/<gr>/<name>; with version, its path under
 * apiversions/<gr>/<version>/{namespaces/<ns>,cluster}/<name>. */
static int item_path(const struct backup_item *it, const char *version,
		     struct sbuf *path)
{
	int r = 0;

	sbuf_reset(path);
	if (version) {
		r = append_name(path, "apiversions", 0);
		if (!r)
			r = append_name(path, it->gr, 0);
		if (!r)
			r = append_name(path, version, 0);
	}
	if (!r)
		r = append_name(path, it->ns ? "namespaces" : "cluster", 0);
	if (!r && it->ns)
		r = append_name(path, it->ns, 0);
	if (!r && !version)
		r = append_name(path, it->gr, 0);
	if (!r)
		r = append_name(path, it->name, 5);
	return r;
}

/* Adds the record at path for an item's bytes, rendering them only when
 * no identical bytes were rendered before. */
static int add_item_once(struct backup_sink *bd, const char *path,
			 uint8_t flags, uint8_t rank,
			 const struct backup_item *it)
{
	uint64_t h, h2;
	struct seen *s;
	uint32_t pend;
	int r;

	/* Velero writes an item's copies one after the other: the bytes of
	 * the last item rendered are still in its job, and compared */
	if (bd->prev_job) {
		const struct job *p = bd->prev_job;

		if (p->pend == bd->prev_pend && p->in.buf &&
		    p->in.len == it->len &&
		    !memcmp(p->in.buf, it->json, it->len)) {
			const struct rec *last = &bd->recs[bd->nrecs - 1];
			uint8_t f = (uint8_t)(bd->prev_flags | flags);

			/* the legacy copy, added last at this very path
			 * with these bytes, shadows this one (the lower
			 * rank wins): nothing to add (the sort would drop
			 * it) */
			if (last->type == IDX_ITEM && last->rank < rank &&
			    last->pend == bd->prev_pend + 1 &&
			    last->flags == f && !strcmp(last->path, path))
				return 0;
			return add_pending_rec(bd, path, f, rank,
					       bd->prev_pend);
		}
	}
	hash128(it->json, it->len, &h, &h2);
	h |= 1; /* never 0: 0/0 marks a free slot */
	s = seen_slot(bd, h, h2, (uint32_t)it->len);
	if (s)
		return add_pending_rec(bd, path, (uint8_t)(s->flags | flags),
				       rank, s->pend);
	r = add_json_item(bd, path, flags, rank, it->json, it->len, it->label,
			  true, &pend);
	if (r == 0)
		r = seen_add(bd, h, h2, (uint32_t)it->len, flags, pend);
	if (r == 0) {
		bd->prev_job = &bd->ring[(bd->tail - 1) % RING];
		bd->prev_pend = pend;
		bd->prev_flags = flags;
	}
	return r;
}

/* Tells the repo's progress hook how far the build is: about once a
 * second (the clock is read every 256 items), and when done. */
static void sink_progress(struct backup_sink *bd, bool done)
{
	const struct backup_options *o = &bd->b->repo->opt;
	int64_t now;

	if (!o->progress || (!done && (bd->nitems & 255)))
		return;
	now = clock_now_ms();
	if (!done && now - bd->last < 1000)
		return;
	bd->last = now;
	o->progress(o->progress_userdata, bd->b->name, bd->nitems,
		    (uint64_t)(now - bd->t0), done);
}

int backup_sink_item(struct backup_sink *bd, const struct backup_item *it)
{
	uint8_t flags = !strcmp(it->gr, "secrets") ? IDX_F_SECRET : 0;
	/* which copy namespaces/ shows: the one without a version, else
	 * the preferred version, else any */
	uint8_t rank = !it->version ? 0 : it->preferred ? 1 : 2;
	struct sbuf *path = &bd->item_path;
	uint8_t last_flags;
	uint32_t last_pend;
	int r;

	if (bd->fatal)
		return bd->fatal;
	bd->nitems++;
	sink_progress(bd, false);
	r = item_path(it, NULL, path);
	if (!r)
		r = add_item_once(bd, path->buf, flags, rank, it);
	if (r < 0 || !it->version)
		return r;
	/* copies: add_rec() may move recs */
	last_flags = bd->recs[bd->nrecs - 1].flags;
	last_pend = bd->recs[bd->nrecs - 1].pend;
	r = item_path(it, it->version, path);
	if (!r)
		r = add_pending_rec(bd, path->buf, last_flags, 0,
				    last_pend - 1);
	if (!r)
		bd->recs[bd->nrecs - 1].versioned = true;
	return r;
}

void backup_sink_item_error(struct backup_sink *bd, const char *fmt, ...)
{
	va_list ap;

	(void)drain(bd); /* the lines of errors.txt in the order of calls */
	va_start(ap, fmt);
	add_verror(bd, fmt, ap);
	va_end(ap);
	bd->item_errors++;
}

void backup_sink_error(struct backup_sink *bd, const char *fmt, ...)
{
	va_list ap;

	(void)drain(bd); /* the lines of errors.txt in the order of calls */
	va_start(ap, fmt);
	add_verror(bd, fmt, ap);
	va_end(ap);
}

int backup_sink_file(struct backup_sink *bd, const char *path, const char *data,
		     size_t len)
{
	int r = drain(bd); /* the data region in the order of calls */

	return r < 0 ? r : add_file(bd, path, data, len);
}

int backup_sink_file_later(struct backup_sink *bd, const char *path,
			   backup_file_fn fn, void *ctx)
{
	struct later *L = &bd->later;
	/* errors.txt in the order of calls */
	int r = drain(bd);

	if (r < 0)
		return r;
	if (L->set || strlen(path) >= sizeof(L->path))
		return -EINVAL;
	L->set = true;
	snprintf(L->path, sizeof(L->path), "%s", path);
	L->fn = fn;
	L->ctx = ctx;
	L->epos = bd->errors.len;
	L->eidx = bd->nerrors;
	return 0;
}

int backup_sink_file_private(struct backup_sink *bd, const char *path,
			     const char *data, size_t len)
{
	return add_file_flags(bd, path, data, len, IDX_F_SECRET);
}

int backup_sink_document(struct backup_sink *bd, const char *path,
			 const char *json, size_t len, const char *label)
{
	if (bd->fatal)
		return bd->fatal;
	return add_json_item(bd, path, 0, 0, json, len, label, false, NULL);
}

int backup_sink_broken(struct backup_sink *bd, const char *path)
{
	/* a size, so that readers ask and get EIO */
	struct idx_ref ref = { .len = 1 };

	return add_rec(bd, path, IDX_ITEM, IDX_F_BROKEN, 0, &ref);
}

/* ---- layout ---- */

/* Component-wise order: '/' sorts before every other byte. */
static int cmp_path(const char *a, const char *b)
{
	unsigned ca, cb;

	while (*a == *b && *a)
		a++, b++;
	ca = (unsigned char)*a;
	cb = (unsigned char)*b;
	if (ca == '/')
		ca = 1;
	if (cb == '/')
		cb = 1;
	return (int)ca - (int)cb;
}

/* cmp_path() of two records' paths, a word at a time while they are
 * the same (they share long prefixes: "namespaces/<ns>/<gr>/"); reads up
 * to 7 bytes past a NUL, which the paths' pad allows. */
static int cmp_rec_path(const char *a, const char *b)
{
	const uint64_t ones = 0x0101010101010101ull;
	uint64_t wa, wb;

	for (;;) {
		memcpy(&wa, a, 8);
		memcpy(&wb, b, 8);
		/* stop at a difference or at a word with a NUL in it */
		if (wa != wb || ((wa - ones) & ~wa & (ones << 7)))
			break;
		a += 8;
		b += 8;
	}
	return cmp_path(a, b);
}

static int cmp_rec(const void *x, const void *y)
{
	const struct rec *a = x, *b = y;
	int c = cmp_rec_path(a->path, b->path);

	if (c)
		return c;
	if (a->type != b->type)
		return (int)a->type - (int)b->type;
	if (a->rank != b->rank)
		return (int)a->rank - (int)b->rank;
	/* an item the source gave twice (a member the tarball holds twice):
	 * the last one wins, as when the tarball is extracted (the order is
	 * total: seq is unique) */
	return (a->seq < b->seq) - (a->seq > b->seq);
}

/* Merges the sorted a[0, na) and b[0, nb) into dst. */
static void merge_recs(struct rec *dst, const struct rec *a, size_t na,
		       const struct rec *b, size_t nb)
{
	while (na && nb) {
		if (cmp_rec(a, b) <= 0) {
			*dst++ = *a++;
			na--;
		} else {
			*dst++ = *b++;
			nb--;
		}
	}
	memcpy(dst, a, na * sizeof(*a));
	memcpy(dst + na, b, nb * sizeof(*b));
}

/* A natural merge sort of v[0, n) with tmp[0, n) beside it: the runs
 * already in order are found, then merged two by two. Records come in
 * long runs (Velero writes one group-resource after the other, each in
 * namespace and name order, and the tree's order is that within one
 * group-resource), so n records in k runs cost about n log2(k)
 * comparisons, not the n log2(n) of a qsort(); input in no order costs
 * what a merge sort does. out is v or tmp, whichever holds the result. */
struct run_sort {
	struct rec *v, *tmp, *out;
	size_t n;
};

static void *run_sort_main(void *arg)
{
	struct run_sort *s = arg;
	struct rec *src = s->v, *dst = s->tmp, *t;
	size_t *start = NULL, nr = 0, cap = 0, i, k;

	s->out = s->v;
	for (i = 0; i < s->n; i++) {
		if (i > 0 && cmp_rec(&src[i - 1], &src[i]) < 0)
			continue;
		if (nr + 2 > cap) {
			size_t nc = cap ? cap * 2 : 64;
			size_t *ns = realloc(start, nc * sizeof(*ns));

			if (!ns) {
				free(start);
				qsort(s->v, s->n, sizeof(*s->v), cmp_rec);
				return NULL;
			}
			start = ns;
			cap = nc;
		}
		start[nr++] = i;
	}
	if (nr <= 1) {
		free(start);
		return NULL;
	}
	start[nr] = s->n;
	while (nr > 1) {
		/* runs 2i and 2i+1 into run i of dst (start[k] is written
		 * after start[2k..2k+2] were read) */
		for (i = 0, k = 0; i < nr; i += 2, k++) {
			size_t a = start[i], b = start[MIN(i + 1, nr)],
			       c = start[MIN(i + 2, nr)];

			merge_recs(dst + a, src + a, b - a, src + b, c - b);
			start[k] = a;
		}
		start[k] = s->n;
		nr = k;
		t = src;
		src = dst;
		dst = t;
	}
	free(start);
	s->out = src;
	return NULL;
}

/* Sorts the records: what is in order already is not sorted again. A
 * short tail after a sorted prefix (describe.txt and errors.txt, added
 * to sorted records) is inserted. Else the copies under apiversions/ go
 * after the others, both in the order they came (so that each is a few
 * long runs: an item and its copy come one after the other), the two
 * are sorted by run_sort_main() (on two threads when the build has
 * workers and they are many) and merged. Falls back to one qsort()
 * without memory for the merge. */
static void order_recs(struct backup_sink *bd)
{
	struct rec *v = bd->recs, *tmp;
	size_t n = bd->nrecs, k = 1, i, nv = 0;
	struct run_sort a, c;
	bool threaded = false;
	pthread_t t;

	if (n < 2) /* recs is NULL when there are none */
		return;
	while (k < n && cmp_rec(&v[k - 1], &v[k]) < 0)
		k++;
	if (k == n)
		return;
	if (n - k <= 16) {
		for (i = k; i < n; i++) {
			struct rec x = v[i];
			size_t lo = 0, hi = i;

			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;

				if (cmp_rec(&v[mid], &x) <= 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			memmove(&v[lo + 1], &v[lo], (i - lo) * sizeof(*v));
			v[lo] = x;
		}
		return;
	}
	tmp = malloc(n * sizeof(*v));
	if (!tmp) {
		qsort(v, n, sizeof(*v), cmp_rec);
		return;
	}
	for (i = 0; i < n; i++)
		if (!v[i].versioned)
			tmp[nv++] = v[i];
	for (i = 0, k = nv; i < n; i++)
		if (v[i].versioned)
			tmp[k++] = v[i];
	a = (struct run_sort){ .v = tmp, .tmp = v, .n = nv };
	c = (struct run_sort){ .v = tmp + nv, .tmp = v + nv, .n = n - nv };
	if (bd->nworkers && nv > 10000 && n - nv > 10000)
		threaded = !pthread_create(&t, NULL, run_sort_main, &c);
	if (!threaded)
		run_sort_main(&c);
	run_sort_main(&a);
	if (threaded)
		pthread_join(t, NULL);
	/* both halves into tmp, merged from there into recs */
	if (a.out != tmp)
		memcpy(tmp, a.out, nv * sizeof(*v));
	if (c.out != tmp + nv)
		memcpy(tmp + nv, c.out, (n - nv) * sizeof(*v));
	merge_recs(v, tmp, nv, tmp + nv, n - nv);
	free(tmp);
}

/* Sorts the records and drops the ones another record with the same path
 * and a lower rank shadows (the legacy copy wins over the versioned
 * ones), or a later one of the same rank (a duplicate member; said in
 * errors.txt when its content differs). */
static void sort_recs(struct backup_sink *bd)
{
	size_t i, k = 0;

	order_recs(bd);
	for (i = 1; i < bd->nrecs; i++) {
		const struct rec *a = &bd->recs[i - 1], *c = &bd->recs[i];

		if (a->type == c->type && a->rank == c->rank &&
		    !strcmp(a->path, c->path) &&
		    (a->ref.len != c->ref.len || a->ref.crc != c->ref.crc ||
		     a->flags != c->flags))
			backup_sink_error(bd,
					  "%s: the backup holds this item more "
					  "than once, with different content; "
					  "the last one is shown",
					  c->path);
	}
	for (i = 0; i < bd->nrecs; i++) {
		if (k > 0 && bd->recs[k - 1].type == bd->recs[i].type &&
		    !strcmp(bd->recs[k - 1].path, bd->recs[i].path))
			continue;
		bd->recs[k++] = bd->recs[i];
	}
	bd->nrecs = k;
}

static size_t comp_len(const struct rec *r, unsigned d)
{
	return d + 1 < r->ncomp ? (size_t)(r->comp[d + 1] - r->comp[d] - 1) :
				  strlen(r->path + r->comp[d]);
}

/* A directory waiting in the breadth-first queue: its node, its depth and
 * its records recs[lo, hi). */
struct qent {
	uint32_t node;
	uint8_t depth;
	size_t lo, hi;
};

struct layout {
	const struct backup_sink *bd;
	struct idx_node *nodes;
	size_t nn, capn;
	struct qent *q;
	size_t qh, qt, capq;
	struct sbuf *names;
};

/* Makes room for one more element of size sz in *arr. */
static int grow(void *arr, size_t len, size_t *cap, size_t sz)
{
	void **p = arr, *n;
	size_t c;

	if (len < *cap)
		return 0;
	c = *cap ? *cap * 2 : 1024;
	n = realloc(*p, c * sz);
	if (!n)
		return -ENOMEM;
	*p = n;
	*cap = c;
	return 0;
}

/* A new zeroed node named name[0, len). */
static struct idx_node *lay_node(struct layout *L, const char *name, size_t len)
{
	struct idx_node *n;

	if (grow(&L->nodes, L->nn, &L->capn, sizeof(*L->nodes)) < 0)
		return NULL;
	n = &L->nodes[L->nn];
	memset(n, 0, sizeof(*n));
	n->name_off = (uint32_t)L->names->len;
	n->name_len = (uint16_t)len;
	if (len && sbuf_add(L->names, name, len) < 0)
		return NULL;
	L->nn++;
	return n;
}

static int lay_queue(struct layout *L, size_t node, unsigned depth, size_t lo,
		     size_t hi)
{
	if (grow(&L->q, L->qt, &L->capq, sizeof(*L->q)) < 0)
		return -ENOMEM;
	L->q[L->qt++] = (struct qent){ (uint32_t)node, (uint8_t)depth, lo, hi };
	return 0;
}

/* The end of the run of records from i on, below hi, that lie under the
 * directory named name[0, len) at depth. */
static size_t dir_end(const struct backup_sink *bd, size_t i, size_t hi,
		      unsigned depth, const char *name, size_t len)
{
	while (i < hi && bd->recs[i].ncomp > depth + 1 &&
	       comp_len(&bd->recs[i], depth) == len &&
	       !memcmp(bd->recs[i].path + bd->recs[i].comp[depth], name, len))
		i++;
	return i;
}

/* Lays out the children of the directory cur (contiguous, in record
 * order, which is name order): files at once, directories queued. */
static int lay_children(struct layout *L, const struct qent *cur)
{
	const struct backup_sink *bd = L->bd;
	uint32_t subdirs = 0;
	size_t i = cur->lo, first = L->nn;

	while (i < cur->hi) {
		const struct rec *rc = &bd->recs[i];
		const char *name = rc->path + rc->comp[cur->depth];
		size_t len = comp_len(rc, cur->depth), j;
		struct idx_node *n = lay_node(L, name, len);

		if (!n)
			return -ENOMEM;
		if (rc->ncomp == cur->depth + 1) {
			n->type = rc->type;
			n->flags = rc->flags;
			n->off = rc->ref.off;
			n->len = rc->ref.len;
			n->crc = rc->ref.crc;
			i++;
			continue;
		}
		n->type = IDX_DIR;
		j = dir_end(bd, i, cur->hi, cur->depth, name, len);
		if (lay_queue(L, L->nn - 1, cur->depth + 1u, i, j) < 0)
			return -ENOMEM;
		subdirs++;
		i = j;
	}
	L->nodes[cur->node].first_child = (uint32_t)first;
	L->nodes[cur->node].nchildren = (uint32_t)(L->nn - first);
	L->nodes[cur->node].len = 2 + subdirs; /* nlink */
	return 0;
}

/* Lays the sorted records out as the breadth-first node table: node 0 is
 * the root, the children of every directory are contiguous. */
static int layout(struct backup_sink *bd, struct idx_node **out_nodes,
		  uint32_t *out_count, struct sbuf *names)
{
	struct layout L = { .bd = bd, .names = names };
	struct idx_node *root = lay_node(&L, "", 0);
	int r = root ? lay_queue(&L, 0, 0, 0, bd->nrecs) : -ENOMEM;

	if (root)
		root->type = IDX_DIR;
	while (r == 0 && L.qh < L.qt) {
		struct qent cur = L.q[L.qh++];

		r = lay_children(&L, &cur);
	}
	free(L.q);
	if (r < 0) {
		free(L.nodes);
		return r;
	}
	*out_nodes = L.nodes;
	*out_count = (uint32_t)L.nn;
	return 0;
}

/* ---- the index file ---- */

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

static void counts_of(struct backup_sink *bd, struct describe_kind_count **out,
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

/* CPU time of the calling thread so far (ms), for the build's log line. */
static int64_t thread_cpu_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
		return -1;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Threads for a build: the options', else VELEROFS_BUILD_THREADS, else
 * one per core this process may run on (taskset). */
static unsigned build_threads(const struct backup_options *o)
{
	const char *env = getenv("VELEROFS_BUILD_THREADS");
	cpu_set_t set;
	long n;

	if (o->build_threads)
		return o->build_threads;
	if (env && *env) {
		n = strtol(env, NULL, 10);
		if (n >= 1)
			return (unsigned)MIN(n, WORKERS_MAX + 1);
	}
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	else
		n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : (unsigned)MIN(n, WORKERS_MAX + 1);
}

static void sink_init(struct backup_sink *bd, struct backup *b, int fd)
{
	const struct backup_options *o = &b->repo->opt;
	unsigned threads;
	size_t i;

	memset(bd, 0, sizeof(*bd));
	bd->b = b;
	bd->fd = fd;
	bd->t0 = bd->last = clock_now_ms();
	bd->view = o->view;
	bd->filter = (struct filter_options){ .clean = o->clean,
					      .keep_status = o->keep_status,
					      .redact = o->redact };
	bd->filtering = o->clean || o->redact;
	sbuf_init(&bd->out, OUT_CHUNK);
	sbuf_init(&bd->item_path, 8192);
	sbuf_init(&bd->errors, 1 << 20);
	for (i = 0; i < RING; i++) {
		struct job *j = &bd->ring[i];

		sbuf_init(&j->in, 0);
		sbuf_init(&j->label, 0);
		/* what one item or document may render to: deep nesting
		 * makes YAML far larger than its JSON (up to 512 bytes of
		 * indentation per line); beyond this the item is listed as
		 * broken */
		sbuf_init(&j->yaml, RENDER_OUT_MAX);
		sbuf_init(&j->filtered, 0);
	}
	pthread_mutex_init(&bd->mu, NULL);
	pthread_cond_init(&bd->work_cv, NULL);
	pthread_cond_init(&bd->done_cv, NULL);
	pthread_cond_init(&bd->wq_cv, NULL);
	pthread_cond_init(&bd->wdone_cv, NULL);
	threads = build_threads(o);
	/* the source's thread renders too, when the ring is full */
	for (i = 0; threads > 1 && i < threads - 1 && i < WORKERS_MAX; i++) {
		if (pthread_create(&bd->workers[i], NULL, worker_main, bd))
			break;
		bd->nworkers++;
	}
	if (bd->nworkers &&
	    pthread_create(&bd->wthread, NULL, writer_main, bd) == 0)
		bd->writer = true;
}

static void sink_release(struct backup_sink *bd)
{
	size_t i;

	pthread_mutex_lock(&bd->mu);
	__atomic_store_n(&bd->stop, true, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&bd->work_cv);
	pthread_mutex_unlock(&bd->mu);
	for (i = 0; i < bd->nworkers; i++)
		pthread_join(bd->workers[i], NULL);
	if (bd->later.running)
		pthread_join(bd->later.thread, NULL);
	if (bd->writer) {
		/* it writes what is queued first */
		pthread_mutex_lock(&bd->mu);
		bd->wstop = true;
		pthread_cond_signal(&bd->wq_cv);
		pthread_mutex_unlock(&bd->mu);
		pthread_join(bd->wthread, NULL);
	}
	for (i = 0; i < bd->nspare; i++)
		sbuf_release(&bd->spare[i]);
	pthread_cond_destroy(&bd->wq_cv);
	pthread_cond_destroy(&bd->wdone_cv);
	pthread_mutex_destroy(&bd->mu);
	pthread_cond_destroy(&bd->work_cv);
	pthread_cond_destroy(&bd->done_cv);
	for (i = 0; i < RING; i++) {
		sbuf_release(&bd->ring[i].in);
		sbuf_release(&bd->ring[i].label);
		sbuf_release(&bd->ring[i].yaml);
		sbuf_release(&bd->ring[i].filtered);
	}
	paths_free(&bd->paths);
	sbuf_release(&bd->item_path);
	free(bd->recs);
	free(bd->seen);
	free(bd->pend);
	sbuf_release(&bd->out);
	sbuf_release(&bd->errors);
}

/* The record at path among the sorted items, or NULL. */
static int cmp_item_key(const char *path, const struct rec *m)
{
	int c = cmp_path(path, m->path);

	return c ? c : (int)IDX_ITEM - (int)m->type;
}

/* The item rec at path in the sorted recs. The search starts at *hint
 * (galloping: 1, 2, 4, ... recs ahead, then a binary search of the last
 * step) when path is not before it, else at the first rec; *hint is set
 * past the rec found. Asked for paths in increasing order, as
 * link_versions() does for the copies of one group-resource and version,
 * it costs a few comparisons each, not a binary search of all. */
static const struct rec *find_item(const struct backup_sink *bd,
				   const char *path, size_t *hint)
{
	size_t n = bd->nrecs, lo = *hint, bound, step = 1;

	if (lo > n || (lo > 0 && cmp_item_key(path, &bd->recs[lo - 1]) < 0))
		lo = 0;
	/* every rec before lo is before path */
	for (bound = lo; bound < n && cmp_item_key(path, &bd->recs[bound]) > 0;
	     step *= 2) {
		lo = bound + 1;
		bound = lo + step - 1;
	}
	n = MIN(bound + 1, n);
	while (lo < n) {
		size_t mid = lo + (n - lo) / 2;
		int c = cmp_item_key(path, &bd->recs[mid]);

		if (c == 0) {
			*hint = mid + 1;
			return &bd->recs[mid];
		}
		if (c < 0)
			n = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Turns each copy under apiversions/ whose bytes are those of the item
 * shown in namespaces/ or cluster/ (the preferred version, as a rule)
 * into a symlink to that item: apiversions/<gr>/<v>/namespaces/<ns>/<n>
 * -> ../../../../../namespaces/<ns>/<gr>/<n>.yaml. Other versions stay
 * files. Only one of two identical files is one that grep -r and find
 * visit; cat follows the link. Called on sorted records (the default
 * path's winner is decided); they need sorting again after. */
static int link_versions(struct backup_sink *bd, struct sbuf *links)
{
	struct sbuf target, path;
	const char *ext = bd->view == BACKUP_VIEW_JSON ? ".json" : ".yaml";
	size_t i, hint = 0;
	int r = 0;

	sbuf_init(&target, 8192);
	sbuf_init(&path, 8192);
	for (i = 0; r == 0 && i < bd->nrecs; i++) {
		struct rec *v = &bd->recs[i];
		const struct rec *d;
		bool ns = v->ncomp == 6;
		unsigned k;

		if (!v->versioned || v->type != IDX_ITEM ||
		    (v->flags & IDX_F_BROKEN) || (v->ncomp != 5 && !ns))
			continue;
		/* namespaces/<ns>/<gr>/<name> or cluster/<gr>/<name> */
		sbuf_reset(&path);
		r = sbuf_adds(&path, ns ? "namespaces/" : "cluster/");
		if (!r && ns)
			r = sbuf_add(&path, v->path + v->comp[4],
				     comp_len(v, 4));
		if (!r && ns)
			r = sbuf_addc(&path, '/');
		if (!r)
			r = sbuf_add(&path, v->path + v->comp[1],
				     comp_len(v, 1));
		if (!r)
			r = sbuf_addc(&path, '/');
		if (!r)
			r = sbuf_adds(&path, v->path + v->comp[v->ncomp - 1]);
		if (r < 0)
			break;
		d = find_item(bd, sbuf_str(&path), &hint);
		if (!d || (d->flags & IDX_F_BROKEN) ||
		    d->ref.off != v->ref.off || d->ref.len != v->ref.len ||
		    d->ref.crc != v->ref.crc)
			continue;
		sbuf_reset(&target);
		for (k = 1; r == 0 && k < v->ncomp; k++)
			r = sbuf_adds(&target, "../");
		if (!r)
			r = sbuf_add(&target, path.buf, path.len);
		if (!r)
			r = sbuf_adds(&target, ext);
		if (!r && target.len > UINT32_MAX)
			r = -E2BIG;
		if (r < 0)
			break;
		/* placed later (place_links()): the offset is links's */
		v->ref = (struct idx_ref){ .off = links->len,
					   .len = (uint32_t)target.len,
					   .crc = backup_crc32(0, target.buf,
							       target.len) };
		r = sbuf_add(links, target.buf, target.len);
		if (r < 0)
			break;
		v->type = IDX_LINK;
		v->flags = 0;
	}
	sbuf_release(&target);
	sbuf_release(&path);
	return r < 0 ? r : 0;
}

/* Appends the links' targets link_versions() gathered to the data
 * region: their refs' offsets were links's. */
static int place_links(struct backup_sink *bd, const struct sbuf *links)
{
	uint64_t base = bd->off;
	size_t i;

	for (i = 0; i < bd->nrecs; i++)
		if (bd->recs[i].type == IDX_LINK)
			bd->recs[i].ref.off += base;
	bd->off += links->len;
	return append_out(bd, links->buf, links->len);
}

/* describe.txt (by the source, from what the index holds) and
 * errors.txt; the records come out sorted. */
static int add_summary_files(struct backup_sink *bd, struct backup_source *src,
			     struct verror *e)
{
	struct backup_summary sum = { .item_errors = bd->item_errors };
	struct describe_kind_count *kinds = NULL;
	struct sbuf desc, links;
	size_t i;
	int r;

	/* while the file named later streams: what does not write data */
	sort_recs(bd);
	sbuf_init(&links, (size_t)1 << 40);
	r = link_versions(bd, &links);
	if (r < 0) {
		sbuf_release(&links);
		return r;
	}
	counts_of(bd, &kinds, &sum.nkinds, &sum.nitems);
	sum.kinds = kinds;
	sbuf_init(&desc, DESCRIBE_MAX);
	r = src->ops->describe(src, &sum, &desc);
	if (r == -E2BIG) {
		/* odd input made it huge: say so rather than fail the index
		 * (and build it again on every access) */
		backup_sink_error(bd,
				  "describe.txt: longer than %zu MiB; not "
				  "shown",
				  desc.max >> 20);
		sbuf_reset(&desc);
		r = sbuf_addf(&desc,
			      "describe.txt is longer than %zu MiB; see "
			      "backup.yaml, meta/ and errors.txt\n",
			      desc.max >> 20);
	}
	/* then the data: that file, the links, describe.txt, errors.txt */
	if (r == 0)
		r = later_join(bd, e);
	if (r == 0)
		r = place_links(bd, &links);
	if (r == 0)
		r = add_file(bd, "describe.txt", sbuf_str(&desc), desc.len);
	if (r == 0 && bd->errors.len) {
		if (bd->nerrors > ERRORS_MAX)
			(void)sbuf_addf(&bd->errors, "... and %zu more\n",
					bd->nerrors - ERRORS_MAX);
		r = add_file(bd, "errors.txt", bd->errors.buf, bd->errors.len);
	}
	sbuf_release(&desc);
	sbuf_release(&links);
	for (i = 0; i < sum.nkinds; i++)
		free((char *)kinds[i].group_resource);
	free(kinds);
	if (r == 0)
		sort_recs(bd);
	return r;
}

/* Lays the records out and writes the nodes, the names and, last, the
 * header that makes the file valid. */
static int write_index(struct backup_sink *bd, const uint8_t *owner)
{
	struct idx_node *nodes = NULL;
	struct idx_header h = { 0 };
	struct sbuf names;
	int r;

	sbuf_init(&names, (size_t)1 << 31);
	r = layout(bd, &nodes, &h.node_count, &names);
	if (r == 0)
		r = flush_all(bd);
	if (r < 0)
		goto out;
	memcpy(h.magic, IDX_MAGIC, 8);
	memcpy(h.owner, owner, IDX_OWNER_LEN);
	h.data_off = sizeof(h);
	h.data_len = bd->off;
	h.nodes_off = (h.data_off + h.data_len + 7) & ~(uint64_t)7;
	h.names_off = h.nodes_off + (uint64_t)h.node_count * sizeof(*nodes);
	h.names_len = names.len;
	h.file_size = h.names_off + h.names_len;
	h.meta_crc = backup_crc32(0, nodes, h.node_count * sizeof(*nodes));
	h.meta_crc = backup_crc32(h.meta_crc, sbuf_str(&names), names.len);
	h.header_crc = backup_index_header_crc(&h);
	r = write_all(bd->fd, nodes, h.node_count * sizeof(*nodes),
		      h.nodes_off);
	if (r == 0)
		r = write_all(bd->fd, sbuf_str(&names), names.len, h.names_off);
	if (r == 0)
		r = write_all(bd->fd, &h, sizeof(h), 0);
out:
	free(nodes);
	sbuf_release(&names);
	return r;
}

/* Builds the index of src's recovery point into w's file: every item
 * and file the source yields, describe.txt and errors.txt, the layout. */
static int build(struct backup_source *src, struct cache_writer *w,
		 const uint8_t *owner, struct verror *e)
{
	struct backup *b = src->b;
	struct backup_sink *bd = malloc(sizeof(*bd)); /* ~50 KiB */
	int64_t t[4];
	int r;

	if (!bd)
		return -ENOMEM;
	sink_init(bd, b, cache_writer_fd(w));
	t[0] = clock_now_ms();
	r = src->ops->read(src, bd, e);
	if (r == 0)
		r = drain(bd);
	t[1] = clock_now_ms();
	if (r == 0) {
		resolve_pending(bd);
		sink_progress(bd, true);
	}
	if (r == 0)
		r = bd->werr;
	if (r == 0)
		r = later_start(bd);
	if (r == 0)
		r = add_summary_files(bd, src, e);
	t[2] = clock_now_ms();
	if (r == 0) {
		r = write_index(bd, owner);
		if (r < 0)
			verror_set(e, r, "writing the index of %s: %s", b->name,
				   strerror(-r));
	}
	t[3] = clock_now_ms();
	log_debug("%s: index built on %u threads in %lld ms: items %lld ms, "
		  "sort and summary %lld ms, layout and write %lld ms; this "
		  "thread's CPU %lld ms",
		  b->name, bd->nworkers + 1, (long long)(t[3] - t[0]),
		  (long long)(t[1] - t[0]), (long long)(t[2] - t[1]),
		  (long long)(t[3] - t[2]), (long long)thread_cpu_ms());
	if (bd->werr && r == 0)
		r = bd->werr;
	sink_release(bd);
	free(bd);
	return r;
}

/* The view as a word list: "yaml", "json,clean,redact". */
static void view_words(const struct backup_options *o, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s%s",
		 o->view == BACKUP_VIEW_JSON ? "json" : "yaml",
		 o->clean ? ",clean" : "",
		 o->clean && o->keep_status ? ",status" : "",
		 o->redact ? ",redact" : "");
}

/* The cache entry of src's index: the format, the view, the vault, the
 * recovery point and the identity of everything it is made of; owner
 * gets the first bytes of the SHA-256 of the same parts (the header says
 * whose index a file is). Caller frees. */
static char *index_cache_path(struct backup_source *src,
			      uint8_t owner[IDX_OWNER_LEN])
{
	struct backup_repo *repo = src->b->repo;
	const char **parts = calloc(4 + src->nkey, sizeof(*parts));
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx;
	char view[64], *path = NULL;
	size_t np = 0, i;

	if (!parts)
		return NULL;
	parts[np++] = IDX_VERSION;
	view_words(&repo->opt, view, sizeof(view));
	parts[np++] = view;
	parts[np++] = vault_id(repo->vault);
	parts[np++] = src->b->name;
	memcpy(parts + np, src->key, src->nkey * sizeof(*parts));
	np += src->nkey;
	ctx = EVP_MD_CTX_new();
	if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1) {
		int ok = 1;

		for (i = 0; i < np; i++) /* with the NUL, as the cache does */
			ok &= EVP_DigestUpdate(ctx, parts[i],
					       strlen(parts[i]) + 1);
		if (ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 &&
		    mdlen >= IDX_OWNER_LEN) {
			memcpy(owner, md, IDX_OWNER_LEN);
			path = cache_entry_path(repo->cache, "idx", parts, np);
		}
	}
	EVP_MD_CTX_free(ctx);
	free(parts);
	return path;
}

/* Maps the index at path if the cache has a valid one: 0, -ENOENT when
 * there is none; a corrupt one is removed. */
static int map_cached(struct backup *b, const char *path, const uint8_t *owner,
		      struct backup_index **out)
{
	int r = backup_index_map(b->repo->cache, path, owner, out);

	if (r == -EBADMSG) {
		log_debug("%s: the cached index is corrupt; rebuilding it",
			  b->name);
		cache_remove(b->repo->cache, path);
		r = -ENOENT;
	}
	return r;
}

/* The cache entry's label (cache_writer_label): vault, backup, view. */
static void index_label(struct backup_source *src, struct cache_writer *w)
{
	struct backup_repo *repo = src->b->repo;
	char view[64], *label;

	view_words(&repo->opt, view, sizeof(view));
	if (asprintf(&label, "%s\n%s\n%s", vault_id(repo->vault), src->b->name,
		     view) < 0)
		return;
	cache_writer_label(w, label);
	free(label);
}

/* Builds the index at path from src, commits it and maps it. */
static int build_and_map(struct backup_source *src, const char *path,
			 const uint8_t *owner, struct backup_index **out,
			 struct verror *e)
{
	struct backup *b = src->b;
	struct cache *c = b->repo->cache;
	struct cache_writer *w = NULL;
	int r;

	r = cache_writer_open(c, path, &w, e);
	if (r < 0)
		return r;
	index_label(src, w);
	r = build(src, w, owner, e);
	if (r < 0 && backup_offline_error(r))
		verror_prefix(e, r,
			      "%s: the vault can't be reached and this backup "
			      "is not in the cache",
			      b->name);
	if (r < 0) {
		if (!e || !e->msg[0])
			verror_set(e, r, "indexing %s: %s", b->name,
				   strerror(-r));
		cache_writer_free(w);
		return r;
	}
	r = cache_writer_commit(w, e);
	if (r < 0)
		return r;
	r = backup_index_map(c, path, owner, out);
	if (r == -EBADMSG)
		r = verror_set(e, -EIO,
			       "%s: the index just written reads "
			       "back corrupt",
			       b->name);
	if (r == 0) /* its bytes were checked as they were written */
		memset((*out)->verified, 1, (*out)->hdr->node_count);
	/* the build's buffers were large: give the memory back now, not
	 * when glibc next decides to trim */
	malloc_trim(0);
	return r;
}

int backup_index_load(struct backup *b, bool rebuild, struct backup_index **out,
		      struct verror *e)
{
	struct backup_source *src = NULL;
	uint8_t owner[IDX_OWNER_LEN];
	int64_t t0 = clock_now_ms();
	char *path = NULL;
	int r;

	r = b->source->open(b, &src, e);
	if (r < 0)
		return r;
	path = index_cache_path(src, owner);
	if (!path) {
		r = -ENOMEM;
		goto out;
	}
	if (rebuild)
		cache_remove(b->repo->cache, path);
	r = map_cached(b, path, owner, out);
	if (r == 0) {
		b->build_ms = 0;
		goto out;
	}
	r = build_and_map(src, path, owner, out, e);
	if (r == 0 && src->incomplete) {
		/* mapped, but not kept for later: the backup is still being
		 * written (repo.c checks it again on refresh) */
		log_debug("%s: incomplete; its index is not cached", b->name);
		cache_remove(b->repo->cache, path);
	}
	b->build_ms = (uint64_t)(clock_now_ms() - t0);
	if (b->build_ms == 0)
		b->build_ms = 1;
out:
	src->ops->close(src);
	free(path);
	return r;
}
