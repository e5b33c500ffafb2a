/* backup/repo: the list of recovery points of a vault, what each one's
 * velero-backup.json says, `latest` and the schedules. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup/backup_i.h"
#include "backup/source_i.h"
#include "common/log.h"
#include "common/rfc3339.h"
#include "common/macro.h"

/* velero-backup.json is a few KiB; a cap keeps a hostile store honest */
#define BACKUP_JSON_MAX ((size_t)16 << 20)

/* The value of expr, made of fields protected by repo->lock, read under
 * the read lock. */
#define READ_LOCKED(repo, expr)                       \
	({                                            \
		pthread_rwlock_rdlock(&(repo)->lock); \
		__typeof__(expr) _rl = (expr);        \
		pthread_rwlock_unlock(&(repo)->lock); \
		_rl;                                  \
	})

int backup_repo_new(struct vault *v, struct cache *c,
		    const struct backup_options *o, struct backup_repo **out)
{
	struct backup_repo *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->vault = v;
	r->cache = c;
	if (o)
		r->opt = *o;
	if (backup_vols_new(v, c, r->opt.repo_password, &r->vols) < 0) {
		free(r);
		return -ENOMEM;
	}
	r->opt.repo_password = NULL; /* copied into vols */
	pthread_rwlock_init(&r->lock, NULL);
	pthread_mutex_init(&r->catalog_lock, NULL);
	pthread_mutex_init(&r->history_lock, NULL);
	catalog_load(r);
	*out = r;
	return 0;
}

void backup_slot_free(struct backup *b)
{
	backup_index_free(b->repo, b->idx);
	free(b->backup_json);
	free(b->info_error);
	free(b->vault_key);
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->cond);
	free(b->name);
	free(b);
}

struct backup_repo *backup_repo_free(struct backup_repo *r)
{
	size_t i;

	if (!r)
		return NULL;
	catalog_save(r);
	json_decref(r->catalog);
	pthread_mutex_destroy(&r->catalog_lock);
	for (i = 0; i < r->hist_n; i++)
		free(r->hist_paths[i]);
	free(r->hist_paths);
	free(r->hist_slots);
	history_cache_free(r);
	pthread_mutex_destroy(&r->history_lock);
	for (i = 0; i < r->nslots; i++)
		backup_slot_free(r->slots[i]);
	free(r->slots);
	for (i = 0; i < r->nschedules; i++)
		free(r->schedules[i].name);
	free(r->schedules);
	backup_vols_free(r->vols);
	pthread_rwlock_destroy(&r->lock);
	free(r);
	return NULL;
}

enum backup_view backup_repo_view(const struct backup_repo *r)
{
	return r->opt.view;
}

static bool name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n < 256 && !strchr(name, '/') && strcmp(name, ".") &&
	       strcmp(name, "..");
}

struct listing {
	char **names;
	size_t n, cap;
};

