/* http/stream: pulled downloads that resume. See http_stream_open() in
 * http.h. One curl multi handle per stream drives one easy handle from
 * the client's pool; the transfer advances only inside
 * http_stream_read(), paused while the caller's buffer is full. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/macro.h"
#include "http/http_i.h"

#define HTTP_SPILL_MAX ((size_t)1 << 20)

struct http_stream {
	struct http *h;
	struct http_request req; /* url, what and method owned; the rest
				  * borrowed (see http_stream_open) */
	struct http_retry retry;
	CURLM *multi;
	CURL *easy;
	struct http_xfer x;
	bool running; /* easy is in multi and not done */
	CURLcode result;
	char etag[128];	   /* of the first answer, for If-Match */
	int64_t want;	   /* bytes the whole stream delivers, -1: unknown */
	int64_t total;	   /* the object's size from Content-Range, -1 */
	uint64_t offset;   /* body bytes delivered so far (all attempts) */
	unsigned failures; /* attempts without progress, in a row */
	unsigned resumes;  /* all attempts after the first: capped too */
	int failed;	   /* sticky -errno */
	char failmsg[sizeof(((struct verror *)0)->msg)];
};

/* Ends the current attempt. A handle taken out of a transfer that was
 * still running or paused is not reused: it may hold paused data. */
static void stream_stop(struct http_stream *s)
{
	if (s->easy) {
		curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, NULL);
		if (s->running || s->x.paused) {
			curl_multi_remove_handle(s->multi, s->easy);
			curl_easy_cleanup(s->easy);
			s->easy = NULL;
		}
	}
	http_xfer_clear_headers(&s->x);
	s->running = false;
	s->x.paused = false;
}

static int stream_fail(struct http_stream *s, int r, struct verror *e)
{
	stream_stop(s);
	s->failed = r;
	if (e)
		snprintf(s->failmsg, sizeof(s->failmsg), "%s", e->msg);
	return r;
}

/* Runs the transfer until done or, with want_headers, until the final
 * headers arrived; or, with a destination, until it holds something. */
static int stream_pump(struct http_stream *s, bool want_headers)
{
	for (;;) {
		size_t before = s->x.dst_got;
		int still, msgs;
		CURLMsg *m;
		CURLMcode mc;

		if (s->x.paused && s->x.dst && s->x.dst_got < s->x.dst_len) {
			s->x.paused = false;
			curl_easy_pause(s->easy, CURLPAUSE_CONT);
		}
		mc = curl_multi_perform(s->multi, &still);
		if (mc != CURLM_OK)
			return -EIO;
		while ((m = curl_multi_info_read(s->multi, &msgs)))
			if (m->msg == CURLMSG_DONE &&
			    m->easy_handle == s->easy) {
				curl_multi_remove_handle(s->multi, s->easy);
				s->running = false;
				s->result = m->data.result;
			}
		if (!s->running)
			return 0;
		if (want_headers && s->x.resp.headers_done)
			return 0;
		if (!want_headers && s->x.dst &&
		    (s->x.dst_got == s->x.dst_len ||
		     (s->x.dst_got > 0 && s->x.dst_got == before)))
			return 0;
		if (s->x.dst_got == before &&
		    curl_multi_poll(s->multi, NULL, 0, 1000, NULL) != CURLM_OK)
			return -EIO;
	}
}

static int transfer_error(struct http_stream *s, CURLcode rc, unsigned n,
			  struct verror *e)
{
	return http_transfer_error(s->h, s->req.method, s->req.what, rc,
				   s->x.errbuf, n, 0, e);
}

/* The first answer fixes what the stream delivers: its ETag and length. */
static void stream_first_answer(struct http_stream *s)
{
	const struct http_response *r = &s->x.resp;
	uint64_t from = s->req.range_from, len = s->req.range_len;

	snprintf(s->etag, sizeof(s->etag), "%s", r->etag);
	s->total = r->status == 206 ? r->range_total : r->length;
	s->want = r->length;
	if (r->status != 206 && (from || len)) {
		/* the server ignored Range: cut what was asked from it */
		s->x.skip = from;
		s->want = r->length < 0 ? -1 :
			  (uint64_t)r->length > from ?
					  r->length - (int64_t)from :
					  0;
	}
	if (len && (s->want < 0 || (uint64_t)s->want > len))
		s->want = (int64_t)len;
	s->x.remain = s->want < 0 ? UINT64_MAX : (uint64_t)s->want;
}

/* A resumed attempt must answer for the same object, from where we
 * were. */
