/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tls_client.h"

int egd_tls_client_new(const char *cert, const char *key, const char *ca_file,
		       const char *priority, struct egd_tls_client **out,
		       char *err, size_t errlen)
{
	struct egd_tls_client *cl;
	int ret;

	*out = NULL;
	cl = calloc(1, sizeof(*cl));
	if (cl == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&cl->lock, NULL);
	if (egd_tls_creds_load(&cl->creds, "client certificate", cert, key, err,
			       errlen) == -1)
		goto fail;
	if (ca_file != NULL)
		ret = gnutls_certificate_set_x509_trust_file(
			cl->creds.cred, ca_file, GNUTLS_X509_FMT_PEM);
	else
		ret = gnutls_certificate_set_x509_system_trust(cl->creds.cred);
	if (ret <= 0) {
		/* A bundle without a single CA would fail every handshake:
		 * say so now. */
		snprintf(err, errlen, "CA bundle %s: %s",
			 ca_file ? ca_file : "(system trust store)",
			 ret < 0 ? gnutls_strerror(ret)
				 : "no CA certificate in it");
		goto fail;
	}
	if (egd_tls_creds_priority(&cl->creds, priority,
				   EGD_TLS_CLIENT_DEFAULT_PRIORITY, err,
				   errlen) == -1)
		goto fail;
	*out = cl;
	return 0;
fail:
	egd_tls_client_free(cl);
	return -1;
}

void egd_tls_client_free(struct egd_tls_client *cl)
{
	if (cl == NULL)
		return;
	egd_tls_client_forget(cl);
	egd_tls_creds_clear(&cl->creds);
	pthread_mutex_destroy(&cl->lock);
	free(cl);
}

int egd_tls_client_session(struct egd_tls_client *cl, int fd, const char *sni,
			   const char *verify_name, gnutls_session_t *out)
{
	gnutls_session_t s = NULL;
	int ret;

	/* Our one certificate goes out even when the server's list of CA
	 * names does not include its issuer: the server's verdict on it is
	 * what the operator needs to see, not "no certificate". */
	ret = egd_tls_creds_session(&cl->creds,
				    GNUTLS_CLIENT | GNUTLS_FORCE_CLIENT_CERT, 0,
				    fd, &s);
	if (ret < 0)
		return ret;
	if (sni != NULL) {
		ret = gnutls_server_name_set(s, GNUTLS_NAME_DNS, sni,
					     strlen(sni));
		if (ret < 0) {
			gnutls_deinit(s);
			return ret;
		}
	}
	/* GnuTLS verifies the chain (and the name unless NULL) during the
	 * handshake and fails it with GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR;
	 * a resumed session was verified when it was made. */
	gnutls_session_set_verify_cert(s, verify_name, 0);
	/* Data GnuTLS cannot use just means a full handshake. */
	pthread_mutex_lock(&cl->lock);
	if (cl->resume.data != NULL)
		(void)gnutls_session_set_data(s, cl->resume.data,
					      cl->resume.size);
	pthread_mutex_unlock(&cl->lock);
	*out = s;
	return 0;
}

bool egd_tls_client_keep(struct egd_tls_client *cl, gnutls_session_t s)
{
	gnutls_datum_t d = {NULL, 0};
	gnutls_datum_t old;

	/* In TLS 1.3 only a ticket makes a session resumable; asking before
	 * it came would give data that cannot resume. */
	if (gnutls_protocol_get_version(s) == GNUTLS_TLS1_3 &&
	    !(gnutls_session_get_flags(s) & GNUTLS_SFLAGS_SESSION_TICKET))
		return false;
	if (gnutls_session_get_data2(s, &d) < 0 || d.data == NULL)
		return false;
	pthread_mutex_lock(&cl->lock);
	old = cl->resume;
	cl->resume = d;
	pthread_mutex_unlock(&cl->lock);
	gnutls_free(old.data);
	return true;
}

void egd_tls_client_forget(struct egd_tls_client *cl)
{
	gnutls_datum_t old;

	pthread_mutex_lock(&cl->lock);
	old = cl->resume;
	cl->resume.data = NULL;
	cl->resume.size = 0;
	pthread_mutex_unlock(&cl->lock);
	gnutls_free(old.data);
}

bool egd_tls_client_verify_failed(int ret)
{
	return ret == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR ||
	       ret == GNUTLS_E_CERTIFICATE_ERROR;
}

bool egd_tls_client_refused(gnutls_session_t s, int ret)
{
	if (ret != GNUTLS_E_FATAL_ALERT_RECEIVED)
		return false;
	switch (gnutls_alert_get(s)) {
	case GNUTLS_A_BAD_CERTIFICATE:
	case GNUTLS_A_UNSUPPORTED_CERTIFICATE:
	case GNUTLS_A_CERTIFICATE_REVOKED:
	case GNUTLS_A_CERTIFICATE_EXPIRED:
	case GNUTLS_A_CERTIFICATE_UNKNOWN:
	case GNUTLS_A_UNKNOWN_CA:
	case GNUTLS_A_ACCESS_DENIED:
	case GNUTLS_A_CERTIFICATE_REQUIRED:
		return true;
	default:
		return false;
	}
}

const char *egd_tls_client_why(gnutls_session_t s, int ret, char *buf,
			       size_t buflen)
{
	gnutls_datum_t txt = {NULL, 0};

	if (buflen == 0)
		return buf;
	if (egd_tls_client_verify_failed(ret) &&
	    gnutls_certificate_verification_status_print(
		    gnutls_session_get_verify_cert_status(s), GNUTLS_CRT_X509,
		    &txt, 0) == 0) {
		snprintf(buf, buflen,
			 "server certificate verification failed: %s",
			 (const char *)txt.data);
		gnutls_free(txt.data);
	} else if (ret == GNUTLS_E_FATAL_ALERT_RECEIVED ||
		   ret == GNUTLS_E_WARNING_ALERT_RECEIVED) {
		const char *name = gnutls_alert_get_name(gnutls_alert_get(s));

		snprintf(buf, buflen, "TLS alert from the server: %s",
			 name ? name : "unknown");
	} else {
		snprintf(buf, buflen, "TLS: %s", gnutls_strerror(ret));
	}
	return buf;
}