static int on_backup_dir(const char *name, const struct vault_object *obj,
			 void *userdata)
{
	struct listing *l = userdata;

	if (obj || !name_ok(name)) /* a file directly in backups/, or junk */
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		char **p = realloc(l->names, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->names = p;
		l->cap = cap;
	}
	l->names[l->n] = strdup(name);
	if (!l->names[l->n])
		return -ENOMEM;
	l->n++;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct backup *backup_slot_new(struct backup_repo *r, const char *name)
{
	struct backup *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->repo = r;
	b->source = &backup_source_velero;
	b->name = strdup(name);
	if (!b->name) {
		free(b);
		return NULL;
	}
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	return b;
}

/* ---- backups that change under the repo ----
 *
 * Velero writes a backup's objects one after the other (the log,
 * velero-backup.json, then the tarball and the rest), rewrites
 * velero-backup.json when the phase moves on, and a backup can be deleted
 * and created again under the same name. The state of a struct backup
 * (what velero-backup.json says, the index) is keyed on the identities of
 * the objects it was built from; a refresh lists the directory of the
 * backups that may still change and, when their objects are no longer
 * those, retires the slot and gives the name a new one: new state, new
 * inodes. Every refresh checks at most CHECK_MAX backups: all those
 * still being written first, then the settled ones in turn (a settled
 * backup changes only when deleted and created again). */
#define CHECK_MAX 64

/* Velero's phases after which it writes the backup no more. */
static bool phase_final(const char *phase)
{
	return !strcmp(phase, "Completed") ||
	       !strcmp(phase, "PartiallyFailed") || !strcmp(phase, "Failed") ||
	       !strcmp(phase, "FailedValidation");
}

bool backup_incomplete(const struct backup_info *in, bool tar_present,
		       int64_t json_mtime)
{
	if (tar_present)
		return false;
	return !in->valid || !phase_final(in->phase) ||
	       (int64_t)time(NULL) - json_mtime < BACKUP_SETTLE_S;
}

/* The identities of velero-backup.json and the tarball in a listing. */
struct backup_ids {
	const char *name;
	char json[96], tar[96];
};

static int on_backup_object(const char *name, const struct vault_object *obj,
			    void *userdata)
{
	struct backup_ids *d = userdata;
	size_t nl = strlen(d->name);

	if (!obj)
		return 0;
	if (!strcmp(name, "velero-backup.json"))
		snprintf(d->json, sizeof(d->json), "%s", obj->identity);
	else if (!strncmp(name, d->name, nl) && !strcmp(name + nl, ".tar.gz"))
		snprintf(d->tar, sizeof(d->tar), "%s", obj->identity);
	return 0;
}

/* Whether b's objects in the vault are other than those its state was
 * built from (one LIST). -errno when the vault can't say. */
static int backup_changed(struct backup_repo *r, struct backup *b,
			  bool *changed)
{
	struct backup_ids d = { .name = b->name };
	char dir[300];
	int ret;

	snprintf(dir, sizeof(dir), "backups/%s/", b->name);
	ret = vault_list(r->vault, dir, on_backup_object, &d, NULL);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&b->lock);
	*changed = (b->json_known && strcmp(b->json_id, d.json)) ||
		   (b->tar_known && strcmp(b->tar_id, d.tar));
	pthread_mutex_unlock(&b->lock);
	return 0;
}

/* Retires old's slot and gives its name a new one. */
static int backup_replace(struct backup_repo *r, struct backup *old)
{
	struct backup *b = backup_slot_new(r, old->name), **ns = NULL;

	if (!b)
		return -ENOMEM;
	pthread_rwlock_wrlock(&r->lock);
	if (!old->gone)
		ns = realloc(r->slots, (r->nslots + 1) * sizeof(*ns));
	if (ns) {
		r->slots = ns;
		old->gone = true;
		r->slots[r->nslots++] = b;
		r->generation++;
	}
	pthread_rwlock_unlock(&r->lock);
	if (!ns) {
		backup_slot_free(b);
		return old->gone ? 0 : -ENOMEM;
	}
	log_debug("%s: changed in the vault; read again", b->name);
	return 0;
}

/* Whether anything was read of b, and whether b may still change. */
static bool backup_settled(struct backup *b, bool *loaded)
{
	bool settled;

	pthread_mutex_lock(&b->lock);
	*loaded = b->info_loaded;
	settled = b->info.valid && phase_final(b->info.phase) &&
		  !(b->state == BACKUP_READY && b->incomplete);
	pthread_mutex_unlock(&b->lock);
	return settled;
}

static size_t slots_copy(struct backup_repo *r, struct backup ***out);

/* Checks the backups read so far against the vault (see above). */
static int check_backups(struct backup_repo *r)
{
	struct backup **v, **todo;
	size_t n = slots_copy(r, &v), i, k = 0, first;
	int ret = 0;

	todo = calloc(n ? n : 1, sizeof(*todo));
	if (!v || !todo) {
		free(v);
		free(todo);
		return -ENOMEM;
	}
	for (i = 0; i < n && k < CHECK_MAX; i++) {
		bool loaded;

		if (!v[i]->snapshot && !backup_settled(v[i], &loaded) && loaded)
			todo[k++] = v[i];
	}
	pthread_rwlock_wrlock(&r->lock);
	first = r->check_next;
	r->check_next += CHECK_MAX - k;
	pthread_rwlock_unlock(&r->lock);
	for (i = 0; i < n && k < CHECK_MAX; i++) {
		struct backup *b = v[(first + i) % n];
		bool loaded;

		if (!b->snapshot && backup_settled(b, &loaded) && loaded)
			todo[k++] = b;
	}
	for (i = 0; i < k && ret == 0; i++) {
		bool changed = false;

		ret = backup_changed(r, todo[i], &changed);
		if (ret == -ENOENT) /* gone meanwhile: the next refresh sees */
			ret = 0;
		if (ret == 0 && changed)
			ret = backup_replace(r, todo[i]);
	}
	free(v);
	free(todo);
	/* the vault went away halfway: the listing said what it could */
	return ret < 0 && backup_offline_error(ret) ? 0 : ret;
}