static int stream_resumed_answer(struct http_stream *s, struct verror *e)
{
	const struct http_response *r = &s->x.resp;
	uint64_t at = s->req.range_from + s->offset;

	if (s->etag[0] && r->etag[0] && strcmp(s->etag, r->etag) != 0)
		return verror_set(e, -ESTALE, "%s%s%s changed while being read",
				  http_name(s->h), *http_name(s->h) ? ": " : "",
				  s->req.what);
	if (r->status == 206) {
		if (r->range_start != (int64_t)at ||
		    (s->total >= 0 && r->range_total != s->total))
			return verror_set(e, -EIO,
					  "%s%s%s %s: the server answered "
					  "another range than asked",
					  http_name(s->h),
					  *http_name(s->h) ? ": " : "",
					  s->req.method, s->req.what);
	} else {
		s->x.skip = at; /* it ignored Range: skip ahead */
	}
	s->x.remain = s->want < 0 ? UINT64_MAX : (uint64_t)s->want - s->offset;
	return 0;
}

/* Collects the error body of a non-2xx answer for the message. */
static int stream_status_error(struct http_stream *s, struct verror *e)
{
	char detail[300] = "";

	s->x.dst = NULL;
	s->x.dst_len = s->x.dst_got = 0;
	while (s->running && stream_pump(s, false) == 0)
		;
	s->x.resp.attempts = s->failures + 1;
	if (s->h->describe)
		s->h->describe(&s->x.resp, sbuf_str(&s->x.errbody),
			       s->x.errbody.len, detail, sizeof(detail));
	return http_status_error(s->h, s->req.method, s->req.what, &s->x.resp,
				 detail, e);
}

/* Starts one attempt from s->offset and waits for its headers. Returns 0
 * when a 2xx answer is streaming, 1 when the attempt failed in a way worth
 * retrying, or -errno (e set) for a final failure. */
static int stream_attempt(struct http_stream *s, struct verror *e)
{
	struct http_response *r = &s->x.resp;
	uint64_t from = s->req.range_from + s->offset, len = 0;
	int ret;

	stream_stop(s);
	http_xfer_reset(&s->x);
	if (!s->easy)
		s->easy = http_handle_get(s->h);
	if (!s->easy)
		return verror_set(e, -ENOMEM, "out of memory");
	if (s->req.range_len)
		len = s->req.range_len - s->offset;
	ret = http_attempt_setup(s->h, s->easy, &s->req, from, len,
				 s->offset && s->etag[0] ? s->etag : NULL,
				 s->failures + 1, false, NULL, &s->x, e);
	if (ret < 0)
		return ret;
	if (curl_multi_add_handle(s->multi, s->easy) != CURLM_OK)
		return verror_set(e, -ENOMEM, "out of memory");
	s->running = true;
	s->result = CURLE_OK;
	ret = stream_pump(s, true);
	if (ret < 0)
		return verror_set(e, ret, "%s%s%s %s: curl multi failed",
				  http_name(s->h), *http_name(s->h) ? ": " : "",
				  s->req.method, s->req.what);
	if (!r->headers_done || (!s->running && s->result != CURLE_OK)) {
		if (s->running || http_retryable(&s->retry, s->req.method,
						 s->result, 0, false))
			return 1;
		return transfer_error(s, s->result, s->failures + 1, e);
	}
	if (!(r->status >= 200 && r->status < 300)) {
		if (http_retryable(&s->retry, s->req.method, CURLE_OK,
				   r->status, r->retry_after[0] != '\0'))
			return 1;
		return stream_status_error(s, e);
	}
	if (s->offset == 0) {
		stream_first_answer(s);
		return 0;
	}
	return stream_resumed_answer(s, e);
}

/* The message of an attempt budget spent on failures. */
static int stream_give_up(struct http_stream *s, struct verror *e)
{
	if (s->x.resp.status && s->x.resp.headers_done) {
		char detail[300] = "";

		s->x.resp.attempts = s->failures;
		if (s->h->describe)
			s->h->describe(&s->x.resp, sbuf_str(&s->x.errbody),
				       s->x.errbody.len, detail,
				       sizeof(detail));
		return http_status_error(s->h, s->req.method, s->req.what,
					 &s->x.resp, detail, e);
	}
	return transfer_error(s, s->result ? s->result : CURLE_RECV_ERROR,
			      s->failures, e);
}

/* Attempts until one streams, with backoff between them; s->failures
 * counts attempts that made no progress. */
static int stream_start(struct http_stream *s, struct verror *e)
{
	for (;;) {
		int r = stream_attempt(s, e);

		if (r <= 0)
			return r;
		s->failures++;
		if (s->failures >= s->retry.attempts)
			return stream_give_up(s, e);
		log_debug("%s: %s %s from byte %llu failed, retrying",
			  http_name(s->h), s->req.method, s->req.what,
			  (unsigned long long)s->offset);
		http_backoff(&s->retry, s->failures, &s->x.resp);
	}
}

