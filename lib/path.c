/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include <edgeguard/error.h>

#include "path.h"

/* Longest request path considered; longer targets are refused (a backend
 * would refuse them too, and they must not force unbounded work here). */
#define EG_PATH_MAX 8192

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Pass 1: the path part of an origin- or absolute-form target, percent-
 * decoded once. Returns the decoded length or EG_E_BAD_REQUEST. */
static int decode(const char *target, char *dec, size_t declen)
{
	const char *p = target;
	size_t n = 0;

	if (strcmp(target, "*") == 0)
		p = "/";
	else if (*p != '/') {
		/* absolute-form: scheme "://" authority, nothing else */
		size_t scheme = strspn(p, "abcdefghijklmnopqrstuvwxyz"
					  "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
					  "0123456789+-.");

		if (scheme == 0 || !isalpha((unsigned char)p[0]) ||
		    strncmp(p + scheme, "://", 3) != 0)
			return EG_E_BAD_REQUEST;
		p += scheme + 3;
		p += strcspn(p, "/?#");
		if (*p != '/')
			p = "/";
	}
	for (; *p != '\0' && *p != '?' && *p != '#'; p++) {
		int c = (unsigned char)*p;

		if (c == '%') {
			int hi = hexval((unsigned char)p[1]);
			int lo = hi < 0 ? -1 : hexval((unsigned char)p[2]);

			if (lo < 0 || (hi | lo) == 0)
				return EG_E_BAD_REQUEST;
			c = hi << 4 | lo;
			p += 2;
		}
		if (n + 1 >= declen)
			return EG_E_BAD_REQUEST;
		dec[n++] = (char)c;
	}
	return (int)n;
}

int eg_path_normalize(const char *target, char *buf, size_t buflen)
{
	char dec[EG_PATH_MAX];
	size_t len = 0, i = 0;
	int n = decode(target, dec, sizeof(dec));

	if (n < 0 || buflen < 2)
		return EG_E_BAD_REQUEST;
	/* Pass 2: merge slashes and remove dot segments on the decoded text
	 * (never decoded again: "%252e" stays a literal "%2e"). */
	while (i < (size_t)n) {
		size_t start, seglen;

		while (i < (size_t)n && dec[i] == '/')
			i++;
		start = i;
		while (i < (size_t)n && dec[i] != '/')
			i++;
		seglen = i - start;
		if (seglen == 0 || (seglen == 1 && dec[start] == '.')) {
			if (i == (size_t)n && len + 1 < buflen &&
			    (len == 0 || buf[len - 1] != '/'))
				buf[len++] = '/';
			continue;
		}
		if (seglen == 2 && dec[start] == '.' && dec[start + 1] == '.') {
			while (len > 0 && buf[len - 1] != '/')
				len--;
			if (len > 0)
				len--;
			if (i == (size_t)n)
				buf[len++] = '/';
			continue;
		}
		if (len + 1 + seglen >= buflen)
			return EG_E_BAD_REQUEST;
		buf[len++] = '/';
		memcpy(buf + len, dec + start, seglen);
		len += seglen;
	}
	if (len == 0)
		buf[len++] = '/';
	buf[len] = '\0';
	return (int)len;
}

bool eg_path_has_prefix(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	if (n == 1 && prefix[0] == '/')
		return true;
	return strncmp(path, prefix, n) == 0 &&
	       (path[n] == '\0' || path[n] == '/');
}
