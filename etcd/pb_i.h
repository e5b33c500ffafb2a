/* pb: a reader of the protobuf wire format (varints, fixed 32/64-bit,
 * length-delimited fields), bounds-checked, no allocation, no schema.
 * Shared by etcd/ (mvccpb.KeyValue in mvcc.c, kube-apiserver's "k8s\0"
 * envelope and typed messages in k8s.c). It never reads outside
 * [buf, buf + len): every length and varint is checked against the end
 * before use. Groups (wire types 3 and 4, deprecated, unused by etcd and
 * Kubernetes) are refused as malformed. No state; thread-safe. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pb_wire {
	PB_VARINT = 0,
	PB_I64 = 1,
	PB_LEN = 2,
	PB_SGROUP = 3,
	PB_EGROUP = 4,
	PB_I32 = 5,
};

/* A cursor over one message's bytes (caller storage, borrows the bytes). */
struct pb {
	const uint8_t *start, *p, *end;
	const char *err; /* why pb_next() failed: a static string */
};

/* One field as read: num and wire always set; u for PB_VARINT, PB_I64
 * and PB_I32 (the raw bits); data/len for PB_LEN (borrowed from the
 * message). */
struct pb_field {
	uint32_t num;
	enum pb_wire wire;
	uint64_t u;
	const uint8_t *data;
	size_t len;
};

static inline void pb_init(struct pb *r, const void *buf, size_t len)
{
	r->start = r->p = buf;
	r->end = r->p + len;
	r->err = NULL;
}

/* Offset of the cursor from the message's start (for messages). */
static inline size_t pb_offset(const struct pb *r)
{
	return (size_t)(r->p - r->start);
}

/* Reads one varint at *p (at most 10 bytes, the tenth at most 1, as
 * Go's protowire): 0 and *p advanced, or -EBADMSG (truncated or
 * overlong; *p unchanged). */
int pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *out);

/* Reads the next field: 1 (f filled, cursor past it), 0 at the end of
 * the message, -EBADMSG when malformed (r->err says why; the cursor
 * stays at the bad field): a truncated tag, varint, fixed value or
 * length, field number 0 or above 2^29-1, a group or unknown wire
 * type. */
int pb_next(struct pb *r, struct pb_field *f);

/* Conversions of a varint field's bits, as protobuf defines them. */
static inline int64_t pb_int64(uint64_t u)
{
	return (int64_t)u;
}
static inline int32_t pb_int32(uint64_t u)
{
	return (int32_t)(uint32_t)u;
}
static inline int64_t pb_sint64(uint64_t u)
{
	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}
static inline int32_t pb_sint32(uint64_t u)
{
	return (int32_t)((uint32_t)(u >> 1) ^ -(uint32_t)(u & 1));
}
static inline bool pb_bool(uint64_t u)
{
	return u != 0;
}
