/* fs/spool: SCAFFOLD until the restore spool lands (issue 5): spool_new()
 * refuses, so no mount has a restore/ directory, and the operations below
 * are never reached. Replace wholesale. */
#include <errno.h>
#include <stddef.h>

#include "fs/spool.h"

int spool_new(struct restore *r, uid_t owner, gid_t group, struct spool **out)
{
	(void)r, (void)owner, (void)group, (void)out;
	return -ENOSYS;
}

struct spool *spool_free(struct spool *s)
{
	(void)s;
	return NULL;
}

int spool_stat(struct spool *s, fuse_ino_t ino, struct stat *st,
	       double *timeout)
{
	(void)s, (void)ino, (void)st, (void)timeout;
	return -ENOSYS;
}

void spool_lookup(fuse_req_t req, struct spool *s, fuse_ino_t parent,
		  const char *name)
{
	(void)s, (void)parent, (void)name;
	fuse_reply_err(req, ENOSYS);
}

void spool_getattr(fuse_req_t req, struct spool *s, fuse_ino_t ino)
{
	(void)s, (void)ino;
	fuse_reply_err(req, ENOSYS);
}

void spool_setattr(fuse_req_t req, struct spool *s, fuse_ino_t ino,
		   struct stat *attr, int to_set, struct fuse_file_info *fi)
{
	(void)s, (void)ino, (void)attr, (void)to_set, (void)fi;
	fuse_reply_err(req, ENOSYS);
}

void spool_readdir(fuse_req_t req, struct spool *s, fuse_ino_t ino, size_t size,
		   off_t off, bool plus)
{
	(void)s, (void)ino, (void)size, (void)off, (void)plus;
	fuse_reply_err(req, ENOSYS);
}

void spool_mkdir(fuse_req_t req, struct spool *s, fuse_ino_t parent,
		 const char *name, mode_t mode)
{
	(void)s, (void)parent, (void)name, (void)mode;
	fuse_reply_err(req, ENOSYS);
}

void spool_create(fuse_req_t req, struct spool *s, fuse_ino_t parent,
		  const char *name, mode_t mode, struct fuse_file_info *fi)
{
	(void)s, (void)parent, (void)name, (void)mode, (void)fi;
	fuse_reply_err(req, ENOSYS);
}

void spool_open(fuse_req_t req, struct spool *s, fuse_ino_t ino,
		struct fuse_file_info *fi)
{
	(void)s, (void)ino, (void)fi;
	fuse_reply_err(req, ENOSYS);
}

void spool_read(fuse_req_t req, struct spool *s, fuse_ino_t ino, size_t size,
		off_t off, struct fuse_file_info *fi)
{
	(void)s, (void)ino, (void)size, (void)off, (void)fi;
	fuse_reply_err(req, ENOSYS);
}

void spool_write(fuse_req_t req, struct spool *s, fuse_ino_t ino,
		 const char *buf, size_t size, off_t off,
		 struct fuse_file_info *fi)
{
	(void)s, (void)ino, (void)buf, (void)size, (void)off, (void)fi;
	fuse_reply_err(req, ENOSYS);
}

void spool_flush(fuse_req_t req, struct spool *s, fuse_ino_t ino,
		 struct fuse_file_info *fi)
{
	(void)s, (void)ino, (void)fi;
	fuse_reply_err(req, ENOSYS);
}

void spool_release(fuse_req_t req, struct spool *s, fuse_ino_t ino,
		   struct fuse_file_info *fi)
{
	(void)s, (void)ino, (void)fi;
	fuse_reply_err(req, ENOSYS);
}

void spool_unlink(fuse_req_t req, struct spool *s, fuse_ino_t parent,
		  const char *name)
{
	(void)s, (void)parent, (void)name;
	fuse_reply_err(req, ENOSYS);
}

void spool_rmdir(fuse_req_t req, struct spool *s, fuse_ino_t parent,
		 const char *name)
{
	(void)s, (void)parent, (void)name;
	fuse_reply_err(req, ENOSYS);
}

void spool_rename(fuse_req_t req, struct spool *s, fuse_ino_t parent,
		  const char *name, fuse_ino_t newparent, const char *newname,
		  unsigned int flags)
{
	(void)s, (void)parent, (void)name, (void)newparent, (void)newname,
		(void)flags;
	fuse_reply_err(req, ENOSYS);
}
