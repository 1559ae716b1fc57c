/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Check suite "audit_format": one audit record, its fields in the fixed
 * order, timestamps, hostile peer strings (every byte, invalid UTF-8,
 * NULs), path truncation and out of memory.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include <edgeguard/edgeguard.h>

#include "audit_helpers.h"
#include "test_helpers.h"
#include "audit_internal.h"

#define FFFD "\xEF\xBF\xBD"

static const char *const field_order[] = {
	"ts",	  "event", "reason",	"component", "peer",   "sni",
	"method", "host",  "path",	"subject",   "issuer", "serial",
	"sha256", "san",   "not_after", "policy",    "mode",   "count"};
#define NFIELDS (sizeof(field_order) / sizeof(field_order[0]))

/* ---- format ---- */

START_TEST(test_format_fields_in_order)
{
	struct eg_audit_event ev = at_event(TS0);
	json_error_t jerr;
	const char *key;
	json_t *o, *v, *san;
	char *line;
	size_t len, i = 0;
	const char *prev = NULL;

	ev.identity = at_identity();
	ck_assert_int_eq(eg_audit_format(&ev, 7, 256, &line, &len), 0);
	ck_assert_uint_eq(strlen(line), len);
	ck_assert_ptr_eq(strchr(line, '\n'), line + len - 1);
	/* Raw positions, independent of the parser's key order. */
	for (i = 0; i < NFIELDS; i++) {
		char pat[32];
		const char *at;

		snprintf(pat, sizeof(pat), "\"%s\":", field_order[i]);
		at = strstr(line, pat);
		ck_assert_msg(at != NULL && at > prev, "%s out of order: %s",
			      pat, line);
		prev = at;
	}
	o = json_loads(line, 0, &jerr);
	ck_assert_msg(o != NULL, "%s", jerr.text);
	i = 0;
	json_object_foreach(o, key, v)
	{
		ck_assert_uint_lt(i, NFIELDS);
		ck_assert_str_eq(key, field_order[i++]);
	}
	ck_assert_uint_eq(i, NFIELDS);
	ck_assert_str_eq(at_str(o, "ts"), "2026-11-24T05:42:41.123Z");
	ck_assert_str_eq(at_str(o, "event"), "reject");
	ck_assert_str_eq(at_str(o, "reason"), "untrusted_issuer");
	ck_assert_str_eq(at_str(o, "component"), "verifier");
	ck_assert_str_eq(at_str(o, "peer"), "192.0.2.1:50000");
	ck_assert_str_eq(at_str(o, "path"), "/index.html");
	ck_assert_str_eq(at_str(o, "subject"), AT_ID_SUBJECT);
	ck_assert_str_eq(at_str(o, "issuer"), AT_ID_ISSUER);
	ck_assert_str_eq(at_str(o, "serial"), "0123abcd");
	ck_assert_uint_eq(strlen(at_str(o, "sha256")), 64);
	ck_assert_str_eq(at_str(o, "not_after"), "2027-11-24T00:00:00Z");
	ck_assert_str_eq(at_str(o, "policy"), "default");
	ck_assert_str_eq(at_str(o, "mode"), "enforce");
	ck_assert_int_eq(at_count(o), 7);
	san = json_object_get(o, "san");
	ck_assert_uint_eq(json_array_size(san), 4);
	ck_assert_str_eq(at_str(json_array_get(san, 0), "type"), "dns");
	ck_assert_str_eq(at_str(json_array_get(san, 0), "value"), AT_ID_DNS);
	ck_assert_str_eq(at_str(json_array_get(san, 1), "type"), "uri");
	ck_assert_str_eq(at_str(json_array_get(san, 2), "type"), "ip");
	ck_assert_str_eq(at_str(json_array_get(san, 2), "value"), AT_ID_IP);
	ck_assert_str_eq(at_str(json_array_get(san, 3), "type"), "email");
	ck_assert_uint_eq(json_object_size(json_array_get(san, 0)), 2);
	json_decref(o);
	eg_free(line);
}
END_TEST

