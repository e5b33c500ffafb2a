/* backup/snapshots: the etcd snapshots of a vault - finding them, their
 * names, their clusters and snapshots/latest/.
 *
 * A snapshot is recognised by content, not by name: every object under
 * the vault's prefix, outside Velero's own top folders (backups/,
 * restores/, kopia/, restic/, metadata/, plugins/) and pki/ folders, is
 * sniffed once (its first 4 KiB, etcd_sniff()); a file named
 * "*snapshot.db" that is not bbolt is shown too (its errors.txt says
 * what is wrong with it). The verdict is kept in
 * the catalog keyed by the object's key and identity, so a refresh reads
 * only objects it has not seen, and an unreachable vault still lists
 * the snapshots it held. vault_list() is one level deep: the walk goes
 * down folder by folder (at most WALK_MAX_DIRS folders, WALK_MAX_DEPTH
 * deep).
 *
 * Snapshots take slots like backups (repo.c): a snapshot whose object
 * changed or vanished is marked gone and its name gets a new slot, so
 * inode numbers change with the content. What is read from a snapshot
 * is source_etcd.c. No FUSE here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/backup_i.h"
#include "backup/source_i.h"
#include "common/hash.h"
#include "common/log.h"
#include "etcd/etcd.h"

#define WALK_MAX_DIRS 10000
#define WALK_MAX_DEPTH 16
#define SNIFF_LEN 4096
#define NAME_MAX_BYTES 255

static const char *const velero_top[] = { "backups", "restores", "kopia",
					  "restic",  "metadata", "plugins" };

struct dir_list {
	const char *dir;
	struct backup_object *objs;
	size_t n, cap;
	char **subs;
	size_t nsubs, capsubs;
};

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	void *p;
	size_t c;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 16;
	p = realloc(*v, c * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = c;
	return 0;
}

static int on_entry(const char *name, const struct vault_object *obj,
		    void *userdata)
{
	struct dir_list *d = userdata;
	char *key;

	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	if (asprintf(&key, "%s%s%s", d->dir, name, obj ? "" : "/") < 0)
		return -ENOMEM;
	if (obj) {
		if (grow((void **)&d->objs, &d->cap, d->n, sizeof(*d->objs))) {
			free(key);
			return -ENOMEM;
		}
		d->objs[d->n].name = key;
		d->objs[d->n++].obj = *obj;
		return 0;
	}
	if (!*d->dir) {
		for (size_t i = 0; i < ARRAY_SIZE(velero_top); i++)
			if (!strcmp(name, velero_top[i])) {
				free(key);
				return 0;
			}
	}
	if (!strcmp(name, "pki") ||
	    grow((void **)&d->subs, &d->capsubs, d->nsubs, sizeof(*d->subs))) {
		free(key);
		return strcmp(name, "pki") ? -ENOMEM : 0;
	}
	d->subs[d->nsubs++] = key;
	return 0;
}

/* Whether the object at key is an etcd snapshot: the catalog's verdict
 * for this identity, else its first bytes. 0 or -errno (the vault). */
static int sniff(struct backup_repo *r, const struct backup_object *o, bool *is,
		 struct verror *e)
{
	struct vault_stream *s = NULL;
	char *buf;
	size_t got = 0;
	int ret;

	if (catalog_sniffed(r, o->name, &o->obj, is) == 0)
		return 0;
	*is = false;
	if (o->obj.size < 1024) { /* no bbolt file is that small */
		catalog_set_sniffed(r, o->name, &o->obj, false);
		return 0;
	}
	buf = malloc(SNIFF_LEN);
	if (!buf)
		return -ENOMEM;
	ret = vault_stream_open(r->vault, o->name, &o->obj, &s, e);
	while (ret == 0 && got < SNIFF_LEN) {
		ssize_t n = vault_stream_read(s, buf + got, SNIFF_LEN - got, e);

		if (n < 0)
			ret = (int)n;
		else if (n == 0)
			break;
		else
			got += (size_t)n;
	}
	vault_stream_free(s);
	if (ret == 0) {
		*is = etcd_sniff(buf, got);
		catalog_set_sniffed(r, o->name, &o->obj, *is);
	} else if (ret == -ENOENT || ret == -ESTALE) {
		ret = 0; /* gone or changed meanwhile: the next walk sees */
	} else if (ret != -ENOMEM && !backup_offline_error(ret)) {
		ret = 0; /* unreadable (permissions): not a snapshot we can
			  * show; asked again next time */
	}
	free(buf);
	return ret;
}

