/* backup/source_etcd: an etcd snapshot (`etcdctl snapshot save`) as a
 * recovery point (struct backup_source_ops, see source_i.h).
 *
 * The snapshot file is fetched once into a temporary file of the cache
 * (never committed: the index is what is kept) and read through etcd/:
 * every live key at its newest revision, placed by k8s_key_parse() and
 * decoded by k8s_value_to_json() (after etcd_crypt_decrypt() for values
 * encrypted at rest) into the same namespaces/ and cluster/ items a
 * Velero backup has. Besides the items:
 *
 *   describe.txt  what `etcdutl snapshot status` prints, the cluster
 *                 (kube-system's uid), the Kubernetes version when the
 *                 snapshot tells it, counts per kind, and every key that
 *                 is not an item, with the reason
 *   keys.txt      every key: mod revision, value size and where it is
 *                 shown (the item's path, or raw/)
 *   raw/<key>     the stored bytes of each key velerofs could not place
 *                 or decode (the service IP and port allocators, values
 *                 encrypted with a key not given or with KMS, values that
 *                 do not decode), the key's '/'-separated components as
 *                 directories; an encrypted value is shown as stored
 *   pki/          the files of a pki/ folder beside the snapshot in the
 *                 vault (GKE on VMware's backup layout); private keys
 *                 mode 0400
 *
 * A snapshot that can't be opened (not bbolt, truncated, no etcd key
 * bucket) is still a recovery point: its errors.txt and describe.txt say
 * why. Only the vault failing fails the build. No FUSE here. */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backup/backup_i.h"
#include "backup/source_i.h"
#include "common/log.h"
#include "common/macro.h"
#include "etcd/etcd.h"

#define VALUE_JSON_MAX ((size_t)256 << 20)
#define PKI_FILE_MAX ((size_t)1 << 20)
#define PKI_MAX_FILES 256
#define PROBLEMS_SHOWN 1000

struct etcd_src {
	struct backup_source base;
	const char *keyv[8];
	char crypt_id[80];
	struct cache_writer *dl; /* the downloaded snapshot */
	void *map;		 /* it mapped, or NULL */
	size_t map_len;
	struct etcd_snapshot *snap;
	struct backup_sink *sink; /* during read() */
	int err;		  /* first fatal sink error */
	char *open_error;	  /* why the snapshot could not be read */
	bool status_ok;
	struct etcd_status st;
	char *integrity; /* what etcd_snapshot_verify() said */
	uint64_t nkeys, nitems_keys, nraw;
	struct sbuf problems; /* "<key>: <why>\n" for describe.txt */
	size_t nproblems;
	struct sbuf keys; /* keys.txt */
	struct sbuf json, notes, plain, path;
	char uid[64];
	char kube_version[64];
	char kube_version_from[64];
	int64_t kube_version_rank;
};

/* ---- the snapshot file ---- */

static int dl_pread(void *ud, void *buf, size_t len, uint64_t off,
		    struct verror *e)
{
	int fd = *(int *)ud;
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got,
				  (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return verror_set(e, -EIO,
					  "reading the snapshot at %llu: %s",
					  (unsigned long long)(off + got),
					  n < 0 ? strerror(errno) :
						  "unexpected end of file");
		got += (size_t)n;
	}
	return 0;
}

/* Copies the snapshot object into a temporary file of the cache. */
static int download(struct etcd_src *s, uint64_t *size, struct verror *e)
{
	struct backup *b = s->base.b;
	struct backup_repo *repo = b->repo;
	const char *parts[] = { "snapshot-download", vault_id(repo->vault),
				b->vault_key };
	struct vault_stream *vs = NULL;
	char *path = cache_entry_path(repo->cache, "dl", parts, 3);
	char *buf = malloc(1 << 20);
	uint64_t total = 0;
	int r;

	if (!path || !buf) {
		free(path);
		free(buf);
		return -ENOMEM;
	}
	r = cache_writer_open(repo->cache, path, &s->dl, e);
	free(path);
	if (r == 0)
		r = vault_stream_open(repo->vault, b->vault_key, &b->snap_obj,
				      &vs, e);
	while (r == 0) {
		ssize_t n = vault_stream_read(vs, buf, 1 << 20, e);
		const char *p = buf;

		if (n < 0) {
			r = (int)n;
			break;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		while (n > 0) {
			ssize_t w = write(cache_writer_fd(s->dl), p, (size_t)n);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				r = verror_set(e, -errno,
					       "cache: writing the snapshot: "
					       "%s",
					       strerror(errno));
				break;
			}
			p += w;
			n -= w;
		}
	}
	vault_stream_free(vs);
	free(buf);
	if (r < 0)
		return verror_prefix(e, r, "%s", b->vault_key);
	*size = total;
	return 0;
}

