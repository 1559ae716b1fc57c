/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EDGEGUARD_AUDIT_H
#define EDGEGUARD_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <edgeguard/alloc.h>
#include <edgeguard/identity.h>
#include <edgeguard/policy.h>
#include <edgeguard/reason.h>

/*
 * Audit records: one JSON object per line, built with jansson, fields in
 * the fixed order of DESIGN.md:
 *   ts event reason component peer sni method host path subject issuer
 *   serial sha256 san not_after policy mode count
 * Peer-supplied strings may hold any bytes; invalid UTF-8 is replaced by
 * U+FFFD and control characters are escaped by the JSON library, so a record
 * is always valid JSON on exactly one line.
 */
struct eg_audit_event {
	int64_t ts_ms; /* wall-clock milliseconds since the epoch */
	enum eg_event event;
	enum eg_reason reason;
	const char *component; /* "verifier", "authz", "nginx", "apache", ... */
	const char *peer;      /* "192.0.2.1:443" / "[2001:db8::1]:443"; NULL */
	const char *sni;       /* the rest: peer-supplied, NUL-terminated, */
	const char *method;    /* NULL when absent */
	const char *host;
	const char *path; /* truncated to the configured path_max */
	/* NULL: no or malformed certificate */
	const struct eg_identity *identity;
	const char *policy; /* rule name */
	enum eg_mode mode;
};

/*
 * Formats one record with the given count, terminated by "\n".
 * Returns 0 and *line (caller frees with eg_free()) and *len, or EG_E_NOMEM.
 * path_max == 0 means no truncation.
 */
int eg_audit_format(const struct eg_audit_event *ev, uint64_t count,
		    size_t path_max, char **line, size_t *len);

/* The `audit` group of a configuration file. */
struct eg_audit_config {
	char *file;		      /* JSON Lines file; NULL: none. Owned. */
	bool syslog;		      /* also to syslog(3) (LOG_AUTHPRIV) */
	bool journald;		      /* also to the journal, with fields */
	bool admits;		      /* record admits too (default false) */
	unsigned aggregate_window_ms; /* 0 disables aggregation; default 1000 */
	unsigned aggregate_max_keys;  /* distinct keys held per window; 4096 */
	size_t path_max;	      /* path bytes kept; default 256 */
};

/*
 * Reads the optional `audit` group of a libconfig file; absent keys take
 * the defaults above. Returns 0 and *out (free with
 * eg_audit_config_free()), or EG_E_CONFIG/EG_E_IO/EG_E_NOMEM with
 * "file:line: key: message" in err.
 */
int eg_audit_config_load(const char *path, struct eg_audit_config **out,
			 char *err, size_t errlen);
void eg_audit_config_free(struct eg_audit_config *cfg);

/*
 * An open audit log: sinks plus flood aggregation. Identical records
 * (same event, reason, component, peer address without port, sni, method,
 * host, path, certificate fingerprint, policy and mode) within one window
 * are folded: the first is written at once with count 1, the following ones
 * are counted and written as one record with their exact count when the
 * window ends (eg_audit_log_flush()) or the log is closed. Nothing is
 * dropped: when the key table is full, records are written unfolded.
 * Thread-safe (internal mutex).
 */
struct eg_audit_log;

/* Opens the sinks of cfg (copied). File created 0640, O_APPEND. */
int eg_audit_log_open(const struct eg_audit_config *cfg,
		      struct eg_audit_log **out, char *err, size_t errlen);

/*
 * Records one event. Admits are ignored unless cfg->admits. Returns 0, or
 * EG_E_IO / EG_E_NOMEM after writing what could be written (a failed file
 * write is retried at the next call, never silently lost).
 */
int eg_audit_log_record(struct eg_audit_log *log,
			const struct eg_audit_event *ev);

/* Writes the aggregated records whose window ended before now_ms; call it
 * periodically (e.g. every second) from the owner's event loop. */
int eg_audit_log_flush(struct eg_audit_log *log, int64_t now_ms);

/* Reopens the file sink (logrotate: SIGUSR1). */
int eg_audit_log_reopen(struct eg_audit_log *log);

/* Counts of records written and events folded, for metrics. */
struct eg_audit_stats {
	uint64_t records_written;
	uint64_t events_folded;
	uint64_t write_errors;
};
void eg_audit_log_stats(struct eg_audit_log *log, struct eg_audit_stats *out);

/* Flushes all pending aggregated records and closes; NULL is a no-op. */
void eg_audit_log_close(struct eg_audit_log *log);

#endif
