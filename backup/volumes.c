/* backup/volumes: backups/<b>/volumes/<ns>/<pod>/<volume>/..., the pod
 * volumes a backup's file-system backup stored in the vault's kopia and
 * restic repositories, as a lazy tree of nodes (see backup.h,
 * backup_vol_*).
 *
 * The first level comes from <b>-podvolumebackups.json.gz (completed
 * PodVolumeBackups with a snapshot id: uploaderType "kopia" in kopia/<ns>/,
 * "restic" or none (Velero before 1.10) in restic/<ns>/, the repository
 * identifier Velero's pkg/repository/config forms under the BSL); below a
 * volume, directories are listed from the repository when first looked
 * at (repo/). Nodes are never freed before the repo: memory grows with
 * what is browsed (about 200 bytes per entry seen). Repositories are
 * opened once per prefix and kept; one refused for a wrong password
 * (-EACCES), a format velerofs does not read or a missing repository
 * (-EIO) is remembered, and its volumes fail with that, the message given
 * (in e) the first time only, so that the caller logs it once; other
 * failures are tried again on the next use. The lock is held while a repository
 * opens (the key derivation and the index: once per repository). No FUSE here.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "backup/backup_i.h"
#include "common/log.h"
#include "repo/repo.h"

#define PVB_MAX ((size_t)64 << 20)

struct vnode {
	uint64_t parent;
	struct ventry ent; /* name, mode, times; obj "" for made-up dirs */
	struct vrepo_slot *repo; /* the repository below a volume; NULL above */
	char *snapshot;		 /* a volume's snapshot id; NULL otherwise */
	bool loaded;		 /* children known */
	int err;		 /* its snapshot is not in the repository */
	uint64_t *kids;		 /* sorted by name */
	size_t nkids;
	uint64_t vol;  /* the volume it is in; 0 for a volume and above */
	uint64_t same; /* a hard link: the node of the first name seen of
			* that file, which lookups give; 0 */
};

/* A hard-linked file of a volume: its first name seen. */
struct vlink {
	uint64_t vol, dev, ino; /* the key */
	uint64_t id;
};

struct vrepo_slot {
	char *prefix;
	enum vrepo_kind kind;
	bool absent;	 /* no kopia.repository (restic: config) there: its
			  * volumes not shown */
	struct vrepo *r; /* NULL when it did not open */
	int err;
	char msg[512];
};

struct backup_vols {
	struct vault *vault; /* borrowed */
	struct cache *cache; /* borrowed, may be NULL */
	pthread_mutex_t lock;
	char *password;		  /* NULL: Velero's default */
	char password_id[80];	  /* what the password is, for cache keys */
	struct vnode **nodes;	  /* protected by lock; id = index + 1 */
	size_t n, cap;		  /* protected by lock */
	struct vrepo_slot *repos; /* protected by lock */
	size_t nrepos;		  /* protected by lock */
	uint64_t *roots;	  /* protected by lock: per backup slot + 1,
				   * the volumes/ node, 0 unknown, UINT64_MAX
				   * none */
	size_t nroots;		  /* protected by lock */
	struct vlink *links;	  /* protected by lock: sorted by key */
	size_t nlinks, links_cap; /* protected by lock */
};

/* "default", or "sha256:<hex>" of "velerofs repo password\0" + the
 * password: names the password in a cache key without giving it away. */
static void password_id(const char *pw, char *out, size_t len)
{
	static const char tag[] = "velerofs repo password";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0, i;
	size_t o;

	snprintf(out, len, "default");
	if (!pw)
		return;
	{
		EVP_MD_CTX *c = EVP_MD_CTX_new();
		int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
			 EVP_DigestUpdate(c, tag, sizeof(tag)) == 1 &&
			 EVP_DigestUpdate(c, pw, strlen(pw)) == 1 &&
			 EVP_DigestFinal_ex(c, md, &n) == 1;

		EVP_MD_CTX_free(c);
		if (!ok)
			return;
	}
	o = (size_t)snprintf(out, len, "sha256:");
	for (i = 0; i < n && o + 3 <= len; i++, o += 2)
		snprintf(out + o, len - o, "%02x", md[i]);
}

