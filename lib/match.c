/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include <edgeguard/error.h>

#include "alloc.h"
#include "identity_internal.h"
#include "match.h"

static const char *const field_names[EG_FIELD_COUNT] = {
	"cn", "o", "ou", "dns", "uri", "ip", "email", "sha256", "spki_sha256",
};

const char *eg_match_field_name(enum eg_field f)
{
	return (unsigned)f < EG_FIELD_COUNT ? field_names[f] : "?";
}

static void lower(char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		s[i] = (char)tolower((unsigned char)s[i]);
}

static bool is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* DNS name into its A-label, lowercase, no trailing dot. */
static int dns_canonical(const char *name, char **out)
{
	gnutls_datum_t mapped = {NULL, 0};
	const char *src = name;
	size_t len;

	*out = NULL;
	if (!is_ascii(name)) {
		if (gnutls_idna_map(name, (unsigned)strlen(name), &mapped, 0) <
		    0)
			return EG_E_PARSE;
		src = (const char *)mapped.data;
	}
	len = strlen(src);
	if (len > 0 && src[len - 1] == '.')
		len--;
	/* Only the root's dot is dropped: "example.com.." stays invalid. */
	if (len == 0 || src[len - 1] == '.') {
		gnutls_free(mapped.data);
		return EG_E_PARSE;
	}
	*out = eg_memdup0(src, len);
	gnutls_free(mapped.data);
	if (*out == NULL)
		return EG_E_NOMEM;
	lower(*out, len);
	return 0;
}

static int compile_dns(const char *text, struct eg_pattern *p, char *why,
		       size_t whylen)
{
	const char *name = text;
	int ret;

	if (strncmp(text, "*.", 2) == 0) {
		p->wildcard = true;
		name = text + 2;
	}
	if (strchr(name, '*') != NULL) {
		snprintf(why, whylen,
			 "a wildcard must be the whole leftmost label "
			 "(*.example.com)");
		return EG_E_CONFIG;
	}
	ret = dns_canonical(name, &p->value);
	if (ret == EG_E_NOMEM)
		return ret;
	if (ret < 0 || !eg_identity_dns_valid(p->value, strlen(p->value))) {
		snprintf(why, whylen, "not a valid DNS name");
		return EG_E_CONFIG;
	}
	p->len = strlen(p->value);
	if (p->wildcard && strchr(p->value, '.') == NULL) {
		snprintf(why, whylen,
			 "wildcard too broad: name at least two labels after "
			 "'*.'");
		return EG_E_CONFIG;
	}
	return 0;
}

/* Length of "scheme://authority" (0 when the URI has no authority). */
static size_t uri_authority_end(const char *s, size_t len)
{
	const char *colon = memchr(s, ':', len);
	size_t i;

	if (colon == NULL || (size_t)(colon - s) + 3 > len ||
	    strncmp(colon, "://", 3) != 0)
		return 0;
	for (i = (size_t)(colon - s) + 3; i < len; i++)
		if (s[i] == '/' || s[i] == '?' || s[i] == '#')
			break;
	return i;
}

static int compile_uri(const char *text, struct eg_pattern *p, char *why,
		       size_t whylen)
{
	size_t len = strlen(text);

	if (len >= 2 && strcmp(text + len - 2, "/*") == 0) {
		p->wildcard = true;
		len--; /* keep the '/' */
	}
	if (memchr(text, '*', len) != NULL) {
		snprintf(why, whylen,
			 "'*' is only allowed as a final '/*' (prefix on a "
			 "path boundary)");
		return EG_E_CONFIG;
	}
	if (!eg_identity_uri_valid(text, len)) {
		snprintf(why, whylen,
			 "not a valid URI (scheme:rest, printable ASCII)");
		return EG_E_CONFIG;
	}
	/* uri_match() never lets a prefix end inside the authority, so such
	 * a pattern could match nothing: refuse it where it is written. */
	if (p->wildcard && uri_authority_end(text, len) == len) {
		snprintf(why, whylen,
			 "a '/*' prefix must name the authority "
			 "(spiffe://example.net/*)");
		return EG_E_CONFIG;
	}
	p->value = eg_memdup0(text, len);
	if (p->value == NULL)
		return EG_E_NOMEM;
	p->len = len;
	/* Scheme and authority compare case-insensitively, the path exactly. */
	lower(p->value, uri_authority_end(p->value, len));
	return 0;
}

