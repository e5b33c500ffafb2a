/* Unit test of the seam between sources and the index (backup/source_i.h):
 * a source that is not Velero's - a few lines that yield items - gets the
 * same tree, views and error reporting, and its key decides when the
 * cached index is rebuilt. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/backup_i.h"
#include "backup/source_i.h"
#include "check.h"

static char root[256], cachedir[300];
static const char *fake_key[] = { "generation", "1" };
static int fake_reads;
static const struct backup_source_ops fake;

static int fake_open(struct backup *b, struct backup_source **out,
		     struct verror *e)
{
	struct backup_source *s = calloc(1, sizeof(*s));

	(void)e;
	if (!s)
		return -ENOMEM;
	s->ops = &fake;
	s->b = b;
	s->key = fake_key;
	s->nkey = 2;
	*out = s;
	return 0;
}

static int fake_read(struct backup_source *s, struct backup_sink *k,
		     struct verror *e)
{
	static const char cm[] = "{\"kind\":\"ConfigMap\",\"data\":{\"a\":"
				 "\"1\"}}";
	static const char ns[] = "{\"kind\":\"Namespace\"}";
	struct backup_item it = { .ns = "shop",
				  .gr = "configmaps",
				  .name = "app",
				  .label = "/registry/configmaps/shop/app",
				  .json = cm,
				  .len = sizeof(cm) - 1 };
	int r;

	(void)s;
	(void)e;
	fake_reads++;
	r = backup_sink_item(k, &it);
	it = (struct backup_item){ .gr = "namespaces",
				   .name = "shop",
				   .version = "v1",
				   .label = "/registry/namespaces/shop",
				   .json = ns,
				   .len = sizeof(ns) - 1 };
	if (r == 0)
		r = backup_sink_item(k, &it);
	it = (struct backup_item){ .ns = "shop",
				   .gr = "secrets",
				   .name = "broken",
				   .label = "/registry/secrets/shop/broken",
				   .json = "{\"x\":",
				   .len = 5 };
	if (r == 0)
		r = backup_sink_item(k, &it);
	backup_sink_item_error(k, "/registry/pods/shop/x: not decoded");
	if (r == 0)
		r = backup_sink_file(k, "status.txt", "ok\n", 3);
	return r;
}

static int fake_describe(struct backup_source *s,
			 const struct backup_summary *sum, struct sbuf *out)
{
	(void)s;
	return sbuf_addf(out, "items %zu errors %zu kinds %zu\n", sum->nitems,
			 sum->item_errors, sum->nkinds);
}

static void fake_close(struct backup_source *s)
{
	free(s);
}

static const struct backup_source_ops fake = {
	.name = "fake",
	.open = fake_open,
	.read = fake_read,
	.describe = fake_describe,
	.close = fake_close,
};

static char *slurp(struct backup *b, const char *path, int *err)
{
	struct verror e;
	uint32_t node;
	const void *data;
	size_t got;
	char *s;

	*err = backup_node_walk(b, path, &node, &e);
	if (*err == 0)
		*err = backup_node_read(b, node, 0, 1 << 20, &data, &got, &e);
	if (*err < 0)
		return NULL;
	s = malloc(got + 1);
	memcpy(s, data, got);
	s[got] = '\0';
	return s;
}

static void check_file(struct backup *b, const char *path, const char *want)
{
	int err;
	char *s = slurp(b, path, &err);

	CHECK_EQ_INT(err, 0);
	if (s)
		CHECK_STREQ(s, want);
	free(s);
}

static struct backup *open_fake(struct backup_repo **r, struct vault **v,
				struct cache **c)
{
	struct backup_options o = { .view = BACKUP_VIEW_YAML };
	struct verror e;
	struct backup *b;

	CHECK_EQ_INT(vault_open(root, NULL, v, &e), 0);
	CHECK_EQ_INT(cache_open(cachedir, 0, c, &e), 0);
	CHECK_EQ_INT(backup_repo_new(*v, *c, &o, r), 0);
	CHECK_EQ_INT(backup_repo_refresh(*r, &e), 0);
	b = backup_repo_find(*r, "snap", NULL);
	CHECK(b != NULL);
	b->source = &fake;
	CHECK_EQ_INT(backup_open(b, &e), 0);
	return b;
}

static void close_fake(struct backup_repo *r, struct vault *v, struct cache *c)
{
	backup_repo_free(r);
	cache_free(c);
	vault_free(v);
}

static void test_fake_source(void)
{
	struct backup_repo *r;
	struct vault *v;
	struct cache *c;
	struct backup *b;
	struct verror e;
	uint32_t node;
	int err;
	char *s;

	b = open_fake(&r, &v, &c);
	CHECK_EQ_INT(fake_reads, 1);
	check_file(b, "namespaces/shop/configmaps/app.yaml",
		   "kind: ConfigMap\ndata:\n  a: \"1\"\n");
	/* no version-less copy: the versioned one is shown, and under
	 * apiversions/ */
	check_file(b, "cluster/namespaces/shop.yaml", "kind: Namespace\n");
	check_file(b, "apiversions/namespaces/v1/cluster/shop.yaml",
		   "kind: Namespace\n");
	check_file(b, "status.txt", "ok\n");
	check_file(b, "describe.txt", "items 3 errors 2 kinds 3\n");
	s = slurp(b, "errors.txt", &err);
	CHECK(s && strstr(s, "/registry/secrets/shop/broken: "));
	CHECK(s && strstr(s, "/registry/pods/shop/x: not decoded\n"));
	free(s);
	/* the item that does not parse is there, reads EIO, mode 0400 */
	CHECK_EQ_INT(backup_node_walk(b, "namespaces/shop/secrets/broken.yaml",
				      &node, &e),
		     0);
	s = slurp(b, "namespaces/shop/secrets/broken.yaml", &err);
	CHECK(s == NULL);
	CHECK_EQ_INT(err, -EIO);
	close_fake(r, v, c);

	/* the same key: mapped from the cache, the source is not read */
	b = open_fake(&r, &v, &c);
	CHECK_EQ_INT(fake_reads, 1);
	CHECK_EQ_INT(backup_build_ms(b), 0);
	close_fake(r, v, c);

	/* a new key: a new index */
	fake_key[1] = "2";
	b = open_fake(&r, &v, &c);
	CHECK_EQ_INT(fake_reads, 2);
	close_fake(r, v, c);
}

int main(void)
{
	char cmd[700];

	snprintf(root, sizeof(root), "/tmp/velerofs-test-source-XXXXXX");
	if (!mkdtemp(root))
		return 1;
	snprintf(cachedir, sizeof(cachedir), "%s.cache", root);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/backups/snap'", root);
	CHECK(system(cmd) == 0);
	snprintf(cmd, sizeof(cmd), "echo '{}' > '%s/backups/snap/x'", root);
	CHECK(system(cmd) == 0);
	test_fake_source();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", root, cachedir);
	CHECK(system(cmd) == 0);
	return check_status();
}