static int cmp_obj(const void *a, const void *b)
{
	return strcmp(((const struct backup_object *)a)->name,
		      ((const struct backup_object *)b)->name);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void objs_free(struct backup_object *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/* Whether key's file name says it is an etcd snapshot ("snapshot.db",
 * "<...>_snapshot.db" as etcdctl's docs and GKE on VMware name them):
 * such a file is shown under snapshots/ even when it is no bbolt
 * database, so that a damaged copy says why instead of being missing. */
static bool named_snapshot(const char *key)
{
	const char *base = strrchr(key, '/');
	size_t n;

	base = base ? base + 1 : key;
	n = strlen(base);
	return n >= strlen("snapshot.db") &&
	       !strcmp(base + n - strlen("snapshot.db"), "snapshot.db");
}

/* Walks the vault: the snapshots into *snaps (sorted by key). */
static int walk(struct backup_repo *r, struct backup_object **snaps,
		size_t *nsnaps, struct verror *e)
{
	char **queue = NULL, **seen = NULL;
	size_t nq = 0, capq = 0, head = 0, nseen = 0, capseen = 0, ns = 0,
	       caps = 0;
	struct backup_object *out = NULL;
	int ret;

	ret = grow((void **)&queue, &capq, 0, sizeof(*queue));
	if (ret == 0 && !(queue[nq++] = strdup("")))
		ret = -ENOMEM;
	while (ret == 0 && head < nq) {
		struct dir_list d = { .dir = queue[head++] };
		size_t depth = 0, i;

		for (const char *p = d.dir; *p; p++)
			depth += *p == '/';
		ret = vault_list(r->vault, d.dir, on_entry, &d, e);
		if (ret < 0 && ret != -ENOMEM && !backup_offline_error(ret)) {
			/* a folder that can't be listed (permissions): the
			 * rest of the vault still is */
			log_debug("snapshots: %s not walked: %s", d.dir,
				  e && e->msg[0] ? e->msg : strerror(-ret));
			ret = 0;
		}
		for (i = 0; ret == 0 && i < d.nsubs; i++) {
			if (depth + 1 > WALK_MAX_DEPTH || nq >= WALK_MAX_DIRS) {
				log_debug("snapshots: %s not walked (too deep "
					  "or too many folders)",
					  d.subs[i]);
				free(d.subs[i]);
				continue;
			}
			ret = grow((void **)&queue, &capq, nq, sizeof(*queue));
			if (ret == 0)
				queue[nq++] = d.subs[i];
			else
				free(d.subs[i]);
		}
		for (; i < d.nsubs; i++)
			free(d.subs[i]);
		free(d.subs);
		for (i = 0; i < d.n; i++) {
			bool is = false;

			if (ret == 0)
				ret = grow((void **)&seen, &capseen, nseen,
					   sizeof(*seen));
			if (ret == 0)
				seen[nseen++] = strdup(d.objs[i].name);
			if (ret == 0)
				ret = sniff(r, &d.objs[i], &is, e);
			/* named like one but not bbolt: shown, with why */
			is = is || named_snapshot(d.objs[i].name);
			if (ret == 0 && is)
				ret = grow((void **)&out, &caps, ns,
					   sizeof(*out));
			if (ret == 0 && is) {
				out[ns++] = d.objs[i];
				d.objs[i].name = NULL;
			}
		}
		objs_free(d.objs, d.n);
	}
	for (size_t i = 0; i < nq; i++)
		free(queue[i]);
	free(queue);
	if (ret == 0) {
		for (size_t i = 0; i < nseen; i++)
			if (!seen[i])
				ret = -ENOMEM;
		if (ret == 0 && nseen)
			qsort(seen, nseen, sizeof(*seen), cmp_str);
		if (ret == 0)
			catalog_keep_sniffed(r, seen, nseen);
	}
	for (size_t i = 0; i < nseen; i++)
		free(seen[i]);
	free(seen);
	if (ret < 0) {
		objs_free(out, ns);
		return ret;
	}
	if (ns > 1)
		qsort(out, ns, sizeof(*out), cmp_obj);
	*snaps = out;
	*nsnaps = ns;
	return 0;
}

void backup_snapshot_cluster_of(const char *key, char *out, size_t size)
{
	const char *base = strrchr(key, '/');
	static const char sfx[] = "_snapshot.db", user[] = "user-cluster_";
	size_t n;

	base = base ? base + 1 : key;
	n = strlen(base);
	out[0] = '\0';
	if (n <= strlen(sfx) || strcmp(base + n - strlen(sfx), sfx))
		return;
	n -= strlen(sfx);
	if (n > strlen(user) && !strncmp(base, user, strlen(user))) {
		base += strlen(user);
		n -= strlen(user);
	}
	if (n < size && !memchr(base, '/', n) && !(n == 1 && base[0] == '.') &&
	    !(n == 2 && !strncmp(base, "..", 2)))
		snprintf(out, size, "%.*s", (int)n, base);
}

struct named {
	char *name;
	const struct backup_object *o;
};

static int cmp_named(const void *a, const void *b)
{
	return strcmp(((const struct named *)a)->name,
		      ((const struct named *)b)->name);
}

/* The name of the snapshot at key (see backup.h); hashed when asked. */
static char *snapshot_name(const char *key, bool hashed)
{
	struct sbuf sb;
	char *flat = strdup(key), *p;

	if (!flat)
		return NULL;
	for (p = flat; *p; p++)
		if (*p == '/')
			*p = '_';
	sbuf_init(&sb, 1024);
	if (!hashed && strcmp(flat, BACKUP_LATEST) &&
	    backup_component_name(flat, strlen(flat), 0, &sb) == 0) {
		free(flat);
		return sbuf_take(&sb, NULL);
	}
	if (backup_component_name(flat, strlen(flat), 9, &sb) < 0 ||
	    (strlen(flat) + 9 <= NAME_MAX_BYTES &&
	     sbuf_addf(&sb, "~%08x", fnv1a32(key, strlen(key))) < 0)) {
		sbuf_release(&sb);
		free(flat);
		return NULL;
	}
	free(flat);
	return sbuf_take(&sb, NULL);
}

/* Names for the snapshots: unique (clashes hashed). */
static int name_all(const struct backup_object *v, size_t n, struct named **out)
{
	struct named *nv = calloc(n ? n : 1, sizeof(*nv));
	size_t i, j;

	if (!nv)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		nv[i].o = &v[i];
		nv[i].name = snapshot_name(v[i].name, false);
		if (!nv[i].name)
			goto nomem;
	}
	if (n > 1)
		qsort(nv, n, sizeof(*nv), cmp_named);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && !strcmp(nv[i].name, nv[j].name); j++)
			;
		if (j - i == 1)
			continue;
		for (size_t k = i; k < j; k++) {
			free(nv[k].name);
			nv[k].name = snapshot_name(nv[k].o->name, true);
			if (!nv[k].name)
				goto nomem;
		}
	}
	*out = nv;
	return 0;
