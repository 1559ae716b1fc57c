/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test certificate fixtures over daemon/pki.c (see testcerts.h). Failures
 * abort the running test: a fixture that cannot be built is a broken test,
 * not a case to handle.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "testcerts.h"

#define DAY_SECONDS (24 * 60 * 60)

static char tmpdir_path[4096];
static pid_t tmpdir_owner; /* pid that created tmpdir_path: only it removes */
static unsigned file_seq;  /* names tc_write_cert / tc_write_crl files */

/* Paths handed out by tc_write_*: owned here, freed at exit. */
static char **paths;
static size_t paths_n, paths_cap;

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void cleanup_at_exit(void)
{
	size_t i;

	/* Check forks each test; a child inherits the parent's directory but
	 * must leave it for the parent (and the tests after it). */
	if (tmpdir_path[0] != '\0' && getpid() == tmpdir_owner)
		nftw(tmpdir_path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	for (i = 0; i < paths_n; i++)
		free(paths[i]);
	free(paths);
	paths = NULL;
	paths_n = paths_cap = 0;
}

const char *tc_tmpdir(void)
{
	static int registered;
	const char *base;
	int n;

	if (tmpdir_path[0] != '\0')
		return tmpdir_path;
	base = getenv("TMPDIR");
	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	n = snprintf(tmpdir_path, sizeof(tmpdir_path), "%s/egtest.XXXXXX",
		     base);
	if (n < 0 || (size_t)n >= sizeof(tmpdir_path))
		ck_abort_msg("TMPDIR too long: %s", base);
	if (mkdtemp(tmpdir_path) == NULL) {
		int e = errno;

		tmpdir_path[0] = '\0';
		ck_abort_msg("mkdtemp under %s: %s", base, strerror(e));
	}
	tmpdir_owner = getpid();
	if (!registered) {
		registered = 1;
		atexit(cleanup_at_exit);
	}
	return tmpdir_path;
}

/* Records `p` (malloc'd) so it is freed at exit; returns it. */
static const char *keep_path(char *p)
{
	if (paths_n == paths_cap) {
		size_t cap = paths_cap != 0 ? 2 * paths_cap : 16;
		char **v = realloc(paths, cap * sizeof(*v));

		if (v == NULL)
			ck_abort_msg("out of memory");
		paths = v;
		paths_cap = cap;
	}
	paths[paths_n++] = p;
	return p;
}

static char *tmp_path(const char *name)
{
	const char *dir = tc_tmpdir();
	size_t len = strlen(dir) + 1 + strlen(name) + 1;
	char *p = malloc(len);

	if (p == NULL)
		ck_abort_msg("out of memory");
	snprintf(p, len, "%s/%s", dir, name);
	return p;
}

static char *seq_path(const char *prefix, const char *suffix)
{
	char name[64];

	snprintf(name, sizeof(name), "%s-%ld-%u%s", prefix, (long)getpid(),
		 ++file_seq, suffix);
	return tmp_path(name);
}

static struct tc_cert *finish(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key)
{
	struct tc_cert *c = calloc(1, sizeof(*c));

	if (c == NULL)
		ck_abort_msg("out of memory");
	c->crt = crt;
	c->key = key;
	if (eg_pki_cert_der(crt, &c->der) < 0)
		ck_abort_msg("cannot DER-encode a test certificate");
	c->eg.data = c->der.data;
	c->eg.len = c->der.size;
	return c;
}

static struct tc_cert *mint(const struct tc_cert *issuer,
			    const struct eg_pki_spec *spec)
{
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
	char err[256] = "";
	int rc;

	rc = eg_pki_key_generate(EG_PKI_KEY_ECDSA_P256, 0, &key);
	if (rc < 0)
		ck_abort_msg("key generation failed (%d)", rc);
	rc = eg_pki_cert_issue(spec, key, issuer != NULL ? issuer->crt : NULL,
			       issuer != NULL ? issuer->key : NULL, &crt, err,
			       sizeof(err));
	if (rc < 0)
		ck_abort_msg("issuing test certificate failed (%d): %s", rc,
			     err);
	return finish(crt, key);
}

struct tc_cert *tc_root(const char *cn)
{
	struct eg_pki_spec spec = {
		.cn = cn,
		.cn_len = strlen(cn),
		.is_ca = true,
		.not_after = time(NULL) + 10 * 365 * DAY_SECONDS,
	};

	return mint(NULL, &spec);
}

struct tc_cert *tc_issue(const struct tc_cert *issuer,
			 const struct eg_pki_spec *spec)
{
	if (issuer == NULL)
		ck_abort_msg("tc_issue: no issuer (use tc_root for roots)");
	return mint(issuer, spec);
}

struct tc_cert *tc_client(const struct tc_cert *issuer, const char *cn,
			  const char *dns)
{
	struct eg_pki_san san = {EG_SAN_DNS, dns,
				 dns != NULL ? strlen(dns) : 0};
	struct eg_pki_spec spec = {
		.cn = cn,
		.cn_len = strlen(cn),
		.san = dns != NULL ? &san : NULL,
		.san_count = dns != NULL ? 1 : 0,
		.eku = EG_PKI_EKU_CLIENT_AUTH,
	};

	return tc_issue(issuer, &spec);
}

const char *tc_write_cert(const struct tc_cert *c)
{
	char *path = seq_path("cert", ".pem");
	char err[512] = "";

	keep_path(path);
	if (eg_pki_write_cert(path, c->crt, err, sizeof(err)) < 0)
		ck_abort_msg("writing test certificate: %s", err);
	return path;
}

const char *tc_write_crl(const struct tc_cert *ca,
			 const struct tc_cert *const *revoked, size_t n,
			 time_t this_update, time_t next_update)
{
	gnutls_x509_crt_t *crts = NULL;
	gnutls_x509_crl_t crl;
	char *path = seq_path("crl", ".pem");
	char err[512] = "";
	size_t i;
	int rc;

	keep_path(path);
	if (n > 0) {
		crts = calloc(n, sizeof(*crts));
		if (crts == NULL)
			ck_abort_msg("out of memory");
		for (i = 0; i < n; i++)
			crts[i] = revoked[i]->crt;
	}
	rc = eg_pki_crl_issue(ca->crt, ca->key, crts, n, this_update,
			      next_update, &crl, err, sizeof(err));
	free(crts);
	if (rc < 0)
		ck_abort_msg("issuing test CRL failed (%d): %s", rc, err);
	rc = eg_pki_write_crl(path, crl, err, sizeof(err));
	gnutls_x509_crl_deinit(crl);
	if (rc < 0)
		ck_abort_msg("writing test CRL: %s", err);
	return path;
}

const char *tc_write_file(const char *name, const char *text)
{
	char *path = tmp_path(name);
	size_t len = strlen(text), off = 0;
	ssize_t w;
	int fd;

	keep_path(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1)
		ck_abort_msg("%s: %s", path, strerror(errno));
	while (off < len) {
		w = write(fd, text + off, len - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			ck_abort_msg("%s: write: %s", path, strerror(errno));
		off += (size_t)w;
	}
	if (close(fd) == -1)
		ck_abort_msg("%s: close: %s", path, strerror(errno));
	return path;
}

struct tc_cert *tc_corrupt_signature(const struct tc_cert *c)
{
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
	gnutls_datum_t der;
	struct tc_cert *out;
	int ret;

	/* The signature BIT STRING ends the DER; its content is opaque to the
	 * certificate parser, so the damaged copy still imports. */
	der.size = c->der.size;
	der.data = gnutls_malloc(der.size);
	if (der.data == NULL)
		ck_abort_msg("out of memory");
	memcpy(der.data, c->der.data, der.size);
	der.data[der.size - 1] ^= 0x01;

	if (gnutls_x509_crt_init(&crt) < 0)
		ck_abort_msg("gnutls_x509_crt_init failed");
	ret = gnutls_x509_crt_import(crt, &der, GNUTLS_X509_FMT_DER);
	if (ret < 0)
		ck_abort_msg("corrupted certificate no longer parses: %s",
			     gnutls_strerror(ret));
	if (gnutls_x509_privkey_init(&key) < 0 ||
	    gnutls_x509_privkey_cpy(key, c->key) < 0)
		ck_abort_msg("cannot copy the private key");

	out = calloc(1, sizeof(*out));
	if (out == NULL)
		ck_abort_msg("out of memory");
	out->crt = crt;
	out->key = key;
	out->der = der;
	out->eg.data = der.data;
	out->eg.len = der.size;
	return out;
}

void tc_free(struct tc_cert *c)
{
	if (c == NULL)
		return;
	gnutls_x509_crt_deinit(c->crt);
	gnutls_x509_privkey_deinit(c->key);
	gnutls_free(c->der.data);
	free(c);
}
