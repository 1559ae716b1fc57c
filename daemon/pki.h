/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EDGEGUARD_DAEMON_PKI_H
#define EDGEGUARD_DAEMON_PKI_H

/*
 * Certificate minting with the GnuTLS API: used by `edgeguard pki` and, as
 * the one certificate generator of the unit tests, by tests/unit. Not part
 * of libedgeguard (a policy library has no business issuing certificates).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <edgeguard/identity.h>

enum eg_pki_key_type { EG_PKI_KEY_ECDSA_P256, EG_PKI_KEY_RSA };

/* EKU flags; 0 means "no EKU extension at all". */
#define EG_PKI_EKU_CLIENT_AUTH 0x1u
#define EG_PKI_EKU_SERVER_AUTH 0x2u

/* One subjectAltName; raw bytes so tests can embed NULs. For EG_SAN_IP,
 * data is the 4- or 16-byte address. */
struct eg_pki_san {
	enum eg_san_type type;
	const void *data;
	size_t len;
};

struct eg_pki_spec {
	/* Subject as a DN string ("CN=edge,O=Example") parsed by GnuTLS;
	 * NULL: use cn only. */
	const char *dn;
	const void *cn; /* raw commonName bytes (may hold NUL); NULL */
	size_t cn_len;
	const struct eg_pki_san *san;
	size_t san_count;
	bool is_ca;	   /* CA:TRUE, keyCertSign|cRLSign */
	unsigned eku;	   /* EG_PKI_EKU_* flags (ignored for CAs) */
	time_t not_before; /* 0: now - 1 hour */
	time_t not_after;  /* 0: not_before + 365 days */
	uint64_t serial;   /* 0: random 64-bit serial */
};

/* Generates a key: ECDSA P-256, or RSA with `rsa_bits` (0: 2048).
 * Returns 0 and *out (gnutls_x509_privkey_deinit()), or EG_E_TLS. */
int eg_pki_key_generate(enum eg_pki_key_type type, unsigned rsa_bits,
			gnutls_x509_privkey_t *out);

/*
 * Issues a certificate for `key` per `spec`, signed by issuer/issuer_key,
 * or self-signed when issuer is NULL. Returns 0 and *out
 * (gnutls_x509_crt_deinit()), or EG_E_TLS / EG_E_INVAL with a message in err.
 */
int eg_pki_cert_issue(const struct eg_pki_spec *spec, gnutls_x509_privkey_t key,
		      gnutls_x509_crt_t issuer,
		      gnutls_x509_privkey_t issuer_key, gnutls_x509_crt_t *out,
		      char *err, size_t errlen);

/* Issues a CRL revoking `revoked` (n entries) valid from this_update to
 * next_update. Returns 0 and *out (gnutls_x509_crl_deinit()) or EG_E_TLS. */
int eg_pki_crl_issue(gnutls_x509_crt_t ca, gnutls_x509_privkey_t ca_key,
		     const gnutls_x509_crt_t *revoked, size_t n,
		     time_t this_update, time_t next_update,
		     gnutls_x509_crl_t *out, char *err, size_t errlen);

/* DER encodings into *out (free out->data with gnutls_free()). */
int eg_pki_cert_der(gnutls_x509_crt_t crt, gnutls_datum_t *out);

/*
 * Writes PEM files; the file is created with `mode` (0600 for keys, 0644
 * otherwise) through a temporary name and rename, never world-readable in
 * between. Returns 0, EG_E_IO or EG_E_TLS with a message in err.
 */
int eg_pki_write_cert(const char *path, gnutls_x509_crt_t crt, char *err,
		      size_t errlen);
int eg_pki_write_key(const char *path, gnutls_x509_privkey_t key, char *err,
		     size_t errlen);
int eg_pki_write_crl(const char *path, gnutls_x509_crl_t crl, char *err,
		     size_t errlen);

/* Reads a PEM certificate / key file (first certificate only). */
int eg_pki_read_cert(const char *path, gnutls_x509_crt_t *out, char *err,
		     size_t errlen);
int eg_pki_read_key(const char *path, gnutls_x509_privkey_t *out, char *err,
		    size_t errlen);

#endif
