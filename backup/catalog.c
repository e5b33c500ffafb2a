/* backup/catalog: the last state of the vault seen online, kept in the
 * cache, so that a vault that can't be reached is still browsable from
 * what the cache holds: the list of backups, each velero-backup.json, and
 * each backup's object list (the key of its index).
 *
 * One small JSON file per vault ("cat" entries of the cache), rewritten
 * whole (temporary name + rename) when it changed. In memory it is a
 * json_t protected by repo->catalog_lock.
 *
 * Two mounts of one vault share the file, and one may save an older
 * state after the other saved a newer one: each change stamps the
 * catalog with the time it was seen ("seen", milliseconds, increasing),
 * and a save never replaces a file stamped later than what it holds.
 * Saves are serialized by catalog_lock, so that within one process a
 * slow writer can't put an older snapshot over a newer one either. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backup/backup_i.h"
#include "common/log.h"

#define CATALOG_MAX ((size_t)256 << 20)

bool backup_offline_error(int r)
{
	switch (-r) {
	case EIO:
	case ETIMEDOUT:
	case ECONNREFUSED:
	case ECONNRESET:
	case ECONNABORTED:
	case EHOSTUNREACH:
	case ENETUNREACH:
	case ENETDOWN:
	case ENOTCONN:
	case EAGAIN:
		return true;
	default:
		return false;
	}
}

static int64_t catalog_seen(const json_t *j)
{
	return json_integer_value(json_object_get(j, "seen"));
}

/* Marks the catalog changed now; called with catalog_lock held. */
static void catalog_touch(struct backup_repo *r)
{
	struct timespec ts;
	int64_t now, prev = catalog_seen(r->catalog);

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	json_object_set_new(r->catalog, "seen",
			    json_integer(now > prev ? now : prev + 1));
	r->catalog_dirty = true;
}

static char *catalog_path(struct backup_repo *r)
{
	const char *parts[] = { "catalog-v1", vault_id(r->vault) };

	return cache_entry_path(r->cache, "cat", parts, 2);
}

