/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EDGEGUARD_DAEMON_PKI_INTERNAL_H
#define EDGEGUARD_DAEMON_PKI_INTERNAL_H

/*
 * What the parts of pki.h's implementation share: pki.c (keys and
 * certificates), pki_crl.c (CRLs) and pki_file.c (PEM files).
 */

#include <stddef.h>
#include <stdint.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define EG_PKI_KEY_ID_MAX 64

/* Formats a message into err (nothing when err is NULL or errlen 0). */
void eg_pki_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* DER INTEGER content for a positive number into buf (9 bytes at most);
 * returns its length. */
size_t eg_pki_encode_serial(uint64_t serial, unsigned char *buf);

/* The issuer's subject key id as stated in its certificate (issuer may be
 * NULL), or computed from its key. *len: the capacity of id on entry, the
 * length on return. Returns a GnuTLS code. */
int eg_pki_issuer_key_id(gnutls_x509_crt_t issuer,
			 gnutls_x509_privkey_t issuer_key, unsigned char *id,
			 size_t *len);

/* An abstract key for signing with `key` (borrowed: it must outlive *out);
 * the caller frees *out with gnutls_privkey_deinit(). Returns a GnuTLS code
 * (*out NULL on error). */
int eg_pki_signer(gnutls_x509_privkey_t key, gnutls_privkey_t *out);

/* Parses data (PEM: its first certificate) into a new *out, which the
 * caller frees with gnutls_x509_crt_deinit(). Returns a GnuTLS code (*out
 * NULL on error). */
int eg_pki_crt_import(const gnutls_datum_t *data, gnutls_x509_crt_fmt_t fmt,
		      gnutls_x509_crt_t *out);

#endif
