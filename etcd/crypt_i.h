/* crypt_i.h: etcd/crypt.c and etcd/pki.c internals, for the unit tests
 * and the fuzz targets. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "etcd/etcd.h"

/* etcd_crypt_load() from memory (data[0..len), YAML or JSON). */
int etcd_crypt_parse(const void *data, size_t len, struct etcd_crypt **out,
		     struct verror *e);

/* HSalsa20 of the 16 bytes in under key (XSalsa20's subkey). */
void etcd_hsalsa20(unsigned char out[32], const unsigned char key[32],
		   const unsigned char in[16]);
/* dst = src XOR the XSalsa20 stream of (key, nonce) from byte skip on. */
void etcd_xsalsa20_xor(unsigned char *dst, const unsigned char *src, size_t n,
		       const unsigned char nonce[24],
		       const unsigned char key[32], uint64_t skip);
