/* rfc3339: the one parser of RFC 3339 times ("2026-11-21T10:00:00Z",
 * "2026-11-21T10:00:00.123456789+02:00"), as Kubernetes, Velero and the
 * object stores write them (Go's time.RFC3339 with fractions).
 *
 * Strict: four-digit year, two-digit fields in range (a day that exists in
 * its month, leap years included), 'T' between date and time, a fraction of
 * one or more digits after '.' or ',', then 'Z' or an offset +hh:mm /
 * -hh:mm (hh <= 23, mm <= 59) and nothing else. Leap seconds (":60") and
 * the lowercase 't'/'z' RFC 3339 allows are refused, as Go's time.Parse
 * (so metav1.Time) refuses them. No state; thread-safe. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Parses s[0..n) into seconds since the epoch (UTC, the offset applied)
 * and, if nsec is non-NULL, the fraction in nanoseconds (digits past the
 * ninth are dropped). Returns 0, or -EINVAL if s is not such a time; the
 * out-parameters are untouched then. */
int rfc3339_parse(const char *s, size_t n, int64_t *secs, uint32_t *nsec);

/* The day number (days since 1970-01-01) of a proleptic Gregorian date,
 * and back. Valid for any year a 64-bit count holds. */
int64_t rfc3339_days_from_civil(int64_t y, unsigned m, unsigned d);
void rfc3339_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);
