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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "cli_util.h"
#include "pki.h"

#define DAY_SECONDS (24 * 60 * 60)
#define MAX_DAYS    (100 * 366)
#define CA_DAYS	    (10 * 365)
#define CRL_DAYS    30
#define DEMO_CA_CN  "edgeguard demo CA"
#define EDGE_URI    "spiffe://example.net/edge/1"
#define PATH_LEN    4096
#define ERR_LEN	    1024

/* Everything any pki subcommand accepts; each one's option table limits
 * what it can set. Arrays are sized by argc and owned. */
struct pki_args {
	enum eg_pki_key_type key_type;
	unsigned rsa_bits;
	unsigned days;		 /* 0: the subcommand's default */
	time_t not_before;	 /* 0: now - 1 hour */
	time_t not_after;	 /* 0: not_before + days */
	time_t this_update;	 /* crl; 0: now */
	time_t next_update;	 /* crl; 0: this_update + days */
	bool force;		 /* replace existing files */
	unsigned eku;		 /* issue: EG_PKI_EKU_* */
	unsigned eku_opts;	 /* how many of --client/--server/--no-eku */
	const char *ca;		 /* --ca DIR or PREFIX */
	const char *out;	 /* --out */
	const char *cn;		 /* --cn, or the first DNS/origin name */
	const char *edge_name;	 /* init */
	struct eg_pki_san *san;	 /* SANs in command-line order */
	unsigned char (*ip)[16]; /* storage behind EG_SAN_IP entries */
	size_t san_n;
	const char **revoke; /* crl: certificate files */
	size_t revoke_n;
};

static const char *cmd_name = "pki"; /* "pki init" etc., for messages */

static int usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "edgeguard %s: ", cmd_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'edgeguard %s --help'.\n", cmd_name);
	return EG_EXIT_USAGE;
}

static int failure(const char *msg)
{
	fprintf(stderr, "edgeguard %s: %s\n", cmd_name, msg);
	return EG_EXIT_REJECT;
}

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	unsigned long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int parse_time(const char *opt, const char *s, time_t *out)
{
	/* 0 means "default" in the pki specs: 1970 is no useful date. */
	if (eg_cli_parse_time(s, out) == -1 || *out <= 0)
		return usage_error("--%s: expected an RFC 3339 time "
				   "(2020-01-01T00:00:00Z) or @EPOCH: '%s'",
				   opt, s);
	return 0;
}

/* A name given as an address becomes an IP SAN. Returns 0 or exit 2. */
static int san_add(struct pki_args *a, enum eg_san_type type, const char *s,
		   bool guess_ip)
{
	struct eg_pki_san *san = &a->san[a->san_n];
	unsigned char *ip = a->ip[a->san_n];
	size_t i;

	san->type = type;
	san->data = s;
	san->len = strlen(s);
	if (type == EG_SAN_IP || guess_ip) {
		san->data = ip;
		if (inet_pton(AF_INET, s, ip) == 1)
			san->len = 4;
		else if (inet_pton(AF_INET6, s, ip) == 1)
			san->len = 16;
		else if (type == EG_SAN_IP)
			return usage_error("not an IP address: '%s'", s);
		else
			san->data = s;
		if (san->data == ip)
			san->type = EG_SAN_IP;
	}
	if (san->len == 0)
		return usage_error("empty name");
	for (i = 0; i < a->san_n; i++)
		if (a->san[i].type == san->type && a->san[i].len == san->len &&
		    memcmp(a->san[i].data, san->data, san->len) == 0)
			return 0; /* a repeated name adds nothing */
	a->san_n++;
	return 0;
}

/* Every option of every subcommand; `val` is what parse_args() switches
 * on and what a subcommand lists as its own. */
