/* pb: the protobuf wire reader (see pb_i.h). Schema-free: it splits a
 * message into fields and checks every length against the bytes it has;
 * what a field means is the caller's business. */
#include <errno.h>

#include "etcd/pb_i.h"

int pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
	const uint8_t *s = *p;
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < 10; i++) {
		uint8_t b;

		if (s + i >= end)
			return -EBADMSG;
		b = s[i];
		if (i == 9 && b > 1)
			return -EBADMSG; /* more than 64 bits */
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*p = s + i + 1;
			*out = v;
			return 0;
		}
	}
	return -EBADMSG;
}

static int bad(struct pb *r, const char *why)
{
	r->err = why;
	return -EBADMSG;
}

int pb_next(struct pb *r, struct pb_field *f)
{
	const uint8_t *p = r->p;
	uint64_t tag, v;
	unsigned i;

	if (p >= r->end)
		return 0;
	if (pb_varint(&p, r->end, &tag) < 0)
		return bad(r, "truncated field tag");
	if ((tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
		return bad(r, "field number out of range");
	f->num = (uint32_t)(tag >> 3);
	f->wire = (enum pb_wire)(tag & 7);
	f->u = 0;
	f->data = NULL;
	f->len = 0;
	switch (f->wire) {
	case PB_VARINT:
		if (pb_varint(&p, r->end, &f->u) < 0)
			return bad(r, "truncated varint");
		break;
	case PB_I64:
	case PB_I32: {
		unsigned n = f->wire == PB_I64 ? 8 : 4;

		if ((size_t)(r->end - p) < n)
			return bad(r, "truncated fixed-size value");
		for (i = 0; i < n; i++)
			f->u |= (uint64_t)p[i] << (8 * i);
		p += n;
		break;
	}
	case PB_LEN:
		if (pb_varint(&p, r->end, &v) < 0)
			return bad(r, "truncated length");
		if (v > (uint64_t)(r->end - p))
			return bad(r, "length beyond the end of the message");
		f->data = p;
		f->len = (size_t)v;
		p += v;
		break;
	default:
		return bad(r, "group or unknown wire type");
	}
	r->p = p;
	return 1;
}
