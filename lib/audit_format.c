/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Audit records: every field comes from jansson, never from hand-written
 * escaping, because sni, host, path and certificate strings are chosen by
 * whoever connects. The only thing done by hand is UTF-8 repair, since
 * jansson refuses invalid UTF-8 instead of replacing it.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <edgeguard/audit.h>
#include <edgeguard/error.h>

#include "alloc.h"
#include "audit_internal.h"

/* U+FFFD REPLACEMENT CHARACTER */
static const char replacement[3] = {'\xEF', '\xBF', '\xBD'};

/*
 * Length of the well-formed UTF-8 sequence at p (n bytes available), or 0
 * when malformed. The byte ranges are those of Unicode Table 3-7, which
 * exclude overlongs (C0, C1, E0 80..9F, F0 80..8F), surrogates
 * (ED A0..BF) and code points above U+10FFFF (F4 90.., F5..FF).
 */
static size_t utf8_seq_len(const unsigned char *p, size_t n)
{
	unsigned char lo = 0x80;
	unsigned char hi = 0xBF;
	size_t need;

	if (p[0] < 0x80)
		return 1;
	if (p[0] < 0xC2)
		return 0;
	if (p[0] < 0xE0) {
		need = 2;
	} else if (p[0] < 0xF0) {
		need = 3;
		if (p[0] == 0xE0)
			lo = 0xA0;
		else if (p[0] == 0xED)
			hi = 0x9F;
	} else if (p[0] < 0xF5) {
		need = 4;
		if (p[0] == 0xF0)
			lo = 0x90;
		else if (p[0] == 0xF4)
			hi = 0x8F;
	} else {
		return 0;
	}
	if (n < need || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	return need;
}

size_t egaud_utf8_cut(const char *s, size_t len, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	if (max == 0 || len <= max)
		return len;
	while (i < len) {
		size_t n = utf8_seq_len(p + i, len - i);

		if (n == 0)
			n = 1;
		if (n > max - i)
			break;
		i += n;
	}
	return i;
}

json_t *egaud_string(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t bad = 0;
	size_t o = 0;
	char *buf;
	json_t *v;

	if (len == 0)
		return json_stringn("", 0);
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq_len(p + i, len - i);

		if (n == 0) {
			bad++;
			n = 1;
		}
		i += n;
	}
	if (bad == 0)
		return json_stringn(s, len);
	/* Each malformed byte grows from 1 to 3 bytes. */
	if (bad > (SIZE_MAX - len) / 2)
		return NULL;
	buf = eg_malloc(len + 2 * bad);
	if (buf == NULL)
		return NULL;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq_len(p + i, len - i);

		if (n == 0) {
			memcpy(buf + o, replacement, sizeof(replacement));
			o += sizeof(replacement);
			i++;
		} else {
			memcpy(buf + o, p + i, n);
			o += n;
			i += n;
		}
	}
	v = json_stringn(buf, o);
	eg_free(buf);
	return v;
}

void egaud_peer_addr(const char *peer, const char **addr, size_t *len)
{
	const char *colon;

	*addr = peer;
	*len = strlen(peer);
	if (peer[0] == '[') {
		const char *end = strchr(peer, ']');

		if (end != NULL) {
			*addr = peer + 1;
			*len = (size_t)(end - peer - 1);
		}
		return;
	}
	colon = strchr(peer, ':');
	/* A second colon means a bare IPv6 address, which carries no port. */
	if (colon != NULL && strchr(colon + 1, ':') == NULL)
		*len = (size_t)(colon - peer);
}

/* NULL only when out of memory; an absent value is JSON null. */
static json_t *cstr(const char *s)
{
	return s != NULL ? egaud_string(s, strlen(s)) : json_null();
}

static json_t *estr(const struct eg_str *s)
{
	return s->ptr != NULL ? egaud_string(s->ptr, s->len) : json_null();
}

/* A fixed-size text field of struct eg_identity; empty is absent. */
static json_t *hex_field(const char *a, size_t cap)
{
	size_t n = strnlen(a, cap);

	return n > 0 ? egaud_string(a, n) : json_null();
}

/* RFC 3339 UTC; with_ms adds ".mmm". Years outside 0000..9999 cannot be
 * written in RFC 3339 and become null. */
