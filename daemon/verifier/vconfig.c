/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libconfig.h>

#include "cfg.h"
#include "core/dcfg.h"
#include "verifier/vconfig.h"

static const char *const top_keys[] = {
	"listen", "tls",   "backend", "workers", "identity_headers", "limits",
	"admin",  "authz", "user",    "group",	 "log_file",	     NULL};
static const char *const tls_keys[] = {"cert",
				       "key",
				       "priority",
				       "reject_at_handshake",
				       "ticket_key_rotation_s",
				       NULL};
static const char *const hdr_keys[] = {
	"identity", "verify", "client_cert", "client_cert_chain", "xfcc", NULL};
static const struct egd_cfg_uint_key limit_keys[] = {
	EGD_FRONT_LIMIT_KEYS(struct vf_limits),
	EGD_CFG_UINT_KEY(struct vf_limits, backend_connect_timeout_ms, 5000, 1,
			 3600000),
	EGD_CFG_UINT_KEY(struct vf_limits, backend_response_timeout_ms, 60000,
			 1, 86400000),
};
static const char *const authz_keys[] = {"listen", "header", NULL};

static void destroy(struct egd_dconf *d);

static int load_tls(struct vf_config *c, const config_setting_t *v,
		    const char *dir, char *err, size_t errlen)
{
	const config_setting_t *t;
	const char *prio = NULL;
	int ret;

	ret = egd_cfg_subgroup(v, "tls", &t, err, errlen);
	if (ret < 0)
		return ret;
	if (t == NULL)
		return eg_cfg_error(err, errlen, v,
				    "missing required group 'tls'");
	if ((ret = eg_cfg_only_keys(t, tls_keys, err, errlen)) < 0 ||
	    (ret = egd_cfg_file(t, "cert", dir, true, &c->cert, err, errlen)) <
		    0 ||
	    (ret = egd_cfg_file(t, "key", dir, true, &c->key, err, errlen)) <
		    0 ||
	    (ret = eg_cfg_string(t, "priority", &prio, err, errlen)) < 0 ||
	    (ret = eg_cfg_bool(t, "reject_at_handshake", false,
			       &c->reject_at_handshake, err, errlen)) < 0 ||
	    (ret = eg_cfg_uint(t, "ticket_key_rotation_s", 3600, 0, 86400 * 7,
			       &c->ticket_key_rotation_s, err, errlen)) < 0)
		return ret;
	if (prio != NULL && (c->priority = strdup(prio)) == NULL)
		return eg_cfg_error(err, errlen, t, "out of memory");
	return 0;
}

static int load_listeners(struct vf_config *c, const config_setting_t *v,
			  char *err, size_t errlen)
{
	const config_setting_t *g;
	const char *hdr = NULL;
	bool present;
	int ret;

	ret = egd_cfg_subgroup(v, "authz", &g, err, errlen);
	if (ret < 0)
		return ret;
	if (g != NULL) {
		if ((ret = eg_cfg_only_keys(g, authz_keys, err, errlen)) < 0 ||
		    (ret = egd_cfg_addr(g, "listen", &c->authz, &present, err,
					errlen)) < 0 ||
		    (ret = eg_cfg_string(g, "header", &hdr, err, errlen)) < 0)
			return ret;
		if (!present)
			return eg_cfg_error(err, errlen, g,
					    "missing required key 'listen'");
		c->authz_enabled = true;
	}
	c->authz_header = strdup(hdr ? hdr : "X-Client-Cert");
	if (c->authz_header == NULL)
		return eg_cfg_error(err, errlen, v, "out of memory");
	return 0;
}

