/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EDGEGUARD_DAEMON_CLI_UTIL_H
#define EDGEGUARD_DAEMON_CLI_UTIL_H

#include <stdio.h>
#include <time.h>

/* Parses RFC 3339 ("2026-01-02T03:04:05Z", "+01:00" offsets, optional
 * fraction) or "@EPOCH". Returns 0, or -1 when s is neither. */
int eg_cli_parse_time(const char *s, time_t *out);

/* Formats t as RFC 3339 UTC ("2026-01-02T03:04:05Z") into buf. */
const char *eg_cli_format_time(time_t t, char *buf, size_t len);

/* Writes len bytes of peer data with non-printable bytes as \xNN. */
void eg_cli_print_escaped(FILE *f, const char *s, size_t len);

#endif
