/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Check suite "audit": record format under hostile input, configuration,
 * flood aggregation with exact counts, sinks (file, syslog, journald),
 * rotation, concurrency, out of memory, and `edgeguard audit summarize`.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include <edgeguard/edgeguard.h>

#include "audit_internal.h"
#include "testcerts.h"

#define TS0  1795498961123LL /* 2026-11-24T05:42:41.123Z */
#define FFFD "\xEF\xBF\xBD"

static const char *const field_order[] = {
	"ts",	  "event", "reason",	"component", "peer",   "sni",
	"method", "host",  "path",	"subject",   "issuer", "serial",
	"sha256", "san",   "not_after", "policy",    "mode",   "count"};
#define NFIELDS (sizeof(field_order) / sizeof(field_order[0]))

/* ---- fixtures ---- */

static char id_subject[] = "CN=edge-1,O=Example Edge";
static char id_issuer[] = "CN=Example Root";
static char id_dns[] = "edge-1.example.net";
static char id_uri[] = "spiffe://example.net/edge";
static char id_ip[] = "192.0.2.7";
static char id_email[] = "ops@example.net";
static struct eg_san id_san[4];
static struct eg_identity ident;

static const struct eg_identity *identity(void)
{
	memset(&ident, 0, sizeof(ident));
	ident.subject = (struct eg_str){id_subject, strlen(id_subject)};
	ident.issuer = (struct eg_str){id_issuer, strlen(id_issuer)};
	snprintf(ident.serial, sizeof(ident.serial), "0123abcd");
	memset(ident.sha256, 'a', 64);
	id_san[0] = (struct eg_san){.type = EG_SAN_DNS,
				    .value = {id_dns, strlen(id_dns)}};
	id_san[1] = (struct eg_san){.type = EG_SAN_URI,
				    .value = {id_uri, strlen(id_uri)}};
	id_san[2] = (struct eg_san){.type = EG_SAN_IP,
				    .value = {id_ip, strlen(id_ip)}};
	id_san[3] = (struct eg_san){.type = EG_SAN_EMAIL,
				    .value = {id_email, strlen(id_email)}};
	ident.san = id_san;
	ident.san_count = 4;
	ident.not_after = 1827014400; /* 2027-11-24T00:00:00Z */
	return &ident;
}

static struct eg_audit_event event_at(int64_t ts)
{
	return (struct eg_audit_event){
		.ts_ms = ts,
		.event = EG_EVENT_REJECT,
		.reason = EG_REASON_UNTRUSTED_ISSUER,
		.component = "verifier",
		.peer = "192.0.2.1:50000",
		.sni = "origin.example.com",
		.method = "GET",
		.host = "origin.example.com",
		.path = "/index.html",
		.policy = "default",
		.mode = EG_MODE_ENFORCE,
	};
}

static const char *tmp_file(const char *name)
{
	static char buf[8][4096];
	static unsigned next;
	char *p = buf[next++ % 8];

	snprintf(p, sizeof(buf[0]), "%s/%s", tc_tmpdir(), name);
	return p;
}

static struct eg_audit_log *open_log(const char *file, unsigned window,
				     unsigned max_keys, size_t path_max)
{
	struct eg_audit_config cfg = {.file = (char *)file,
				      .aggregate_window_ms = window,
				      .aggregate_max_keys = max_keys,
				      .path_max = path_max};
	struct eg_audit_log *log = NULL;
	char err[512];
	int rc = eg_audit_log_open(&cfg, &log, err, sizeof(err));

	ck_assert_msg(rc == 0, "open: %d %s", rc, err);
	return log;
}

/* Every line of a JSON Lines file, parsed; the file must hold nothing else. */
struct recs {
	json_t *v[4096];
	size_t n;
	uint64_t sum; /* of `count` */
};

static void read_recs(const char *path, struct recs *r)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	memset(r, 0, sizeof(*r));
	while ((n = getline(&line, &cap, f)) != -1) {
		json_error_t jerr;
		json_t *o;

		ck_assert_msg(line[n - 1] == '\n', "unterminated line");
		o = json_loadb(line, (size_t)n, JSON_ALLOW_NUL, &jerr);
		ck_assert_msg(json_is_object(o), "bad line %zu: %s: %.*s",
			      r->n + 1, jerr.text, (int)n, line);
		ck_assert_uint_lt(r->n, 4096);
		r->v[r->n++] = o;
		r->sum += (uint64_t)json_integer_value(
			json_object_get(o, "count"));
	}
	free(line);
	fclose(f);
}

static void free_recs(struct recs *r)
{
	for (size_t i = 0; i < r->n; i++)
		json_decref(r->v[i]);
	r->n = 0;
}

static long long count_of(const json_t *o)
{
	return json_integer_value(json_object_get(o, "count"));
}

