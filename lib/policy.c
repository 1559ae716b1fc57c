/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loading the `policy` section. The result is immutable: every string and
 * pattern is compiled here once so deciding never allocates or parses.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <libconfig.h>

#include <edgeguard/error.h>

#include "alloc.h"
#include "cfg.h"
#include "path.h"
#include "policy_internal.h"

static const char *const allow_keys[EG_FIELD_COUNT + 1] = {
	"cn", "o",     "ou",	 "dns",		"uri",
	"ip", "email", "sha256", "spki_sha256", NULL,
};

static bool is_pin(enum eg_field f)
{
	return f == EG_FIELD_SHA256 || f == EG_FIELD_SPKI_SHA256;
}

static int add_pattern(struct eg_pattern **v, size_t *n,
		       const config_setting_t *e, enum eg_field f, char *err,
		       size_t errlen)
{
	struct eg_pattern *nv;
	char why[160] = "";
	int ret;

	nv = eg_realloc(*v, (*n + 1) * sizeof(**v));
	if (nv == NULL)
		return EG_E_NOMEM;
	*v = nv;
	ret = eg_match_compile(f, config_setting_get_string(e), &nv[*n], why,
			       sizeof(why));
	if (ret == EG_E_CONFIG)
		return eg_cfg_error(err, errlen, e, "%s", why);
	if (ret < 0)
		return ret;
	(*n)++;
	return 0;
}

static int load_allow(struct eg_rule *r, const config_setting_t *allow,
		      char *err, size_t errlen)
{
	int ret;

	if (!config_setting_is_group(allow))
		return eg_cfg_error(err, errlen, allow,
				    "expected a group { dns = [...]; ... }");
	if ((ret = eg_cfg_only_keys(allow, allow_keys, err, errlen)) < 0)
		return ret;
	for (int f = 0; f < EG_FIELD_COUNT; f++) {
		const config_setting_t *list;
		int n;

		ret = eg_cfg_string_array(allow, allow_keys[f], &list, err,
					  errlen);
		if (ret < 0)
			return ret;
		n = list ? config_setting_length(list) : 0;
		for (int i = 0; i < n; i++) {
			const config_setting_t *e =
				config_setting_get_elem(list, i);

			if (is_pin((enum eg_field)f))
				ret = add_pattern(&r->pins, &r->npins, e,
						  (enum eg_field)f, err,
						  errlen);
			else
				ret = add_pattern(&r->allow, &r->nallow, e,
						  (enum eg_field)f, err,
						  errlen);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

static int load_hosts(struct eg_rule *r, const config_setting_t *list,
		      char *err, size_t errlen)
{
	int n = config_setting_length(list);

	r->hosts = eg_calloc((size_t)n, sizeof(char *));
	if (r->hosts == NULL)
		return EG_E_NOMEM;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list, i);
		int ret = eg_match_normalize_host(config_setting_get_string(e),
						  &r->hosts[i]);

		if (ret == EG_E_NOMEM)
			return ret;
		if (ret < 0)
			return eg_cfg_error(err, errlen, e,
					    "not a host name (example.com or "
					    "*.example.com)");
		r->nhosts++;
	}
	return 0;
}

static int load_paths(struct eg_rule *r, const config_setting_t *list,
		      char *err, size_t errlen)
{
	int n = config_setting_length(list);

	r->paths = eg_calloc((size_t)n, sizeof(char *));
	if (r->paths == NULL)
		return EG_E_NOMEM;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list, i);
		const char *text = config_setting_get_string(e);
		char norm[1024];
		int len;

		if (text[0] != '/' || strchr(text, '?') != NULL ||
		    strchr(text, '*') != NULL)
			return eg_cfg_error(err, errlen, e,
					    "expected a path prefix starting "
					    "with '/' (no '*' or '?': prefixes "
					    "match on a segment boundary)");
		len = eg_path_normalize(text, norm, sizeof(norm));
		if (len < 0)
			return eg_cfg_error(err, errlen, e,
					    "path prefix cannot be normalised");
		/* "/admin/" and "/admin" select the same requests. */
		if (len > 1 && norm[len - 1] == '/')
			norm[--len] = '\0';
		r->paths[i] = eg_strdup(norm);
		if (r->paths[i] == NULL)
			return EG_E_NOMEM;
		r->npaths++;
	}
	return 0;
}