int backup_vols_new(struct vault *vault, struct cache *cache,
		    const char *password, struct backup_vols **out)
{
	struct backup_vols *v = calloc(1, sizeof(*v));

	if (!v || (password && !(v->password = strdup(password)))) {
		free(v);
		return -ENOMEM;
	}
	v->vault = vault;
	v->cache = cache;
	password_id(password, v->password_id, sizeof(v->password_id));
	pthread_mutex_init(&v->lock, NULL);
	*out = v;
	return 0;
}

struct backup_vols *backup_vols_free(struct backup_vols *v)
{
	size_t i;

	if (!v)
		return NULL;
	for (i = 0; i < v->n; i++) {
		ventry_release(&v->nodes[i]->ent);
		free(v->nodes[i]->snapshot);
		free(v->nodes[i]->kids);
		free(v->nodes[i]);
	}
	for (i = 0; i < v->nrepos; i++) {
		vrepo_free(v->repos[i].r);
		free(v->repos[i].prefix);
	}
	free(v->repos);
	free(v->nodes);
	free(v->roots);
	free(v->links);
	free(v->password);
	pthread_mutex_destroy(&v->lock);
	free(v);
	return NULL;
}

/* Adds a node (steals ent's strings); its id, or 0 when out of memory.
 * Called with lock held. */
static uint64_t node_add(struct backup_vols *v, uint64_t parent,
			 struct ventry *ent)
{
	struct vnode *n;

	if (v->n == v->cap) {
		size_t nc = v->cap ? 2 * v->cap : 256;
		struct vnode **p = realloc(v->nodes, nc * sizeof(*p));

		if (!p)
			return 0;
		v->nodes = p;
		v->cap = nc;
	}
	if (!(n = calloc(1, sizeof(*n))))
		return 0;
	n->parent = parent;
	n->ent = *ent;
	memset(ent, 0, sizeof(*ent));
	v->nodes[v->n++] = n;
	return v->n;
}

static struct vnode *node_get(struct backup_vols *v, uint64_t id)
{
	return id && id <= v->n ? v->nodes[id - 1] : NULL;
}

static int kid_add(struct vnode *d, uint64_t id)
{
	uint64_t *k = realloc(d->kids, (d->nkids + 1) * sizeof(*k));

	if (!k)
		return -ENOMEM;
	d->kids = k;
	d->kids[d->nkids++] = id;
	return 0;
}

/* The child of d named name, made as a directory if missing. */
static uint64_t dir_child(struct backup_vols *v, uint64_t did, const char *name,
			  int64_t mtime_ns)
{
	struct vnode *d = node_get(v, did);
	struct ventry e = { .mode = S_IFDIR | 0555, .mtime_ns = mtime_ns };
	uint64_t id;
	size_t i;

	for (i = 0; i < d->nkids; i++)
		if (!strcmp(node_get(v, d->kids[i])->ent.name, name))
			return d->kids[i];
	if (!(e.name = strdup(name)))
		return 0;
	id = node_add(v, did, &e);
	if (!id) {
		free(e.name);
		return 0;
	}
	d = node_get(v, did);
	if (kid_add(d, id) < 0)
		return 0;
	return id;
}