static const struct option options[] = {
	{"help", no_argument, NULL, 'h'},
	{"ca", required_argument, NULL, 'c'},
	{"out", required_argument, NULL, 'O'},
	{"cn", required_argument, NULL, 'n'},
	{"origin-name", required_argument, NULL, 'o'},
	{"edge-name", required_argument, NULL, 'e'},
	{"client", no_argument, NULL, 'C'},
	{"server", no_argument, NULL, 'S'},
	{"no-eku", no_argument, NULL, 'N'},
	{"dns", required_argument, NULL, 'D'},
	{"uri", required_argument, NULL, 'U'},
	{"ip", required_argument, NULL, 'I'},
	{"email", required_argument, NULL, 'E'},
	{"days", required_argument, NULL, 'd'},
	{"not-before", required_argument, NULL, 'B'},
	{"not-after", required_argument, NULL, 'A'},
	{"this-update", required_argument, NULL, 'T'},
	{"next-update", required_argument, NULL, 'X'},
	{"revoke", required_argument, NULL, 'R'},
	{"rsa", optional_argument, NULL, 'r'},
	{"force", no_argument, NULL, 'f'},
	{NULL, 0, NULL, 0},
};

/* Parses the options in `allowed` (option vals). Returns -1 to go on, or
 * the exit status (help, bad option). */
static int parse_args(int argc, char **argv, const char *allowed,
		      const char *help, struct pki_args *a)
{
	int c, rc, idx;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":", options, &idx)) != -1) {
		rc = 0;
		if (c != ':' && c != '?' && strchr(allowed, c) == NULL)
			return usage_error("--%s is not an option of this "
					   "command",
					   options[idx].name);
		switch (c) {
		case 'h':
			fputs(help, stdout);
			return EG_EXIT_OK;
		case 'r':
			a->key_type = EG_PKI_KEY_RSA;
			a->rsa_bits = 2048;
			if (optarg != NULL &&
			    parse_uint(optarg, 2048, 16384, &a->rsa_bits) == -1)
				rc = usage_error("--rsa: bits must be "
						 "2048..16384: '%s'",
						 optarg);
			break;
		case 'd':
			if (parse_uint(optarg, 1, MAX_DAYS, &a->days) == -1)
				rc = usage_error("--days: expected 1..%u: '%s'",
						 MAX_DAYS, optarg);
			break;
		case 'B':
			rc = parse_time("not-before", optarg, &a->not_before);
			break;
		case 'A':
			rc = parse_time("not-after", optarg, &a->not_after);
			break;
		case 'T':
			rc = parse_time("this-update", optarg, &a->this_update);
			break;
		case 'X':
			rc = parse_time("next-update", optarg, &a->next_update);
			break;
		case 'f':
			a->force = true;
			break;
		case 'C':
		case 'S':
		case 'N':
			a->eku_opts++;
			a->eku = c == 'C'   ? EG_PKI_EKU_CLIENT_AUTH
				 : c == 'S' ? EG_PKI_EKU_SERVER_AUTH
					    : 0;
			break;
		case 'c':
			a->ca = optarg;
			break;
		case 'O':
			a->out = optarg;
			break;
		case 'n':
			a->cn = optarg;
			break;
		case 'e':
			a->edge_name = optarg;
			break;
		case 'R':
			a->revoke[a->revoke_n++] = optarg;
			break;
		case 'o': /* init --origin-name: DNS name or address */
		case 'D':
			if (a->cn == NULL)
				a->cn = optarg;
			rc = san_add(a, EG_SAN_DNS, optarg, c == 'o');
			break;
		case 'U':
		case 'I':
		case 'E':
			rc = san_add(a,
				     c == 'U'	? EG_SAN_URI
				     : c == 'I' ? EG_SAN_IP
						: EG_SAN_EMAIL,
				     optarg, false);
			break;
		case ':':
			return usage_error("option '%s' needs an argument",
					   argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'",
					   argv[optind - 1]);
		}
		if (rc != 0)
			return rc;
	}
	return -1;
}