/* The catalog file at path, or NULL. */
static json_t *catalog_read(struct backup_repo *r, const char *path)
{
	struct cache_mapping m = { 0 };
	json_t *j = NULL;

	if (path && cache_map(r->cache, path, &m) == 0) {
		if (m.len <= CATALOG_MAX)
			j = json_loadb(m.addr, m.len, 0, NULL);
		cache_unmap(r->cache, &m);
	}
	if (!json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

void catalog_load(struct backup_repo *r)
{
	char *path = catalog_path(r);
	json_t *j = catalog_read(r, path);

	free(path);
	if (!j) {
		json_decref(j);
		j = json_object();
	}
	pthread_mutex_lock(&r->catalog_lock);
	json_decref(r->catalog);
	r->catalog = j;
	pthread_mutex_unlock(&r->catalog_lock);
}

void catalog_save(struct backup_repo *r)
{
	struct cache_writer *w = NULL;
	char *path = NULL, *text = NULL;
	json_t *disk;
	size_t len;
	ssize_t n = 0;

	pthread_mutex_lock(&r->catalog_lock);
	if (!r->catalog_dirty || !r->catalog)
		goto out;
	r->catalog_dirty = false;
	path = catalog_path(r);
	disk = catalog_read(r, path);
	if (disk && catalog_seen(disk) > catalog_seen(r->catalog)) {
		/* another mount saved what it saw later: keep that */
		log_debug("the catalog in the cache is newer; not replaced");
		json_decref(disk);
		goto out;
	}
	json_decref(disk);
	text = json_dumps(r->catalog, JSON_COMPACT);
	if (text && path && cache_writer_open(r->cache, path, &w, NULL) == 0) {
		char label[600];

		snprintf(label, sizeof(label), "%s\n(the list of backups)\n-",
			 vault_id(r->vault));
		cache_writer_label(w, label);
		len = strlen(text);
		n = write(cache_writer_fd(w), text, len);
		if (n == (ssize_t)len)
			(void)cache_writer_commit(w, NULL);
		else
			cache_writer_free(w);
	}
out:
	pthread_mutex_unlock(&r->catalog_lock);
	free(path);
	free(text);
}

static json_t *backup_entry(struct backup_repo *r, const char *name)
{
	json_t *bs = json_object_get(r->catalog, "backups"), *e;

	if (!bs) {
		bs = json_object();
		json_object_set_new(r->catalog, "backups", bs);
	}
	e = json_object_get(bs, name);
	if (!e) {
		e = json_object();
		json_object_set_new(bs, name, e);
	}
	return e;
}

void catalog_set_names(struct backup_repo *r, char *const *names, size_t n)
{
	json_t *a = json_array(), *bs, *keep;
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(names[i]));
	pthread_mutex_lock(&r->catalog_lock);
	if (!json_equal(a, json_object_get(r->catalog, "names"))) {
		json_object_set(r->catalog, "names", a);
		/* forget backups that are gone */
		bs = json_object_get(r->catalog, "backups");
		keep = json_object();
		for (i = 0; i < n && bs; i++) {
			json_t *e = json_object_get(bs, names[i]);

			if (e)
				json_object_set(keep, names[i], e);
		}
		json_object_set_new(r->catalog, "backups", keep);
		catalog_touch(r);
	}
	pthread_mutex_unlock(&r->catalog_lock);
	json_decref(a);
}

int catalog_names(struct backup_repo *r, char ***names, size_t *n)
{
	json_t *a;
	size_t i, k = 0;
	char **v;

	pthread_mutex_lock(&r->catalog_lock);
	a = json_object_get(r->catalog, "names");
	if (!json_is_array(a)) {
		pthread_mutex_unlock(&r->catalog_lock);
		return -ENOENT;
	}
	v = calloc(json_array_size(a) + 1, sizeof(*v));
	for (i = 0; v && i < json_array_size(a); i++) {
		const char *s = json_string_value(json_array_get(a, i));

		if (s && (v[k] = strdup(s)))
			k++;
	}
	pthread_mutex_unlock(&r->catalog_lock);
	if (!v)
		return -ENOMEM;
	*names = v;
	*n = k;
	return 0;
}

void catalog_set_backup_json(struct backup_repo *r, const char *name,
			     const char *json, size_t len, int64_t mtime)
{
	json_t *s = json_stringn(json, len);

	if (!s) /* not UTF-8: nothing to keep */
		return;
	pthread_mutex_lock(&r->catalog_lock);
	{
		json_t *e = backup_entry(r, name);

		if (!json_equal(json_object_get(e, "json"), s)) {
			json_object_set(e, "json", s);
			json_object_set_new(e, "mtime", json_integer(mtime));
			catalog_touch(r);
		}
	}
	pthread_mutex_unlock(&r->catalog_lock);
	json_decref(s);
}

int catalog_backup_json(struct backup_repo *r, const char *name,
			struct sbuf *out, int64_t *mtime)
{
	json_t *e, *s;
	int ret = -ENOENT;

	pthread_mutex_lock(&r->catalog_lock);
	e = json_object_get(json_object_get(r->catalog, "backups"), name);
	s = json_object_get(e, "json");
	if (json_is_string(s)) {
		ret = sbuf_add(out, json_string_value(s),
			       json_string_length(s));
		*mtime = json_integer_value(json_object_get(e, "mtime"));
	}
	pthread_mutex_unlock(&r->catalog_lock);
	return ret;
}

void catalog_set_objects(struct backup_repo *r, const char *name,
			 const struct backup_object *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_pack("[s,s,I,I]", v[i].name,
						   v[i].obj.identity,
						   (json_int_t)v[i].obj.size,
						   (json_int_t)v[i].obj.mtime));
	pthread_mutex_lock(&r->catalog_lock);
	{
		json_t *e = backup_entry(r, name);

		if (!json_equal(json_object_get(e, "objects"), a)) {
			json_object_set(e, "objects", a);
			catalog_touch(r);
		}
	}
	pthread_mutex_unlock(&r->catalog_lock);
	json_decref(a);
}

int catalog_objects(struct backup_repo *r, const char *name,
		    struct backup_object **out, size_t *nout)
{
	struct backup_object *v;
	json_t *a;
	size_t i, k = 0;

