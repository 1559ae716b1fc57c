/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `edgeguard pki`: a demo CA, origin and edge certificates in one command,
 * plus the odd certificates a demo or a test needs (expired, without
 * clientAuth, from a foreign CA, revoked).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "cli_pki.h"
#include "cli_util.h"
#include "pki.h"

#define CA_DAYS	   (10 * 365)
#define CRL_DAYS   30
#define DEMO_CA_CN "edgeguard demo CA"
#define EDGE_URI   "spiffe://example.net/edge/1"

/* A CA certificate and its key; NULL when not loaded. */
struct pki_ca {
	gnutls_x509_crt_t crt;
	gnutls_x509_privkey_t key;
};

static void ca_release(struct pki_ca *ca)
{
	if (ca->crt != NULL)
		gnutls_x509_crt_deinit(ca->crt);
	if (ca->key != NULL)
		gnutls_x509_privkey_deinit(ca->key);
}

static int join(char *buf, const char *a, const char *b)
{
	int n = snprintf(buf, PATH_LEN, "%s%s", a, b);

	return n < 0 || n >= PATH_LEN ? -1 : 0;
}

/* Names every file that exists; refuses them all unless forced. */
static int refuse_existing(const char *const *paths, size_t n, bool force)
{
	struct stat st;
	size_t i;
	int found = 0;

	for (i = 0; i < n && !force; i++) {
		if (lstat(paths[i], &st) == 0) {
			fprintf(stderr, "edgeguard %s: %s exists\n",
				eg_cli_pki_cmd, paths[i]);
			found = 1;
		}
	}
	if (found)
		eg_cli_pki_fail("not replacing existing files without --force");
	return found ? -1 : 0;
}

