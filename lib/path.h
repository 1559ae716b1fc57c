/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_LIB_PATH_H
#define EG_LIB_PATH_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Request paths are normalised before rule selection so that
 * "/public/../admin", "/%61dmin" and "//admin" all select the "/admin" rule:
 * the path is taken from origin- or absolute-form, query and fragment are
 * dropped, percent-encodings decoded, dot segments removed (RFC 3986
 * 5.2.4) and repeated slashes merged.
 */

/* Normalises `target` into buf (always terminated). Returns the length, or
 * EG_E_BAD_REQUEST (bad percent-encoding, %00, no leading '/', too long). */
int eg_path_normalize(const char *target, char *buf, size_t buflen);

/* True when normalised `path` is `prefix` or lies below it; prefix is
 * normalised and has no trailing slash except "/" itself. */
bool eg_path_has_prefix(const char *path, const char *prefix);

#endif
