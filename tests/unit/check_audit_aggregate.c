/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Check suite "audit_aggregate": identical rejections folded into one
 * record per window with exact counts, checked against a model.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include <edgeguard/edgeguard.h>

#include "audit_helpers.h"

START_TEST(test_agg_flood_one_window)
{
	const char *file = at_tmp_file("a.jsonl");
	struct eg_audit_log *log = at_open_log(file, 1000, 16, 256);
	struct eg_audit_stats st;
	struct at_recs r;

	at_record_run(log, 0, 1000, 0);
	at_read_recs(file, &r);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_int_eq(at_count(r.v[0]), 1);
	at_free_recs(&r);
	ck_assert_int_eq(eg_audit_log_flush(log, TS0 + 999), 0);
	at_expect_recs(file, 1);
	ck_assert_int_eq(eg_audit_log_flush(log, TS0 + 1000), 0);
	at_read_recs(file, &r);
	ck_assert_uint_eq(r.n, 2);
	ck_assert_int_eq(at_count(r.v[1]), 999);
	/* The aggregate carries the first folded event's time. */
	ck_assert_str_eq(at_str(r.v[1], "ts"), "2026-11-24T05:42:41.124Z");
	ck_assert_str_eq(at_str(r.v[1], "peer"), "192.0.2.1:50000");
	ck_assert_uint_eq(r.sum, 1000);
	at_free_recs(&r);
	eg_audit_log_stats(log, &st);
	ck_assert_uint_eq(st.records_written, 2);
	ck_assert_uint_eq(st.events_folded, 999);
	ck_assert_uint_eq(st.write_errors, 0);
	eg_audit_log_close(log);
	at_expect_recs(file, 2);
}
END_TEST

START_TEST(test_agg_three_windows)
{
	const char *file = at_tmp_file("a.jsonl");
	struct eg_audit_log *log = at_open_log(file, 100, 16, 256);
	struct at_recs r;

	/* One event per millisecond for 300 ms: windows open at 0, 100, 200,
	 * each one written at once plus 99 folded. */
	at_record_run(log, 0, 300, 0);
	eg_audit_log_close(log);
	at_read_recs(file, &r);
	ck_assert_uint_eq(r.n, 6);
	for (size_t i = 0; i < 6; i++)
		ck_assert_int_eq(at_count(r.v[i]), i % 2 ? 99 : 1);
	ck_assert_str_eq(at_str(r.v[2], "ts"), "2026-11-24T05:42:41.223Z");
	ck_assert_uint_eq(r.sum, 300);
	at_free_recs(&r);
}
END_TEST

