/* base64: standard base64 (RFC 4648 section 4, '+' and '/'), both ways.
 * Kubernetes' []byte fields, kubeconfig certificate data, Azure keys and
 * signatures. No state; thread-safe. */
#pragma once

#include <stddef.h>

/* The length of the encoding of n bytes, without the NUL. */
#define BASE64_LEN(n) (((n) + 2) / 3 * 4)

/* Writes the padded encoding of p[0..n) and a NUL into out, which holds
 * at least BASE64_LEN(n) + 1 bytes; returns BASE64_LEN(n). */
size_t base64_encode(const void *p, size_t n, char *out);

/* Decoding is lenient by default, as Go's and kubectl's readers of
 * kubeconfig data are: blanks (space, tab, CR, LF) are skipped and the
 * '=' padding may be left out. BASE64_STRICT wants the canonical form: no
 * blanks, a length that is a multiple of 4, padding present. Either way
 * nothing may follow the padding, there are at most two '=', and a lone
 * sixth-bit group is refused. */
#define BASE64_STRICT 1u

/* Decodes s[0..len) into out (max bytes at most; len / 4 * 3 + 3 always
 * suffice). Returns the number of bytes, -EINVAL if s is not base64 (as
 * flags say), -E2BIG if the result does not fit; out holds garbage then. */
long base64_decode(const char *s, size_t len, unsigned flags,
		   unsigned char *out, size_t max);
