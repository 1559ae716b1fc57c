/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "cfg.h"
#include "core/dconf.h"

int egd_dconf_load(const struct egd_dconf_loader *l, const char *path,
		   void *arg, struct egd_dconf **out, char *err, size_t errlen)
{
	struct egd_dconf *d;
	const config_setting_t *g;
	config_t cfg;
	char *dir = NULL;
	int ret = -1;

	*out = NULL;
	config_init(&cfg);
	d = calloc(1, l->size);
	if (d == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	atomic_init(&d->refs, 1);
	d->destroy = l->destroy;
	if ((d->path = strdup(path)) == NULL ||
	    (dir = eg_cfg_dirname(path)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (eg_cfg_read_file(&cfg, path, err, errlen) < 0)
		goto out;
	g = config_lookup(&cfg, l->section);
	if (g == NULL || !config_setting_is_group(g)) {
		snprintf(err, errlen, "%s:%d: %s: missing group %s = { ... }",
			 path, g ? config_setting_source_line(g) : 0,
			 l->section, l->section);
		goto out;
	}
	if (l->load(d, g, dir, arg, err, errlen) < 0)
		goto out;
	*out = d;
	d = NULL;
	ret = 0;
out:
	egd_dconf_unref(d);
	eg_free(dir);
	config_destroy(&cfg);
	return ret;
}

int egd_cfg_subgroup(const config_setting_t *parent, const char *key,
		     const config_setting_t **out, char *err, size_t errlen)
{
	const config_setting_t *s = config_setting_get_member(parent, key);

	*out = NULL;
	if (s == NULL)
		return 0;
	if (!config_setting_is_group(s))
		return eg_cfg_error(err, errlen, s, "expected a group { ... }");
	*out = s;
	return 0;
}

int egd_cfg_strdup(const config_setting_t *g, const char *key, char **out,
		   char *err, size_t errlen)
{
	const char *v = NULL;
	int ret = eg_cfg_string(g, key, &v, err, errlen);

	*out = NULL;
	if (ret < 0 || v == NULL)
		return ret;
	*out = strdup(v);
	if (*out == NULL)
		return eg_cfg_error(err, errlen, g, "out of memory");
	return 0;
}

int egd_cfg_uints(const config_setting_t *parent, const char *key,
		  const struct egd_cfg_uint_key *t, size_t n, void *base,
		  char *err, size_t errlen)
{
	const config_setting_t *g;
	const char **names;
	int ret;

	ret = egd_cfg_subgroup(parent, key, &g, err, errlen);
	if (ret < 0)
		return ret;
	names = calloc(n + 1, sizeof(*names));
	if (names == NULL)
		return eg_cfg_error(err, errlen, parent, "out of memory");
	for (size_t i = 0; i < n; i++)
		names[i] = t[i].key;
	/* An absent group reads as an empty one: every key its default. */
	if (g != NULL)
		ret = eg_cfg_only_keys(g, names, err, errlen);
	for (size_t i = 0; i < n && ret == 0; i++) {
		unsigned *field = (unsigned *)(void *)((char *)base + t[i].off);

		if (g == NULL)
			*field = t[i].dflt;
		else
			ret = eg_cfg_uint(g, t[i].key, t[i].dflt, t[i].min,
					  t[i].max, field, err, errlen);
	}
	free(names);
	return ret < 0 ? ret : 0;
}

int egd_dconf_common(struct egd_dconf *d, const config_setting_t *g,
		     const char *dir, const char *default_admin, char *err,
		     size_t errlen)
{
	static const char *const admin_keys[] = {"listen", NULL};
	const config_setting_t *a;
	bool present;
	long cores;
	int ret;

	if ((ret = eg_cfg_uint(g, "workers", 0, 0, 1024, &d->workers, err,
			       errlen)) < 0 ||
	    (ret = egd_cfg_subgroup(g, "admin", &a, err, errlen)) < 0)
		return ret;
	if (d->workers == 0) {
		cores = sysconf(_SC_NPROCESSORS_ONLN);
		d->workers = cores > 0 ? (unsigned)cores : 1;
	}
	if (a != NULL) {
		if ((ret = eg_cfg_only_keys(a, admin_keys, err, errlen)) < 0 ||
		    (ret = egd_cfg_addr(a, "listen", &d->admin, &present, err,
					errlen)) < 0)
			return ret;
		if (!present)
			egd_addr_parse(default_admin, &d->admin, err, errlen);
		d->admin_enabled = true;
	}
	if ((ret = egd_cfg_strdup(g, "user", &d->user, err, errlen)) < 0 ||
	    (ret = egd_cfg_strdup(g, "group", &d->group, err, errlen)) < 0 ||
	    (ret = egd_cfg_file(g, "log_file", dir, false, &d->log_file, err,
				errlen)) < 0)
		return ret;
	return 0;
}

void egd_dconf_release(struct egd_dconf *d)
{
	egd_watch_free(&d->watch);
	free(d->user);
	free(d->group);
	eg_free(d->log_file); /* an egd_cfg_file() allocation */
	free(d->path);
}

struct egd_dconf *egd_dconf_ref(struct egd_dconf *d)
{
	atomic_fetch_add_explicit(&d->refs, 1, memory_order_relaxed);
	return d;
}

void egd_dconf_unref(struct egd_dconf *d)
{
	if (d == NULL ||
	    atomic_fetch_sub_explicit(&d->refs, 1, memory_order_acq_rel) != 1)
		return;
	d->destroy(d);
}

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct egd_dconf *current; /* guarded by current_lock */
static atomic_uint generation;

struct egd_dconf *egd_dconf_current(void)
{
	struct egd_dconf *d;

	pthread_mutex_lock(&current_lock);
	d = current ? egd_dconf_ref(current) : NULL;
	pthread_mutex_unlock(&current_lock);
	return d;
}

void egd_dconf_publish(struct egd_dconf *d)
{
	struct egd_dconf *old;

	pthread_mutex_lock(&current_lock);
	old = current;
	current = d;
	atomic_fetch_add_explicit(&generation, 1, memory_order_release);
	pthread_mutex_unlock(&current_lock);
	egd_dconf_unref(old);
}

unsigned egd_dconf_generation(void)
{
	return atomic_load_explicit(&generation, memory_order_acquire);
}
