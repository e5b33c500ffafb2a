/* Unit tests for common/: sbuf caps, verror, the log helpers. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "common/error.h"
#include "common/log.h"
#include "common/sbuf.h"

static void test_growth_and_cap(void)
{
	struct sbuf b;
	char *p;
	size_t len;
	int i;

	sbuf_init(&b, 100);
	CHECK_STREQ(sbuf_str(&b), "");
	for (i = 0; i < 10; i++)
		CHECK_EQ_INT(sbuf_adds(&b, "0123456789"), 0);
	CHECK_EQ_INT(b.len, 100);
	/* the cap holds, and a failed add leaves the buffer as it was */
	CHECK_EQ_INT(sbuf_addc(&b, 'x'), -E2BIG);
	CHECK_EQ_INT(sbuf_addf(&b, "%d", 1), -E2BIG);
	CHECK_EQ_INT(sbuf_addn(&b, 'x', 1), -E2BIG);
	CHECK_EQ_INT(b.len, 100);
	CHECK_EQ_INT(b.buf[100], '\0');
	p = sbuf_take(&b, &len);
	CHECK_EQ_INT(len, 100);
	CHECK(p && !strncmp(p, "0123456789", 10));
	CHECK(b.buf == NULL && b.len == 0);
	free(p);
	sbuf_release(&b);
}

static void test_printf_and_reserve(void)
{
	struct sbuf b;
	char *p;
	int r;

	sbuf_init(&b, 0);
	CHECK_EQ_INT(sbuf_addf(&b, "%s-%05d", "x", 42), 0);
	CHECK_STREQ(sbuf_str(&b), "x-00042");
	p = sbuf_reserve(&b, 3, &r);
	CHECK(p != NULL && r == 0);
	memcpy(p, "abc", 3);
	sbuf_commit(&b, 3);
	CHECK_STREQ(sbuf_str(&b), "x-00042abc");
	sbuf_reset(&b);
	CHECK_STREQ(sbuf_str(&b), "");
	CHECK_EQ_INT(sbuf_addn(&b, '-', 4), 0);
	CHECK_STREQ(sbuf_str(&b), "----");
	sbuf_release(&b);
	/* a huge reserve is refused by the cap, not attempted */
	sbuf_init(&b, 16);
	CHECK(sbuf_reserve(&b, (size_t)-1 / 2, &r) == NULL);
	CHECK_EQ_INT(r, -E2BIG);
	sbuf_release(&b);
}

static void test_verror(void)
{
	struct verror e;

	CHECK_EQ_INT(verror_set(NULL, EIO, "ignored %d", 1), -EIO);
	CHECK_EQ_INT(verror_set(&e, -ENOENT, "no %s", "file"), -ENOENT);
	CHECK_STREQ(e.msg, "no file");
	CHECK_EQ_INT(verror_prefix(&e, -ENOENT, "opening %s", "x"), -ENOENT);
	CHECK_STREQ(e.msg, "opening x: no file");
	verror_clear(&e);
	CHECK_STREQ(e.msg, "");
	CHECK_EQ_INT(verror_prefix(&e, EIO, "ctx"), -EIO);
	CHECK_STREQ(e.msg, "ctx");
}

static void test_read_fd(void)
{
	char path[] = "/tmp/velerofs-test-sbuf-XXXXXX";
	int fd = mkstemp(path);
	struct sbuf b;

	CHECK(fd >= 0);
	CHECK(write(fd, "0123456789", 10) == 10);
	/* exactly at the cap: fine */
	sbuf_init(&b, 10);
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	CHECK_EQ_INT(sbuf_read_fd(&b, fd), 0);
	CHECK_STREQ(sbuf_str(&b), "0123456789");
	sbuf_release(&b);
	/* one byte more than the cap: refused, nothing kept */
	sbuf_init(&b, 9);
	CHECK_EQ_INT(sbuf_addc(&b, 'x'), 0);
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	CHECK_EQ_INT(sbuf_read_fd(&b, fd), -E2BIG);
	CHECK_STREQ(sbuf_str(&b), "x");
	sbuf_release(&b);
	/* a read error */
	sbuf_init(&b, 0);
	CHECK_EQ_INT(sbuf_read_fd(&b, -1), -EBADF);
	sbuf_release(&b);
	close(fd);
	unlink(path);
}

static void test_log(void)
{
	log_set_max_level(LOG_ERR);
	/* below the level: nothing printed, the error still comes back */
	CHECK_EQ_INT(log_debug_errno(EIO, "quiet %m"), -EIO);
	CHECK_EQ_INT(log_debug_errno(-ENOENT, "quiet"), -ENOENT);
	CHECK_EQ_INT(log_debug("quiet"), 0);
}

/* Text from outside can neither end a line nor drive a terminal. */
static void test_escaped(void)
{
	static const char in[] = "a\nb\tc\r\x1b]0;t\x07 \x7f\xc2\x9b"
				 "\xc3\xa9\xe2\x82\xac\xff!";
	struct sbuf b;

	sbuf_init(&b, 0);
	CHECK_EQ_INT(sbuf_add_escaped(&b, in, sizeof(in) - 1), 0);
	CHECK_STREQ(b.buf, "a\\nb\\tc\\r\\x1b]0;t\\x07 \\x7f\\u009b"
			   "\xc3\xa9\xe2\x82\xac\\xff!");
	sbuf_release(&b);
	/* the cap holds */
	sbuf_init(&b, 4);
	CHECK(sbuf_add_escaped(&b, "\n\n\n", 3) == -E2BIG);
	sbuf_release(&b);
}

int main(void)
{
	test_growth_and_cap();
	test_printf_and_reserve();
	test_verror();
	test_read_fd();
	test_log();
	test_escaped();
	return check_status();
}
