/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The client certificate as a proxy that terminated TLS hands it to the
 * authorization endpoint, decoded into DER: bytes from the network, kept
 * apart from the endpoint so they can be fuzzed (tests/fuzz/fuzz_authz.c).
 */
#ifndef EG_VERIFIER_AUTHZ_CERT_H
#define EG_VERIFIER_AUTHZ_CERT_H

#include <stddef.h>

#include <gnutls/gnutls.h>

#include <edgeguard/edgeguard.h>

#define VF_AUTHZ_CHAIN_MAX 16

/* How the header carries the certificate. All are URL-unescaped first. */
enum vf_authz_form {
	VF_AUTHZ_PEM,  /* PEM, one or more (nginx $ssl_client_escaped_cert) */
	VF_AUTHZ_XFCC, /* Envoy x-forwarded-client-cert, Cert="<PEM>" of
			   * the nearest hop's element */
	VF_AUTHZ_TRAEFIK, /* comma-separated base64 DER, or PEM */
};

/* Zeroed before use; v[0..nv) views der[], leaf first. Certificates beyond
 * VF_AUTHZ_CHAIN_MAX are dropped. */
struct vf_authz_chain {
	gnutls_datum_t der[VF_AUTHZ_CHAIN_MAX]; /* owned (gnutls_free) */
	struct eg_der v[VF_AUTHZ_CHAIN_MAX];
	size_t nv;
};

/* Decodes len bytes of a header value into ch. Returns 0 (ch->nv is 0 when
 * the value holds no certificate) or a negative GnuTLS error for one that
 * does not decode. Either way ch is freed with vf_authz_chain_free(). */
int vf_authz_chain_parse(struct vf_authz_chain *ch, enum vf_authz_form form,
			 const char *value, size_t len);
void vf_authz_chain_free(struct vf_authz_chain *ch);

#endif
