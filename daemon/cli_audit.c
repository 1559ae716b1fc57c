/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `edgeguard audit summarize`: totals of an audit log by event, reason,
 * identity, peer address and hour. Reads line by line, so a log of any
 * size summarises in memory proportional to its distinct values only.
 * The records' strings come from peers: they are counted as bytes and
 * escaped before they reach a terminal.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

#define DEFAULT_TOP 10
#define PROG	    "edgeguard audit"

/* Counters keyed by arbitrary bytes: jansson objects, whose hash table is
 * seeded at random, so crafted identities cannot degrade it. */
struct summary {
	json_t *by_event;
	json_t *by_reason;
	json_t *by_identity;
	json_t *by_peer;
	json_t *by_hour;
	uint64_t events;
	uint64_t records;
	uint64_t malformed;
	unsigned files;
};

struct tally {
	const char *value; /* borrowed from the counter object */
	size_t len;
	uint64_t count;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: edgeguard audit summarize [--json] [--top N] FILE...\n"
		"\n"
		"Summarises audit logs (JSON Lines; \"-\" reads standard "
		"input):\n"
		"total events, events by type and reason, the most frequent\n"
		"client identities and peer addresses, and events per hour "
		"(UTC).\n"
		"Aggregated records count for their `count`.\n"
		"\n"
		"  --json    print one JSON object instead of text\n"
		"  --top N   identities and peers listed (default %d)\n"
		"  --help    this text\n",
		DEFAULT_TOP);
}

static uint64_t json_count(const json_t *v)
{
	json_int_t n = json_integer_value(v);

	return n > 0 ? (uint64_t)n : 0;
}

/* Adds c to map[key]; saturates rather than wraps. Returns -1 on memory. */
static int bump(json_t *map, const char *key, size_t len, uint64_t c)
{
	json_t *v = json_object_getn(map, key, len);
	uint64_t now;

	if (v == NULL)
		return json_object_setn_new(map, key, len,
					    json_integer((json_int_t)c));
	now = json_count(v);
	now = now > (uint64_t)INT64_MAX - c ? (uint64_t)INT64_MAX : now + c;
	return json_integer_set(v, (json_int_t)now);
}

/* Same rule as the library's aggregation key: "[v6]:port" and
 * "ip:port" lose the port; two colons mean a bare IPv6 address. */
static void peer_addr(const char *peer, size_t n, const char **addr,
		      size_t *len)
{
	const char *colon;

	*addr = peer;
	*len = n;
	if (n > 0 && peer[0] == '[') {
		const char *end = memchr(peer, ']', n);

		if (end != NULL) {
			*addr = peer + 1;
			*len = (size_t)(end - peer - 1);
		}
		return;
	}
	colon = memchr(peer, ':', n);
	if (colon != NULL &&
	    memchr(colon + 1, ':', n - (size_t)(colon + 1 - peer)) == NULL)
		*len = (size_t)(colon - peer);
}

/* First SAN value, else the subject; NULL when the record has neither. */
static const json_t *identity_of(const json_t *rec)
{
	const json_t *san = json_object_get(rec, "san");
	const json_t *subject = json_object_get(rec, "subject");

	if (json_is_array(san) && json_array_size(san) > 0) {
		const json_t *v =
			json_object_get(json_array_get(san, 0), "value");

		if (json_is_string(v))
			return v;
	}
	return json_is_string(subject) ? subject : NULL;
}

/* Whether s starts with the "YYYY-MM-DDTHH" of an RFC 3339 time. */
static bool has_hour(const char *s, size_t n)
{
	static const char pattern[] = "dddd-dd-ddTdd";

	if (n < sizeof(pattern) - 1)
		return false;
	for (size_t i = 0; i < sizeof(pattern) - 1; i++)
		if (pattern[i] == 'd' ? (s[i] < '0' || s[i] > '9')
				      : s[i] != pattern[i])
			return false;
	return true;
}

