/* backup/tar: the tar reader of backup/source_velero.c (see tar_i.h).
 *
 * What Velero writes is Go's archive/tar: 512-byte ustar headers (a
 * prefix field for names up to 255 bytes), a PAX 'x' header before an
 * entry whose name or size does not fit, and two zero blocks at the end;
 * GNU 'L'/'K' long names are read too. Every header's checksum is checked
 * (unsigned or signed sums, as tar readers accept), sizes are octal or
 * base-256, PAX record lengths are checked against the header's body, and
 * every length against the data that came. Odd things are said in the
 * words libarchive (the reader this one replaces) used for them, so that
 * errors.txt reads the same. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "backup/tar_i.h"
#include "common/macro.h"

#define EXT_MAX ((size_t)1 << 20) /* a PAX or long-name body */

void tar_init(struct tar_reader *t, tar_pull_fn pull, void *arg)
{
	memset(t, 0, sizeof(*t));
	t->pull = pull;
	t->arg = arg;
	sbuf_init(&t->name, EXT_MAX + 1024);
	sbuf_init(&t->ext, EXT_MAX + 1024);
	sbuf_init(&t->copy, (size_t)1 << 30);
}

void tar_release(struct tar_reader *t)
{
	sbuf_release(&t->name);
	sbuf_release(&t->ext);
	sbuf_release(&t->copy);
}

/* Makes bytes available in the current chunk: 1, 0 at the end of the
 * data, -1 when pull failed. */
static int fill(struct tar_reader *t)
{
	ssize_t n;

	while (t->pos == t->len) {
		if (t->end)
			return 0;
		n = t->pull(t->arg, &t->buf);
		if (n < 0) {
			t->err[0] = '\0';
			t->end = true;
			return -1;
		}
		if (n == 0) {
			t->end = true;
			return 0;
		}
		t->len = (size_t)n;
		t->pos = 0;
	}
	return 1;
}

/* Skips n bytes: 1, 0 when the data ends first, -1 when pull failed. */
static int skip(struct tar_reader *t, uint64_t n)
{
	while (n > 0) {
		size_t k;
		int r = fill(t);

		if (r <= 0)
			return r;
		k = (size_t)MIN(n, (uint64_t)(t->len - t->pos));
		t->pos += k;
		t->off += k;
		n -= k;
	}
	return 1;
}

/* skip() of the rest of an entry, said as libarchive says it when the
 * data ends first: TAR_OK or TAR_FATAL. */
static enum tar_status skip_said(struct tar_reader *t, uint64_t n)
{
	uint64_t from = t->off;
	int r = skip(t, n);

	if (r < 0)
		return TAR_FATAL;
	if (r == 0) {
		snprintf(t->err, sizeof(t->err),
			 "Truncated input file (needed %llu bytes, only %llu "
			 "available)",
			 (unsigned long long)n,
			 (unsigned long long)(t->off - from));
		return TAR_FATAL;
	}
	return TAR_OK;
}

/* Points *p at the next n bytes: in the chunk when they lie there, else
 * gathered into dst (at least n bytes). Returns the bytes had (< n when
 * the data ends first), or -1 when pull failed. */
static ssize_t take(struct tar_reader *t, size_t n, char *dst, const char **p)
{
	size_t got = 0;
	int r = fill(t);

	if (r < 0)
		return -1;
	if (r > 0 && t->len - t->pos >= n) {
		*p = t->buf + t->pos;
		t->pos += n;
		t->off += n;
		return (ssize_t)n;
	}
	*p = dst;
	while (got < n) {
		size_t k;

		r = fill(t);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		k = MIN(n - got, t->len - t->pos);
		memcpy(dst + got, t->buf + t->pos, k);
		t->pos += k;
		t->off += k;
		got += k;
	}
	return (ssize_t)got;
}

/* An octal number field (leading spaces, then digits to the first other
 * byte), or base-256 (first byte's high bit set; negative when the next
 * bit is too). Sets *neg for a negative number. */
static uint64_t field_num(const char *f, size_t n, bool *neg)
{
	const unsigned char *u = (const unsigned char *)f;
	uint64_t v = 0;
	size_t i = 0;

	*neg = false;
	if (u[0] & 0x80) {
		if (u[0] & 0x40) {
			*neg = true;
			return 0;
		}
		v = u[0] & 0x3f;
		for (i = 1; i < n; i++) {
			if (v >> 56)
				return UINT64_MAX;
			v = (v << 8) | u[i];
		}
		return v;
	}
	while (i < n && (f[i] == ' ' || f[i] == '\t'))
		i++;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return UINT64_MAX;
		v = v * 8 + (uint64_t)(f[i] - '0');
	}
	return v;
}

