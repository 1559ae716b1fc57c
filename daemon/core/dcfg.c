/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <edgeguard/error.h>

#include "alloc.h"
#include "cfg.h"
#include "core/dcfg.h"

int egd_cfg_file(const config_setting_t *group, const char *key,
		 const char *dir, bool required, char **out, char *err,
		 size_t errlen)
{
	const char *v = NULL;
	int ret;

	*out = NULL;
	ret = eg_cfg_string(group, key, &v, err, errlen);
	if (ret < 0)
		return ret;
	if (v == NULL) {
		if (required)
			return eg_cfg_error(err, errlen, group,
					    "missing required key '%s'", key);
		return 0;
	}
	/* A PKCS#11 URL names a token object, not a file. */
	*out = strncmp(v, "pkcs11:", 7) == 0 ? eg_strdup(v)
					     : eg_cfg_resolve_path(dir, v);
	if (*out == NULL)
		return eg_cfg_error(err, errlen, group, "out of memory");
	return 0;
}

int egd_cfg_addr(const config_setting_t *group, const char *key,
		 struct egd_addr *out, bool *present, char *err, size_t errlen)
{
	const config_setting_t *s = config_setting_get_member(group, key);
	const char *v = NULL;
	char msg[256];
	int ret;

	*present = false;
	ret = eg_cfg_string(group, key, &v, err, errlen);
	if (ret < 0 || v == NULL)
		return ret;
	if (egd_addr_parse(v, out, msg, sizeof(msg)) == -1)
		return eg_cfg_error(err, errlen, s, "%s", msg);
	*present = true;
	return 0;
}

int egd_cfg_addr_list(const config_setting_t *group, const char *key,
		      struct egd_addr **out, size_t *n, char *err,
		      size_t errlen)
{
	const config_setting_t *s = config_setting_get_member(group, key);
	char msg[256];
	int count;

	*out = NULL;
	*n = 0;
	if (s == NULL)
		return eg_cfg_error(err, errlen, group,
				    "missing required key '%s'", key);
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		count = 1;
	} else if (config_setting_is_aggregate(s)) {
		count = config_setting_length(s);
		if (count == 0)
			return eg_cfg_error(err, errlen, s,
					    "expected at least one address");
	} else {
		return eg_cfg_error(err, errlen, s,
				    "expected an address or a list of them");
	}
	*out = calloc((size_t)count, sizeof(**out));
	if (*out == NULL)
		return eg_cfg_error(err, errlen, s, "out of memory");
	for (int i = 0; i < count; i++) {
		const config_setting_t *e =
			config_setting_type(s) == CONFIG_TYPE_STRING
				? s
				: config_setting_get_elem(s, (unsigned)i);
		const char *v = config_setting_get_string(e);

		if (v == NULL ||
		    egd_addr_parse(v, &(*out)[i], msg, sizeof(msg)) == -1) {
			free(*out);
			*out = NULL;
			return eg_cfg_error(err, errlen, e, "%s",
					    v ? msg : "expected a string");
		}
	}
	*n = (size_t)count;
	return 0;
}

int egd_watch_add(struct egd_watch *w, const char *path)
{
	struct egd_file_stamp *v;
	struct stat st;

	v = realloc(w->v, (w->n + 1) * sizeof(*v));
	if (v == NULL)
		return -1;
	w->v = v;
	v = &w->v[w->n];
	memset(v, 0, sizeof(*v));
	v->path = strdup(path);
	if (v->path == NULL)
		return -1;
	if (stat(path, &st) == 0) {
		v->dev = st.st_dev;
		v->ino = st.st_ino;
		v->size = st.st_size;
		v->mtime = st.st_mtim;
	}
	w->n++;
	return 0;
}

bool egd_watch_changed(const struct egd_watch *w)
{
	for (size_t i = 0; i < w->n; i++) {
		const struct egd_file_stamp *v = &w->v[i];
		struct stat st;

		if (stat(v->path, &st) == -1)
			continue; /* mid-replacement: look again next time */
		if (st.st_dev != v->dev || st.st_ino != v->ino ||
		    st.st_size != v->size ||
		    st.st_mtim.tv_sec != v->mtime.tv_sec ||
		    st.st_mtim.tv_nsec != v->mtime.tv_nsec)
			return true;
	}
	return false;
}

int egd_watch_add_creds(struct egd_watch *w, const char *cert, const char *key,
			const char *ca)
{
	if (egd_watch_add(w, cert) == -1 ||
	    (strncmp(key, "pkcs11:", 7) != 0 && egd_watch_add(w, key) == -1) ||
	    (ca != NULL && egd_watch_add(w, ca) == -1))
		return -1;
	return 0;
}

void egd_watch_free(struct egd_watch *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i].path);
	free(w->v);
	w->v = NULL;
	w->n = 0;
}
