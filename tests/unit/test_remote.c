/* Unit tests for vault/remote and the list parsers of vault/s3 and
 * vault/azblob: the XML scanner on good, hostile and truncated input, the
 * caps, vault URL parsing (ids without credentials), credential files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "vault/azblob_i.h"
#include "vault/remote_i.h"
#include "vault/s3_i.h"
#include "vault/vault.h"

struct seen {
	int n;
	char names[16][80];
	struct vault_object objs[16];
};

static int collect(const char *name, const struct vault_object *obj,
		   void *userdata)
{
	struct seen *s = userdata;

	if (s->n < 16) {
		snprintf(s->names[s->n], 80, "%s%s", name, obj ? "" : "/");
		if (obj)
			s->objs[s->n] = *obj;
		s->n++;
	}
	return 0;
}

static const char s3_page[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	"<Name>velero</Name><Prefix>p/backups/</Prefix>"
	"<NextContinuationToken>tok&amp;1=</NextContinuationToken>"
	"<KeyCount>5</KeyCount><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter>"
	"<IsTruncated>true</IsTruncated>"
	"<Contents><Key>p/backups/a &lt;&amp;&gt; b&#233;&#x263a;</Key>"
	"<LastModified>2026-11-21T10:00:00.000Z</LastModified>"
	"<ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag>"
	"<Size>12</Size><StorageClass>STANDARD</StorageClass></Contents>"
	"<Contents><Key>p/backups/</Key><Size>0</Size><ETag>x</ETag></Contents>"
	"<Contents><Key>elsewhere/x</Key><Size>1</Size></Contents>"
	"<!-- a comment -->"
	"<CommonPrefixes><Prefix>p/backups/b1/</Prefix></CommonPrefixes>"
	"<CommonPrefixes><Prefix>p/backups/../</Prefix></CommonPrefixes>"
	"<CommonPrefixes><Prefix><![CDATA[p/backups/c<d/]]></Prefix>"
	"</CommonPrefixes>"
	"</ListBucketResult>";

static void test_s3_list(void)
{
	struct verror e = { { 0 } };
	struct seen s = { 0 };
	char *next = NULL;

	CHECK_EQ_INT(s3_parse_list(s3_page, strlen(s3_page), "p/backups/",
				   collect, &s, &next, &e),
		     0);
	CHECK_EQ_INT(s.n, 3);
	CHECK_STREQ(s.names[0], "a <&> b\xC3\xA9\xE2\x98\xBA");
	CHECK_EQ_INT(s.objs[0].size, 12);
	CHECK_EQ_INT(s.objs[0].mtime, 1795255200);
	CHECK_STREQ(s.objs[0].identity, "e:9b2cf535f27731c974343645a3985328:c");
	CHECK_STREQ(s.names[1], "b1/");
	CHECK_STREQ(s.names[2], "c<d/");
	CHECK_STREQ(next, "tok&1=");
	free(next);
}

/* Every prefix of a valid document is refused: truncation never looks
 * like a short listing. */
static void test_truncated(void)
{
	size_t n = strlen(s3_page), i;
	int bad = 0;

	for (i = 0; i < n - 1; i++) {
		struct seen s = { 0 };
		char *next = NULL;
		int r = s3_parse_list(s3_page, i, "p/backups/", collect, &s,
				      &next, NULL);

		if (r != -EBADMSG)
			bad++;
		free(next);
	}
	CHECK_EQ_INT(bad, 0);
}

static int parse(const char *xml)
{
	struct verror e = { { 0 } };
	struct seen s = { 0 };
	char *next = NULL;
	int r = s3_parse_list(xml, strlen(xml), "", collect, &s, &next, &e);

	free(next);
	return r;
}