/* ---- what the keys tell about the cluster ---- */

/* kube-system's uid, and the Kubernetes version (kubeadm's
 * ClusterConfiguration, else the newest kubelet of the nodes). */
static void learn(struct etcd_src *s, const struct k8s_key *k, const char *json,
		  size_t len)
{
	json_t *o;

	/* by the key first: parsing every ConfigMap's JSON to find
	 * kubeadm-config was an eighth of a 10,000-object build */
	bool system_ns = !strcmp(k->gr, "namespaces");
	bool kubeadm_cm = !strcmp(k->gr, "configmaps") && k->ns &&
			  !strcmp(k->ns, "kube-system");

	system_ns = system_ns && !strcmp(k->name, "kube-system");
	kubeadm_cm = kubeadm_cm && !strcmp(k->name, "kubeadm-config");
	if (!system_ns && !kubeadm_cm && strcmp(k->gr, "nodes"))
		return;
	o = json_loadb(json, len, 0, NULL);
	if (!o)
		return;
	if (!strcmp(k->gr, "namespaces") && !strcmp(k->name, "kube-system")) {
		const char *uid = json_string_value(
			json_object_get(json_object_get(o, "metadata"), "uid"));

		if (uid)
			snprintf(s->uid, sizeof(s->uid), "%s", uid);
	} else if (!strcmp(k->gr, "configmaps") && k->ns &&
		   !strcmp(k->ns, "kube-system") &&
		   !strcmp(k->name, "kubeadm-config")) {
		const char *cc = json_string_value(
			json_object_get(json_object_get(o, "data"), "ClusterCon"
								    "figuratio"
								    "n"));
		const char *v = cc ? strstr(cc, "kubernetesVersion:") : NULL;

		if (v) {
			v += strlen("kubernetesVersion:");
			v += strspn(v, " \"'");
			snprintf(s->kube_version, sizeof(s->kube_version),
				 "%.*s", (int)MIN(strcspn(v, " \"'\r\n"), 63),
				 v);
			snprintf(s->kube_version_from,
				 sizeof(s->kube_version_from),
				 "kubeadm-config");
			s->kube_version_rank = INT64_MAX;
		}
	} else if (!strcmp(k->gr, "nodes") &&
		   s->kube_version_rank != INT64_MAX) {
		const char *v = json_string_value(json_object_get(
			json_object_get(json_object_get(o, "status"), "nodeInf"
								      "o"),
			"kubeletVersion"));
		unsigned a = 0, bb = 0, c = 0;

		if (v && sscanf(v, "v%u.%u.%u", &a, &bb, &c) == 3 &&
		    ((int64_t)a << 40 | (int64_t)bb << 20 | c) >
			    s->kube_version_rank) {
			s->kube_version_rank = (int64_t)a << 40 |
					       (int64_t)bb << 20 | c;
			snprintf(s->kube_version, sizeof(s->kube_version), "%s",
				 v);
			snprintf(s->kube_version_from,
				 sizeof(s->kube_version_from),
				 "the nodes' kubelets");
		}
	}
	json_decref(o);
}

/* ---- keys ---- */

static void problem(struct etcd_src *s, const char *key, size_t klen,
		    const char *fmt, ...) _printf_(4, 5);
