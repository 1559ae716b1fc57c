/* SPDX-License-Identifier: Apache-2.0 */
/*
 * eg-loadgen: mutual-TLS load for edgeguard's benchmark (tests/bench/run.sh).
 * Options, start-up and the report; the connections live in lg_conn.c.
 * Prints one JSON object on stdout; diagnostics go to stderr.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <jansson.h>

#include "loadgen.h"

#define DEFAULT_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3"

static atomic_bool stop_flag;

static const char *const mode_names[] = {
	[LG_HANDSHAKE] = "handshake", [LG_RESUME] = "resume",
	[LG_KEEPALIVE] = "keepalive", [LG_REJECT] = "reject",
	[LG_IDLE] = "idle",
};

/* What LG_C_OPS counts, per mode. */
static const char *const unit_names[] = {
	[LG_HANDSHAKE] = "connections", [LG_RESUME] = "connections",
	[LG_KEEPALIVE] = "responses",	[LG_REJECT] = "rejections",
	[LG_IDLE] = "held_connections",
};

static const char *const counter_names[LG_C_MAX] = {
	[LG_C_CONNECTS] = "connects",
	[LG_C_HANDSHAKES] = "handshakes",
	[LG_C_FULL] = "full_handshakes",
	[LG_C_RESUMED] = "resumed_handshakes",
	[LG_C_REQUESTS] = "requests",
	[LG_C_RESPONSES] = "responses",
	[LG_C_S2XX] = "status_2xx",
	[LG_C_S3XX] = "status_3xx",
	[LG_C_S4XX] = "status_4xx",
	[LG_C_S5XX] = "status_5xx",
	[LG_C_SOTHER] = "status_other",
	[LG_C_S403] = "status_403",
	[LG_C_OPS] = "ops",
	[LG_C_REJ_ALERT] = "rejected_alert",
	[LG_C_REJ_HTTP] = "rejected_http",
	[LG_C_REJ_CLOSE] = "rejected_close",
	[LG_C_SERVER_CLOSE] = "server_closes",
	[LG_C_HELD] = "held",
	[LG_C_IDLE_LOST] = "idle_lost",
	[LG_C_E_CONNECT] = "err_connect",
	[LG_C_E_TLS] = "err_tls",
	[LG_C_E_HTTP] = "err_http",
	[LG_C_E_EOF] = "err_eof",
	[LG_C_E_TIMEOUT] = "err_timeout",
	[LG_C_E_STATUS] = "err_status",
};

static void usage(FILE *f)
{
	fputs("usage: eg-loadgen -m MODE -a ADDRESS [OPTIONS]\n"
	      "Mutual-TLS load; prints one JSON object on stdout.\n"
	      "\n"
	      "  -m, --mode MODE       handshake  a new connection each time\n"
	      "                        resume     the same, resuming the "
	      "slot's "
	      "last TLS 1.3 ticket\n"
	      "                        keepalive  requests over persistent "
	      "connections\n"
	      "                        reject     counts 4xx, alerts and "
	      "closes "
	      "per second\n"
	      "                        idle       open -c connections, one "
	      "request each, hold\n"
	      "  -a, --address ADDR    server: 127.0.0.1:8443, [::1]:8443\n"
	      "  -t, --threads N       threads, one epoll loop each (1)\n"
	      "  -c, --connections N   connections over all threads (1)\n"
	      "  -d, --duration S      seconds, 1..3600 (10)\n"
	      "  --request             handshake: one GET per connection\n"
	      "  --no-request          idle: hold right after the handshake\n"
	      "  --ca FILE             verify the server against FILE\n"
	      "  --cert FILE --key FILE  client certificate (else none)\n"
	      "  --sni NAME            server name sent and verified\n"
	      "  --host NAME           Host header (default: --sni, else "
	      "localhost)\n"
	      "  --path PATH           request target (/)\n"
	      "  --priority STR        GnuTLS priority (" DEFAULT_PRIORITY ")\n"
	      "  --timeout MS          per connect, handshake, response "
	      "(10000)\n"
	      "  --expect-status N     other statuses are errors (200; 0: "
	      "any)\n"
	      "  --open-concurrency N  idle: handshakes in flight per thread "
	      "(32)\n"
	      "  --ready-file FILE     idle: created once all are open\n",
	      f);
}

