/* SPDX-License-Identifier: Apache-2.0 */
/* Certificate revocation lists with the GnuTLS X.509 API (see pki.h). */
#include "config.h"

#include <edgeguard/error.h>

#include "pki.h"
#include "pki_internal.h"

/* As for certificates (reimport() in pki.c): a just-signed CRL lacks the raw issuer name that
 * gnutls_x509_crl_verify() matches, so it never finds its signer. */
static int reimport_crl(gnutls_x509_crl_t crl, gnutls_x509_crl_t *out)
{
	gnutls_datum_t der = {NULL, 0};
	int ret;

	ret = gnutls_x509_crl_export2(crl, GNUTLS_X509_FMT_DER, &der);
	if (ret >= 0)
		ret = gnutls_x509_crl_init(out);
	if (ret >= 0) {
		ret = gnutls_x509_crl_import(*out, &der, GNUTLS_X509_FMT_DER);
		if (ret < 0) {
			gnutls_x509_crl_deinit(*out);
			*out = NULL;
		}
	}
	gnutls_free(der.data);
	return ret;
}

int eg_pki_crl_issue(gnutls_x509_crt_t ca, gnutls_x509_privkey_t ca_key,
		     const gnutls_x509_crt_t *revoked, size_t n,
		     time_t this_update, time_t next_update,
		     gnutls_x509_crl_t *out, char *err, size_t errlen)
{
	gnutls_x509_crl_t crl = NULL;
	gnutls_privkey_t pk = NULL;
	unsigned char id[EG_PKI_KEY_ID_MAX], number[9];
	size_t len, i;
	const char *step;
	int ret, rc = EG_E_TLS;

	*out = NULL;
	if (ca == NULL || ca_key == NULL || (n > 0 && revoked == NULL)) {
		eg_pki_err(err, errlen, "missing CA, CA key or revoked list");
		return EG_E_INVAL;
	}
	step = "init";
	ret = gnutls_x509_crl_init(&crl);
	if (ret < 0)
		goto fail;
	step = "version";
	ret = gnutls_x509_crl_set_version(crl, 2);
	if (ret < 0)
		goto fail;
	step = "update times";
	ret = gnutls_x509_crl_set_this_update(crl, this_update);
	if (ret >= 0)
		ret = gnutls_x509_crl_set_next_update(crl, next_update);
	if (ret < 0)
		goto fail;
	step = "revoked entry";
	for (i = 0; i < n; i++) {
		ret = gnutls_x509_crl_set_crt(crl, revoked[i], this_update);
		if (ret < 0)
			goto fail;
	}
	step = "authority key id";
	len = sizeof(id);
	ret = eg_pki_issuer_key_id(ca, ca_key, id, &len);
	if (ret >= 0)
		ret = gnutls_x509_crl_set_authority_key_id(crl, id, len);
	if (ret < 0)
		goto fail;
	/* The issue time makes a CRL number that grows with every reissue,
	 * which is all RFC 5280 asks of it. */
	step = "number";
	len = eg_pki_encode_serial((uint64_t)this_update, number);
	ret = gnutls_x509_crl_set_number(crl, number, len);
	if (ret < 0)
		goto fail;
	step = "signature";
	ret = eg_pki_signer(ca_key, &pk);
	if (ret >= 0)
		ret = gnutls_x509_crl_privkey_sign(crl, ca, pk,
						   GNUTLS_DIG_SHA256, 0);
	if (ret < 0)
		goto fail;
	step = "re-import";
	ret = reimport_crl(crl, out);
	if (ret < 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	eg_pki_err(err, errlen, "CRL %s: %s", step, gnutls_strerror(ret));
out:
	if (pk != NULL)
		gnutls_privkey_deinit(pk);
	if (crl != NULL)
		gnutls_x509_crl_deinit(crl);
	return rc;
}