/* A key that is not an item: describe.txt and errors.txt say why. */
static void problem(struct etcd_src *s, const char *key, size_t klen,
		    const char *fmt, ...)
{
	char *why = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&why, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	backup_sink_item_error(s->sink, "%.*s: %s", (int)klen, key, why);
	if (++s->nproblems <= PROBLEMS_SHOWN) {
		(void)sbuf_add(&s->problems, "  ", 2);
		(void)sbuf_add_escaped(&s->problems, key, klen);
		(void)sbuf_addf(&s->problems, ": %s\n", why);
	}
	free(why);
}

/* Appends the raw/ path of key to s->path: each '/'-separated component
 * a directory, escaped so that it is a valid file name. */
static int raw_path(struct etcd_src *s, const char *key, size_t len)
{
	size_t i = 0;
	int r = sbuf_adds(&s->path, "raw");

	if (len && key[0] == '/')
		i = 1;
	while (r == 0 && i <= len) {
		size_t j = i, start = s->path.len + 1;

		while (j < len && key[j] != '/')
			j++;
		r = sbuf_addc(&s->path, '/');
		if (r == 0 && j == i)
			r = sbuf_adds(&s->path, "%");
		else if (r == 0 &&
			 ((j - i == 1 && key[i] == '.') ||
			  (j - i == 2 && key[i] == '.' && key[i + 1] == '.')))
			r = sbuf_addn(&s->path, '%', j - i + 1);
		for (size_t k = i; r == 0 && k < j; k++) {
			unsigned char c = (unsigned char)key[k];

			if (c < 0x20 || c == 0x7f || c == '%')
				r = sbuf_addf(&s->path, "%%%02X", c);
			else
				r = sbuf_addc(&s->path, (char)c);
		}
		if (r == 0 && s->path.len - start > 255) {
			/* a component too long for a file name */
			char *comp = strndup(s->path.buf + start,
					     s->path.len - start);

			if (!comp)
				return -ENOMEM;
			s->path.len = start;
			s->path.buf[start] = '\0';
			r = backup_component_name(comp, strlen(comp), 0,
						  &s->path);
			free(comp);
		}
		i = j + 1;
	}
	return r;
}

/* The stored bytes of key under raw/, and its keys.txt line. */
static int add_raw(struct etcd_src *s, const struct etcd_kv *kv)
{
	int r;

	sbuf_reset(&s->path);
	r = raw_path(s, kv->key, kv->key_len);
	if (r == -ENOMEM)
		return r;
	if (r < 0) /* absurd key: keys.txt still lists it */
		return 0;
	s->nraw++;
	r = backup_sink_file(s->sink, s->path.buf, kv->value, kv->value_len);
	if (r < 0)
		return r;
	(void)sbuf_addf(&s->keys, "\t%s\n", s->path.buf);
	return 0;
}

static void keys_line(struct etcd_src *s, const struct etcd_kv *kv)
{
	(void)sbuf_add_escaped(&s->keys, kv->key, kv->key_len);
	(void)sbuf_addf(&s->keys, "\t%lld\t%zu", (long long)kv->mod_revision,
			kv->value_len);
}