static int compile_ip(const char *text, struct eg_pattern *p, char *why,
		      size_t whylen)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	unsigned max;

	if (alen >= sizeof(addr))
		goto bad;
	memcpy(addr, text, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, p->bytes) == 1)
		p->ip_len = 4;
	else if (inet_pton(AF_INET6, addr, p->bytes) == 1)
		p->ip_len = 16;
	else
		goto bad;
	max = p->ip_len * 8;
	p->prefix_bits = max;
	if (slash != NULL) {
		char *end;
		unsigned long bits;

		if (!isdigit((unsigned char)slash[1]))
			goto bad;
		bits = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || bits > max)
			goto bad;
		p->prefix_bits = (unsigned)bits;
		for (unsigned b = p->prefix_bits; b < max; b++)
			if (p->bytes[b / 8] & (0x80 >> (b % 8))) {
				snprintf(why, whylen,
					 "host bits set after the /%u prefix",
					 p->prefix_bits);
				return EG_E_CONFIG;
			}
	}
	return 0;
bad:
	snprintf(why, whylen, "not an IP address or CIDR prefix");
	return EG_E_CONFIG;
}

static int compile_email(const char *text, struct eg_pattern *p, char *why,
			 size_t whylen)
{
	const char *at = strrchr(text, '@');
	char *domain = NULL;
	int ret;

	if (at == NULL || at == text) {
		snprintf(why, whylen, "expected local@domain");
		return EG_E_CONFIG;
	}
	ret = dns_canonical(at + 1, &domain);
	if (ret == EG_E_NOMEM)
		return ret;
	if (ret < 0 || !eg_identity_dns_valid(domain, strlen(domain))) {
		eg_free(domain);
		snprintf(why, whylen, "domain part is not a valid DNS name");
		return EG_E_CONFIG;
	}
	p->len = (size_t)(at - text) + 1 + strlen(domain);
	p->value = eg_malloc(p->len + 1);
	if (p->value != NULL) {
		memcpy(p->value, text, (size_t)(at - text) + 1);
		memcpy(p->value + (at - text) + 1, domain, strlen(domain) + 1);
	}
	eg_free(domain);
	if (p->value == NULL)
		return EG_E_NOMEM;
	if (!eg_identity_email_valid(p->value, p->len)) {
		snprintf(why, whylen, "not a valid e-mail address");
		return EG_E_CONFIG;
	}
	return 0;
}

static int compile_hash(const char *text, struct eg_pattern *p, char *why,
			size_t whylen)
{
	size_t n = 0;

	for (const char *s = text; *s; s++) {
		int hi, lo;

		if (*s == ':')
			continue;
		if (n == 32 || !isxdigit((unsigned char)s[0]) ||
		    !isxdigit((unsigned char)s[1]))
			goto bad;
		hi = isdigit((unsigned char)s[0]) ? s[0] - '0'
						  : (tolower(s[0]) - 'a' + 10);
		lo = isdigit((unsigned char)s[1]) ? s[1] - '0'
						  : (tolower(s[1]) - 'a' + 10);
		p->bytes[n++] = (unsigned char)(hi << 4 | lo);
		s++;
	}
	if (n == 32)
		return 0;
bad:
	snprintf(why, whylen,
		 "expected a SHA-256 digest: 64 hex digits, colons allowed");
	return EG_E_CONFIG;
}

int eg_match_compile(enum eg_field f, const char *text, struct eg_pattern *out,
		     char *why, size_t whylen)
{
	size_t dlen;
	int ret;

	memset(out, 0, sizeof(*out));
	out->field = f;
	switch (f) {
	case EG_FIELD_CN:
	case EG_FIELD_O:
	case EG_FIELD_OU:
		out->len = strlen(text);
		out->value = eg_memdup0(text, out->len);
		ret = out->value ? 0 : EG_E_NOMEM;
		break;
	case EG_FIELD_DNS:
		ret = compile_dns(text, out, why, whylen);
		break;
	case EG_FIELD_URI:
		ret = compile_uri(text, out, why, whylen);
		break;
	case EG_FIELD_IP:
		ret = compile_ip(text, out, why, whylen);
		break;
	case EG_FIELD_EMAIL:
		ret = compile_email(text, out, why, whylen);
		break;
	case EG_FIELD_SHA256:
	case EG_FIELD_SPKI_SHA256:
		ret = compile_hash(text, out, why, whylen);
		break;
	default:
		ret = EG_E_INVAL;
	}
	if (ret == 0) {
		dlen = strlen(field_names[f]) + 1 + strlen(text) + 1;
		out->display = eg_malloc(dlen);
		if (out->display == NULL)
			ret = EG_E_NOMEM;
		else
			snprintf(out->display, dlen, "%s:%s", field_names[f],
				 text);
	}
	if (ret < 0)
		eg_match_clear(out);
	return ret;
}