static int load_verifier(struct vf_config *c, const config_setting_t *v,
			 const char *dir, char *err, size_t errlen)
{
	const config_setting_t *g;
	bool present;
	int ret;

	if ((ret = eg_cfg_only_keys(v, top_keys, err, errlen)) < 0 ||
	    (ret = egd_cfg_addr_list(v, "listen", &c->listen, &c->n_listen, err,
				     errlen)) < 0 ||
	    (ret = load_tls(c, v, dir, err, errlen)) < 0 ||
	    (ret = egd_cfg_addr(v, "backend", &c->backend, &present, err,
				errlen)) < 0)
		return ret;
	if (!present)
		return eg_cfg_error(err, errlen, v,
				    "missing required key 'backend'");
	egd_addr_format((const struct sockaddr *)&c->backend.ss, c->backend.len,
			c->backend_text, sizeof(c->backend_text));
	ret = egd_cfg_subgroup(v, "identity_headers", &g, err, errlen);
	if (ret < 0)
		return ret;
	c->hdr = (struct vf_identity_headers){true, true, true, false, true};
	if (g != NULL &&
	    ((ret = eg_cfg_only_keys(g, hdr_keys, err, errlen)) < 0 ||
	     (ret = eg_cfg_bool(g, "identity", true, &c->hdr.identity, err,
				errlen)) < 0 ||
	     (ret = eg_cfg_bool(g, "verify", true, &c->hdr.verify, err,
				errlen)) < 0 ||
	     (ret = eg_cfg_bool(g, "client_cert", true, &c->hdr.client_cert,
				err, errlen)) < 0 ||
	     (ret = eg_cfg_bool(g, "client_cert_chain", false,
				&c->hdr.client_cert_chain, err, errlen)) < 0 ||
	     (ret = eg_cfg_bool(g, "xfcc", true, &c->hdr.xfcc, err, errlen)) <
		     0))
		return ret;
	if ((ret = egd_cfg_uints(v, "limits", limit_keys,
				 sizeof(limit_keys) / sizeof(limit_keys[0]),
				 &c->limits, err, errlen)) < 0 ||
	    (ret = load_listeners(c, v, err, errlen)) < 0)
		return ret;
	return egd_dconf_common(&c->d, v, dir, "127.0.0.1:9443", err, errlen);
}

/* CA files of the policy: their subjects become the CA names of the
 * CertificateRequest, and every trust file is watched for replacement. */
static int load_tls_creds(struct vf_config *c, const config_setting_t *tls,
			  gnutls_certificate_verify_function *verify, char *err,
			  size_t errlen)
{
	const struct eg_trust_item *items;
	const char **cas = NULL;
	size_t n, n_ca = 0;
	char msg[512];
	int ret = -1;

	items = eg_policy_trust_items(c->policy, &n);
	cas = calloc(n + 1, sizeof(*cas));
	if (cas == NULL) {
		snprintf(err, errlen, "%s: out of memory", c->d.path);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		for (size_t j = 0; j < n_ca; j++)
			seen = seen || strcmp(cas[j], items[i].file) == 0;
		if (egd_watch_add(&c->d.watch, items[i].file) == -1) {
			snprintf(err, errlen, "%s: out of memory", c->d.path);
			goto out;
		}
		if (!seen && items[i].kind == EG_TRUST_CA)
			cas[n_ca++] = items[i].file;
	}
	if (egd_tls_server_new(c->cert, c->key, c->priority, cas, n_ca, verify,
			       &c->tls, msg, sizeof(msg)) == -1) {
		eg_cfg_error(err, errlen, tls, "%s", msg);
		goto out;
	}
	if (egd_watch_add_creds(&c->d.watch, c->cert, c->key, NULL) == -1) {
		snprintf(err, errlen, "%s: out of memory", c->d.path);
		goto out;
	}
	ret = 0;
out:
	free(cas);
	return ret;
}

struct load_arg {
	bool open_audit;
	gnutls_certificate_verify_function *verify;
};

static int load(struct egd_dconf *d, const config_setting_t *v, const char *dir,
		void *arg, char *err, size_t errlen)
{
	const struct load_arg *a = arg;
	struct vf_config *c = vf_config_of(d);
	int ret;

	if ((ret = load_verifier(c, v, dir, err, errlen)) < 0 ||
	    (ret = eg_policy_load_file(d->path, &c->policy, err, errlen)) < 0 ||
	    (ret = eg_audit_config_load(d->path, &c->audit_cfg, err, errlen)) <
		    0 ||
	    (ret = load_tls_creds(c, config_setting_get_member(v, "tls"),
				  a->verify, err, errlen)) < 0)
		return ret;
	if (a->open_audit &&
	    (ret = eg_audit_log_open(c->audit_cfg, &c->audit, err, errlen)) < 0)
		return ret;
	return 0;
}

int vf_config_load(const char *path, bool open_audit,
		   gnutls_certificate_verify_function *verify,
		   struct vf_config **out, char *err, size_t errlen)
{
	static const struct egd_dconf_loader loader = {
		sizeof(struct vf_config), "verifier", destroy, load};
	struct load_arg arg = {open_audit, verify};
	struct egd_dconf *d;
	int ret = egd_dconf_load(&loader, path, &arg, &d, err, errlen);

	*out = vf_config_of(d);
	return ret;
}

static void destroy(struct egd_dconf *d)
{
	struct vf_config *c = vf_config_of(d);

	eg_audit_log_close(c->audit);
	eg_audit_config_free(c->audit_cfg);
	eg_policy_unref(c->policy);
	egd_tls_server_free(c->tls);
	egd_dconf_release(&c->d);
	free(c->listen);
	eg_free(c->cert);
	eg_free(c->key);
	free(c->priority);
	free(c->authz_header);
	free(c);
}
