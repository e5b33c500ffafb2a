/* Private to backup/: the one JSON scanner of backup/.
 *
 * A cursor over JSON text and the steps that both JSON passes of backup/
 * take - the YAML renderer (yaml.c), which validates and renders, and
 * the clean/redact filter (filter.c), which copies spans - so that the
 * grammar of whitespace, separators, numbers and literals is written
 * once. Strings are only delimited here (json_raw_string); decoding and
 * validating their escapes and UTF-8 is the renderer's job.
 *
 * Every step checks the end of the text before reading a byte; on
 * failure it returns -EBADMSG with s->p at the offending byte (or at the
 * end), so callers can say where. Header-only: the steps sit in the
 * renderer's inner loop and must inline. No allocation, no state beyond
 * the cursor; reentrant. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "backup/render_i.h"

struct json_scan {
	const char *p;	 /* next unread byte */
	const char *end; /* one past the last byte */
};

static inline bool json_at(const struct json_scan *s, char c)
{
	return s->p < s->end && *s->p == c;
}

static inline void json_skip_ws(struct json_scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' ||
				 *s->p == '\r' || *s->p == '\t'))
		s->p++;
}

/* At '{' or '[': consumes it and the whitespace after it; true when the
 * container is empty (its close consumed too). */
static inline bool json_open(struct json_scan *s, char close)
{
	s->p++;
	json_skip_ws(s);
	if (json_at(s, close)) {
		s->p++;
		return true;
	}
	return false;
}

/* After a key: whitespace, ':' (consumed). */
static inline int json_colon(struct json_scan *s)
{
	json_skip_ws(s);
	if (!json_at(s, ':'))
		return -EBADMSG;
	s->p++;
	return 0;
}

/* After a member or an element: 1 at ',' (consumed, and the whitespace
 * after it: another follows), 0 at close (consumed: the end), -EBADMSG
 * otherwise. */
static inline int json_next_or_close(struct json_scan *s, char close)
{
	json_skip_ws(s);
	if (json_at(s, ',')) {
		s->p++;
		json_skip_ws(s);
		return 1;
	}
	if (json_at(s, close)) {
		s->p++;
		return 0;
	}
	return -EBADMSG;
}

/* At '"': the raw bytes between the quotes in *raw, *n (escapes as they
 * are: not decoded, not validated); s->p past the closing quote. */
static inline int json_raw_string(struct json_scan *s, const char **raw,
				  size_t *n)
{
	const char *start = s->p + 1, *p = start;

	while (p < s->end && *p != '"') {
		if (*p == '\\' && ++p == s->end)
			break;
		p++;
	}
	if (p >= s->end) {
		s->p = s->end;
		return -EBADMSG;
	}
	*raw = start;
	*n = (size_t)(p - start);
	s->p = p + 1;
	return 0;
}

/* A number, as RFC 8259 writes it. */
struct json_number {
	const char *s; /* the literal */
	size_t n;
	const char *exp; /* its 'e' or 'E', NULL without an exponent */
	bool frac;	 /* has a '.' part */
	bool exp_sign;	 /* the exponent has a sign */
	const char *why; /* on failure: what is wrong */
};

static inline bool json_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline const char *json_digits(const char *p, const char *end)
{
	while (p < end && json_is_digit(*p))
		p++;
	return p;
}

/* At a number: its span and shape in *num, s->p past it. */
static inline int json_number(struct json_scan *s, struct json_number *num)
{
	const char *p = s->p, *end = s->end;

	memset(num, 0, sizeof(*num));
	num->s = p;
	if (p < end && *p == '-')
		p++;
	if (p < end && *p == '0') {
		p++;
	} else if (p < end && *p >= '1' && *p <= '9') {
		p = json_digits(p, end);
	} else {
		num->why = "invalid number";
		s->p = p;
		return -EBADMSG;
	}
	if (p < end && *p == '.') {
		p++;
		if (p >= end || !json_is_digit(*p))
			goto digit;
		p = json_digits(p, end);
		num->frac = true;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		num->exp = p++;
		if (p < end && (*p == '+' || *p == '-')) {
			p++;
			num->exp_sign = true;
		}
		if (p >= end || !json_is_digit(*p))
			goto digit;
		p = json_digits(p, end);
	}
	num->n = (size_t)(p - num->s);
	s->p = p;
	return 0;
digit:
	num->why = "invalid number: digit expected";
	s->p = p;
	return -EBADMSG;
}

/* At true, false or null (word, n bytes): consumes it. */
static inline int json_literal(struct json_scan *s, const char *word, size_t n)
{
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n))
		return -EBADMSG;
	s->p += n;
	return 0;
}

/* Skips one value of any kind (after whitespace), nested at most
 * RENDER_MAX_DEPTH deep counting from depth: -E2BIG past that. */
static inline int json_skip_value(struct json_scan *s, int depth)
{
	struct json_number num;
	const char *raw;
	size_t n;
	int r;

	if (depth > RENDER_MAX_DEPTH)
		return -E2BIG;
	json_skip_ws(s);
	if (s->p >= s->end)
		return -EBADMSG;
	switch (*s->p) {
	case '"':
		return json_raw_string(s, &raw, &n);
	case 't':
		return json_literal(s, "true", 4);
	case 'f':
		return json_literal(s, "false", 5);
	case 'n':
		return json_literal(s, "null", 4);
	case '{':
	case '[': {
		char close = *s->p == '{' ? '}' : ']';

		if (json_open(s, close))
			return 0;
		do {
			if (close == '}') {
				if (!json_at(s, '"') ||
				    json_raw_string(s, &raw, &n) < 0 ||
				    json_colon(s) < 0)
					return -EBADMSG;
			}
			r = json_skip_value(s, depth + 1);
			if (r < 0)
				return r;
			r = json_next_or_close(s, close);
		} while (r > 0);
		return r;
	}
	default:
		return json_number(s, &num);
	}
}
