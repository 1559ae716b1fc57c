/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <edgeguard/error.h>

#include "alloc.h"
#include "cfg.h"

const char *eg_cfg_path(const config_setting_t *s, char *buf, size_t len)
{
	const config_setting_t *chain[32];
	size_t depth = 0;
	size_t off = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (; s != NULL && !config_setting_is_root(s) && depth < 32;
	     s = config_setting_parent(s))
		chain[depth++] = s;
	while (depth > 0) {
		const config_setting_t *c = chain[--depth];
		const char *name = config_setting_name(c);
		int n;

		if (name != NULL)
			n = snprintf(buf + off, len - off, "%s%s",
				     off ? "." : "", name);
		else
			n = snprintf(buf + off, len - off, "%s[%d]",
				     off ? "." : "", config_setting_index(c));
		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
	return buf;
}

int eg_cfg_error(char *err, size_t errlen, const config_setting_t *s,
		 const char *fmt, ...)
{
	char path[256];
	char msg[512];
	const char *file;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err == NULL || errlen == 0)
		return EG_E_CONFIG;
	file = s ? config_setting_source_file(s) : NULL;
	snprintf(err, errlen, "%s:%d: %s: %s", file ? file : "(config)",
		 s ? config_setting_source_line(s) : 0,
		 s ? eg_cfg_path(s, path, sizeof(path)) : "", msg);
	return EG_E_CONFIG;
}

static int syntax_error(const config_t *cfg, const char *name, char *err,
			size_t errlen)
{
	const char *file = config_error_file(cfg);

	if (config_error_type(cfg) == CONFIG_ERR_FILE_IO) {
		snprintf(err, errlen, "%s: cannot read file", name);
		return EG_E_IO;
	}
	snprintf(err, errlen, "%s:%d: syntax error: %s", file ? file : name,
		 config_error_line(cfg), config_error_text(cfg));
	return EG_E_CONFIG;
}

int eg_cfg_read_file(config_t *cfg, const char *path, char *err, size_t errlen)
{
	if (config_read_file(cfg, path) != CONFIG_TRUE)
		return syntax_error(cfg, path, err, errlen);
	return 0;
}

int eg_cfg_read_string(config_t *cfg, const char *text, const char *name,
		       char *err, size_t errlen)
{
	/* libconfig names no file for strings: record one for messages. */
	if (config_read_string(cfg, text) != CONFIG_TRUE)
		return syntax_error(cfg, name, err, errlen);
	return 0;
}

int eg_cfg_only_keys(const config_setting_t *group, const char *const *allowed,
		     char *err, size_t errlen)
{
	int n = config_setting_length(group);

	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(group, i);
		const char *name = config_setting_name(m);
		bool ok = false;

		if (name == NULL)
			continue;
		for (const char *const *a = allowed; *a != NULL; a++)
			if (strcmp(*a, name) == 0) {
				ok = true;
				break;
			}
		if (!ok)
			return eg_cfg_error(err, errlen, m, "unknown key");
	}
	return 0;
}

int eg_cfg_bool(const config_setting_t *group, const char *key, bool dflt,
		bool *out, char *err, size_t errlen)
{
	const config_setting_t *s = config_setting_get_member(group, key);

	*out = dflt;
	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return eg_cfg_error(err, errlen, s, "expected true or false");
	*out = config_setting_get_bool(s) != 0;
	return 0;
}

int eg_cfg_uint(const config_setting_t *group, const char *key, unsigned dflt,
		unsigned min, unsigned max, unsigned *out, char *err,
		size_t errlen)
{
	const config_setting_t *s = config_setting_get_member(group, key);
	long long v;

	*out = dflt;
	if (s == NULL)
		return 0;
	if (config_setting_type(s) == CONFIG_TYPE_INT)
		v = config_setting_get_int(s);
	else if (config_setting_type(s) == CONFIG_TYPE_INT64)
		v = config_setting_get_int64(s);
	else
		return eg_cfg_error(err, errlen, s, "expected an integer");
	if (v < (long long)min || v > (long long)max)
		return eg_cfg_error(err, errlen, s,
				    "%lld is out of range [%u, %u]", v, min,
				    max);
	*out = (unsigned)v;
	return 0;
}

int eg_cfg_string(const config_setting_t *group, const char *key,
		  const char **out, char *err, size_t errlen)
{
	const config_setting_t *s = config_setting_get_member(group, key);

	*out = NULL;
	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return eg_cfg_error(err, errlen, s, "expected a string");
	*out = config_setting_get_string(s);
	if (**out == '\0')
		return eg_cfg_error(err, errlen, s, "must not be empty");
	return 0;
}

int eg_cfg_string_array(const config_setting_t *group, const char *key,
			const config_setting_t **out, char *err, size_t errlen)
{
	const config_setting_t *s = config_setting_get_member(group, key);
	int n;

	*out = NULL;
	if (s == NULL)
		return 0;
	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		return eg_cfg_error(err, errlen, s,
				    "expected a list: write [ \"%s\" ]",
				    config_setting_get_string(s));
	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return eg_cfg_error(err, errlen, s,
				    "expected a list of strings");
	n = config_setting_length(s);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);

		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return eg_cfg_error(err, errlen, e,
					    "expected a string");
		if (config_setting_get_string(e)[0] == '\0')
			return eg_cfg_error(err, errlen, e,
					    "must not be empty");
	}
	*out = s;
	return 0;
}

char *eg_cfg_resolve_path(const char *base_dir, const char *name)
{
	size_t blen, nlen = strlen(name);
	char *out;

	if (name[0] == '/' || base_dir == NULL)
		return eg_strdup(name);
	blen = strlen(base_dir);
	out = eg_malloc(blen + 1 + nlen + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, base_dir, blen);
	out[blen] = '/';
	memcpy(out + blen + 1, name, nlen + 1);
	return out;
}

char *eg_cfg_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return eg_strdup(".");
	if (slash == path)
		return eg_strdup("/");
	return eg_memdup0(path, (size_t)(slash - path));
}
