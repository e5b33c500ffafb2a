/* dns: RFC 1123 labels and subdomains (see dns.h). */
#include "common/dns.h"

static bool alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* s[0..n) is [a-z0-9]([-a-z0-9]*[a-z0-9])? (any length >= 1). */
static bool label_chars(const char *s, size_t n)
{
	size_t i;

	if (!n || !alnum(s[0]) || !alnum(s[n - 1]))
		return false;
	for (i = 1; i + 1 < n; i++)
		if (!alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

bool dns_label_ok(const char *s, size_t n)
{
	return n <= DNS_LABEL_MAX && label_chars(s, n);
}

bool dns_subdomain_ok(const char *s, size_t n)
{
	size_t start = 0, i;

	if (!n || n > DNS_SUBDOMAIN_MAX)
		return false;
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (!label_chars(s + start, i - start))
			return false;
		start = i + 1;
	}
	return true;
}
