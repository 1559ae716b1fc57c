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
	struct egd_watch watch; /* files whose replacement reloads */
};

/*
 * Reads `path` and finds its group `section` ("verifier = { ... }").
 * Sets up d (one reference, `destroy`, path) and *dir (eg_cfg_dirname(),
 * caller frees with eg_free()); cfg must be config_init()ed and is
 * config_destroy()ed by the caller. Returns the group, or NULL with
 * "file:line: key: message" in err.
 */
const config_setting_t *egd_dconf_open(struct egd_dconf *d,
				       void (*destroy)(struct egd_dconf *),
				       const char *path, const char *section,
				       config_t *cfg, char **dir, char *err,
				       size_t errlen);

/* Reads the keys every daemon's group `g` has: workers, admin { listen }
 * (default_admin when absent), user, group. Returns 0 or a negative
 * EG_E_* with err filled. */
int egd_dconf_common(struct egd_dconf *d, const config_setting_t *g,
		     const char *default_admin, char *err, size_t errlen);

/* Frees what egd_dconf_open() and egd_dconf_common() set, not d. */
void egd_dconf_release(struct egd_dconf *d);

/* Looks up a sub-group: absent is fine (*out NULL), anything else must be
 * a group. Returns 0 or a negative EG_E_*. */
int egd_cfg_subgroup(const config_setting_t *parent, const char *key,
		     const config_setting_t **out, char *err, size_t errlen);

/* Copies the string `key` of g into *out (caller frees), NULL when absent.
 * Returns 0 or a negative EG_E_*. */
int egd_cfg_strdup(const config_setting_t *g, const char *key, char **out,
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