static int on_kv(void *ud, const struct etcd_kv *kv)
{
	struct etcd_src *s = ud;
	struct backup_repo *repo = s->base.b->repo;
	struct verror e = { { 0 } };
	const void *val = kv->value;
	size_t vlen = kv->value_len;
	char kbuf[1024], label[1100];
	const struct sbuf *item;
	struct k8s_key k;
	int r;

	s->nkeys++;
	keys_line(s, kv);
	r = k8s_key_parse(kv->key, kv->key_len, kbuf, sizeof(kbuf), &k);
	if (r < 0 || !k.known) {
		/* not an object of an API: the allocators, leases of the
		 * apiservers, compact_rev_key; shown as stored */
		r = add_raw(s, kv);
		return r < 0 ? (s->err = r) : 0;
	}
	snprintf(label, sizeof(label), "%.*s", (int)MIN(kv->key_len, 1000),
		 kv->key);
	if (etcd_value_encrypted(val, vlen)) {
		sbuf_reset(&s->plain);
		r = etcd_crypt_decrypt(repo->opt.crypt, kv->key, kv->key_len,
				       k.gr, val, vlen, &s->plain, &e);
		if (r == -ENOMEM)
			return s->err = r;
		if (r < 0) {
			problem(s, kv->key, kv->key_len, "%s",
				e.msg[0] ? e.msg :
					   (r == -EOPNOTSUPP ? "encrypted with "
							       "KMS: not "
							       "decrypted" :
							       strerror(-r)));
			r = add_raw(s, kv);
			return r < 0 ? (s->err = r) : 0;
		}
		val = s->plain.buf;
		vlen = s->plain.len;
	}
	sbuf_reset(&s->json);
	sbuf_reset(&s->notes);
	verror_clear(&e);
	/* the object as the apiserver returns it: decoded, with what it
	 * adds on read (resourceVersion, read-time defaults, CRDs as v1) */
	r = k8s_object_to_json(val, vlen, kv->mod_revision, &s->json, &s->notes,
			       &e);
	if (r == -ENOMEM)
		return s->err = r;
	if (r < 0) {
		problem(s, kv->key, kv->key_len, "%s",
			e.msg[0] ? e.msg : strerror(-r));
		r = add_raw(s, kv);
		return r < 0 ? (s->err = r) : 0;
	}
	if (s->notes.len) {
		/* decoded, but something was skipped: say what */
		const char *p = s->notes.buf, *end = p + s->notes.len;

		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

			if (n)
				backup_sink_error(s->sink, "%s: %.*s", label,
						  (int)n, p);
			p += n + 1;
		}
	}
	learn(s, &k, s->json.buf, s->json.len);
	item = &s->json;
	r = backup_sink_item(s->sink,
			     &(struct backup_item){ .ns = k.ns,
						    .gr = k.gr,
						    .name = k.name,
						    .label = label,
						    .json = sbuf_str(item),
						    .len = item->len });
	if (r < 0)
		return s->err = r;
	s->nitems_keys++;
	if (k.ns)
		(void)sbuf_addf(&s->keys, "\tnamespaces/%s/%s/%s\n", k.ns, k.gr,
				k.name);
	else
		(void)sbuf_addf(&s->keys, "\tcluster/%s/%s\n", k.gr, k.name);
	return 0;
}

static void on_problem(void *ud, const char *fmt, ...) _printf_(2, 3);
static void on_problem(void *ud, const char *fmt, ...)
{
	struct etcd_src *s = ud;
	char *line = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	backup_sink_item_error(s->sink, "%s", line);
	if (++s->nproblems <= PROBLEMS_SHOWN)
		(void)sbuf_addf(&s->problems, "  %s\n", line);
	free(line);
}

/* ---- pki/ ---- */

struct pki_list {
	const char *sub; /* "" or "etcd/" */
	char **names;	 /* relative to pki/ */
	size_t n;
	char **subs;
	size_t nsubs;
};

