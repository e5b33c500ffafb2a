/* verror: see error.h. */
#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int verror_set(struct verror *e, int err, const char *fmt, ...)
{
	va_list ap;

	if (e) {
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return err < 0 ? err : -err;
}

int verror_prefix(struct verror *e, int err, const char *fmt, ...)
{
	char old[sizeof(e->msg)], pre[sizeof(e->msg)];
	va_list ap;

	if (e) {
		memcpy(old, e->msg, sizeof(old));
		va_start(ap, fmt);
		vsnprintf(pre, sizeof(pre), fmt, ap);
		va_end(ap);
		size_t n = strlen(pre);

		memcpy(e->msg, pre, n + 1);
		if (old[0] && n + 2 < sizeof(e->msg)) {
			memcpy(e->msg + n, ": ", 3);
			n += 2;
			snprintf(e->msg + n, sizeof(e->msg) - n, "%s", old);
		}
	}
	return err < 0 ? err : -err;
}