static int make_dir(const char *dir)
{
	char msg[ERR_LEN];
	struct stat st;

	if (mkdir(dir, 0755) == 0)
		return 0;
	if (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	snprintf(msg, sizeof(msg), "%s: cannot create directory: %s", dir,
		 strerror(errno == EEXIST ? ENOTDIR : errno));
	eg_cli_pki_fail(msg);
	return -1;
}

static void print_sans(gnutls_x509_crt_t crt)
{
	char buf[1024], ip[INET6_ADDRSTRLEN];
	unsigned type, i;
	size_t len;

	for (i = 0;; i++) {
		len = sizeof(buf);
		if (gnutls_x509_crt_get_subject_alt_name2(crt, i, buf, &len,
							  &type, NULL) < 0)
			return;
		fputs(i == 0 ? "; " : ", ", stdout);
		if (type == GNUTLS_SAN_IPADDRESS &&
		    inet_ntop(len == 4 ? AF_INET : AF_INET6, buf, ip,
			      sizeof(ip)) != NULL) {
			printf("IP:%s", ip);
			continue;
		}
		fputs(type == GNUTLS_SAN_DNSNAME      ? "DNS:"
		      : type == GNUTLS_SAN_URI	      ? "URI:"
		      : type == GNUTLS_SAN_RFC822NAME ? "email:"
						      : "other:",
		      stdout);
		eg_cli_print_escaped(stdout, buf, len);
	}
}

/* One line per certificate: subject, SANs, EKU, expiry. What it prints is
 * read back from the certificate and escaped like any certificate text. */
static void print_summary(const char *path, gnutls_x509_crt_t crt)
{
	gnutls_datum_t dn = {NULL, 0};
	char oid[128], when[32];
	unsigned i, ca = 0;
	size_t len;

	printf("wrote %s  ", path);
	if (gnutls_x509_crt_get_dn3(crt, &dn, 0) >= 0 && dn.size > 0)
		eg_cli_print_escaped(stdout, (const char *)dn.data, dn.size);
	else
		fputs("(empty subject)", stdout);
	gnutls_free(dn.data);
	if (gnutls_x509_crt_get_basic_constraints(crt, NULL, &ca, NULL) > 0)
		fputs("; CA", stdout);
	print_sans(crt);
	for (i = 0;; i++) {
		len = sizeof(oid);
		if (gnutls_x509_crt_get_key_purpose_oid(crt, i, oid, &len,
							NULL) < 0)
			break;
		fputs(i == 0 ? "; " : ", ", stdout);
		fputs(strcmp(oid, GNUTLS_KP_TLS_WWW_CLIENT) == 0 ? "clientAuth"
		      : strcmp(oid, GNUTLS_KP_TLS_WWW_SERVER) == 0
			      ? "serverAuth"
			      : oid,
		      stdout);
	}
	printf("; expires %s\n",
	       eg_cli_format_time(gnutls_x509_crt_get_expiration_time(crt),
				  when, sizeof(when)));
}

/* Generates a key, issues its certificate (self-signed when ca is NULL),
 * writes both and says so. On success the caller may keep the certificate
 * and key in `keep` (release it with ca_release()); else they are freed. */
static int mint(const struct eg_pki_spec *spec, const struct eg_cli_pki_args *a,
		const struct pki_ca *ca, const char *cert_path,
		const char *key_path, struct pki_ca *keep)
{
	struct pki_ca made = {NULL, NULL};
	char err[ERR_LEN] = "key generation failed";
	int rc = EG_EXIT_REJECT;

	if (eg_pki_key_generate(a->key_type, a->rsa_bits, &made.key) < 0 ||
	    eg_pki_cert_issue(spec, made.key, ca != NULL ? ca->crt : NULL,
			      ca != NULL ? ca->key : NULL, &made.crt, err,
			      sizeof(err)) < 0 ||
	    eg_pki_write_key(key_path, made.key, err, sizeof(err)) < 0 ||
	    eg_pki_write_cert(cert_path, made.crt, err, sizeof(err)) < 0) {
		eg_cli_pki_fail(err);
		goto out;
	}
	print_summary(cert_path, made.crt);
	printf("wrote %s  private key, mode 0600\n", key_path);
	rc = EG_EXIT_OK;
	if (keep != NULL) {
		*keep = made;
		made = (struct pki_ca){NULL, NULL};
	}
out:
	ca_release(&made);
	return rc;
}

/* --ca names a directory holding ca.pem + ca.key, or a PREFIX of
 * PREFIX.pem + PREFIX.key. Returns 0 or -1 (reported). */
static int load_ca(const char *arg, struct pki_ca *ca)
{
	char cert_path[PATH_LEN], key_path[PATH_LEN], err[ERR_LEN];
	struct stat st;
	bool dir = stat(arg, &st) == 0 && S_ISDIR(st.st_mode);

	if (join(cert_path, arg, dir ? "/ca.pem" : ".pem") == -1 ||
	    join(key_path, arg, dir ? "/ca.key" : ".key") == -1) {
		eg_cli_pki_fail("--ca: path too long");
		return -1;
	}
	if (eg_pki_read_cert(cert_path, &ca->crt, err, sizeof(err)) < 0 ||
	    eg_pki_read_key(key_path, &ca->key, err, sizeof(err)) < 0) {
		ca_release(ca);
		*ca = (struct pki_ca){NULL, NULL};
		eg_cli_pki_fail(err);
		return -1;
	}
	return 0;
}

static const char init_help[] =
	"Usage: edgeguard pki init DIR [OPTIONS]\n"
	"Creates DIR if needed, with a demo CA and two certificates from it:\n"
	"  ca.pem, ca.key          root CA \"" DEMO_CA_CN "\"\n"
	"  origin.pem, origin.key  server certificate (serverAuth) for the\n"
	"                          origin names, plus IP 127.0.0.1 and ::1\n"
	"  edge.pem, edge.key      client certificate (clientAuth) with URI\n"
	"                          SAN " EDGE_URI "\n"
	"Keys are ECDSA P-256 unless --rsa, and mode 0600.\n\n"
	"  --origin-name NAME  origin DNS name or IP address (repeatable;\n"
	"                      default localhost); the first is also the CN\n"
	"  --edge-name NAME    edge CN and DNS name (default "
	"edge.example.net)\n"
	"  --rsa[=BITS]        RSA keys (default 2048 bits)\n"
	"  --days N            leaf validity in days (default 365); the CA\n"
	"                      gets 10 years, or N days if longer\n"
	"  --force             replace existing files\n";

static int init_mint(const char *dir, struct eg_cli_pki_args *a)
{
	static const char *const names[] = {"/ca.pem",	   "/ca.key",
					    "/origin.pem", "/origin.key",
					    "/edge.pem",   "/edge.key"};
	char paths[6][PATH_LEN];
	const char *path_v[6];
	struct eg_pki_spec ca_spec = {
		.cn = DEMO_CA_CN, .cn_len = strlen(DEMO_CA_CN), .is_ca = true};
	struct eg_pki_spec origin = {.eku = EG_PKI_EKU_SERVER_AUTH};
	struct eg_pki_spec edge = {.eku = EG_PKI_EKU_CLIENT_AUTH};
	struct pki_ca ca = {NULL, NULL};
	size_t i, n_origin;
	int rc;

	for (i = 0; i < 6; i++) {
		if (join(paths[i], dir, names[i]) == -1)
			return eg_cli_pki_fail("directory name too long");
		path_v[i] = paths[i];
	}
	if (make_dir(dir) == -1 || refuse_existing(path_v, 6, a->force) == -1)
		return EG_EXIT_REJECT;

	if (a->san_n == 0)
		eg_cli_pki_san_add(a, EG_SAN_DNS, "localhost", false);
	if (a->cn == NULL)
		a->cn = "localhost";
	eg_cli_pki_san_add(a, EG_SAN_IP, "127.0.0.1", false);
	eg_cli_pki_san_add(a, EG_SAN_IP, "::1", false);
	n_origin = a->san_n;
	eg_cli_pki_san_add(a, EG_SAN_DNS, a->edge_name, false);
	eg_cli_pki_san_add(a, EG_SAN_URI, EDGE_URI, false);

	origin.cn = a->cn;
	origin.cn_len = strlen(a->cn);
	origin.san = a->san;
	origin.san_count = n_origin;
	edge.cn = a->edge_name;
	edge.cn_len = strlen(a->edge_name);
	edge.san = a->san + n_origin;
	edge.san_count = 2;
	eg_cli_pki_validity(&ca_spec, a, a->days > CA_DAYS ? a->days : CA_DAYS);
	eg_cli_pki_validity(&origin, a, a->days);
	eg_cli_pki_validity(&edge, a, a->days);

	rc = mint(&ca_spec, a, NULL, paths[0], paths[1], &ca);
	if (rc == EG_EXIT_OK)
		rc = mint(&origin, a, &ca, paths[2], paths[3], NULL);
	if (rc == EG_EXIT_OK)
		rc = mint(&edge, a, &ca, paths[4], paths[5], NULL);
	ca_release(&ca);
	return rc;
}

static int cmd_init(int argc, char **argv, struct eg_cli_pki_args *a)
{
	int rc;

	a->edge_name = "edge.example.net";
	a->days = 365;
	rc = eg_cli_pki_parse(argc, argv, "hoerdf", init_help, "one directory",
			      a);
	if (rc != -1)
		return rc;
	if (a->edge_name[0] == '\0')
		return eg_cli_pki_usage("--edge-name: empty");
	return init_mint(argv[optind], a);
}

static const char issue_help[] =
	"Usage: edgeguard pki issue --ca DIR|PREFIX --out PREFIX [OPTIONS]\n"
	"Issues a leaf certificate signed by DIR/ca.pem + DIR/ca.key (or\n"
	"PREFIX.pem + PREFIX.key) into PREFIX.pem and PREFIX.key (mode 0600).\n"
	"\n"
	"  --client | --server | --no-eku  EKU clientAuth (default),\n"
	"                           serverAuth, or no EKU extension at all\n"
	"  --cn CN                  subject CN (default: the first --dns)\n"
	"  --dns NAME, --uri URI, --ip ADDR, --email ADDR\n"
	"                           subjectAltNames (repeatable)\n"
	"  --days N                 validity in days (default 365)\n"
	"  --not-before TIME        start of validity (default an hour ago)\n"
	"  --not-after TIME         end of validity (overrides --days)\n"
	"                           TIME: 2020-01-01T00:00:00Z or @EPOCH\n"
	"  --rsa[=BITS]             RSA key (default ECDSA P-256; 2048 bits)\n"
	"  --force                  replace existing files\n";

static int cmd_issue(int argc, char **argv, struct eg_cli_pki_args *a)
{
	char cert_path[PATH_LEN], key_path[PATH_LEN];
	const char *paths[2] = {cert_path, key_path};
	struct eg_pki_spec spec = {0};
	struct pki_ca ca = {NULL, NULL};
	int rc;

	a->eku = EG_PKI_EKU_CLIENT_AUTH;
	a->days = 365;
	rc = eg_cli_pki_parse(argc, argv, "hcOCSNnDUIEdBArf", issue_help, NULL,
			      a);
	if (rc != -1)
		return rc;
	if (a->ca == NULL || a->out == NULL)
		return eg_cli_pki_usage("--ca and --out are required");
	if (a->eku_opts > 1)
		return eg_cli_pki_usage(
			"--client, --server and --no-eku exclude "
			"each other");
	if (a->cn == NULL && a->san_n == 0)
		return eg_cli_pki_usage("give --cn or a subjectAltName");
	spec.cn = a->cn;
	spec.cn_len = a->cn != NULL ? strlen(a->cn) : 0;
	spec.san = a->san;
	spec.san_count = a->san_n;
	spec.eku = a->eku;
	eg_cli_pki_validity(&spec, a, a->days);
	if (spec.not_after < spec.not_before)
		return eg_cli_pki_usage("--not-after comes before the start of "
					"validity");
	if (join(cert_path, a->out, ".pem") == -1 ||
	    join(key_path, a->out, ".key") == -1)
		return eg_cli_pki_fail("--out: path too long");
	if (refuse_existing(paths, 2, a->force) == -1 ||
	    load_ca(a->ca, &ca) == -1)
		return EG_EXIT_REJECT;
	rc = mint(&spec, a, &ca, cert_path, key_path, NULL);
	ca_release(&ca);
	return rc;
}

static const char ca_help[] =
	"Usage: edgeguard pki ca --out DIR [OPTIONS]\n"
	"Creates a new root CA in DIR/ca.pem and DIR/ca.key (mode 0600).\n\n"
	"  --cn CN        subject CN (default \"" DEMO_CA_CN "\")\n"
	"  --days N       validity in days (default 10 years)\n"
	"  --rsa[=BITS]   RSA key (default ECDSA P-256; 2048 bits)\n"
	"  --force        replace existing files\n";

static int cmd_ca(int argc, char **argv, struct eg_cli_pki_args *a)
{
	char cert_path[PATH_LEN], key_path[PATH_LEN];
	const char *paths[2] = {cert_path, key_path};
	struct eg_pki_spec spec = {.is_ca = true};
	int rc;

	a->cn = DEMO_CA_CN;
	a->days = CA_DAYS;
	rc = eg_cli_pki_parse(argc, argv, "hOndrf", ca_help, NULL, a);
	if (rc != -1)
		return rc;
	if (a->out == NULL)
		return eg_cli_pki_usage("--out DIR is required");
	if (a->cn[0] == '\0')
		return eg_cli_pki_usage("--cn: empty");
	if (join(cert_path, a->out, "/ca.pem") == -1 ||
	    join(key_path, a->out, "/ca.key") == -1)
		return eg_cli_pki_fail("--out: path too long");
	if (make_dir(a->out) == -1 || refuse_existing(paths, 2, a->force) == -1)
		return EG_EXIT_REJECT;
	spec.cn = a->cn;
	spec.cn_len = strlen(a->cn);
	eg_cli_pki_validity(&spec, a, a->days);
	return mint(&spec, a, NULL, cert_path, key_path, NULL);
}

static const char crl_help[] =
	"Usage: edgeguard pki crl --ca DIR|PREFIX --out FILE [OPTIONS]\n"
	"Writes (or replaces) FILE with a CRL signed by the CA in DIR/ca.pem\n"
	"+ DIR/ca.key (or PREFIX.pem + PREFIX.key).\n\n"
	"  --revoke CERT.pem     revoke this certificate (repeatable)\n"
	"  --days N              next update in N days (default 30)\n"
	"  --this-update TIME    issue time (default now)\n"
	"  --next-update TIME    next update (overrides --days)\n"
	"                        TIME: 2020-01-01T00:00:00Z or @EPOCH\n";

static int crl_write(const struct eg_cli_pki_args *a)
{
	struct pki_ca ca = {NULL, NULL};
	gnutls_x509_crt_t *crts;
	gnutls_x509_crl_t crl = NULL;
	char err[ERR_LEN] = "";
	size_t i, n = 0;
	int rc = EG_EXIT_REJECT;

	crts = calloc(a->revoke_n + 1, sizeof(*crts));
	if (crts == NULL)
		return eg_cli_pki_fail("out of memory");
	if (load_ca(a->ca, &ca) == -1)
		goto out;
	for (n = 0; n < a->revoke_n; n++) {
		if (eg_pki_read_cert(a->revoke[n], &crts[n], err, sizeof(err)) <
		    0) {
			eg_cli_pki_fail(err);
			goto out;
		}
	}
	if (eg_pki_crl_issue(ca.crt, ca.key, crts, n, a->this_update,
			     a->next_update, &crl, err, sizeof(err)) < 0 ||
	    eg_pki_write_crl(a->out, crl, err, sizeof(err)) < 0) {
		eg_cli_pki_fail(err);
		goto out;
	}
	printf("wrote %s  CRL revoking %zu certificate%s, next update %s\n",
	       a->out, n, n == 1 ? "" : "s",
	       eg_cli_format_time(a->next_update, err, sizeof(err)));
	rc = EG_EXIT_OK;
out:
	if (crl != NULL)
		gnutls_x509_crl_deinit(crl);
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	free(crts);
	ca_release(&ca);
	return rc;
}

static int cmd_crl(int argc, char **argv, struct eg_cli_pki_args *a)
{
	int rc;

	a->days = CRL_DAYS;
	rc = eg_cli_pki_parse(argc, argv, "hcORdTX", crl_help, NULL, a);
	if (rc != -1)
		return rc;
	if (a->ca == NULL || a->out == NULL)
		return eg_cli_pki_usage("--ca and --out are required");
	if (a->this_update == 0)
		a->this_update = time(NULL);
	if (a->next_update == 0)
		a->next_update = a->this_update + (time_t)a->days * DAY_SECONDS;
	if (a->next_update <= a->this_update)
		return eg_cli_pki_usage("the next update must come after this "
					"update (for an expired CRL, give "
					"--this-update too)");
	return crl_write(a);
}

static const char pki_help[] =
	"Usage: edgeguard pki COMMAND [OPTIONS]\n"
	"Makes certificates for trying edgeguard out (ECDSA P-256 unless "
	"--rsa).\n\n"
	"  init DIR   demo CA, origin (server) and edge (client) certificates\n"
	"  issue      one leaf certificate from an existing CA\n"
	"  ca         a new root CA\n"
	"  crl        a CRL revoking given certificates\n\n"
	"'edgeguard pki COMMAND --help' describes each.\n";

int eg_cli_pki(int argc, char **argv)
{
	static const struct {
		const char *name;
		const char *full; /* for messages */
		int (*run)(int argc, char **argv, struct eg_cli_pki_args *a);
	} cmds[] = {
		{"init", "pki init", cmd_init},
		{"issue", "pki issue", cmd_issue},
		{"ca", "pki ca", cmd_ca},
		{"crl", "pki crl", cmd_crl},
	};
	struct eg_cli_pki_args a = {0};
	size_t i;
	int rc;

	eg_cli_pki_cmd = "pki";
	if (argc < 2)
		return eg_cli_pki_usage(
			"missing command (init, issue, ca or crl)");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(pki_help, stdout);
		return EG_EXIT_OK;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			break;
	if (i == sizeof(cmds) / sizeof(cmds[0]))
		return eg_cli_pki_usage("unknown command '%s'", argv[1]);
	eg_cli_pki_cmd = cmds[i].full;
	/* Every option adds at most one SAN or file; init adds 4 more. */
	a.san = calloc((size_t)argc + 4, sizeof(*a.san));
	a.ip = calloc((size_t)argc + 4, sizeof(*a.ip));
	a.revoke = calloc((size_t)argc, sizeof(*a.revoke));
	if (a.san == NULL || a.ip == NULL || a.revoke == NULL)
		rc = eg_cli_pki_fail("out of memory");
	else
		rc = cmds[i].run(argc - 1, argv + 1, &a);
	free(a.revoke);
	free(a.ip);
	free(a.san);
	return rc;
}