int backup_repo_refresh(struct backup_repo *r, struct verror *e)
{
	struct listing l = { 0 };
	bool online = false;
	size_t i, j;
	int ret;

	ret = vault_list(r->vault, "backups/", on_backup_dir, &l, e);
	if (ret < 0 && backup_offline_error(ret)) {
		/* keep serving what the cache knows */
		for (j = 0; j < l.n; j++)
			free(l.names[j]);
		free(l.names);
		l.names = NULL;
		l.n = 0;
		if (catalog_names(r, &l.names, &l.n) < 0)
			goto out;
		log_debug("vault unreachable; listing from the cache");
		pthread_rwlock_wrlock(&r->lock);
		r->offline = true;
		pthread_rwlock_unlock(&r->lock);
		ret = 0;
	} else if (ret < 0) {
		goto out;
	} else {
		online = true;
		if (l.n)
			qsort(l.names, l.n, sizeof(*l.names), cmp_str);
		catalog_set_names(r, l.names, l.n);
		catalog_save(r);
		pthread_rwlock_wrlock(&r->lock);
		r->offline = false;
		pthread_rwlock_unlock(&r->lock);
	}
	if (l.n) /* an empty vault has no array (qsort's base is nonnull) */
		qsort(l.names, l.n, sizeof(*l.names), cmp_str);

	pthread_rwlock_wrlock(&r->lock);
	/* a slot that went stays gone: a backup of that name that comes
	 * back (deleted and created again) is another backup, with a new
	 * slot and new inodes, never the old state revived */
	for (i = 0; i < r->nslots; i++) {
		bool gone = !l.n || !bsearch(&r->slots[i]->name, l.names, l.n,
					     sizeof(*l.names), cmp_str);

		if (r->slots[i]->snapshot)
			continue;
		if (gone && !r->slots[i]->gone) {
			r->slots[i]->gone = true;
			r->generation++;
		}
	}
	for (j = 0; j < l.n; j++) {
		struct backup **ns, *b;
		bool known = false;

		for (i = 0; i < r->nslots && !known; i++)
			known = !r->slots[i]->gone && !r->slots[i]->snapshot &&
				strcmp(r->slots[i]->name, l.names[j]) == 0;
		if (known)
			continue;
		ns = realloc(r->slots, (r->nslots + 1) * sizeof(*ns));
		b = backup_slot_new(r, l.names[j]);
		if (ns)
			r->slots = ns;
		if (!ns || !b) {
			free(b);
			ret = -ENOMEM;
			break;
		}
		r->slots[r->nslots++] = b;
		r->generation++;
	}
	pthread_rwlock_unlock(&r->lock);
	if (ret == 0 && online)
		ret = check_backups(r);
	if (ret == 0)
		ret = snapshots_refresh(r, e);
out:
	for (j = 0; j < l.n; j++)
		free(l.names[j]);
	free(l.names);
	return ret;
}

uint64_t backup_repo_generation(struct backup_repo *r)
{
	return READ_LOCKED(r, r->generation);
}

bool backup_repo_offline(struct backup_repo *r)
{
	return READ_LOCKED(r, r->offline);
}

size_t backup_repo_count(struct backup_repo *r)
{
	return READ_LOCKED(r, r->nslots);
}

struct backup *backup_repo_slot(struct backup_repo *r, size_t slot)
{
	return READ_LOCKED(r, slot < r->nslots ? r->slots[slot] : NULL);
}

