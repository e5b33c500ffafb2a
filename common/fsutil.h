/* fsutil: small file-system helpers shared by the modules. */
#pragma once

#include <sys/types.h>

/* mkdir -p: makes path and its missing parents with mode. 0 or -errno
 * (-ENAMETOOLONG beyond PATH_MAX). */
int fsutil_mkdir_p(const char *path, mode_t mode);