/* Parses a decimal in [min, max]; false (nothing stored) otherwise. */
static bool parse_uint(const char *s, unsigned long min, unsigned long max,
		       unsigned *out)
{
	unsigned long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

static bool parse_address(const char *s, struct lg_opts *o)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char host[256];
	const char *port;
	size_t hl;
	int ret;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return false;
		hl = (size_t)(close - s - 1);
		port = close + 2;
		s++;
	} else {
		const char *colon = strrchr(s, ':');

		if (colon == NULL)
			return false;
		hl = (size_t)(colon - s);
		port = colon + 1;
	}
	if (hl == 0 || hl >= sizeof(host))
		return false;
	memcpy(host, s, hl);
	host[hl] = '\0';
	ret = getaddrinfo(host, port, &hints, &res);
	if (ret != 0) {
		fprintf(stderr, "eg-loadgen: %s: %s\n", host,
			gai_strerror(ret));
		return false;
	}
	memcpy(&o->addr, res->ai_addr, res->ai_addrlen);
	o->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return true;
}

/* Header and request-target bytes: visible ASCII only (spaces too in a
 * Host would split the request line's neighbour, so none anywhere). */
static bool token_ok(const char *s)
{
	if (s[0] == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s <= ' ' || *s >= 127)
			return false;
	}
	return true;
}

enum {
	OPT_REQUEST = 256,
	OPT_NO_REQUEST,
	OPT_CA,
	OPT_CERT,
	OPT_KEY,
	OPT_SNI,
	OPT_HOST,
	OPT_PATH,
	OPT_PRIORITY,
	OPT_TIMEOUT,
	OPT_EXPECT,
	OPT_OPEN,
	OPT_READY,
};

static const struct option long_opts[] = {
	{"mode", required_argument, NULL, 'm'},
	{"address", required_argument, NULL, 'a'},
	{"threads", required_argument, NULL, 't'},
	{"connections", required_argument, NULL, 'c'},
	{"duration", required_argument, NULL, 'd'},
	{"request", no_argument, NULL, OPT_REQUEST},
	{"no-request", no_argument, NULL, OPT_NO_REQUEST},
	{"ca", required_argument, NULL, OPT_CA},
	{"cert", required_argument, NULL, OPT_CERT},
	{"key", required_argument, NULL, OPT_KEY},
	{"sni", required_argument, NULL, OPT_SNI},
	{"host", required_argument, NULL, OPT_HOST},
	{"path", required_argument, NULL, OPT_PATH},
	{"priority", required_argument, NULL, OPT_PRIORITY},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"expect-status", required_argument, NULL, OPT_EXPECT},
	{"open-concurrency", required_argument, NULL, OPT_OPEN},
	{"ready-file", required_argument, NULL, OPT_READY},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static const char *option_name(int ch)
{
	for (const struct option *o = long_opts; o->name != NULL; o++) {
		if (o->val == ch)
			return o->name;
	}
	return "?";
}

static bool parse_mode(const char *s, enum lg_mode *m)
{
	for (unsigned i = 0; i < sizeof(mode_names) / sizeof(*mode_names);
	     i++) {
		if (strcmp(s, mode_names[i]) == 0) {
			*m = (enum lg_mode)i;
			return true;
		}
	}
	return false;
}

