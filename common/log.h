/* log: one logging module with syslog levels.
 *
 * Core modules log only at LOG_DEBUG; the caller that decides what to do
 * logs once, e.g. `return log_error_errno(r, "fetching %s: %m", key);`.
 * `%m` prints strerror(-r) in the *_errno variants. Credentials never reach
 * a log line: callers pass keys and names, never URLs with secrets.
 * Thread-safe: each call writes one line with one write(2). */
#pragma once

#include <stdarg.h>
#include <syslog.h>

#include "common/macro.h"

void log_set_max_level(int level);
int log_get_max_level(void);
/* Prefix every line with a program name ("velerofs"). */
void log_set_ident(const char *ident);
/* Send lines to syslog instead of stderr (after daemonizing). */
void log_set_syslog(int on);

/* Returns -abs(error) when error != 0, else 0, so it can end a function. */
int log_internal(int level, int error, const char *file, int line,
		 const char *fmt, ...) _printf_(5, 6);
int log_internalv(int level, int error, const char *file, int line,
		  const char *fmt, va_list ap) _printf_(5, 0);

#define log_full_errno(level, error, ...) \
	log_internal(level, error, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)