static int on_pki(const char *name, const struct vault_object *obj,
		  void *userdata)
{
	struct pki_list *l = userdata;
	char ***v = obj ? &l->names : &l->subs;
	size_t *n = obj ? &l->n : &l->nsubs;
	char **p;

	if (l->n + l->nsubs >= PKI_MAX_FILES || !*name || name[0] == '.' ||
	    (!obj && *l->sub))
		return 0;
	p = realloc(*v, (*n + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	*v = p;
	if (asprintf(&p[*n], "%s%s%s", l->sub, name, obj ? "" : "/") < 0)
		return -ENOMEM;
	(*n)++;
	return 0;
}

/* The pki/ folder beside the snapshot in the vault, if any (and its
 * subfolders one level down: kubeadm's pki/etcd/), with
 * certificates.txt (etcd_pki_report(), days left counted from the
 * snapshot's time: the cached text never goes stale); private keys mode
 * 0400. */
static int add_pki(struct etcd_src *s, struct verror *e)
{
	struct backup *b = s->base.b;
	struct backup_repo *repo = b->repo;
	const char *slash = strrchr(b->vault_key, '/');
	struct pki_list l = { .sub = "" };
	struct etcd_pki_file *files = NULL;
	struct sbuf *data = NULL, report;
	size_t nf = 0, i;
	char *dir = NULL, key[1200];
	int r;

	if (asprintf(&dir, "%.*spki/",
		     slash ? (int)(slash - b->vault_key + 1) : 0,
		     b->vault_key) < 0)
		return -ENOMEM;
	r = vault_list(repo->vault, dir, on_pki, &l, e);
	for (i = 0; r == 0 && i < l.nsubs; i++) {
		l.sub = l.subs[i];
		snprintf(key, sizeof(key), "%s%s", dir, l.subs[i]);
		r = vault_list(repo->vault, key, on_pki, &l, e);
	}
	if (r == 0 && l.n) {
		files = calloc(l.n, sizeof(*files));
		data = calloc(l.n, sizeof(*data));
		if (!files || !data)
			r = -ENOMEM;
	}
	for (i = 0; r == 0 && i < l.n; i++) {
		snprintf(key, sizeof(key), "%s%s", dir, l.names[i]);
		sbuf_init(&data[nf], PKI_FILE_MAX);
		r = vault_get(repo->vault, key, &data[nf], NULL, e);
		if (r == -E2BIG || r == -ENOENT) {
			backup_sink_error(s->sink, "%s: %s", key,
					  r == -E2BIG ? "larger than 1 MiB; "
							"not shown" :
							"vanished");
			sbuf_release(&data[nf]);
			r = 0;
			continue;
		}
		files[nf].name = l.names[i];
		files[nf].data = sbuf_str(&data[nf]);
		files[nf].len = data[nf].len;
		nf++;
	}
	sbuf_init(&report, (size_t)4 << 20);
	if (r == 0 && nf)
		r = etcd_pki_report(files, nf, (int64_t)b->snap_obj.mtime,
				    &report, e);
	if (r == -E2BIG) {
		backup_sink_error(s->sink, "pki/certificates.txt: too long");
		r = 0;
	}
	if (r == 0 && report.len)
		r = backup_sink_file(s->sink, "pki/certificates.txt",
				     report.buf, report.len);
	for (i = 0; r == 0 && i < nf; i++) {
		char path[1200];

		snprintf(path, sizeof(path), "pki/%s", files[i].name);
		r = (files[i].private_key ||
				     etcd_pki_private_key(files[i].data,
							  files[i].len) ?
			     backup_sink_file_private :
			     backup_sink_file)(s->sink, path, files[i].data,
					       files[i].len);
	}
	sbuf_release(&report);
	for (i = 0; i < nf; i++)
		sbuf_release(&data[i]);
	free(data);
	free(files);
	for (i = 0; i < l.n; i++)
		free(l.names[i]);
	free(l.names);
	for (i = 0; i < l.nsubs; i++)
		free(l.subs[i]);
	free(l.subs);
	free(dir);
	return r;
}

/* ---- the source ---- */

static int etcd_read(struct backup_source *base, struct backup_sink *k,
		     struct verror *e)
{
	struct etcd_src *s = (struct etcd_src *)base;
	struct verror oe = { { 0 } };
	struct etcd_reader rd = { .pread = dl_pread };
	uint64_t size = 0;
	int fd, r;

	s->sink = k;
	r = download(s, &size, e);
	if (r < 0)
		return r;
	fd = cache_writer_fd(s->dl);
	rd.ud = &fd;
	rd.size = size;
	/* the file is ours (a temporary file of the cache that nothing
	 * else writes or truncates): its pages are read in place */
	if (size && size <= SIZE_MAX) {
		void *m =
			mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);

		if (m != MAP_FAILED) {
			s->map = m;
			s->map_len = (size_t)size;
			rd.map = m;
		}
	}
	/* the digest etcdctl appends covers every byte: checked first, so a
	 * file damaged too badly to open still says whether it was damaged
	 * after it was saved */
	r = etcd_reader_verify(&rd, &oe);
	if (r == -ENOMEM)
		return r;
	if (r == 1)
		s->integrity = strdup("the SHA-256 etcdctl snapshot save "
				      "appended "
				      "matches");
	else if (r == 0)
		s->integrity = strdup("no SHA-256 appended (a copy of a "
				      "member's db "
				      "file, not etcdctl snapshot save): not "
				      "checked");
	else {
		if (asprintf(&s->integrity, "DAMAGED: %s",
			     oe.msg[0] ? oe.msg : strerror(-r)) < 0)
			s->integrity = NULL;
		backup_sink_error(k, "%s: %s", base->b->vault_key,
				  oe.msg[0] ? oe.msg : strerror(-r));
	}
	verror_clear(&oe);
	r = etcd_snapshot_open(&rd, &s->snap, &oe);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		s->open_error = strdup(oe.msg[0] ? oe.msg : strerror(-r));
		backup_sink_error(k, "%s: %s", base->b->vault_key,
				  s->open_error ? s->open_error : "unreadable");
	} else {
		verror_clear(&oe);
		s->status_ok = etcd_snapshot_status(s->snap, &s->st, &oe) == 0;
		if (!s->status_ok)
			backup_sink_error(k, "%s: status: %s",
					  base->b->vault_key, oe.msg);
		verror_clear(&oe);
		r = etcd_snapshot_each(s->snap, on_kv, on_problem, s, &oe);
		if (s->err)
			return verror_set(e, s->err, "%s", strerror(-s->err));
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			/* the tree is damaged past some key: what was read
			 * is shown */
			s->open_error =
				strdup(oe.msg[0] ? oe.msg : strerror(-r));
			backup_sink_error(k, "%s: %s", base->b->vault_key,
					  s->open_error ? s->open_error :
							  "damaged");
		}
	}
	if (s->keys.len) {
		r = backup_sink_file(k, "keys.txt", s->keys.buf, s->keys.len);
		if (r < 0)
			return r;
	}
	r = add_pki(s, e);
	if (r < 0 && !backup_offline_error(r) && r != -ENOMEM) {
		backup_sink_error(k, "pki/: %s",
				  e && e->msg[0] ? e->msg : strerror(-r));
		r = 0;
	}
	return r;
}

