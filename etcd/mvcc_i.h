/* mvcc: etcd's revision store, the parts etcd/ and its tests share.
 * Private to etcd/. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "etcd/etcd.h"

struct bbolt;

/* Decodes an mvccpb.KeyValue (key=1, create_revision=2, mod_revision=3,
 * version=4, value=5, lease=6; unknown fields skipped as gogo/protobuf
 * does): 0 with kv pointing into val, or -EBADMSG with why (a static
 * string): malformed wire data, a known field with the wrong wire type. */
int mvcc_kv_decode(const void *val, size_t len, struct etcd_kv *kv,
		   const char **why);

/* A revision key of bucket "key": 8 bytes main BE, '_', 8 bytes sub BE,
 * and an optional mark ('t': tombstone). 0, or -EBADMSG for another
 * length, separator or a negative revision (etcd's BytesToBucketKey). */
int mvcc_rev_parse(const uint8_t *k, size_t len, int64_t *main, int64_t *sub,
		   bool *tomb);

/* CRC-32C (Castagnoli) of p continuing from crc (0 to start), as Go's
 * crc32.Update with crc32.MakeTable(crc32.Castagnoli). */
uint32_t mvcc_crc32c(uint32_t crc, const void *p, size_t n);

/* The bbolt database under a snapshot (tests: cache budget, reads). */
struct bbolt *mvcc_db(struct etcd_snapshot *s);
