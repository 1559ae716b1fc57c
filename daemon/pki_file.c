/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PEM files of pki.h. Files are written through a temporary name created
 * with the final mode and renamed over the target, so a private key is never
 * readable by others, not even for an instant, and a reader never sees a
 * half-written file.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/crypto.h>

#include <edgeguard/error.h>

#include "pki.h"
#include "pki_internal.h"

/* No PEM certificate or key we read is anywhere near this large. */
#define PEM_MAX_SIZE (1024 * 1024)

static int write_all(int fd, const unsigned char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Makes the rename durable; failure to open the directory (e.g. no read
 * permission) is not an error, the file itself is already synced. */
static void sync_parent_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t len;
	int fd;

	if (slash == NULL) {
		len = 1;
		dir[0] = '.';
	} else {
		len = slash == path ? 1 : (size_t)(slash - path);
		if (len >= sizeof(dir))
			return;
		memcpy(dir, path, len);
	}
	dir[len] = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return;
	(void)fsync(fd);
	close(fd);
}

static int create_temp(const char *path, mode_t mode, char *tmp, size_t tmplen)
{
	unsigned char rnd[6];
	int attempt, fd, n;

	for (attempt = 0; attempt < 16; attempt++) {
		if (gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof(rnd)) < 0)
			return -1;
		n = snprintf(tmp, tmplen, "%s.tmp%02x%02x%02x%02x%02x%02x",
			     path, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
			     rnd[5]);
		if (n < 0 || (size_t)n >= tmplen) {
			errno = ENAMETOOLONG;
			return -1;
		}
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
		if (fd != -1 || errno != EEXIST)
			return fd;
	}
	return -1;
}

static int write_file(const char *path, const gnutls_datum_t *data, mode_t mode,
		      char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	const char *what;
	int fd, rc = EG_E_IO;

	fd = create_temp(path, mode, tmp, sizeof(tmp));
	if (fd == -1) {
		eg_pki_err(err, errlen, "%s: cannot create: %s", path,
			   strerror(errno));
		return EG_E_IO;
	}
	/* open() applied the umask; the modes are part of the contract, so
	 * set them exactly (0600 grants nothing beyond the owner anyway). */
	what = "chmod";
	if (fchmod(fd, mode) == -1)
		goto fail;
	what = "write";
	if (write_all(fd, data->data, data->size) == -1)
		goto fail;
	what = "fsync";
	if (fsync(fd) == -1)
		goto fail;
	what = "close";
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	what = "rename";
	if (rename(tmp, path) == -1)
		goto fail;
	sync_parent_dir(path);
	return 0;
fail:
	eg_pki_err(err, errlen, "%s: %s: %s", path, what, strerror(errno));
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return rc;
}

/* Writes the PEM a gnutls_*_export2() call returned `ret` for, then wipes
 * and frees it (it may be a private key). */
static int write_pem(const char *path, const char *what, int ret,
		     gnutls_datum_t *pem, mode_t mode, char *err, size_t errlen)
{
	int rc = EG_E_TLS;

	if (ret < 0)
		eg_pki_err(err, errlen, "%s: cannot encode %s: %s", path, what,
			   gnutls_strerror(ret));
	else
		rc = write_file(path, pem, mode, err, errlen);
	gnutls_memset(pem->data, 0, pem->size);
	gnutls_free(pem->data);
	return rc;
}

int eg_pki_write_cert(const char *path, gnutls_x509_crt_t crt, char *err,
		      size_t errlen)
{
	gnutls_datum_t pem = {NULL, 0};
	int ret = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &pem);

	return write_pem(path, "certificate", ret, &pem, 0644, err, errlen);
}

int eg_pki_write_key(const char *path, gnutls_x509_privkey_t key, char *err,
		     size_t errlen)
{
	gnutls_datum_t pem = {NULL, 0};
	/* Unencrypted PKCS#8: what GnuTLS, OpenSSL, nginx and httpd all read. */
	int ret = gnutls_x509_privkey_export2_pkcs8(
		key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &pem);

	return write_pem(path, "private key", ret, &pem, 0600, err, errlen);
}