void eg_match_clear(struct eg_pattern *p)
{
	eg_free(p->display);
	eg_free(p->value);
	p->display = NULL;
	p->value = NULL;
}

/* name: a well-formed DNS name from a certificate or request. */
static bool dns_name_match(const struct eg_pattern *p, const char *name,
			   size_t len)
{
	const char *dot;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (!p->wildcard)
		return len == p->len && strncasecmp(name, p->value, len) == 0;
	dot = memchr(name, '.', len);
	if (dot == NULL || dot == name)
		return false;
	len -= (size_t)(dot + 1 - name);
	return len == p->len && strncasecmp(dot + 1, p->value, len) == 0;
}

/* The part of a URI after a prefix: a relative path without dot segments,
 * encoded slashes or dots, query or fragment, so a prefix means "below". */
static bool uri_rest_ok(const char *rest, size_t len)
{
	size_t seg = 0;

	if (len == 0)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || rest[i] == '/') {
			size_t slen = i - seg;

			if (slen == 0 && i != len)
				return false;
			if ((slen == 1 && rest[seg] == '.') ||
			    (slen == 2 && rest[seg] == '.' &&
			     rest[seg + 1] == '.'))
				return false;
			seg = i + 1;
			continue;
		}
		if (rest[i] == '?' || rest[i] == '#')
			return false;
		if (rest[i] == '%' && i + 2 < len &&
		    (strncasecmp(rest + i, "%2e", 3) == 0 ||
		     strncasecmp(rest + i, "%2f", 3) == 0 ||
		     strncasecmp(rest + i, "%5c", 3) == 0))
			return false;
	}
	return true;
}

static bool uri_match(const struct eg_pattern *p, const char *s, size_t len)
{
	size_t auth = uri_authority_end(s, len);

	if (len < p->len || (!p->wildcard && len != p->len))
		return false;
	if (auth > p->len && p->wildcard)
		return false; /* prefix would end inside the authority */
	if (strncasecmp(s, p->value, auth) != 0 ||
	    memcmp(s + auth, p->value + auth, p->len - auth) != 0)
		return false;
	return !p->wildcard || uri_rest_ok(s + p->len, len - p->len);
}

static bool ip_match(const struct eg_pattern *p, const struct eg_san *san)
{
	unsigned full = p->prefix_bits / 8, rem = p->prefix_bits % 8;

	if (san->ip_len != p->ip_len)
		return false;
	if (memcmp(san->ip, p->bytes, full) != 0)
		return false;
	if (rem == 0)
		return true;
	return ((san->ip[full] ^ p->bytes[full]) & (0xff << (8 - rem))) == 0;
}

static bool email_match(const struct eg_pattern *p, const char *s, size_t len)
{
	const char *at = memchr(s, '@', len);
	size_t local;

	if (at == NULL)
		return false;
	local = (size_t)(at - s);
	if (len > 0 && s[len - 1] == '.')
		len--;
	return len == p->len && memcmp(s, p->value, local + 1) == 0 &&
	       strncasecmp(at + 1, p->value + local + 1, len - local - 1) == 0;
}

static bool attr_match(const struct eg_pattern *p, const struct eg_str_list *l,
		       const struct eg_str **value)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct eg_str *v = &l->v[i];

		if (v->len != 0 && v->len == p->len &&
		    memchr(v->ptr, '\0', v->len) == NULL &&
		    memcmp(v->ptr, p->value, v->len) == 0) {
			*value = v;
			return true;
		}
	}
	return false;
}