static json_t *rfc3339(int64_t sec, int ms, bool with_ms)
{
	time_t t = (time_t)sec;
	struct tm tm;
	char buf[64];
	int n;

	if ((int64_t)t != sec || gmtime_r(&t, &tm) == NULL ||
	    tm.tm_year < -1900 || tm.tm_year > 9999 - 1900)
		return json_null();
	if (with_ms)
		n = snprintf(buf, sizeof(buf),
			     "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			     tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
	else
		n = snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02dZ",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			     tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return json_null();
	return json_stringn(buf, (size_t)n);
}

static json_t *ts_value(int64_t ts_ms)
{
	int64_t sec = ts_ms / 1000;
	int ms = (int)(ts_ms % 1000);

	if (ms < 0) {
		ms += 1000;
		sec--;
	}
	return rfc3339(sec, ms, true);
}

static json_t *path_value(const char *path, size_t path_max)
{
	if (path == NULL)
		return json_null();
	return egaud_string(path, egaud_utf8_cut(path, strlen(path), path_max));
}

static const char *san_type_name(enum eg_san_type t)
{
	switch (t) {
	case EG_SAN_DNS:
		return "dns";
	case EG_SAN_URI:
		return "uri";
	case EG_SAN_IP:
		return "ip";
	case EG_SAN_EMAIL:
		return "email";
	}
	return "unknown";
}

static json_t *san_value(const struct eg_identity *id)
{
	json_t *arr;

	if (id == NULL)
		return json_null();
	arr = json_array();
	if (arr == NULL)
		return NULL;
	for (size_t i = 0; i < id->san_count; i++) {
		json_t *o = json_object();

		/* json_*_set_new() and append_new() fail on a NULL value and
		 * release the value they were given, so one test per call
		 * covers every allocation. */
		if (json_array_append_new(arr, o) == -1 ||
		    json_object_set_new(o, "type",
					json_string(san_type_name(
						id->san[i].type))) == -1 ||
		    json_object_set_new(o, "value", estr(&id->san[i].value)) ==
			    -1) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

json_t *egaud_record(const struct eg_audit_event *ev, uint64_t count,
		     size_t path_max)
{
	const struct eg_identity *id = ev->identity;
	json_t *rec = json_object();

	if (rec == NULL)
		return NULL;
	if (count > INT64_MAX)
		count = INT64_MAX;
	if (json_object_set_new(rec, "ts", ts_value(ev->ts_ms)) == -1 ||
	    json_object_set_new(rec, "event", cstr(eg_event_name(ev->event))) ==
		    -1 ||
	    json_object_set_new(rec, "reason",
				ev->reason == EG_REASON_NONE
					? json_null()
					: cstr(eg_reason_name(ev->reason))) ==
		    -1 ||
	    json_object_set_new(rec, "component", cstr(ev->component)) == -1 ||
	    json_object_set_new(rec, "peer", cstr(ev->peer)) == -1 ||
	    json_object_set_new(rec, "sni", cstr(ev->sni)) == -1 ||
	    json_object_set_new(rec, "method", cstr(ev->method)) == -1 ||
	    json_object_set_new(rec, "host", cstr(ev->host)) == -1 ||
	    json_object_set_new(rec, "path", path_value(ev->path, path_max)) ==
		    -1 ||
	    json_object_set_new(rec, "subject",
				id ? estr(&id->subject) : json_null()) == -1 ||
	    json_object_set_new(rec, "issuer",
				id ? estr(&id->issuer) : json_null()) == -1 ||
	    json_object_set_new(rec, "serial",
				id ? hex_field(id->serial, sizeof(id->serial))
				   : json_null()) == -1 ||
	    json_object_set_new(rec, "sha256",
				id ? hex_field(id->sha256, sizeof(id->sha256))
				   : json_null()) == -1 ||
	    json_object_set_new(rec, "san", san_value(id)) == -1 ||
	    json_object_set_new(rec, "not_after",
				id ? rfc3339(id->not_after, 0, false)
				   : json_null()) == -1 ||
	    json_object_set_new(rec, "policy", cstr(ev->policy)) == -1 ||
	    json_object_set_new(rec, "mode", cstr(eg_mode_name(ev->mode))) ==
		    -1 ||
	    json_object_set_new(rec, "count",
				json_integer((json_int_t)count)) == -1) {
		json_decref(rec);
		return NULL;
	}
	return rec;
}

struct dump_buf {
	char *p; /* owned; eg_malloc'd */
	size_t len;
	size_t cap;
};

static int dump_cb(const char *buf, size_t size, void *data)
{
	struct dump_buf *d = data;

	/* Two bytes stay reserved for the "\n" and the NUL. */
	if (size > d->cap - d->len - 2) {
		size_t cap = d->cap;
		char *p;

		while (size > cap - d->len - 2) {
			if (cap > SIZE_MAX / 2)
				return -1;
			cap *= 2;
		}
		p = eg_realloc(d->p, cap);
		if (p == NULL)
			return -1;
		d->p = p;
		d->cap = cap;
	}
	memcpy(d->p + d->len, buf, size);
	d->len += size;
	return 0;
}

int egaud_dump(const json_t *rec, char **line, size_t *len)
{
	struct dump_buf d = {.cap = 512};

	d.p = eg_malloc(d.cap);
	if (d.p == NULL)
		return EG_E_NOMEM;
	/* jansson only fails here when the callback does, i.e. on memory. */
	if (json_dump_callback(rec, dump_cb, &d,
			       JSON_COMPACT | JSON_PRESERVE_ORDER) == -1) {
		eg_free(d.p);
		return EG_E_NOMEM;
	}
	d.p[d.len++] = '\n';
	d.p[d.len] = '\0';
	*line = d.p;
	*len = d.len;
	return 0;
}

int eg_audit_format(const struct eg_audit_event *ev, uint64_t count,
		    size_t path_max, char **line, size_t *len)
{
	json_t *rec;
	int rc;

	if (ev == NULL || line == NULL || len == NULL)
		return EG_E_INVAL;
	rec = egaud_record(ev, count, path_max);
	if (rec == NULL)
		return EG_E_NOMEM;
	rc = egaud_dump(rec, line, len);
	json_decref(rec);
	return rc;
}