int http_stream_open(struct http *h, const struct http_request *req,
		     struct http_response *resp, struct http_stream **out,
		     struct verror *e)
{
	struct http_stream *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return verror_set(e, -ENOMEM, "out of memory");
	s->h = h;
	s->req = *req;
	http_retry_defaults(req->retry ? req->retry : &h->retry, &s->retry);
	s->req.retry = &s->retry;
	s->total = s->want = -1;
	sbuf_init(&s->x.errbody, HTTP_ERRBODY_MAX + 1);
	sbuf_init(&s->x.spill, HTTP_SPILL_MAX);
	s->x.streaming = true;
	s->req.url = strdup(req->url);
	s->req.what = strdup(req->what);
	s->req.method = strdup(req->method ? req->method : "GET");
	s->multi = curl_multi_init();
	s->easy = http_handle_get(h);
	if (!s->req.url || !s->req.what || !s->req.method || !s->multi ||
	    !s->easy) {
		http_stream_free(s);
		return verror_set(e, -ENOMEM, "out of memory");
	}
	r = stream_start(s, e);
	if (r < 0) {
		http_stream_free(s);
		return r;
	}
	s->failures = 0;
	if (resp) {
		*resp = s->x.resp;
		resp->attempts = s->failures + 1;
	}
	*out = s;
	return 0;
}

/* Hands out what a previous call could not take. */
static size_t take_spill(struct http_stream *s, void *buf, size_t len)
{
	size_t got = MIN(len, s->x.spill.len);

	memcpy(buf, s->x.spill.buf, got);
	memmove(s->x.spill.buf, s->x.spill.buf + got, s->x.spill.len - got);
	s->x.spill.len -= got;
	s->offset += got;
	return got;
}

/* The transfer ended without the whole body: resume from s->offset, or
 * fail for good once the budget is spent. */
static int stream_resume(struct http_stream *s, struct verror *e)
{
	int r;

	if (s->result == CURLE_OK)
		s->result = CURLE_PARTIAL_FILE;
	s->failures++;
	if (s->failures >= s->retry.attempts ||
	    ++s->resumes > 4 * s->retry.attempts) {
		r = transfer_error(s, s->result, s->failures, e);
		if (e) {
			size_t n = strlen(e->msg);

			snprintf(e->msg + n, sizeof(e->msg) - n,
				 " after %llu of %lld bytes",
				 (unsigned long long)s->offset,
				 (long long)s->want);
		}
		return r;
	}
	log_debug("%s: %s %s broke at byte %llu, resuming", http_name(s->h),
		  s->req.method, s->req.what, (unsigned long long)s->offset);
	http_backoff(&s->retry, s->failures, NULL);
	return stream_start(s, e);
}

ssize_t http_stream_read(struct http_stream *s, void *buf, size_t len,
			 struct verror *e)
{
	size_t got = 0;
	int r;

	if (s->failed) {
		if (e)
			snprintf(e->msg, sizeof(e->msg), "%s", s->failmsg);
		return s->failed;
	}
	if (s->x.spill.len) {
		got = take_spill(s, buf, len);
		if (got == len)
			return (ssize_t)got;
	}
	while (got < len) {
		size_t before = s->x.received;

		if (!s->running) {
			bool complete = s->want >= 0 ?
						s->offset >= (uint64_t)s->want :
						s->result == CURLE_OK;

			if (complete && !s->x.spill.len)
				break;
			if (got > 0)
				break; /* hand out what we have first */
			r = stream_resume(s, e);
			if (r < 0)
				return stream_fail(s, r, e);
			continue;
		}
		s->x.dst = (char *)buf + got;
		s->x.dst_len = len - got;
		s->x.dst_got = 0;
		r = stream_pump(s, false);
		s->x.dst = NULL;
		got += s->x.dst_got;
		s->offset += s->x.dst_got;
		if (r < 0)
			return stream_fail(
				s,
				verror_set(e, -EIO, "%s: %s %s: curl failed",
					   http_name(s->h), s->req.method,
					   s->req.what),
				e);
		if (s->x.received > before)
			s->failures = 0;
		if (got > 0 && s->running)
			break;
	}
	return (ssize_t)got;
}

struct http_stream *http_stream_free(struct http_stream *s)
{
	if (!s)
		return NULL;
	stream_stop(s);
	http_handle_put(s->h, s->easy);
	if (s->multi)
		curl_multi_cleanup(s->multi);
	sbuf_release(&s->x.errbody);
	sbuf_release(&s->x.spill);
	free((char *)s->req.url);
	free((char *)s->req.what);
	free((char *)s->req.method);
	free(s);
	return NULL;
}