static struct backup *find_kind(struct backup_repo *r, const char *name,
				bool snapshot, size_t *slot)
{
	struct backup *b = NULL;
	size_t i;

	pthread_rwlock_rdlock(&r->lock);
	for (i = 0; i < r->nslots; i++)
		if (!r->slots[i]->gone && r->slots[i]->snapshot == snapshot &&
		    strcmp(r->slots[i]->name, name) == 0) {
			b = r->slots[i];
			if (slot)
				*slot = i;
			break;
		}
	pthread_rwlock_unlock(&r->lock);
	return b;
}

struct backup *backup_repo_find(struct backup_repo *r, const char *name,
				size_t *slot)
{
	return find_kind(r, name, false, slot);
}

struct backup *backup_repo_find_snapshot(struct backup_repo *r,
					 const char *name, size_t *slot)
{
	return find_kind(r, name, true, slot);
}

bool backup_is_snapshot(const struct backup *b)
{
	return b->snapshot;
}

const char *backup_snapshot_key(const struct backup *b)
{
	return b->vault_key;
}

const char *backup_name(const struct backup *b)
{
	return b->name;
}

bool backup_gone(const struct backup *b)
{
	return READ_LOCKED(b->repo, b->gone);
}

/* RFC 3339 as Kubernetes writes it ("2023-10-09T20:05:00Z", maybe with
 * fractions or an offset) to seconds; 0 if it doesn't parse. */
static int64_t parse_time(json_t *v)
{
	int64_t t;

	if (!json_is_string(v) ||
	    rfc3339_parse(json_string_value(v), json_string_length(v), &t,
			  NULL) < 0)
		return 0;
	return t;
}

/* A label selector as `velero backup get` prints it (Kubernetes'
 * FormatLabelSelector): "k=v,k2 in (a,b),!k3", "" for none. */
static void format_selector(json_t *sel, char *out, size_t size)
{
	size_t len = 0, i;
	const char *k;
	json_t *v, *x;

#define SEL_ADD(...)                                                       \
	do {                                                               \
		int n_ = snprintf(out + len, size - len, __VA_ARGS__);     \
		if (n_ > 0)                                                \
			len = (size_t)n_ < size - len ? len + (size_t)n_ : \
							size - 1;          \
	} while (0)
	out[0] = '\0';
	json_object_foreach(json_object_get(sel, "matchLabels"), k, v)
		SEL_ADD("%s%s=%s", len ? "," : "", k,
			json_is_string(v) ? json_string_value(v) : "");
	json_array_foreach(json_object_get(sel, "matchExpressions"), i, x)
	{
		const char *key = json_string_value(json_object_get(x, "key"));
		const char *op = json_string_value(json_object_get(x, "operato"
								      "r"));
		json_t *vals = json_object_get(x, "values");
		size_t j;

		if (!key || !op)
			continue;
		if (!strcmp(op, "Exists")) {
			SEL_ADD("%s%s", len ? "," : "", key);
			continue;
		}
		if (!strcmp(op, "DoesNotExist")) {
			SEL_ADD("%s!%s", len ? "," : "", key);
			continue;
		}
		SEL_ADD("%s%s %s (", len ? "," : "", key,
			!strcmp(op, "NotIn") ? "notin" : "in");
		json_array_foreach(vals, j, v)
			SEL_ADD("%s%s", j ? "," : "",
				json_is_string(v) ? json_string_value(v) : "");
		SEL_ADD(")");
	}
#undef SEL_ADD
}

static void info_from_json(struct backup_info *in, json_t *root)
{
	json_t *status = json_object_get(root, "status");
	json_t *meta = json_object_get(root, "metadata");
	const char *s;

	s = json_string_value(json_object_get(status, "phase"));
	snprintf(in->phase, sizeof(in->phase), "%s", s ? s : "");
	s = json_string_value(json_object_get(json_object_get(meta, "labels"),
					      "velero.io/schedule-name"));
	snprintf(in->schedule, sizeof(in->schedule), "%s",
		 s && name_ok(s) ? s : "");
	in->completed = parse_time(json_object_get(status, "completionTimestam"
							   "p"));
	in->time = in->completed;
	if (!in->time)
		in->time = parse_time(json_object_get(status, "startTimestam"
							      "p"));
	if (!in->time)
		in->time = parse_time(json_object_get(meta, "creationTimestam"
							    "p"));
	in->created = parse_time(json_object_get(meta, "creationTimestamp"));
	in->expires = parse_time(json_object_get(status, "expiration"));
	in->errors = json_integer_value(json_object_get(status, "errors"));
	in->warnings = json_integer_value(json_object_get(status, "warnings"));
	s = json_string_value(json_object_get(json_object_get(root, "spec"),
					      "storageLocation"));
	snprintf(in->location, sizeof(in->location), "%s", s ? s : "");
	format_selector(json_object_get(json_object_get(root, "spec"), "labelSe"
								       "lecto"
								       "r"),
			in->selector, sizeof(in->selector));
}

