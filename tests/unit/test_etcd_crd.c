/* Unit tests of etcd/crd.c: stored v1beta1 CustomResourceDefinitions as
 * the v1 objects the apiserver serves (compared as JSON values). */
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "check.h"
#include "etcd/etcd.h"

static void conv(const char *in, const char *want)
{
	struct sbuf out;
	json_t *a, *b;

	sbuf_init(&out, 1 << 20);
	CHECK_EQ_INT(k8s_crd_v1(in, strlen(in), &out, NULL), 0);
	a = json_loads(sbuf_str(&out), 0, NULL);
	b = json_loads(want, 0, NULL);
	CHECK(a && b);
	if (!json_equal(a, b)) {
		fprintf(stderr, "got  %s\nwant %s\n", sbuf_str(&out), want);
		check_failures++;
	}
	json_decref(a);
	json_decref(b);
	sbuf_release(&out);
}

int main(void)
{
	struct sbuf out;

	/* top-level validation, subresources and columns go into every
	 * version; JSONPath -> jsonPath; version dropped */
	conv("{\"kind\":\"CustomResourceDefinition\",\"apiVersion\":"
	     "\"apiextensions.k8s.io/v1beta1\",\"metadata\":{\"name\":\"w.x\"},"
	     "\"spec\":{\"group\":\"x\",\"version\":\"v1\",\"names\":{"
	     "\"plural\":"
	     "\"w\",\"kind\":\"W\"},\"scope\":\"Namespaced\",\"validation\":{"
	     "\"openAPIV3Schema\":{\"type\":\"object\"}},\"subresources\":{"
	     "\"status\":{}},\"versions\":[{\"name\":\"v1\",\"served\":true,"
	     "\"storage\":true},{\"name\":\"v2\",\"served\":true,\"storage\":"
	     "false}],\"additionalPrinterColumns\":[{\"name\":\"Age\",\"type\":"
	     "\"date\",\"JSONPath\":\".metadata.creationTimestamp\"}],"
	     "\"conversion\":{\"strategy\":\"None\"},\"preserveUnknownFields\":"
	     "false},\"status\":{\"storedVersions\":[\"v1\"]}}",
	     "{\"kind\":\"CustomResourceDefinition\",\"apiVersion\":"
	     "\"apiextensions.k8s.io/v1\",\"metadata\":{\"name\":\"w.x\"},"
	     "\"spec\":{\"group\":\"x\",\"names\":{\"plural\":\"w\",\"kind\":"
	     "\"W\"},\"scope\":\"Namespaced\",\"versions\":[{\"name\":\"v1\","
	     "\"served\":true,\"storage\":true,\"schema\":{\"openAPIV3Schema\":"
	     "{\"type\":\"object\"}},\"subresources\":{\"status\":{}},"
	     "\"additionalPrinterColumns\":[{\"name\":\"Age\",\"type\":"
	     "\"date\","
	     "\"jsonPath\":\".metadata.creationTimestamp\"}]},{\"name\":\"v2\","
	     "\"served\":true,\"storage\":false,\"schema\":{"
	     "\"openAPIV3Schema\":"
	     "{\"type\":\"object\"}},\"subresources\":{\"status\":{}},"
	     "\"additionalPrinterColumns\":[{\"name\":\"Age\",\"type\":"
	     "\"date\","
	     "\"jsonPath\":\".metadata.creationTimestamp\"}]}],\"conversion\":{"
	     "\"strategy\":\"None\"}},\"status\":{\"storedVersions\":[\"v1\"]}"
	     "}");
	/* only spec.version; a webhook; preserveUnknownFields true kept */
	conv("{\"apiVersion\":\"apiextensions.k8s.io/v1beta1\",\"spec\":{"
	     "\"version\":\"v1\",\"conversion\":{\"strategy\":\"Webhook\","
	     "\"webhookClientConfig\":{\"url\":\"https://h\"},"
	     "\"conversionReviewVersions\":[\"v1\"]},\"preserveUnknownFields\":"
	     "true}}",
	     "{\"apiVersion\":\"apiextensions.k8s.io/"
	     "v1\",\"spec\":{\"versions\":"
	     "[{\"name\":\"v1\",\"served\":true,\"storage\":true}],"
	     "\"conversion\":"
	     "{\"strategy\":\"Webhook\",\"webhook\":{\"clientConfig\":{\"url\":"
	     "\"https://h\"},\"conversionReviewVersions\":[\"v1\"]}},"
	     "\"preserveUnknownFields\":true}}");
	/* per-version schemas stay; v1 is copied as it is */
	conv("{\"apiVersion\":\"apiextensions.k8s.io/v1beta1\",\"spec\":{"
	     "\"versions\":[{\"name\":\"a\",\"schema\":{\"openAPIV3Schema\":{}}"
	     ","
	     "\"additionalPrinterColumns\":[{\"name\":\"N\",\"JSONPath\":\"."
	     "x\"}]"
	     "}],\"extra\":1}}",
	     "{\"apiVersion\":\"apiextensions.k8s.io/"
	     "v1\",\"spec\":{\"versions\":"
	     "[{\"name\":\"a\",\"schema\":{\"openAPIV3Schema\":{}},"
	     "\"additionalPrinterColumns\":[{\"name\":\"N\",\"jsonPath\":\"."
	     "x\"}]"
	     "}],\"extra\":1}}");
	conv("{\"apiVersion\":\"apiextensions.k8s.io/"
	     "v1\",\"spec\":{\"version\":"
	     "\"v1\"}}",
	     "{\"apiVersion\":\"apiextensions.k8s.io/"
	     "v1\",\"spec\":{\"version\":"
	     "\"v1\"}}");
	sbuf_init(&out, 1 << 20);
	CHECK_EQ_INT(k8s_crd_v1("[]", 2, &out, NULL), -EBADMSG);
	CHECK_EQ_INT(k8s_crd_v1("{\"spec\":3}", 10, &out, NULL), -EBADMSG);
	CHECK_EQ_INT(k8s_crd_v1("{", 1, &out, NULL), -EBADMSG);
	sbuf_release(&out);
	return check_status();
}
