/* Renderers private to backup/: JSON (as Velero wrote it) to YAML, and the
 * describe.txt summary of a backup. No FUSE, no I/O: bytes in, bytes out. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "common/sbuf.h"

/* Deepest nesting of arrays/objects accepted from a backup. Real objects
 * stay under 30 levels; the cap keeps hostile input from exhausting the
 * stack or the output buffer. */
#define RENDER_MAX_DEPTH 256

/* Renders one JSON document as block-style YAML and appends it to out.
 *
 * Exact: parsing the output with a YAML 1.1 parser (PyYAML) or a YAML 1.2
 * parser (ruamel.yaml) gives the same value as parsing the input as JSON.
 * Keys keep the JSON's order; numbers are copied verbatim except where a
 * YAML parser would read the literal differently (1e3 -> 1.0e+3); strings
 * are quoted only when a YAML 1.1 or 1.2 parser would otherwise read
 * something else; multi-line strings become literal blocks (|, |-, |+)
 * so grep and diff see their lines. Output ends with a newline. Streams
 * over the JSON tokens without building a DOM.
 *
 * Returns 0; -EBADMSG when json is not one valid JSON value (e says where
 * and why), -E2BIG when out's cap is hit or nesting exceeds
 * RENDER_MAX_DEPTH, -ENOMEM. On failure out may hold a partial rendering
 * past its previous length; callers truncate it back. */
int render_yaml(const char *json, size_t len, struct sbuf *out,
		struct verror *e);

/* The clean and redacted views (filter.c). */
struct filter_options {
	bool clean;	  /* drop server-set noise: managedFields, uid, ... */
	bool keep_status; /* with clean: keep status */
	bool redact;	  /* Secrets' values as "<redacted sha256:HEX>" */
};

/* Appends to out the item json (one JSON object, already validated) as
 * the view o shows it: every byte copied as it is except the members
 * dropped or values redacted (secret: the item is a Secret). 0, -EBADMSG,
 * -E2BIG, -ENOMEM. */
int filter_item(const char *json, size_t len, bool secret,
		const struct filter_options *o, struct sbuf *out);

/* Items per group-resource, as counted in the tarball (default view). */
struct describe_kind_count {
	const char *group_resource; /* e.g. "deployments.apps", "configmaps" */
	size_t count;
};

/* Everything describe.txt summarises. All pointers are borrowed; every
 * json_t may be NULL when the object is absent from the vault. */
struct describe_input {
	const char *name;	  /* backup name */
	json_t *backup;		  /* velero-backup.json; NULL if it failed */
	const char *backup_error; /* why backup is NULL, else NULL */
	json_t *results;       /* <n>-results.gz: {"errors":..,"warnings":..} */
	json_t *resource_list; /* <n>-resource-list.json.gz */
	json_t *volumesnapshots;     /* <n>-volumesnapshots.json.gz */
	json_t *podvolumebackups;    /* <n>-podvolumebackups.json.gz */
	json_t *csi_volumesnapshots; /* <n>-csi-volumesnapshots.json.gz */
	json_t *itemoperations;	     /* <n>-itemoperations.json.gz */
	json_t *volumeinfo;	     /* <n>-volumeinfo.json.gz */
	const struct describe_kind_count *kinds; /* sorted by group_resource */
	size_t nkinds;
	size_t nitems;		 /* items in the default view */
	const char *index_error; /* a problem reading the tarball, or NULL */
	size_t item_errors;	 /* items that could not be rendered */
	/* velerofs's "Volume Data" section: for the i-th element of
	 * podvolumebackups, NULL when it is browsable under volumes/, else
	 * why not (a sentence). pvb_verdicts NULL: the section says nothing
	 * about pod volume backups being browsable. */
	const char *const *pvb_verdicts;
	size_t npvb_verdicts;
	/* The backup's DataUploads (the tarball's datauploads.velero.io, an
	 * array; NULL: none) and, like pvb_verdicts, whether each is
	 * browsable under volumes/<ns>/BACKUP_VOL_PVC_DIR/<pvc>/. */
	const json_t *datauploads;
	const char *const *du_verdicts;
	size_t ndu_verdicts;
};

/* Renders a `velero backup describe --details`-like summary (plain text,
 * ends with a newline) and appends it to out. Never fails on odd input:
 * missing fields print as "<none>"/"<n/a>" like velero does. Returns 0,
 * -ENOMEM or -E2BIG. */
int render_describe(const struct describe_input *in, struct sbuf *out);
