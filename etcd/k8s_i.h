/* k8s_i.h: the pieces of k8s.c that its unit test reaches. Private to
 * etcd/. No state; thread-safe. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Returns from the calling function with a negative result of x. */
#define TRY(x)                     \
	do {                       \
		int _r = (x);      \
		if (_r < 0)        \
			return _r; \
	} while (0)

/* Go's encoding/json form of a float64 (bits 64) or float32 (bits 32):
 * strconv's shortest form, 'f' between 1e-6 and 1e21, else 'e' with
 * e-7 rather than e-07. size >= 32. Returns the length, -EDOM for NaN
 * and infinities (Go's JSON refuses them). */
int k8s_format_float(char *buf, size_t size, double f, int bits);
/* time.Duration.String(); size >= 40. Returns the length. */
int k8s_format_duration(char *buf, size_t size, int64_t ns);
/* t.UTC().Format(time.RFC3339), or RFC3339Micro when micro (six
 * fractional digits, nsec truncated). Returns the length. */
int k8s_format_time(char *buf, size_t size, int64_t sec, uint32_t nsec,
		    bool micro);
/* True when buf is one JSON value (RFC 8259 syntax as Go's checkValid
 * reads it, nesting up to Go's 10000; numbers of any size). */
bool k8s_json_valid(const void *buf, size_t len);
struct sbuf;
struct verror;

/* Appends s[0..n) as a JSON string the way Go's encoding/json writes a Go
 * string (bytes that are not UTF-8 become U+FFFD). 0 or -ENOMEM/-E2BIG. */
int k8s_json_string(struct sbuf *b, const void *s, size_t n);

/* Read-time defaults and conversions (k8s_read.c): the index of the fix
 * for a stored (apiVersion, kind), -1 if it has none; k8s_read_fix()
 * applies it to the object decoded into json from byte mark on (and sets
 * metadata.resourceVersion to rev when rev >= 0): 0, or 1 when a cheap
 * look at the text found the fix unneeded (nothing done, not even the
 * resourceVersion), or -errno. */
int k8s_read_fix_find(const char *api_version, size_t avlen, const char *kind,
		      size_t klen);
int k8s_read_fix(int fix, struct sbuf *json, size_t mark, int64_t rev,
		 struct verror *e);

/* The kind's index in k8s_kinds of (apiVersion, kind) in k8s_msgs, -1 if
 * unknown. */
int k8s_kind_find(const char *api_version, size_t avlen, const char *kind,
		  size_t klen);
