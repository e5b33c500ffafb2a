/* verror: detail for humans beside an -errno return (jansson's
 * json_error_t). Every function that takes one accepts NULL. The message
 * never holds credentials. */
#pragma once

#include "common/macro.h"

struct verror {
	char msg[512];
};

/* Sets the message (if e is non-NULL) and returns -abs(err), so that
 * `return verror_set(e, -EIO, "...")` reads naturally. */
int verror_set(struct verror *e, int err, const char *fmt, ...) _printf_(3, 4);
/* Prefixes the existing message: "ctx: old message". */
int verror_prefix(struct verror *e, int err, const char *fmt, ...)
	_printf_(3, 4);
static inline void verror_clear(struct verror *e)
{
	if (e)
		e->msg[0] = '\0';
}
