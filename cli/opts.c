/* cli/opts: small option helpers shared by the subcommands. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/log.h"
#include "etcd/etcd.h"

int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	case 't':
	case 'T':
		shift = 40;
		end++;
		break;
	default:
		break;
	}
	if (*end == 'i' && shift)
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || (shift && v > (~0ull >> shift)))
		return -EINVAL;
	*out = v << shift;
	return 0;
}

static int shared_opt(int c, struct cli_opts *o, cli_usage_fn *usage)
{
	switch (c) {
	case 'h':
		usage(stdout);
		return 0;
	case 'V':
		printf("velerofs %s\n", VELEROFS_VERSION);
		return 0;
	case 'c':
		o->cache = optarg;
		return CLI_GO_ON;
	case 'K':
		o->credentials = optarg;
		return CLI_GO_ON;
	case 'E':
		o->encryption_config = optarg;
		return CLI_GO_ON;
	default:
		return cli_usage_error(usage);
	}
}

int cli_parse(const struct cli_cmd *cmd, int argc, char **argv,
	      struct cli_opts *o, void *userdata)
{
	int c, r, n;

	while ((c = getopt_long(argc, argv, cmd->shortopts, cmd->longopts,
				NULL)) != -1) {
		r = cmd->opt ? cmd->opt(c, userdata) : CLI_NOT_MINE;
		if (r == CLI_NOT_MINE)
			r = shared_opt(c, o, cmd->usage);
		if (r != CLI_GO_ON)
			return r;
	}
	n = argc - optind;
	if (n < cmd->min_args || n > cmd->max_args)
		return cli_usage_error(cmd->usage);
	return CLI_GO_ON;
}

int cli_usage_error(cli_usage_fn *usage)
{
	usage(stderr);
	return EXIT_USAGE;
}

const char *cli_why(const struct verror *e, int r)
{
	return e && e->msg[0] ? e->msg : strerror(-r);
}

/* Top-level directories of a vault, and whether backups/ is one. */
struct top_dirs {
	char *names[64];
	size_t n;
	bool has_backups;
};

static int on_top_dir(const char *name, const struct vault_object *obj,
		      void *userdata)
{
	struct top_dirs *t = userdata;

	if (obj)
		return 0;
	if (!strcmp(name, "backups"))
		t->has_backups = true;
	else if (t->n < sizeof(t->names) / sizeof(t->names[0]) &&
		 (t->names[t->n] = strdup(name)))
		t->n++;
	return 0;
}

/* A vault without backups: say so, and when a directory one level down
 * holds backups/ (a BSL with a prefix, `velero/`), name it. Not an error:
 * a new backup storage location has no backups/ yet. */
static void hint_no_backups(struct vault *v)
{
	struct top_dirs top = { { 0 } }, sub;
	char dir[600];
	size_t i, j;
	bool found = false;

	if (vault_list(v, "", on_top_dir, &top, NULL) < 0 || top.has_backups) {
		if (top.has_backups)
			log_warning("%s: backups/ is empty: no backups yet",
				    vault_id(v));
		goto out;
	}
	for (i = 0; i < top.n && !found; i++) {
		sub = (struct top_dirs){ { 0 } };
		snprintf(dir, sizeof(dir), "%s/", top.names[i]);
		if (vault_list(v, dir, on_top_dir, &sub, NULL) == 0 &&
		    sub.has_backups) {
			log_warning("%s has no backups/ directory; %sbackups/ "
				    "has backups: did you mean the vault "
				    "%s/%s (the BSL's prefix)?",
				    vault_id(v), dir, vault_id(v),
				    top.names[i]);
			found = true;
		}
		for (j = 0; j < sub.n; j++)
			free(sub.names[j]);
	}
	if (!found)
		log_warning("%s has no backups/ directory: it is not a Velero "
			    "backup storage location, or one with no backups "
			    "yet (a VAULT is the directory or prefix that "
			    "holds backups/)",
			    vault_id(v));
out:
	for (i = 0; i < top.n; i++)
		free(top.names[i]);
}