static void test_hostile(void)
{
	char *big;
	size_t i;
	struct sbuf deep;

	CHECK_EQ_INT(parse("<!DOCTYPE x [<!ENTITY a \"b\">]><L/>"), -EBADMSG);
	CHECK_EQ_INT(parse("<L>&a;</L>"), -EBADMSG);
	CHECK_EQ_INT(parse("<L>&#0;</L>"), -EBADMSG);
	CHECK_EQ_INT(parse("<L>&#xD800;</L>"), -EBADMSG);
	CHECK_EQ_INT(parse("<L>&#x110000;</L>"), -EBADMSG);
	CHECK_EQ_INT(parse("<L>&amp</L>"), -EBADMSG);
	CHECK_EQ_INT(parse("<L><a></b></L>"), -EBADMSG);
	CHECK_EQ_INT(parse("<L></L><M/>"), -EBADMSG);
	CHECK_EQ_INT(parse("text<L/>"), -EBADMSG);
	CHECK_EQ_INT(parse(""), -EBADMSG);
	CHECK_EQ_INT(parse("<L a=\"x>y\"/>"), 0);
	CHECK_EQ_INT(parse("<ListBucketResult><Contents><Key>k</Key>"
			   "</Contents></ListBucketResult>"),
		     -EBADMSG); /* no Size */
	CHECK_EQ_INT(parse("<ListBucketResult><Contents><Key>k</Key><Size>-1"
			   "</Size></Contents></ListBucketResult>"),
		     -EBADMSG);
	CHECK_EQ_INT(parse("<ListBucketResult><Contents><Key>k</Key><Size>"
			   "99999999999999999999</Size></Contents>"
			   "</ListBucketResult>"),
		     -EBADMSG);
	CHECK_EQ_INT(parse("<ListBucketResult><IsTruncated>true</IsTruncated>"
			   "</ListBucketResult>"),
		     -EBADMSG); /* truncated without a token */
	/* a NUL inside */
	{
		static const char nul[] = "<L>a\0b</L>";
		struct seen s = { 0 };
		char *next = NULL;

		CHECK_EQ_INT(s3_parse_list(nul, sizeof(nul) - 1, "", collect,
					   &s, &next, NULL),
			     -EBADMSG);
	}
	/* nesting deeper than the cap */
	sbuf_init(&deep, 0);
	for (i = 0; i < 40; i++)
		sbuf_adds(&deep, "<a>");
	for (i = 0; i < 40; i++)
		sbuf_adds(&deep, "</a>");
	CHECK_EQ_INT(parse(sbuf_str(&deep)), -EBADMSG);
	sbuf_release(&deep);
	/* element text over the cap */
	big = malloc(20000);
	strcpy(big, "<L><Key>");
	memset(big + 8, 'k', 10000);
	strcpy(big + 10008, "</Key></L>");
	CHECK_EQ_INT(parse(big), -EBADMSG);
	free(big);
}

static void test_azure_list(void)
{
	static const char page[] =
		"\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?>"
		"<EnumerationResults ServiceEndpoint=\"http://h/a\" "
		"ContainerName=\"c\"><Prefix>pfx/backups/</Prefix>"
		"<Delimiter>/</Delimiter><Blobs>"
		"<Blob><Name>pfx/backups/x.json</Name><Properties>"
		"<Last-Modified>Sat, 21 Nov 2026 10:00:00 GMT</Last-Modified>"
		"<Etag>0x8DC0FFEE</Etag><Content-Length>42</Content-Length>"
		"<BlobType>BlockBlob</BlobType></Properties></Blob>"
		"<BlobPrefix><Name>pfx/backups/b1/</Name></BlobPrefix>"
		"</Blobs><NextMarker>m1</NextMarker></EnumerationResults>";
	struct seen s = { 0 };
	char *next = NULL;

	CHECK_EQ_INT(azblob_parse_list(page, strlen(page), "pfx/backups/",
				       collect, &s, &next, NULL),
		     0);
	CHECK_EQ_INT(s.n, 2);
	CHECK_STREQ(s.names[0], "x.json");
	CHECK_EQ_INT(s.objs[0].size, 42);
	CHECK_EQ_INT(s.objs[0].mtime, 1795255200);
	CHECK_STREQ(s.objs[0].identity, "e:0x8DC0FFEE:2a");
	CHECK_STREQ(s.names[1], "b1/");
	CHECK_STREQ(next, "m1");
	free(next);
	next = NULL;
	CHECK_EQ_INT(azblob_parse_list("<EnumerationResults><NextMarker/>"
				       "</EnumerationResults>",
				       54, "", collect, &s, &next, NULL),
		     0);
	CHECK(next == NULL);
}

