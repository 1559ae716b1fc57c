/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Chain verification. GnuTLS verifies signatures, path building, CA
 * constraints, key purposes and revocation; it runs with time checks off
 * because its clock cannot be injected per call, and this file then checks
 * validity periods along the path GnuTLS accepted at the caller's `now`,
 * and whether the CRLs of that path are still current.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <edgeguard/error.h>

#include "alloc.h"
#include "cfg.h"
#include "trust.h"

struct crl_info {
	gnutls_datum_t issuer_dn; /* raw DER DN, owned (eg_malloc) */
	time_t next_update;	  /* 0: the CRL names none */
};

struct eg_trust {
	gnutls_x509_trust_list_t tl;
	gnutls_x509_crt_t *cas; /* own copies: CRL checks, path walk */
	size_t ncas;
	struct crl_info *crls;
	size_t ncrls;
	struct eg_trust_item *items; /* file/subject strings owned */
	size_t nitems;
	enum eg_crl_expired crl_expired;
};

static int add_item(struct eg_trust *t, enum eg_trust_item_kind kind,
		    const char *file, const gnutls_datum_t *subject,
		    time_t expires)
{
	struct eg_trust_item *n;

	n = eg_realloc(t->items, (t->nitems + 1) * sizeof(*n));
	if (n == NULL)
		return EG_E_NOMEM;
	t->items = n;
	n = &t->items[t->nitems];
	n->kind = kind;
	n->expires = expires;
	n->file = eg_strdup(file);
	n->subject = eg_memdup0(subject->data, subject->size);
	if (n->file == NULL || n->subject == NULL) {
		eg_free((char *)n->file);
		eg_free((char *)n->subject);
		return EG_E_NOMEM;
	}
	t->nitems++;
	return 0;
}

static int load_ca_file(struct eg_trust *t, const config_setting_t *s,
			const char *path, char *err, size_t errlen)
{
	gnutls_datum_t data = {NULL, 0};
	gnutls_x509_crt_t *mine = NULL, *given = NULL;
	unsigned nmine = 0, ngiven = 0;
	int ret, gret;

	gret = gnutls_load_file(path, &data);
	if (gret < 0) {
		ret = eg_cfg_error(err, errlen, s, "cannot read %s: %s", path,
				   gnutls_strerror(gret));
		goto out;
	}
	gret = gnutls_x509_crt_list_import2(&mine, &nmine, &data,
					    GNUTLS_X509_FMT_PEM, 0);
	if (gret < 0 || nmine == 0) {
		ret = eg_cfg_error(err, errlen, s,
				   "%s holds no PEM certificate: %s", path,
				   gret < 0 ? gnutls_strerror(gret) : "empty");
		goto out;
	}
	for (unsigned i = 0; i < nmine; i++) {
		unsigned ca = 0;

		/* A leaf in a CA bundle would become a trust anchor that can
		 * admit itself: pin single certificates with sha256 instead. */
		if (gnutls_x509_crt_get_basic_constraints(mine[i], NULL, &ca,
							  NULL) < 0 ||
		    ca == 0) {
			ret = eg_cfg_error(
				err, errlen, s,
				"%s: certificate %u is not a CA (no "
				"basicConstraints CA:TRUE); to trust one "
				"certificate, pin it with allow.sha256",
				path, i + 1);
			goto out;
		}
	}
	gret = gnutls_x509_crt_list_import2(&given, &ngiven, &data,
					    GNUTLS_X509_FMT_PEM, 0);
	if (gret < 0) {
		ret = EG_E_NOMEM;
		goto out;
	}
	/* The trust list owns `given`'s certificates from here on. */
	gret = gnutls_x509_trust_list_add_cas(t->tl, given, ngiven, 0);
	gnutls_free(given);
	given = NULL;
	if (gret < 0) {
		ret = eg_cfg_error(err, errlen, s, "%s: %s", path,
				   gnutls_strerror(gret));
		goto out;
	}
	for (unsigned i = 0; i < nmine; i++) {
		gnutls_datum_t dn = {NULL, 0};
		gnutls_x509_crt_t *n;

		n = eg_realloc(t->cas, (t->ncas + 1) * sizeof(*n));
		if (n == NULL) {
			ret = EG_E_NOMEM;
			goto out;
		}
		t->cas = n;
		t->cas[t->ncas++] = mine[i];
		mine[i] = NULL;
		if (gnutls_x509_crt_get_dn3(t->cas[t->ncas - 1], &dn, 0) < 0) {
			ret = eg_cfg_error(
				err, errlen, s,
				"%s: certificate %u has no usable subject",
				path, i + 1);
			goto out;
		}
		ret = add_item(t, EG_TRUST_CA, path, &dn,
			       gnutls_x509_crt_get_expiration_time(
				       t->cas[t->ncas - 1]));
		gnutls_free(dn.data);
		if (ret < 0)
			goto out;
	}
	ret = 0;
out:
	for (unsigned i = 0; i < nmine; i++)
		if (mine[i] != NULL)
			gnutls_x509_crt_deinit(mine[i]);
	gnutls_free(mine);
	gnutls_free(data.data);
	return ret;
}

