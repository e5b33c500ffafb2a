/* k8s_types_i.h: the shape of the tables in k8s_types.c, which
 * tools/k8s-protogen generates from the Kubernetes API Go types (see
 * there for what is derived from where). Private to etcd/ (k8s.c and its
 * unit test). Read-only data, no functions. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* A field's value type (of the element for slices, of the value for
 * maps, whose keys are strings). The wire type follows: varint for the
 * integers and bool, fixed64 for FLOAT64, fixed32 for FLOAT32,
 * length-delimited for the rest (and packed repeated scalars). */
enum k8s_type {
	K8S_T_STRING,
	K8S_T_BYTES, /* []byte: base64 in JSON */
	K8S_T_BOOL,
	K8S_T_INT32,
	K8S_T_INT64,
	K8S_T_UINT32,
	K8S_T_UINT64,
	K8S_T_FLOAT64,
	K8S_T_FLOAT32,
	K8S_T_MSG, /* an embedded message: k8s_msgs[msg] */
};

enum k8s_field_flag {
	K8S_F_OMITEMPTY = 1 << 0,
	K8S_F_OMITZERO = 1 << 1, /* only on special types with IsZero */
	K8S_F_PTR = 1 << 2,	 /* a Go pointer: nil when absent */
	K8S_F_SLICE = 1 << 3,	 /* repeated */
	K8S_F_MAP = 1 << 4,    /* map<string, type> (entries key=1, value=2) */
	K8S_F_INLINE = 1 << 5, /* an embedded struct: its fields are the
				* parent's in JSON */
};

/* How a message is rendered: by its fields, or by hand (types with their
 * own Marshal or MarshalJSON in Go; the generator lists why). */
enum k8s_special {
	K8S_S_NONE,
	K8S_S_TIME,	   /* Timestamp{seconds=1,nanos=2} -> RFC 3339 / null */
	K8S_S_MICROTIME,   /* same, 6 fractional digits */
	K8S_S_DURATION,	   /* {duration=1} -> Go duration string */
	K8S_S_INTORSTRING, /* {type=1,intVal=2,strVal=3} */
	K8S_S_QUANTITY,	   /* {string=1} -> the string */
	K8S_S_RAW,	   /* {raw=1} -> the raw JSON, null when nil */
	K8S_S_JSON,	   /* {raw=1} -> the raw JSON, null when empty */
	K8S_S_OR_ARRAY,	   /* {schema=1, jSONSchemas=2} */
	K8S_S_OR_BOOL,	   /* {allows=1, schema=2} */
	K8S_S_OR_STRINGS,  /* {schema=1, property=2} */
	K8S_S_LIST,	   /* a named slice wrapped in {items=1}: the array */
};

struct k8s_field {
	uint32_t tag;  /* protobuf field number; 0: not on the wire (JSON-only,
			* always its zero value: TypeMeta) */
	uint16_t msg;  /* for K8S_T_MSG: index in k8s_msgs */
	uint8_t type;  /* enum k8s_type */
	uint8_t flags; /* enum k8s_field_flag */
	const char *json; /* JSON name; NULL: json:"-" (decoded, dropped) or
			   * inlined */
};

struct k8s_msg {
	const char *name;		/* Go package path and type name */
	uint8_t special;		/* enum k8s_special */
	const struct k8s_field *fields; /* sorted by tag */
	uint16_t nfields;
};

struct k8s_kind {
	const char *api_version; /* "apps/v1", "v1" */
	const char *kind;
	const char *served_as; /* NULL, or the apiVersion the apiserver
				* shows it in (same fields, checked by the
				* generator) */
	uint16_t msg;
};

extern const struct k8s_msg k8s_msgs[];
extern const unsigned k8s_nmsgs;
/* sorted by api_version, then kind (strcmp) */
extern const struct k8s_kind k8s_kinds[];
extern const unsigned k8s_nkinds;