static void test_error_body(void)
{
	static const char body[] =
		"<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch"
		"</Code><Message>The signature\nsecond line</Message>"
		"<StringToSign>AWS4...</StringToSign></Error>";
	char code[32], msg[64];

	remote_xml_error(body, strlen(body), code, sizeof(code), msg,
			 sizeof(msg));
	CHECK_STREQ(code, "SignatureDoesNotMatch");
	CHECK_STREQ(msg, "The signature");
	remote_xml_error("<Error><Code>", 13, code, sizeof(code), msg,
			 sizeof(msg));
	CHECK_STREQ(code, "");
}

static void open_id(const char *url, const char *want_id, int want)
{
	struct verror e = { { 0 } };
	struct vault *v = NULL;
	int r = vault_open(url, NULL, &v, &e);

	CHECK_EQ_INT(r, want);
	if (r == 0 && want_id)
		CHECK_STREQ(vault_id(v), want_id);
	if (r < 0)
		CHECK(strstr(e.msg, "SECRET") == NULL && e.msg[0]);
	vault_free(v);
}

static void test_urls(void)
{
	unsetenv("AWS_ACCESS_KEY_ID");
	setenv("HOME", "/nonexistent", 1);
	open_id("s3://velero", "s3://velero", 0);
	open_id("s3://velero/", "s3://velero", 0);
	open_id("s3://velero//a/b//?region=eu-west-1", "s3://velero/a/b", 0);
	open_id("s3://velero/p?endpoint=http://127.0.0.1:9000&style=path",
		"s3://velero/p", 0);
	open_id("s3://velero/p?style=virtual&endpoint=https%3A%2F%2Fs3.example",
		"s3://velero/p", 0);
	open_id("s3://Bad_Bucket", NULL, -EINVAL);
	open_id("s3://velero/a/../b", NULL, -EINVAL);
	open_id("s3://velero?regoin=x", NULL, -EINVAL);
	open_id("s3://velero?style=sideways", NULL, -EINVAL);
	open_id("s3://velero?endpoint=ftp://x", NULL, -EINVAL);
	open_id("s3://velero?endpoint=http://u:SECRET@h", NULL, -EINVAL);
	open_id("s3://velero?region=%zz", NULL, -EINVAL);
	open_id("azblob://acct/cont/pre/fix?endpoint=http://127.0.0.1:1/acct"
		"&sas=sv%3D2021%26sig%3DSECRET",
		"azblob://acct/cont/pre/fix", 0);
	open_id("azblob://acct/cont", "azblob://acct/cont", 0);
	open_id("azblob://acct", NULL, -EINVAL);
	open_id("azblob://ACCT/cont", NULL, -EINVAL);
	open_id("azblob://acct/cont?sas=a%20SECRET", NULL, -EINVAL);
	open_id("gs://bucket", NULL, -EPROTONOSUPPORT);
	open_id("gs://bucket?sig=SECRET", NULL, -EPROTONOSUPPORT);
}