static int import_crls(const gnutls_datum_t *data, gnutls_x509_crl_t **crls,
		       unsigned *n)
{
	int ret;

	ret = gnutls_x509_crl_list_import2(crls, n, data, GNUTLS_X509_FMT_PEM,
					   0);
	if (ret >= 0 && *n > 0)
		return 0;
	/* A single DER CRL, as CAs often publish them. */
	*crls = gnutls_malloc(sizeof(**crls));
	if (*crls == NULL)
		return GNUTLS_E_MEMORY_ERROR;
	if ((ret = gnutls_x509_crl_init(&(*crls)[0])) < 0 ||
	    (ret = gnutls_x509_crl_import((*crls)[0], data,
					  GNUTLS_X509_FMT_DER)) < 0) {
		if ((*crls)[0] != NULL)
			gnutls_x509_crl_deinit((*crls)[0]);
		gnutls_free(*crls);
		*crls = NULL;
		return ret;
	}
	*n = 1;
	return 0;
}

static int load_crl_file(struct eg_trust *t, const config_setting_t *s,
			 const char *path, char *err, size_t errlen)
{
	gnutls_datum_t data = {NULL, 0};
	gnutls_x509_crl_t *crls = NULL;
	unsigned n = 0, i;
	int ret, gret;

	gret = gnutls_load_file(path, &data);
	if (gret < 0) {
		ret = eg_cfg_error(err, errlen, s, "cannot read %s: %s", path,
				   gnutls_strerror(gret));
		goto out;
	}
	gret = import_crls(&data, &crls, &n);
	if (gret < 0) {
		ret = eg_cfg_error(err, errlen, s, "%s holds no CRL: %s", path,
				   gnutls_strerror(gret));
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct crl_info *ci;
		gnutls_datum_t dn = {NULL, 0};
		unsigned status = 0;
		time_t next;

		/* Only CRLs signed by a configured CA are accepted: a forged
		 * CRL must not be able to unrevoke anything. */
		gret = gnutls_x509_crl_verify(
			crls[i], t->cas, (unsigned)t->ncas,
			GNUTLS_VERIFY_DISABLE_TIME_CHECKS, &status);
		/* Staleness is judged per decision (crl_expired), not here. */
		status &= ~(GNUTLS_CERT_INVALID | GNUTLS_CERT_EXPIRED |
			    GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED |
			    GNUTLS_CERT_REVOCATION_DATA_ISSUED_IN_FUTURE);
		if (gret < 0 || status != 0) {
			ret = eg_cfg_error(err, errlen, s,
					   "%s: CRL %u is not signed by a CA "
					   "of trust.ca_files",
					   path, i + 1);
			goto out;
		}
		ci = eg_realloc(t->crls, (t->ncrls + 1) * sizeof(*ci));
		if (ci == NULL) {
			ret = EG_E_NOMEM;
			goto out;
		}
		t->crls = ci;
		ci = &t->crls[t->ncrls];
		next = gnutls_x509_crl_get_next_update(crls[i]);
		ci->next_update = next == (time_t)-1 ? 0 : next;
		if (gnutls_x509_crl_get_raw_issuer_dn(crls[i], &dn) < 0) {
			ret = eg_cfg_error(err, errlen, s,
					   "%s: CRL %u has no issuer", path,
					   i + 1);
			goto out;
		}
		ci->issuer_dn.data =
			(unsigned char *)eg_memdup0(dn.data, dn.size);
		ci->issuer_dn.size = dn.size;
		gnutls_free(dn.data);
		if (ci->issuer_dn.data == NULL) {
			ret = EG_E_NOMEM;
			goto out;
		}
		t->ncrls++;
		if (gnutls_x509_crl_get_issuer_dn3(crls[i], &dn, 0) < 0) {
			ret = eg_cfg_error(err, errlen, s,
					   "%s: CRL %u has no issuer", path,
					   i + 1);
			goto out;
		}
		ret = add_item(t, EG_TRUST_CRL, path, &dn, ci->next_update);
		gnutls_free(dn.data);
		if (ret < 0)
			goto out;
	}
	/* The trust list owns the CRLs from here on. */
	gret = gnutls_x509_trust_list_add_crls(t->tl, crls, n, 0, 0);
	if (gret < 0) {
		ret = eg_cfg_error(err, errlen, s, "%s: %s", path,
				   gnutls_strerror(gret));
		goto out;
	}
	n = 0;
	ret = 0;
out:
	for (i = 0; i < n; i++)
		gnutls_x509_crl_deinit(crls[i]);
	gnutls_free(crls);
	gnutls_free(data.data);
	return ret;
}

