/* kopia_walk: opens a kopia repository (a restic one when PREFIX starts
 * with "restic/") through repo/ and prints every
 * entry of a snapshot as one JSON line (path, mode, size, mtime_ns, uid,
 * gid, target, nlink and ino of a hard-linked file, sha256 of the content
 * read back, or error), for
 * tests/test_volumes.py. Not installed.
 *
 *   kopia_walk VAULT_URL PREFIX SNAPSHOT_ID [PASSWORD_FILE]
 *
 * Reads files in pieces of $KOPIA_WALK_READ bytes (default 131072, what
 * FUSE asks for). $KOPIA_WALK_CACHE names a cache directory for the
 * blobs (none by default). Exit 0 when the walk ran (entries may carry errors),
 * 1 when the repository or snapshot does not open (the message on stderr starts
 * with the errno name). */
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cache/cache.h"
#include "repo/repo.h"

static size_t piece = 131072;

static void walk(struct vrepo *r, const struct ventry *dir, const char *path)
{
	struct ventry *v = NULL;
	struct verror e = { { 0 } };
	size_t n = 0, i;
	int rc = vrepo_list(r, dir, &v, &n, &e);

	if (rc < 0) {
		json_t *o = json_pack("{s:s,s:s,s:i}", "path", path, "error",
				      e.msg, "errno", -rc);

		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
		return;
	}
	for (i = 0; i < n; i++) {
		char *p = NULL;
		json_t *o;

		if (asprintf(&p, "%s%s%s", path, *path ? "/" : "", v[i].name) <
		    0)
			abort();
		o = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "path", p, "mode",
			      (json_int_t)v[i].mode, "size",
			      (json_int_t)v[i].size, "mtime_ns",
			      (json_int_t)v[i].mtime_ns, "uid",
			      (json_int_t)v[i].uid, "gid",
			      (json_int_t)v[i].gid);
		if (v[i].target)
			json_object_set_new(o, "target",
					    json_string(v[i].target));
		if (v[i].nlink > 1) { /* a hard link */
			json_object_set_new(o, "nlink",
					    json_integer(v[i].nlink));
			json_object_set_new(o, "ino",
					    json_integer((json_int_t)v[i].ino));
		}
		if (S_ISREG(v[i].mode)) {
			EVP_MD_CTX *md = EVP_MD_CTX_new();
			unsigned char h[32];
			char hex[65];
			char *buf = malloc(piece);
			uint64_t off = 0;
			unsigned hl, k;

			EVP_DigestInit_ex(md, EVP_sha256(), NULL);
			for (;;) {
				ssize_t got;

				verror_clear(&e);
				got = vrepo_read(r, &v[i], buf, piece, off, &e);
				if (got < 0) {
					json_object_set_new(o, "error",
							    json_string(e.msg));
					json_object_set_new(o, "errno",
							    json_integer(-got));
					break;
				}
				if (got == 0)
					break;
				EVP_DigestUpdate(md, buf, (size_t)got);
				off += (uint64_t)got;
			}
			EVP_DigestFinal_ex(md, h, &hl);
			for (k = 0; k < 32; k++)
				sprintf(hex + 2 * k, "%02x", h[k]);
			if (!json_object_get(o, "error"))
				json_object_set_new(o, "sha256",
						    json_string(hex));
			json_object_set_new(o, "read",
					    json_integer((json_int_t)off));
			EVP_MD_CTX_free(md);
			free(buf);
		}
		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
		if (S_ISDIR(v[i].mode))
			walk(r, &v[i], p);
		free(p);
		ventry_release(&v[i]);
	}
	free(v);
}

int main(int argc, char **argv)
{
	struct vault *v = NULL;
	struct vrepo *r = NULL;
	struct cache *c = NULL;
	struct ventry root = { 0 };
	struct verror e = { { 0 } };
	char pw[1024] = "static-passw0rd";
	const char *env = getenv("KOPIA_WALK_READ");
	int rc;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: kopia_walk VAULT_URL PREFIX SNAPSHOT "
				"[PASSWORD_FILE]\n");
		return 2;
	}
	if (env && atol(env) > 0)
		piece = (size_t)atol(env);
	if (argc == 5) {
		FILE *f = fopen(argv[4], "r");
		size_t n;

		if (!f || !(n = fread(pw, 1, sizeof(pw) - 1, f))) {
			perror(argv[4]);
			return 2;
		}
		pw[n] = '\0';
		pw[strcspn(pw, "\r\n")] = '\0';
		fclose(f);
	}
	rc = vault_open(argv[1], NULL, &v, &e);
	if (rc >= 0 && getenv("KOPIA_WALK_CACHE"))
		rc = cache_open(getenv("KOPIA_WALK_CACHE"), 0, &c, &e);
	if (rc >= 0)
		rc = vrepo_open(v, c,
				strncmp(argv[2], "restic/", 7) ? VREPO_KOPIA :
								 VREPO_RESTIC,
				argv[2], pw, &r, &e);
	if (rc >= 0)
		rc = vrepo_snapshot_root(r, argv[3], &root, &e);
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", strerrorname_np(-rc), e.msg);
		vrepo_free(r);
		cache_free(c);
		vault_free(v);
		return 1;
	}
	{
		json_t *o = json_pack("{s:s,s:I,s:I,s:I,s:I}", "path", "",
				      "mode", (json_int_t)root.mode, "mtime_ns",
				      (json_int_t)root.mtime_ns, "uid",
				      (json_int_t)root.uid, "gid",
				      (json_int_t)root.gid);

		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
	}
	walk(r, &root, "");
	ventry_release(&root);
	vrepo_free(r);
	cache_free(c);
	vault_free(v);
	return 0;
}
