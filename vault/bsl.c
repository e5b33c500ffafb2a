/* vault/bsl: a Velero BackupStorageLocation (velero.io/v1) turned into
 * what vault_open() takes: the vault URL, the CA it names, and the
 * credential Secret's content in the form the backends read.
 *
 * Providers and the config keys read (the rest are for writing or for
 * volume snapshots and are ignored):
 * - aws, velero.io/aws (velero-plugin-for-aws): region, s3Url,
 *   s3ForcePathStyle, insecureSkipTLSVerify, profile. publicUrl is only
 *   for signed download links; a custom s3Url is virtual-hosted unless
 *   s3ForcePathStyle is true, as the plugin does.
 * - alibabacloud, velero.io/alibabacloud (AliyunContainerService's
 *   velero-plugin): region, network (internal, accelerate); OSS through
 *   its S3-compatible endpoint https://s3.oss-REGION.aliyuncs.com. Its
 *   credentials file (ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET) becomes an
 *   AWS one.
 * - azure, velero.io/azure (velero-plugin-for-microsoft-azure):
 *   storageAccount, storageAccountURI, storageAccountKeyEnvVar (the key
 *   of the credentials file holding the account key). resourceGroup and
 *   subscriptionId only name the account for the management API.
 * objectStorage: bucket, prefix, caCert (base64 PEM).
 *
 * Pure: no I/O, no clock. Secrets are only in what
 * vault_bsl_credentials() writes. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "common/base64.h"
#include "common/macro.h"
#include "vault/remote_i.h"
#include "vault/vault.h"

#define BSL_DEFAULT_SECRET "cloud-credentials"
#define BSL_DEFAULT_SECRET_KEY "cloud"
#define BSL_CA_MAX (1u << 20)

static const char *str_at(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A config value: a string (Velero's config is map[string]string), or a
 * JSON scalar a hand-written YAML file may hold. */
static const char *cfg(const json_t *config, const char *key, char buf[32])
{
	const json_t *v = json_object_get(config, key);

	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_true(v) || json_is_false(v))
		return json_is_true(v) ? "true" : "false";
	if (json_is_integer(v)) {
		snprintf(buf, 32, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	return NULL;
}

/* strconv.ParseBool, as the plugins read their flags. -1: not a bool. */
static int parse_bool(const char *s)
{
	static const char *const yes[] = {
		"1", "t", "T", "TRUE", "true", "True"
	};
	static const char *const no[] = { "0",	   "f",	    "F",
					  "FALSE", "false", "False" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcmp(s, yes[i]))
			return 1;
		if (!strcmp(s, no[i]))
			return 0;
	}
	return -1;
}

/* Appends "&name=value" (or "?name=value" first), value escaped where a
 * query string needs it; ':' and '/' stay readable. */
static int add_param(struct sbuf *u, bool *first, const char *name,
		     const char *value)
{
	int r = sbuf_addf(u, "%c%s=", *first ? '?' : '&', name);

	*first = false;
	for (; r >= 0 && *value; value++) {
		unsigned char c = (unsigned char)*value;

		if (isalnum(c) || strchr("-_.~:/@", c))
			r = sbuf_addc(u, (char)c);
		else
			r = sbuf_addf(u, "%%%02X", c);
	}
	return r;
}

/* prefix with its surrounding '/' taken off; "" when none. */
static int add_prefix(struct sbuf *u, const char *prefix)
{
	size_t n;

	if (!prefix)
		return 0;
	while (*prefix == '/')
		prefix++;
	n = strlen(prefix);
	while (n && prefix[n - 1] == '/')
		n--;
	if (!n)
		return 0;
	if (sbuf_addc(u, '/') < 0)
		return -ENOMEM;
	return sbuf_add(u, prefix, n);
}

static bool name_ok(const char *s)
{
	if (!*s || strlen(s) > 255)
		return false;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || strchr("-_.", *s)))
			return false;
	return true;
}

