/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_LIB_AUDIT_INTERNAL_H
#define EG_LIB_AUDIT_INTERNAL_H

/*
 * Shared between audit_format.c (building records) and audit_log.c (sinks
 * and aggregation). Not exported: the shared library exports eg_audit_*
 * only, so these carry the egaud_ prefix.
 */

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <edgeguard/audit.h>

/*
 * Number of leading bytes of s[0..len) kept when truncating to at most max
 * bytes: the cut never falls inside a well-formed UTF-8 sequence (a
 * malformed byte counts as one unit of its own). max == 0 keeps everything.
 */
size_t egaud_utf8_cut(const char *s, size_t len, size_t max);

/*
 * A JSON string holding s[0..len) with every malformed UTF-8 sequence
 * (overlong, surrogate, above U+10FFFF, truncated, stray continuation byte,
 * 0xF5..0xFF) replaced by U+FFFD; NUL and control bytes are kept and left
 * to jansson's escaping. s may be NULL when len == 0. Returns a new
 * reference, or NULL when out of memory.
 */
json_t *egaud_string(const char *s, size_t len);

/*
 * The address part of a peer "ip:port", "[v6]:port", "[v6]", "ip" or a
 * bare IPv6 address (two or more colons: no port): *addr points into peer,
 * *len bytes long. peer must not be NULL.
 */
void egaud_peer_addr(const char *peer, const char **addr, size_t *len);

/*
 * The record of ev as a jansson object with every field of DESIGN.md in
 * order, `count` last. Returns a new reference, or NULL when out of memory.
 */
json_t *egaud_record(const struct eg_audit_event *ev, uint64_t count,
		     size_t path_max);

/*
 * Serialises rec compactly, in insertion order, plus "\n".
 * Returns 0 and *line (caller frees with eg_free(); NUL-terminated after
 * *len bytes), or EG_E_NOMEM.
 */
int egaud_dump(const json_t *rec, char **line, size_t *len);

#endif