int session_open(struct session *s, char *vault_url, const char *credentials,
		 const char *cache_dir, const struct backup_options *bo,
		 uint64_t cache_limit)
{
	struct vault_options vo = { .credentials_file = credentials };
	struct verror e = { { 0 } };
	char *url = strdup(vault_url);
	int r;

	s->crypt = NULL;

	*s = (struct session){ 0 };
	if (!url)
		return log_error_errno(ENOMEM, "%m");
	/* the caller's copy (argv: ps shows it) keeps no secret from now */
	vault_url_scrub(vault_url);
	r = vault_open(url, &vo, &s->vault, &e);
	OPENSSL_cleanse(url, strlen(url));
	free(url);
	if (r < 0)
		return log_error_errno(r, "cannot open vault: %s", e.msg);
	if (vault_no_credentials(s->vault))
		log_warning("%s: %s: requests go unsigned, which only a public "
			    "bucket or container answers",
			    vault_id(s->vault), vault_no_credentials(s->vault));
	r = cache_open(cache_dir, cache_limit, &s->cache, &e);
	if (r < 0) {
		session_close(s);
		return log_error_errno(r, "cannot open the cache: %s", e.msg);
	}
	r = backup_repo_new(s->vault, s->cache, bo, &s->repo);
	if (r < 0) {
		session_close(s);
		return log_error_errno(r, "%m");
	}
	r = backup_repo_refresh(s->repo, &e);
	if (r < 0) {
		/* vault_id(), not vault_url: the URL may hold a SAS token */
		log_error_errno(r, "cannot list the backups in %s: %s",
				vault_id(s->vault), e.msg);
		session_close(s);
		return r;
	}
	if (!backup_repo_count(s->repo))
		hint_no_backups(s->vault);
	return 0;
}

void session_close(struct session *s)
{
	s->repo = backup_repo_free(s->repo);
	s->cache = cache_free(s->cache);
	s->vault = vault_free(s->vault);
	s->crypt = etcd_crypt_free(s->crypt);
}

int session_open_opts(struct session *s, const char *cmd, char *vault_url,
		      const struct cli_opts *o, struct backup_options *bo)
{
	struct etcd_crypt *crypt = NULL;
	int r;

	if (o->encryption_config &&
	    cli_crypt_load(cmd, o->encryption_config, bo, &crypt) < 0)
		return -EINVAL;
	r = session_open(s, vault_url, o->credentials, o->cache, bo, 0);
	if (r < 0) {
		etcd_crypt_free(crypt);
		return r;
	}
	s->crypt = crypt;
	return 0;
}

int cli_output_parse(const char *cmd, const char *s, enum cli_output *out)
{
	static const struct {
		const char *name;
		enum cli_output fmt;
	} names[] = {
		{ "table", CLI_OUTPUT_TABLE },
		{ "wide", CLI_OUTPUT_WIDE },
		{ "json", CLI_OUTPUT_JSON },
		{ "yaml", CLI_OUTPUT_YAML },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i].name)) {
			*out = names[i].fmt;
			return CLI_GO_ON;
		}
	fprintf(stderr,
		"velerofs %s: -o %s: the output format is wide, json or "
		"yaml\n",
		cmd, s);
	return EXIT_USAGE;
}

int cli_view_parse(const char *cmd, const char *s, enum backup_view *out)
{
	if (!strcmp(s, "yaml") || !strcmp(s, "json")) {
		*out = !strcmp(s, "json") ? BACKUP_VIEW_JSON : BACKUP_VIEW_YAML;
		return CLI_GO_ON;
	}
	fprintf(stderr,
		"velerofs %s: --view %s: the file view is yaml or json\n", cmd,
		s);
	return EXIT_USAGE;
}

/* One YAML scalar: strings double-quoted as JSON writes them (valid YAML,
 * and nothing reads as another type). */
static void yaml_scalar(json_t *v)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY);

	fputs(s ? s : "null", stdout);
	free(s);
}

static void yaml_key(const char *k)
{
	json_t *s;

	if (k[0] && strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
			      "TUVWXYZ0123456789_") == strlen(k)) {
		fputs(k, stdout);
		return;
	}
	s = json_string(k);

	yaml_scalar(s);
	json_decref(s);
}

static void yaml_node(json_t *v, int indent, bool inline_first);