static void validity(struct eg_pki_spec *spec, const struct pki_args *a,
		     unsigned days)
{
	spec->not_before =
		a->not_before != 0 ? a->not_before : time(NULL) - 3600;
	spec->not_after =
		a->not_after != 0
			? a->not_after
			: spec->not_before + (time_t)days * DAY_SECONDS;
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
			fprintf(stderr, "edgeguard %s: %s exists\n", cmd_name,
				paths[i]);
			found = 1;
		}
	}
	if (found)
		failure("not replacing existing files without --force");
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
	failure(msg);
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
 * writes both and says so. On success the caller may take the certificate
 * and key through crt_out/key_out (else they are freed). */
static int mint(const struct eg_pki_spec *spec, const struct pki_args *a,
		gnutls_x509_crt_t ca, gnutls_x509_privkey_t ca_key,
		const char *cert_path, const char *key_path,
		gnutls_x509_crt_t *crt_out, gnutls_x509_privkey_t *key_out)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	char err[ERR_LEN] = "key generation failed";
	int rc = EG_EXIT_REJECT;

	if (eg_pki_key_generate(a->key_type, a->rsa_bits, &key) < 0 ||
	    eg_pki_cert_issue(spec, key, ca, ca_key, &crt, err, sizeof(err)) <
		    0 ||
	    eg_pki_write_key(key_path, key, err, sizeof(err)) < 0 ||
	    eg_pki_write_cert(cert_path, crt, err, sizeof(err)) < 0) {
		failure(err);
		goto out;
	}
	print_summary(cert_path, crt);
	printf("wrote %s  private key, mode 0600\n", key_path);
	rc = EG_EXIT_OK;
	if (crt_out != NULL) {
		*crt_out = crt;
		crt = NULL;
	}
	if (key_out != NULL) {
		*key_out = key;
		key = NULL;
	}
out:
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	return rc;
}

/* --ca names a directory holding ca.pem + ca.key, or a PREFIX of
 * PREFIX.pem + PREFIX.key. Returns 0 or -1 (reported). */