static const char *provider_of(const char *p)
{
	static const struct {
		const char *name, *is;
	} known[] = {
		{ "aws", "aws" },
		{ "velero.io/aws", "aws" },
		{ "azure", "azure" },
		{ "velero.io/azure", "azure" },
		{ "alibabacloud", "alibabacloud" },
		{ "velero.io/alibabacloud", "alibabacloud" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(known); i++)
		if (!strcmp(p, known[i].name))
			return known[i].is;
	return NULL;
}

static int bool_cfg(const json_t *config, const char *key, struct verror *e)
{
	char buf[32];
	const char *v = cfg(config, key, buf);
	int b;

	if (!v || !*v)
		return 0;
	b = parse_bool(v);
	if (b < 0)
		return verror_set(e, -EINVAL,
				  "BackupStorageLocation: config.%s: '%.40s' "
				  "is not true or false",
				  key, v);
	return b;
}

static int url_aws(const json_t *config, const char *bucket, const char *prefix,
		   bool pin_profile, struct vault_bsl *b, struct sbuf *u,
		   struct verror *e)
{
	char rb[32], sb[32], pb[32];
	const char *region = cfg(config, "region", rb);
	const char *s3url = cfg(config, "s3Url", sb);
	const char *profile = cfg(config, "profile", pb);
	bool first = true;
	int path_style, insecure, r;

	path_style = bool_cfg(config, "s3ForcePathStyle", e);
	if (path_style < 0)
		return path_style;
	insecure = bool_cfg(config, "insecureSkipTLSVerify", e);
	if (insecure < 0)
		return insecure;
	r = sbuf_addf(u, "s3://%s", bucket);
	if (r >= 0)
		r = add_prefix(u, prefix);
	if (r >= 0 && region && *region)
		r = add_param(u, &first, "region", region);
	if (r >= 0 && s3url && *s3url)
		r = add_param(u, &first, "endpoint", s3url);
	/* the plugin: virtual-hosted unless told, custom endpoint or not */
	if (r >= 0 && (path_style || (s3url && *s3url)))
		r = add_param(u, &first, "style",
			      path_style ? "path" : "virtual");
	if (r >= 0 && ((profile && *profile) || pin_profile))
		r = add_param(u, &first, "profile",
			      profile && *profile ? profile : "default");
	if (r >= 0 && insecure)
		r = add_param(u, &first, "insecure", "1");
	if (r >= 0 && !(region && *region) && !(s3url && *s3url))
		b->notes |= VAULT_BSL_NO_REGION;
	return r;
}

static int url_alibaba(const json_t *config, const char *bucket,
		       const char *prefix, bool pin_profile, struct sbuf *u,
		       struct verror *e)
{
	char rb[32], nb[32];
	const char *region = cfg(config, "region", rb);
	const char *network = cfg(config, "network", nb);
	struct sbuf ep;
	bool first = true;
	int r;

	if (!region || !*region || !name_ok(region))
		return verror_set(e, -EINVAL,
				  "BackupStorageLocation: provider "
				  "alibabacloud needs config.region "
				  "(cn-hangzhou, ...)");
	sbuf_init(&ep, 1024);
	if (network && !strcmp(network, "accelerate"))
		r = sbuf_adds(&ep, "https://s3.oss-accelerate.aliyuncs.com");
	else if (network && !strcmp(network, "internal"))
		r = sbuf_addf(&ep, "https://s3.oss-%s-internal.aliyuncs.com",
			      region);
	else if (!network || !*network || !strcmp(network, "public"))
		r = sbuf_addf(&ep, "https://s3.oss-%s.aliyuncs.com", region);
	else
		r = verror_set(e, -EINVAL,
			       "BackupStorageLocation: config.network: "
			       "'%.40s' is not internal or accelerate",
			       network);
	if (r >= 0)
		r = sbuf_addf(u, "s3://%s", bucket);
	if (r >= 0)
		r = add_prefix(u, prefix);
	if (r >= 0)
		r = add_param(u, &first, "region", region);
	if (r >= 0)
		r = add_param(u, &first, "endpoint", ep.buf);
	if (r >= 0)
		r = add_param(u, &first, "style", "virtual");
	if (r >= 0 && pin_profile)
		r = add_param(u, &first, "profile", "default");
	sbuf_release(&ep);
	return r;
}

static int url_azure(const json_t *config, const char *bucket,
		     const char *prefix, struct vault_bsl *b, struct sbuf *u,
		     struct verror *e)
{
	char ab[32], ub[32], kb[32];
	const char *account = cfg(config, "storageAccount", ab);
	const char *uri = cfg(config, "storageAccountURI", ub);
	const char *keyvar = cfg(config, "storageAccountKeyEnvVar", kb);
	bool first = true;
	int r;

	if (!account || !*account || !name_ok(account))
		return verror_set(e, -EINVAL,
				  "BackupStorageLocation: provider azure "
				  "needs config.storageAccount");
	if (keyvar && *keyvar) {
		if (!name_ok(keyvar))
			return verror_set(e, -EINVAL,
					  "BackupStorageLocation: "
					  "config.storageAccountKeyEnvVar is "
					  "not a variable name");
		b->key_var = strdup(keyvar);
		if (!b->key_var)
			return -ENOMEM;
	}
	r = sbuf_addf(u, "azblob://%s/%s", account, bucket);
	if (r >= 0)
		r = add_prefix(u, prefix);
	if (r >= 0 && uri && *uri)
		r = add_param(u, &first, "endpoint", uri);
	return r;
}

static int read_ca(const char *b64, struct vault_bsl *b, struct verror *e)
{
	size_t n = strlen(b64);
	long len;

	if (n > BSL_CA_MAX)
		return verror_set(e, -E2BIG,
				  "BackupStorageLocation: "
				  "objectStorage.caCert is over 1 MiB");
	b->ca_pem = malloc(n / 4 * 3 + 4);
	if (!b->ca_pem)
		return -ENOMEM;
	len = base64_decode(b64, n, 0, b->ca_pem, n / 4 * 3 + 3);
	if (len <= 0 || !memmem(b->ca_pem, (size_t)len, "-----BEGIN", 10))
		return verror_set(e, -EINVAL,
				  "BackupStorageLocation: "
				  "objectStorage.caCert is not a base64 PEM "
				  "certificate");
	b->ca_len = (size_t)len;
	return 0;
}

int vault_bsl_read(const json_t *obj, unsigned flags, struct vault_bsl *out,
		   struct verror *e)
{
	struct vault_bsl b = { 0 };
	const json_t *spec, *os, *config, *cred;
	const char *kind, *provider, *bucket, *prefix, *ca;
	struct sbuf u;
	int r;

	kind = str_at(obj, "kind");
	if (!json_is_object(obj) || (kind && strcmp(kind, "BackupStorageLocatio"
							  "n")))
		return verror_set(e, -EINVAL,
				  "not a BackupStorageLocation (kind %.60s)",
				  kind ? kind : "missing");
	spec = json_object_get(obj, "spec");
	os = json_object_get(spec, "objectStorage");
	config = json_object_get(spec, "config");
	provider = str_at(spec, "provider");
	bucket = str_at(os, "bucket");
	prefix = str_at(os, "prefix");
	ca = str_at(os, "caCert");
	if (!provider)
		return verror_set(e, -EINVAL,
				  "BackupStorageLocation: no spec.provider");
	b.provider = provider_of(provider);
	if (!b.provider)
		return verror_set(e, -EPROTONOSUPPORT,
				  "BackupStorageLocation: provider '%.60s' is "
				  "not one velerofs reads (aws, azure, "
				  "alibabacloud)",
				  provider);
	if (!bucket || !name_ok(bucket))
		return verror_set(e, -EINVAL,
				  "BackupStorageLocation: "
				  "spec.objectStorage.bucket is %s",
				  bucket ? "not a bucket name" : "missing");
	if (prefix && (strstr(prefix, "..") || strpbrk(prefix, "?#%\\")))
		return verror_set(e, -EINVAL,
				  "BackupStorageLocation: "
				  "spec.objectStorage.prefix '%.80s' is not a "
				  "plain path",
				  prefix);
	if (config && !json_is_object(config))
		return verror_set(e, -EINVAL,
				  "BackupStorageLocation: spec.config is not "
				  "a mapping");
	cred = json_object_get(spec, "credential");
	sbuf_init(&u, 16384);
	b.secret_name = strdup(str_at(cred, "name") ? str_at(cred, "name") :
						      BSL_DEFAULT_SECRET);
	b.secret_key = strdup(str_at(cred, "key") ? str_at(cred, "key") :
						    BSL_DEFAULT_SECRET_KEY);
	r = b.secret_name && b.secret_key ? 0 : -ENOMEM;
	if (r >= 0 && ca && *ca)
		r = read_ca(ca, &b, e);
	if (r >= 0 && !strcmp(b.provider, "aws"))
		r = url_aws(config, bucket, prefix,
			    flags & VAULT_BSL_PIN_PROFILE, &b, &u, e);
	else if (r >= 0 && !strcmp(b.provider, "alibabacloud"))
		r = url_alibaba(config, bucket, prefix,
				flags & VAULT_BSL_PIN_PROFILE, &u, e);
	else if (r >= 0)
		r = url_azure(config, bucket, prefix, &b, &u, e);
	if (r >= 0 && !(b.url = sbuf_take(&u, NULL)))
		r = -ENOMEM;
	sbuf_release(&u);
	if (r < 0) {
		vault_bsl_release(&b);
		return r;
	}
	*out = b;
	return 0;
}

void vault_bsl_release(struct vault_bsl *b)
{
	free(b->url);
	free(b->ca_pem);
	free(b->secret_name);
	free(b->secret_key);
	free(b->key_var);
	*b = (struct vault_bsl){ 0 };
}

/* The value of KEY=VALUE line key in data (as remote_file_value reads
 * such files), or NULL. Caller frees. */
static char *kv_get(const char *data, size_t len, const char *key)
{
	const char *p = data, *end = data + len;
	size_t kl = strlen(key);

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *v;
		size_t vl;

		while (p < le && (*p == ' ' || *p == '\t'))
			p++;
		if ((size_t)(le - p) > 7 && !strncmp(p, "export ", 7))
			p += 7;
		if ((size_t)(le - p) > kl && !strncmp(p, key, kl)) {
			v = p + kl;
			while (v < le && (*v == ' ' || *v == '\t'))
				v++;
			if (v < le && *v == '=') {
				v++;
				while (v < le && (*v == ' ' || *v == '\t'))
					v++;
				vl = (size_t)(le - v);
				while (vl && strchr(" \t\r", v[vl - 1]))
					vl--;
				if (vl >= 2 && (*v == '"' || *v == '\'') &&
				    v[vl - 1] == *v) {
					v++;
					vl -= 2;
				}
				return strndup(v, vl);
			}
		}
		p = nl ? nl + 1 : end;
	}
	return NULL;
}