	pthread_mutex_lock(&r->catalog_lock);
	a = json_object_get(
		json_object_get(json_object_get(r->catalog, "backups"), name),
		"objects");
	if (!json_is_array(a)) {
		pthread_mutex_unlock(&r->catalog_lock);
		return -ENOENT;
	}
	v = calloc(json_array_size(a) + 1, sizeof(*v));
	for (i = 0; v && i < json_array_size(a); i++) {
		const char *on = NULL, *id = NULL;
		json_int_t size = 0, mtime = 0;

		if (json_unpack(json_array_get(a, i), "[s,s,I,I]", &on, &id,
				&size, &mtime) < 0 ||
		    !(v[k].name = strdup(on)))
			continue;
		snprintf(v[k].obj.identity, sizeof(v[k].obj.identity), "%s",
			 id);
		v[k].obj.size = (uint64_t)size;
		v[k].obj.mtime = mtime;
		k++;
	}
	pthread_mutex_unlock(&r->catalog_lock);
	if (!v)
		return -ENOMEM;
	*out = v;
	*nout = k;
	return 0;
}

/* "sniffed": { "<key>": ["<identity>", size, mtime, is_snapshot] } */
static json_t *sniffed(struct backup_repo *r)
{
	json_t *s = json_object_get(r->catalog, "sniffed");

	if (!json_is_object(s)) {
		s = json_object();
		json_object_set_new(r->catalog, "sniffed", s);
	}
	return s;
}

int catalog_sniffed(struct backup_repo *r, const char *key,
		    const struct vault_object *o, bool *is_snapshot)
{
	const char *id = NULL;
	json_int_t size = 0, mtime = 0;
	int snap = 0, ret = -ENOENT;

	pthread_mutex_lock(&r->catalog_lock);
	if (json_unpack(json_object_get(sniffed(r), key), "[s,I,I,b]", &id,
			&size, &mtime, &snap) == 0 &&
	    !strcmp(id, o->identity) && (uint64_t)size == o->size) {
		*is_snapshot = snap;
		ret = 0;
	}
	pthread_mutex_unlock(&r->catalog_lock);
	return ret;
}

void catalog_set_sniffed(struct backup_repo *r, const char *key,
			 const struct vault_object *o, bool is_snapshot)
{
	json_t *v = json_pack("[s,I,I,b]", o->identity, (json_int_t)o->size,
			      (json_int_t)o->mtime, is_snapshot);

	if (!v)
		return;
	pthread_mutex_lock(&r->catalog_lock);
	if (!json_equal(json_object_get(sniffed(r), key), v)) {
		json_object_set(sniffed(r), key, v);
		catalog_touch(r);
	}
	pthread_mutex_unlock(&r->catalog_lock);
	json_decref(v);
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void catalog_keep_sniffed(struct backup_repo *r, char *const *keys, size_t n)
{
	const char *k;
	void *tmp;
	json_t *v, *s;
	bool changed = false;

	pthread_mutex_lock(&r->catalog_lock);
	s = sniffed(r);
	json_object_foreach_safe(s, tmp, k, v)
	{
		if (n && bsearch(&k, keys, n, sizeof(*keys), cmp_key))
			continue;
		json_object_del(s, k);
		changed = true;
	}
	if (!json_object_get(r->catalog, "walked")) {
		json_object_set_new(r->catalog, "walked", json_true());
		changed = true;
	}
	if (changed)
		catalog_touch(r);
	pthread_mutex_unlock(&r->catalog_lock);
}

int catalog_snapshots(struct backup_repo *r, struct backup_object **out,
		      size_t *nout)
{
	struct backup_object *v;
	const char *k;
	json_t *e, *s;
	size_t k_ = 0;

	pthread_mutex_lock(&r->catalog_lock);
	if (!json_object_get(r->catalog, "walked")) {
		pthread_mutex_unlock(&r->catalog_lock);
		return -ENOENT;
	}
	s = sniffed(r);
	v = calloc(json_object_size(s) + 1, sizeof(*v));
	json_object_foreach(s, k, e)
	{
		const char *id = NULL;
		json_int_t size = 0, mtime = 0;
		int snap = 0;

		if (!v ||
		    json_unpack(e, "[s,I,I,b]", &id, &size, &mtime, &snap) <
			    0 ||
		    !snap || !(v[k_].name = strdup(k)))
			continue;
		snprintf(v[k_].obj.identity, sizeof(v[k_].obj.identity), "%s",
			 id);
		v[k_].obj.size = (uint64_t)size;
		v[k_].obj.mtime = mtime;
		k_++;
	}
	pthread_mutex_unlock(&r->catalog_lock);
	if (!v)
		return -ENOMEM;
	*out = v;
	*nout = k_;
	return 0;
}