static void yaml_entries(json_t *v, int indent, bool inline_first)
{
	const char *k;
	json_t *x;
	size_t i;
	bool first = true;

	if (json_is_object(v)) {
		json_object_foreach(v, k, x)
		{
			if (!(first && inline_first))
				printf("%*s", indent, "");
			first = false;
			yaml_key(k);
			printf(":");
			yaml_node(x, indent + 2, false);
		}
		return;
	}
	json_array_foreach(v, i, x)
	{
		if (!(first && inline_first))
			printf("%*s", indent, "");
		first = false;
		printf("- ");
		yaml_node(x, indent + 2, true);
	}
}

static void yaml_node(json_t *v, int indent, bool after_dash)
{
	if ((json_is_object(v) && json_object_size(v)) ||
	    (json_is_array(v) && json_array_size(v))) {
		if (after_dash) {
			yaml_entries(v, indent, true);
			return;
		}
		putchar('\n');
		yaml_entries(v, indent, false);
		return;
	}
	if (!after_dash)
		putchar(' ');
	if (json_is_object(v))
		fputs("{}", stdout);
	else if (json_is_array(v))
		fputs("[]", stdout);
	else
		yaml_scalar(v);
	putchar('\n');
}

void cli_print_doc(json_t *v, enum cli_output fmt)
{
	if (fmt == CLI_OUTPUT_YAML) {
		if (json_is_array(v) && !json_array_size(v))
			puts("[]");
		else
			yaml_node(v, 0, true);
	} else {
		char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);

		if (s)
			puts(s);
		free(s);
	}
	json_decref(v);
}

struct backup *cli_backup_find(struct backup_repo *repo, const char *name)
{
	struct backup *b;
	size_t slot;

	if (!strcmp(name, "latest")) {
		/* a backup really named latest wins, as in backups/ */
		b = backup_repo_find(repo, name, NULL);

		if (b && !backup_gone(b))
			return b;
		return backup_repo_latest(repo, &slot) == 0 ?
			       backup_repo_slot(repo, slot) :
			       NULL;
	}
	b = backup_repo_find(repo, name, NULL);
	if (b)
		return b;
	/* an etcd snapshot: its name, snapshots/<name> or
	 * snapshots/latest/<cluster> */
	if (!strncmp(name, "snapshots/latest/", 17)) {
		struct backup_snapshot_latest *v = NULL;
		size_t n = 0;

		if (backup_repo_snapshot_latest(repo, &v, &n) < 0)
			return NULL;
		for (size_t i = 0; i < n && !b; i++)
			if (!strcmp(v[i].cluster, name + 17))
				b = backup_repo_slot(repo, v[i].slot);
		free(v);
		return b;
	}
	if (!strncmp(name, "snapshots/", 10))
		name += 10;
	return backup_repo_find_snapshot(repo, name, NULL);
}

bool cli_backup_damaged(struct backup *b, char *why, size_t size)
{
	const void *data;
	uint32_t node;
	size_t got, n;

	if (!size)
		return false;
	if (backup_node_walk(b, "errors.txt", &node, NULL) < 0)
		return false;
	snprintf(why, size, "see errors.txt");
	if (backup_node_read(b, node, 0, size - 1, &data, &got, NULL) == 0 &&
	    got) {
		const char *nl = memchr(data, '\n', got);

		n = nl ? (size_t)(nl - (const char *)data) : got;
		memcpy(why, data, n);
		why[n] = '\0';
	}
	return true;
}

int cli_crypt_load(const char *cmd, const char *path, struct backup_options *bo,
		   struct etcd_crypt **out)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	struct verror e = { { 0 } };
	struct sbuf sb;
	int fd, r;

	sbuf_init(&sb, (size_t)16 << 20);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	r = fd < 0 ? -errno : sbuf_read_fd(&sb, fd);
	if (fd >= 0)
		close(fd);
	if (r == 0)
		r = etcd_crypt_load(path, out, &e);
	if (r < 0) {
		fprintf(stderr, "velerofs %s: encryption-config %s: %s\n", cmd,
			path, cli_why(&e, r));
		sbuf_release(&sb);
		return r;
	}
	SHA256((const unsigned char *)sbuf_str(&sb), sb.len, md);
	for (size_t i = 0; i < sizeof(md); i++)
		snprintf(bo->crypt_id + 2 * i, sizeof(bo->crypt_id) - 2 * i,
			 "%02x", md[i]);
	bo->crypt = *out;
	OPENSSL_cleanse(sb.buf, sb.len);
	sbuf_release(&sb);
	return 0;
}