nomem:
	for (i = 0; i < n; i++)
		free(nv[i].name);
	free(nv);
	return -ENOMEM;
}

/* A slot for the etcd snapshot at key in the vault. */
static struct backup *snapshot_new(struct backup_repo *r, const char *name,
				   const struct backup_object *o)
{
	struct backup *b = backup_slot_new(r, name);

	if (!b)
		return NULL;
	b->source = &backup_source_etcd;
	b->snapshot = true;
	b->snap_obj = o->obj;
	b->vault_key = strdup(o->name);
	if (!b->vault_key) {
		backup_slot_free(b);
		return NULL;
	}
	backup_snapshot_cluster_of(o->name, b->cluster, sizeof(b->cluster));
	return b;
}

/* Brings the snapshot slots in line with v (sorted by key). */
static int update_slots(struct backup_repo *r, const struct backup_object *v,
			size_t n)
{
	struct named *nv = NULL;
	size_t i, j, present = 0;
	int ret = name_all(v, n, &nv);

	if (ret < 0)
		return ret;
	pthread_rwlock_wrlock(&r->lock);
	for (i = 0; i < r->nslots; i++) {
		struct backup *b = r->slots[i];
		bool keep = false;

		if (!b->snapshot || b->gone)
			continue;
		for (j = 0; j < n && !keep; j++)
			keep = !strcmp(nv[j].name, b->name) &&
			       !strcmp(nv[j].o->name, b->vault_key) &&
			       !strcmp(nv[j].o->obj.identity,
				       b->snap_obj.identity);
		if (!keep) {
			b->gone = true;
			r->generation++;
		}
	}
	for (j = 0; j < n; j++) {
		struct backup **ns, *b;
		bool known = false;

		for (i = 0; i < r->nslots && !known; i++)
			known = r->slots[i]->snapshot && !r->slots[i]->gone &&
				!strcmp(r->slots[i]->name, nv[j].name);
		present++;
		if (known)
			continue;
		ns = realloc(r->slots, (r->nslots + 1) * sizeof(*ns));
		if (ns)
			r->slots = ns;
		b = ns ? snapshot_new(r, nv[j].name, nv[j].o) : NULL;
		if (!b) {
			ret = -ENOMEM;
			break;
		}
		r->slots[r->nslots++] = b;
		r->generation++;
	}
	r->nsnapshots = present;
	pthread_rwlock_unlock(&r->lock);
	for (j = 0; j < n; j++)
		free(nv[j].name);
	free(nv);
	return ret;
}

