/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libconfig.h>

#include <edgeguard/alloc.h>

#include "cfg.h"
#include "core/dcfg.h"
#include "forwarder/fconfig.h"
#include "forwarder/metrics.h"

static const char *const top_keys[] = {
	"listen", "tls",     "workers",	       "limits",   "admin", "user",
	"group",  "origins", "default_origin", "log_file", NULL};
static const struct egd_cfg_uint_key limit_keys[] = {
	EGD_FRONT_LIMIT_KEYS(struct egf_limits)};
static const char *const origin_keys[] = {"name",
					  "hosts",
					  "servers",
					  "sni",
					  "verify_name",
					  "verify_hostname",
					  "client_cert",
					  "client_key",
					  "ca_file",
					  "priority",
					  "pool_size",
					  "connect_timeout_ms",
					  "handshake_timeout_ms",
					  "response_timeout_ms",
					  "idle_timeout_ms",
					  "retries",
					  NULL};

static void destroy(struct egd_dconf *d);

/* "host:port" of a server entry split; host is not an address literal
 * egd_addr_parse() took. Returns 0 or -1. */
static int split_host_port(const char *text, char *host, size_t hostlen,
			   const char **port)
{
	const char *colon = strrchr(text, ':');
	size_t len;

	if (colon == NULL || colon == text || colon[1] == '\0')
		return -1;
	len = (size_t)(colon - text);
	if (len >= hostlen)
		return -1;
	memcpy(host, text, len);
	host[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)host[i]) && host[i] != '-' &&
		    host[i] != '.')
			return -1;
	*port = colon + 1;
	return 0;
}

static int add_server(struct egf_origin *o, const struct egd_addr *a,
		      const char *text)
{
	struct egf_server *v;

	v = realloc(o->servers, (o->n_servers + 1) * sizeof(*v));
	if (v == NULL)
		return -1;
	o->servers = v;
	v = &o->servers[o->n_servers++];
	v->addr = *a;
	snprintf(v->text, sizeof(v->text), "%s", text);
	return 0;
}

/* A server is an address literal, a unix socket, or a DNS name resolved
 * now (every address it has becomes a server; a reload resolves again). */
static int load_server(struct egf_origin *o, const config_setting_t *e,
		       char *err, size_t errlen)
{
	const char *text = config_setting_get_string(e);
	struct addrinfo hints, *res = NULL;
	struct egd_addr a;
	char host[256], msg[256], ip[INET6_ADDRSTRLEN], label[300];
	const char *port;
	int ret;

	if (egd_addr_parse(text, &a, msg, sizeof(msg)) == 0)
		return add_server(o, &a, text) == -1
			       ? eg_cfg_error(err, errlen, e, "out of memory")
			       : 0;
	if (split_host_port(text, host, sizeof(host), &port) == -1)
		return eg_cfg_error(err, errlen, e,
				    "'%s': expected host:port, IPv4:port, "
				    "[IPv6]:port or unix:/path",
				    text);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
	ret = getaddrinfo(host, port, &hints, &res);
	if (ret != 0)
		return eg_cfg_error(err, errlen, e, "cannot resolve '%s': %s",
				    text, gai_strerror(ret));
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(a.ss))
			continue;
		memset(&a, 0, sizeof(a));
		memcpy(&a.ss, ai->ai_addr, ai->ai_addrlen);
		a.len = ai->ai_addrlen;
		if (ai->ai_family == AF_INET)
			inet_ntop(
				AF_INET,
				&((struct sockaddr_in *)ai->ai_addr)->sin_addr,
				ip, sizeof(ip));
		else
			inet_ntop(AF_INET6,
				  &((struct sockaddr_in6 *)ai->ai_addr)
					   ->sin6_addr,
				  ip, sizeof(ip));
		snprintf(label, sizeof(label), "%s (%s)", text, ip);
		if (add_server(o, &a, label) == -1) {
			freeaddrinfo(res);
			return eg_cfg_error(err, errlen, e, "out of memory");
		}
	}
	freeaddrinfo(res);
	return 0;
}

/* The host part of the first server when it is a name, for SNI. */
static bool first_server_name(const config_setting_t *servers, char *buf,
			      size_t buflen)
{
	const char *text =
		config_setting_get_string(config_setting_get_elem(servers, 0));
	struct in6_addr a6;
	const char *port;

	if (text == NULL || strncmp(text, "unix:", 5) == 0 ||
	    split_host_port(text, buf, buflen, &port) == -1)
		return false;
	return inet_pton(AF_INET, buf, &a6) != 1;
}