/* Returns 0, or 2 after printing what is wrong. */
static int parse_args(int argc, char **argv, struct lg_opts *o)
{
	bool have_mode = false, no_request = false;
	unsigned status = 200;
	int ch;

	o->threads = 1;
	o->conns = 1;
	o->seconds = 10;
	o->timeout_ms = 10000;
	o->open_concurrency = 32;
	o->path = "/";
	o->priority = DEFAULT_PRIORITY;
	while ((ch = getopt_long(argc, argv, "m:a:t:c:d:h", long_opts, NULL)) !=
	       -1) {
		bool ok = true;

		switch (ch) {
		case 'm':
			ok = have_mode = parse_mode(optarg, &o->mode);
			break;
		case 'a':
			o->address = optarg;
			ok = parse_address(optarg, o);
			break;
		case 't':
			ok = parse_uint(optarg, 1, 256, &o->threads);
			break;
		case 'c':
			ok = parse_uint(optarg, 1, 1000000, &o->conns);
			break;
		case 'd':
			ok = parse_uint(optarg, 1, 3600, &o->seconds);
			break;
		case OPT_REQUEST:
			o->request = true;
			break;
		case OPT_NO_REQUEST:
			no_request = true;
			break;
		case OPT_CA:
			o->ca = optarg;
			break;
		case OPT_CERT:
			o->cert = optarg;
			break;
		case OPT_KEY:
			o->key = optarg;
			break;
		case OPT_SNI:
			o->sni = optarg;
			break;
		case OPT_HOST:
			o->host = optarg;
			break;
		case OPT_PATH:
			o->path = optarg;
			break;
		case OPT_PRIORITY:
			o->priority = optarg;
			break;
		case OPT_TIMEOUT:
			ok = parse_uint(optarg, 1, 3600000, &o->timeout_ms);
			break;
		case OPT_EXPECT:
			ok = parse_uint(optarg, 0, 999, &status) &&
			     (status == 0 || status >= 100);
			break;
		case OPT_OPEN:
			ok = parse_uint(optarg, 1, 100000,
					&o->open_concurrency);
			break;
		case OPT_READY:
			o->ready_file = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
		if (!ok) {
			fprintf(stderr, "eg-loadgen: --%s: bad value '%s'\n",
				option_name(ch), optarg);
			return 2;
		}
	}
	o->expect_status = (int)status;
	if (optind != argc || !have_mode || o->address == NULL) {
		fputs("eg-loadgen: -m MODE and -a ADDRESS are required, and "
		      "nothing else\n",
		      stderr);
		usage(stderr);
		return 2;
	}
	if ((o->cert == NULL) != (o->key == NULL)) {
		fputs("eg-loadgen: --cert and --key go together\n", stderr);
		return 2;
	}
	if (o->conns < o->threads) {
		fputs("eg-loadgen: fewer connections than threads\n", stderr);
		return 2;
	}
	if (o->host == NULL)
		o->host = o->sni != NULL ? o->sni : "localhost";
	if (!token_ok(o->host) || !token_ok(o->path) || o->path[0] != '/') {
		fputs("eg-loadgen: --host and --path: visible ASCII, and "
		      "the path starts with /\n",
		      stderr);
		return 2;
	}
	/* Every mode but a bare handshake exchanges one request at least. */
	if (o->mode == LG_IDLE)
		o->request = !no_request;
	else if (o->mode != LG_HANDSHAKE)
		o->request = true;
	return 0;
}

static int load_tls(struct lg_shared *sh)
{
	const struct lg_opts *o = sh->o;
	const char *errpos = NULL;
	int ret;

	ret = gnutls_certificate_allocate_credentials(&sh->cred);
	if (ret < 0) {
		fprintf(stderr, "eg-loadgen: %s\n", gnutls_strerror(ret));
		return -1;
	}
	if (o->ca != NULL) {
		ret = gnutls_certificate_set_x509_trust_file(
			sh->cred, o->ca, GNUTLS_X509_FMT_PEM);
		if (ret <= 0) {
			fprintf(stderr, "eg-loadgen: %s: %s\n", o->ca,
				ret < 0 ? gnutls_strerror(ret)
					: "no certificate");
			return -1;
		}
	}
	if (o->cert != NULL) {
		ret = gnutls_certificate_set_x509_key_file(
			sh->cred, o->cert, o->key, GNUTLS_X509_FMT_PEM);
		if (ret < 0) {
			fprintf(stderr, "eg-loadgen: %s / %s: %s\n", o->cert,
				o->key, gnutls_strerror(ret));
			return -1;
		}
	}
	ret = gnutls_priority_init2(&sh->prio, o->priority, &errpos, 0);
	if (ret < 0) {
		fprintf(stderr, "eg-loadgen: priority near '%.32s': %s\n",
			errpos ? errpos : "", gnutls_strerror(ret));
		return -1;
	}
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_flag, true);
}

