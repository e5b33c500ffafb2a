/* clock: the monotonic clock in milliseconds, and sleeping for a while.
 *
 * For deadlines and durations (retries, waits, timing a build), never for
 * wall-clock times (those come from the backup or the server). No state;
 * thread-safe. */
#pragma once

#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds (an arbitrary origin: only differences
 * mean anything). */
int64_t clock_now_ms(void);

/* Sleeps ms milliseconds (nothing if ms <= 0), resuming after signals. */
void clock_sleep_ms(int64_t ms);