static void test_credentials_file(void)
{
	char path[] = "/tmp/velerofs-cred-XXXXXX";
	struct verror e = { { 0 } };
	struct vault_options opt = { .credentials_file = path };
	struct vault *v = NULL;
	char *val = NULL;
	FILE *f;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	f = fdopen(fd, "w");
	fputs("# velero's cloud file\n[default]\naws_access_key_id = AKID\n"
	      "aws_secret_access_key=SECRET\n\n[profile other]\n"
	      "aws_access_key_id=OTHER\n; comment\n"
	      "AZURE_STORAGE_KEY=\"a2V5\"\n",
	      f);
	fclose(f);
	CHECK_EQ_INT(remote_file_value(path, "default", "aws_access_key_id",
				       false, &val, &e),
		     1);
	CHECK_STREQ(val, "AKID");
	free(val);
	CHECK_EQ_INT(remote_file_value(path, "other", "aws_access_key_id",
				       false, &val, &e),
		     1);
	CHECK_STREQ(val, "OTHER");
	free(val);
	CHECK_EQ_INT(remote_file_value(path, "nope", "aws_access_key_id", false,
				       &val, &e),
		     0);
	CHECK_EQ_INT(remote_file_value(path, NULL, "AZURE_STORAGE_KEY", false,
				       &val, &e),
		     1);
	CHECK_STREQ(val, "a2V5");
	free(val);
	CHECK_EQ_INT(remote_file_value("/nonexistent/x", NULL, "K", true, &val,
				       &e),
		     0);
	CHECK_EQ_INT(remote_file_value("/nonexistent/x", NULL, "K", false, &val,
				       &e),
		     -ENOENT);
	/* the vault opens with it; a profile without a secret does not */
	CHECK_EQ_INT(vault_open("s3://velero", &opt, &v, &e), 0);
	v = vault_free(v);
	CHECK_EQ_INT(vault_open("s3://velero?profile=other", &opt, &v, &e),
		     -EINVAL);
	CHECK(strstr(e.msg, "OTHER") == NULL &&
	      strstr(e.msg, "SECRET") == NULL);
	CHECK_EQ_INT(vault_open("azblob://acct/cont", &opt, &v, &e), 0);
	if (!v)
		fprintf(stderr, "%s\n", e.msg);
	v = vault_free(v);
	unlink(path);
}

static void test_helpers(void)
{
	struct sbuf b;
	char *v = NULL;

	CHECK_EQ_INT(remote_query_get("a=1&endpoint=http%3A%2F%2Fh&b",
				      "endpoint", &v),
		     1);
	CHECK_STREQ(v, "http://h");
	free(v);
	CHECK_EQ_INT(remote_query_get("a=1&b", "b", &v), 1);
	CHECK_STREQ(v, "");
	free(v);
	CHECK_EQ_INT(remote_query_get("ab=1", "a", &v), 0);
	CHECK_EQ_INT(remote_query_get("a=x+y", "a", &v), 1);
	CHECK_STREQ(v, "x y");
	free(v);
	CHECK_EQ_INT(remote_query_get("a=%0", "a", &v), -EINVAL);
	sbuf_init(&b, 0);
	remote_uri_encode(&b, "a b/\xC3\xA9~+", true);
	CHECK_STREQ(sbuf_str(&b), "a%20b/%C3%A9~%2B");
	sbuf_release(&b);
	CHECK(remote_key_ok("backups/b/x.tar.gz"));
	CHECK(remote_key_ok("backups/"));
	CHECK(!remote_key_ok("/abs"));
	CHECK(!remote_key_ok("a//b"));
	CHECK(!remote_key_ok("a/./b"));
	CHECK(!remote_key_ok("a/.."));
	CHECK(!remote_key_ok(""));
	CHECK_EQ_INT(remote_parse_time("2026-11-21T10:00:00Z"), 1795255200);
	CHECK_EQ_INT(remote_parse_time("Sat, 21 Nov 2026 10:00:00 GMT"),
		     1795255200);
	CHECK_EQ_INT(remote_parse_time("garbage"), 0);
}

int main(void)
{
	test_s3_list();
	test_truncated();
	test_hostile();
	test_azure_list();
	test_error_body();
	test_urls();
	test_credentials_file();
	test_helpers();
	return check_status();
}