static int load_ca(const char *arg, gnutls_x509_crt_t *crt,
		   gnutls_x509_privkey_t *key)
{
	char cert_path[PATH_LEN], key_path[PATH_LEN], err[ERR_LEN];
	struct stat st;
	bool dir = stat(arg, &st) == 0 && S_ISDIR(st.st_mode);

	if (join(cert_path, arg, dir ? "/ca.pem" : ".pem") == -1 ||
	    join(key_path, arg, dir ? "/ca.key" : ".key") == -1) {
		failure("--ca: path too long");
		return -1;
	}
	if (eg_pki_read_cert(cert_path, crt, err, sizeof(err)) < 0) {
		failure(err);
		return -1;
	}
	if (eg_pki_read_key(key_path, key, err, sizeof(err)) < 0) {
		gnutls_x509_crt_deinit(*crt);
		*crt = NULL;
		failure(err);
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

static int init_mint(const char *dir, struct pki_args *a)
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
	gnutls_x509_crt_t ca = NULL;
	gnutls_x509_privkey_t ca_key = NULL;
	size_t i, n_origin;
	int rc;

	for (i = 0; i < 6; i++) {
		if (join(paths[i], dir, names[i]) == -1)
			return failure("directory name too long");
		path_v[i] = paths[i];
	}
	if (make_dir(dir) == -1 || refuse_existing(path_v, 6, a->force) == -1)
		return EG_EXIT_REJECT;

	if (a->san_n == 0)
		san_add(a, EG_SAN_DNS, "localhost", false);
	if (a->cn == NULL)
		a->cn = "localhost";
	san_add(a, EG_SAN_IP, "127.0.0.1", false);
	san_add(a, EG_SAN_IP, "::1", false);
	n_origin = a->san_n;
	san_add(a, EG_SAN_DNS, a->edge_name, false);
	san_add(a, EG_SAN_URI, EDGE_URI, false);

	origin.cn = a->cn;
	origin.cn_len = strlen(a->cn);
	origin.san = a->san;
	origin.san_count = n_origin;
	edge.cn = a->edge_name;
	edge.cn_len = strlen(a->edge_name);
	edge.san = a->san + n_origin;
	edge.san_count = 2;
	validity(&ca_spec, a, a->days > CA_DAYS ? a->days : CA_DAYS);
	validity(&origin, a, a->days);
	validity(&edge, a, a->days);

	rc = mint(&ca_spec, a, NULL, NULL, paths[0], paths[1], &ca, &ca_key);
	if (rc == EG_EXIT_OK)
		rc = mint(&origin, a, ca, ca_key, paths[2], paths[3], NULL,
			  NULL);
	if (rc == EG_EXIT_OK)
		rc = mint(&edge, a, ca, ca_key, paths[4], paths[5], NULL, NULL);
	if (ca != NULL)
		gnutls_x509_crt_deinit(ca);
	if (ca_key != NULL)
		gnutls_x509_privkey_deinit(ca_key);
	return rc;
}

static int cmd_init(int argc, char **argv, struct pki_args *a)
{
	int rc;

	a->edge_name = "edge.example.net";
	a->days = 365;
	rc = parse_args(argc, argv, "hoerdf", init_help, a);
	if (rc != -1)
		return rc;
	if (optind != argc - 1)
		return usage_error("expected one directory");
	if (a->edge_name[0] == '\0')
		return usage_error("--edge-name: empty");
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

static int cmd_issue(int argc, char **argv, struct pki_args *a)
{
	char cert_path[PATH_LEN], key_path[PATH_LEN];
	const char *paths[2] = {cert_path, key_path};
	struct eg_pki_spec spec = {0};
	gnutls_x509_crt_t ca = NULL;
	gnutls_x509_privkey_t ca_key = NULL;
	int rc;

	a->eku = EG_PKI_EKU_CLIENT_AUTH;
	a->days = 365;
	rc = parse_args(argc, argv, "hcOCSNnDUIEdBArf", issue_help, a);
	if (rc != -1)
		return rc;
	if (optind != argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (a->ca == NULL || a->out == NULL)
		return usage_error("--ca and --out are required");
	if (a->eku_opts > 1)
		return usage_error("--client, --server and --no-eku exclude "
				   "each other");
	if (a->cn == NULL && a->san_n == 0)
		return usage_error("give --cn or a subjectAltName");
	spec.cn = a->cn;
	spec.cn_len = a->cn != NULL ? strlen(a->cn) : 0;
	spec.san = a->san;
	spec.san_count = a->san_n;
	spec.eku = a->eku;
	validity(&spec, a, a->days);
	if (spec.not_after < spec.not_before)
		return usage_error("--not-after comes before the start of "
				   "validity");
	if (join(cert_path, a->out, ".pem") == -1 ||
	    join(key_path, a->out, ".key") == -1)
		return failure("--out: path too long");
	if (refuse_existing(paths, 2, a->force) == -1 ||
	    load_ca(a->ca, &ca, &ca_key) == -1)
		return EG_EXIT_REJECT;
	rc = mint(&spec, a, ca, ca_key, cert_path, key_path, NULL, NULL);
	gnutls_x509_crt_deinit(ca);
	gnutls_x509_privkey_deinit(ca_key);
	return rc;
}

static const char ca_help[] =
	"Usage: edgeguard pki ca --out DIR [OPTIONS]\n"
	"Creates a new root CA in DIR/ca.pem and DIR/ca.key (mode 0600).\n\n"
	"  --cn CN        subject CN (default \"" DEMO_CA_CN "\")\n"
	"  --days N       validity in days (default 10 years)\n"
	"  --rsa[=BITS]   RSA key (default ECDSA P-256; 2048 bits)\n"
	"  --force        replace existing files\n";

static int cmd_ca(int argc, char **argv, struct pki_args *a)
{
	char cert_path[PATH_LEN], key_path[PATH_LEN];
	const char *paths[2] = {cert_path, key_path};
	struct eg_pki_spec spec = {.is_ca = true};
	int rc;

	a->cn = DEMO_CA_CN;
	a->days = CA_DAYS;
	rc = parse_args(argc, argv, "hOndrf", ca_help, a);
	if (rc != -1)
		return rc;
	if (optind != argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (a->out == NULL)
		return usage_error("--out DIR is required");
	if (a->cn[0] == '\0')
		return usage_error("--cn: empty");
	if (join(cert_path, a->out, "/ca.pem") == -1 ||
	    join(key_path, a->out, "/ca.key") == -1)
		return failure("--out: path too long");
	if (make_dir(a->out) == -1 || refuse_existing(paths, 2, a->force) == -1)
		return EG_EXIT_REJECT;
	spec.cn = a->cn;
	spec.cn_len = strlen(a->cn);
	validity(&spec, a, a->days);
	return mint(&spec, a, NULL, NULL, cert_path, key_path, NULL, NULL);
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

static int crl_write(const struct pki_args *a)
{
	gnutls_x509_crt_t ca = NULL, *crts;
	gnutls_x509_privkey_t ca_key = NULL;
	gnutls_x509_crl_t crl = NULL;
	char err[ERR_LEN] = "";
	size_t i, n = 0;
	int rc = EG_EXIT_REJECT;

	crts = calloc(a->revoke_n + 1, sizeof(*crts));
	if (crts == NULL)
		return failure("out of memory");
	if (load_ca(a->ca, &ca, &ca_key) == -1)
		goto out;
	for (n = 0; n < a->revoke_n; n++) {
		if (eg_pki_read_cert(a->revoke[n], &crts[n], err, sizeof(err)) <
		    0) {
			failure(err);
			goto out;
		}
	}
	if (eg_pki_crl_issue(ca, ca_key, crts, n, a->this_update,
			     a->next_update, &crl, err, sizeof(err)) < 0 ||
	    eg_pki_write_crl(a->out, crl, err, sizeof(err)) < 0) {
		failure(err);
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
	if (ca != NULL)
		gnutls_x509_crt_deinit(ca);
	if (ca_key != NULL)
		gnutls_x509_privkey_deinit(ca_key);
	return rc;
}

static int cmd_crl(int argc, char **argv, struct pki_args *a)
{
	int rc;

	a->days = CRL_DAYS;
	rc = parse_args(argc, argv, "hcORdTX", crl_help, a);
	if (rc != -1)
		return rc;
	if (optind != argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (a->ca == NULL || a->out == NULL)
		return usage_error("--ca and --out are required");
	if (a->this_update == 0)
		a->this_update = time(NULL);
	if (a->next_update == 0)
		a->next_update = a->this_update + (time_t)a->days * DAY_SECONDS;
	if (a->next_update <= a->this_update)
		return usage_error("the next update must come after this "
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
		int (*run)(int argc, char **argv, struct pki_args *a);
	} cmds[] = {
		{"init", "pki init", cmd_init},
		{"issue", "pki issue", cmd_issue},
		{"ca", "pki ca", cmd_ca},
		{"crl", "pki crl", cmd_crl},
	};
	struct pki_args a = {0};
	size_t i;
	int rc;

	cmd_name = "pki";
	if (argc < 2)
		return usage_error("missing command (init, issue, ca or crl)");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(pki_help, stdout);
		return EG_EXIT_OK;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			break;
	if (i == sizeof(cmds) / sizeof(cmds[0]))
		return usage_error("unknown command '%s'", argv[1]);
	cmd_name = cmds[i].full;
	/* Every option adds at most one SAN or file; init adds 4 more. */
	a.san = calloc((size_t)argc + 4, sizeof(*a.san));
	a.ip = calloc((size_t)argc + 4, sizeof(*a.ip));
	a.revoke = calloc((size_t)argc, sizeof(*a.revoke));
	if (a.san == NULL || a.ip == NULL || a.revoke == NULL)
		rc = failure("out of memory");
	else
		rc = cmds[i].run(argc - 1, argv + 1, &a);
	free(a.revoke);
	free(a.ip);
	free(a.san);
	return rc;
}