/* One record (count 1) formatted and parsed back; json_decref() it. */
static json_t *format_parsed(const struct eg_audit_event *ev, size_t path_max)
{
	json_t *o;
	char *line;
	size_t len;

	ck_assert_int_eq(eg_audit_format(ev, 1, path_max, &line, &len), 0);
	o = json_loads(line, 0, NULL);
	ck_assert_msg(o != NULL, "does not parse: %s", line);
	eg_free(line);
	return o;
}

START_TEST(test_format_absent_fields_are_null)
{
	struct eg_audit_event ev = {.ts_ms = 0,
				    .event = EG_EVENT_ADMIT,
				    .reason = EG_REASON_NONE,
				    .mode = EG_MODE_LOG_ONLY};
	json_t *o = format_parsed(&ev, 0);

	ck_assert_uint_eq(json_object_size(o), NFIELDS);
	for (size_t i = 0; i < NFIELDS; i++)
		ck_assert_ptr_nonnull(json_object_get(o, field_order[i]));
	ck_assert_str_eq(at_str(o, "ts"), "1970-01-01T00:00:00.000Z");
	ck_assert_str_eq(at_str(o, "event"), "admit");
	ck_assert_str_eq(at_str(o, "mode"), "log-only");
	ck_assert(json_is_null(json_object_get(o, "reason")));
	ck_assert(json_is_null(json_object_get(o, "peer")));
	ck_assert(json_is_null(json_object_get(o, "path")));
	ck_assert(json_is_null(json_object_get(o, "subject")));
	ck_assert(json_is_null(json_object_get(o, "san")));
	ck_assert(json_is_null(json_object_get(o, "not_after")));
	ck_assert(json_is_null(json_object_get(o, "policy")));
	json_decref(o);
}
END_TEST

START_TEST(test_format_timestamps)
{
	static const struct {
		int64_t ts;
		const char *want; /* NULL: JSON null */
	} t[] = {
		{TS0, "2026-11-24T05:42:41.123Z"},
		{0, "1970-01-01T00:00:00.000Z"},
		{-1, "1969-12-31T23:59:59.999Z"},
		{253402300799999LL, "9999-12-31T23:59:59.999Z"},
		{253402300800000LL, NULL},
		{INT64_MAX, NULL},
		{INT64_MIN, NULL},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct eg_audit_event ev = at_event(t[i].ts);
		json_t *o = format_parsed(&ev, 0);

		if (t[i].want != NULL)
			ck_assert_str_eq(at_str(o, "ts"), t[i].want);
		else
			ck_assert(json_is_null(json_object_get(o, "ts")));
		json_decref(o);
	}
}
END_TEST

struct hostile {
	const char *in;
	size_t in_len;
	const char *out;
	size_t out_len;
};
#define H(a, b)                                                                \
	{                                                                      \
		a, sizeof(a) - 1, b, sizeof(b) - 1                             \
	}
#define SAME(a) H(a, a)

static const struct hostile hostile[] = {
	SAME("quote\" back\\slash \"},{\"event\":\"admit\""),
	SAME("line\nbreak\r\ttab\n{\"forged\":1}"),
	SAME("\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12"
	     "\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f"),
	SAME("\x1b[31mred\x1b[0m"),
	SAME("ok \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF"),
	SAME("\xE2\x80\xA8 \xE2\x80\xA9 \xC2\x85"),
	H("overlong \xC0\xAF", "overlong " FFFD FFFD),
	H("overlong3 \xE0\x80\xAF", "overlong3 " FFFD FFFD FFFD),
	H("overlong4 \xF0\x80\x80\xAF", "overlong4 " FFFD FFFD FFFD FFFD),
	H("surrogate \xED\xA0\x80", "surrogate " FFFD FFFD FFFD),
	H("low surrogate \xED\xBF\xBF", "low surrogate " FFFD FFFD FFFD),
	H("truncated \xE2\x82", "truncated " FFFD FFFD),
	H("truncated4 \xF0\x9F\x98", "truncated4 " FFFD FFFD FFFD),
	H("\xE2\x82", FFFD FFFD),
	H("high \xF5\xF8\xFE\xFF", "high " FFFD FFFD FFFD FFFD),
	H("above \xF4\x90\x80\x80", "above " FFFD FFFD FFFD FFFD),
	H("stray \x80\xBF", "stray " FFFD FFFD),
	H("\xC3(", FFFD "("),
	SAME(""),
};

