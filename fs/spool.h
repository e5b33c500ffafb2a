/* fs/spool: the restore/ directory of a mount, private to fs/.
 *
 * fs.c hands every request on an inode that spool_owns() to the function
 * of the same name here; each is a FUSE low-level operation for the spool
 * subtree, thin over restore/. restore/ itself is INO_SPOOL_ROOT; other
 * spool inodes are T_SPOOL << 56 | an id of the spool's choosing.
 *
 * Note on open: fs.c opts into FUSE_CAP_NO_OPEN_SUPPORT for the read-only
 * tree, and the kernel then stops sending OPEN for every file of the
 * mount. create() (a new file) is still sent, and so are write, flush
 * (on every close(): its error is what close() returns, so `cp` reports
 * it) and release. */
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <stdbool.h>

#define INO_SPOOL_ROOT 5
#define T_SPOOL 3ull

struct restore;
struct spool;

static inline bool spool_owns(fuse_ino_t ino)
{
	return ino == INO_SPOOL_ROOT || ((uint64_t)ino >> 56) == T_SPOOL;
}

/* r borrowed; writes allowed only for the uid that mounted. mountpoint
 * (absolute; NULL or relative: unknown) is how the writers name the
 * files of the mount they copy from (see restore_input_hint()). */
int spool_new(struct restore *r, const char *mountpoint, uid_t owner,
	      gid_t group, struct spool **out);
struct spool *spool_free(struct spool *s);
/* The session, before the first request: what the kernel caches of
 * restore/ is kept right through it (without one nothing is cached). */
void spool_set_session(struct spool *s, struct fuse_session *se);

/* Attributes of a spool inode, for fs.c's own listings (restore/ in the
 * root directory). */
int spool_stat(struct spool *s, fuse_ino_t ino, struct stat *st,
	       double *timeout);

/* lookup is also called for ("restore" in the root): parent INO_ROOT. */
void spool_lookup(fuse_req_t req, struct spool *s, fuse_ino_t parent,
		  const char *name);
void spool_readlink(fuse_req_t req, struct spool *s, fuse_ino_t ino);
void spool_getattr(fuse_req_t req, struct spool *s, fuse_ino_t ino);
void spool_setattr(fuse_req_t req, struct spool *s, fuse_ino_t ino,
		   struct stat *attr, int to_set, struct fuse_file_info *fi);
void spool_readdir(fuse_req_t req, struct spool *s, fuse_ino_t ino, size_t size,
		   off_t off, bool plus);
void spool_mkdir(fuse_req_t req, struct spool *s, fuse_ino_t parent,
		 const char *name, mode_t mode);
void spool_create(fuse_req_t req, struct spool *s, fuse_ino_t parent,
		  const char *name, mode_t mode, struct fuse_file_info *fi);
void spool_open(fuse_req_t req, struct spool *s, fuse_ino_t ino,
		struct fuse_file_info *fi);
void spool_read(fuse_req_t req, struct spool *s, fuse_ino_t ino, size_t size,
		off_t off, struct fuse_file_info *fi);
void spool_write(fuse_req_t req, struct spool *s, fuse_ino_t ino,
		 const char *buf, size_t size, off_t off,
		 struct fuse_file_info *fi);
void spool_flush(fuse_req_t req, struct spool *s, fuse_ino_t ino,
		 struct fuse_file_info *fi);
void spool_release(fuse_req_t req, struct spool *s, fuse_ino_t ino,
		   struct fuse_file_info *fi);
void spool_unlink(fuse_req_t req, struct spool *s, fuse_ino_t parent,
		  const char *name);
void spool_rmdir(fuse_req_t req, struct spool *s, fuse_ino_t parent,
		 const char *name);
void spool_rename(fuse_req_t req, struct spool *s, fuse_ino_t parent,
		  const char *name, fuse_ino_t newparent, const char *newname,
		  unsigned int flags);
