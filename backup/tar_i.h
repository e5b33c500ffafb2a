/* backup/tar_i.h: a streaming reader of the tar Velero writes (Go's
 * archive/tar: ustar headers, PAX 'x' extended headers, GNU 'L'/'K' long
 * names), fed chunk by chunk, that hands out a member's data where it lies
 * in the chunk (copied only when it straddles two). Private to backup/. */
#ifndef BACKUP_TAR_I_H
#define BACKUP_TAR_I_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/sbuf.h"

/* The next chunk of the tar's bytes into *buf: its length, 0 at the end
 * of the data, -1 when it failed (the caller knows why). */
typedef ssize_t (*tar_pull_fn)(void *arg, const char **buf);

enum tar_status {
	TAR_OK,	   /* an entry */
	TAR_WARN,  /* an entry, with something odd said in err */
	TAR_EOF,   /* the end: a zero block, or the data ends at a block */
	TAR_FATAL, /* the tar can't be read on: err says why (empty when
		    * pull failed) */
};

enum tar_type {
	TAR_REG,   /* a regular file (and what tar readers take for one) */
	TAR_DIR,   /* a directory */
	TAR_OTHER, /* a link, a device, a FIFO, sparse... */
};

struct tar_entry {
	const char *name; /* NUL-terminated; cut at a NUL of a PAX path */
	enum tar_type type;
	uint64_t size; /* bytes of data that follow the header */
	uint64_t hpos; /* offset of its first header (extension headers
			* included) */
	bool pax_nul;  /* its PAX path or linkpath holds a NUL byte */
};

struct tar_reader {
	tar_pull_fn pull;
	void *arg;
	const char *buf; /* the current chunk */
	size_t len, pos;
	uint64_t off;	  /* tar offset of buf[pos] */
	uint64_t left;	  /* data (and padding) of the entry not consumed */
	bool end;	  /* pull returned 0 */
	bool seen;	  /* a header was read */
	struct sbuf name; /* the entry's name */
	struct sbuf ext;  /* a PAX or GNU long-name body */
	struct sbuf copy; /* a member's data straddling chunks */
	char hdr[512];	  /* a header straddling chunks */
	char err[200];	  /* why TAR_WARN or TAR_FATAL */
};

void tar_init(struct tar_reader *t, tar_pull_fn pull, void *arg);
void tar_release(struct tar_reader *t);
/* The next entry (the data of the one before is skipped). */
enum tar_status tar_next(struct tar_reader *t, struct tar_entry *e);
/* The current entry's e->size bytes of data in *data (valid until the next
 * call): 0, -ENOMEM, or -EIO when the tar ends before them (err says so,
 * or is empty when pull failed). */
int tar_data(struct tar_reader *t, const struct tar_entry *e,
	     const char **data);

#endif