static bool safe_name(const char *s)
{
	return s && *s && strlen(s) <= 253 && !strchr(s, '/') &&
	       strcmp(s, ".") && strcmp(s, "..");
}

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int gunzip(const char *in, size_t len, struct sbuf *out)
{
	z_stream z = { 0 };
	int zr = Z_OK, r = 0;

	if (inflateInit2(&z, 15 + 16) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	while (zr != Z_STREAM_END) {
		char *p = sbuf_reserve(out, 65536, &r);

		if (!p)
			break;
		z.next_out = (Bytef *)p;
		z.avail_out = 65536;
		zr = inflate(&z, Z_NO_FLUSH);
		sbuf_commit(out, 65536 - z.avail_out);
		if ((zr != Z_OK && zr != Z_STREAM_END) ||
		    (zr == Z_OK && z.avail_in == 0 && z.avail_out)) {
			r = -EBADMSG;
			break;
		}
	}
	inflateEnd(&z);
	return r;
}

/* The slot of the repository at prefix, made (and its kopia.repository
 * looked for) the first time. Lock held. NULL when out of memory or
 * when there are 1024 repositories already. */
static struct vrepo_slot *slot_get(struct backup_vols *v, enum vrepo_kind kind,
				   const char *prefix)
{
	struct vault_object o;
	struct vrepo_slot *rs;
	char fkey[320];
	size_t k;

	for (k = 0; k < v->nrepos; k++)
		if (!strcmp(v->repos[k].prefix, prefix))
			return &v->repos[k];
	/* repos never move: allocated once, big enough */
	if (!v->repos && !(v->repos = calloc(1024, sizeof(*v->repos))))
		return NULL;
	if (v->nrepos == 1024)
		return NULL;
	rs = &v->repos[v->nrepos];
	if (!(rs->prefix = strdup(prefix)))
		return NULL;
	rs->kind = kind;
	v->nrepos++;
	/* a restic repository's config marks it present */
	snprintf(fkey, sizeof(fkey), "%s%s", prefix,
		 kind == VREPO_KOPIA ? "kopia.repository" : "config");
	rs->absent = vault_stat(v->vault, fkey, &o, NULL) == -ENOENT;
	return rs;
}

/* Opens rs's repository if not yet done. Lock held. A wrong password, a
 * format velerofs does not read or a missing repository is remembered
 * (rs->err, rs->msg) and returned again without a message; other
 * failures (the vault) are tried again next time. */
static int slot_open(struct backup_vols *v, struct vrepo_slot *rs,
		     struct verror *e)
{
	struct verror oe = { { 0 } };
	int r, err;

	if (rs->r)
		return 0;
	if (rs->err)
		return rs->err; /* said the first time (e left empty) */
	r = vrepo_open(v->vault, v->cache, rs->kind, rs->prefix, v->password,
		       &rs->r, &oe);
	if (r >= 0)
		return 0;
	err = r == -EACCES ? -EACCES : -EIO;
	if (r == -EACCES || r == -EPROTONOSUPPORT || r == -ENOENT) {
		rs->err = err;
		snprintf(rs->msg, sizeof(rs->msg), "%s", oe.msg);
	}
	return verror_set(e, err, "%s", oe.msg);
}

/* Builds volumes/ of b from its PodVolumeBackups. Lock held. 0 with *id
 * set, or -ENOENT when there is nothing to show. */
static int build_root(struct backup_vols *v, struct backup *b, int64_t mtime_ns,
		      uint64_t *id, struct verror *e)
{
	struct ventry re = { .mode = S_IFDIR | 0555, .mtime_ns = mtime_ns };
	struct sbuf gz, js;
	char *key = NULL;
	json_t *list = NULL, *pvb;
	uint64_t root = 0;
	size_t i;
	int r;

	if (asprintf(&key, "backups/%s/%s-podvolumebackups.json.gz", b->name,
		     b->name) < 0)
		return -ENOMEM;
	sbuf_init(&gz, PVB_MAX);
	sbuf_init(&js, PVB_MAX);
	/* the cache's copy when the vault can't be reached */
	r = vrepo_get_latest(b->repo->vault, v->cache, key, &gz, e);
	if (r >= 0 && gunzip(gz.buf, gz.len, &js) < 0)
		r = verror_set(e, -EIO, "%s: not gzip'ed JSON", key);
	if (r >= 0)
		list = json_loadb(js.buf, js.len, 0, NULL);
	/* json_is_array() evaluates its argument twice: not a call in it */
	if (r >= 0 && !json_is_array(list))
		r = -ENOENT; /* null: no pod volume backups */
	json_array_foreach(list, i, pvb)
	{
		json_t *spec = json_object_get(pvb, "spec");
		json_t *st = json_object_get(pvb, "status");
		json_t *pod = json_object_get(spec, "pod");
		const char *ns = jstr(pod, "namespace");
		const char *pn = jstr(pod, "name");
		const char *vol = jstr(spec, "volume");
		const char *up = jstr(spec, "uploaderType");
		const char *ph = jstr(st, "phase");
		const char *snap = jstr(st, "snapshotID");
		uint64_t nsid, podid, vid;
		struct vrepo_slot *rs;
		struct vnode *vn;
		char prefix[300];
		enum vrepo_kind kind;

		if (!safe_name(ns) || !safe_name(pn) || !safe_name(vol) ||
		    !ph || strcmp(ph, "Completed") || !snap || !*snap)
			continue;
		if (up && !strcmp(up, "kopia"))
			kind = VREPO_KOPIA;
		else if (!up || !*up || !strcmp(up, "restic"))
			kind = VREPO_RESTIC;
		else
			continue;
		/* the repository first: a volume whose repository is not in
		 * the vault (a partial copy, a deleted kopia/) is not shown */
		snprintf(prefix, sizeof(prefix), "%s/%s/",
			 kind == VREPO_KOPIA ? "kopia" : "restic", ns);
		rs = slot_get(v, kind, prefix);
		if (!rs)
			break;
		if (rs->absent)
			continue;
		if (!root && !(re.name = strdup("volumes")))
			break;
		if (!root && !(root = node_add(v, 0, &re)))
			break;
		if (!(nsid = dir_child(v, root, ns, mtime_ns)) ||
		    !(podid = dir_child(v, nsid, pn, mtime_ns)) ||
		    !(vid = dir_child(v, podid, vol, mtime_ns)))
			break;
		vn = node_get(v, vid);
		if (vn->snapshot)
			continue; /* the same volume twice: the first */
		if (!(vn->snapshot = strdup(snap)))
			break;
		vn->repo = rs;
	}
	free(re.name);
	json_decref(list);
	sbuf_release(&gz);
	sbuf_release(&js);
	free(key);
	if (r == -ENOENT || (r >= 0 && !root))
		return -ENOENT;
	if (r < 0)
		return r;
	*id = root;
	return 0;
}

int backup_vol_root(struct backup *b, size_t slot, uint64_t *id,
		    struct verror *e)
{
	struct backup_vols *v = b->repo->vols;
	struct backup_stat bs;
	uint64_t got = 0;
	int r;

	if (!v)
		return -ENOENT;
	r = backup_node_stat(b, BACKUP_NODE_ROOT, &bs, e);
	if (r < 0)
		return r;
	pthread_mutex_lock(&v->lock);
	if (slot >= v->nroots) {
		uint64_t *p = realloc(v->roots, (slot + 1) * sizeof(*p));

		if (!p) {
			pthread_mutex_unlock(&v->lock);
			return -ENOMEM;
		}
		memset(p + v->nroots, 0, (slot + 1 - v->nroots) * sizeof(*p));
		v->roots = p;
		v->nroots = slot + 1;
	}
	got = v->roots[slot];
	if (!got) {
		r = build_root(v, b, bs.mtime * 1000000000, &got, e);
		if (r == -ENOENT)
			got = UINT64_MAX;
		else if (r < 0)
			got = 0; /* try again next time */
		v->roots[slot] = got;
	}
	pthread_mutex_unlock(&v->lock);
	if (!got || got == UINT64_MAX)
		return r < 0 ? r : -ENOENT;
	*id = got;
	return 0;
}

static int link_cmp(const struct vlink *a, const struct vlink *b)
{
	if (a->vol != b->vol)
		return a->vol < b->vol ? -1 : 1;
	if (a->dev != b->dev)
		return a->dev < b->dev ? -1 : 1;
	if (a->ino != b->ino)
		return a->ino < b->ino ? -1 : 1;
	return 0;
}

/* Node id, a file of volume vol that the repository says has other names
 * (ent.nlink > 1): the first of its names seen becomes the node that all
 * of them give (one inode, as `restic restore` makes one file of them);
 * id->same is set for the others. Lock held. Out of memory: each name
 * stays a file of its own. */
static void link_note(struct backup_vols *v, uint64_t vol, uint64_t id)
{
	struct vnode *n = node_get(v, id);
	struct vlink k = { vol, n->ent.dev, n->ent.ino, id };
	size_t lo = 0, hi = v->nlinks;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = link_cmp(&v->links[mid], &k);

		if (!c) {
			n->same = v->links[mid].id;
			return;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (v->nlinks == v->links_cap) {
		size_t nc = v->links_cap ? 2 * v->links_cap : 64;
		struct vlink *p = realloc(v->links, nc * sizeof(*p));

		if (!p)
			return;
		v->links = p;
		v->links_cap = nc;
	}
	memmove(v->links + lo + 1, v->links + lo,
		(v->nlinks - lo) * sizeof(*v->links));
	v->links[lo] = k;
	v->nlinks++;
}

/* The node a name gives: the first name of a hard-linked file. */
static uint64_t node_canon(struct backup_vols *v, uint64_t id)
{
	struct vnode *n = node_get(v, id);

	return n && n->same ? n->same : id;
}

static int by_kid_name(const void *a, const void *b, void *vv)
{
	struct backup_vols *v = vv;

	return strcmp(node_get(v, *(const uint64_t *)a)->ent.name,
		      node_get(v, *(const uint64_t *)b)->ent.name);
}

/* Lists dir id if not yet done. Lock held (released while fetching). */
static int load(struct backup_vols *v, uint64_t id, struct verror *e)
{
	struct vnode *d = node_get(v, id);
	struct vrepo_slot *rs = d->repo;
	struct ventry dir, *ents = NULL;
	struct vrepo *repo;
	uint64_t vol;
	size_t n = 0, i;
	int r;

	if (d->loaded)
		return 0;
	if (d->err)
		return d->err; /* said the first time */
	if (!rs) {
		/* a made-up directory: its children are known (build_root
		 * made them before giving out its id); sorted once */
		if (d->nkids > 1)
			qsort_r(d->kids, d->nkids, sizeof(*d->kids),
				by_kid_name, v);
		d->loaded = true;
		return 0;
	}
	r = slot_open(v, rs, e);
	if (r < 0)
		return r;
	repo = rs->r;
	if (d->snapshot) {
		struct ventry root;

		/* a volume: its snapshot's root, once */
		r = vrepo_snapshot_root(repo, d->snapshot, &root, e);
		if (r < 0) {
			d->err = r == -ENOENT ? -EIO : r;
			return d->err;
		}
		d = node_get(v, id);
		free(root.name);
		root.name = d->ent.name;
		d->ent = root;
		free(d->snapshot);
		d->snapshot = NULL;
	}
	dir = d->ent;
	pthread_mutex_unlock(&v->lock);
	r = vrepo_list(repo, &dir, &ents, &n, e);
	pthread_mutex_lock(&v->lock);
	d = node_get(v, id);
	if (d->loaded) { /* another thread was quicker */
		for (i = 0; i < n; i++)
			ventry_release(&ents[i]);
		free(ents);
		return 0;
	}
	if (r < 0)
		return r; /* tried again next time */
	vol = d->vol ? d->vol : id;
	for (i = 0; i < n; i++) {
		uint64_t k = node_add(v, id, &ents[i]);

		if (!k || kid_add(node_get(v, id), k) < 0) {
			for (; i < n; i++)
				ventry_release(&ents[i]);
			free(ents);
			return -ENOMEM;
		}
		node_get(v, k)->repo = rs;
		node_get(v, k)->vol = vol;
		if (node_get(v, k)->ent.nlink > 1)
			link_note(v, vol, k);
	}
	free(ents);
	d = node_get(v, id);
	d->loaded = true;
	return 0;
}

int backup_vol_stat(struct backup_repo *br, uint64_t id,
		    struct backup_vstat *st, struct verror *e)
{
	struct backup_vols *v = br->vols;
	struct vnode *n;
	int r = 0;

	if (!v)
		return -ENOENT;
	pthread_mutex_lock(&v->lock);
	n = node_get(v, id);
	if (!n) {
		r = -ENOENT;
	} else if (n->snapshot) {
		/* a volume: its root's metadata (a volume that does not
		 * open still shows, as a made-up directory) */
		(void)load(v, id, e);
		n = node_get(v, id);
	}
	if (r >= 0) {
		st->mode = n->ent.mode;
		st->size = n->ent.size;
		st->mtime_ns = n->ent.mtime_ns;
		st->uid = n->ent.uid;
		st->gid = n->ent.gid;
		st->nlink = n->ent.nlink > 1 ? n->ent.nlink : 1;
		st->made_up = !n->repo;
	}
	pthread_mutex_unlock(&v->lock);
	return r;
}

/* Directory id with its children known (listed on first use) and the
 * lock taken: the caller releases it, also when this fails (NULL, *r
 * says why). */
static struct vnode *dir_lock(struct backup_vols *v, uint64_t id, int *r,
			      struct verror *e)
{
	struct vnode *d;

	pthread_mutex_lock(&v->lock);
	d = node_get(v, id);
	if (!d)
		*r = -ENOENT;
	else if (!S_ISDIR(d->ent.mode))
		*r = -ENOTDIR;
	else if ((*r = load(v, id, e)) >= 0)
		return node_get(v, id);
	return NULL;
}

int backup_vol_child(struct backup_repo *br, uint64_t dir, size_t pos,
		     uint64_t *id, char *name, size_t namesz, struct verror *e)
{
	struct backup_vols *v = br->vols;
	struct vnode *d;
	int r;

	if (!v)
		return -ENOENT;
	d = dir_lock(v, dir, &r, e);
	if (d && pos >= d->nkids) {
		r = -ENOENT;
	} else if (d) {
		snprintf(name, namesz, "%s",
			 node_get(v, d->kids[pos])->ent.name);
		*id = node_canon(v, d->kids[pos]);
	}
	pthread_mutex_unlock(&v->lock);
	return r;
}

int backup_vol_lookup(struct backup_repo *br, uint64_t dir, const char *name,
		      uint64_t *id, struct verror *e)
{
	struct backup_vols *v = br->vols;
	struct vnode *d;
	size_t lo = 0, hi = 0;
	int r;

	if (!v)
		return -ENOENT;
	d = dir_lock(v, dir, &r, e);
	if (d) {
		r = -ENOENT;
		hi = d->nkids;
	}
	while (lo < hi) { /* children sorted by name */
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(node_get(v, d->kids[mid])->ent.name, name);

		if (!c) {
			*id = node_canon(v, d->kids[mid]);
			r = 0;
			break;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	pthread_mutex_unlock(&v->lock);
	return r;
}

ssize_t backup_vol_read(struct backup_repo *br, uint64_t id, void *buf,
			size_t size, uint64_t off, struct verror *e)
{
	struct backup_vols *v = br->vols;
	struct vnode *n;
	struct ventry f = { 0 };
	struct vrepo *repo = NULL;

	if (!v)
		return -ENOENT;
	pthread_mutex_lock(&v->lock);
	n = node_get(v, id);
	if (n && S_ISREG(n->ent.mode) && n->repo) {
		f = n->ent; /* name and target are not used by a read */
		f.name = f.target = NULL;
		repo = n->repo->r;
	}
	pthread_mutex_unlock(&v->lock);
	if (!n)
		return -ENOENT;
	if (!repo)
		return -EISDIR;
	return vrepo_read(repo, &f, buf, size, off, e);
}

int backup_vol_readlink(struct backup_repo *br, uint64_t id, char *buf,
			size_t size, struct verror *e)
{
	struct backup_vols *v = br->vols;
	struct vnode *n;
	int r = 0;

	(void)e;
	if (!v)
		return -ENOENT;
	pthread_mutex_lock(&v->lock);
	n = node_get(v, id);
	if (!n)
		r = -ENOENT;
	else if (!S_ISLNK(n->ent.mode) || !n->ent.target)
		r = -EINVAL;
	else if (strlen(n->ent.target) >= size)
		r = -ENAMETOOLONG;
	else
		strcpy(buf, n->ent.target);
	pthread_mutex_unlock(&v->lock);
	return r;
}

const char *backup_vols_password_id(const struct backup_vols *v)
{
	return v ? v->password_id : "none";
}

int backup_vols_verdict(struct backup_vols *v, const char *ns, const char *pod,
			const char *vol, const char *uploader,
			const char *phase, const char *snapshot, char *why,
			size_t len)
{
	struct vrepo_slot *rs;
	enum vrepo_kind kind;
	char prefix[300];
	int r = 0;

	if (uploader && !strcmp(uploader, "kopia"))
		kind = VREPO_KOPIA;
	else if (!uploader || !*uploader || !strcmp(uploader, "restic"))
		kind = VREPO_RESTIC;
	else {
		snprintf(why, len, "uploader '%s' is not one velerofs reads",
			 uploader);
		return 1;
	}
	if (!phase || strcmp(phase, "Completed")) {
		snprintf(why, len,
			 "the pod volume backup did not complete (phase %s)",
			 phase && *phase ? phase : "New");
		return 1;
	}
	if (!snapshot || !*snapshot) {
		snprintf(why, len, "the pod volume backup has no snapshot id");
		return 1;
	}
	if (!safe_name(ns) || !safe_name(pod) || !safe_name(vol)) {
		snprintf(why, len,
			 "its namespace, pod or volume name cannot be "
			 "a file name");
		return 1;
	}
	if (!v) {
		snprintf(why, len, "volume data is not read by this mount");
		return 1;
	}
	snprintf(prefix, sizeof(prefix), "%s/%s/",
		 kind == VREPO_KOPIA ? "kopia" : "restic", ns);
	pthread_mutex_lock(&v->lock);
	rs = slot_get(v, kind, prefix);
	if (!rs) {
		r = -ENOMEM;
	} else if (rs->absent) {
		snprintf(why, len,
			 "its repository %s is not in the vault "
			 "(no %s%s)",
			 prefix, prefix,
			 kind == VREPO_KOPIA ? "kopia.repository" : "config");
		r = 1;
	} else {
		struct verror oe = { { 0 } };

		r = slot_open(v, rs, &oe);
		if (r == -EACCES && v->password)
			snprintf(why, len,
				 "wrong repository password for %s (the one "
				 "given with --repo-password-file does not "
				 "open it)",
				 prefix);
		else if (r == -EACCES)
			snprintf(why, len,
				 "wrong repository password for %s (Velero's "
				 "default does not open it: give the one in "
				 "the velero-repo-credentials secret with "
				 "--repo-password-file)",
				 prefix);
		else if (r < 0 && rs->err)
			snprintf(why, len, "velerofs cannot open %s: %s",
				 prefix, rs->msg);
		if (r < 0 && rs->err)
			r = 1;
	}
	pthread_mutex_unlock(&v->lock);
	return r;
}
