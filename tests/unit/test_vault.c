/* Unit tests for vault/: the local backend (and what it must not follow
 * or wait for) and the URL parser and scrubber. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testvault.h"
#include "vault/vault.h"

struct seen {
	int files, dirs;
	char names[8][64];
};

static int on_entry(const char *name, const struct vault_object *obj,
		    void *userdata)
{
	struct seen *s = userdata;

	if (s->files + s->dirs < 8)
		snprintf(s->names[s->files + s->dirs], 64, "%s%s", name,
			 obj ? "" : "/");
	if (obj)
		s->files++;
	else
		s->dirs++;
	return 0;
}

static int stop_early(const char *name, const struct vault_object *obj,
		      void *userdata)
{
	(void)name, (void)obj, (void)userdata;
	return -ECANCELED;
}

static void test_open(void)
{
	struct vault *v = NULL;
	struct verror e;
	char url[300];

	CHECK_EQ_INT(vault_open("", NULL, &v, &e), -EINVAL);
	CHECK_EQ_INT(vault_open("gs://bucket", NULL, &v, &e), -EPROTONOSUPPORT);
	CHECK(strstr(e.msg, "gs") != NULL);
	CHECK_EQ_INT(vault_open("file://relative", NULL, &v, &e), -EINVAL);
	CHECK_EQ_INT(vault_open("/nonexistent/velerofs", NULL, &v, &e),
		     -ENOENT);
	CHECK(strstr(e.msg, "/nonexistent/velerofs") != NULL);
	CHECK(v == NULL);
	snprintf(url, sizeof(url), "file://%s", tv_root);
	CHECK_EQ_INT(vault_open(url, NULL, &v, &e), 0);
	CHECK(v && !strncmp(vault_id(v), "file:///", 8));
	v = vault_free(v);
	CHECK(vault_free(NULL) == NULL);
}

static void test_list_stat_get(void)
{
	struct vault *v = NULL;
	struct vault_object o, o2;
	struct seen s = { 0 };
	struct verror e;
	struct sbuf b;

	CHECK_EQ_INT(vault_open(tv_root, NULL, &v, &e), 0);
	if (!v)
		return;
	CHECK_EQ_INT(vault_list(v, "backups/", on_entry, &s, &e), 0);
	CHECK_EQ_INT(s.dirs, 2);
	CHECK_EQ_INT(s.files, 1);
	memset(&s, 0, sizeof(s));
	CHECK_EQ_INT(vault_list(v, "nothing-here/", on_entry, &s, &e), 0);
	CHECK_EQ_INT(s.dirs + s.files, 0);
	CHECK_EQ_INT(vault_list(v, "backups/", stop_early, NULL, &e),
		     -ECANCELED);
	CHECK_EQ_INT(vault_list(v, "../", on_entry, &s, &e), -EINVAL);

	CHECK_EQ_INT(vault_stat(v, "backups/a/velero-backup.json", &o, &e), 0);
	CHECK_EQ_INT(o.size, 7);
	CHECK(o.identity[0] != '\0');
	CHECK_EQ_INT(vault_stat(v, "backups/a/missing", &o2, &e), -ENOENT);
	CHECK_EQ_INT(vault_stat(v, "backups/a", &o2, &e), -ENOENT);
	CHECK_EQ_INT(vault_stat(v, "/etc/passwd", &o2, &e), -EINVAL);
	CHECK_EQ_INT(vault_stat(v, "backups/../../etc/passwd", &o2, &e),
		     -EINVAL);

	sbuf_init(&b, 0);
	CHECK_EQ_INT(vault_get(v, "backups/a/velero-backup.json", &b, &o2, &e),
		     0);
	CHECK_STREQ(sbuf_str(&b), "{\"a\":1}");
	CHECK_STREQ(o2.identity, o.identity);
	CHECK_EQ_INT(vault_get(v, "backups/a/none", &b, NULL, &e), -ENOENT);
	sbuf_release(&b);
	/* capped: an object bigger than the buffer's cap is refused whole */
	sbuf_init(&b, 3);
	CHECK_EQ_INT(vault_get(v, "backups/a/velero-backup.json", &b, NULL, &e),
		     -E2BIG);
	CHECK_EQ_INT(b.len, 0);
	sbuf_release(&b);
	/* exactly at the cap is fine */
	sbuf_init(&b, 7);
	CHECK_EQ_INT(vault_get(v, "backups/a/velero-backup.json", &b, NULL, &e),
		     0);
	sbuf_release(&b);
	vault_free(v);
}

static void test_stale(void)
{
	struct vault *v = NULL;
	struct vault_stream *st = NULL;
	struct vault_object o;
	struct verror e;
	char buf[64];

	CHECK_EQ_INT(vault_open(tv_root, NULL, &v, &e), 0);
	if (!v)
		return;
	CHECK_EQ_INT(vault_stat(v, "backups/b/velero-backup.json", &o, &e), 0);
	sleep(0); /* identities include nanoseconds and the size */
	tv_puts("backups/b/velero-backup.json", "{\"b\":22}");
	CHECK_EQ_INT(vault_stream_open(v, "backups/b/velero-backup.json", &o,
				       &st, &e),
		     -ESTALE);
	CHECK(strstr(e.msg, "changed") != NULL);
	CHECK_EQ_INT(vault_stream_open(v, "backups/b/velero-backup.json", NULL,
				       &st, &e),
		     0);
	if (st) {
		CHECK_EQ_INT(vault_stream_read(st, buf, sizeof(buf), &e), 8);
		CHECK_EQ_INT(vault_stream_read(st, buf, sizeof(buf), &e), 0);
		vault_stream_free(st);
	}
	vault_free(v);
}

