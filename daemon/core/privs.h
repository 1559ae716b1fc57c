/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_DAEMON_CORE_PRIVS_H
#define EG_DAEMON_CORE_PRIVS_H

#include <stddef.h>

/*
 * Drops root to `user` (and `group`, default the user's primary group)
 * after the listeners are bound. The unix sockets named in `sockets` are
 * first handed to that user and group with mode 0660, so only the proxy in
 * the group can connect. A no-op unless running as root with a user set.
 * `section` names the config group in messages ("verifier.user: ...").
 * Returns 0, or -1 with the reason in err; -1 also when root could be
 * regained afterwards.
 */
int egd_privs_drop(const char *section, const char *user, const char *group,
		   const char *const *sockets, size_t nsockets, char *err,
		   size_t errlen);

#endif