/* etcdutl's TOTAL SIZE: go-humanize's Bytes (SI units, "25 kB"). */
static void human_bytes(uint64_t n, char *out, size_t size)
{
	static const char *const units[] = { "B",  "kB", "MB", "GB",
					     "TB", "PB", "EB" };
	double v = (double)n;
	size_t u = 0;

	if (n < 10) {
		snprintf(out, size, "%llu B", (unsigned long long)n);
		return;
	}
	while (v >= 1000 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1000;
		u++;
	}
	/* go-humanize: one decimal below 10, none above */
	if (v < 10)
		snprintf(out, size, "%.1f %s", v, units[u]);
	else
		snprintf(out, size, "%.0f %s", v, units[u]);
}

static int etcd_describe(struct backup_source *base,
			 const struct backup_summary *sum, struct sbuf *out)
{
	struct etcd_src *s = (struct etcd_src *)base;
	struct backup *b = base->b;
	char when[64], hb[32];
	struct tm tm;
	time_t t = (time_t)b->snap_obj.mtime;
	int r = 0;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
#define ADD(...)                                         \
	do {                                             \
		if (r == 0)                              \
			r = sbuf_addf(out, __VA_ARGS__); \
	} while (0)
	ADD("Name:         %s\n", b->name);
	ADD("Kind:         etcd snapshot\n");
	ADD("File:         %s (%llu bytes, written %s)\n", b->vault_key,
	    (unsigned long long)b->snap_obj.size, when);
	if (b->cluster[0])
		ADD("Cluster name: %s (from the file name)\n", b->cluster);
	ADD("Cluster UID:  %s\n", s->uid[0] ? s->uid :
					      "<unknown> (no kube-system "
					      "namespace)");
	if (s->kube_version[0])
		ADD("Kubernetes:   %s (from %s)\n", s->kube_version,
		    s->kube_version_from);
	else
		ADD("Kubernetes:   <unknown> (no kubeadm-config, no nodes)\n");
	if (b->repo->opt.crypt)
		ADD("Encryption:   decrypted with the given "
		    "EncryptionConfiguration\n");
	else
		ADD("Encryption:   no EncryptionConfiguration given\n");
	ADD("\n");
	if (s->open_error)
		ADD("Error:        %s\n\n", s->open_error);
	if (s->integrity)
		ADD("Integrity:    %s\n\n", s->integrity);
	if (s->status_ok) {
		struct sbuf line;

		sbuf_init(&line, 4096);
		(void)etcd_status_format(&s->st, &line);
		ADD("etcdutl snapshot status:\n  %s", sbuf_str(&line));
		if (!line.len || line.buf[line.len - 1] != '\n')
			ADD("\n");
		sbuf_release(&line);
		human_bytes(s->st.size, hb, sizeof(hb));
		ADD("  Hash:        %x\n", s->st.hash);
		ADD("  Revision:    %lld\n", (long long)s->st.revision);
		ADD("  Total keys:  %llu\n",
		    (unsigned long long)s->st.total_keys);
		ADD("  Total size:  %s (%llu bytes in use, the file %llu)\n",
		    hb, (unsigned long long)s->st.size,
		    (unsigned long long)s->st.file_size);
		ADD("  Version:     %s\n",
		    s->st.version[0] ? s->st.version : "<unknown>");
		if (s->st.compacted)
			ADD("  Compacted:   %lld\n",
			    (long long)s->st.compacted);
		ADD("\n");
	}
	ADD("Keys:         %llu live (%llu shown as items, %llu under raw/; "
	    "every key in keys.txt)\n",
	    (unsigned long long)s->nkeys, (unsigned long long)s->nitems_keys,
	    (unsigned long long)s->nraw);
	ADD("Items:        %zu\n", sum->nitems);
	if (sum->nkinds)
		ADD("\nResource List:\n");
	for (size_t i = 0; i < sum->nkinds; i++)
		ADD("  %s: %zu\n", sum->kinds[i].group_resource,
		    sum->kinds[i].count);
	if (s->nproblems) {
		ADD("\nKeys not decoded (%zu; their stored bytes are under "
		    "raw/):\n",
		    s->nproblems);
		if (r == 0)
			r = sbuf_add(out, sbuf_str(&s->problems),
				     s->problems.len);
		if (s->nproblems > PROBLEMS_SHOWN)
			ADD("  ... and %zu more (errors.txt)\n",
			    s->nproblems - PROBLEMS_SHOWN);
	}
#undef ADD
	return r;
}

