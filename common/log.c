/* log: see log.h. Process-wide settings are written once at start-up,
 * before any thread exists, and only read afterwards. */
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int max_level = LOG_WARNING;
static const char *log_ident = "velerofs";
static int use_syslog;

void log_set_max_level(int level)
{
	max_level = level;
}

int log_get_max_level(void)
{
	return max_level;
}

void log_set_ident(const char *ident)
{
	log_ident = ident;
}

void log_set_syslog(int on)
{
	if (on && !use_syslog)
		openlog(log_ident, LOG_PID, LOG_DAEMON);
	use_syslog = on;
}

static const char *level_name(int level)
{
	switch (level) {
	case LOG_DEBUG:
		return "debug";
	case LOG_INFO:
	case LOG_NOTICE:
		return NULL;
	case LOG_WARNING:
		return "warning";
	default:
		return "error";
	}
}

int log_internalv(int level, int error, const char *file, int line,
		  const char *fmt, va_list ap)
{
	char msg[2048], out[2200];
	const char *lname;
	int saved = errno;
	int n;

	if (error < 0)
		error = -error;
	if (level > max_level)
		return -error;
	/* %m in fmt expands from errno: error's, or the caller's */
	if (error)
		errno = error;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	errno = saved;
	if (use_syslog) {
		syslog(level, "%s", msg);
		return -error;
	}
	lname = level_name(level);
	if (max_level >= LOG_DEBUG)
		n = snprintf(out, sizeof(out), "%s: %s%s(%s:%d) %s\n",
			     log_ident, lname ? lname : "", lname ? ": " : "",
			     file, line, msg);
	else
		n = snprintf(out, sizeof(out), "%s: %s%s%s\n", log_ident,
			     lname ? lname : "", lname ? ": " : "", msg);
	if (n > (int)sizeof(out) - 1)
		n = sizeof(out) - 1;
	if (write(STDERR_FILENO, out, (size_t)n) < 0) {
		/* nowhere left to report it */
	}
	return -error;
}

int log_internal(int level, int error, const char *file, int line,
		 const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = log_internalv(level, error, file, line, fmt, ap);
	va_end(ap);
	return r;
}
