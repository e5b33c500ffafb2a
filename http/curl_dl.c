/* http/curl_dl: libcurl.so.4 loaded on first use, and the curl_*
 * functions http/ calls, forwarding to it. See curl_dl.h.
 *
 * The one piece of process-wide state: the table, written once inside
 * pthread_once() and read-only after it (pthread_once orders the writes
 * before every caller's reads). The library is never unloaded (libcurl
 * cannot be unloaded safely with handles or OpenSSL state about; valgrind
 * reports what dlopen keeps as "still reachable"). */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "common/macro.h"
#include "http/curl_dl.h"

/* CURLOPT_PROTOCOLS_STR, the newest option http/ sets, came with it. */
#define CURL_DL_MIN_VERSION 0x075500
#define CURL_DL_MIN_VERSION_STR "7.85.0"

/* Every curl function velerofs calls, by its name without "curl_". */
#define CURL_DL_FUNCTIONS(X)   \
	X(global_init)         \
	X(version_info)        \
	X(easy_init)           \
	X(easy_cleanup)        \
	X(easy_reset)          \
	X(easy_setopt)         \
	X(easy_perform)        \
	X(easy_pause)          \
	X(easy_strerror)       \
	X(getdate)             \
	X(slist_append)        \
	X(slist_free_all)      \
	X(share_init)          \
	X(share_setopt)        \
	X(share_cleanup)       \
	X(multi_init)          \
	X(multi_cleanup)       \
	X(multi_add_handle)    \
	X(multi_remove_handle) \
	X(multi_perform)       \
	X(multi_poll)          \
	X(multi_info_read)

/* Pointers of the very types curl.h declares. */
#define CURL_DL_FIELD(name) __typeof__(curl_##name) *name;
struct curl_dl {
	CURL_DL_FUNCTIONS(CURL_DL_FIELD)
};

static pthread_once_t curl_dl_once = PTHREAD_ONCE_INIT;
static struct curl_dl curl_dl_table; /* written by curl_dl_load() only */
static bool curl_dl_loaded;	     /* written by curl_dl_load() only */
static char curl_dl_error[512];	     /* why not, when !curl_dl_loaded */

/* Says why libcurl cannot be used: "cannot load libcurl.so.4: WHY". */
_printf_(1, 2) static void curl_dl_why(const char *fmt, ...)
{
	int n = snprintf(curl_dl_error, sizeof(curl_dl_error),
			 "cannot load %s: ", HTTP_CURL_SONAME);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(curl_dl_error + n, sizeof(curl_dl_error) - (size_t)n, fmt,
		  ap);
	va_end(ap);
}

