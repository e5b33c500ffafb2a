/* cli: the subcommands. Private to cli/. */
#pragma once

#include <getopt.h>
#include <stdbool.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "backup/backup.h"
#include "common/error.h"

#define EXIT_USAGE 2

int cmd_mount(int argc, char **argv);
int cmd_umount(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_cat(int argc, char **argv);
int cmd_cache(int argc, char **argv);
int cmd_find(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_url(int argc, char **argv);

/* cmd_url.c: `mount --bsl`. The BackupStorageLocation name in namespace
 * ns of the cluster kubeconfig/context name (NULL: as kubectl finds it). */
struct cli_bsl {
	const char *name, *ns, *kubeconfig, *context;
	bool have_credentials; /* --credentials given: no Secret is read */
};
/* The vault it names: url (with ca=/proc/self/fd/N for its caCert) and
 * credentials (/proc/self/fd/N holding its Secret's content, NULL when
 * it has none); both memory files stay open until released. */
struct cli_bsl_out {
	char *url, *credentials;
	int cred_fd, ca_fd;
};
/* Reads the BSL and its credential Secret; says why on failure. */
int cli_bsl_resolve(const struct cli_bsl *in, struct cli_bsl_out *out);
void cli_bsl_out_release(struct cli_bsl_out *o);
int cmd_backups(int argc, char **argv);
int cmd_help(int argc, char **argv);
int cmd_version(int argc, char **argv);
/* mount(8)'s helper: `mount.fuse.velerofs VAULT MOUNTPOINT [-sfnv]
 * [-o OPTIONS] [-t fuse.velerofs]` (argv[0] the helper's name), or
 * mount.fuse3's call `velerofs VAULT MOUNTPOINT -o OPTIONS`. */
int cmd_mount_helper(int argc, char **argv);

/* mountpoint.c */
/* Checks the mount point the user named (arg): a directory nothing is
 * mounted on; velerofs's own dead mount there is cleared. *out: its
 * absolute path (caller frees). Says why on failure (-ENOTDIR, -EBUSY: a
 * mount is there, -ENOTCONN: a dead mount it did not clear). */
int mountpoint_prepare(const char *arg, char **out);

/* opts.c */

/* The options the subcommands share, as getopt_long() table entries:
 * every subcommand takes CLI_OPTS_HELP; those that read a vault take
 * CLI_OPT_CACHE and CLI_OPT_CREDENTIALS (cache: CLI_OPT_CACHE only). */
/* clang-format off */
#define CLI_OPTS_HELP \
	{ "help", no_argument, NULL, 'h' }, \
	{ "version", no_argument, NULL, 'V' }
#define CLI_OPT_CACHE { "cache", required_argument, NULL, 'c' }
#define CLI_OPT_CREDENTIALS { "credentials", required_argument, NULL, 'K' }
#define CLI_OPT_ENCRYPTION { "encryption-config", required_argument, NULL, 'E' }
#define CLI_OPT_END { NULL, 0, NULL, 0 }
/* clang-format on */

/* What the shared options set. */
struct cli_opts {
	const char *cache;	 /* --cache DIR, or NULL: the default */
	const char *credentials; /* --credentials FILE, or NULL */
	/* --encryption-config FILE (etcd snapshots), or NULL */
	const char *encryption_config;
};

typedef void cli_usage_fn(FILE *f);

/* What a subcommand's own option handler returns: CLI_GO_ON (taken, go
 * on), CLI_NOT_MINE (a shared option, or unknown), or an exit status. */
#define CLI_GO_ON (-1)
#define CLI_NOT_MINE (-2)
typedef int cli_opt_fn(int c, void *userdata);

/* A subcommand's command line. */
struct cli_cmd {
	const char *shortopts;
	const struct option *longopts;
	cli_usage_fn *usage;
	cli_opt_fn *opt; /* its own options; NULL: only the shared ones */
	int min_args, max_args; /* how many operands it takes */
};

/* Runs getopt_long() over argv as cmd says: its own options go to
 * cmd->opt (with userdata), the shared ones into o (-h and -V print and
 * end; an unknown option or a wrong number of operands prints the usage
 * on stderr). Returns CLI_GO_ON with the operands at argv[optind..argc),
 * or the exit status to return at once. */
int cli_parse(const struct cli_cmd *cmd, int argc, char **argv,
	      struct cli_opts *o, void *userdata);
/* The usage on stderr; returns EXIT_USAGE. */
int cli_usage_error(cli_usage_fn *usage);
/* The words for an error: e's message, else strerror(-r). */
const char *cli_why(const struct verror *e, int r);

/* "512M", "20G", "1048576" to bytes; -EINVAL if it doesn't parse. */
int parse_size(const char *s, uint64_t *out);

struct etcd_crypt;

/* Everything ls/cat need: a vault, its cache, the repo over them. */
struct session {
	struct vault *vault;
	struct cache *cache;
	struct backup_repo *repo;
	/* --encryption-config, loaded by session_crypt(); freed with the
	 * session */
	struct etcd_crypt *crypt;
};

/* Opens vault_url with the cache at cache_dir (NULL: default) and lists
 * its backups. Prints the reason and returns -errno on failure.
 * vault_url is scrubbed in place (vault_url_scrub()) as soon as it is
 * read: pass argv's own string, so ps shows no secret. */
/* credentials: a credentials file as Velero's object store plugins read
 * it (NULL: the environment and the usual files). */
int session_open(struct session *s, char *vault_url, const char *credentials,
		 const char *cache_dir, const struct backup_options *bo,
		 uint64_t cache_limit);
void session_close(struct session *s);
/* session_open() with o's --encryption-config loaded into bo first (for
 * etcd snapshots): -EINVAL (message printed) when it can't be read. */
int session_open_opts(struct session *s, const char *cmd, char *vault_url,
		      const struct cli_opts *o, struct backup_options *bo);

/* -o encryption-config=FILE / --encryption-config FILE: loads kube-
 * apiserver's EncryptionConfiguration for etcd snapshots into *out and
 * points bo at it (with the SHA-256 of the file as its cache identity).
 * Prints "velerofs CMD: ..." and returns -errno when it can't be read. */
int cli_crypt_load(const char *cmd, const char *path, struct backup_options *bo,
		   struct etcd_crypt **out);

/* -o FORMAT of the listing commands. */
enum cli_output {
	CLI_OUTPUT_TABLE, /* the default: columns for people */
	CLI_OUTPUT_WIDE,  /* more columns */
	CLI_OUTPUT_JSON,
	CLI_OUTPUT_YAML,
};
/* "wide", "json", "yaml" (or "table") into *out; otherwise says so as
 * `velerofs CMD: -o VALUE: ...` and returns EXIT_USAGE, else CLI_GO_ON. */
int cli_output_parse(const char *cmd, const char *s, enum cli_output *out);
/* --view yaml|json (the file view) the same way. */
int cli_view_parse(const char *cmd, const char *s, enum backup_view *out);
/* Prints v (objects, arrays, strings, numbers, booleans, null) as JSON
 * or YAML on stdout; steals v. */
void cli_print_doc(json_t *v, enum cli_output fmt);

/* The backup named name in repo, `latest` being the newest Completed
 * one (as backups/latest); else the etcd snapshot of that name (also as
 * "snapshots/<name>" or "snapshots/latest/<cluster>"); NULL if none.
 * Borrowed from repo. */
struct backup *cli_backup_find(struct backup_repo *repo, const char *name);
/* Whether b (opened) is damaged in the vault: its tarball missing,
 * truncated or corrupt, items unreadable. true with the first line of
 * its errors.txt in why. */
bool cli_backup_damaged(struct backup *b, char *why, size_t size);

/* cmd_status.c: a mount's index progress, for `velerofs status`. */
struct cache;
struct status;
/* The status of the mount at mountpoint (absolute), in cache c
 * (borrowed, outlives it); NULL when out of memory. */
struct status *status_new(struct cache *c, const char *mountpoint);
/* Removes the status entry. Accepts NULL, returns NULL. */
struct status *status_free(struct status *st);
/* A backup_progress_fn: userdata is a struct status. */
void status_progress(void *userdata, const char *backup, uint64_t items,
		     uint64_t ms, bool done);
int cmd_status(int argc, char **argv);
