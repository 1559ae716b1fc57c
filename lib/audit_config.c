/* SPDX-License-Identifier: Apache-2.0 */
/* The `audit` group of a configuration file. */
#include "config.h"

#include <stdio.h>

#include <libconfig.h>

#include <edgeguard/audit.h>
#include <edgeguard/error.h>

#include "alloc.h"
#include "cfg.h"

#define DEFAULT_WINDOW_MS 1000u
#define MAX_WINDOW_MS	  3600000u
#define DEFAULT_MAX_KEYS  4096u
#define MAX_MAX_KEYS	  1000000u
#define DEFAULT_PATH_MAX  256u
#define MAX_PATH_MAX	  65536u

static const char *const audit_keys[] = {"file",
					 "syslog",
					 "journald",
					 "admits",
					 "aggregate_window_ms",
					 "aggregate_max_keys",
					 "path_max",
					 NULL};

static void set_err(char *err, size_t errlen, const char *msg, const char *path)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s: %s", path, msg);
}

static int read_group(const config_setting_t *g, const char *conf_path,
		      struct eg_audit_config *c, char *err, size_t errlen)
{
	const char *file = NULL;
	unsigned path_max = DEFAULT_PATH_MAX;
	int rc;

	if (!config_setting_is_group(g))
		return eg_cfg_error(err, errlen, g, "expected a group { ... }");
	rc = eg_cfg_only_keys(g, audit_keys, err, errlen);
	if (rc == 0)
		rc = eg_cfg_string(g, "file", &file, err, errlen);
	if (rc == 0)
		rc = eg_cfg_bool(g, "syslog", false, &c->syslog, err, errlen);
	if (rc == 0)
		rc = eg_cfg_bool(g, "journald", false, &c->journald, err,
				 errlen);
	if (rc == 0)
		rc = eg_cfg_bool(g, "admits", false, &c->admits, err, errlen);
	if (rc == 0)
		rc = eg_cfg_uint(g, "aggregate_window_ms", DEFAULT_WINDOW_MS, 0,
				 MAX_WINDOW_MS, &c->aggregate_window_ms, err,
				 errlen);
	if (rc == 0)
		rc = eg_cfg_uint(g, "aggregate_max_keys", DEFAULT_MAX_KEYS, 1,
				 MAX_MAX_KEYS, &c->aggregate_max_keys, err,
				 errlen);
	if (rc == 0)
		rc = eg_cfg_uint(g, "path_max", DEFAULT_PATH_MAX, 0,
				 MAX_PATH_MAX, &path_max, err, errlen);
	if (rc != 0)
		return rc;
	c->path_max = path_max;
	if (file != NULL) {
		/* Relative to the configuration file, so the same file means
		 * the same thing whatever the daemon's working directory. */
		char *dir = eg_cfg_dirname(conf_path);

		c->file = dir != NULL ? eg_cfg_resolve_path(dir, file) : NULL;
		eg_free(dir);
		if (c->file == NULL) {
			set_err(err, errlen, "out of memory", conf_path);
			return EG_E_NOMEM;
		}
	}
	return 0;
}

int eg_audit_config_load(const char *path, struct eg_audit_config **out,
			 char *err, size_t errlen)
{
	struct eg_audit_config *c = NULL;
	const config_setting_t *g;
	config_t cfg;
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (path == NULL || out == NULL)
		return EG_E_INVAL;
	*out = NULL;
	config_init(&cfg);
	rc = eg_cfg_read_file(&cfg, path, err, errlen);
	if (rc != 0)
		goto out;
	c = eg_calloc(1, sizeof(*c));
	if (c == NULL) {
		set_err(err, errlen, "out of memory", path);
		rc = EG_E_NOMEM;
		goto out;
	}
	c->aggregate_window_ms = DEFAULT_WINDOW_MS;
	c->aggregate_max_keys = DEFAULT_MAX_KEYS;
	c->path_max = DEFAULT_PATH_MAX;
	g = config_lookup(&cfg, "audit");
	if (g != NULL) {
		rc = read_group(g, path, c, err, errlen);
		if (rc != 0)
			goto out;
	}
	*out = c;
	c = NULL;
out:
	eg_audit_config_free(c);
	config_destroy(&cfg);
	return rc;
}

void eg_audit_config_free(struct eg_audit_config *cfg)
{
	if (cfg == NULL)
		return;
	eg_free(cfg->file);
	eg_free(cfg);
}
