/* fuzz_etcd_pki: etcd/pki.c, one file of a PKI directory (PEM
 * certificates and keys, or anything else) described for
 * certificates.txt, and the private-key test. Checks: the report ends with
 * a newline and holds no NUL. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "etcd/etcd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct etcd_pki_file f[2] = {
		{ .name = "fuzz.crt", .data = data, .len = size },
		{ .name = "etcd/ca.key", .data = data, .len = size / 2 },
	};
	struct sbuf out;
	sbuf_init(&out, 1 << 22);
	(void)etcd_pki_private_key(data, size);
	if (etcd_pki_report(f, 2, 1796169600, &out, NULL) == 0) {
		if (out.len == 0 || out.buf[out.len - 1] != '\n' ||
		    memchr(out.buf, '\0', out.len))
			abort();
	}
	sbuf_release(&out);
	return 0;
}