static bool block_is_zero(const char *h)
{
	static const char zero[512];

	return !memcmp(h, zero, 512);
}

/* The sum of the 512 bytes of a header, eight at a time: the bytes of a
 * word in 16-bit lanes (even bytes and odd bytes), which 64 words cannot
 * overflow (64 * 2 * 255 < 65536). A byte loop took a byte a cycle, and
 * the compiler does not vectorize it at -O2. */
static uint64_t block_sum(const unsigned char *u)
{
	const uint64_t lo = 0x00ff00ff00ff00ffull;
	uint64_t acc = 0, w;
	int i;

	for (i = 0; i < 512; i += 8) {
		memcpy(&w, u + i, 8);
		acc += (w & lo) + ((w >> 8) & lo);
	}
	/* the four 16-bit lanes added up */
	acc = (acc & 0x0000ffff0000ffffull) +
	      ((acc >> 16) & 0x0000ffff0000ffffull);
	return (acc & 0xffffffffull) + (acc >> 32);
}

/* The header checksum: the sum of its bytes with the checksum field as
 * spaces, unsigned (POSIX) or signed (old Sun and GNU writers). */
static bool checksum_ok(const char *h)
{
	const unsigned char *u = (const unsigned char *)h;
	uint64_t want, sum_u = 8 * ' ';
	int64_t sum_s = 8 * ' ';
	bool neg;
	int i;

	want = field_num(h + 148, 8, &neg);
	if (neg)
		return false;
	sum_u += block_sum(u);
	for (i = 148; i < 156; i++)
		sum_u -= u[i];
	if (want == sum_u)
		return true;
	for (i = 0; i < 148; i++)
		sum_s += (signed char)u[i];
	for (i = 156; i < 512; i++)
		sum_s += (signed char)u[i];
	return (int64_t)want == sum_s;
}

/* A string field: up to its first NUL or its end. */
static size_t field_len(const char *f, size_t n)
{
	const char *z = memchr(f, '\0', n);

	return z ? (size_t)(z - f) : n;
}

/* Parses the PAX records of t->ext into *path (set when a path record
 * is) and *size; returns TAR_OK or TAR_WARN (err says why: the records
 * after a bad one are not read, as libarchive does). */
static enum tar_status pax_parse(struct tar_reader *t, bool *has_path,
				 bool *has_size, uint64_t *size, bool *nul,
				 unsigned *good)
{
	const char *rec = t->ext.buf;
	size_t n = t->ext.len;

	while (n > 0) {
		size_t len = 0, i = 0, klen;
		const char *key, *eq, *val;
		size_t vlen;

		while (i < n && rec[i] != ' ') {
			if (rec[i] < '0' || rec[i] > '9') {
				snprintf(t->err, sizeof(t->err),
					 "Ignoring malformed pax extended "
					 "attributes");
				return TAR_WARN;
			}
			len = len * 10 + (size_t)(rec[i] - '0');
			if (len > 999999) {
				snprintf(t->err, sizeof(t->err),
					 "Rejecting pax extended attribute > "
					 "1MB");
				return TAR_WARN;
			}
			i++;
		}
		if (i < n)
			i++; /* the space */
		if (len > n || len < 1 || rec[len - 1] != '\n') {
			snprintf(t->err, sizeof(t->err),
				 "Ignoring malformed pax extended attribute");
			return TAR_WARN;
		}
		/* the key runs from i to '=' (or a NUL: libarchive's
		 * strings end there) */
		key = rec + i;
		if (*key == '=') {
			/* libarchive gives up on the tar without a word */
			t->err[0] = '\0';
			return TAR_FATAL;
		}
		for (eq = key; eq < rec + len - 1 && *eq && *eq != '='; eq++)
			;
		if (eq == rec + len - 1 || *eq != '=') {
			snprintf(t->err, sizeof(t->err),
				 "Invalid pax extended attributes");
			return TAR_WARN;
		}
		klen = (size_t)(eq - key);
		val = eq + 1;
		vlen = (size_t)(rec + len - 1 - val);
		if (klen == 4 && !memcmp(key, "path", 4)) {
			size_t cut = field_len(val, vlen);

			*nul = *nul || cut < vlen;
			sbuf_reset(&t->name);
			if (sbuf_add(&t->name, val, cut) < 0 ||
			    sbuf_add(&t->name, "", 1) < 0) {
				snprintf(t->err, sizeof(t->err), "No memory");
				return TAR_FATAL;
			}
			*has_path = cut > 0;
		} else if (klen == 8 && !memcmp(key, "linkpath", 8)) {
			*nul = *nul || memchr(val, '\0', vlen);
		} else if (klen == 4 && !memcmp(key, "size", 4)) {
			uint64_t v = 0;
			size_t j;

			/* decimal, to the first byte that isn't a digit */
			for (j = 0; j < vlen && val[j] >= '0' && val[j] <= '9';
			     j++) {
				if (v > (UINT64_MAX - 9) / 10) {
					v = UINT64_MAX;
					break;
				}
				v = v * 10 + (uint64_t)(val[j] - '0');
			}
			if (v >= INT64_MAX) {
				snprintf(t->err, sizeof(t->err),
					 "Tar size attribute overflow");
				return TAR_FATAL;
			}
			*size = v;
			*has_size = true;
		}
		rec += len;
		n -= len;
		(*good)++;
	}
	return TAR_OK;
}