typedef int (*file_loader)(struct eg_trust *, const config_setting_t *,
			   const char *, char *, size_t);

static int load_files(struct eg_trust *t, const config_setting_t *list,
		      const char *base_dir, file_loader load, char *err,
		      size_t errlen)
{
	int n = list ? config_setting_length(list) : 0;

	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list, i);
		char *path = eg_cfg_resolve_path(base_dir,
						 config_setting_get_string(e));
		int ret;

		if (path == NULL)
			return EG_E_NOMEM;
		ret = load(t, e, path, err, errlen);
		eg_free(path);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int eg_trust_load(const config_setting_t *group, const char *base_dir,
		  struct eg_trust **out, char *err, size_t errlen)
{
	static const char *const keys[] = {"ca_files", "crl_files",
					   "crl_expired", NULL};
	const config_setting_t *cas, *crls;
	const char *mode;
	struct eg_trust *t;
	int ret;

	*out = NULL;
	if (group == NULL || !config_setting_is_group(group))
		return eg_cfg_error(err, errlen, group,
				    "expected a group with ca_files");
	if ((ret = eg_cfg_only_keys(group, keys, err, errlen)) < 0 ||
	    (ret = eg_cfg_string_array(group, "ca_files", &cas, err, errlen)) <
		    0 ||
	    (ret = eg_cfg_string_array(group, "crl_files", &crls, err,
				       errlen)) < 0 ||
	    (ret = eg_cfg_string(group, "crl_expired", &mode, err, errlen)) < 0)
		return ret;
	if (cas == NULL || config_setting_length(cas) == 0)
		return eg_cfg_error(
			err, errlen, cas ? cas : group,
			"ca_files: at least one CA bundle is required");
	t = eg_calloc(1, sizeof(*t));
	if (t == NULL)
		return EG_E_NOMEM;
	t->crl_expired = EG_CRL_EXPIRED_REJECT;
	if (mode != NULL && strcmp(mode, "grace") == 0)
		t->crl_expired = EG_CRL_EXPIRED_GRACE;
	else if (mode != NULL && strcmp(mode, "reject") != 0) {
		ret = eg_cfg_error(
			err, errlen,
			config_setting_get_member(group, "crl_expired"),
			"expected \"reject\" or \"grace\"");
		goto fail;
	}
	if (gnutls_x509_trust_list_init(&t->tl, 0) < 0) {
		ret = EG_E_NOMEM;
		goto fail;
	}
	if ((ret = load_files(t, cas, base_dir, load_ca_file, err, errlen)) <
		    0 ||
	    (ret = load_files(t, crls, base_dir, load_crl_file, err, errlen)) <
		    0)
		goto fail;
	*out = t;
	return 0;
fail:
	eg_trust_free(t);
	return ret;
}

void eg_trust_free(struct eg_trust *t)
{
	if (t == NULL)
		return;
	if (t->tl != NULL)
		gnutls_x509_trust_list_deinit(t->tl, 1);
	for (size_t i = 0; i < t->ncas; i++)
		gnutls_x509_crt_deinit(t->cas[i]);
	eg_free(t->cas);
	for (size_t i = 0; i < t->ncrls; i++)
		eg_free(t->crls[i].issuer_dn.data);
	eg_free(t->crls);
	for (size_t i = 0; i < t->nitems; i++) {
		eg_free((char *)t->items[i].file);
		eg_free((char *)t->items[i].subject);
	}
	eg_free(t->items);
	eg_free(t);
}

