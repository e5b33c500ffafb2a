/* dns: the DNS name rules Kubernetes applies to names (RFC 1123), so that
 * what we send (a target namespace, an API group in a URL path) is what
 * the API server accepts. No state; thread-safe. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define DNS_LABEL_MAX 63
#define DNS_SUBDOMAIN_MAX 253

/* An RFC 1123 label (a namespace name, IsDNS1123Label): 1 to 63 of
 * [a-z0-9-], starting and ending with [a-z0-9]. */
bool dns_label_ok(const char *s, size_t n);

/* An RFC 1123 subdomain (most object names, an API group,
 * IsDNS1123Subdomain): 1 to 253 of [a-z0-9.-], labels separated by single
 * dots, each starting and ending with [a-z0-9]. */
bool dns_subdomain_ok(const char *s, size_t n);
