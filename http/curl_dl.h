/* http/curl_dl: libcurl, loaded on first use. Private to http/: the rest
 * of velerofs talks HTTP through http.h and never sees curl.
 *
 * velerofs links nothing of curl. A local vault mounted without a cluster
 * never needs HTTP, and the dynamic loader would otherwise read libcurl
 * and its 26 libraries (Kerberos, LDAP, GnuTLS, nghttp2, libssh2, ...)
 * from disk before main(): 30-40 ms of a cold start (bench/profile-notes
 * .md, issue 14). Instead curl_dl.c defines every curl_* function that
 * http/ calls, under curl's own names and prototypes (so the code reads
 * as curl code and curl's typecheck-gcc.h still checks each
 * curl_easy_setopt()); the first call dlopen()s libcurl.so.4 (Debian's
 * libcurl4, OpenSSL flavour: the one libcurl4-openssl-dev builds against),
 * resolves the table with dlsym() and runs curl_global_init() once, under
 * pthread_once. Each function then forwards to libcurl.
 *
 * When libcurl cannot be loaded (missing, or older than 7.85.0), nothing
 * crashes: the functions fail as curl would without memory (NULL handles,
 * CURLE_FAILED_INIT, curl_getdate() -1). http_new() asks http_curl_load()
 * first, so a vault or cluster open fails with "cannot load libcurl.so.4:
 * <dlerror>".
 *
 * A curl function not defined in curl_dl.c is an undefined reference at
 * link time: add it there (the table, and a function forwarding to it).
 * curl_global_init() is the loader's own, and left undefined on
 * purpose. */
#pragma once

#include <curl/curl.h>

#include "common/error.h"

/* The library's name for dlopen() (its soname). */
#define HTTP_CURL_SONAME "libcurl.so.4"

/* Loads libcurl if that was not tried yet; thread-safe. 0 when it is
 * usable, else -ELIBACC with e set to "cannot load libcurl.so.4: WHY"
 * (the same answer every time). */
int http_curl_load(struct verror *e);