static int load_hosts(struct egf_origin *o, const config_setting_t *g,
		      char *err, size_t errlen)
{
	const config_setting_t *hosts;
	int ret = eg_cfg_string_array(g, "hosts", &hosts, err, errlen);

	if (ret < 0 || hosts == NULL)
		return ret;
	o->n_hosts = (size_t)config_setting_length(hosts);
	o->hosts = calloc(o->n_hosts + 1, sizeof(*o->hosts));
	if (o->hosts == NULL)
		return eg_cfg_error(err, errlen, hosts, "out of memory");
	for (size_t i = 0; i < o->n_hosts; i++) {
		const config_setting_t *e =
			config_setting_get_elem(hosts, (unsigned)i);
		char *h = strdup(config_setting_get_string(e));

		if (h == NULL)
			return eg_cfg_error(err, errlen, e, "out of memory");
		o->hosts[i] = h;
		for (; *h != '\0'; h++)
			*h = (char)tolower((unsigned char)*h);
		if (strchr(o->hosts[i], ':') != NULL ||
		    (strchr(o->hosts[i], '*') != NULL &&
		     (strncmp(o->hosts[i], "*.", 2) != 0 ||
		      strchr(o->hosts[i] + 1, '*') != NULL)))
			return eg_cfg_error(err, errlen, e,
					    "'%s': expected a host name "
					    "(without port), or *.domain",
					    o->hosts[i]);
	}
	return 0;
}

static int load_names(struct egf_origin *o, const config_setting_t *g,
		      const config_setting_t *servers, char *err, size_t errlen)
{
	char host[256];
	bool check_name;
	int ret;

	if ((ret = egd_cfg_strdup(g, "sni", &o->sni, err, errlen)) < 0 ||
	    (ret = egd_cfg_strdup(g, "verify_name", &o->verify_name, err,
				  errlen)) < 0 ||
	    (ret = eg_cfg_bool(g, "verify_hostname", true, &check_name, err,
			       errlen)) < 0)
		return ret;
	if (o->sni == NULL && o->n_hosts > 0 && o->hosts[0][0] != '*') {
		if ((o->sni = strdup(o->hosts[0])) == NULL)
			return eg_cfg_error(err, errlen, g, "out of memory");
	} else if (o->sni == NULL &&
		   first_server_name(servers, host, sizeof(host))) {
		if ((o->sni = strdup(host)) == NULL)
			return eg_cfg_error(err, errlen, g, "out of memory");
	}
	if (!check_name) {
		free(o->verify_name);
		o->verify_name = NULL;
		return 0;
	}
	if (o->verify_name == NULL && o->sni != NULL &&
	    (o->verify_name = strdup(o->sni)) == NULL)
		return eg_cfg_error(err, errlen, g, "out of memory");
	if (o->verify_name == NULL)
		return eg_cfg_error(err, errlen, g,
				    "missing 'verify_name': the name the "
				    "origin's certificate must carry (or "
				    "verify_hostname = false)");
	return 0;
}

