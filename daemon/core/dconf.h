/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_DAEMON_CORE_DCONF_H
#define EG_DAEMON_CORE_DCONF_H

/*
 * What every daemon's configuration has, and how one is shared: a
 * daemon's configuration struct begins with a struct egd_dconf, is
 * immutable once loaded and reference counted; workers hold references
 * while they use one, and a reload publishes the next one
 * (egd_dconf_publish()) for them to pick up.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <libconfig.h>

#include "core/dcfg.h"
#include "core/net.h"

struct egd_dconf {
	atomic_uint refs;
	/* Frees the daemon's whole configuration, base included. */
	void (*destroy)(struct egd_dconf *d);
	char *path;	  /* owned: the file it came from */
	unsigned workers; /* resolved: never 0 */
	bool admin_enabled;
	struct egd_addr admin;
	char *user; /* owned; NULL: no privilege drop */
	char *group;
	char *log_file; /* owned (eg_free); NULL: the log goes to stderr */
	struct egd_watch watch; /* files whose replacement reloads */
};

/* How a daemon's configuration is loaded: its struct (size bytes, a
 * struct egd_dconf first) from the group `section` of its file. */
struct egd_dconf_loader {
	size_t size;
	const char *section; /* "verifier": verifier = { ... } */
	/* Frees the whole struct, base included (egd_dconf_release()). */
	void (*destroy)(struct egd_dconf *d);
	/* Fills the daemon's part from its group g; dir: the file's
	 * directory, for relative file names; arg: egd_dconf_load()'s.
	 * Returns 0 or a negative EG_E_* with err filled. */
	int (*load)(struct egd_dconf *d, const config_setting_t *g,
		    const char *dir, void *arg, char *err, size_t errlen);
};

/* Loads `path` with l. Returns 0 and *out with one reference, or -1 with
 * "file:line: key: message" in err. */
int egd_dconf_load(const struct egd_dconf_loader *l, const char *path,
		   void *arg, struct egd_dconf **out, char *err, size_t errlen);

/* Reads the keys every daemon's group `g` has: workers, admin { listen }
 * (default_admin when absent), user, group, log_file (relative to dir).
 * Returns 0 or a negative EG_E_* with err filled. */
int egd_dconf_common(struct egd_dconf *d, const config_setting_t *g,
		     const char *dir, const char *default_admin, char *err,
		     size_t errlen);

/* Frees what egd_dconf_load() and egd_dconf_common() set, not d. */
void egd_dconf_release(struct egd_dconf *d);

/* Looks up a sub-group: absent is fine (*out NULL), anything else must be
 * a group. Returns 0 or a negative EG_E_*. */
int egd_cfg_subgroup(const config_setting_t *parent, const char *key,
		     const config_setting_t **out, char *err, size_t errlen);

/* Copies the string `key` of g into *out (caller frees), NULL when absent.
 * Returns 0 or a negative EG_E_*. */
int egd_cfg_strdup(const config_setting_t *g, const char *key, char **out,
		   char *err, size_t errlen);

/* An unsigned key of a group and where it goes: the field at offset `off`
 * of the struct being read. */
struct egd_cfg_uint_key {
	const char *key;
	unsigned dflt, min, max;
	size_t off;
};

/* The row of the field `name` of struct `type`, read from the key "name"
 * with default d and range lo..hi. */
#define EGD_CFG_UINT_KEY(type, name, d, lo, hi)                                \
	{                                                                      \
		.key = #name, .dflt = d, .min = lo, .max = hi,                 \
		.off = offsetof(type, name)                                    \
	}

/* Rows for the limits every daemon's HTTP front has, for a struct `type`
 * with fields of these names. */
#define EGD_FRONT_LIMIT_KEYS(type)                                             \
	EGD_CFG_UINT_KEY(type, handshake_timeout_ms, 10000, 1, 3600000),       \
		EGD_CFG_UINT_KEY(type, header_timeout_ms, 10000, 1, 3600000),  \
		EGD_CFG_UINT_KEY(type, idle_timeout_ms, 60000, 1, 86400000),   \
		EGD_CFG_UINT_KEY(type, drain_timeout_ms, 10000, 0, 3600000),   \
		EGD_CFG_UINT_KEY(type, max_header_bytes, 16384, 1024,          \
				 1048576),                                     \
		EGD_CFG_UINT_KEY(type, max_headers, 100, 8, 10000),            \
		EGD_CFG_UINT_KEY(type, max_connections, 10000, 1, 1000000)

/* Reads the optional sub-group `key` of parent, whose only keys are the n
 * of t, into the struct at base: every field gets its key's value or
 * default (all defaults when the group is absent). Returns 0 or a
 * negative EG_E_* with err filled. */
int egd_cfg_uints(const config_setting_t *parent, const char *key,
		  const struct egd_cfg_uint_key *t, size_t n, void *base,
		  char *err, size_t errlen);

struct egd_dconf *egd_dconf_ref(struct egd_dconf *d);
/* Drops a reference; the last one calls destroy. NULL is a no-op. */
void egd_dconf_unref(struct egd_dconf *d);

/*
 * The configuration in force, shared by all threads.
 * egd_dconf_current() returns a new reference (caller unrefs), or NULL
 * before the first publish. egd_dconf_publish() takes ownership of d's
 * reference (NULL at exit) and drops the previous one.
 * egd_dconf_generation() changes on every publish: a worker compares it to
 * decide whether to fetch the new one.
 */
struct egd_dconf *egd_dconf_current(void);
void egd_dconf_publish(struct egd_dconf *d);
unsigned egd_dconf_generation(void);

#endif
