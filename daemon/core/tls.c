/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/x509.h>

#include "core/tls.h"

static pthread_mutex_t ticket_lock = PTHREAD_MUTEX_INITIALIZER;
static gnutls_datum_t ticket_key; /* guarded by ticket_lock */

int egd_tls_tickets_rotate(void)
{
	gnutls_datum_t fresh = {NULL, 0};
	gnutls_datum_t old;
	int ret;

	ret = gnutls_session_ticket_key_generate(&fresh);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&ticket_lock);
	old = ticket_key;
	ticket_key = fresh;
	pthread_mutex_unlock(&ticket_lock);
	if (old.data != NULL) {
		gnutls_memset(old.data, 0, old.size);
		gnutls_free(old.data);
	}
	return 0;
}

void egd_tls_tickets_clear(void)
{
	pthread_mutex_lock(&ticket_lock);
	if (ticket_key.data != NULL) {
		gnutls_memset(ticket_key.data, 0, ticket_key.size);
		gnutls_free(ticket_key.data);
	}
	ticket_key.data = NULL;
	ticket_key.size = 0;
	pthread_mutex_unlock(&ticket_lock);
}

int egd_tls_leaf_info(const char *cert, time_t *not_after, char *subject,
		      size_t subject_len, char *err, size_t errlen)
{
	gnutls_datum_t pem = {NULL, 0};
	gnutls_x509_crt_t *list = NULL;
	unsigned n = 0;
	size_t dnlen = subject_len;
	int ret;

	ret = gnutls_load_file(cert, &pem);
	if (ret < 0) {
		snprintf(err, errlen, "%s: %s", cert, gnutls_strerror(ret));
		goto out;
	}
	ret = gnutls_x509_crt_list_import2(&list, &n, &pem, GNUTLS_X509_FMT_PEM,
					   0);
	if (ret < 0 || n == 0) {
		snprintf(err, errlen, "%s: no PEM certificate: %s", cert,
			 gnutls_strerror(
				 ret < 0 ? ret
					 : GNUTLS_E_BASE64_DECODING_ERROR));
		ret = -1;
		goto out;
	}
	*not_after = gnutls_x509_crt_get_expiration_time(list[0]);
	if (subject_len > 0 &&
	    gnutls_x509_crt_get_dn(list[0], subject, &dnlen) < 0)
		subject[0] = '\0';
	ret = 0;
out:
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(list[i]);
	gnutls_free(list);
	gnutls_free(pem.data);
	return ret < 0 ? -1 : 0;
}

int egd_tls_creds_load(struct egd_tls_creds *c, const char *what,
		       const char *cert, const char *key, char *err,
		       size_t errlen)
{
	int ret;

	ret = gnutls_certificate_allocate_credentials(&c->cred);
	if (ret < 0) {
		snprintf(err, errlen, "credentials: %s", gnutls_strerror(ret));
		return -1;
	}
	/* Accepts PEM chains (leaf first) and, for the key, PKCS#11 URLs. */
	ret = gnutls_certificate_set_x509_key_file2(
		c->cred, cert, key, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (ret < 0) {
		char shown[512];

		snprintf(err, errlen, "%s %s / key %s: %s", what, cert,
			 egd_tls_key_shown(key, shown, sizeof(shown)),
			 gnutls_strerror(ret));
		return -1;
	}
	return egd_tls_leaf_info(cert, &c->cert_not_after, c->cert_subject,
				 sizeof(c->cert_subject), err, errlen);
}

int egd_tls_creds_priority(struct egd_tls_creds *c, const char *priority,
			   const char *dflt, char *err, size_t errlen)
{
	const char *errpos = NULL;
	int ret;

	ret = gnutls_priority_init2(&c->prio, priority ? priority : dflt,
				    &errpos, 0);
	if (ret < 0) {
		snprintf(err, errlen, "priority string: %s near '%.32s'",
			 gnutls_strerror(ret), errpos ? errpos : "");
		return -1;
	}
	return 0;
}

void egd_tls_creds_clear(struct egd_tls_creds *c)
{
	if (c->prio != NULL)
		gnutls_priority_deinit(c->prio);
	if (c->cred != NULL)
		gnutls_certificate_free_credentials(c->cred);
	c->prio = NULL;
	c->cred = NULL;
}

int egd_tls_creds_session(const struct egd_tls_creds *c, unsigned flags,
			  unsigned alpn_flags, int fd, gnutls_session_t *out)
{
	static const gnutls_datum_t alpn = {(unsigned char *)"http/1.1", 8};
	gnutls_session_t s = NULL;
	int ret;

	ret = gnutls_init(&s, flags | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL);
	if (ret < 0)
		return ret;
	if ((ret = gnutls_priority_set(s, c->prio)) < 0 ||
	    (ret = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, c->cred)) <
		    0 ||
	    (ret = gnutls_alpn_set_protocols(s, &alpn, 1, alpn_flags)) < 0) {
		gnutls_deinit(s);
		return ret;
	}
	gnutls_transport_set_int(s, fd);
	gnutls_handshake_set_timeout(s, 0);
	*out = s;
	return 0;
}

