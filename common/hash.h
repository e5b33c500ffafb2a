/* hash: FNV-1a, the one non-cryptographic hash of short strings (names cut
 * to fit NAME_MAX, ids of directories, change detection). Not for anything
 * an attacker must not collide: use SHA-256 there. No state; thread-safe. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define FNV1A32_INIT 2166136261u
#define FNV1A64_INIT 14695981039346656037ull

/* 32-bit FNV-1a of p[0..n), continuing from h (FNV1A32_INIT to start). */
static inline uint32_t fnv1a32_add(uint32_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	while (n--) {
		h ^= *s++;
		h *= 16777619u;
	}
	return h;
}

/* 64-bit FNV-1a of p[0..n), continuing from h (FNV1A64_INIT to start). */
static inline uint64_t fnv1a64_add(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	while (n--) {
		h ^= *s++;
		h *= 1099511628211ull;
	}
	return h;
}

static inline uint32_t fnv1a32(const void *p, size_t n)
{
	return fnv1a32_add(FNV1A32_INIT, p, n);
}

static inline uint64_t fnv1a64(const void *p, size_t n)
{
	return fnv1a64_add(FNV1A64_INIT, p, n);
}