static int load_rule(struct eg_rule *r, const config_setting_t *g,
		     bool is_default, char *err, size_t errlen)
{
	static const char *const rule_keys[] = {
		"name", "hosts", "paths", "mode", "allow_any", "allow", NULL};
	const config_setting_t *hosts = NULL, *paths = NULL, *allow;
	const char *name, *mode;
	int ret;

	if (!config_setting_is_group(g))
		return eg_cfg_error(
			err, errlen, g,
			"expected a group { name = ...; allow = { ... }; }");
	if ((ret = eg_cfg_only_keys(g, rule_keys, err, errlen)) < 0 ||
	    (ret = eg_cfg_string(g, "name", &name, err, errlen)) < 0 ||
	    (ret = eg_cfg_string(g, "mode", &mode, err, errlen)) < 0 ||
	    (ret = eg_cfg_bool(g, "allow_any", false, &r->allow_any, err,
			       errlen)) < 0 ||
	    (ret = eg_cfg_string_array(g, "hosts", &hosts, err, errlen)) < 0 ||
	    (ret = eg_cfg_string_array(g, "paths", &paths, err, errlen)) < 0)
		return ret;
	if (is_default && (hosts != NULL || paths != NULL))
		return eg_cfg_error(
			err, errlen, hosts ? hosts : paths,
			"the default rule applies to every request: hosts and "
			"paths belong in policy.rules");
	if (!is_default && name == NULL)
		return eg_cfg_error(err, errlen, g,
				    "every rule needs a name (it appears in "
				    "audit records)");
	r->name = eg_strdup(name ? name : "default");
	if (r->name == NULL)
		return EG_E_NOMEM;
	r->mode = EG_MODE_ENFORCE;
	if (mode != NULL && strcmp(mode, "log-only") == 0)
		r->mode = EG_MODE_LOG_ONLY;
	else if (mode != NULL && strcmp(mode, "enforce") != 0)
		return eg_cfg_error(err, errlen,
				    config_setting_get_member(g, "mode"),
				    "expected \"enforce\" or \"log-only\"");
	if ((hosts && (ret = load_hosts(r, hosts, err, errlen)) < 0) ||
	    (paths && (ret = load_paths(r, paths, err, errlen)) < 0))
		return ret;
	allow = config_setting_get_member(g, "allow");
	if (allow != NULL && (ret = load_allow(r, allow, err, errlen)) < 0)
		return ret;
	if (!is_default && r->nhosts == 0 && r->npaths == 0)
		return eg_cfg_error(err, errlen, g,
				    "rule matches every request: give it hosts "
				    "or paths, or make it policy.default");
	if (!r->allow_any && r->nallow == 0 && r->npins == 0)
		return eg_cfg_error(err, errlen, g,
				    "rule admits nobody: add an allow list, "
				    "pins, or allow_any = true");
	if (r->allow_any && r->nallow != 0)
		return eg_cfg_error(
			err, errlen, allow,
			"allow_any = true contradicts an identity allow list");
	return 0;
}

static void rule_clear(struct eg_rule *r)
{
	eg_free(r->name);
	for (size_t i = 0; i < r->nhosts; i++)
		eg_free(r->hosts[i]);
	eg_free(r->hosts);
	for (size_t i = 0; i < r->npaths; i++)
		eg_free(r->paths[i]);
	eg_free(r->paths);
	for (size_t i = 0; i < r->nallow; i++)
		eg_match_clear(&r->allow[i]);
	eg_free(r->allow);
	for (size_t i = 0; i < r->npins; i++)
		eg_match_clear(&r->pins[i]);
	eg_free(r->pins);
}

static void policy_free(struct eg_policy *p)
{
	eg_trust_free(p->trust);
	for (size_t i = 0; i < p->nrules; i++)
		rule_clear(&p->rules[i]);
	eg_free(p->rules);
	rule_clear(&p->default_rule);
	eg_free(p);
}

static int load_rules(struct eg_policy *p, const config_setting_t *list,
		      char *err, size_t errlen)
{
	int n;

	if (!config_setting_is_list(list) && !config_setting_is_array(list))
		return eg_cfg_error(
			err, errlen, list,
			"expected a list of rules ( { ... }, { ... } )");
	n = config_setting_length(list);
	p->rules = eg_calloc((size_t)n, sizeof(*p->rules));
	if (p->rules == NULL && n > 0)
		return EG_E_NOMEM;
	for (int i = 0; i < n; i++) {
		int ret = load_rule(&p->rules[i],
				    config_setting_get_elem(list, i), false,
				    err, errlen);

		p->nrules++;
		if (ret < 0)
			return ret;
		for (int j = 0; j < i; j++)
			if (strcmp(p->rules[j].name, p->rules[i].name) == 0)
				return eg_cfg_error(
					err, errlen,
					config_setting_get_elem(list, i),
					"duplicate rule name \"%s\"",
					p->rules[i].name);
	}
	return 0;
}