static bool san_match(const struct eg_pattern *p, const struct eg_san *san)
{
	if (!san->well_formed)
		return false;
	switch (p->field) {
	case EG_FIELD_DNS:
		return san->type == EG_SAN_DNS &&
		       dns_name_match(p, san->value.ptr, san->value.len);
	case EG_FIELD_URI:
		return san->type == EG_SAN_URI &&
		       uri_match(p, san->value.ptr, san->value.len);
	case EG_FIELD_IP:
		return san->type == EG_SAN_IP && ip_match(p, san);
	case EG_FIELD_EMAIL:
		return san->type == EG_SAN_EMAIL &&
		       email_match(p, san->value.ptr, san->value.len);
	default:
		return false;
	}
}

bool eg_match_identity(const struct eg_pattern *p, const struct eg_identity *id,
		       const struct eg_str **value)
{
	const struct eg_str *dummy;

	if (value == NULL)
		value = &dummy;
	*value = NULL;
	switch (p->field) {
	case EG_FIELD_CN:
		return attr_match(p, &id->cn, value);
	case EG_FIELD_O:
		return attr_match(p, &id->o, value);
	case EG_FIELD_OU:
		return attr_match(p, &id->ou, value);
	case EG_FIELD_SHA256:
		return memcmp(p->bytes, id->sha256_raw, 32) == 0;
	case EG_FIELD_SPKI_SHA256:
		return memcmp(p->bytes, id->spki_sha256_raw, 32) == 0;
	default:
		break;
	}
	for (size_t i = 0; i < id->san_count; i++)
		if (san_match(p, &id->san[i])) {
			*value = &id->san[i].value;
			return true;
		}
	return false;
}

bool eg_match_host(const char *pattern, const char *host)
{
	const char *dot;

	if (strncmp(pattern, "*.", 2) != 0)
		return strcmp(pattern, host) == 0;
	dot = strchr(host, '.');
	return dot != NULL && dot != host && strcmp(dot + 1, pattern + 2) == 0;
}

/* "[v6]" literal into its canonical text form, brackets kept. */
static int ipv6_literal(const char *lit, size_t len, char **out)
{
	char addr[INET6_ADDRSTRLEN + 2];
	unsigned char bin[16];

	if (len < 3 || len - 2 >= sizeof(addr))
		return EG_E_PARSE;
	memcpy(addr, lit + 1, len - 2);
	addr[len - 2] = '\0';
	if (inet_pton(AF_INET6, addr, bin) != 1)
		return EG_E_PARSE;
	addr[0] = '[';
	if (inet_ntop(AF_INET6, bin, addr + 1, sizeof(addr) - 2) == NULL)
		return EG_E_PARSE;
	len = strlen(addr);
	addr[len] = ']';
	*out = eg_memdup0(addr, len + 1);
	return *out ? 0 : EG_E_NOMEM;
}

int eg_match_normalize_host(const char *host, char **out)
{
	char buf[256];
	const char *port;
	char *name;
	size_t len;
	bool wildcard;
	int ret;

	*out = NULL;
	if (host[0] == '[') {
		port = strchr(host, ']');
		if (port == NULL)
			return EG_E_PARSE;
		port++;
	} else {
		port = host + strcspn(host, ":");
	}
	len = (size_t)(port - host);
	/* An optional ":port", digits only (RFC 3986 allows none). */
	if (*port != '\0' &&
	    (*port != ':' || port[1 + strspn(port + 1, "0123456789")] != '\0'))
		return EG_E_PARSE;
	if (len == 0 || len >= sizeof(buf))
		return EG_E_PARSE;
	memcpy(buf, host, len);
	buf[len] = '\0';
	if (buf[0] == '[')
		return ipv6_literal(buf, len, out);
	wildcard = strncmp(buf, "*.", 2) == 0;
	ret = dns_canonical(wildcard ? buf + 2 : buf, &name);
	if (ret < 0)
		return ret;
	if (!eg_identity_dns_valid(name, strlen(name))) {
		eg_free(name);
		return EG_E_PARSE;
	}
	if (!wildcard) {
		*out = name;
		return 0;
	}
	len = strlen(name);
	*out = eg_malloc(len + 3);
	if (*out != NULL) {
		memcpy(*out, "*.", 2);
		memcpy(*out + 2, name, len + 1);
	}
	eg_free(name);
	return *out ? 0 : EG_E_NOMEM;
}