static void setup_process(const struct lg_opts *o)
{
	struct sigaction sa;
	struct rlimit rl;
	rlim_t want = (rlim_t)o->conns + 64;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur < want)
			fprintf(stderr,
				"eg-loadgen: only %llu file descriptors for "
				"%u connections\n",
				(unsigned long long)rl.rlim_cur, o->conns);
	}
}

static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

/* Builds the report from the summed counters and histogram. */
static json_t *report(const struct lg_opts *o, const uint64_t *c,
		      const struct lg_hist *h, double elapsed,
		      const char *first_error)
{
	json_t *j = json_object();
	uint64_t errors = 0;
	struct rusage ru;
	double cpu = 0;

	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		      (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	for (unsigned i = LG_C_FIRST_ERROR; i < LG_C_MAX; i++)
		errors += c[i];
	json_object_set_new(j, "mode", json_string(mode_names[o->mode]));
	json_object_set_new(j, "address", json_string(o->address));
	json_object_set_new(j, "threads", json_integer(o->threads));
	json_object_set_new(j, "connections", json_integer(o->conns));
	json_object_set_new(j, "request", json_boolean(o->request));
	json_object_set_new(j, "priority", json_string(o->priority));
	json_object_set_new(j, "duration_s", json_integer(o->seconds));
	json_object_set_new(j, "elapsed_s", json_real(elapsed));
	json_object_set_new(j, "unit", json_string(unit_names[o->mode]));
	json_object_set_new(j, "ops_per_s",
			    json_real(elapsed > 0 ? c[LG_C_OPS] / elapsed : 0));
	for (unsigned i = 0; i < LG_C_MAX; i++)
		json_object_set_new(j, counter_names[i],
				    json_integer((json_int_t)c[i]));
	json_object_set_new(j, "errors", json_integer((json_int_t)errors));
	json_object_set_new(j, "first_error",
			    first_error ? json_string(first_error)
					: json_null());
	json_object_set_new(j, "latency_count",
			    json_integer((json_int_t)h->count));
	json_object_set_new(j, "latency_min_us",
			    json_real(h->count ? us(h->min) : 0));
	json_object_set_new(
		j, "latency_mean_us",
		json_real(h->count ? us(h->sum) / (double)h->count : 0));
	json_object_set_new(j, "latency_p50_us",
			    json_real(us(lg_hist_quantile(h, 0.5))));
	json_object_set_new(j, "latency_p90_us",
			    json_real(us(lg_hist_quantile(h, 0.9))));
	json_object_set_new(j, "latency_p99_us",
			    json_real(us(lg_hist_quantile(h, 0.99))));
	json_object_set_new(j, "latency_p999_us",
			    json_real(us(lg_hist_quantile(h, 0.999))));
	json_object_set_new(j, "latency_max_us", json_real(us(h->max)));
	json_object_set_new(j, "client_cpu_s", json_real(cpu));
	return j;
}

int main(int argc, char **argv)
{
	struct lg_opts o = {0};
	struct lg_shared sh = {0};
	struct lg_thread *threads = NULL;
	struct lg_hist *hist = NULL;
	uint64_t sum[LG_C_MAX] = {0}, start, stopped = 0;
	const char *first_error = NULL;
	char *req = NULL;
	unsigned started = 0;
	json_t *j;
	int ret = 1, len;

	ret = parse_args(argc, argv, &o);
	if (ret != 0)
		return ret;
	ret = 1;
	setup_process(&o);
	sh.o = &o;
	sh.stop = &stop_flag;
	if (gnutls_global_init() < 0 || load_tls(&sh) == -1)
		goto out;
	len = snprintf(NULL, 0,
		       "GET %s HTTP/1.1\r\nHost: %s\r\n"
		       "User-Agent: eg-loadgen\r\n\r\n",
		       o.path, o.host);
	req = malloc((size_t)len + 1);
	threads = calloc(o.threads, sizeof(*threads));
	hist = malloc(sizeof(*hist));
	if (req == NULL || threads == NULL || hist == NULL) {
		fputs("eg-loadgen: out of memory\n", stderr);
		goto out;
	}
	snprintf(
		req, (size_t)len + 1,
		"GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: eg-loadgen\r\n\r\n",
		o.path, o.host);
	sh.req = req;
	sh.req_len = (size_t)len;
	lg_hist_init(hist);
	pthread_mutex_init(&sh.lock, NULL);
	pthread_cond_init(&sh.cond, NULL);
	for (; started < o.threads; started++) {
		struct lg_thread *t = &threads[started];

		t->id = started;
		t->sh = &sh;
		t->ep = -1;
		t->nconns = o.conns / o.threads +
			    (started < o.conns % o.threads ? 1 : 0);
		if (pthread_create(&t->tid, NULL, lg_thread_main, t) != 0) {
			fputs("eg-loadgen: cannot start a thread\n", stderr);
			break;
		}
	}
	/* The clock starts for all threads at once. */
	pthread_mutex_lock(&sh.lock);
	start = lg_now_ns();
	sh.end_ns = start + (uint64_t)o.seconds * 1000000000ull;
	sh.go = started == o.threads ? 1 : -1;
	pthread_cond_broadcast(&sh.cond);
	pthread_mutex_unlock(&sh.lock);
	for (unsigned i = 0; i < started; i++) {
		pthread_join(threads[i].tid, NULL);
		if (threads[i].stopped_ns > stopped)
			stopped = threads[i].stopped_ns;
	}
	pthread_cond_destroy(&sh.cond);
	pthread_mutex_destroy(&sh.lock);
	if (started < o.threads)
		goto out;
	for (unsigned i = 0; i < o.threads; i++) {
		struct lg_thread *t = &threads[i];

		if (t->setup_error != 0) {
			fprintf(stderr, "eg-loadgen: thread %u: %s\n", i,
				strerror(-t->setup_error));
			goto out;
		}
		for (unsigned k = 0; k < LG_C_MAX; k++)
			sum[k] += t->c[k];
		lg_hist_merge(hist, t->hist);
		if (first_error == NULL && t->first_error[0] != '\0')
			first_error = t->first_error;
	}
	j = report(&o, sum, hist, (double)(stopped - start) / 1e9, first_error);
	if (j == NULL || json_dumpf(j, stdout, JSON_COMPACT) == -1) {
		fputs("eg-loadgen: cannot write the report\n", stderr);
		json_decref(j);
		goto out;
	}
	json_decref(j);
	fputc('\n', stdout);
	ret = fflush(stdout) == 0 ? 0 : 1;
out:
	if (threads != NULL) {
		for (unsigned i = 0; i < o.threads; i++)
			free(threads[i].hist);
	}
	free(threads);
	free(hist);
	free(req);
	if (sh.prio != NULL)
		gnutls_priority_deinit(sh.prio);
	if (sh.cred != NULL)
		gnutls_certificate_free_credentials(sh.cred);
	gnutls_global_deinit();
	return ret;
}
