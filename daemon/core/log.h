/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_DAEMON_CORE_LOG_H
#define EG_DAEMON_CORE_LOG_H

/*
 * The diagnostic log of the daemons (not the audit log): one line per
 * message on stderr, which systemd sends to the journal. Prefixed with a
 * syslog-style "<N>" level when stderr is the journal, else with a local
 * timestamp. Thread-safe: each line is a single write(2).
 */

#include <stdarg.h>

enum egd_level {
	EGD_ERR = 3,
	EGD_WARN = 4,
	EGD_NOTICE = 5,
	EGD_INFO = 6,
	EGD_DEBUG = 7,
};

/* Sets the most verbose level printed (default EGD_INFO) and the program
 * name used as prefix (borrowed: must outlive the process). */
void egd_log_setup(const char *progname, enum egd_level max);

void egd_log(enum egd_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
