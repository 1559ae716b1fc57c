/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Check suite "audit_log": the sinks of an audit log: the file (mode,
 * reopen for logrotate, write errors retried), concurrent writers, out of
 * memory, syslog and journald received on real sockets.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
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

#include "audit_helpers.h"
#include "test_helpers.h"
#include "testcerts.h"

START_TEST(test_file_mode_0640)
{
	const char *file = at_tmp_file("mode.jsonl");
	struct eg_audit_log *log;
	struct stat st;

	umask(0);
	log = at_open_log(file, 1000, 16, 256);
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0640);
	eg_audit_log_close(log);
}
END_TEST

START_TEST(test_reopen_after_rename)
{
	const char *file = at_tmp_file("r.jsonl");
	const char *rotated = at_tmp_file("r.jsonl.1");
	struct eg_audit_log *log = at_open_log(file, 1000, 16, 256);
	struct at_recs a, b;

	at_record_run(log, 0, 10, 0);
	ck_assert_int_eq(rename(file, rotated), 0);
	/* still appended to the renamed file until the reopen */
	{
		struct eg_audit_event ev = at_event(TS0 + 10);

		ev.reason = EG_REASON_EXPIRED;
		ck_assert_int_eq(eg_audit_log_record(log, &ev), 0);
	}
	ck_assert_int_eq(eg_audit_log_reopen(log), 0);
	at_record_run(log, 11, 20, 0);
	eg_audit_log_close(log);
	at_read_recs(rotated, &a);
	at_read_recs(file, &b);
	ck_assert_uint_eq(a.n, 2);
	ck_assert_str_eq(at_str(a.v[1], "reason"), "expired");
	/* the window held across the reopen is written to the new file */
	ck_assert_uint_eq(b.n, 1);
	ck_assert_int_eq(at_count(b.v[0]), 18);
	ck_assert_uint_eq(a.sum + b.sum, 20);
	at_free_recs(&a);
	at_free_recs(&b);
}
END_TEST