static const char *str_of(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* An allocator that fails after `fail_after` successful allocations. */
static long fail_after = -1;

static void *failing_malloc(size_t n)
{
	if (fail_after == 0)
		return NULL;
	if (fail_after > 0)
		fail_after--;
	return malloc(n);
}

static void *failing_realloc(void *p, size_t n)
{
	if (fail_after == 0)
		return NULL;
	if (fail_after > 0)
		fail_after--;
	return realloc(p, n);
}

/* ---- format ---- */

START_TEST(test_format_fields_in_order)
{
	struct eg_audit_event ev = event_at(TS0);
	json_error_t jerr;
	const char *key;
	json_t *o, *v, *san;
	char *line;
	size_t len, i = 0;
	const char *prev = NULL;

	ev.identity = identity();
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
	ck_assert_str_eq(str_of(o, "ts"), "2026-11-24T05:42:41.123Z");
	ck_assert_str_eq(str_of(o, "event"), "reject");
	ck_assert_str_eq(str_of(o, "reason"), "untrusted_issuer");
	ck_assert_str_eq(str_of(o, "component"), "verifier");
	ck_assert_str_eq(str_of(o, "peer"), "192.0.2.1:50000");
	ck_assert_str_eq(str_of(o, "path"), "/index.html");
	ck_assert_str_eq(str_of(o, "subject"), id_subject);
	ck_assert_str_eq(str_of(o, "issuer"), id_issuer);
	ck_assert_str_eq(str_of(o, "serial"), "0123abcd");
	ck_assert_uint_eq(strlen(str_of(o, "sha256")), 64);
	ck_assert_str_eq(str_of(o, "not_after"), "2027-11-24T00:00:00Z");
	ck_assert_str_eq(str_of(o, "policy"), "default");
	ck_assert_str_eq(str_of(o, "mode"), "enforce");
	ck_assert_int_eq(count_of(o), 7);
	san = json_object_get(o, "san");
	ck_assert_uint_eq(json_array_size(san), 4);
	ck_assert_str_eq(str_of(json_array_get(san, 0), "type"), "dns");
	ck_assert_str_eq(str_of(json_array_get(san, 0), "value"), id_dns);
	ck_assert_str_eq(str_of(json_array_get(san, 1), "type"), "uri");
	ck_assert_str_eq(str_of(json_array_get(san, 2), "type"), "ip");
	ck_assert_str_eq(str_of(json_array_get(san, 2), "value"), id_ip);
	ck_assert_str_eq(str_of(json_array_get(san, 3), "type"), "email");
	ck_assert_uint_eq(json_object_size(json_array_get(san, 0)), 2);
	json_decref(o);
	eg_free(line);
}
END_TEST

START_TEST(test_format_absent_fields_are_null)
{
	struct eg_audit_event ev = {.ts_ms = 0,
				    .event = EG_EVENT_ADMIT,
				    .reason = EG_REASON_NONE,
				    .mode = EG_MODE_LOG_ONLY};
	json_t *o;
	char *line;
	size_t len;

	ck_assert_int_eq(eg_audit_format(&ev, 1, 0, &line, &len), 0);
	o = json_loads(line, 0, NULL);
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(json_object_size(o), NFIELDS);
	for (size_t i = 0; i < NFIELDS; i++)
		ck_assert_ptr_nonnull(json_object_get(o, field_order[i]));
	ck_assert_str_eq(str_of(o, "ts"), "1970-01-01T00:00:00.000Z");
	ck_assert_str_eq(str_of(o, "event"), "admit");
	ck_assert_str_eq(str_of(o, "mode"), "log-only");
	ck_assert(json_is_null(json_object_get(o, "reason")));
	ck_assert(json_is_null(json_object_get(o, "peer")));
	ck_assert(json_is_null(json_object_get(o, "path")));
	ck_assert(json_is_null(json_object_get(o, "subject")));
	ck_assert(json_is_null(json_object_get(o, "san")));
	ck_assert(json_is_null(json_object_get(o, "not_after")));
	ck_assert(json_is_null(json_object_get(o, "policy")));
	json_decref(o);
	eg_free(line);
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
		struct eg_audit_event ev = event_at(t[i].ts);
		json_t *o;
		char *line;
		size_t len;

		ck_assert_int_eq(eg_audit_format(&ev, 1, 0, &line, &len), 0);
		o = json_loads(line, 0, NULL);
		ck_assert_ptr_nonnull(o);
		if (t[i].want != NULL)
			ck_assert_str_eq(str_of(o, "ts"), t[i].want);
		else
			ck_assert(json_is_null(json_object_get(o, "ts")));
		json_decref(o);
		eg_free(line);
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
	struct eg_audit_event ev = event_at(TS0);
	struct eg_identity id = *identity();
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
			struct eg_identity id = *identity();
			struct eg_audit_event ev = event_at(TS0);
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
		struct eg_audit_event ev = event_at(TS0);
		json_t *o;
		char *line;
		size_t len;

		ev.path = t[i].path;
		ck_assert_int_eq(eg_audit_format(&ev, 1, t[i].max, &line, &len),
				 0);
		o = json_loads(line, 0, NULL);
		ck_assert_ptr_nonnull(o);
		ck_assert_msg(strcmp(str_of(o, "path"), t[i].want) == 0,
			      "case %zu: got %s", i, str_of(o, "path"));
		json_decref(o);
		eg_free(line);
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
	struct eg_audit_event ev = event_at(TS0);
	char *line;
	size_t len;
	long n;
	int rc;

	ev.identity = identity();
	ev.sni = "bad \xFF utf-8 needs a copy";
	eg_set_allocator(failing_malloc, failing_realloc, free);
	for (n = 0; n < 10000; n++) {
		fail_after = n;
		rc = eg_audit_format(&ev, 1, 256, &line, &len);
		fail_after = -1;
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

/* ---- configuration ---- */

static int load_config(const char *text, struct eg_audit_config **out,
		       char *err, size_t errlen, const char **path)
{
	*path = tc_write_file("audit.conf", text);
	return eg_audit_config_load(*path, out, err, errlen);
}

START_TEST(test_config_defaults)
{
	struct eg_audit_config *c;
	const char *path;
	char err[512];

	ck_assert_int_eq(
		load_config("policy = { };\n", &c, err, sizeof(err), &path), 0);
	ck_assert_ptr_null(c->file);
	ck_assert(!c->syslog && !c->journald && !c->admits);
	ck_assert_uint_eq(c->aggregate_window_ms, 1000);
	ck_assert_uint_eq(c->aggregate_max_keys, 4096);
	ck_assert_uint_eq(c->path_max, 256);
	eg_audit_config_free(c);
	ck_assert_int_eq(
		load_config("audit = { };\n", &c, err, sizeof(err), &path), 0);
	ck_assert_uint_eq(c->aggregate_window_ms, 1000);
	eg_audit_config_free(c);
	eg_audit_config_free(NULL);
}
END_TEST

START_TEST(test_config_every_key)
{
	struct eg_audit_config *c;
	const char *path;
	char err[512];
	char want[4096];

	ck_assert_int_eq(load_config("audit = {\n"
				     "  file = \"log/audit.jsonl\";\n"
				     "  syslog = true;\n"
				     "  journald = true;\n"
				     "  admits = true;\n"
				     "  aggregate_window_ms = 0;\n"
				     "  aggregate_max_keys = 1000000;\n"
				     "  path_max = 65536;\n"
				     "};\n",
				     &c, err, sizeof(err), &path),
			 0);
	snprintf(want, sizeof(want), "%s/log/audit.jsonl", tc_tmpdir());
	ck_assert_str_eq(c->file, want);
	ck_assert(c->syslog && c->journald && c->admits);
	ck_assert_uint_eq(c->aggregate_window_ms, 0);
	ck_assert_uint_eq(c->aggregate_max_keys, 1000000);
	ck_assert_uint_eq(c->path_max, 65536);
	eg_audit_config_free(c);
	ck_assert_int_eq(load_config("audit = { file = \"/var/log/a.jsonl\"; "
				     "aggregate_window_ms = 3600000; };\n",
				     &c, err, sizeof(err), &path),
			 0);
	ck_assert_str_eq(c->file, "/var/log/a.jsonl");
	ck_assert_uint_eq(c->aggregate_window_ms, 3600000);
	eg_audit_config_free(c);
}
END_TEST

START_TEST(test_config_errors)
{
	static const struct {
		const char *text;
		const char *key;  /* expected "audit.<key>" in the message */
		const char *line; /* expected ":<line>:" */
	} t[] = {
		{"audit = {\n  file = \"a\";\n  bogus = 1;\n};\n",
		 "audit.bogus", ":3:"},
		{"audit = {\n  syslog = \"yes\";\n};\n", "audit.syslog", ":2:"},
		{"audit = {\n\n  journald = 1;\n};\n", "audit.journald", ":3:"},
		{"audit = {\n  admits = \"no\";\n};\n", "audit.admits", ":2:"},
		{"audit = {\n  aggregate_window_ms = 3600001;\n};\n",
		 "audit.aggregate_window_ms", ":2:"},
		{"audit = {\n  aggregate_window_ms = -1;\n};\n",
		 "audit.aggregate_window_ms", ":2:"},
		{"audit = {\n  aggregate_window_ms = 1.5;\n};\n",
		 "audit.aggregate_window_ms", ":2:"},
		{"audit = {\n  aggregate_max_keys = 0;\n};\n",
		 "audit.aggregate_max_keys", ":2:"},
		{"audit = {\n  aggregate_max_keys = 1000001;\n};\n",
		 "audit.aggregate_max_keys", ":2:"},
		{"audit = {\n  path_max = 65537;\n};\n", "audit.path_max",
		 ":2:"},
		{"audit = {\n  path_max = \"256\";\n};\n", "audit.path_max",
		 ":2:"},
		{"audit = {\n  file = 5;\n};\n", "audit.file", ":2:"},
		{"audit = {\n  file = \"\";\n};\n", "audit.file", ":2:"},
		{"\naudit = 5;\n", "audit", ":2:"},
		{"\naudit = ( 1 );\n", "audit", ":2:"},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct eg_audit_config *c = (void *)1;
		const char *path;
		char err[512];
		int rc = load_config(t[i].text, &c, err, sizeof(err), &path);

		ck_assert_msg(rc == EG_E_CONFIG, "case %zu: rc %d", i, rc);
		ck_assert_ptr_null(c);
		ck_assert_msg(strstr(err, path) == err, "no file: %s", err);
		ck_assert_msg(strstr(err, t[i].key) != NULL, "no key: %s", err);
		ck_assert_msg(strstr(err, t[i].line) != NULL, "no line: %s",
			      err);
	}
}
END_TEST

START_TEST(test_config_unreadable)
{
	struct eg_audit_config *c;
	const char *path;
	char err[512];

	ck_assert_int_eq(load_config("audit = { file = \"x\"\n", &c, err,
				     sizeof(err), &path),
			 EG_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_ptr_nonnull(strstr(err, "syntax error"));
	ck_assert_int_eq(eg_audit_config_load(tmp_file("missing.conf"), &c, err,
					      sizeof(err)),
			 EG_E_IO);
	ck_assert_ptr_nonnull(strstr(err, "missing.conf"));
}
END_TEST

START_TEST(test_config_out_of_memory)
{
	const char *path = tc_write_file(
		"audit.conf", "audit = { file = \"rel/audit.jsonl\"; };\n");
	struct eg_audit_config *c = NULL;
	char err[512];
	long n;
	int rc;

	eg_set_allocator(failing_malloc, failing_realloc, free);
	for (n = 0; n < 1000; n++) {
		fail_after = n;
		rc = eg_audit_config_load(path, &c, err, sizeof(err));
		fail_after = -1;
		if (rc == 0)
			break;
		ck_assert_int_eq(rc, EG_E_NOMEM);
		ck_assert_ptr_null(c);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_int_gt(n, 0);
	ck_assert_ptr_nonnull(strstr(c->file, "/rel/audit.jsonl"));
	eg_audit_config_free(c);
	eg_set_allocator(NULL, NULL, NULL);
}
END_TEST

/* ---- aggregation ---- */

START_TEST(test_agg_flood_one_window)
{
	const char *file = tmp_file("a.jsonl");
	struct eg_audit_log *log = open_log(file, 1000, 16, 256);
	struct eg_audit_stats st;
	struct recs r;

	for (int i = 0; i < 1000; i++) {
		struct eg_audit_event ev = event_at(TS0 + i % 1000);

		ck_assert_int_eq(eg_audit_log_record(log, &ev), 0);
	}
	read_recs(file, &r);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_int_eq(count_of(r.v[0]), 1);
	free_recs(&r);
	ck_assert_int_eq(eg_audit_log_flush(log, TS0 + 999), 0);
	read_recs(file, &r);
	ck_assert_uint_eq(r.n, 1);
	free_recs(&r);
	ck_assert_int_eq(eg_audit_log_flush(log, TS0 + 1000), 0);
	read_recs(file, &r);
	ck_assert_uint_eq(r.n, 2);
	ck_assert_int_eq(count_of(r.v[1]), 999);
	/* The aggregate carries the first folded event's time. */
	ck_assert_str_eq(str_of(r.v[1], "ts"), "2026-11-24T05:42:41.124Z");
	ck_assert_str_eq(str_of(r.v[1], "peer"), "192.0.2.1:50000");
	ck_assert_uint_eq(r.sum, 1000);
	free_recs(&r);
	eg_audit_log_stats(log, &st);
	ck_assert_uint_eq(st.records_written, 2);
	ck_assert_uint_eq(st.events_folded, 999);
	ck_assert_uint_eq(st.write_errors, 0);
	eg_audit_log_close(log);
	read_recs(file, &r);
	ck_assert_uint_eq(r.n, 2);
	free_recs(&r);
}
END_TEST

START_TEST(test_agg_three_windows)
{
	const char *file = tmp_file("a.jsonl");
	struct eg_audit_log *log = open_log(file, 100, 16, 256);
	struct recs r;

	/* One event per millisecond for 300 ms: windows open at 0, 100, 200,
	 * each one written at once plus 99 folded. */
	for (int i = 0; i < 300; i++) {
		struct eg_audit_event ev = event_at(TS0 + i);

		ck_assert_int_eq(eg_audit_log_record(log, &ev), 0);
	}
	eg_audit_log_close(log);
	read_recs(file, &r);
	ck_assert_uint_eq(r.n, 6);
	for (size_t i = 0; i < 6; i++)
		ck_assert_int_eq(count_of(r.v[i]), i % 2 ? 99 : 1);
	ck_assert_str_eq(str_of(r.v[2], "ts"), "2026-11-24T05:42:41.223Z");
	ck_assert_uint_eq(r.sum, 300);
	free_recs(&r);
}
END_TEST

START_TEST(test_agg_interleaved_keys)
{
	const char *file = tmp_file("a.jsonl");
	struct eg_audit_log *log = open_log(file, 1000, 16, 256);
	static const enum eg_reason reasons[3] = {
		EG_REASON_EXPIRED, EG_REASON_REVOKED, EG_REASON_NO_CERTIFICATE};
	unsigned seen[3] = {0};
	struct recs r;

	for (int i = 0; i < 300; i++) {
		struct eg_audit_event ev = event_at(TS0 + i);

		ev.reason = reasons[i % 3];
		ck_assert_int_eq(eg_audit_log_record(log, &ev), 0);
	}
	ck_assert_int_eq(eg_audit_log_flush(log, TS0 + 5000), 0);
	read_recs(file, &r);
	ck_assert_uint_eq(r.n, 6);
	for (size_t i = 0; i < 3; i++)
		ck_assert_int_eq(count_of(r.v[i]), 1);
	for (size_t i = 3; i < 6; i++) {
		int reason = eg_reason_from_name(str_of(r.v[i], "reason"));

		ck_assert_int_eq(count_of(r.v[i]), 99);
		for (int k = 0; k < 3; k++)
			if ((int)reasons[k] == reason)
				seen[k]++;
	}
	ck_assert(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
	ck_assert_uint_eq(r.sum, 300);
	free_recs(&r);
	eg_audit_log_close(log);
}
END_TEST

START_TEST(test_agg_ports_fold_paths_do_not)
{
	const char *file = tmp_file("a.jsonl");
	struct eg_audit_log *log = open_log(file, 1000, 64, 8);
	char peer[64];
	char path[64];
	struct recs r;

	for (int i = 0; i < 50; i++) {
		struct eg_audit_event ev = event_at(TS0 + i);

		snprintf(peer, sizeof(peer), "192.0.2.9:%d", 1000 + i);
		ev.peer = peer;
		ck_assert_int_eq(eg_audit_log_record(log, &ev), 0);
		snprintf(peer, sizeof(peer), "[2001:db8::9]:%d", 1000 + i);
		ev.peer = peer;
		ck_assert_int_eq(eg_audit_log_record(log, &ev), 0);
		/* same port throughout: the aggregate keeps it */
		ev.peer = "198.51.100.1:7";
		ck_assert_int_eq(eg_audit_log_record(log, &ev), 0);
	}
	for (int i = 0; i < 10; i++) {
		struct eg_audit_event ev = event_at(TS0 + i);

		/* path_max 8: "/p/<i>/..." differ within 8 bytes */
		snprintf(path, sizeof(path), "/p/%d/same-tail", i);
		ev.path = path;
		ev.peer = "203.0.113.5:1";
		ck_assert_int_eq(eg_audit_log_record(log, &ev), 0);
		/* differ only after 8 bytes: fold together */
		snprintf(path, sizeof(path), "/static/%d", i);
		ev.peer = "203.0.113.6:1";
		ck_assert_int_eq(eg_audit_log_record(log, &ev), 0);
	}
	eg_audit_log_close(log);
	read_recs(file, &r);
	/* 3 peers x 2 records, 10 distinct paths, 2 for the folded paths */
	ck_assert_uint_eq(r.n, 6 + 10 + 2);
	ck_assert_uint_eq(r.sum, 170);
	for (size_t i = 0; i < r.n; i++) {
		const char *p = str_of(r.v[i], "peer");

		if (count_of(r.v[i]) == 49 && strncmp(p, "192.", 4) == 0)
			ck_assert_str_eq(p, "192.0.2.9");
		else if (count_of(r.v[i]) == 49 && strncmp(p, "2001", 4) == 0)
			ck_assert_str_eq(p, "2001:db8::9");
		else if (count_of(r.v[i]) == 49)
			ck_assert_str_eq(p, "198.51.100.1:7");
		else if (count_of(r.v[i]) == 9)
			ck_assert_str_eq(str_of(r.v[i], "path"), "/static/");
		else
			ck_assert_int_eq(count_of(r.v[i]), 1);
	}
	free_recs(&r);
}
END_TEST

START_TEST(test_agg_table_full)
{
	const char *file = tmp_file("a.jsonl");
	struct eg_audit_log *log = open_log(file, 1000, 2, 256);
	struct eg_audit_stats st;
	char path[32];
	struct recs r;
	unsigned ones = 0, nines = 0;

	for (int rep = 0; rep < 10; rep++)
		for (int k = 0; k < 5; k++) {
			struct eg_audit_event ev = event_at(TS0 + rep);

			snprintf(path, sizeof(path), "/key/%d", k);
			ev.path = path;
			ck_assert_int_eq(eg_audit_log_record(log, &ev), 0);
		}
	eg_audit_log_stats(log, &st);
	ck_assert_uint_eq(st.events_folded, 18);
	eg_audit_log_close(log);
	read_recs(file, &r);
	for (size_t i = 0; i < r.n; i++) {
		ones += count_of(r.v[i]) == 1;
		nines += count_of(r.v[i]) == 9;
	}
	/* keys 0, 1 held: 1 + 9 each; keys 2..4 written unfolded */
	ck_assert_uint_eq(nines, 2);
	ck_assert_uint_eq(ones, 2 + 30);
	ck_assert_uint_eq(r.n, 34);
	ck_assert_uint_eq(r.sum, 50);
	free_recs(&r);
}
END_TEST

START_TEST(test_agg_close_flushes_and_admits)
{
	const char *file = tmp_file("a.jsonl");
	struct eg_audit_log *log = open_log(file, 60000, 16, 256);
	struct eg_audit_config cfg = {.file = (char *)file,
				      .admits = true,
				      .aggregate_window_ms = 60000,
				      .aggregate_max_keys = 16};
	struct recs r;
	char err[256];

	for (int i = 0; i < 20; i++) {
		struct eg_audit_event ev = event_at(TS0 + i);

		ev.event = EG_EVENT_ADMIT;
		ev.reason = EG_REASON_NONE;
		ck_assert_int_eq(eg_audit_log_record(log, &ev), 0);
		ev.event = EG_EVENT_WOULD_REJECT;
		ev.reason = EG_REASON_IDENTITY_NOT_ALLOWED;
		ev.mode = EG_MODE_LOG_ONLY;
		ck_assert_int_eq(eg_audit_log_record(log, &ev), 0);
	}
	eg_audit_log_close(log);
	read_recs(file, &r);
	ck_assert_uint_eq(r.n, 2);
	ck_assert_str_eq(str_of(r.v[0], "event"), "would_reject");
	ck_assert_str_eq(str_of(r.v[1], "mode"), "log-only");
	ck_assert_int_eq(count_of(r.v[1]), 19);
	free_recs(&r);

	ck_assert_int_eq(eg_audit_log_open(&cfg, &log, err, sizeof(err)), 0);
	for (int i = 0; i < 5; i++) {
		struct eg_audit_event ev = event_at(TS0 + i);

		ev.event = EG_EVENT_ADMIT;
		ev.reason = EG_REASON_NONE;
		ck_assert_int_eq(eg_audit_log_record(log, &ev), 0);
	}
	eg_audit_log_close(log);
	read_recs(file, &r);
	ck_assert_uint_eq(r.n, 4);
	ck_assert_str_eq(str_of(r.v[2], "event"), "admit");
	ck_assert(json_is_null(json_object_get(r.v[2], "reason")));
	ck_assert_uint_eq(r.sum, 25);
	free_recs(&r);
}
END_TEST

START_TEST(test_agg_disabled)
{
	const char *file = tmp_file("a.jsonl");
	struct eg_audit_log *log = open_log(file, 0, 16, 256);
	struct eg_audit_stats st;
	struct recs r;

	for (int i = 0; i < 100; i++) {
		struct eg_audit_event ev = event_at(TS0);

		ck_assert_int_eq(eg_audit_log_record(log, &ev), 0);
	}
	eg_audit_log_stats(log, &st);
	ck_assert_uint_eq(st.records_written, 100);
	ck_assert_uint_eq(st.events_folded, 0);
	eg_audit_log_close(log);
	read_recs(file, &r);
	ck_assert_uint_eq(r.n, 100);
	ck_assert_uint_eq(r.sum, 100);
	free_recs(&r);
}
END_TEST

/*
 * Against a model: many keys with windows opening and closing all the
 * time (table growth, deletions amid probe sequences). For one key, the
 * file holds its records in a fixed order: 1, the window's folded count,
 * 1, ... so each key's sequence of counts must equal the model's.
 */
#define M_EVENTS 4000
#define M_KEYS	 150
#define M_WINDOW 40
#define M_MAXR	 256

struct seqs {
	unsigned n[M_KEYS];
	unsigned c[M_KEYS][M_MAXR];
};

static void seq_push(struct seqs *s, unsigned k, unsigned count)
{
	ck_assert_uint_lt(s->n[k], M_MAXR);
	s->c[k][s->n[k]++] = count;
}

START_TEST(test_agg_matches_model)
{
	static struct seqs want, got;
	static int64_t start[M_KEYS];
	static unsigned folded[M_KEYS];
	static bool open[M_KEYS];
	const char *file = tmp_file("model.jsonl");
	struct eg_audit_log *log = open_log(file, M_WINDOW, 4096, 256);
	uint32_t x = 12345;
	struct recs r;

	for (unsigned t = 0; t < M_EVENTS; t++) {
		struct eg_audit_event ev = event_at(TS0 + t / 2);
		unsigned k;
		char path[32];

		x = x * 1103515245u + 12345u;
		k = (x >> 16) % M_KEYS;
		snprintf(path, sizeof(path), "/k/%u", k);
		ev.path = path;
		ck_assert_int_eq(eg_audit_log_record(log, &ev), 0);
		if (open[k] && (int64_t)(t / 2) - start[k] < M_WINDOW) {
			folded[k]++;
			continue;
		}
		if (open[k] && folded[k] > 0)
			seq_push(&want, k, folded[k]);
		seq_push(&want, k, 1);
		open[k] = true;
		start[k] = t / 2;
		folded[k] = 0;
	}
	for (unsigned k = 0; k < M_KEYS; k++)
		if (open[k] && folded[k] > 0)
			seq_push(&want, k, folded[k]);
	eg_audit_log_close(log);
	read_recs(file, &r);
	ck_assert_uint_eq(r.sum, M_EVENTS);
	for (size_t i = 0; i < r.n; i++) {
		unsigned k;

		ck_assert_int_eq(sscanf(str_of(r.v[i], "path"), "/k/%u", &k),
				 1);
		seq_push(&got, k, (unsigned)count_of(r.v[i]));
	}
	free_recs(&r);
	for (unsigned k = 0; k < M_KEYS; k++) {
		ck_assert_uint_eq(got.n[k], want.n[k]);
		ck_assert_msg(memcmp(got.c[k], want.c[k],
				     want.n[k] * sizeof(unsigned)) == 0,
			      "key %u: counts differ from the model", k);
	}
}
END_TEST

/* A clock stepped back by more than a window closes it: the count is not
 * held until the wall clock catches up. */
START_TEST(test_agg_clock_step_back)
{
	const char *file = tmp_file("a.jsonl");
	struct eg_audit_log *log = open_log(file, 1000, 16, 256);
	struct recs r;

	for (int i = 0; i < 3; i++) {
		struct eg_audit_event ev = event_at(TS0 + i);

		ck_assert_int_eq(eg_audit_log_record(log, &ev), 0);
	}
	ck_assert_int_eq(eg_audit_log_flush(log, TS0 - 500), 0);
	read_recs(file, &r);
	ck_assert_uint_eq(r.n, 1);
	free_recs(&r);
	ck_assert_int_eq(eg_audit_log_flush(log, TS0 - 3600000), 0);
	read_recs(file, &r);
	ck_assert_uint_eq(r.n, 2);
	ck_assert_uint_eq(r.sum, 3);
	free_recs(&r);
	eg_audit_log_close(log);
}
END_TEST

/* ---- file sink ---- */

START_TEST(test_file_mode_0640)
{
	const char *file = tmp_file("mode.jsonl");
	struct eg_audit_log *log;
	struct stat st;

	umask(0);
	log = open_log(file, 1000, 16, 256);
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0640);
	eg_audit_log_close(log);
}
END_TEST

START_TEST(test_reopen_after_rename)
{
	const char *file = tmp_file("r.jsonl");
	const char *rotated = tmp_file("r.jsonl.1");
	struct eg_audit_log *log = open_log(file, 1000, 16, 256);
	struct recs a, b;

	for (int i = 0; i < 10; i++) {
		struct eg_audit_event ev = event_at(TS0 + i);

		ck_assert_int_eq(eg_audit_log_record(log, &ev), 0);
	}
	ck_assert_int_eq(rename(file, rotated), 0);
	/* still appended to the renamed file until the reopen */
	{
		struct eg_audit_event ev = event_at(TS0 + 10);

		ev.reason = EG_REASON_EXPIRED;
		ck_assert_int_eq(eg_audit_log_record(log, &ev), 0);
	}
	ck_assert_int_eq(eg_audit_log_reopen(log), 0);
	for (int i = 11; i < 20; i++) {
		struct eg_audit_event ev = event_at(TS0 + i);

		ck_assert_int_eq(eg_audit_log_record(log, &ev), 0);
	}
	eg_audit_log_close(log);
	read_recs(rotated, &a);
	read_recs(file, &b);
	ck_assert_uint_eq(a.n, 2);
	ck_assert_str_eq(str_of(a.v[1], "reason"), "expired");
	/* the window held across the reopen is written to the new file */
	ck_assert_uint_eq(b.n, 1);
	ck_assert_int_eq(count_of(b.v[0]), 18);
	ck_assert_uint_eq(a.sum + b.sum, 20);
	free_recs(&a);
	free_recs(&b);
}
END_TEST

START_TEST(test_reopen_failure_keeps_old_file)
{
	char dir[2048], moved[2048], file[4096];
	struct eg_audit_log *log;
	struct eg_audit_event ev = event_at(TS0);
	struct recs r;

	snprintf(dir, sizeof(dir), "%s/d", tc_tmpdir());
	snprintf(moved, sizeof(moved), "%s/moved", tc_tmpdir());
	snprintf(file, sizeof(file), "%s/log.jsonl", dir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	log = open_log(file, 0, 16, 256);
	ck_assert_int_eq(rename(dir, moved), 0);
	{
		struct eg_audit_config cfg = {.file = file};
		struct eg_audit_log *none = (void *)1;
		char err[8192];

		ck_assert_int_eq(
			eg_audit_log_open(&cfg, &none, err, sizeof(err)),
			EG_E_IO);
		ck_assert_ptr_null(none);
		ck_assert_ptr_nonnull(strstr(err, file));
	}
	ck_assert_int_eq(eg_audit_log_reopen(log), EG_E_IO);
	ck_assert_int_eq(eg_audit_log_record(log, &ev), 0);
	eg_audit_log_close(log);
	snprintf(file, sizeof(file), "%s/log.jsonl", moved);
	read_recs(file, &r);
	ck_assert_uint_eq(r.n, 1);
	free_recs(&r);
}
END_TEST

/* /dev/full fails every write with ENOSPC: records wait in the retry
 * queue and reach the file once it is writable again. */
START_TEST(test_write_error_retried)
{
	const char *link = tmp_file("full.jsonl");
	const char *real = tmp_file("real.jsonl");
	struct eg_audit_log *log;
	struct eg_audit_stats st;
	struct recs r;

	ck_assert_int_eq(symlink("/dev/full", link), 0);
	log = open_log(link, 1000, 16, 256);
	for (int i = 0; i < 5; i++) {
		struct eg_audit_event ev = event_at(TS0 + i);
		char path[32];

		snprintf(path, sizeof(path), "/%d", i);
		ev.path = path;
		ck_assert_int_eq(eg_audit_log_record(log, &ev), EG_E_IO);
	}
	eg_audit_log_stats(log, &st);
	ck_assert_uint_eq(st.records_written, 0);
	ck_assert_uint_ge(st.write_errors, 5);
	ck_assert_int_eq(unlink(link), 0);
	ck_assert_int_eq(symlink(real, link), 0);
	ck_assert_int_eq(eg_audit_log_reopen(log), 0);
	eg_audit_log_stats(log, &st);
	ck_assert_uint_eq(st.records_written, 5);
	eg_audit_log_close(log);
	read_recs(real, &r);
	ck_assert_uint_eq(r.n, 5);
	for (size_t i = 0; i < 5; i++) {
		char path[32];

		snprintf(path, sizeof(path), "/%zu", i);
		ck_assert_str_eq(str_of(r.v[i], "path"), path);
	}
	free_recs(&r);
}
END_TEST

START_TEST(test_write_error_queue_bounded)
{
	const char *link = tmp_file("full.jsonl");
	const char *real = tmp_file("real.jsonl");
	struct eg_audit_log *log;
	struct eg_audit_stats st;
	struct recs r;

	ck_assert_int_eq(symlink("/dev/full", link), 0);
	log = open_log(link, 0, 16, 256);
	for (int i = 0; i < 300; i++) {
		struct eg_audit_event ev = event_at(TS0 + i);

		ck_assert_int_eq(eg_audit_log_record(log, &ev), EG_E_IO);
	}
	eg_audit_log_stats(log, &st);
	/* one failed write per call, plus the 44 lines past the bound */
	ck_assert_uint_eq(st.write_errors, 300 + 44);
	ck_assert_int_eq(unlink(link), 0);
	ck_assert_int_eq(symlink(real, link), 0);
	ck_assert_int_eq(eg_audit_log_reopen(log), 0);
	eg_audit_log_close(log);
	read_recs(real, &r);
	ck_assert_uint_eq(r.n, 256);
	ck_assert_str_eq(str_of(r.v[0], "ts"), "2026-11-24T05:42:41.123Z");
	free_recs(&r);
}
END_TEST

START_TEST(test_concurrent_processes)
{
	const char *file = tmp_file("procs.jsonl");
	char longpath[3000];
	pid_t pids[4];
	struct recs r;
	unsigned per[4] = {0};

	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	for (int p = 0; p < 4; p++) {
		pids[p] = fork();
		ck_assert_int_ne(pids[p], -1);
		if (pids[p] == 0) {
			struct eg_audit_log *log = open_log(file, 0, 16, 4096);
			char comp[16];

			snprintf(comp, sizeof(comp), "proc%d", p);
			for (int i = 0; i < 500; i++) {
				struct eg_audit_event ev = event_at(TS0 + i);

				ev.component = comp;
				ev.path = longpath;
				if (eg_audit_log_record(log, &ev) != 0)
					_exit(1);
			}
			eg_audit_log_close(log);
			_exit(0);
		}
	}
	for (int p = 0; p < 4; p++) {
		int status;

		ck_assert_int_eq(waitpid(pids[p], &status, 0), pids[p]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	read_recs(file, &r);
	ck_assert_uint_eq(r.n, 2000);
	for (size_t i = 0; i < r.n; i++) {
		const char *c = str_of(r.v[i], "component");

		ck_assert_uint_eq(strlen(str_of(r.v[i], "path")),
				  sizeof(longpath) - 1);
		per[c[4] - '0']++;
	}
	for (int p = 0; p < 4; p++)
		ck_assert_uint_eq(per[p], 500);
	free_recs(&r);
}
END_TEST

#define THREADS	   4
#define PER_THREAD 5000

/* One clock for all threads, as the wall clock is in a daemon: 40 events
 * per millisecond. */
static int64_t clock_ticks;

static void *thread_main(void *arg)
{
	struct eg_audit_log *log = arg;

	for (int i = 0; i < PER_THREAD; i++) {
		int64_t now = TS0 + __atomic_fetch_add(&clock_ticks, 1,
						       __ATOMIC_RELAXED) /
					    40;
		struct eg_audit_event ev = event_at(now);

		/* a few keys, windows ending as the time advances */
		ev.reason = (enum eg_reason)(1 + i % 3);
		if (eg_audit_log_record(log, &ev) != 0)
			return (void *)1;
		if (i % 97 == 0 && eg_audit_log_flush(log, now) != 0)
			return (void *)1;
	}
	return NULL;
}

START_TEST(test_concurrent_threads_exact)
{
	const char *file = tmp_file("threads.jsonl");
	struct eg_audit_log *log = open_log(file, 50, 16, 256);
	struct eg_audit_stats st;
	pthread_t t[THREADS];
	struct recs r;

	for (int i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, thread_main, log),
				 0);
	for (int i = 0; i < THREADS; i++) {
		void *ret;

		ck_assert_int_eq(pthread_join(t[i], &ret), 0);
		ck_assert_ptr_null(ret);
	}
	eg_audit_log_stats(log, &st);
	eg_audit_log_close(log);
	read_recs(file, &r);
	ck_assert_uint_eq(r.sum, THREADS * PER_THREAD);
	ck_assert_uint_lt(r.n, THREADS * PER_THREAD / 10);
	ck_assert_uint_eq(st.write_errors, 0);
	free_recs(&r);
}
END_TEST

START_TEST(test_log_out_of_memory)
{
	const char *file = tmp_file("oom.jsonl");
	struct eg_audit_config cfg = {.file = (char *)file,
				      .aggregate_window_ms = 1000,
				      .aggregate_max_keys = 64,
				      .path_max = 256};
	long n;
	bool clean = false;

	eg_set_allocator(failing_malloc, failing_realloc, free);
	for (n = 0; n < 20000 && !clean; n++) {
		struct eg_audit_log *log = NULL;
		int rc;

		fail_after = n;
		rc = eg_audit_log_open(&cfg, &log, NULL, 0);
		if (rc != 0) {
			fail_after = -1;
			ck_assert_int_eq(rc, EG_E_NOMEM);
			ck_assert_ptr_null(log);
			continue;
		}
		for (int i = 0; i < 40; i++) {
			struct eg_audit_event ev = event_at(TS0 + i * 100);

			ev.identity = identity();
			ev.reason = (enum eg_reason)(1 + i % 4);
			rc = eg_audit_log_record(log, &ev);
			ck_assert(rc == 0 || rc == EG_E_NOMEM);
		}
		rc = eg_audit_log_flush(log, TS0 + 100000);
		ck_assert(rc == 0 || rc == EG_E_NOMEM);
		eg_audit_log_close(log);
		clean = fail_after != 0;
		fail_after = -1;
	}
	ck_assert(clean);
	ck_assert_int_gt(n, 20);
	eg_set_allocator(NULL, NULL, NULL);
}
END_TEST

/* ---- syslog and journald, received on real sockets ---- */

static int bind_dgram(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = 5};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ne(fd, -1);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	ck_assert_msg(bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0,
		      "bind %s: %s", path, strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

START_TEST(test_syslog_and_journald)
{
	const char *file = tmp_file("sinks.jsonl");
	struct eg_audit_config cfg = {.file = (char *)file,
				      .syslog = true,
				      .journald = true,
				      .aggregate_window_ms = 0,
				      .aggregate_max_keys = 1};
	struct eg_audit_event ev = event_at(TS0);
	struct eg_audit_log *log;
	struct eg_audit_stats st;
	char buf[65536], want[256];
	const char *msg;
	int sl, jd;
	ssize_t n;
	json_t *o;
	struct recs r;

	/* A private mount namespace gives this process its own /dev/log and
	 * journal socket without touching the host's. */
	if (unshare(CLONE_NEWNS) == -1) {
		fprintf(stderr,
			"test_syslog_and_journald skipped: "
			"unshare(CLONE_NEWNS): %s\n",
			strerror(errno));
		return;
	}
	ck_assert_int_eq(mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL),
			 0);
	ck_assert_int_eq(mount("tmpfs", "/dev", "tmpfs", 0, "mode=0755"), 0);
	ck_assert_int_eq(mount("tmpfs", "/run", "tmpfs", 0, "mode=0755"), 0);
	ck_assert_int_eq(mkdir("/run/systemd", 0755), 0);
	ck_assert_int_eq(mkdir("/run/systemd/journal", 0755), 0);
	sl = bind_dgram("/dev/log");
	jd = bind_dgram("/run/systemd/journal/socket");

	ev.identity = identity();
	ck_assert_int_eq(eg_audit_log_open(&cfg, &log, buf, sizeof(buf)), 0);
	ck_assert_int_eq(eg_audit_log_record(log, &ev), 0);

	n = recv(sl, buf, sizeof(buf) - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	/* LOG_AUTHPRIV | LOG_NOTICE == 10 * 8 + 5 */
	ck_assert_msg(strncmp(buf, "<85>", 4) == 0, "%s", buf);
	snprintf(want, sizeof(want), "edgeguard[%d]: ", (int)getpid());
	msg = strstr(buf, want);
	ck_assert_msg(msg != NULL, "%s", buf);
	o = json_loads(msg + strlen(want), 0, NULL);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(str_of(o, "reason"), "untrusted_issuer");
	json_decref(o);

	n = recv(jd, buf, sizeof(buf) - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_msg(strncmp(buf, "MESSAGE={\"ts\":", 14) == 0, "%s", buf);
	ck_assert_ptr_nonnull(strstr(buf, "\nEDGEGUARD_EVENT=reject\n"));
	ck_assert_ptr_nonnull(
		strstr(buf, "\nEDGEGUARD_REASON=untrusted_issuer\n"));
	ck_assert_ptr_nonnull(
		strstr(buf, "\nEDGEGUARD_PEER=192.0.2.1:50000\n"));
	snprintf(want, sizeof(want), "\nEDGEGUARD_SHA256=%s\n", ident.sha256);
	ck_assert_ptr_nonnull(strstr(buf, want));
	ck_assert_ptr_nonnull(strstr(buf, "\nSYSLOG_IDENTIFIER=edgeguard\n"));
	msg = strchr(buf, '\n');
	o = json_loadb(buf + 8, (size_t)(msg - buf - 8), 0, NULL);
	ck_assert_ptr_nonnull(o);
	json_decref(o);

	/* A journal socket nobody reads: counted and reported, the file still
	 * gets the record. */
	close(jd);
	ck_assert_int_eq(eg_audit_log_record(log, &ev), EG_E_IO);
	eg_audit_log_stats(log, &st);
	ck_assert_uint_eq(st.write_errors, 1);
	ck_assert_uint_eq(st.records_written, 2);
	/* No journal at all is no error for libsystemd (ENOENT is silent). */
	ck_assert_int_eq(unlink("/run/systemd/journal/socket"), 0);
	ck_assert_int_eq(eg_audit_log_record(log, &ev), 0);
	eg_audit_log_close(log);
	read_recs(file, &r);
	ck_assert_uint_eq(r.n, 3);
	free_recs(&r);
	close(sl);
}
END_TEST

/* ---- edgeguard audit summarize ---- */

static const char *cli_path(void)
{
	static char path[4096];
	const char *top = getenv("top_builddir");

	snprintf(path, sizeof(path), "%s/daemon/edgeguard", top ? top : ".");
	ck_assert_msg(access(path, X_OK) == 0, "%s: %s", path, strerror(errno));
	return path;
}

/* Runs the CLI with stdin from `in` (NULL: /dev/null); returns the exit
 * status and stdout in out (terminated). */
static int run_cli(char *const argv[], const char *in, char *out, size_t outlen)
{
	int pipefd[2];
	size_t got = 0;
	pid_t pid;
	int status;

	ck_assert_int_eq(pipe(pipefd), 0);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		int fd = open(in ? in : "/dev/null", O_RDONLY);
		int null = open("/dev/null", O_WRONLY);

		dup2(fd, 0);
		dup2(pipefd[1], 1);
		dup2(null, 2);
		close(pipefd[0]);
		execv(cli_path(), argv);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		ssize_t n = read(pipefd[0], out + got, outlen - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	out[got] = '\0';
	close(pipefd[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static long long entry_count(const json_t *arr, size_t i, const char *value)
{
	const json_t *e = json_array_get(arr, i);

	ck_assert_msg(e != NULL && strcmp(str_of(e, "value"), value) == 0,
		      "entry %zu is not %s", i, value);
	return count_of(e);
}

START_TEST(test_cli_summarize)
{
	const char *log = tc_write_file(
		"sum.jsonl",
		"{\"ts\":\"2026-11-24T05:00:01.000Z\",\"event\":\"reject\","
		"\"reason\":\"untrusted_issuer\",\"peer\":\"192.0.2.1:1\","
		"\"subject\":\"CN=e\",\"san\":[{\"type\":\"dns\",\"value\":"
		"\"edge-1\"}]}\n"
		"{\"ts\":\"2026-11-24T05:59:01.000Z\",\"event\":\"reject\","
		"\"reason\":\"untrusted_issuer\",\"peer\":\"192.0.2.1\","
		"\"subject\":\"CN=e\",\"san\":[{\"type\":\"dns\",\"value\":"
		"\"edge-1\"}],\"count\":999}\n"
		"not json\n"
		"\n"
		"{\"event\":5}\n"
		"[1,2]\n"
		"{\"event\":\"reject\",\"count\":0}\n"
		"{\"ts\":\"2026-11-24T06:10:00.000Z\",\"event\":\"would_"
		"reject\","
		"\"reason\":\"identity_not_allowed\",\"peer\":"
		"\"[2001:db8::1]:443\",\"subject\":\"CN=\\u001b[2Jx\","
		"\"san\":[],\"count\":5}\n"
		"{\"ts\":\"2026-11-24T04:10:00.000Z\",\"event\":\"reject\","
		"\"reason\":null,\"peer\":null,\"count\":2}\n");
	char out[65536];
	json_t *o, *a;

	{
		char *argv[] = {"edgeguard", "audit",	  "summarize",
				"--json",    (char *)log, NULL};

		ck_assert_int_eq(run_cli(argv, NULL, out, sizeof(out)), 0);
	}
	o = json_loads(out, 0, NULL);
	ck_assert_msg(o != NULL, "%s", out);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "events")),
			 1007);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "records")), 4);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "malformed")),
			 4);
	a = json_object_get(o, "by_event");
	ck_assert_int_eq(entry_count(a, 0, "reject"), 1002);
	ck_assert_int_eq(entry_count(a, 1, "would_reject"), 5);
	a = json_object_get(o, "by_reason");
	ck_assert_int_eq(entry_count(a, 0, "untrusted_issuer"), 1000);
	ck_assert_int_eq(entry_count(a, 1, "identity_not_allowed"), 5);
	ck_assert_int_eq(entry_count(a, 2, "none"), 2);
	a = json_object_get(o, "top_identities");
	ck_assert_int_eq(entry_count(a, 0, "edge-1"), 1000);
	ck_assert_int_eq(entry_count(a, 1, "CN=\x1b[2Jx"), 5);
	a = json_object_get(o, "top_peers");
	ck_assert_int_eq(entry_count(a, 0, "192.0.2.1"), 1000);
	ck_assert_int_eq(entry_count(a, 1, "2001:db8::1"), 5);
	ck_assert_uint_eq(json_array_size(a), 2);
	a = json_object_get(o, "per_hour");
	ck_assert_int_eq(entry_count(a, 0, "2026-11-24T04"), 2);
	ck_assert_int_eq(entry_count(a, 1, "2026-11-24T05"), 1000);
	ck_assert_int_eq(entry_count(a, 2, "2026-11-24T06"), 5);
	json_decref(o);

	{
		char *argv[] = {"edgeguard", "audit", "summarize", "--top",
				"1",	     "-",     NULL};

		ck_assert_int_eq(run_cli(argv, log, out, sizeof(out)), 0);
	}
	ck_assert_msg(strstr(out, "events: 1007 in 4 records") != NULL, "%s",
		      out);
	ck_assert_msg(strstr(out, "4 malformed lines skipped") != NULL, "%s",
		      out);
	ck_assert_ptr_nonnull(strstr(out, "edge-1"));
	ck_assert_ptr_nonnull(strstr(out, "(1 more)"));
	ck_assert_ptr_null(strchr(out, '\x1b'));
}
END_TEST

START_TEST(test_cli_usage_errors)
{
	char out[8192];
	char *missing[] = {"edgeguard", "audit", "summarize",
			   (char *)tmp_file("none.jsonl"), NULL};
	char *nofile[] = {"edgeguard", "audit", "summarize", NULL};
	char *badtop[] = {"edgeguard", "audit", "summarize", "--top",
			  "0",	       "-",	NULL};
	char *badsub[] = {"edgeguard", "audit", "frobnicate", NULL};
	char *help[] = {"edgeguard", "audit", "summarize", "--help", NULL};

	ck_assert_int_eq(run_cli(missing, NULL, out, sizeof(out)), 2);
	ck_assert_int_eq(run_cli(nofile, NULL, out, sizeof(out)), 2);
	ck_assert_int_eq(run_cli(badtop, NULL, out, sizeof(out)), 2);
	ck_assert_int_eq(run_cli(badsub, NULL, out, sizeof(out)), 2);
	ck_assert_int_eq(run_cli(help, NULL, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "Usage: edgeguard audit summarize"));
}
END_TEST

static Suite *audit_suite(void)
{
	Suite *s = suite_create("audit");
	TCase *f = tcase_create("format");
	TCase *c = tcase_create("config");
	TCase *a = tcase_create("aggregate");
	TCase *k = tcase_create("sinks");
	TCase *l = tcase_create("cli");

	tcase_add_test(f, test_format_fields_in_order);
	tcase_add_test(f, test_format_absent_fields_are_null);
	tcase_add_test(f, test_format_timestamps);
	tcase_add_test(f, test_format_hostile_strings);
	tcase_add_test(f, test_format_all_bytes);
	tcase_add_test(f, test_path_truncation);
	tcase_add_test(f, test_peer_addr);
	tcase_add_test(f, test_format_out_of_memory);
	suite_add_tcase(s, f);
	tcase_add_test(c, test_config_defaults);
	tcase_add_test(c, test_config_every_key);
	tcase_add_test(c, test_config_errors);
	tcase_add_test(c, test_config_unreadable);
	tcase_add_test(c, test_config_out_of_memory);
	suite_add_tcase(s, c);
	tcase_add_test(a, test_agg_flood_one_window);
	tcase_add_test(a, test_agg_three_windows);
	tcase_add_test(a, test_agg_interleaved_keys);
	tcase_add_test(a, test_agg_ports_fold_paths_do_not);
	tcase_add_test(a, test_agg_table_full);
	tcase_add_test(a, test_agg_close_flushes_and_admits);
	tcase_add_test(a, test_agg_disabled);
	tcase_add_test(a, test_agg_clock_step_back);
	tcase_add_test(a, test_agg_matches_model);
	suite_add_tcase(s, a);
	tcase_add_test(k, test_file_mode_0640);
	tcase_add_test(k, test_reopen_after_rename);
	tcase_add_test(k, test_reopen_failure_keeps_old_file);
	tcase_add_test(k, test_write_error_retried);
	tcase_add_test(k, test_write_error_queue_bounded);
	tcase_add_test(k, test_concurrent_processes);
	tcase_add_test(k, test_concurrent_threads_exact);
	tcase_add_test(k, test_log_out_of_memory);
	tcase_add_test(k, test_syslog_and_journald);
	suite_add_tcase(s, k);
	tcase_add_test(l, test_cli_summarize);
	tcase_add_test(l, test_cli_usage_errors);
	suite_add_tcase(s, l);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(audit_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
