/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_TESTS_TESTCERTS_H
#define EG_TESTS_TESTCERTS_H

/*
 * The unit tests' one certificate generator: thin wrappers over daemon/pki.c
 * that mint real certificates at test time. Every function aborts the test
 * (ck_abort_msg) on failure, so tests read as data tables.
 */

#include <stddef.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <edgeguard/policy.h>

#include "pki.h"

struct tc_cert {
	gnutls_x509_crt_t crt;
	gnutls_x509_privkey_t key;
	gnutls_datum_t der; /* DER of crt, owned */
	struct eg_der eg;   /* view of der, for eg_peer_verify() */
};

/* A self-signed root CA (ECDSA P-256) with the given CN. */
struct tc_cert *tc_root(const char *cn);

/* A certificate issued by `issuer` per `spec` (ECDSA P-256 key). */
struct tc_cert *tc_issue(const struct tc_cert *issuer,
			 const struct eg_pki_spec *spec);

/* A client leaf: CN=cn, one DNS SAN `dns` (NULL: none), clientAuth EKU,
 * valid from an hour ago for a year. */
struct tc_cert *tc_client(const struct tc_cert *issuer, const char *cn,
			  const char *dns);

/* Writes the certificate (PEM) / a CRL into a fresh file under the test's
 * temporary directory; returns the path (static storage per call: strdup'd,
 * freed at exit). */
const char *tc_write_cert(const struct tc_cert *c);
const char *tc_write_crl(const struct tc_cert *ca,
			 const struct tc_cert *const *revoked, size_t n,
			 time_t this_update, time_t next_update);

/* A directory that exists for the test process and is removed at exit. */
const char *tc_tmpdir(void);

/* Writes `text` to a new file in tc_tmpdir(); returns its path. */
const char *tc_write_file(const char *name, const char *text);

/* Same certificate with one bit of its signature flipped (DER copy, owned
 * by the returned tc_cert; crt is re-imported from the damaged DER). */
struct tc_cert *tc_corrupt_signature(const struct tc_cert *c);

void tc_free(struct tc_cert *c);

#endif