START_TEST(test_reopen_failure_keeps_old_file)
{
	char dir[2048], moved[2048], file[4096];
	struct eg_audit_log *log;
	struct eg_audit_event ev = at_event(TS0);

	snprintf(dir, sizeof(dir), "%s/d", tc_tmpdir());
	snprintf(moved, sizeof(moved), "%s/moved", tc_tmpdir());
	snprintf(file, sizeof(file), "%s/log.jsonl", dir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	log = at_open_log(file, 0, 16, 256);
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
	at_expect_recs(file, 1);
}
END_TEST

/* A log whose file is a link to /dev/full, which fails every write with
 * ENOSPC. */
static struct eg_audit_log *open_full(const char *link, unsigned window)
{
	ck_assert_int_eq(symlink("/dev/full", link), 0);
	return at_open_log(link, window, 16, 256);
}

/* Points the link at `real` and reopens, as logrotate would. */
static void make_writable(struct eg_audit_log *log, const char *link,
			  const char *real)
{
	ck_assert_int_eq(unlink(link), 0);
	ck_assert_int_eq(symlink(real, link), 0);
	ck_assert_int_eq(eg_audit_log_reopen(log), 0);
}

/* Records wait in the retry queue and reach the file once it is writable
 * again. */
START_TEST(test_write_error_retried)
{
	const char *link = at_tmp_file("full.jsonl");
	const char *real = at_tmp_file("real.jsonl");
	struct eg_audit_log *log;
	struct eg_audit_stats st;
	struct at_recs r;

	log = open_full(link, 1000);
	for (int i = 0; i < 5; i++) {
		struct eg_audit_event ev = at_event(TS0 + i);
		char path[32];

		snprintf(path, sizeof(path), "/%d", i);
		ev.path = path;
		ck_assert_int_eq(eg_audit_log_record(log, &ev), EG_E_IO);
	}
	eg_audit_log_stats(log, &st);
	ck_assert_uint_eq(st.records_written, 0);
	ck_assert_uint_ge(st.write_errors, 5);
	make_writable(log, link, real);
	eg_audit_log_stats(log, &st);
	ck_assert_uint_eq(st.records_written, 5);
	eg_audit_log_close(log);
	at_read_recs(real, &r);
	ck_assert_uint_eq(r.n, 5);
	for (size_t i = 0; i < 5; i++) {
		char path[32];

		snprintf(path, sizeof(path), "/%zu", i);
		ck_assert_str_eq(at_str(r.v[i], "path"), path);
	}
	at_free_recs(&r);
}
END_TEST

START_TEST(test_write_error_queue_bounded)
{
	const char *link = at_tmp_file("full.jsonl");
	const char *real = at_tmp_file("real.jsonl");
	struct eg_audit_log *log;
	struct eg_audit_stats st;
	struct at_recs r;

	log = open_full(link, 0);
	at_record_run(log, 0, 300, EG_E_IO);
	eg_audit_log_stats(log, &st);
	/* one failed write per call, plus the 44 lines past the bound */
	ck_assert_uint_eq(st.write_errors, 300 + 44);
	make_writable(log, link, real);
	eg_audit_log_close(log);
	at_read_recs(real, &r);
	ck_assert_uint_eq(r.n, 256);
	ck_assert_str_eq(at_str(r.v[0], "ts"), "2026-11-24T05:42:41.123Z");
	at_free_recs(&r);
}
END_TEST

START_TEST(test_concurrent_processes)
{
	const char *file = at_tmp_file("procs.jsonl");
	char longpath[3000];
	pid_t pids[4];
	struct at_recs r;
	unsigned per[4] = {0};

	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	for (int p = 0; p < 4; p++) {
		pids[p] = fork();
		ck_assert_int_ne(pids[p], -1);
		if (pids[p] == 0) {
			struct eg_audit_log *log =
				at_open_log(file, 0, 16, 4096);
			char comp[16];

			snprintf(comp, sizeof(comp), "proc%d", p);
			for (int i = 0; i < 500; i++) {
				struct eg_audit_event ev = at_event(TS0 + i);

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
	at_read_recs(file, &r);
	ck_assert_uint_eq(r.n, 2000);
	for (size_t i = 0; i < r.n; i++) {
		const char *c = at_str(r.v[i], "component");

		ck_assert_uint_eq(strlen(at_str(r.v[i], "path")),
				  sizeof(longpath) - 1);
		per[c[4] - '0']++;
	}
	for (int p = 0; p < 4; p++)
		ck_assert_uint_eq(per[p], 500);
	at_free_recs(&r);
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
		struct eg_audit_event ev = at_event(now);

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
	const char *file = at_tmp_file("threads.jsonl");
	struct eg_audit_log *log = at_open_log(file, 50, 16, 256);
	struct eg_audit_stats st;
	pthread_t t[THREADS];
	struct at_recs r;

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
	at_read_recs(file, &r);
	ck_assert_uint_eq(r.sum, THREADS * PER_THREAD);
	ck_assert_uint_lt(r.n, THREADS * PER_THREAD / 10);
	ck_assert_uint_eq(st.write_errors, 0);
	at_free_recs(&r);
}
END_TEST

START_TEST(test_log_out_of_memory)
{
	const char *file = at_tmp_file("oom.jsonl");
	struct eg_audit_config cfg = {.file = (char *)file,
				      .aggregate_window_ms = 1000,
				      .aggregate_max_keys = 64,
				      .path_max = 256};
	long n;
	bool clean = false;

	eg_set_allocator(tu_budget_malloc, tu_budget_realloc, free);
	for (n = 0; n < 20000 && !clean; n++) {
		struct eg_audit_log *log = NULL;
		int rc;

		tu_alloc_budget = n;
		rc = eg_audit_log_open(&cfg, &log, NULL, 0);
		if (rc != 0) {
			tu_alloc_budget = -1;
			ck_assert_int_eq(rc, EG_E_NOMEM);
			ck_assert_ptr_null(log);
			continue;
		}
		for (int i = 0; i < 40; i++) {
			struct eg_audit_event ev = at_event(TS0 + i * 100);

			ev.identity = at_identity();
			ev.reason = (enum eg_reason)(1 + i % 4);
			rc = eg_audit_log_record(log, &ev);
			ck_assert(rc == 0 || rc == EG_E_NOMEM);
		}
		rc = eg_audit_log_flush(log, TS0 + 100000);
		ck_assert(rc == 0 || rc == EG_E_NOMEM);
		eg_audit_log_close(log);
		clean = tu_alloc_budget != 0;
		tu_alloc_budget = -1;
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
	const char *file = at_tmp_file("sinks.jsonl");
	struct eg_audit_config cfg = {.file = (char *)file,
				      .syslog = true,
				      .journald = true,
				      .aggregate_window_ms = 0,
				      .aggregate_max_keys = 1};
	struct eg_audit_event ev = at_event(TS0);
	struct eg_audit_log *log;
	struct eg_audit_stats st;
	char buf[65536], want[256];
	const char *msg;
	int sl, jd;
	ssize_t n;
	json_t *o;

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

	ev.identity = at_identity();
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
	ck_assert_str_eq(at_str(o, "reason"), "untrusted_issuer");
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
	snprintf(want, sizeof(want), "\nEDGEGUARD_SHA256=%s\n",
		 ev.identity->sha256);
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
	at_expect_recs(file, 3);
	close(sl);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		test_file_mode_0640,
		test_reopen_after_rename,
		test_reopen_failure_keeps_old_file,
		test_write_error_retried,
		test_write_error_queue_bounded,
		test_concurrent_processes,
		test_concurrent_threads_exact,
		test_log_out_of_memory,
		test_syslog_and_journald,
	};

	return at_run("audit_log", "sinks", tests,
		      sizeof(tests) / sizeof(tests[0]));
}
