/* Private to backup/: where the items of a recovery point come from.
 *
 * A source reads one recovery point (a Velero backup's tarball and
 * per-backup objects; later an etcd snapshot) and hands what it finds to
 * a sink: the index builder (index.c), which renders the views (YAML,
 * JSON, clean, redact), drops identical copies, lays the tree out and
 * commits the index to the cache. The tree, the views, history, find and
 * diff read only the index: nothing past the sink knows which source a
 * recovery point had. A new kind of recovery point is one file that fills
 * in a struct backup_source_ops.
 *
 * The contract:
 *
 * - Lifetime. open() is called once per build, by the one thread that
 *   builds b's index (b->state == BACKUP_BUILDING); after it succeeded,
 *   key is read, read() is called at most once, describe() at most once
 *   after it, and close() always. open() cleans up after itself when it
 *   fails; close() accepts NULL. A source is not shared between threads
 *   and needs no locking of its own (but for the function it hands
 *   backup_sink_file_later(), which runs beside describe() and touches
 *   only its own context); it may read b's immutable fields (name, info,
 *   backup_json) and the repo's vault and catalog.
 *
 * - Bytes. Everything passed to a backup_sink_*() call is borrowed for
 *   that call only: the sink copies what it keeps, so a source may reuse
 *   its buffers at once. Strings are NUL-terminated, item bytes are not.
 *
 * - Errors. What is wrong with the recovery point itself (a corrupt
 *   tarball, a member that escapes its directory, an object that is not
 *   valid gzip) is never a failure: the source reports it with
 *   backup_sink_error() (a line of errors.txt) or, for an item it could
 *   not read at all, backup_sink_item_error() (also counted in
 *   describe.txt), and goes on. An item whose bytes the source has but
 *   that does not parse is still given to backup_sink_item(): the sink
 *   finds out, lists it and makes it read as EIO. Only what makes the
 *   whole index untrustworthy - the vault can't be read (-EIO, -ESTALE,
 *   the offline errors), -ENOMEM, a sink call that failed - is returned
 *   as a negative errno from open()/read()/describe(), with detail in e;
 *   nothing is cached then and the next open tries again.
 *
 * - Order. Within one source the order of sink calls is the order of the
 *   lines of errors.txt; the tree itself does not depend on it (records
 *   are sorted before layout, the lowest rank wins a shared path). */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backup/backup_i.h"
#include "backup/render_i.h"
#include "common/macro.h"
#include "common/sbuf.h"

/* The index builder as a source sees it (index.c). */
struct backup_sink;

/* One object of the recovery point, under namespaces/ or cluster/. */
struct backup_item {
	const char *ns;	     /* namespace; NULL for a cluster-scoped item */
	const char *gr;	     /* <resource>.<group> as Velero names the
			      * directory: "deployments.apps", "configmaps" */
	const char *name;    /* the object's name (no extension) */
	const char *version; /* an API-version directory of Velero's
			      * EnableAPIGroupVersions layout
			      * ("v1-preferredversion", "v1beta1"), shown
			      * under apiversions/; NULL for the item itself */
	bool preferred;	     /* version is the preferred one: where there is
			      * no item without a version, this copy is the
			      * one shown in namespaces/ and cluster/ */
	const char *label;   /* where it came from, for errors.txt (the tar
			      * member, the etcd key) */
	const char *json;    /* the object as the API server returns it */
	size_t len;
};

/* Adds an item; identical bytes are rendered once. 0 or -errno (fatal:
 * return it). */
int backup_sink_item(struct backup_sink *k, const struct backup_item *it);
/* An item the source could not read at all: a line of errors.txt,
 * counted as an item error in describe.txt. */
void backup_sink_item_error(struct backup_sink *k, const char *fmt, ...)
	_printf_(2, 3);
/* A line of errors.txt about the recovery point (not counted as an
 * item). At most a thousand lines are kept, then a count. */
void backup_sink_error(struct backup_sink *k, const char *fmt, ...)
	_printf_(2, 3);
/* A plain file at path (below the recovery point's directory: "logs"). */
int backup_sink_file(struct backup_sink *k, const char *path, const char *data,
		     size_t len);
/* Where a backup_file_fn gives a file's bytes, a piece at a time: 0, or
 * -errno (which the function returns). */
typedef int (*backup_put_fn)(void *pctx, const char *data, size_t len);
/* Streams a file's bytes to put(pctx, ...) and returns 0, or -errno when
 * the recovery point can't be read (fatal, detail in e); a line it leaves
 * in why (whysz bytes) goes to errors.txt. */
typedef int (*backup_file_fn)(void *ctx, backup_put_fn put, void *pctx,
			      char *why, size_t whysz, struct verror *e);
/* A plain file at path whose bytes fn(ctx, ...) streams once the source's
 * read() has returned (a log, inflated as it streams: never whole in
 * memory), on a thread of the sink's while it sorts and summarizes the
 * index (with one core, on the caller's thread): fn may use only ctx,
 * which lives until the source's close(), and the vault. Its errors.txt
 * line goes where this call is in the order of calls. At most one per
 * build (-EINVAL). */
int backup_sink_file_later(struct backup_sink *k, const char *path,
			   backup_file_fn fn, void *ctx);
/* The same, mode 0400: a private key (an etcd snapshot's pki/). */
int backup_sink_file_private(struct backup_sink *k, const char *path,
			     const char *data, size_t len);
/* A JSON document shown in the view's format at path ("backup" for
 * backup.yaml, "meta/results"), not filtered by clean/redact. Broken
 * (reads as EIO, listed under label) when it does not parse. */
int backup_sink_document(struct backup_sink *k, const char *path,
			 const char *json, size_t len, const char *label);
/* A document at path that could not be read: present, reads as EIO. */
int backup_sink_broken(struct backup_sink *k, const char *path);

/* What the index holds, for describe.txt (borrowed for the call). */
struct backup_summary {
	const struct describe_kind_count *kinds; /* sorted by group_resource */
	size_t nkinds;
	size_t nitems;	    /* items in namespaces/ and cluster/ */
	size_t item_errors; /* backup_sink_item_error() calls and items that
			     * did not parse */
};

struct backup_source;

struct backup_source_ops {
	const char *name; /* "velero" */
	/* Finds out what b is made of (for Velero: one LIST of the backup's
	 * directory; offline, the catalog) and returns the source with ops,
	 * b and key set. Cheap: no item is read yet. */
	int (*open)(struct backup *b, struct backup_source **out,
		    struct verror *e);
	/* Streams every item and file into the sink. */
	int (*read)(struct backup_source *s, struct backup_sink *k,
		    struct verror *e);
	/* Appends describe.txt to out. */
	int (*describe)(struct backup_source *s,
			const struct backup_summary *sum, struct sbuf *out);
	/* Frees s; accepts NULL. */
	void (*close)(struct backup_source *s);
};

/* The part every source shares; a source's own struct starts with it. */
struct backup_source {
	const struct backup_source_ops *ops;
	struct backup *b;
	/* What identifies the recovery point's content for the cache key
	 * (pairs of object name and identity: ETag, size, mtime): a new
	 * value means a new index. Owned by the source until close(). */
	const char **key;
	size_t nkey;
	/* The recovery point is still being written (backup_incomplete()):
	 * its index is used but not cached. */
	bool incomplete;
};

/* source_velero.c: a Velero backup (backups/<name>/ in the vault). */
extern const struct backup_source_ops backup_source_velero;
/* source_etcd.c: an etcd snapshot file anywhere in the vault. */
extern const struct backup_source_ops backup_source_etcd;
