/* backup/names: file names for things named in a backup.
 *
 * Kubernetes names reach 253 bytes, so "<name>.yaml" can exceed NAME_MAX
 * (255) and the kernel would refuse to look it up. Such names are cut at a
 * UTF-8 boundary and given a '~' and 8 hex digits of a hash of the full
 * name, so they stay unique and stable; the object itself, with its real
 * name, is the file's content. */
#include <stdint.h>
#include <string.h>

#include "backup/backup_i.h"
#include "common/hash.h"

#define NAME_MAX_BYTES 255

int backup_component_name(const char *name, size_t len, size_t extlen,
			  struct sbuf *out)
{
	size_t keep;

	if (len + extlen <= NAME_MAX_BYTES)
		return sbuf_add(out, name, len);
	keep = NAME_MAX_BYTES - extlen - 9;
	/* don't cut a UTF-8 sequence in two */
	while (keep > 0 && ((unsigned char)name[keep] & 0xc0) == 0x80)
		keep--;
	if (sbuf_add(out, name, keep) < 0)
		return -ENOMEM;
	return sbuf_addf(out, "~%08x", fnv1a32(name, len));
}