/* Symbolic links that lead out of the vault are not followed (a linked
 * /proc/self/environ or a file of the user's is not served); links that
 * stay inside are; a FIFO neither hangs a read nor shows up. */
static void test_links_and_fifos(void)
{
	char path[800], outside[700];
	struct vault *v = NULL;
	struct vault_stream *st = NULL;
	struct vault_object o;
	struct seen s = { 0 };
	struct verror e;
	int i, saw_inside = 0, saw_out = 0;

	snprintf(outside, sizeof(outside), "%s-outside", tv_root);
	CHECK_EQ_INT(mkdir(outside, 0700), 0);
	snprintf(path, sizeof(path), "%s/secret.json", outside);
	{
		FILE *f = fopen(path, "w");

		CHECK(f != NULL);
		if (f) {
			fputs("{\"secret\":1}", f);
			fclose(f);
		}
	}
	snprintf(path, sizeof(path), "%s/backups/a/leak.json", tv_root);
	CHECK_EQ_INT(symlink("/proc/self/environ", path), 0);
	snprintf(path, sizeof(path), "%s/backups/a/leak2.json", tv_root);
	snprintf(outside + strlen(outside), 40, "/secret.json");
	CHECK_EQ_INT(symlink(outside, path), 0);
	snprintf(path, sizeof(path), "%s/backups/a/inside.json", tv_root);
	CHECK_EQ_INT(symlink("../b/velero-backup.json", path), 0);
	snprintf(path, sizeof(path), "%s/backups/out", tv_root);
	CHECK_EQ_INT(symlink("/etc", path), 0);
	snprintf(path, sizeof(path), "%s/backups/a/fifo", tv_root);
	CHECK_EQ_INT(mkfifo(path, 0600), 0);

	CHECK_EQ_INT(vault_open(tv_root, NULL, &v, &e), 0);
	if (!v)
		return;
	CHECK_EQ_INT(vault_stat(v, "backups/a/leak.json", &o, &e), -ENOENT);
	CHECK(strstr(e.msg, "out of the vault") != NULL);
	CHECK_EQ_INT(vault_stream_open(v, "backups/a/leak.json", NULL, &st, &e),
		     -ENOENT);
	CHECK_EQ_INT(vault_stat(v, "backups/a/leak2.json", &o, &e), -ENOENT);
	CHECK_EQ_INT(vault_stream_open(v, "backups/a/leak2.json", NULL, &st,
				       &e),
		     -ENOENT);
	CHECK_EQ_INT(vault_stat(v, "backups/out/passwd", &o, &e), -ENOENT);
	CHECK_EQ_INT(vault_stat(v, "backups/a/inside.json", &o, &e), 0);
	/* returns at once: no writer on the FIFO is ever coming */
	CHECK_EQ_INT(vault_stream_open(v, "backups/a/fifo", NULL, &st, &e),
		     -EIO);
	CHECK(st == NULL);
	CHECK_EQ_INT(vault_list(v, "backups/a/", on_entry, &s, &e), 0);
	for (i = 0; i < s.files + s.dirs && i < 8; i++) {
		saw_inside |= !strcmp(s.names[i], "inside.json");
		saw_out |= !strncmp(s.names[i], "leak", 4) ||
			   !strcmp(s.names[i], "fifo");
	}
	CHECK(saw_inside && !saw_out);
	memset(&s, 0, sizeof(s));
	CHECK_EQ_INT(vault_list(v, "backups/", on_entry, &s, &e), 0);
	CHECK_EQ_INT(s.dirs, 2); /* a, b; not out -> /etc */
	memset(&s, 0, sizeof(s));
	CHECK_EQ_INT(vault_list(v, "backups/out/", on_entry, &s, &e), 0);
	CHECK_EQ_INT(s.dirs + s.files, 0);
	vault_free(v);
	snprintf(path, sizeof(path), "rm -rf '%s-outside'", tv_root);
	CHECK_EQ_INT(system(path), 0);
}

static void scrubbed(const char *url, const char *want)
{
	char buf[512];
	size_t n = strlen(url), i;

	memset(buf, 'Z', sizeof(buf));
	snprintf(buf, sizeof(buf), "%s", url);
	vault_url_scrub(buf);
	CHECK_STREQ(buf, want);
	for (i = strlen(buf); i <= n; i++)
		CHECK(buf[i] == '\0'); /* the rest of the argument is wiped */
}

static void test_scrub(void)
{
	scrubbed("azblob://acct/c/p?endpoint=http://127.0.0.1:1/acct&"
		 "sas=sv%3D2021%26sig%3DSECRET&insecure=1",
		 "azblob://acct/c/p?endpoint=http://127.0.0.1:1/acct&sas=***&"
		 "insecure=1");
	scrubbed("s3://b/p?region=eu&X-Amz-Signature=abc&X-Amz-Credential=k&"
		 "token=t",
		 "s3://b/p?region=eu&X-Amz-Signature=***&X-Amz-Credential=*&"
		 "token=*");
	scrubbed("s3://user:pass@b/p", "s3://***@b/p");
	scrubbed("azblob://a/c?sig=", "azblob://a/c?sig=");
	scrubbed("/srv/bsl?sig=x", "/srv/bsl?sig=x"); /* a path, not a URL */
	scrubbed("s3://bucket/prefix", "s3://bucket/prefix");
}

int main(void)
{
	if (!tv_init("vault"))
		return 1;
	tv_mkdirs("backups/a");
	tv_mkdirs("backups/b");
	tv_puts("backups/a/velero-backup.json", "{\"a\":1}");
	tv_puts("backups/b/velero-backup.json", "{\"b\":2}");
	tv_puts("backups/stray-file", "x");

	test_open();
	test_list_stat_get();
	test_stale();
	test_links_and_fifos();
	test_scrub();

	tv_cleanup();
	return check_status();
}
