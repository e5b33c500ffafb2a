/* vault/creds: where the object store backends get their credentials
 * when they are not plain keys: AWS (creds_aws.c) and Azure AD tokens
 * (creds_azure.c), fetched through http/ and refreshed before they
 * expire. Private to vault/.
 *
 * A provider is shared by every request of a vault: get() hands out a
 * copy of the current set under the provider's lock (refreshing it first
 * when it expires within 5 minutes), so a request signs with one
 * consistent set while another thread refreshes. A refresh that fails
 * while the old set is still valid keeps the old set. Secrets are wiped
 * when released; messages name where a credential came from, never its
 * value. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "common/sbuf.h"

/* Seconds before expiry at which a set is refreshed. */
#define CREDS_REFRESH_MARGIN_S 300

/* --- AWS ----------------------------------------------------------------- */

struct aws_keys {
	char *access_key, *secret_key, *token; /* token NULL: none */
	int64_t expires;		       /* epoch seconds; 0: never */
};
/* Wipes and frees; leaves k empty. */
void aws_keys_release(struct aws_keys *k);

struct aws_creds;

struct aws_creds_options {
	const char *credentials_file; /* Velero's file (INI, with shared
				       * config keys too); NULL: the chain */
	const char *profile;	      /* ?profile=; NULL: AWS_PROFILE or
				       * default */
	const char *region;	      /* for STS and SSO */
};

/* Finds credentials as the AWS SDKs do. With credentials_file: that
 * file's profile only. Otherwise: AWS_ACCESS_KEY_ID/_SECRET_ACCESS_KEY/
 * _SESSION_TOKEN (unless a profile is named); container credentials
 * (ECS task roles, EKS Pod Identity: AWS_CONTAINER_CREDENTIALS_FULL_URI
 * or _RELATIVE_URI, with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or
 * _TOKEN); web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN); the
 * profile in AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, then
 * AWS_CONFIG_FILE or ~/.aws/config; the EC2 instance role (IMDSv2;
 * AWS_EC2_METADATA_DISABLED=true skips it). A profile holds keys,
 * credential_process, an SSO session (sso_session/sso_start_url,
 * sso_account_id, sso_role_name, sso_region: the token cached in
 * ~/.aws/sso/cache by `aws sso login`), web_identity_token_file +
 * role_arn, or role_arn with source_profile or credential_source
 * (Environment, Ec2InstanceMetadata) for STS AssumeRole.
 * Endpoints: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL_SSO,
 * AWS_EC2_METADATA_SERVICE_ENDPOINT (else AWS's own).
 * The first set is fetched here, so a wrong setting fails now. *out is
 * NULL when nothing was found (anonymous requests); e then says where
 * velerofs looked. */
int aws_creds_new(const struct aws_creds_options *o, struct aws_creds **out,
		  struct verror *e);
struct aws_creds *aws_creds_free(struct aws_creds *c);
/* A copy of the current set (caller releases), refreshed first when it
 * is due. Thread-safe. */
int aws_creds_get(struct aws_creds *c, struct aws_keys *out, struct verror *e);
/* Where they come from, for logs: "static keys", "credential_process",
 * "STS AssumeRole", ... Static string. */
const char *aws_creds_kind(const struct aws_creds *c);

/* --- Azure AD -------------------------------------------------------- */

struct az_token;

/* Which values the Azure identity reads, from the environment or from
 * Velero's Azure credentials file (KEY=VALUE lines, same names). */
struct az_token_options {
	const char *credentials_file; /* NULL: the environment only */
};

/* Finds an Azure AD identity for Blob (scope
 * https://storage.azure.com/.default): a service principal with a secret
 * (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET) or a certificate
 * (AZURE_CLIENT_CERTIFICATE_PATH, _PASSWORD), workload
 * identity (AZURE_FEDERATED_TOKEN_FILE with AZURE_TENANT_ID and
 * AZURE_CLIENT_ID), or, when asked (use_msi), a managed identity
 * through the instance metadata service (AZURE_CLIENT_ID picks a
 * user-assigned one). AZURE_AUTHORITY_HOST and
 * AZURE_POD_IDENTITY_AUTHORITY_HOST move the endpoints. The first token
 * is fetched here. *out NULL when no identity is configured. */
int az_token_new(const struct az_token_options *o, bool use_msi,
		 struct az_token **out, struct verror *e);
struct az_token *az_token_free(struct az_token *t);
/* The current access token (caller wipes and frees), refreshed when
 * due. Thread-safe. */
int az_token_get(struct az_token *t, char **out, struct verror *e);
const char *az_token_kind(const struct az_token *t);

/* --- shared ---------------------------------------------------------- */

/* Seconds since the epoch. */
int64_t creds_now(void);
/* Appends "name=value" (with '&' after the first) to a form body, value
 * percent-encoded. */
int creds_form_add(struct sbuf *b, const char *name, const char *value);
/* Reads a token file (a projected service account token) into out,
 * trailing blanks dropped, NUL-terminated; empty is an error. Messages
 * start with what and the path, never the content. */
int creds_read_token(const char *path, const char *what, struct sbuf *out,
		     struct verror *e);