const struct eg_trust_item *eg_trust_items(const struct eg_trust *t,
					   size_t *count)
{
	*count = t->nitems;
	return t->items;
}

static void cert_subject(gnutls_x509_crt_t crt, char *buf, size_t len)
{
	gnutls_datum_t dn = {NULL, 0};

	if (gnutls_x509_crt_get_dn3(crt, &dn, 0) < 0) {
		snprintf(buf, len, "(unnamed)");
		return;
	}
	snprintf(buf, len, "%.*s", (int)dn.size, (const char *)dn.data);
	gnutls_free(dn.data);
}

static enum eg_reason check_time(gnutls_x509_crt_t crt, time_t now,
				 char *detail, size_t dlen)
{
	char subject[200];
	time_t nb = gnutls_x509_crt_get_activation_time(crt);
	time_t na = gnutls_x509_crt_get_expiration_time(crt);

	if (na != (time_t)-1 && now <= na && (nb == (time_t)-1 || now >= nb))
		return EG_REASON_NONE;
	cert_subject(crt, subject, sizeof(subject));
	if (na == (time_t)-1 || nb == (time_t)-1) {
		snprintf(detail, dlen, "unreadable validity period in %s",
			 subject);
		return EG_REASON_MALFORMED_CERTIFICATE;
	}
	if (now > na) {
		snprintf(detail, dlen, "%s expired at %lld", subject,
			 (long long)na);
		return EG_REASON_EXPIRED;
	}
	snprintf(detail, dlen, "%s is not valid before %lld", subject,
		 (long long)nb);
	return EG_REASON_NOT_YET_VALID;
}

/* The CRLs of issuer `ca` are all past their nextUpdate at `now`. */
static bool crl_stale(const struct eg_trust *t, gnutls_x509_crt_t ca,
		      time_t now)
{
	gnutls_datum_t dn = {NULL, 0};
	bool found = false, fresh = false;

	if (t->ncrls == 0 || gnutls_x509_crt_get_raw_dn(ca, &dn) < 0)
		return false;
	for (size_t i = 0; i < t->ncrls; i++) {
		const struct crl_info *c = &t->crls[i];

		if (c->issuer_dn.size != dn.size ||
		    memcmp(c->issuer_dn.data, dn.data, dn.size) != 0)
			continue;
		found = true;
		if (c->next_update == 0 || c->next_update >= now)
			fresh = true;
	}
	gnutls_free(dn.data);
	return found && !fresh;
}

/* Finds the issuer of `cur` among the peer's chain (not `cur` itself). */
static gnutls_x509_crt_t chain_issuer(gnutls_x509_crt_t cur,
				      gnutls_x509_crt_t *chain, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (chain[i] != cur &&
		    gnutls_x509_crt_check_issuer(cur, chain[i]))
			return chain[i];
	return NULL;
}

/* Validity of issuing CA `ca` at `now`, then the age of its CRLs. */
static enum eg_reason check_issuer(const struct eg_trust *t,
				   gnutls_x509_crt_t ca, time_t now,
				   char *detail, size_t dlen)
{
	enum eg_reason r = check_time(ca, now, detail, dlen);

	if (r != EG_REASON_NONE)
		return r;
	if (t->crl_expired == EG_CRL_EXPIRED_REJECT && crl_stale(t, ca, now)) {
		snprintf(detail, dlen,
			 "the CRL of an issuing CA is past its nextUpdate: "
			 "revocation status unknown (trust.crl_expired = "
			 "\"reject\")");
		return EG_REASON_REVOKED;
	}
	return EG_REASON_NONE;
}

/*
 * Walks the path GnuTLS accepted, from the leaf up to the first certificate
 * the trust list vouches for, checking each validity period and CRL age.
 */
static enum eg_reason walk_path(const struct eg_trust *t,
				gnutls_x509_crt_t *chain, size_t n, time_t now,
				char *detail, size_t dlen)
{
	gnutls_x509_crt_t cur = chain[0];
	enum eg_reason r = check_time(cur, now, detail, dlen);

	for (size_t depth = 0; r == EG_REASON_NONE && depth <= EG_MAX_CHAIN;
	     depth++) {
		gnutls_x509_crt_t anchor = NULL;

		if (gnutls_x509_trust_list_get_issuer(
			    t->tl, cur, &anchor, GNUTLS_TL_GET_COPY) == 0) {
			r = check_issuer(t, anchor, now, detail, dlen);
			gnutls_x509_crt_deinit(anchor);
			return r;
		}
		cur = chain_issuer(cur, chain, n);
		if (cur == NULL)
			break;
		r = check_issuer(t, cur, now, detail, dlen);
	}
	if (r != EG_REASON_NONE)
		return r;
	snprintf(detail, dlen, "no path to a trusted CA");
	return EG_REASON_UNTRUSTED_ISSUER;
}

