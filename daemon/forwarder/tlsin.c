/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <gnutls/x509.h>

#include <edgeguard/alloc.h>

#include "cfg.h"
#include "forwarder/tlsin.h"

static const char *const tls_keys[] = {
	"listen",	  "cert", "key", "priority", "ticket_key_rotation_s",
	"client_ca_file", NULL};

/* With client_ca_file: the edge proxy's certificate must chain to it and
 * be meant for TLS clients. GnuTLS calls this during the handshake; a
 * non-zero return fails it with an alert. */
static int verify_edge_proxy(gnutls_session_t s)
{
	gnutls_typed_vdata_st purpose = {
		GNUTLS_DT_KEY_PURPOSE_OID,
		(unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT, 0};
	unsigned status = 0;

	if (gnutls_certificate_verify_peers(s, &purpose, 1, &status) < 0 ||
	    status != 0)
		return GNUTLS_E_CERTIFICATE_ERROR;
	return 0;
}

int egf_tls_in_load(const config_setting_t *f, const char *dir,
		    struct egd_watch *watch, struct egf_tls_in **out, char *err,
		    size_t errlen)
{
	const config_setting_t *g = config_setting_get_member(f, "tls");
	const char *prio = NULL;
	const char *cas[1];
	struct egf_tls_in *t;
	char msg[512];
	int ret;

	*out = NULL;
	if (g == NULL)
		return 0;
	if (!config_setting_is_group(g))
		return eg_cfg_error(err, errlen, g, "expected a group { ... }");
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return eg_cfg_error(err, errlen, g, "out of memory");
	if ((ret = eg_cfg_only_keys(g, tls_keys, err, errlen)) < 0 ||
	    (ret = egd_cfg_addr_list(g, "listen", &t->listen, &t->n_listen, err,
				     errlen)) < 0 ||
	    (ret = egd_cfg_file(g, "cert", dir, true, &t->cert, err, errlen)) <
		    0 ||
	    (ret = egd_cfg_file(g, "key", dir, true, &t->key, err, errlen)) <
		    0 ||
	    (ret = egd_cfg_file(g, "client_ca_file", dir, false, &t->client_ca,
				err, errlen)) < 0 ||
	    (ret = eg_cfg_string(g, "priority", &prio, err, errlen)) < 0 ||
	    (ret = eg_cfg_uint(g, "ticket_key_rotation_s", 3600, 0, 86400 * 7,
			       &t->ticket_key_rotation_s, err, errlen)) < 0)
		goto fail;
	cas[0] = t->client_ca;
	if (egd_tls_server_new(t->cert, t->key, prio, cas,
			       t->client_ca != NULL ? 1 : 0,
			       t->client_ca != NULL ? verify_edge_proxy : NULL,
			       &t->srv, msg, sizeof(msg)) == -1) {
		ret = eg_cfg_error(err, errlen, g, "%s", msg);
		goto fail;
	}
	if (egd_watch_add_creds(watch, t->cert, t->key, t->client_ca) == -1) {
		ret = eg_cfg_error(err, errlen, g, "out of memory");
		goto fail;
	}
	*out = t;
	return 0;
fail:
	egf_tls_in_free(t);
	return ret;
}

void egf_tls_in_free(struct egf_tls_in *t)
{
	if (t == NULL)
		return;
	egd_tls_server_free(t->srv);
	eg_free(t->client_ca); /* egd_cfg_file() allocations */
	eg_free(t->key);
	eg_free(t->cert);
	free(t->listen);
	free(t);
}

int egf_tls_in_session(const struct egf_tls_in *t, int fd, void *ptr,
		       gnutls_session_t *out)
{
	int ret =
		egd_tls_session_new(t->srv, fd, t->client_ca != NULL, ptr, out);

	/* Without a CA to check it against, a certificate is not asked for:
	 * the edge proxy is trusted by being on this host. */
	if (ret == 0 && t->client_ca == NULL)
		gnutls_certificate_server_set_request(*out, GNUTLS_CERT_IGNORE);
	return ret;
}
