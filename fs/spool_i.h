/* fs/spool_i.h: what fs/spool.c defines beyond fs/spool.h, until spool.h
 * declares it.
 *
 * restore/jobs/latest is a symlink; fs.c must hand READLINK of a spool
 * inode to spool_readlink() (its op_readlink answers EINVAL for them
 * today, so `cat restore/jobs/latest` fails until it does). Move this
 * prototype into spool.h and delete this file when fs.c routes it. */
#pragma once

#include "fs/spool.h"

void spool_readlink(fuse_req_t req, struct spool *s, fuse_ino_t ino);