int vault_bsl_credentials(const struct vault_bsl *b, const void *data,
			  size_t len, struct sbuf *out, struct verror *e)
{
	char *id = NULL, *secret = NULL, *token = NULL, *key = NULL;
	int r = 0;

	if (memchr(data, '\0', len))
		return verror_set(e, -EINVAL,
				  "the credential secret holds a NUL byte");
	if (!strcmp(b->provider, "alibabacloud")) {
		id = kv_get(data, len, "ALIBABA_CLOUD_ACCESS_KEY_ID");
		secret = kv_get(data, len, "ALIBABA_CLOUD_ACCESS_KEY_SECRET");
		token = kv_get(data, len, "ALIBABA_CLOUD_SECURITY_TOKEN");
		if (!id || !secret)
			r = verror_set(e, -EINVAL,
				       "the credential secret has no "
				       "ALIBABA_CLOUD_ACCESS_KEY_ID and "
				       "ALIBABA_CLOUD_ACCESS_KEY_SECRET");
		if (r >= 0)
			r = sbuf_addf(out,
				      "[default]\naws_access_key_id = %s\n"
				      "aws_secret_access_key = %s\n",
				      id, secret);
		if (r >= 0 && token)
			r = sbuf_addf(out, "aws_session_token = %s\n", token);
	} else if (!strcmp(b->provider, "azure") && b->key_var &&
		   strcmp(b->key_var, "AZURE_STORAGE_ACCOUNT_ACCESS_KEY")) {
		/* the key under the name the azblob backend reads first */
		key = kv_get(data, len, b->key_var);
		if (!key)
			r = verror_set(e, -EINVAL,
				       "the credential secret has no %s "
				       "(config.storageAccountKeyEnvVar)",
				       b->key_var);
		if (r >= 0)
			r = sbuf_addf(out,
				      "AZURE_STORAGE_ACCOUNT_ACCESS_KEY=%s\n",
				      key);
		if (r >= 0)
			r = sbuf_add(out, data, len);
	} else {
		r = sbuf_add(out, data, len);
	}
	remote_wipe_free(id);
	remote_wipe_free(secret);
	remote_wipe_free(token);
	remote_wipe_free(key);
	return r;
}