/* Returns 0, 1 when the line is not an audit record, -1 on memory. */
static int add_record(struct summary *s, const char *line, size_t n)
{
	const json_t *event, *reason, *count, *id, *peer, *ts;
	json_error_t jerr;
	json_t *rec;
	uint64_t c = 1;
	int rc = 1;

	rec = json_loadb(line, n, JSON_ALLOW_NUL, &jerr);
	if (!json_is_object(rec))
		goto out;
	event = json_object_get(rec, "event");
	reason = json_object_get(rec, "reason");
	count = json_object_get(rec, "count");
	if (!json_is_string(event) ||
	    (reason != NULL && !json_is_string(reason) &&
	     !json_is_null(reason)))
		goto out;
	if (count != NULL) {
		if (!json_is_integer(count) || json_integer_value(count) < 1)
			goto out;
		c = json_count(count);
	}
	rc = -1;
	s->records++;
	s->events = s->events > UINT64_MAX - c ? UINT64_MAX : s->events + c;
	if (bump(s->by_event, json_string_value(event),
		 json_string_length(event), c) == -1)
		goto out;
	if (json_is_string(reason)
		    ? bump(s->by_reason, json_string_value(reason),
			   json_string_length(reason), c) == -1
		    : bump(s->by_reason, "none", 4, c) == -1)
		goto out;
	id = identity_of(rec);
	if (id != NULL && bump(s->by_identity, json_string_value(id),
			       json_string_length(id), c) == -1)
		goto out;
	peer = json_object_get(rec, "peer");
	if (json_is_string(peer)) {
		const char *addr;
		size_t len;

		peer_addr(json_string_value(peer), json_string_length(peer),
			  &addr, &len);
		if (bump(s->by_peer, addr, len, c) == -1)
			goto out;
	}
	ts = json_object_get(rec, "ts");
	if (json_is_string(ts) &&
	    has_hour(json_string_value(ts), json_string_length(ts)) &&
	    bump(s->by_hour, json_string_value(ts), 13, c) == -1)
		goto out;
	rc = 0;
out:
	json_decref(rec);
	return rc;
}