/* Reads an extension header's body of size bytes (and its padding) into
 * t->ext. */
static enum tar_status read_ext(struct tar_reader *t, uint64_t size)
{
	const char *p;
	char *dst;
	ssize_t got;
	int r;

	if (size > EXT_MAX) {
		snprintf(t->err, sizeof(t->err), "Special header too large");
		return TAR_FATAL;
	}
	sbuf_reset(&t->ext);
	dst = sbuf_reserve(&t->ext, (size_t)size + 1, &r);
	if (!dst) {
		snprintf(t->err, sizeof(t->err), "No memory");
		return TAR_FATAL;
	}
	/* a body cut short: libarchive fails without a word */
	got = take(t, (size_t)size, dst, &p);
	if (got < 0 || (uint64_t)got < size)
		return TAR_FATAL;
	if (p != dst)
		memcpy(dst, p, (size_t)size);
	sbuf_commit(&t->ext, (size_t)size);
	dst[size] = '\0';
	r = skip(t, (512 - size % 512) % 512);
	return r > 0 ? TAR_OK : TAR_FATAL;
}

enum tar_status tar_next(struct tar_reader *t, struct tar_entry *e)
{
	enum tar_status st = TAR_OK;
	bool has_path = false, has_size = false, nul = false, first = true;
	unsigned npax = 0, good = 0;
	uint64_t pax_size = 0;
	char *name;