START_TEST(test_agg_interleaved_keys)
{
	const char *file = at_tmp_file("a.jsonl");
	struct eg_audit_log *log = at_open_log(file, 1000, 16, 256);
	static const enum eg_reason reasons[3] = {
		EG_REASON_EXPIRED, EG_REASON_REVOKED, EG_REASON_NO_CERTIFICATE};
	unsigned seen[3] = {0};
	struct at_recs r;

	for (int i = 0; i < 300; i++) {
		struct eg_audit_event ev = at_event(TS0 + i);

		ev.reason = reasons[i % 3];
		ck_assert_int_eq(eg_audit_log_record(log, &ev), 0);
	}
	ck_assert_int_eq(eg_audit_log_flush(log, TS0 + 5000), 0);
	at_read_recs(file, &r);
	ck_assert_uint_eq(r.n, 6);
	for (size_t i = 0; i < 3; i++)
		ck_assert_int_eq(at_count(r.v[i]), 1);
	for (size_t i = 3; i < 6; i++) {
		int reason = eg_reason_from_name(at_str(r.v[i], "reason"));

		ck_assert_int_eq(at_count(r.v[i]), 99);
		for (int k = 0; k < 3; k++)
			if ((int)reasons[k] == reason)
				seen[k]++;
	}
	ck_assert(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
	ck_assert_uint_eq(r.sum, 300);
	at_free_recs(&r);
	eg_audit_log_close(log);
}
END_TEST

START_TEST(test_agg_ports_fold_paths_do_not)
{
	const char *file = at_tmp_file("a.jsonl");
	struct eg_audit_log *log = at_open_log(file, 1000, 64, 8);
	char peer[64];
	char path[64];
	struct at_recs r;

	for (int i = 0; i < 50; i++) {
		struct eg_audit_event ev = at_event(TS0 + i);

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
		struct eg_audit_event ev = at_event(TS0 + i);

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
	at_read_recs(file, &r);
	/* 3 peers x 2 records, 10 distinct paths, 2 for the folded paths */
	ck_assert_uint_eq(r.n, 6 + 10 + 2);
	ck_assert_uint_eq(r.sum, 170);
	for (size_t i = 0; i < r.n; i++) {
		const char *p = at_str(r.v[i], "peer");

		if (at_count(r.v[i]) == 49 && strncmp(p, "192.", 4) == 0)
			ck_assert_str_eq(p, "192.0.2.9");
		else if (at_count(r.v[i]) == 49 && strncmp(p, "2001", 4) == 0)
			ck_assert_str_eq(p, "2001:db8::9");
		else if (at_count(r.v[i]) == 49)
			ck_assert_str_eq(p, "198.51.100.1:7");
		else if (at_count(r.v[i]) == 9)
			ck_assert_str_eq(at_str(r.v[i], "path"), "/static/");
		else
			ck_assert_int_eq(at_count(r.v[i]), 1);
	}
	at_free_recs(&r);
}
END_TEST

START_TEST(test_agg_table_full)
{
	const char *file = at_tmp_file("a.jsonl");
	struct eg_audit_log *log = at_open_log(file, 1000, 2, 256);
	struct eg_audit_stats st;
	char path[32];
	struct at_recs r;
	unsigned ones = 0, nines = 0;

	for (int rep = 0; rep < 10; rep++)
		for (int k = 0; k < 5; k++) {
			struct eg_audit_event ev = at_event(TS0 + rep);

			snprintf(path, sizeof(path), "/key/%d", k);
			ev.path = path;
			ck_assert_int_eq(eg_audit_log_record(log, &ev), 0);
		}
	eg_audit_log_stats(log, &st);
	ck_assert_uint_eq(st.events_folded, 18);
	eg_audit_log_close(log);
	at_read_recs(file, &r);
	for (size_t i = 0; i < r.n; i++) {
		ones += at_count(r.v[i]) == 1;
		nines += at_count(r.v[i]) == 9;
	}
	/* keys 0, 1 held: 1 + 9 each; keys 2..4 written unfolded */
	ck_assert_uint_eq(nines, 2);
	ck_assert_uint_eq(ones, 2 + 30);
	ck_assert_uint_eq(r.n, 34);
	ck_assert_uint_eq(r.sum, 50);
	at_free_recs(&r);
}
END_TEST

START_TEST(test_agg_close_flushes_and_admits)
{
	const char *file = at_tmp_file("a.jsonl");
	struct eg_audit_log *log = at_open_log(file, 60000, 16, 256);
	struct eg_audit_config cfg = {.file = (char *)file,
				      .admits = true,
				      .aggregate_window_ms = 60000,
				      .aggregate_max_keys = 16};
	struct at_recs r;
	char err[256];

	for (int i = 0; i < 20; i++) {
		struct eg_audit_event ev = at_event(TS0 + i);

		ev.event = EG_EVENT_ADMIT;
		ev.reason = EG_REASON_NONE;
		ck_assert_int_eq(eg_audit_log_record(log, &ev), 0);
		ev.event = EG_EVENT_WOULD_REJECT;
		ev.reason = EG_REASON_IDENTITY_NOT_ALLOWED;
		ev.mode = EG_MODE_LOG_ONLY;
		ck_assert_int_eq(eg_audit_log_record(log, &ev), 0);
	}
	eg_audit_log_close(log);
	at_read_recs(file, &r);
	ck_assert_uint_eq(r.n, 2);
	ck_assert_str_eq(at_str(r.v[0], "event"), "would_reject");
	ck_assert_str_eq(at_str(r.v[1], "mode"), "log-only");
	ck_assert_int_eq(at_count(r.v[1]), 19);
	at_free_recs(&r);

	ck_assert_int_eq(eg_audit_log_open(&cfg, &log, err, sizeof(err)), 0);
	for (int i = 0; i < 5; i++) {
		struct eg_audit_event ev = at_event(TS0 + i);

		ev.event = EG_EVENT_ADMIT;
		ev.reason = EG_REASON_NONE;
		ck_assert_int_eq(eg_audit_log_record(log, &ev), 0);
	}
	eg_audit_log_close(log);
	at_read_recs(file, &r);
	ck_assert_uint_eq(r.n, 4);
	ck_assert_str_eq(at_str(r.v[2], "event"), "admit");
	ck_assert(json_is_null(json_object_get(r.v[2], "reason")));
	ck_assert_uint_eq(r.sum, 25);
	at_free_recs(&r);
}
END_TEST

START_TEST(test_agg_disabled)
{
	const char *file = at_tmp_file("a.jsonl");
	struct eg_audit_log *log = at_open_log(file, 0, 16, 256);
	struct eg_audit_stats st;

	for (int i = 0; i < 100; i++) {
		struct eg_audit_event ev = at_event(TS0);

		ck_assert_int_eq(eg_audit_log_record(log, &ev), 0);
	}
	eg_audit_log_stats(log, &st);
	ck_assert_uint_eq(st.records_written, 100);
	ck_assert_uint_eq(st.events_folded, 0);
	eg_audit_log_close(log);
	ck_assert_uint_eq(at_expect_recs(file, 100), 100);
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
	const char *file = at_tmp_file("model.jsonl");
	struct eg_audit_log *log = at_open_log(file, M_WINDOW, 4096, 256);
	uint32_t x = 12345;
	struct at_recs r;

	for (unsigned t = 0; t < M_EVENTS; t++) {
		struct eg_audit_event ev = at_event(TS0 + t / 2);
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
	at_read_recs(file, &r);
	ck_assert_uint_eq(r.sum, M_EVENTS);
	for (size_t i = 0; i < r.n; i++) {
		unsigned k;

		ck_assert_int_eq(sscanf(at_str(r.v[i], "path"), "/k/%u", &k),
				 1);
		seq_push(&got, k, (unsigned)at_count(r.v[i]));
	}
	at_free_recs(&r);
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
	const char *file = at_tmp_file("a.jsonl");
	struct eg_audit_log *log = at_open_log(file, 1000, 16, 256);

	at_record_run(log, 0, 3, 0);
	ck_assert_int_eq(eg_audit_log_flush(log, TS0 - 500), 0);
	at_expect_recs(file, 1);
	ck_assert_int_eq(eg_audit_log_flush(log, TS0 - 3600000), 0);
	ck_assert_uint_eq(at_expect_recs(file, 2), 3);
	eg_audit_log_close(log);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		test_agg_flood_one_window, test_agg_three_windows,
		test_agg_interleaved_keys, test_agg_ports_fold_paths_do_not,
		test_agg_table_full,	   test_agg_close_flushes_and_admits,
		test_agg_disabled,	   test_agg_matches_model,
		test_agg_clock_step_back,
	};

	return at_run("audit_aggregate", "aggregate", tests,
		      sizeof(tests) / sizeof(tests[0]));
}