static void curl_dl_load(void)
{
	struct curl_dl *t = &curl_dl_table;
	curl_version_info_data *v;
	const char *missing = NULL;
	CURLcode rc;
	void *lib;

	lib = dlopen(HTTP_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		curl_dl_why("%s", dlerror());
		return;
	}
#define CURL_DL_RESOLVE(name)                                            \
	if (!missing &&                                                  \
	    !(t->name = (__typeof__(t->name))dlsym(lib, "curl_" #name))) \
		missing = "curl_" #name;
	CURL_DL_FUNCTIONS(CURL_DL_RESOLVE)
#undef CURL_DL_RESOLVE
	if (missing) {
		curl_dl_why("it has no %s", missing);
		goto fail;
	}
	v = t->version_info(CURLVERSION_NOW);
	if (!v || v->version_num < CURL_DL_MIN_VERSION) {
		curl_dl_why("it is libcurl %s, velerofs needs %s or later",
			    v && v->version ? v->version : "(unknown)",
			    CURL_DL_MIN_VERSION_STR);
		goto fail;
	}
	/* not thread-safe in 7.88: once, before any other call */
	rc = t->global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK) {
		curl_dl_why("curl_global_init: %s", t->easy_strerror(rc));
		goto fail;
	}
	curl_dl_loaded = true;
	return;
fail:
	*t = (struct curl_dl){ 0 };
	dlclose(lib);
}

/* The table, loading libcurl on the first call; NULL when it cannot be
 * loaded. */
static const struct curl_dl *curl_dl(void)
{
	pthread_once(&curl_dl_once, curl_dl_load);
	return curl_dl_loaded ? &curl_dl_table : NULL;
}

int http_curl_load(struct verror *e)
{
	if (curl_dl())
		return 0;
	return verror_set(e, -ELIBACC, "%s", curl_dl_error);
}

/* --- curl's functions, forwarding to the table -------------------------
 * The names are parenthesised so that curl.h's function-like macros
 * (typecheck-gcc.h's curl_easy_setopt) leave the definitions alone. */

curl_version_info_data *(curl_version_info)(CURLversion age)
{
	const struct curl_dl *t = curl_dl();

	return t ? t->version_info(age) : NULL;
}

CURL *(curl_easy_init)(void)
{
	const struct curl_dl *t = curl_dl();

	return t ? t->easy_init() : NULL;
}

void(curl_easy_cleanup)(CURL *c)
{
	const struct curl_dl *t = curl_dl();

	if (t)
		t->easy_cleanup(c);
}

void(curl_easy_reset)(CURL *c)
{
	const struct curl_dl *t = curl_dl();

	if (t)
		t->easy_reset(c);
}

/* The option's number tells the type of its argument, as libcurl reads
 * it (CURLOPTTYPE_*: long, object pointer, function pointer, curl_off_t,
 * struct curl_blob pointer); it is passed on with that type. */
CURLcode(curl_easy_setopt)(CURL *c, CURLoption opt, ...)
{
	const struct curl_dl *t = curl_dl();
	CURLcode rc;
	va_list ap;

	if (!t)
		return CURLE_FAILED_INIT;
	va_start(ap, opt);
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		rc = t->easy_setopt(c, opt, va_arg(ap, long));
	else if (opt < CURLOPTTYPE_FUNCTIONPOINT)
		rc = t->easy_setopt(c, opt, va_arg(ap, void *));
	else if (opt < CURLOPTTYPE_OFF_T)
		rc = t->easy_setopt(c, opt, va_arg(ap, void (*)(void)));
	else if (opt < CURLOPTTYPE_BLOB)
		rc = t->easy_setopt(c, opt, va_arg(ap, curl_off_t));
	else
		rc = t->easy_setopt(c, opt, va_arg(ap, struct curl_blob *));
	va_end(ap);
	return rc;
}

CURLcode(curl_easy_perform)(CURL *c)
{
	const struct curl_dl *t = curl_dl();

	return t ? t->easy_perform(c) : CURLE_FAILED_INIT;
}

CURLcode(curl_easy_pause)(CURL *c, int bitmask)
{
	const struct curl_dl *t = curl_dl();

	return t ? t->easy_pause(c, bitmask) : CURLE_FAILED_INIT;
}

const char *(curl_easy_strerror)(CURLcode rc)
{
	const struct curl_dl *t = curl_dl();

	return t ? t->easy_strerror(rc) : curl_dl_error;
}

time_t(curl_getdate)(const char *p, const time_t *unused)
{
	const struct curl_dl *t = curl_dl();

	return t ? t->getdate(p, unused) : -1;
}

struct curl_slist *(curl_slist_append)(struct curl_slist *l, const char *s)
{
	const struct curl_dl *t = curl_dl();

	return t ? t->slist_append(l, s) : NULL;
}

void(curl_slist_free_all)(struct curl_slist *l)
{
	const struct curl_dl *t = curl_dl();

	if (t)
		t->slist_free_all(l);
}

CURLSH *(curl_share_init)(void)
{
	const struct curl_dl *t = curl_dl();

	return t ? t->share_init() : NULL;
}

/* As curl_easy_setopt(): the argument's type follows the option (share.c
 * in libcurl reads an int, a function pointer or a pointer). */
CURLSHcode(curl_share_setopt)(CURLSH *s, CURLSHoption opt, ...)
{
	const struct curl_dl *t = curl_dl();
	CURLSHcode rc;
	va_list ap;

	if (!t)
		return CURLSHE_NOT_BUILT_IN;
	va_start(ap, opt);
	switch (opt) {
	case CURLSHOPT_SHARE:
	case CURLSHOPT_UNSHARE:
		rc = t->share_setopt(s, opt, va_arg(ap, int));
		break;
	case CURLSHOPT_LOCKFUNC:
	case CURLSHOPT_UNLOCKFUNC:
		rc = t->share_setopt(s, opt, va_arg(ap, void (*)(void)));
		break;
	case CURLSHOPT_USERDATA:
		rc = t->share_setopt(s, opt, va_arg(ap, void *));
		break;
	default:
		rc = CURLSHE_BAD_OPTION;
		break;
	}
	va_end(ap);
	return rc;
}

CURLSHcode(curl_share_cleanup)(CURLSH *s)
{
	const struct curl_dl *t = curl_dl();

	return t ? t->share_cleanup(s) : CURLSHE_INVALID;
}

CURLM *(curl_multi_init)(void)
{
	const struct curl_dl *t = curl_dl();

	return t ? t->multi_init() : NULL;
}

CURLMcode(curl_multi_cleanup)(CURLM *m)
{
	const struct curl_dl *t = curl_dl();

	return t ? t->multi_cleanup(m) : CURLM_BAD_HANDLE;
}

CURLMcode(curl_multi_add_handle)(CURLM *m, CURL *c)
{
	const struct curl_dl *t = curl_dl();

	return t ? t->multi_add_handle(m, c) : CURLM_BAD_HANDLE;
}

CURLMcode(curl_multi_remove_handle)(CURLM *m, CURL *c)
{
	const struct curl_dl *t = curl_dl();

	return t ? t->multi_remove_handle(m, c) : CURLM_BAD_HANDLE;
}

CURLMcode(curl_multi_perform)(CURLM *m, int *running)
{
	const struct curl_dl *t = curl_dl();

	return t ? t->multi_perform(m, running) : CURLM_BAD_HANDLE;
}

CURLMcode(curl_multi_poll)(CURLM *m, struct curl_waitfd extra[],
			   unsigned int nextra, int timeout_ms, int *numfds)
{
	const struct curl_dl *t = curl_dl();

	return t ? t->multi_poll(m, extra, nextra, timeout_ms, numfds) :
		   CURLM_BAD_HANDLE;
}

CURLMsg *(curl_multi_info_read)(CURLM *m, int *msgs)
{
	const struct curl_dl *t = curl_dl();

	return t ? t->multi_info_read(m, msgs) : NULL;
}
