/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

static const char *log_prog = "edgeguard";
static enum egd_level log_max = EGD_INFO;
static int log_journal = -1; /* -1: not yet known */

void egd_log_setup(const char *progname, enum egd_level max)
{
	log_prog = progname;
	log_max = max;
	/* systemd sets JOURNAL_STREAM when stderr is connected to it; then the
	 * "<N>" prefix carries the priority and the journal adds the time. */
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void egd_log(enum egd_level level, const char *fmt, ...)
{
	static const char *const names[] = {"emerg", "alert",	"crit",
					    "error", "warning", "notice",
					    "info",  "debug"};
	char line[1024];
	size_t off;
	va_list ap;
	int n;

	if (level > log_max)
		return;
	if (log_journal == 1) {
		n = snprintf(line, sizeof(line), "<%d>", (int)level);
	} else {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		n = snprintf(line, sizeof(line),
			     "%04d-%02d-%02d %02d:%02d:%02d.%03ld %s[%d]: %s: ",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			     tm.tm_hour, tm.tm_min, tm.tm_sec,
			     ts.tv_nsec / 1000000, log_prog, (int)getpid(),
			     names[level & 7]);
	}
	off = n > 0 ? (size_t)n : 0;
	if (off >= sizeof(line))
		off = sizeof(line) - 1;
	va_start(ap, fmt);
	n = vsnprintf(line + off, sizeof(line) - off, fmt, ap);
	va_end(ap);
	if (n > 0)
		off += (size_t)n;
	if (off > sizeof(line) - 2)
		off = sizeof(line) - 2;
	/* Messages may quote peer data: never let it forge a second line. */
	for (size_t i = 0; i < off; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[off++] = '\n';
	if (write(STDERR_FILENO, line, off) == -1)
		return;
}