	t->err[0] = '\0';
	if (t->left) {
		uint64_t n = t->left;

		t->left = 0;
		if (skip_said(t, n) != TAR_OK)
			return TAR_FATAL;
	}
	memset(e, 0, sizeof(*e));
	e->hpos = t->off;
	for (;;) {
		const char *h;
		ssize_t got = take(t, 512, t->hdr, &h);
		uint64_t size;
		char type;
		bool neg;

		if (got < 0)
			return TAR_FATAL;
		if (!t->seen && (got < 512 || !checksum_ok(h)) &&
		    !(got == 512 && block_is_zero(h))) {
			/* the first header: libarchive's format detection */
			snprintf(t->err, sizeof(t->err),
				 "Unrecognized archive format");
			return TAR_FATAL;
		}
		t->seen = true;
		if (got == 0 && first)
			return TAR_EOF;
		if (got < 512) {
			snprintf(t->err, sizeof(t->err),
				 "Truncated tar archive");
			return TAR_FATAL;
		}
		if (h[0] == '\0' && block_is_zero(h)) {
			/* the end; a second zero block is taken too */
			if (first)
				return TAR_EOF;
			snprintf(t->err, sizeof(t->err), "Damaged tar archive");
			return TAR_FATAL;
		}
		if (!checksum_ok(h)) {
			snprintf(t->err, sizeof(t->err), "Damaged tar archive");
			return TAR_FATAL;
		}
		first = false;
		size = field_num(h + 124, 12, &neg);
		if (neg) {
			snprintf(t->err, sizeof(t->err),
				 "Tar entry has negative size");
			return TAR_FATAL;
		}
		type = h[156];
		if (type == 'x' || type == 'g') {
			enum tar_status r = read_ext(t, size);

			if (r != TAR_OK)
				return r;
			if (type == 'g')
				continue;
			/* of several 'x' headers, libarchive applies the last
			 * (they share a buffer) and then finds the earlier
			 * ones malformed (it parses that buffer again) */
			has_size = nul = false;
			if (npax++)
				has_path = false;
			good = 0;
			r = pax_parse(t, &has_path, &has_size, &pax_size, &nul,
				      &good);
			if (r == TAR_FATAL)
				return r;
			st = r;
			if (npax > 1 && (r == TAR_OK || good > 0)) {
				snprintf(t->err, sizeof(t->err),
					 "Ignoring malformed pax extended "
					 "attribute");
				st = TAR_WARN;
			}
			continue;
		}
		if (type == 'L' || type == 'K') {
			enum tar_status r = read_ext(t, size);

			if (r != TAR_OK)
				return r;
			if (type == 'L' && !has_path) {
				size_t n = field_len(t->ext.buf, t->ext.len);

				sbuf_reset(&t->name);
				if (sbuf_add(&t->name, t->ext.buf, n) < 0 ||
				    sbuf_add(&t->name, "", 1) < 0)
					return TAR_FATAL;
				has_path = n > 0;
			}
			continue;
		}
		/* the entry's own header */
		if (!has_path) {
			size_t nl = field_len(h, 100), pl = 0;

			sbuf_reset(&t->name);
			if (!memcmp(h + 257, "ustar\0", 6) &&
			    (pl = field_len(h + 345, 155)) > 0 &&
			    (sbuf_add(&t->name, h + 345, pl) < 0 ||
			     sbuf_add(&t->name, "/", 1) < 0))
				return TAR_FATAL;
			if (sbuf_add(&t->name, h, nl) < 0 ||
			    sbuf_add(&t->name, "", 1) < 0)
				return TAR_FATAL;
		}
		if (has_size)
			size = pax_size;
		name = t->name.buf;
		switch (type) {
		case '5':
			/* libarchive reads no data after a directory */
			e->type = TAR_DIR;
			size = 0;
			break;
		case '1':
			/* a hard link with data is a file to libarchive; the
			 * data is there only after a PAX header */
			e->type = size > 0 ? TAR_REG : TAR_OTHER;
			if (!npax)
				size = 0;
			break;
		case '2':
		case '3':
		case '4':
		case '6':
			e->type = TAR_OTHER;
			size = 0;
			break;
		case 'S':
		case 'V':
		case 'M':
		case 'N':
		case 'A':
		case 'D':
		case 'E':
		case 'I':
		case 'X':
			e->type = TAR_OTHER;
			break;
		case '\0':
			/* an old tar names a directory with a slash */
			e->type = name[0] && name[strlen(name) - 1] == '/' ?
					  TAR_DIR :
					  TAR_REG;
			break;
		default:
			e->type = TAR_REG;
		}
		if (e->type == TAR_DIR) {
			size_t nl = strlen(name);

			while (nl > 1 && name[nl - 1] == '/')
				name[--nl] = '\0';
		}
		e->name = name;
		e->size = size;
		e->pax_nul = nul;
		if (size > UINT64_MAX - 1024) {
			snprintf(t->err, sizeof(t->err),
				 "Tar entry has negative size");
			return TAR_FATAL;
		}
		t->left = (size + 511) & ~(uint64_t)511;
		return st;
	}
}

int tar_data(struct tar_reader *t, const struct tar_entry *e, const char **data)
{
	uint64_t pad;
	ssize_t got;
	char *dst;
	int r;

	t->err[0] = '\0';
	if (e->size > SIZE_MAX / 2)
		return -ENOMEM;
	sbuf_reset(&t->copy);
	dst = e->size ? NULL : (char *)"";
	if (!e->size) {
		*data = dst;
		return 0;
	}
	if (fill(t) < 0)
		return -EIO;
	if (t->len - t->pos >= e->size) {
		got = take(t, (size_t)e->size, NULL, data);
	} else {
		dst = sbuf_reserve(&t->copy, (size_t)e->size, &r);
		if (!dst)
			return r;
		got = take(t, (size_t)e->size, dst, data);
	}
	if (got < 0)
		return -EIO;
	t->left -= (uint64_t)got;
	if ((uint64_t)got < e->size) {
		snprintf(t->err, sizeof(t->err), "Truncated tar archive");
		return -EIO;
	}
	/* libarchive takes the padding with the data's last bytes (a
	 * member whose padding is cut short is not read). When the padding
	 * runs into the next chunk, the data in this one is kept first: the
	 * next pull overwrites it. */
	pad = t->left;
	t->left = 0;
	if (pad > t->len - t->pos && *data != t->copy.buf) {
		dst = sbuf_reserve(&t->copy, (size_t)e->size, &r);
		if (!dst)
			return r;
		memcpy(dst, *data, (size_t)e->size);
		*data = dst;
	}
	if (pad && skip_said(t, pad) != TAR_OK)
		return -EIO;
	return 0;
}
