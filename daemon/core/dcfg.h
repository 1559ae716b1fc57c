/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_DAEMON_CORE_DCFG_H
#define EG_DAEMON_CORE_DCFG_H

/*
 * Daemon configuration helpers on top of lib/cfg.h: file names relative to
 * the configuration file or PKCS#11 URLs, socket addresses, and a watch
 * list of the files a configuration loaded so that a replaced certificate
 * triggers a reload.
 * Errors are "file:line: key: message" like every other config error.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

#include <libconfig.h>

#include "core/net.h"

/* Reads the string `key` of `group` as a file name resolved against dir
 * (eg_cfg_dirname() of the configuration file) unless absolute or a
 * "pkcs11:" URL. *out (caller frees with eg_free()) is NULL when the key is
 * absent and !required. */
int egd_cfg_file(const config_setting_t *group, const char *key,
		 const char *dir, bool required, char **out, char *err,
		 size_t errlen);

/* Reads the address `key`; *present tells whether it was there. */
int egd_cfg_addr(const config_setting_t *group, const char *key,
		 struct egd_addr *out, bool *present, char *err, size_t errlen);

/* Reads `key` as a non-empty list of addresses (a single string is also
 * accepted). *out (caller frees) has *n entries. */
int egd_cfg_addr_list(const config_setting_t *group, const char *key,
		      struct egd_addr **out, size_t *n, char *err,
		      size_t errlen);

/* Identity of a file on disk, to notice replacement. */
struct egd_file_stamp {
	char *path; /* owned */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct egd_watch {
	struct egd_file_stamp *v; /* owned */
	size_t n;
};

/* Records the current state of `path` (a missing file is recorded as
 * such). Returns 0 or -1 (out of memory). */
int egd_watch_add(struct egd_watch *w, const char *path);
/* Records the files of TLS credentials: cert, key unless it is a pkcs11:
 * URL, and ca unless NULL. Returns 0 or -1 (out of memory). */
int egd_watch_add_creds(struct egd_watch *w, const char *cert, const char *key,
			const char *ca);
/* True when any watched file differs from its recorded state. */
bool egd_watch_changed(const struct egd_watch *w);
void egd_watch_free(struct egd_watch *w);

#endif
