/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EDGEGUARD_IDENTITY_H
#define EDGEGUARD_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/*
 * The identity of a client certificate, extracted with GnuTLS from DER.
 * Strings come from the peer: they may hold any byte, including NUL, so every
 * string carries its length. `ptr` is always NUL-terminated after `len` bytes
 * for convenience, but never rely on strlen() of peer data.
 */
struct eg_str {
	char *ptr;  /* owned by the enclosing struct */
	size_t len; /* bytes before the terminating NUL */
};

struct eg_str_list {
	struct eg_str *v; /* owned */
	size_t n;
};

enum eg_san_type {
	EG_SAN_DNS,
	EG_SAN_URI,
	EG_SAN_IP,
	EG_SAN_EMAIL,
};

struct eg_san {
	enum eg_san_type type;
	/* DNS/URI/email as in the certificate; IP as text */
	struct eg_str value;
	unsigned char ip[16]; /* EG_SAN_IP: raw address */
	unsigned ip_len;      /* EG_SAN_IP: 4 or 16 */
	/* false: NUL, empty, non-ASCII or unparsable; such a name never
	 * matches an allowlist */
	bool well_formed;
};

struct eg_identity {
	struct eg_str subject;	  /* RFC 4514 DN string */
	struct eg_str issuer;	  /* RFC 4514 DN string */
	char serial[2 * 32 + 1];  /* lowercase hex, no separators */
	char sha256[64 + 1];	  /* fingerprint of the leaf, lowercase hex */
	char spki_sha256[64 + 1]; /* SubjectPublicKeyInfo hash, lowercase hex */
	unsigned char sha256_raw[32];
	unsigned char spki_sha256_raw[32];
	struct eg_str_list cn; /* subject commonName values */
	struct eg_str_list o;  /* subject organizationName values */
	struct eg_str_list ou; /* subject organizationalUnitName values */
	struct eg_san *san;    /* owned array, in certificate order */
	size_t san_count;
	time_t not_before;
	time_t not_after;
	bool has_client_auth_eku; /* EKU extension lists id-kp-clientAuth */
};

/*
 * Extracts the identity of one DER certificate.
 * Returns 0 and sets *out (caller frees with eg_identity_free()), EG_E_PARSE
 * when the DER does not decode as an X.509 certificate, EG_E_NOMEM.
 */
int eg_identity_from_der(const unsigned char *der, size_t len,
			 struct eg_identity **out);

/* Frees an identity; NULL is a no-op. */
void eg_identity_free(struct eg_identity *id);

/* Short printable summary "cn=..., dns=..." for logs, with non-printable
 * bytes escaped; written into buf (always terminated). Returns buf. */
const char *eg_identity_summary(const struct eg_identity *id, char *buf,
				size_t buflen);

#endif
