/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "verifier/verifier.h"

#define NAME(s)                                                                \
	{                                                                      \
		s, sizeof(s) - 1                                               \
	}
static const struct {
	const char *name;
	size_t len;
} identity_names[] = {NAME("X-Edge-Client-Identity"),
		      NAME("X-Edge-Client-Verify"), NAME("Client-Cert"),
		      NAME("Client-Cert-Chain"),
		      NAME("X-Forwarded-Client-Cert")};
#undef NAME

/* Asked of every header of every request: lengths first. */
bool vf_is_identity_header(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(identity_names) / sizeof(*identity_names);
	     i++)
		if (identity_names[i].len == len &&
		    strncasecmp(identity_names[i].name, name, len) == 0)
			return true;
	return false;
}

/*
 * Certificate strings are attacker-chosen bytes: only printable ASCII goes
 * into a header as is; everything else (CR, LF, NUL, non-ASCII) and the
 * escape byte itself are percent-encoded. `quoted` also escapes the
 * characters that would end a quoted XFCC value.
 */
static bool put_safe(struct egd_buf *out, const char *p, size_t len,
		     bool quoted)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t space = egd_buf_space(out), n = 0;
	char *t = egd_buf_tail(out);

	/* Written in place and committed at the end: a header built per
	 * request must not cost a call per byte. */
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '%' &&
		    !(quoted && (ch == '"' || ch == '\\'))) {
			if (n + 1 > space)
				return false;
			t[n++] = (char)ch;
		} else {
			if (n + 3 > space)
				return false;
			t[n++] = '%';
			t[n++] = hex[ch >> 4];
			t[n++] = hex[ch & 15];
		}
	}
	egd_buf_commit(out, n);
	return true;
}

static bool put_b64(struct egd_buf *out, const unsigned char *p, size_t len)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t need = (len + 2) / 3 * 4;
	char *q;

	if (egd_buf_space(out) < need)
		return false;
	q = egd_buf_tail(out);
	for (size_t i = 0; i < len; i += 3, q += 4) {
		unsigned v = (unsigned)p[i] << 16;

		if (i + 1 < len)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		q[0] = tab[(v >> 18) & 63];
		q[1] = tab[(v >> 12) & 63];
		q[2] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		q[3] = i + 2 < len ? tab[v & 63] : '=';
	}
	egd_buf_commit(out, need);
	return true;
}

static bool put_xfcc(struct egd_buf *out, const struct eg_identity *id)
{
	if (!egd_buf_printf(out, "X-Forwarded-Client-Cert: Hash=%s;Subject=\"",
			    id->sha256) ||
	    !put_safe(out, id->subject.ptr, id->subject.len, true) ||
	    !egd_buf_appends(out, "\""))
		return false;
	for (size_t i = 0; i < id->san_count; i++) {
		const struct eg_san *s = &id->san[i];

		if (!s->well_formed ||
		    (s->type != EG_SAN_URI && s->type != EG_SAN_DNS))
			continue;
		if (!egd_buf_appends(out, s->type == EG_SAN_URI ? ";URI=\""
								: ";DNS=\"") ||
		    !put_safe(out, s->value.ptr, s->value.len, true) ||
		    !egd_buf_appends(out, "\""))
			return false;
	}
	return egd_buf_appends(out, "\r\n");
}

bool vf_identity_headers(struct egd_buf *out, const struct vf_config *cfg,
			 const struct eg_der *chain, size_t n,
			 const struct eg_decision *d)
{
	const struct eg_identity *id = d->identity;

	if (cfg->hdr.verify &&
	    !(d->event == EG_EVENT_ADMIT
		      ? egd_buf_appends(out,
					"X-Edge-Client-Verify: SUCCESS\r\n")
		      : egd_buf_printf(out,
				       "X-Edge-Client-Verify: FAILED:%s\r\n",
				       eg_reason_name(d->reason))))
		return false;
	if (id == NULL)
		return true;
	if (cfg->hdr.identity) {
		if (!egd_buf_appends(out, "X-Edge-Client-Identity: "))
			return false;
		if (d->matched_field != NULL && d->matched_value != NULL) {
			if (!egd_buf_printf(out, "%s=", d->matched_field) ||
			    !put_safe(out, d->matched_value->ptr,
				      d->matched_value->len, false))
				return false;
		} else if (!put_safe(out, id->subject.ptr, id->subject.len,
				     false)) {
			return false;
		}
		if (!egd_buf_appends(out, "\r\n"))
			return false;
	}
	if (cfg->hdr.client_cert && n > 0 &&
	    !(egd_buf_appends(out, "Client-Cert: :") &&
	      put_b64(out, chain[0].data, chain[0].len) &&
	      egd_buf_appends(out, ":\r\n")))
		return false;
	if (cfg->hdr.client_cert_chain && n > 1) {
		if (!egd_buf_appends(out, "Client-Cert-Chain: "))
			return false;
		for (size_t i = 1; i < n; i++)
			if (!egd_buf_appends(out, i > 1 ? ", :" : ":") ||
			    !put_b64(out, chain[i].data, chain[i].len) ||
			    !egd_buf_appends(out, ":"))
				return false;
		if (!egd_buf_appends(out, "\r\n"))
			return false;
	}
	if (cfg->hdr.xfcc && !put_xfcc(out, id))
		return false;
	return true;
}