static int load_origin(struct egf_config *c, struct egf_origin *o,
		       const config_setting_t *g, const char *dir, char *err,
		       size_t errlen)
{
	const config_setting_t *servers;
	char msg[512];
	int ret;

	if (!config_setting_is_group(g))
		return eg_cfg_error(err, errlen, g,
				    "expected an origin group { name = ...; }");
	if ((ret = eg_cfg_only_keys(g, origin_keys, err, errlen)) < 0 ||
	    (ret = egd_cfg_strdup(g, "name", &o->name, err, errlen)) < 0)
		return ret;
	if (o->name == NULL)
		return eg_cfg_error(err, errlen, g,
				    "missing required key 'name'");
	for (const char *p = o->name; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' &&
		    *p != '.')
			return eg_cfg_error(
				err, errlen,
				config_setting_get_member(g, "name"),
				"'%s': use letters, digits, '-', '_' and '.'",
				o->name);
	if (egf_config_origin(c, o->name) != o)
		return eg_cfg_error(err, errlen,
				    config_setting_get_member(g, "name"),
				    "origin '%s' is defined twice", o->name);
	if ((ret = eg_cfg_string_array(g, "servers", &servers, err, errlen)) <
	    0)
		return ret;
	if (servers == NULL || config_setting_length(servers) == 0)
		return eg_cfg_error(err, errlen, g,
				    "missing required key 'servers'");
	for (int i = 0; i < config_setting_length(servers); i++)
		if ((ret = load_server(o, config_setting_get_elem(servers, i),
				       err, errlen)) < 0)
			return ret;
	if ((ret = load_hosts(o, g, err, errlen)) < 0 ||
	    (ret = load_names(o, g, servers, err, errlen)) < 0 ||
	    (ret = egd_cfg_file(g, "client_cert", dir, true, &o->cert, err,
				errlen)) < 0 ||
	    (ret = egd_cfg_file(g, "client_key", dir, true, &o->key, err,
				errlen)) < 0 ||
	    (ret = egd_cfg_file(g, "ca_file", dir, false, &o->ca_file, err,
				errlen)) < 0 ||
	    (ret = egd_cfg_strdup(g, "priority", &o->priority, err, errlen)) <
		    0 ||
	    (ret = eg_cfg_uint(g, "pool_size", 32, 0, 100000, &o->pool_size,
			       err, errlen)) < 0 ||
	    (ret = eg_cfg_uint(g, "connect_timeout_ms", 3000, 1, 3600000,
			       &o->connect_timeout_ms, err, errlen)) < 0 ||
	    (ret = eg_cfg_uint(g, "handshake_timeout_ms", 5000, 1, 3600000,
			       &o->handshake_timeout_ms, err, errlen)) < 0 ||
	    (ret = eg_cfg_uint(g, "response_timeout_ms", 60000, 1, 86400000,
			       &o->response_timeout_ms, err, errlen)) < 0 ||
	    (ret = eg_cfg_uint(g, "idle_timeout_ms", 30000, 1, 86400000,
			       &o->idle_timeout_ms, err, errlen)) < 0 ||
	    (ret = eg_cfg_uint(g, "retries", 1, 0, 10, &o->retries, err,
			       errlen)) < 0)
		return ret;
	if (egd_tls_client_new(o->cert, o->key, o->ca_file, o->priority,
			       &o->tls, msg, sizeof(msg)) == -1)
		return eg_cfg_error(err, errlen,
				    config_setting_get_member(g, "client_cert"),
				    "%s", msg);
	if (egd_watch_add_creds(&c->d.watch, o->cert, o->key, o->ca_file) == -1)
		return eg_cfg_error(err, errlen, g, "out of memory");
	o->stats = egf_stats_slot(o->name);
	return 0;
}

/* The origin before host j of origin i that also lists that host. */
static const struct egf_origin *earlier_owner(const struct egf_config *c,
					      size_t i, size_t j)
{
	const char *host = c->origins[i].hosts[j];

	for (size_t k = 0; k <= i; k++)
		for (size_t m = 0; m < c->origins[k].n_hosts; m++) {
			if (k == i && m == j)
				return NULL;
			if (strcmp(c->origins[k].hosts[m], host) == 0)
				return &c->origins[k];
		}
	return NULL;
}

/* A host may name one origin only: which would win is not obvious. */
static int check_hosts(const struct egf_config *c, const config_setting_t *l,
		       char *err, size_t errlen)
{
	for (size_t i = 0; i < c->n_origins; i++)
		for (size_t j = 0; j < c->origins[i].n_hosts; j++) {
			const struct egf_origin *o = earlier_owner(c, i, j);

			if (o != NULL)
				return eg_cfg_error(
					err, errlen,
					config_setting_get_elem(l, (unsigned)i),
					"host '%s' is also served by origin "
					"'%s'",
					c->origins[i].hosts[j], o->name);
		}
	return 0;
}

static int load_origins(struct egf_config *c, const config_setting_t *f,
			const char *dir, char *err, size_t errlen)
{
	const config_setting_t *l = config_setting_get_member(f, "origins");
	const char *dflt = NULL;
	int ret;

	if (l == NULL)
		return eg_cfg_error(err, errlen, f,
				    "missing required key 'origins'");
	if (!config_setting_is_list(l) || config_setting_length(l) == 0)
		return eg_cfg_error(err, errlen, l,
				    "expected a list of origins ( { ... } )");
	c->n_origins = (size_t)config_setting_length(l);
	c->origins = calloc(c->n_origins, sizeof(*c->origins));
	if (c->origins == NULL)
		return eg_cfg_error(err, errlen, l, "out of memory");
	for (size_t i = 0; i < c->n_origins; i++) {
		c->origins[i].index = (unsigned)i;
		ret = load_origin(c, &c->origins[i],
				  config_setting_get_elem(l, (unsigned)i), dir,
				  err, errlen);
		if (ret < 0)
			return ret;
	}
	if ((ret = check_hosts(c, l, err, errlen)) < 0 ||
	    (ret = eg_cfg_string(f, "default_origin", &dflt, err, errlen)) < 0)
		return ret;
	if (dflt != NULL) {
		c->default_origin = egf_config_origin(c, dflt);
		if (c->default_origin == NULL)
			return eg_cfg_error(
				err, errlen,
				config_setting_get_member(f, "default_origin"),
				"no origin is named '%s'", dflt);
	} else if (c->n_origins == 1) {
		c->default_origin = &c->origins[0];
	}
	return 0;
}

