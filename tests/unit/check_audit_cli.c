/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Check suite "audit_cli": `edgeguard audit summarize`, run as a process
 * on logs holding good, aggregated and malformed records.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "audit_helpers.h"
#include "testcerts.h"

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

	ck_assert_msg(e != NULL && strcmp(at_str(e, "value"), value) == 0,
		      "entry %zu is not %s", i, value);
	return at_count(e);
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
	static const struct {
		const char *list;
		size_t at;
		const char *value;
		long long count;
	} want[] = {
		{"by_event", 0, "reject", 1002},
		{"by_event", 1, "would_reject", 5},
		{"by_reason", 0, "untrusted_issuer", 1000},
		{"by_reason", 1, "identity_not_allowed", 5},
		{"by_reason", 2, "none", 2},
		{"top_identities", 0, "edge-1", 1000},
		{"top_identities", 1, "CN=\x1b[2Jx", 5},
		{"top_peers", 0, "192.0.2.1", 1000},
		{"top_peers", 1, "2001:db8::1", 5},
		{"per_hour", 0, "2026-11-24T04", 2},
		{"per_hour", 1, "2026-11-24T05", 1000},
		{"per_hour", 2, "2026-11-24T06", 5},
	};
	char out[65536];
	json_t *o;

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
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const json_t *a = json_object_get(o, want[i].list);

		ck_assert_int_eq(entry_count(a, want[i].at, want[i].value),
				 want[i].count);
	}
	ck_assert_uint_eq(json_array_size(json_object_get(o, "top_peers")), 2);
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
			   (char *)at_tmp_file("none.jsonl"), NULL};
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

int main(void)
{
	const TTest *const tests[] = {
		test_cli_summarize,
		test_cli_usage_errors,
	};

	return at_run("audit_cli", "cli", tests,
		      sizeof(tests) / sizeof(tests[0]));
}
