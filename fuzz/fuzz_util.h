/* fuzz_util: what the libFuzzer targets in fuzz/ share: a scratch
 * directory per process, writing and removing files, and a walk that
 * reads every node of an opened backup. Not part of velerofs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct backup;

/* A private directory (mkdtemp under $TMPDIR), created on first use and
 * removed at exit. Aborts when it can't be made: a fuzz run without it
 * is meaningless. */
const char *fuzz_tmpdir(void);
/* Writes data to dir/rel (under fuzz_tmpdir() when dir is NULL),
 * creating the parent directories; replaces the file atomically.
 * Aborts on failure. */
void fuzz_write(const char *dir, const char *rel, const void *data, size_t len);
/* Writes a gzip'd tarball of a small backup (a ConfigMap app and a
 * Secret db in namespace shop, the Namespace) to dir/rel. */
void fuzz_write_small_tarball(const char *dir, const char *rel);
/* Removes everything under path (not path itself). */
void fuzz_empty_dir(const char *path);
/* Stats, lists and reads every node of b below the root (depth first),
 * as a `find | xargs cat` would. Returns the number of nodes seen. */
size_t fuzz_walk_backup(struct backup *b);
/* A byte that a fuzz target may use to choose options: a cheap,
 * deterministic digest of the input. */
unsigned fuzz_pick(const void *data, size_t len);