/* Strings with NUL inside: only identity strings can carry them. */
static const struct hostile hostile_nul[] = {
	SAME("CN=good.example\0.evil.example"),
	SAME("\0"),
	H("\0\xFF\0", "\0" FFFD "\0"),
};

static void check_string(const json_t *v, const struct hostile *h,
			 const char *field)
{
	ck_assert_msg(json_is_string(v), "%s not a string", field);
	ck_assert_msg(
		json_string_length(v) == h->out_len &&
			memcmp(json_string_value(v), h->out, h->out_len) == 0,
		"%s: wrong value for input of %zu bytes", field, h->in_len);
}

/* The one-line invariant: no raw byte below 0x20 but the final "\n". */
static void check_one_line(const char *line, size_t len)
{
	size_t i = 0;

	ck_assert_uint_gt(len, 0);
	ck_assert_int_eq(line[len - 1], '\n');
	ck_assert_uint_eq(strlen(line), len);
	/* One assertion, not one per byte: Check logs every assertion. */
	while (i + 1 < len && (unsigned char)line[i] >= 0x20)
		i++;
	ck_assert_msg(i + 1 == len, "raw control byte 0x%02x at %zu",
		      (unsigned char)line[i], i);
}

static void check_hostile(const struct hostile *h, bool c_strings)
{
	struct eg_audit_event ev = at_event(TS0);
	struct eg_identity id = *at_identity();
	struct eg_san san = {.type = EG_SAN_DNS,
			     .value = {(char *)h->in, h->in_len}};
	json_error_t jerr;
	json_t *o;
	char *line;
	size_t len;

	id.subject = (struct eg_str){(char *)h->in, h->in_len};
	id.issuer = (struct eg_str){(char *)h->in, h->in_len};
	id.san = &san;
	id.san_count = 1;
	ev.identity = &id;
	if (c_strings) {
		ev.component = ev.peer = ev.sni = h->in;
		ev.method = ev.host = ev.path = ev.policy = h->in;
	}
	ck_assert_int_eq(eg_audit_format(&ev, 1, 0, &line, &len), 0);
	check_one_line(line, len);
	o = json_loads(line, JSON_ALLOW_NUL, &jerr);
	ck_assert_msg(o != NULL, "does not parse: %s: %s", jerr.text, line);
	check_string(json_object_get(o, "subject"), h, "subject");
	check_string(json_object_get(o, "issuer"), h, "issuer");
	check_string(
		json_object_get(json_array_get(json_object_get(o, "san"), 0),
				"value"),
		h, "san");
	if (c_strings) {
		static const char *const f[] = {"component", "peer", "sni",
						"method",    "host", "path",
						"policy"};

		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
			check_string(json_object_get(o, f[i]), h, f[i]);
	}
	json_decref(o);
	eg_free(line);
}

START_TEST(test_format_hostile_strings)
{
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++)
		check_hostile(&hostile[i], true);
	for (size_t i = 0; i < sizeof(hostile_nul) / sizeof(hostile_nul[0]);
	     i++)
		check_hostile(&hostile_nul[i], false);
}
END_TEST

