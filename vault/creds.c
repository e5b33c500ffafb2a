/* vault/creds: what the credential providers share (see creds_i.h): the
 * clock, form bodies, token files. No state. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vault/creds_i.h"
#include "vault/remote_i.h"

int64_t creds_now(void)
{
	return (int64_t)time(NULL);
}

int creds_form_add(struct sbuf *b, const char *name, const char *value)
{
	int r = sbuf_addf(b, "%s%s=", b->len ? "&" : "", name);

	return r < 0 ? r : remote_uri_encode(b, value, false);
}

int creds_read_token(const char *path, const char *what, struct sbuf *out,
		     struct verror *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return verror_set(e, -errno, "%s %s: %s", what, path,
				  strerror(errno));
	r = sbuf_read_fd(out, fd);
	close(fd);
	while (r >= 0 && out->len && strchr(" \t\r\n", out->buf[out->len - 1]))
		out->len--;
	if (r >= 0 && out->len == 0)
		r = -EINVAL;
	if (r >= 0)
		r = sbuf_addc(out, '\0');
	if (r < 0)
		return verror_set(e, r, "%s %s: %s", what, path,
				  r == -EINVAL ? "empty" : strerror(-r));
	return 0;
}