/* Returns 0, or prints why not and returns -1. */
static int read_file(struct summary *s, const char *name)
{
	FILE *f = strcmp(name, "-") == 0 ? stdin : fopen(name, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = -1;

	if (f == NULL) {
		fprintf(stderr, PROG ": %s: %s\n", name, strerror(errno));
		return -1;
	}
	s->files++;
	while ((n = getline(&line, &cap, f)) != -1) {
		int r;

		if (n == 1 && line[0] == '\n')
			continue;
		r = add_record(s, line, (size_t)n);
		if (r == -1) {
			fprintf(stderr, PROG ": out of memory\n");
			goto out;
		}
		if (r == 1)
			s->malformed++;
	}
	if (ferror(f)) {
		fprintf(stderr, PROG ": %s: read error: %s\n", name,
			strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

static int tally_cmp_count(const void *a, const void *b)
{
	const struct tally *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	c = memcmp(x->value, y->value, n);
	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

static int tally_cmp_value(const void *a, const void *b)
{
	const struct tally *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->value, y->value, n);

	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* The entries of a counter map, sorted; caller frees with free(). */
static struct tally *sorted(const json_t *map, bool by_value, size_t *n)
{
	struct tally *t = calloc(json_object_size(map) + 1, sizeof(*t));
	const char *key;
	json_t *v;
	size_t i = 0;

	if (t == NULL)
		return NULL;
	json_object_foreach((json_t *)map, key, v)
	{
		t[i].value = key;
		t[i].len =
			json_object_iter_key_len(json_object_key_to_iter(key));
		t[i].count = json_count(v);
		i++;
	}
	qsort(t, i, sizeof(*t), by_value ? tally_cmp_value : tally_cmp_count);
	*n = i;
	return t;
}

/* Prints peer-supplied bytes without letting them drive the terminal:
 * C0 and C1 controls, DEL and backslash are escaped. */
static void print_escaped(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\\')
			fputs("\\\\", stdout);
		else if (p[i] < 0x20 || p[i] == 0x7f)
			printf("\\x%02x", p[i]);
		else if (p[i] == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 &&
			 p[i + 1] < 0xa0)
			printf("\\u%04x", p[++i]);
		else
			putchar(p[i]);
	}
}

static int print_section(const char *title, const json_t *map, size_t top,
			 bool by_value)
{
	size_t n;
	struct tally *t = sorted(map, by_value, &n);

	if (t == NULL)
		return -1;
	printf("%s:\n", title);
	if (n == 0)
		printf("  (none)\n");
	for (size_t i = 0; i < n && i < top; i++) {
		printf("  %12llu  ", (unsigned long long)t[i].count);
		print_escaped(t[i].value, t[i].len);
		putchar('\n');
	}
	if (n > top)
		printf("  (%zu more)\n", n - top);
	free(t);
	return 0;
}

static int print_text(const struct summary *s, size_t top)
{
	printf("events: %llu in %llu records from %u file%s; "
	       "%llu malformed line%s skipped\n",
	       (unsigned long long)s->events, (unsigned long long)s->records,
	       s->files, s->files == 1 ? "" : "s",
	       (unsigned long long)s->malformed, s->malformed == 1 ? "" : "s");
	if (print_section("by event", s->by_event, SIZE_MAX, false) == -1 ||
	    print_section("by reason", s->by_reason, SIZE_MAX, false) == -1 ||
	    print_section("top identities", s->by_identity, top, false) == -1 ||
	    print_section("top peer addresses", s->by_peer, top, false) == -1 ||
	    print_section("per hour (UTC)", s->by_hour, SIZE_MAX, true) == -1)
		return -1;
	return 0;
}

/* [{"value": ..., "count": N}, ...] in the order of the text output. */
static json_t *json_section(const json_t *map, size_t top, bool by_value)
{
	size_t n;
	struct tally *t = sorted(map, by_value, &n);
	json_t *arr = json_array();

	if (t == NULL || arr == NULL)
		goto fail;
	for (size_t i = 0; i < n && i < top; i++)
		if (json_array_append_new(
			    arr, json_pack("{s:s%,s:I}", "value", t[i].value,
					   t[i].len, "count",
					   (json_int_t)t[i].count)) == -1)
			goto fail;
	free(t);
	return arr;
fail:
	free(t);
	json_decref(arr);
	return NULL;
}

static int print_json(const struct summary *s, size_t top)
{
	json_t *o = json_pack(
		"{s:I,s:I,s:I,s:I,s:o?,s:o?,s:o?,s:o?,s:o?}", "events",
		(json_int_t)(s->events > INT64_MAX ? INT64_MAX : s->events),
		"records", (json_int_t)s->records, "malformed",
		(json_int_t)s->malformed, "files", (json_int_t)s->files,
		"by_event", json_section(s->by_event, SIZE_MAX, false),
		"by_reason", json_section(s->by_reason, SIZE_MAX, false),
		"top_identities", json_section(s->by_identity, top, false),
		"top_peers", json_section(s->by_peer, top, false), "per_hour",
		json_section(s->by_hour, SIZE_MAX, true));
	int rc;

	/* "o?" turns a failed section into null; refuse half a summary. */
	if (o == NULL || json_is_null(json_object_get(o, "by_event")) ||
	    json_is_null(json_object_get(o, "by_reason")) ||
	    json_is_null(json_object_get(o, "top_identities")) ||
	    json_is_null(json_object_get(o, "top_peers")) ||
	    json_is_null(json_object_get(o, "per_hour"))) {
		json_decref(o);
		return -1;
	}
	rc = json_dumpf(o, stdout, JSON_PRESERVE_ORDER | JSON_INDENT(2));
	if (rc == 0)
		putchar('\n');
	json_decref(o);
	return rc;
}

static int summarize(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"top", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct summary s = {0};
	size_t top = DEFAULT_TOP;
	bool as_json = false;
	int rc = EG_EXIT_USAGE;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;
		unsigned long v;

		switch (c) {
		case 'j':
			as_json = true;
			break;
		case 't':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    optarg[0] == '-' || v == 0 || v > 1000000) {
				fprintf(stderr,
					PROG ": --top: expected a number from "
					     "1 to 1000000, got \"%s\"\n",
					optarg);
				return EG_EXIT_USAGE;
			}
			top = v;
			break;
		case 'h':
			usage(stdout);
			return EG_EXIT_OK;
		default:
			usage(stderr);
			return EG_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, PROG ": summarize: no file given\n");
		usage(stderr);
		return EG_EXIT_USAGE;
	}
	s.by_event = json_object();
	s.by_reason = json_object();
	s.by_identity = json_object();
	s.by_peer = json_object();
	s.by_hour = json_object();
	if (s.by_event == NULL || s.by_reason == NULL ||
	    s.by_identity == NULL || s.by_peer == NULL || s.by_hour == NULL) {
		fprintf(stderr, PROG ": out of memory\n");
		goto out;
	}
	for (int i = optind; i < argc; i++)
		if (read_file(&s, argv[i]) == -1)
			goto out;
	if ((as_json ? print_json(&s, top) : print_text(&s, top)) == -1 ||
	    fflush(stdout) == EOF) {
		fprintf(stderr, PROG ": cannot write the summary\n");
		goto out;
	}
	rc = EG_EXIT_OK;
out:
	json_decref(s.by_event);
	json_decref(s.by_reason);
	json_decref(s.by_identity);
	json_decref(s.by_peer);
	json_decref(s.by_hour);
	return rc;
}

int eg_cli_audit(int argc, char **argv)
{
	if (argc >= 2 &&
	    (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return EG_EXIT_OK;
	}
	if (argc < 2 || strcmp(argv[1], "summarize") != 0) {
		usage(stderr);
		return EG_EXIT_USAGE;
	}
	return summarize(argc - 1, argv + 1);
}