static int load_policy(const config_t *cfg, const char *name,
		       const char *base_dir, struct eg_policy **out, char *err,
		       size_t errlen)
{
	static const char *const keys[] = {"trust", "require_client_auth_eku",
					   "default", "rules", NULL};
	const config_setting_t *g = config_lookup(cfg, "policy");
	const config_setting_t *dflt, *rules;
	struct eg_policy *p;
	int ret;

	*out = NULL;
	if (g == NULL) {
		snprintf(err, errlen,
			 "%s: no `policy = { trust = { ca_files = [...]; }; "
			 "default = { ... }; };` group",
			 name);
		return EG_E_CONFIG;
	}
	if (!config_setting_is_group(g))
		return eg_cfg_error(err, errlen, g,
				    "expected a group: policy = { trust = "
				    "{ ... }; default = { ... }; };");
	if ((ret = eg_cfg_only_keys(g, keys, err, errlen)) < 0)
		return ret;
	p = eg_calloc(1, sizeof(*p));
	if (p == NULL)
		return EG_E_NOMEM;
	atomic_init(&p->refs, 1);
	if ((ret = eg_cfg_bool(g, "require_client_auth_eku", true,
			       &p->require_client_auth_eku, err, errlen)) < 0)
		goto fail;
	ret = eg_trust_load(config_setting_get_member(g, "trust"), base_dir,
			    &p->trust, err, errlen);
	if (ret == EG_E_CONFIG && config_setting_get_member(g, "trust") == NULL)
		eg_cfg_error(err, errlen, g,
			     "missing trust = { ca_files = [ \"ca.pem\" ]; }");
	if (ret < 0)
		goto fail;
	dflt = config_setting_get_member(g, "default");
	if (dflt != NULL) {
		if ((ret = load_rule(&p->default_rule, dflt, true, err,
				     errlen)) < 0)
			goto fail;
	} else {
		/* No default: requests no rule selects are refused. */
		p->default_rule.name = eg_strdup("default");
		if (p->default_rule.name == NULL) {
			ret = EG_E_NOMEM;
			goto fail;
		}
	}
	rules = config_setting_get_member(g, "rules");
	if (rules != NULL && (ret = load_rules(p, rules, err, errlen)) < 0)
		goto fail;
	*out = p;
	return 0;
fail:
	policy_free(p);
	return ret;
}

int eg_policy_load_file(const char *path, struct eg_policy **out, char *err,
			size_t errlen)
{
	config_t cfg;
	char *dir;
	int ret;

	*out = NULL;
	dir = eg_cfg_dirname(path);
	if (dir == NULL)
		return EG_E_NOMEM;
	config_init(&cfg);
	config_set_include_dir(&cfg, dir);
	ret = eg_cfg_read_file(&cfg, path, err, errlen);
	if (ret == 0)
		ret = load_policy(&cfg, path, dir, out, err, errlen);
	config_destroy(&cfg);
	eg_free(dir);
	return ret;
}

/*
 * libconfig records no file name for settings read from memory, so
 * eg_cfg_error() writes "(config)" where the file goes: put the caller's
 * name there, as eg_policy_load_string() promises.
 */
static void name_string_source(char *err, size_t errlen, const char *name)
{
	static const char anon[] = "(config):";
	char rest[1024];

	if (strncmp(err, anon, strlen(anon)) != 0)
		return;
	snprintf(rest, sizeof(rest), "%s", err + strlen(anon) - 1);
	snprintf(err, errlen, "%s%s", name, rest);
}

int eg_policy_load_string(const char *text, const char *name,
			  const char *base_dir, struct eg_policy **out,
			  char *err, size_t errlen)
{
	config_t cfg;
	int ret;

	*out = NULL;
	config_init(&cfg);
	if (base_dir != NULL)
		config_set_include_dir(&cfg, base_dir);
	ret = eg_cfg_read_string(&cfg, text, name, err, errlen);
	if (ret == 0)
		ret = load_policy(&cfg, name, base_dir, out, err, errlen);
	if (ret == EG_E_CONFIG && errlen > 0)
		name_string_source(err, errlen, name);
	config_destroy(&cfg);
	return ret;
}

struct eg_policy *eg_policy_ref(struct eg_policy *p)
{
	atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
	return p;
}

void eg_policy_unref(struct eg_policy *p)
{
	if (p != NULL &&
	    atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
		policy_free(p);
}

const struct eg_trust_item *eg_policy_trust_items(const struct eg_policy *p,
						  size_t *count)
{
	return eg_trust_items(p->trust, count);
}

bool eg_policy_varies_by_request(const struct eg_policy *p)
{
	return p->nrules > 0;
}