int eg_pki_write_crl(const char *path, gnutls_x509_crl_t crl, char *err,
		     size_t errlen)
{
	gnutls_datum_t pem = {NULL, 0};
	int ret = gnutls_x509_crl_export2(crl, GNUTLS_X509_FMT_PEM, &pem);

	return write_pem(path, "CRL", ret, &pem, 0644, err, errlen);
}

/* Reads a whole file into out->data (malloc'd, caller wipes and frees). */
static int read_file(const char *path, gnutls_datum_t *out, char *err,
		     size_t errlen)
{
	struct stat st;
	unsigned char *buf = NULL;
	size_t have = 0;
	ssize_t r;
	int fd, rc = EG_E_IO;

	out->data = NULL;
	out->size = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		eg_pki_err(err, errlen, "%s: %s", path, strerror(errno));
		return EG_E_IO;
	}
	if (fstat(fd, &st) == -1) {
		eg_pki_err(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > PEM_MAX_SIZE) {
		eg_pki_err(err, errlen,
			   "%s: not a regular file of at most %d "
			   "bytes",
			   path, PEM_MAX_SIZE);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		eg_pki_err(err, errlen, "%s: out of memory", path);
		rc = EG_E_NOMEM;
		goto out;
	}
	while (have < (size_t)st.st_size) {
		r = read(fd, buf + have, (size_t)st.st_size - have);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			eg_pki_err(err, errlen, "%s: %s", path,
				   strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		have += (size_t)r;
	}
	buf[have] = '\0';
	out->data = buf;
	out->size = (unsigned)have;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

/* Parsers of read_pem(); `out` points to the object pointer to set. */
static int crt_import_pem(const gnutls_datum_t *data, void *out)
{
	return eg_pki_crt_import(data, GNUTLS_X509_FMT_PEM, out);
}

static int key_import_pem(const gnutls_datum_t *data, void *out)
{
	gnutls_x509_privkey_t *key = out;
	int ret = gnutls_x509_privkey_init(key);

	if (ret < 0) {
		*key = NULL;
		return ret;
	}
	/* import2 accepts PKCS#8 and the legacy RSA/EC PEM forms alike. */
	ret = gnutls_x509_privkey_import2(*key, data, GNUTLS_X509_FMT_PEM, NULL,
					  0);
	if (ret < 0) {
		gnutls_x509_privkey_deinit(*key);
		*key = NULL;
	}
	return ret;
}

/* Reads path and parses it with `import` into out; the file's bytes are
 * wiped (they may be a private key). A parse error names what the file is
 * not. */
static int read_pem(const char *path, const char *what,
		    int (*import)(const gnutls_datum_t *, void *), void *out,
		    char *err, size_t errlen)
{
	gnutls_datum_t data;
	int ret, rc;

	rc = read_file(path, &data, err, errlen);
	if (rc < 0)
		return rc;
	ret = import(&data, out);
	gnutls_memset(data.data, 0, data.size);
	free(data.data);
	if (ret >= 0)
		return 0;
	eg_pki_err(err, errlen, "%s: not %s: %s", path, what,
		   gnutls_strerror(ret));
	return ret == GNUTLS_E_MEMORY_ERROR ? EG_E_NOMEM : EG_E_PARSE;
}

int eg_pki_read_cert(const char *path, gnutls_x509_crt_t *out, char *err,
		     size_t errlen)
{
	*out = NULL;
	return read_pem(path, "a PEM certificate", crt_import_pem, out, err,
			errlen);
}

int eg_pki_read_key(const char *path, gnutls_x509_privkey_t *out, char *err,
		    size_t errlen)
{
	*out = NULL;
	return read_pem(path, "an unencrypted PEM private key", key_import_pem,
			out, err, errlen);
}