static int load_forwarder(struct egf_config *c, const config_setting_t *f,
			  const char *dir, char *err, size_t errlen)
{
	int ret;

	if ((ret = eg_cfg_only_keys(f, top_keys, err, errlen)) < 0 ||
	    (ret = egf_tls_in_load(f, dir, &c->d.watch, &c->tls_in, err,
				   errlen)) < 0)
		return ret;
	/* Plain listeners are optional when TLS ones are configured. */
	if ((c->tls_in == NULL ||
	     config_setting_get_member(f, "listen") != NULL) &&
	    (ret = egd_cfg_addr_list(f, "listen", &c->listen, &c->n_listen, err,
				     errlen)) < 0)
		return ret;
	if ((ret = egd_cfg_uints(f, "limits", limit_keys,
				 sizeof(limit_keys) / sizeof(limit_keys[0]),
				 &c->limits, err, errlen)) < 0 ||
	    (ret = egd_dconf_common(&c->d, f, dir, "127.0.0.1:9444", err,
				    errlen)) < 0)
		return ret;
	return load_origins(c, f, dir, err, errlen);
}

static int load(struct egd_dconf *d, const config_setting_t *f, const char *dir,
		void *arg, char *err, size_t errlen)
{
	(void)arg;
	return load_forwarder(egf_config_of(d), f, dir, err, errlen);
}

int egf_config_load(const char *path, struct egf_config **out, char *err,
		    size_t errlen)
{
	static const struct egd_dconf_loader loader = {
		sizeof(struct egf_config), "forwarder", destroy, load};
	struct egd_dconf *d;
	int ret = egd_dconf_load(&loader, path, NULL, &d, err, errlen);

	*out = egf_config_of(d);
	return ret;
}

static void origin_free(struct egf_origin *o)
{
	for (size_t i = 0; o->hosts != NULL && i < o->n_hosts; i++)
		free(o->hosts[i]);
	free(o->hosts);
	free(o->servers);
	free(o->name);
	free(o->sni);
	free(o->verify_name);
	eg_free(o->cert); /* egd_cfg_file() allocations */
	eg_free(o->key);
	eg_free(o->ca_file);
	free(o->priority);
	egd_tls_client_free(o->tls);
}

static void destroy(struct egd_dconf *d)
{
	struct egf_config *c = egf_config_of(d);

	for (size_t i = 0; c->origins != NULL && i < c->n_origins; i++)
		origin_free(&c->origins[i]);
	free(c->origins);
	egf_tls_in_free(c->tls_in);
	egd_dconf_release(&c->d);
	free(c->listen);
	free(c);
}

struct egf_origin *egf_config_origin(const struct egf_config *c,
				     const char *name)
{
	for (size_t i = 0; i < c->n_origins; i++)
		if (c->origins[i].name != NULL &&
		    strcmp(c->origins[i].name, name) == 0)
			return &c->origins[i];
	return NULL;
}

static bool host_matches(const char *pattern, const char *host, size_t len)
{
	const char *dot;

	if (pattern[0] != '*')
		return strlen(pattern) == len &&
		       strncasecmp(pattern, host, len) == 0;
	/* "*.example.com": exactly one non-empty label before the suffix. */
	dot = memchr(host, '.', len);
	return dot != NULL && dot != host &&
	       strlen(pattern + 1) == len - (size_t)(dot - host) &&
	       strncasecmp(pattern + 1, dot, len - (size_t)(dot - host)) == 0;
}

struct egf_origin *egf_config_route(const struct egf_config *c,
				    const char *host, size_t len)
{
	size_t i;

	/* "name:port" or "[v6]:port": the port does not select an origin. */
	for (i = len; i > 0 && host[i - 1] >= '0' && host[i - 1] <= '9'; i--)
		;
	if (i > 0 && i < len && host[i - 1] == ':')
		len = i - 1;
	if (len > 0 && host[len - 1] == '.')
		len--; /* the absolute form of the same name */
	for (i = 0; i < c->n_origins && len > 0; i++)
		for (size_t j = 0; j < c->origins[i].n_hosts; j++)
			if (host_matches(c->origins[i].hosts[j], host, len))
				return &c->origins[i];
	return c->default_origin;
}
