/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/privs.h"

int egd_privs_drop(const char *section, const char *user, const char *group,
		   const char *const *sockets, size_t nsockets, char *err,
		   size_t errlen)
{
	struct passwd *pw;
	struct group *gr;
	gid_t gid;

	if (geteuid() != 0 || user == NULL)
		return 0;
	pw = getpwnam(user);
	if (pw == NULL) {
		snprintf(err, errlen, "%s.user: no user '%s'", section, user);
		return -1;
	}
	gid = pw->pw_gid;
	if (group != NULL) {
		gr = getgrnam(group);
		if (gr == NULL) {
			snprintf(err, errlen, "%s.group: no group '%s'",
				 section, group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	for (size_t i = 0; i < nsockets; i++)
		if (chown(sockets[i], pw->pw_uid, gid) == -1 ||
		    chmod(sockets[i], 0660) == -1)
			egd_log(EGD_WARN, "%s: %s", sockets[i],
				strerror(errno));
	if (setgroups(1, &gid) == -1 || setgid(gid) == -1 ||
	    setuid(pw->pw_uid) == -1) {
		snprintf(err, errlen, "dropping privileges to %s: %s", user,
			 strerror(errno));
		return -1;
	}
	if (setuid(0) != -1) {
		snprintf(err, errlen, "privileges could be regained");
		return -1;
	}
	return 0;
}