static enum eg_reason map_status(unsigned status, char *detail, size_t dlen)
{
	static const struct {
		unsigned bit;
		enum eg_reason reason;
		const char *text;
	} map[] = {
		{GNUTLS_CERT_SIGNER_NOT_FOUND, EG_REASON_UNTRUSTED_ISSUER,
		 "issuer is not a trusted CA"},
		{GNUTLS_CERT_SIGNATURE_FAILURE, EG_REASON_BAD_SIGNATURE,
		 "signature does not verify"},
		{GNUTLS_CERT_INSECURE_ALGORITHM, EG_REASON_BAD_SIGNATURE,
		 "signed with an insecure algorithm, or a key below 112-bit "
		 "security"},
		{GNUTLS_CERT_REVOKED, EG_REASON_REVOKED,
		 "revoked by its CA's CRL"},
		{GNUTLS_CERT_PURPOSE_MISMATCH,
		 EG_REASON_MISSING_CLIENT_AUTH_EKU,
		 "key purpose of the chain does not allow clientAuth"},
		{GNUTLS_CERT_SIGNER_NOT_CA, EG_REASON_UNTRUSTED_ISSUER,
		 "issuer is not a CA"},
		{GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE,
		 EG_REASON_UNTRUSTED_ISSUER,
		 "issuer constraints (path length, name constraints) violated"},
		/* RFC 5280 4.2: such a certificate must be refused; what it
		 * says cannot be understood, so it is not well-formed for us. */
		{GNUTLS_CERT_UNKNOWN_CRIT_EXTENSIONS,
		 EG_REASON_MALFORMED_CERTIFICATE,
		 "a certificate of the chain has an unknown critical "
		 "extension"},
	};
	/* Time is checked by walk_path() at the injected time instead. */
	unsigned ignored = GNUTLS_CERT_INVALID | GNUTLS_CERT_EXPIRED |
			   GNUTLS_CERT_NOT_ACTIVATED |
			   GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED |
			   GNUTLS_CERT_REVOCATION_DATA_ISSUED_IN_FUTURE;

	if (status == 0)
		return EG_REASON_NONE;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (status & map[i].bit) {
			snprintf(detail, dlen, "%s", map[i].text);
			return map[i].reason;
		}
	if ((status & ~ignored) == 0 && (status & ~GNUTLS_CERT_INVALID) != 0)
		return EG_REASON_NONE;
	snprintf(detail, dlen, "chain rejected by GnuTLS (status 0x%x)",
		 status);
	return EG_REASON_UNTRUSTED_ISSUER;
}

enum eg_reason eg_trust_verify(const struct eg_trust *t,
			       gnutls_x509_crt_t *chain, size_t n, time_t now,
			       bool require_client_auth, char *detail,
			       size_t dlen)
{
	gnutls_typed_vdata_st purpose = {
		.type = GNUTLS_DT_KEY_PURPOSE_OID,
		.data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT,
		.size = 0,
	};
	unsigned status = 0;
	enum eg_reason r;
	int ret;

	ret = gnutls_x509_trust_list_verify_crt2(
		t->tl, chain, (unsigned)n, &purpose,
		require_client_auth ? 1 : 0,
		GNUTLS_VERIFY_DISABLE_TIME_CHECKS |
			GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS |
			/* 112-bit security, as Debian's OpenSSL default
			 * (SECLEVEL 2): no RSA key below 2048 bits. */
			GNUTLS_PROFILE_TO_VFLAGS(GNUTLS_PROFILE_MEDIUM),
		&status, NULL);
	if (ret < 0) {
		snprintf(detail, dlen, "verification failed: %s",
			 gnutls_strerror(ret));
		return EG_REASON_INTERNAL_ERROR;
	}
	r = map_status(status, detail, dlen);
	if (r != EG_REASON_NONE)
		return r;
	return walk_path(t, chain, n, now, detail, dlen);
}