/* Every byte in every position of a short string: valid JSON always. */
START_TEST(test_format_all_bytes)
{
	for (unsigned a = 0; a < 256; a++) {
		for (unsigned b = 0; b < 256; b += 17) {
			char s[4] = {(char)a, (char)b, (char)0xA0, 0};
			struct eg_identity id = *at_identity();
			struct eg_audit_event ev = at_event(TS0);
			json_t *o;
			char *line;
			size_t len;

			id.subject = (struct eg_str){s, 3};
			ev.identity = &id;
			ck_assert_int_eq(
				eg_audit_format(&ev, 1, 0, &line, &len), 0);
			check_one_line(line, len);
			o = json_loads(line, JSON_ALLOW_NUL, NULL);
			ck_assert_msg(o != NULL, "bytes %02x %02x", a, b);
			json_decref(o);
			eg_free(line);
		}
	}
}
END_TEST

START_TEST(test_path_truncation)
{
	static const struct {
		const char *path;
		size_t max;
		const char *want;
	} t[] = {
		{"/caf\xC3\xA9", 5, "/caf"},
		{"/caf\xC3\xA9", 6, "/caf\xC3\xA9"},
		{"/caf\xC3\xA9", 0, "/caf\xC3\xA9"},
		{"/\xE2\x82\xAC\xE2\x82\xAC", 3, "/"},
		{"/\xE2\x82\xAC\xE2\x82\xAC", 4, "/\xE2\x82\xAC"},
		{"/\xE2\x82\xAC\xE2\x82\xAC", 6, "/\xE2\x82\xAC"},
		{"/\xE2\x82\xAC\xE2\x82\xAC", 7, "/\xE2\x82\xAC\xE2\x82\xAC"},
		{"/a\xF0\x9F\x98\x80", 5, "/a"},
		{"/\xFF\xFF\xFF", 2, "/" FFFD},
		{"/\xC0\xAF/x", 3, "/" FFFD FFFD},
		{"/abcdef", 1, "/"},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct eg_audit_event ev = at_event(TS0);
		json_t *o;

		ev.path = t[i].path;
		o = format_parsed(&ev, t[i].max);
		ck_assert_msg(strcmp(at_str(o, "path"), t[i].want) == 0,
			      "case %zu: got %s", i, at_str(o, "path"));
		json_decref(o);
	}
}
END_TEST

START_TEST(test_peer_addr)
{
	static const struct {
		const char *peer;
		const char *addr;
	} t[] = {
		{"192.0.2.1:443", "192.0.2.1"},
		{"192.0.2.1", "192.0.2.1"},
		{"[2001:db8::1]:443", "2001:db8::1"},
		{"[2001:db8::1]", "2001:db8::1"},
		{"2001:db8::1", "2001:db8::1"},
		{"[2001:db8::1", "[2001:db8::1"},
		{"unix:/run/x.sock", "unix"},
		{"", ""},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *a;
		size_t n;

		egaud_peer_addr(t[i].peer, &a, &n);
		ck_assert_msg(n == strlen(t[i].addr) &&
				      memcmp(a, t[i].addr, n) == 0,
			      "%s -> %.*s", t[i].peer, (int)n, a);
	}
}
END_TEST

START_TEST(test_format_out_of_memory)
{
	struct eg_audit_event ev = at_event(TS0);
	char *line;
	size_t len;
	long n;
	int rc;

	ev.identity = at_identity();
	ev.sni = "bad \xFF utf-8 needs a copy";
	eg_set_allocator(tu_budget_malloc, tu_budget_realloc, free);
	for (n = 0; n < 10000; n++) {
		tu_alloc_budget = n;
		rc = eg_audit_format(&ev, 1, 256, &line, &len);
		tu_alloc_budget = -1;
		if (rc == 0)
			break;
		ck_assert_int_eq(rc, EG_E_NOMEM);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_int_gt(n, 10); /* the failures were real */
	check_one_line(line, len);
	eg_free(line);
	eg_set_allocator(NULL, NULL, NULL);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		test_format_fields_in_order,
		test_format_absent_fields_are_null,
		test_format_timestamps,
		test_format_hostile_strings,
		test_format_all_bytes,
		test_path_truncation,
		test_peer_addr,
		test_format_out_of_memory,
	};

	return at_run("audit_format", "format", tests,
		      sizeof(tests) / sizeof(tests[0]));
}
