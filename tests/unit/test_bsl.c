/* Unit tests for vault/bsl: BackupStorageLocations to vault URLs (the
 * defaults the plugins apply, what is refused), and the credential
 * Secret's content turned into the file the backends read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check.h"
#include "vault/vault.h"

static int read_bsl(const char *text, unsigned flags, struct vault_bsl *b,
		    struct verror *e)
{
	json_t *j = json_loads(text, 0, NULL);
	int r;

	CHECK(j != NULL);
	r = vault_bsl_read(j, flags, b, e);
	json_decref(j);
	return r;
}

static void test_urls(void)
{
	static const struct {
		const char *bsl, *url;
	} cases[] = {
		{ "{\"spec\":{\"provider\":\"aws\",\"objectStorage\":{"
		  "\"bucket\":"
		  "\"b\",\"prefix\":\"/a/b/\"},\"config\":{\"region\":"
		  "\"eu-west-1\"}}}",
		  "s3://b/a/b?region=eu-west-1" },
		/* an endpoint with characters a query string must escape */
		{ "{\"spec\":{\"provider\":\"velero.io/aws\",\"objectStorage\":"
		  "{\"bucket\":\"b\"},\"config\":{\"s3Url\":"
		  "\"http://h:9000/x?y&z\",\"s3ForcePathStyle\":\"True\"}}}",
		  "s3://b?endpoint=http://h:9000/x%3Fy%26z&style=path" },
		{ "{\"spec\":{\"provider\":\"alibabacloud\",\"objectStorage\":"
		  "{\"bucket\":\"b\"},\"config\":{\"region\":\"cn-shanghai\","
		  "\"network\":\"accelerate\"}}}",
		  "s3://b?region=cn-shanghai&endpoint=https://"
		  "s3.oss-accelerate.aliyuncs.com&style=virtual" },
		{ "{\"spec\":{\"provider\":\"azure\",\"objectStorage\":"
		  "{\"bucket\":\"c\",\"prefix\":\"p\"},\"config\":"
		  "{\"storageAccount\":\"acct\"}}}",
		  "azblob://acct/c/p" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vault_bsl b = { 0 };
		struct verror e = { { 0 } };

		CHECK_EQ_INT(read_bsl(cases[i].bsl, 0, &b, &e), 0);
		CHECK_STREQ(b.url, cases[i].url);
		CHECK_STREQ(b.secret_name, "cloud-credentials");
		CHECK_STREQ(b.secret_key, "cloud");
		vault_bsl_release(&b);
	}
}

static void test_pin_profile_and_secret(void)
{
	struct vault_bsl b = { 0 };
	struct verror e = { { 0 } };

	CHECK_EQ_INT(read_bsl("{\"spec\":{\"provider\":\"aws\","
			      "\"objectStorage\":{\"bucket\":\"bkt\"},"
			      "\"credential\":{\"name\":\"s\",\"key\":\"k\"}}}",
			      VAULT_BSL_PIN_PROFILE, &b, &e),
		     0);
	CHECK_STREQ(b.url, "s3://bkt?profile=default");
	CHECK_STREQ(b.secret_name, "s");
	CHECK_STREQ(b.secret_key, "k");
	CHECK(b.notes & VAULT_BSL_NO_REGION);
	vault_bsl_release(&b);
}

static void test_refused(void)
{
	static const char *const bad[] = {
		"[]",
		"{\"kind\":\"Backup\",\"spec\":{}}",
		"{\"spec\":{\"objectStorage\":{\"bucket\":\"b\"}}}",
		"{\"spec\":{\"provider\":\"gcp\",\"objectStorage\":{\"bucket\":"
		"\"b\"}}}",
		"{\"spec\":{\"provider\":\"aws\",\"objectStorage\":{}}}",
		"{\"spec\":{\"provider\":\"aws\",\"objectStorage\":{\"bucket\":"
		"\"b?x\"}}}",
		"{\"spec\":{\"provider\":\"aws\",\"objectStorage\":{\"bucket\":"
		"\"b\",\"prefix\":\"a/../../x\"}}}",
		"{\"spec\":{\"provider\":\"aws\",\"objectStorage\":{\"bucket\":"
		"\"b\",\"caCert\":\"bm90IGEgY2VydA==\"}}}",
		"{\"spec\":{\"provider\":\"azure\",\"objectStorage\":{"
		"\"bucket\":"
		"\"b\"},\"config\":{\"storageAccount\":\"a/b\"}}}",
		"{\"spec\":{\"provider\":\"aws\",\"objectStorage\":{\"bucket\":"
		"\"b\"},\"config\":\"x\"}}",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vault_bsl b = { 0 };
		struct verror e = { { 0 } };

		CHECK(read_bsl(bad[i], 0, &b, &e) < 0);
		CHECK(e.msg[0] != '\0');
		CHECK(b.url == NULL);
	}
}

static void test_credentials(void)
{
	struct vault_bsl b = { 0 };
	struct verror e = { { 0 } };
	struct sbuf out;
	const char *ali = "ALIBABA_CLOUD_ACCESS_KEY_ID=id1\n"
			  "ALIBABA_CLOUD_ACCESS_KEY_SECRET = \"sec ret\"\n";
	const char *az = "AZURE_SUBSCRIPTION_ID=s\nMY_KEY=a2V5\n";

	sbuf_init(&out, 1 << 20);
	CHECK_EQ_INT(read_bsl("{\"spec\":{\"provider\":\"alibabacloud\","
			      "\"objectStorage\":{\"bucket\":\"b\"},"
			      "\"config\":{\"region\":\"r\"}}}",
			      0, &b, &e),
		     0);
	CHECK_EQ_INT(vault_bsl_credentials(&b, ali, strlen(ali), &out, &e), 0);
	CHECK_STREQ(sbuf_str(&out), "[default]\naws_access_key_id = id1\n"
				    "aws_secret_access_key = sec ret\n");
	sbuf_reset(&out);
	CHECK(vault_bsl_credentials(&b, "X=1\n", 4, &out, &e) < 0);
	vault_bsl_release(&b);

	CHECK_EQ_INT(read_bsl("{\"spec\":{\"provider\":\"azure\","
			      "\"objectStorage\":{\"bucket\":\"b\"},"
			      "\"config\":{\"storageAccount\":\"a\","
			      "\"storageAccountKeyEnvVar\":\"MY_KEY\"}}}",
			      0, &b, &e),
		     0);
	sbuf_reset(&out);
	CHECK_EQ_INT(vault_bsl_credentials(&b, az, strlen(az), &out, &e), 0);
	CHECK(!strncmp(sbuf_str(&out),
		       "AZURE_STORAGE_ACCOUNT_ACCESS_KEY=a2V5\n", 38));
	sbuf_reset(&out);
	CHECK(vault_bsl_credentials(&b, "A=1\n", 4, &out, &e) < 0);
	CHECK(strstr(e.msg, "MY_KEY") != NULL);
	/* a NUL in the Secret */
	CHECK(vault_bsl_credentials(&b, "A\0B", 3, &out, &e) < 0);
	vault_bsl_release(&b);
	sbuf_release(&out);
}

int main(void)
{
	test_urls();
	test_pin_profile_and_secret();
	test_refused();
	test_credentials();
	return check_status();
}