static void etcd_close(struct backup_source *base)
{
	struct etcd_src *s = (struct etcd_src *)base;

	if (!s)
		return;
	etcd_snapshot_free(s->snap);
	if (s->map)
		munmap(s->map, s->map_len);
	cache_writer_free(s->dl); /* the download is never kept */
	free(s->open_error);
	free(s->integrity);
	sbuf_release(&s->problems);
	sbuf_release(&s->keys);
	sbuf_release(&s->json);
	sbuf_release(&s->notes);
	sbuf_release(&s->plain);
	sbuf_release(&s->path);
	free(s);
}

static int etcd_open(struct backup *b, struct backup_source **out,
		     struct verror *e)
{
	struct etcd_src *s = calloc(1, sizeof(*s));
	const struct backup_options *o = &b->repo->opt;

	(void)e;
	if (!s)
		return -ENOMEM;
	s->base.ops = &backup_source_etcd;
	s->base.b = b;
	/* the index depends on the object and on the keys it was decrypted
	 * with */
	snprintf(s->crypt_id, sizeof(s->crypt_id), "%s",
		 o->crypt ? o->crypt_id : "-");
	s->keyv[0] = "etcd-snapshot";
	s->keyv[1] = b->vault_key;
	s->keyv[2] = "identity";
	s->keyv[3] = b->snap_obj.identity;
	s->keyv[4] = "encryption-config";
	s->keyv[5] = s->crypt_id;
	s->base.key = s->keyv;
	s->base.nkey = 6;
	sbuf_init(&s->problems, (size_t)4 << 20);
	sbuf_init(&s->keys, (size_t)512 << 20);
	sbuf_init(&s->json, VALUE_JSON_MAX);
	sbuf_init(&s->notes, (size_t)1 << 20);
	sbuf_init(&s->plain, VALUE_JSON_MAX);
	sbuf_init(&s->path, 8192);
	*out = &s->base;
	return 0;
}

const struct backup_source_ops backup_source_etcd = {
	.name = "etcd",
	.open = etcd_open,
	.read = etcd_read,
	.describe = etcd_describe,
	.close = etcd_close,
};