int egd_tls_server_new(const char *cert, const char *key, const char *priority,
		       const char *const *ca_files, size_t n_ca,
		       gnutls_certificate_verify_function *verify,
		       struct egd_tls_server **out, char *err, size_t errlen)
{
	struct egd_tls_server *srv;
	int ret;

	*out = NULL;
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (egd_tls_creds_load(&srv->creds, "certificate", cert, key, err,
			       errlen) == -1)
		goto fail;
	for (size_t i = 0; i < n_ca; i++) {
		ret = gnutls_certificate_set_x509_trust_file(
			srv->creds.cred, ca_files[i], GNUTLS_X509_FMT_PEM);
		if (ret < 0) {
			snprintf(err, errlen, "CA names from %s: %s",
				 ca_files[i], gnutls_strerror(ret));
			goto fail;
		}
	}
	gnutls_certificate_set_verify_function(srv->creds.cred, verify);
	if (egd_tls_creds_priority(&srv->creds, priority,
				   EGD_TLS_DEFAULT_PRIORITY, err, errlen) == -1)
		goto fail;
	*out = srv;
	return 0;
fail:
	egd_tls_server_free(srv);
	return -1;
}

void egd_tls_server_free(struct egd_tls_server *srv)
{
	if (srv == NULL)
		return;
	egd_tls_creds_clear(&srv->creds);
	free(srv);
}

int egd_tls_session_new(const struct egd_tls_server *srv, int fd,
			bool require_cert, void *ptr, gnutls_session_t *out)
{
	gnutls_session_t s = NULL;
	gnutls_datum_t key = {NULL, 0};
	int ret;

	ret = egd_tls_creds_session(&srv->creds, GNUTLS_SERVER,
				    GNUTLS_ALPN_SERVER_PRECEDENCE, fd, &s);
	if (ret < 0)
		return ret;
	gnutls_certificate_server_set_request(
		s, require_cert ? GNUTLS_CERT_REQUIRE : GNUTLS_CERT_REQUEST);
	pthread_mutex_lock(&ticket_lock);
	if (ticket_key.data != NULL) {
		/* GnuTLS copies the master key into the session. */
		key = ticket_key;
		ret = gnutls_session_ticket_enable_server(s, &key);
	}
	pthread_mutex_unlock(&ticket_lock);
	if (ret < 0) {
		gnutls_deinit(s);
		return ret;
	}
	gnutls_session_set_ptr(s, ptr);
	*out = s;
	return 0;
}

const char *egd_tls_key_shown(const char *key, char *buf, size_t buflen)
{
	const char *q = strchr(key, '?');

	if (strncmp(key, "pkcs11:", 7) == 0 && q != NULL)
		snprintf(buf, buflen, "%.*s?...", (int)(q - key), key);
	else
		snprintf(buf, buflen, "%s", key);
	return buf;
}

void egd_tls_sni(gnutls_session_t s, char *buf, size_t buflen)
{
	size_t len = buflen;
	unsigned type;

	if (buflen == 0)
		return;
	if (s == NULL || gnutls_server_name_get(s, buf, &len, &type, 0) < 0 ||
	    type != GNUTLS_NAME_DNS || len >= buflen)
		buf[0] = '\0';
	else
		buf[len] = '\0';
}