/* Loads velero-backup.json; called with b->lock held. */
static int info_load(struct backup *b, struct verror *e)
{
	struct sbuf buf;
	struct vault_object obj = { 0 };
	json_error_t jerr;
	json_t *root;
	char key[512];
	int r;

	if (b->snapshot) {
		/* nothing to read: the snapshot file is the recovery point,
		 * taken when it was written */
		memset(&b->info, 0, sizeof(b->info));
		snprintf(b->info.phase, sizeof(b->info.phase), "Completed");
		b->info.time = b->info.completed = b->info.created =
			b->snap_obj.mtime;
		b->info.valid = true;
		b->info_loaded = true;
		return 0;
	}
	snprintf(key, sizeof(key), "backups/%s/velero-backup.json", b->name);
	sbuf_init(&buf, BACKUP_JSON_MAX);
	r = vault_get(b->repo->vault, key, &buf, &obj, e);
	b->json_known = r == 0 || r == -ENOENT;
	snprintf(b->json_id, sizeof(b->json_id), "%s",
		 r == -ENOENT ? "" : obj.identity);
	if (r < 0 && backup_offline_error(r) &&
	    catalog_backup_json(b->repo, b->name, &buf, &obj.mtime) == 0)
		r = 0; /* unreachable: the copy the cache holds */
	else if (r == 0)
		catalog_set_backup_json(b->repo, b->name, buf.buf, buf.len,
					obj.mtime);
	b->json_mtime = obj.mtime;
	memset(&b->info, 0, sizeof(b->info));
	if (r == -ENOENT) {
		b->info_error = strdup("velero-backup.json is missing: the "
				       "backup is incomplete (still being "
				       "uploaded, or partly deleted)");
	} else if (r == -E2BIG) {
		b->info_error = strdup("velero-backup.json is larger than "
				       "16 MiB; not read");
	} else if (r < 0) {
		sbuf_release(&buf);
		return r;
	} else {
		root = json_loadb(buf.buf, buf.len, JSON_REJECT_DUPLICATES,
				  &jerr);
		if (!root || !json_is_object(root)) {
			if (asprintf(&b->info_error,
				     "velero-backup.json does not parse: line "
				     "%d column %d: %s",
				     jerr.line, jerr.column,
				     root ? "not a JSON object" : jerr.text) <
			    0)
				b->info_error = NULL;
		} else {
			info_from_json(&b->info, root);
			b->info.valid = true;
		}
		json_decref(root);
		b->backup_json_len = buf.len;
		b->backup_json = sbuf_take(&buf, NULL);
	}
	if (!b->info.time)
		b->info.time = obj.mtime;
	sbuf_release(&buf);
	b->info_loaded = true;
	return 0;
}

int backup_info(struct backup *b, struct backup_info *out, struct verror *e)
{
	int r = 0;

	pthread_mutex_lock(&b->lock);
	if (!b->info_loaded)
		r = info_load(b, e);
	if (r == 0)
		*out = b->info;
	pthread_mutex_unlock(&b->lock);
	return r;
}

/* Snapshot of the present slots, so that vault reads happen without
 * repo->lock. */
static size_t slots_copy(struct backup_repo *r, struct backup ***out)
{
	size_t n, i, k = 0;

	pthread_rwlock_rdlock(&r->lock);
	n = r->nslots;
	*out = malloc((n ? n : 1) * sizeof(**out));
	for (i = 0; *out && i < n; i++)
		if (!r->slots[i]->gone)
			(*out)[k++] = r->slots[i];
	pthread_rwlock_unlock(&r->lock);
	return *out ? k : 0;
}