int snapshots_refresh(struct backup_repo *r, struct verror *e)
{
	struct backup_object *v = NULL;
	size_t n = 0;
	int ret = walk(r, &v, &n, e);

	if (ret < 0 && backup_offline_error(ret)) {
		if (catalog_snapshots(r, &v, &n) < 0)
			return 0; /* never walked: no snapshots to show */
		if (n > 1)
			qsort(v, n, sizeof(*v), cmp_obj);
		log_debug("vault unreachable; snapshots from the cache");
		ret = 0;
	} else if (ret == 0) {
		catalog_save(r);
	}
	if (ret == 0)
		ret = update_slots(r, v, n);
	objs_free(v, n);
	return ret;
}

size_t backup_repo_snapshot_count(struct backup_repo *r)
{
	size_t n;

	pthread_rwlock_rdlock(&r->lock);
	n = r->nsnapshots;
	pthread_rwlock_unlock(&r->lock);
	return n;
}

/* The uid of the snapshot's kube-system namespace: the "Cluster:" line
 * source_etcd.c writes into describe.txt (the same in every view). */
static void snapshot_uid(struct backup *b, char *out, size_t size)
{
	struct verror e = { { 0 } };
	const void *data;
	size_t got = 0;
	uint32_t node;
	char uid[64] = "";

	pthread_mutex_lock(&b->lock);
	if (b->snap_uid_known) {
		snprintf(out, size, "%s", b->snap_uid);
		pthread_mutex_unlock(&b->lock);
		return;
	}
	pthread_mutex_unlock(&b->lock);
	out[0] = '\0';
	if (backup_open(b, &e) == 0 &&
	    backup_node_walk(b, "describe.txt", &node, &e) == 0 &&
	    backup_node_read(b, node, 0, 65536, &data, &got, &e) == 0) {
		static const char tag[] = "\nCluster UID:";
		const char *p = memmem(data, got, tag, strlen(tag));

		if (p) {
			const char *end = (const char *)data + got;
			size_t k = 0;

			p += strlen(tag);
			while (p < end && *p == ' ')
				p++;
			while (p < end && k + 1 < sizeof(uid) &&
			       (*p == '-' || (*p >= '0' && *p <= '9') ||
				(*p >= 'a' && *p <= 'z')))
				uid[k++] = *p++;
			uid[k] = '\0';
		}
	}
	pthread_mutex_lock(&b->lock);
	snprintf(b->snap_uid, sizeof(b->snap_uid), "%s", uid);
	b->snap_uid_known = true;
	pthread_mutex_unlock(&b->lock);
	snprintf(out, size, "%s", uid);
}

static int cmp_latest(const void *a, const void *b)
{
	return strcmp(((const struct backup_snapshot_latest *)a)->cluster,
		      ((const struct backup_snapshot_latest *)b)->cluster);
}

int backup_repo_snapshot_latest(struct backup_repo *r,
				struct backup_snapshot_latest **out,
				size_t *nout)
{
	struct backup_snapshot_latest *v;
	int64_t *times;
	size_t n = backup_repo_count(r), i, k = 0;

	v = calloc(n ? n : 1, sizeof(*v));
	times = calloc(n ? n : 1, sizeof(*times));
	if (!v || !times) {
		free(v);
		free(times);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		struct backup *b = backup_repo_slot(r, i);
		char cluster[128];
		size_t j;

		if (!b || !b->snapshot || backup_gone(b))
			continue;
		if (b->cluster[0])
			snprintf(cluster, sizeof(cluster), "%s", b->cluster);
		else
			snapshot_uid(b, cluster, sizeof(cluster));
		if (!cluster[0] || !strcmp(cluster, "latest"))
			continue;
		for (j = 0; j < k && strcmp(v[j].cluster, cluster); j++)
			;
		if (j < k &&
		    (times[j] > b->snap_obj.mtime ||
		     (times[j] == b->snap_obj.mtime &&
		      strcmp(backup_name(backup_repo_slot(r, v[j].slot)),
			     b->name) > 0)))
			continue;
		snprintf(v[j].cluster, sizeof(v[j].cluster), "%s", cluster);
		v[j].slot = i;
		times[j] = b->snap_obj.mtime;
		if (j == k)
			k++;
	}
	free(times);
	if (k > 1)
		qsort(v, k, sizeof(*v), cmp_latest);
	*out = v;
	*nout = k;
	return 0;
}
