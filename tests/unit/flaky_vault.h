/* flaky_vault: a vault for the unit tests of the modules above vault/
 * (they include no private header of vault/): a real vault (any URL)
 * whose streams give one byte per read (a short read is a valid answer)
 * and whose reads of the objects a key suffix names fail, like the ones an
 * object store gives when a token expires mid-read. Not thread-safe
 * (f's counters). */
#pragma once

#include "vault/vault.h"

struct flaky_vault {
	const char *fail_key; /* reads of objects whose key ends so fail; NULL
			       */
	int fail_errno;	      /* with -fail_errno */
	int reads_failed;     /* counted here */
};

/* Opens url behind the flaky vault; f borrowed for the vault's life. *out
 * set on success only; free with vault_free(). */
int flaky_vault_open(const char *url, struct flaky_vault *f, struct vault **out,
		     struct verror *e);