static size_t slot_of(struct backup_repo *r, struct backup *b)
{
	size_t i, s = SIZE_MAX;

	pthread_rwlock_rdlock(&r->lock);
	for (i = 0; i < r->nslots; i++)
		if (r->slots[i] == b)
			s = i;
	pthread_rwlock_unlock(&r->lock);
	return s;
}

int backup_repo_latest(struct backup_repo *r, size_t *slot)
{
	struct backup **v, *best = NULL;
	struct backup_info best_in = { 0 };
	size_t n, i;

	n = slots_copy(r, &v);
	for (i = 0; i < n; i++) {
		struct backup_info in;

		if (v[i]->snapshot || backup_info(v[i], &in, NULL) < 0 ||
		    !in.valid || strcmp(in.phase, "Completed") != 0)
			continue;
		if (!best || in.time > best_in.time ||
		    (in.time == best_in.time &&
		     strcmp(v[i]->name, best->name) > 0)) {
			best = v[i];
			best_in = in;
		}
	}
	free(v);
	if (!best)
		return -ENOENT;
	*slot = slot_of(r, best);
	return 0;
}

int backup_repo_latest_link(struct backup_repo *r, size_t *slot)
{
	if (backup_repo_find(r, BACKUP_LATEST, NULL))
		return -ENOENT;
	return backup_repo_latest(r, slot);
}

/* Adds every schedule name seen in the present backups. */
static void schedules_update(struct backup_repo *r)
{
	struct backup **v;
	size_t n, i, j;

	n = slots_copy(r, &v);
	for (i = 0; i < n; i++) {
		struct backup_info in;
		bool known = false;

		if (backup_info(v[i], &in, NULL) < 0 || !in.schedule[0])
			continue;
		pthread_rwlock_wrlock(&r->lock);
		for (j = 0; j < r->nschedules && !known; j++)
			known = strcmp(r->schedules[j].name, in.schedule) == 0;
		if (!known) {
			struct schedule *ns =
				realloc(r->schedules,
					(r->nschedules + 1) * sizeof(*ns));
			char *name = strdup(in.schedule);

			if (ns && name) {
				r->schedules = ns;
				r->schedules[r->nschedules++].name = name;
			} else {
				if (ns)
					r->schedules = ns;
				free(name);
			}
		}
		pthread_rwlock_unlock(&r->lock);
	}
	free(v);
}

size_t backup_repo_schedule_count(struct backup_repo *r)
{
	schedules_update(r);
	return READ_LOCKED(r, r->nschedules);
}

const char *backup_repo_schedule_name(struct backup_repo *r, size_t i)
{
	return READ_LOCKED(r, i < r->nschedules ? r->schedules[i].name : NULL);
}

int backup_repo_schedule_find(struct backup_repo *r, const char *name,
			      size_t *i)
{
	size_t j, n = backup_repo_schedule_count(r);

	for (j = 0; j < n; j++)
		if (strcmp(backup_repo_schedule_name(r, j), name) == 0) {
			*i = j;
			return 0;
		}
	return -ENOENT;
}

int backup_repo_schedule_members(struct backup_repo *r, size_t i,
				 size_t **slots, size_t *n)
{
	const char *name = backup_repo_schedule_name(r, i);
	size_t count, k, m = 0, *out;

	if (!name)
		return -ENOENT;
	count = backup_repo_count(r);
	out = malloc((count ? count : 1) * sizeof(*out));
	if (!out)
		return -ENOMEM;
	for (k = 0; k < count; k++) {
		struct backup *b = backup_repo_slot(r, k);
		struct backup_info in;

		if (!b || backup_gone(b) || backup_info(b, &in, NULL) < 0 ||
		    strcmp(in.schedule, name) != 0)
			continue;
		out[m++] = k;
	}
	/* slots are in discovery order; users expect name order */
	for (k = 1; k < m; k++) {
		size_t x = out[k], j = k;

		while (j > 0 && strcmp(backup_repo_slot(r, out[j - 1])->name,
				       backup_repo_slot(r, x)->name) > 0) {
			out[j] = out[j - 1];
			j--;
		}
		out[j] = x;
	}
	*slots = out;
	*n = m;
	return 0;
}
