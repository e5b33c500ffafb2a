/* cli/opts: small option helpers shared by the subcommands. */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/log.h"

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

int session_open(struct session *s, char *vault_url, const char *credentials,
		 const char *cache_dir, const struct backup_options *bo,
		 uint64_t cache_limit)
{
	struct vault_options vo = { .credentials_file = credentials };
	struct verror e = { { 0 } };
	char *url = strdup(vault_url);
	int r;

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
	return 0;
}

void session_close(struct session *s)
{
	s->repo = backup_repo_free(s->repo);
	s->cache = cache_free(s->cache);
	s->vault = vault_free(s->vault);
}
