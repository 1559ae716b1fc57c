/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_LIB_CFG_H
#define EG_LIB_CFG_H

/*
 * libconfig helpers shared by every loader in the library: each reads one
 * typed key and, when the value is wrong, fills err with
 * "file:line: key.path: what is wrong" so a user never hunts for a typo.
 * All return 0 or EG_E_CONFIG.
 */

#include <stdbool.h>
#include <stddef.h>

#include <libconfig.h>

/* Reads a file or a string into cfg (config_init() done by the caller);
 * a syntax error becomes "file:line: syntax error: ..." in err. */
int eg_cfg_read_file(config_t *cfg, const char *path, char *err, size_t errlen);
int eg_cfg_read_string(config_t *cfg, const char *text, const char *name,
		       char *err, size_t errlen);

/* Formats "file:line: path: message" for setting s into err; returns
 * EG_E_CONFIG so loaders can `return eg_cfg_error(...)`. */
int eg_cfg_error(char *err, size_t errlen, const config_setting_t *s,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Full dotted name of s ("policy.rules.[1].allow.dns") into buf. */
const char *eg_cfg_path(const config_setting_t *s, char *buf, size_t len);

/* Rejects any member of `group` whose name is not in the NULL-terminated
 * `allowed` list: typos must not silently weaken a policy. */
int eg_cfg_only_keys(const config_setting_t *group, const char *const *allowed,
		     char *err, size_t errlen);

/* Typed getters: an absent key yields the default; a key of the wrong type
 * or out of range is an error naming it. */
int eg_cfg_bool(const config_setting_t *group, const char *key, bool dflt,
		bool *out, char *err, size_t errlen);
int eg_cfg_uint(const config_setting_t *group, const char *key, unsigned dflt,
		unsigned min, unsigned max, unsigned *out, char *err,
		size_t errlen);
/* *out is borrowed from cfg (NULL when absent). Empty strings rejected. */
int eg_cfg_string(const config_setting_t *group, const char *key,
		  const char **out, char *err, size_t errlen);
/* *out is the array/list setting (NULL when absent); every element is
 * checked to be a non-empty string. A single string is rejected with a hint
 * to write [ "..." ]. */
int eg_cfg_string_array(const config_setting_t *group, const char *key,
			const config_setting_t **out, char *err, size_t errlen);

/* `name` resolved against base_dir when relative (base_dir NULL: as is).
 * Returns a string the caller frees with eg_free(), or NULL (no memory). */
char *eg_cfg_resolve_path(const char *base_dir, const char *name);

/* Directory part of `path` ("." when none); caller frees with eg_free(). */
char *eg_cfg_dirname(const char *path);

#endif
