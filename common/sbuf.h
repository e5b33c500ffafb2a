/* sbuf: a growable byte buffer with a hard size cap (curl's dynbuf).
 *
 * Every buffer filled from outside (a backup, an object store, the API
 * server) is an sbuf with a cap, so hostile input can't make us allocate
 * without bound. The buffer is always NUL-terminated (the NUL is not
 * counted in len). Not thread-safe; one owner at a time. */
#pragma once

#include <stdarg.h>
#include <stddef.h>

#include "common/macro.h"

struct sbuf {
	char *buf;  /* owned; NULL until the first add */
	size_t len; /* bytes used, excluding the terminating NUL */
	size_t cap; /* bytes allocated */
	size_t max; /* the cap: adds beyond it fail with -E2BIG */
};

#define SBUF_DEFAULT_MAX ((size_t)64 << 20)

/* Caller storage. max 0 means SBUF_DEFAULT_MAX. */
void sbuf_init(struct sbuf *b, size_t max);
/* Frees the memory; b can be reused after sbuf_init(). */
void sbuf_release(struct sbuf *b);
/* Empties b, keeps the allocation. */
void sbuf_reset(struct sbuf *b);

/* All adds return 0, -ENOMEM or -E2BIG (cap reached; b is unchanged). */
int sbuf_add(struct sbuf *b, const void *p, size_t n);
int sbuf_adds(struct sbuf *b, const char *s);
int sbuf_addc(struct sbuf *b, char c);
int sbuf_addf(struct sbuf *b, const char *fmt, ...) _printf_(2, 3);
int sbuf_vaddf(struct sbuf *b, const char *fmt, va_list ap) _printf_(2, 0);
/* Appends n copies of c. */
int sbuf_addn(struct sbuf *b, char c, size_t n);
/* Appends n bytes of text from outside (a member name, a value of a
 * backup) so that it can neither end a line nor drive a terminal: C0
 * controls and DEL become \n, \t, \r or \xHH, the C1 controls
 * (U+0080..U+009F, which some terminals obey) \u00HH, and bytes that
 * are not UTF-8 \xHH. Other text is copied. On failure b may hold part
 * of the text. */
int sbuf_add_escaped(struct sbuf *b, const char *s, size_t n);
/* Makes room for n more bytes; returns a pointer to them (or NULL with
 * *r set). Call sbuf_commit() with how many were written. */
char *sbuf_reserve(struct sbuf *b, size_t n, int *r);
void sbuf_commit(struct sbuf *b, size_t n);

/* Appends everything fd yields until end of file. -E2BIG when that is
 * more than the cap allows, -errno when a read fails; on failure b is
 * back at its previous length. */
int sbuf_read_fd(struct sbuf *b, int fd);

/* Hands the buffer to the caller (caller frees); b is left empty.
 * Never returns NULL for an initialised buffer unless out of memory. */
char *sbuf_take(struct sbuf *b, size_t *len);

static inline const char *sbuf_str(const struct sbuf *b)
{
	return b->buf ? b->buf : "";
}
