/* Unit tests for vault/azblob's Shared Key signer. The string to sign is
 * the one of the Azure Storage REST documentation ("Authorize with Shared
 * Key", the Get Container Metadata example); the signatures were computed
 * independently (Python hmac over the same strings, with the public
 * Azurite development key), and the mount tests check Azurite accepts
 * what this signer produces. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "vault/azblob_i.h"
#include "vault/remote_i.h"

#define DEV_KEY                                                                \
	"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZF" \
	"PTOtr/KBHBeksoGMGw=="

static void test_doc_example(void)
{
	const char *h[] = { "x-ms-version: 2015-02-21", "x-ms-date: Fri, 26 "
							"Jun 2015 23:39:12 "
							"GMT" };
	unsigned char key[64];
	struct sbuf sts;
	char sig[64];
	int n;

	sbuf_init(&sts, 0);
	CHECK_EQ_INT(azblob_string_to_sign("GET", h, 2, "myaccount",
					   "/mycontainer",
					   "restype=container&comp=metadata&"
					   "timeout=20",
					   &sts),
		     0);
	CHECK_STREQ(sbuf_str(&sts), "GET\n\n\n\n\n\n\n\n\n\n\n\n"
				    "x-ms-date:Fri, 26 Jun 2015 23:39:12 GMT\n"
				    "x-ms-version:2015-02-21\n"
				    "/myaccount/mycontainer\ncomp:metadata\n"
				    "restype:container\ntimeout:20");
	n = remote_unbase64(DEV_KEY, key, sizeof(key));
	CHECK_EQ_INT(n, 64);
	azblob_sign(key, (size_t)n, sbuf_str(&sts), sig);
	CHECK_STREQ(sig, "1u9lui2jDxj0+fpbHjQ5m5NnastJRSYM+PSmfi8TXx4=");
	sbuf_release(&sts);
}

/* Path-style (Azurite), a range, an encoded blob name, a list query
 * whose values are decoded in the canonical resource. */
static void test_azurite_style(void)
{
	const char *h[] = { "x-ms-date: Sat, 21 Nov 2026 10:00:00 GMT",
			    "X-Ms-Version: 2021-08-06",
			    "x-ms-range: bytes=100-", "Content-Length: 0" };
	unsigned char key[64];
	struct sbuf sts;
	char sig[64];

	sbuf_init(&sts, 0);
	CHECK_EQ_INT(azblob_string_to_sign("GET", h, 4, "devstoreaccount1",
					   "/devstoreaccount1/velero/a%20b/"
					   "%C3%A9",
					   "prefix=backups%2Fx%20y&comp=list&"
					   "delimiter=%2F",
					   &sts),
		     0);
	CHECK_STREQ(sbuf_str(&sts), "GET\n\n\n\n\n\n\n\n\n\n\n\n"
				    "x-ms-date:Sat, 21 Nov 2026 10:00:00 GMT\n"
				    "x-ms-range:bytes=100-\nx-ms-version:2021-"
				    "08-06\n"
				    "/devstoreaccount1/devstoreaccount1/velero/"
				    "a%20b/%C3%A9\n"
				    "comp:list\ndelimiter:/\nprefix:backups/x "
				    "y");
	CHECK_EQ_INT(remote_unbase64(DEV_KEY, key, sizeof(key)), 64);
	azblob_sign(key, 64, sbuf_str(&sts), sig);
	CHECK_STREQ(sig, "pui1KpfpOljTkKfNHUD06Tr2uXszEWReAbnu+4ayK1M=");

	/* If-Match goes to its fixed line */
	{
		const char *h2[] = { "If-Match: \"0x8D\"", "x-ms-date: D",
				     "x-ms-version: V" };

		CHECK_EQ_INT(azblob_string_to_sign("GET", h2, 3, "a", "/c/b",
						   NULL, &sts),
			     0);
		CHECK_STREQ(sbuf_str(&sts), "GET\n\n\n\n\n\n\n\n\"0x8D\"\n\n\n"
					    "\nx-ms-date:D\nx-ms-version:V\n"
					    "/a/c/b");
	}
	/* malformed input */
	{
		const char *bad[] = { "no colon" };

		CHECK_EQ_INT(azblob_string_to_sign("GET", bad, 1, "a", "/c",
						   NULL, &sts),
			     -EINVAL);
		CHECK_EQ_INT(azblob_string_to_sign("GET", NULL, 0, "a", "/c",
						   "x=%zz", &sts),
			     -EINVAL);
	}
	sbuf_release(&sts);
}

static void test_base64(void)
{
	unsigned char out[16];

	CHECK_EQ_INT(remote_unbase64("YWJj", out, sizeof(out)), 3);
	CHECK(!memcmp(out, "abc", 3));
	CHECK_EQ_INT(remote_unbase64("YWI=", out, sizeof(out)), 2);
	CHECK_EQ_INT(remote_unbase64("YW", out, sizeof(out)), -EINVAL);
	CHECK_EQ_INT(remote_unbase64("Y!Jj", out, sizeof(out)), -EINVAL);
	CHECK_EQ_INT(remote_unbase64("", out, sizeof(out)), -EINVAL);
	CHECK_EQ_INT(remote_unbase64("YWJjYWJjYWJjYWJjYWJjYWJj", out,
				     sizeof(out)),
		     -EINVAL); /* 18 bytes > 16 */
}

int main(void)
{
	test_doc_example();
	test_azurite_style();
	test_base64();
	return check_status();
}
