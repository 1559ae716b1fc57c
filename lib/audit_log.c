/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audit log: sinks (file, syslog, journald) and flood aggregation.
 *
 * Under a flood of identical rejections the first one of a window is
 * written at once and the rest are only counted; one record carrying the
 * exact count is written when the window ends. The sum of `count` over the
 * records written equals the number of events recorded: an event is folded
 * only into a window that will be written, and when the key table is full
 * the event is written on its own instead.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include <edgeguard/audit.h>
#include <edgeguard/error.h>

#include "alloc.h"
#include "audit_internal.h"

/*
 * Lines the file sink failed to take (disk full, file system gone) wait
 * here and are retried, in order, before anything newer at every call.
 * Past this bound a line is dropped and counted in write_errors: memory
 * must stay bounded while the disk is full.
 */
#define PENDING_MAX 256

#define INITIAL_SLOTS 16

struct pending {
	char *line; /* owned; eg_malloc'd */
	size_t len;
	size_t off; /* bytes a short write already put in the file */
};

/* One aggregation key with a window open. */
struct entry {
	uint64_t hash;
	unsigned char *key; /* owned: the serialised key */
	size_t key_len;
	int64_t start_ms; /* ts_ms of the event that opened the window */
	uint64_t folded;  /* events counted since the record written at once */
	json_t *rec;	  /* record of the first folded event, count unset;
			   * NULL while folded == 0. Owned reference. */
	char *peer;	  /* raw peer of the first folded event; owned; NULL */
	bool peer_varies; /* folded events came from several ports */
	struct entry *prev; /* window order, oldest first */
	struct entry *next;
};

struct eg_audit_log {
	pthread_mutex_t lock; /* guards everything below */
	char *path;	      /* file sink path; owned; NULL: none */
	int fd;		      /* file sink; -1: none */
	bool syslog;
	bool journald;
	bool admits;
	unsigned window_ms;
	unsigned max_keys;
	size_t path_max;

	struct entry **slots; /* open addressing, linear probing; owned */
	size_t nslots;	      /* 0 or a power of two */
	size_t live;	      /* entries in the table */
	struct entry *oldest; /* window order list */
	struct entry *newest;
	uint64_t seed[2]; /* SipHash key: collisions cannot be aimed */

	unsigned char *kbuf; /* scratch for building a key; owned */
	size_t kcap;
	size_t klen;

	struct pending queue[PENDING_MAX]; /* ring of unwritten lines */
	size_t qhead;
	size_t qlen;
	bool file_failing; /* a write failed during the current call: queue
			    * without trying again until the next call */

	/* write_errors: failed write(2) attempts on the file sink, failed
	 * journal sends, and records lost (retry queue full, or out of
	 * memory while formatting). */
	struct eg_audit_stats stats;
};

/* Keeps the first error of a sequence of steps. */
static int note(int rc, int r)
{
	return rc != 0 ? rc : r;
}

/* ---- SipHash-1-3: keyed, so a peer cannot choose colliding paths ---- */

static uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static void sip_round(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = rotl(v[1], 13);
	v[1] ^= v[0];
	v[0] = rotl(v[0], 32);
	v[2] += v[3];
	v[3] = rotl(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = rotl(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = rotl(v[1], 17);
	v[1] ^= v[2];
	v[2] = rotl(v[2], 32);
}

static uint64_t siphash13(const uint64_t k[2], const unsigned char *in,
			  size_t len)
{
	uint64_t v[4] = {
		0x736f6d6570736575ULL ^ k[0], 0x646f72616e646f6dULL ^ k[1],
		0x6c7967656e657261ULL ^ k[0], 0x7465646279746573ULL ^ k[1]};
	uint64_t b = (uint64_t)len << 56;
	size_t i = 0;

	for (; len - i >= 8; i += 8) {
		uint64_t m = 0;

		for (int j = 0; j < 8; j++)
			m |= (uint64_t)in[i + j] << (8 * j);
		v[3] ^= m;
		sip_round(v);
		v[0] ^= m;
	}
	for (size_t j = 0; i + j < len; j++)
		b |= (uint64_t)in[i + j] << (8 * j);
	v[3] ^= b;
	sip_round(v);
	v[0] ^= b;
	v[2] ^= 0xff;
	sip_round(v);
	sip_round(v);
	sip_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

static void seed_hash(uint64_t seed[2])
{
	struct timespec ts;

	if (getrandom(seed, 2 * sizeof(seed[0]), GRND_NONBLOCK) ==
	    (ssize_t)(2 * sizeof(seed[0])))
		return;
	/* Early boot without entropy: still unpredictable enough to spoil
	 * precomputed collisions; correctness never depends on the seed. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	seed[0] = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
		  (uint64_t)(uintptr_t)seed;
	seed[1] = (uint64_t)getpid() ^ ((uint64_t)(uintptr_t)&ts << 16);
}

/* ---- sinks ---- */

/* One write(2) per record so that lines appended by several processes
 * (nginx workers) never interleave; only a short write continues. */
static int write_all(int fd, const char *buf, size_t len, size_t *off)
{
	while (*off < len) {
		ssize_t n = write(fd, buf + *off, len - *off);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return EG_E_IO;
		}
		*off += (size_t)n;
	}
	return 0;
}

static int drain(struct eg_audit_log *log)
{
	while (log->qlen > 0) {
		struct pending *p = &log->queue[log->qhead];

		if (write_all(log->fd, p->line, p->len, &p->off) != 0) {
			log->stats.write_errors++;
			log->file_failing = true;
			return EG_E_IO;
		}
		eg_free(p->line);
		p->line = NULL;
		log->qhead = (log->qhead + 1) % PENDING_MAX;
		log->qlen--;
		log->stats.records_written++;
	}
	return 0;
}

/* Takes ownership of line. */
static void enqueue(struct eg_audit_log *log, char *line, size_t len,
		    size_t off)
{
	struct pending *p;

	if (log->qlen == PENDING_MAX) {
		log->stats.write_errors++;
		eg_free(line);
		return;
	}
	p = &log->queue[(log->qhead + log->qlen) % PENDING_MAX];
	p->line = line;
	p->len = len;
	p->off = off;
	log->qlen++;
}

/* Takes ownership of line. */
static int file_write(struct eg_audit_log *log, char *line, size_t len)
{
	size_t off = 0;

	/* A newer line never overtakes one waiting for retry, and a failing
	 * file is tried once per call, not once per line. */
	if (log->file_failing || (log->qlen > 0 && drain(log) != 0)) {
		enqueue(log, line, len, 0);
		return EG_E_IO;
	}
	if (write_all(log->fd, line, len, &off) != 0) {
		log->stats.write_errors++;
		log->file_failing = true;
		enqueue(log, line, len, off);
		return EG_E_IO;
	}
	log->stats.records_written++;
	eg_free(line);
	return 0;
}

/* Appends "NAME=value" to iov, value taken from a string member of rec;
 * nothing when the member is absent or null. */
static void journal_field(struct iovec *iov, size_t *n, char **cursor,
			  const char *name, const json_t *rec,
			  const char *member)
{
	const json_t *v = json_object_get(rec, member);
	size_t nlen = strlen(name);
	size_t vlen;

	if (!json_is_string(v))
		return;
	vlen = json_string_length(v);
	memcpy(*cursor, name, nlen);
	memcpy(*cursor + nlen, json_string_value(v), vlen);
	iov[*n].iov_base = *cursor;
	iov[*n].iov_len = nlen + vlen;
	(*n)++;
	*cursor += nlen + vlen;
}

static size_t member_len(const json_t *rec, const char *member)
{
	const json_t *v = json_object_get(rec, member);

	return json_is_string(v) ? json_string_length(v) : 0;
}

static int journal_send(struct eg_audit_log *log, const json_t *rec,
			const char *line, size_t len)
{
	static const char *const fixed[] = {"SYSLOG_IDENTIFIER=edgeguard",
					    "PRIORITY=5", "SYSLOG_FACILITY=10"};
	struct iovec iov[8];
	size_t n = 0;
	size_t total;
	char *buf;
	char *cur;
	int r;

	/* Values are the record's own (already UTF-8-repaired) strings. */
	total = sizeof("MESSAGE=") + len + sizeof("EDGEGUARD_EVENT=") +
		member_len(rec, "event") + sizeof("EDGEGUARD_REASON=") +
		member_len(rec, "reason") + sizeof("EDGEGUARD_PEER=") +
		member_len(rec, "peer") + sizeof("EDGEGUARD_SHA256=") +
		member_len(rec, "sha256");
	buf = eg_malloc(total);
	/* Only the journal's copy is lost: EG_E_NOMEM would tell the caller
	 * that nothing was written and have the record written again. */
	if (buf == NULL) {
		log->stats.write_errors++;
		return EG_E_IO;
	}
	memcpy(buf, "MESSAGE=", 8);
	memcpy(buf + 8, line, len - 1);
	iov[n].iov_base = buf;
	iov[n++].iov_len = 8 + len - 1;
	cur = buf + 8 + len - 1;
	journal_field(iov, &n, &cur, "EDGEGUARD_EVENT=", rec, "event");
	journal_field(iov, &n, &cur, "EDGEGUARD_REASON=", rec, "reason");
	journal_field(iov, &n, &cur, "EDGEGUARD_PEER=", rec, "peer");
	journal_field(iov, &n, &cur, "EDGEGUARD_SHA256=", rec, "sha256");
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		iov[n].iov_base = (void *)(uintptr_t)fixed[i];
		iov[n++].iov_len = strlen(fixed[i]);
	}
	r = sd_journal_sendv(iov, (int)n);
	eg_free(buf);
	if (r < 0) {
		log->stats.write_errors++;
		return EG_E_IO;
	}
	return 0;
}

/* Sends rec to every sink. Returns 0, EG_E_IO (a sink failed; a file line
 * is kept for retry) or EG_E_NOMEM (nothing was written). */
static int emit_rec(struct eg_audit_log *log, const json_t *rec)
{
	char *line;
	size_t len;
	int rc = egaud_dump(rec, &line, &len);

	if (rc != 0)
		return rc;
	if (log->syslog)
		syslog(LOG_AUTHPRIV | LOG_NOTICE, "%.*s",
		       len - 1 > INT_MAX ? INT_MAX : (int)(len - 1), line);
	if (log->journald)
		rc = journal_send(log, rec, line, len);
	if (log->fd != -1)
		return note(rc, file_write(log, line, len));
	log->stats.records_written++;
	eg_free(line);
	return rc;
}

/* Writes ev on its own with count 1. */
static int emit_event(struct eg_audit_log *log, const struct eg_audit_event *ev)
{
	json_t *rec = egaud_record(ev, 1, log->path_max);
	int rc;

	if (rec == NULL) {
		log->stats.write_errors++;
		return EG_E_NOMEM;
	}
	rc = emit_rec(log, rec);
	json_decref(rec);
	if (rc == EG_E_NOMEM)
		log->stats.write_errors++;
	return rc;
}

/* ---- aggregation table ---- */

static int key_put(struct eg_audit_log *log, const void *p, size_t n)
{
	if (n > log->kcap - log->klen) {
		size_t cap = log->kcap ? log->kcap : 256;
		unsigned char *b;

		while (n > cap - log->klen) {
			if (cap > SIZE_MAX / 2)
				return EG_E_NOMEM;
			cap *= 2;
		}
		b = eg_realloc(log->kbuf, cap);
		if (b == NULL)
			return EG_E_NOMEM;
		log->kbuf = b;
		log->kcap = cap;
	}
	memcpy(log->kbuf + log->klen, p, n);
	log->klen += n;
	return 0;
}

/* Length-prefixed so that no two different field tuples serialise alike;
 * SIZE_MAX as the length marks an absent (NULL) value. */
static int key_str(struct eg_audit_log *log, const char *s, size_t n)
{
	size_t len = s != NULL ? n : SIZE_MAX;
	int rc = key_put(log, &len, sizeof(len));

	if (rc == 0 && s != NULL)
		rc = key_put(log, s, n);
	return rc;
}

static int key_cstr(struct eg_audit_log *log, const char *s)
{
	return key_str(log, s, s != NULL ? strlen(s) : 0);
}

static int build_key(struct eg_audit_log *log, const struct eg_audit_event *ev)
{
	const struct eg_identity *id = ev->identity;
	int head[3] = {(int)ev->event, (int)ev->reason, (int)ev->mode};
	const char *addr = NULL;
	size_t addr_len = 0;
	size_t path_len = 0;
	int rc;

	log->klen = 0;
	if (ev->peer != NULL)
		egaud_peer_addr(ev->peer, &addr, &addr_len);
	if (ev->path != NULL)
		path_len = egaud_utf8_cut(ev->path, strlen(ev->path),
					  log->path_max);
	rc = key_put(log, head, sizeof(head));
	rc = note(rc, key_cstr(log, ev->component));
	rc = note(rc, key_str(log, addr, addr_len));
	rc = note(rc, key_cstr(log, ev->sni));
	rc = note(rc, key_cstr(log, ev->method));
	rc = note(rc, key_cstr(log, ev->host));
	rc = note(rc, key_str(log, ev->path, path_len));
	rc = note(rc, id != NULL
			      ? key_str(log, id->sha256,
					strnlen(id->sha256, sizeof(id->sha256)))
			      : key_str(log, NULL, 0));
	return note(rc, key_cstr(log, ev->policy));
}

/* Slot holding the entry with this key, or the empty slot ending its
 * probe sequence. nslots must be > 0. */
static size_t find_slot(const struct eg_audit_log *log, uint64_t hash,
			const unsigned char *key, size_t key_len)
{
	size_t mask = log->nslots - 1;
	size_t i = (size_t)hash & mask;

	for (;; i = (i + 1) & mask) {
		const struct entry *e = log->slots[i];

		if (e == NULL || (e->hash == hash && e->key_len == key_len &&
				  memcmp(e->key, key, key_len) == 0))
			return i;
	}
}

static int grow(struct eg_audit_log *log)
{
	size_t n = log->nslots ? log->nslots * 2 : INITIAL_SLOTS;
	struct entry **s = eg_calloc(n, sizeof(*s));

	if (s == NULL)
		return EG_E_NOMEM;
	for (size_t i = 0; i < log->nslots; i++) {
		struct entry *e = log->slots[i];
		size_t j;

		if (e == NULL)
			continue;
		for (j = (size_t)e->hash & (n - 1); s[j] != NULL;
		     j = (j + 1) & (n - 1))
			;
		s[j] = e;
	}
	eg_free(log->slots);
	log->slots = s;
	log->nslots = n;
	return 0;
}

/* Backward-shift deletion: linear probing stays tombstone-free. */
static void slot_clear(struct eg_audit_log *log, size_t i)
{
	size_t mask = log->nslots - 1;
	size_t j = i;

	log->slots[i] = NULL;
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (log->slots[j] == NULL)
			return;
		home = (size_t)log->slots[j]->hash & mask;
		/* Leave slots[j] where it is when its home lies cyclically in
		 * (i, j]: the hole does not break its probe sequence. */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		log->slots[i] = log->slots[j];
		log->slots[j] = NULL;
		i = j;
	}
}

static void entry_free(struct entry *e)
{
	if (e == NULL)
		return;
	json_decref(e->rec);
	eg_free(e->peer);
	eg_free(e->key);
	eg_free(e);
}

static void entry_remove(struct eg_audit_log *log, struct entry *e)
{
	slot_clear(log, find_slot(log, e->hash, e->key, e->key_len));
	log->live--;
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		log->oldest = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		log->newest = e->prev;
	entry_free(e);
}

/*
 * Whether the window of e is over at time now. A clock stepped back by
 * more than a window also ends it: otherwise the count would wait until
 * the wall clock catches up, possibly hours.
 */
static bool window_over(const struct eg_audit_log *log, const struct entry *e,
			int64_t now)
{
	int64_t d;

	if (__builtin_sub_overflow(now, e->start_ms, &d))
		return true;
	return d >= (int64_t)log->window_ms || d < -(int64_t)log->window_ms;
}

/* Writes the folded count of e, if any, and forgets e. On EG_E_NOMEM e
 * stays, to be written later. */
static int finish(struct eg_audit_log *log, struct entry *e)
{
	int rc = 0;

	if (e->folded > 0) {
		uint64_t c = e->folded > INT64_MAX ? INT64_MAX : e->folded;

		if (json_object_set_new(e->rec, "count",
					json_integer((json_int_t)c)) == -1)
			return EG_E_NOMEM;
		rc = emit_rec(log, e->rec);
		if (rc == EG_E_NOMEM)
			return rc;
	}
	entry_remove(log, e);
	return rc;
}

static int expire(struct eg_audit_log *log, int64_t now)
{
	int rc = 0;

	while (log->oldest != NULL && window_over(log, log->oldest, now)) {
		int r = finish(log, log->oldest);

		rc = note(rc, r);
		if (r == EG_E_NOMEM)
			break;
	}
	return rc;
}

static int fold(struct eg_audit_log *log, struct entry *e,
		const struct eg_audit_event *ev)
{
	if (e->folded == 0) {
		e->rec = egaud_record(ev, 0, log->path_max);
		if (e->rec != NULL && ev->peer != NULL) {
			e->peer = eg_strdup(ev->peer);
			if (e->peer == NULL) {
				json_decref(e->rec);
				e->rec = NULL;
			}
		}
		/* Cannot hold it: write it on its own, still counted once. */
		if (e->rec == NULL)
			return note(emit_event(log, ev), EG_E_NOMEM);
	} else if (!e->peer_varies && e->peer != NULL &&
		   strcmp(e->peer, ev->peer) != 0) {
		const char *addr;
		size_t len;

		/* Same address, other ports: the record names the address
		 * only rather than one port out of many. */
		egaud_peer_addr(e->peer, &addr, &len);
		if (json_object_set_new(e->rec, "peer",
					egaud_string(addr, len)) == -1)
			return note(emit_event(log, ev), EG_E_NOMEM);
		e->peer_varies = true;
	}
	e->folded++;
	log->stats.events_folded++;
	return 0;
}

static int open_window(struct eg_audit_log *log, uint64_t hash,
		       const struct eg_audit_event *ev)
{
	struct entry *e;
	size_t i;

	if ((log->live + 1) * 2 > log->nslots && grow(log) != 0)
		return EG_E_NOMEM;
	e = eg_calloc(1, sizeof(*e));
	if (e == NULL)
		return EG_E_NOMEM;
	e->key = (unsigned char *)eg_memdup0(log->kbuf, log->klen);
	if (e->key == NULL) {
		eg_free(e);
		return EG_E_NOMEM;
	}
	e->key_len = log->klen;
	e->hash = hash;
	e->start_ms = ev->ts_ms;
	i = find_slot(log, hash, e->key, e->key_len);
	log->slots[i] = e;
	log->live++;
	e->prev = log->newest;
	if (log->newest != NULL)
		log->newest->next = e;
	else
		log->oldest = e;
	log->newest = e;
	return 0;
}

static int aggregate(struct eg_audit_log *log, const struct eg_audit_event *ev)
{
	struct entry *e = NULL;
	uint64_t hash;
	int rc;
	int r;

	if (build_key(log, ev) != 0)
		return note(emit_event(log, ev), EG_E_NOMEM);
	hash = siphash13(log->seed, log->kbuf, log->klen);
	if (log->nslots > 0)
		e = log->slots[find_slot(log, hash, log->kbuf, log->klen)];
	if (e != NULL && !window_over(log, e, ev->ts_ms))
		return fold(log, e, ev);
	rc = 0;
	if (e != NULL) {
		rc = finish(log, e);
		/* The old window cannot be written yet: this event joins it,
		 * which keeps the count exact. */
		if (rc == EG_E_NOMEM)
			return note(fold(log, e, ev), rc);
	}
	r = emit_event(log, ev);
	/* Table full: written on its own, nothing to fold into. Not written
	 * (out of memory): a window opened now would turn the next identical
	 * event into a fold after a record that never existed. */
	if (log->live >= log->max_keys || r == EG_E_NOMEM)
		return note(rc, r);
	return note(note(rc, r), open_window(log, hash, ev));
}

/* ---- public API ---- */

int eg_audit_log_open(const struct eg_audit_config *cfg,
		      struct eg_audit_log **out, char *err, size_t errlen)
{
	struct eg_audit_log *log;
	int rc = 0;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (cfg == NULL || out == NULL)
		return EG_E_INVAL;
	*out = NULL;
	log = eg_calloc(1, sizeof(*log));
	if (log == NULL) {
		rc = EG_E_NOMEM;
		goto out;
	}
	log->fd = -1;
	log->syslog = cfg->syslog;
	log->journald = cfg->journald;
	log->admits = cfg->admits;
	log->window_ms = cfg->aggregate_window_ms;
	log->max_keys = cfg->aggregate_max_keys ? cfg->aggregate_max_keys : 1;
	log->path_max = cfg->path_max;
	seed_hash(log->seed);
	if (pthread_mutex_init(&log->lock, NULL) != 0) {
		eg_free(log);
		log = NULL;
		rc = EG_E_NOMEM;
		goto out;
	}
	if (cfg->file != NULL) {
		log->path = eg_strdup(cfg->file);
		if (log->path == NULL) {
			rc = EG_E_NOMEM;
			goto out;
		}
		log->fd = open(log->path,
			       O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (log->fd == -1) {
			if (err != NULL && errlen > 0)
				snprintf(err, errlen, "%s: cannot open: %s",
					 log->path, strerror(errno));
			rc = EG_E_IO;
			goto out;
		}
	}
	if (log->syslog)
		openlog("edgeguard", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
	*out = log;
	log = NULL;
out:
	if (rc == EG_E_NOMEM && err != NULL && errlen > 0)
		snprintf(err, errlen, "audit log: out of memory");
	eg_audit_log_close(log);
	return rc;
}

int eg_audit_log_record(struct eg_audit_log *log,
			const struct eg_audit_event *ev)
{
	int rc;

	if (log == NULL || ev == NULL)
		return EG_E_INVAL;
	if (ev->event == EG_EVENT_ADMIT && !log->admits)
		return 0;
	pthread_mutex_lock(&log->lock);
	log->file_failing = false;
	rc = log->qlen > 0 ? drain(log) : 0;
	rc = note(rc, expire(log, ev->ts_ms));
	if (log->window_ms == 0)
		rc = note(rc, emit_event(log, ev));
	else
		rc = note(rc, aggregate(log, ev));
	pthread_mutex_unlock(&log->lock);
	return rc;
}

int eg_audit_log_flush(struct eg_audit_log *log, int64_t now_ms)
{
	int rc;

	if (log == NULL)
		return EG_E_INVAL;
	pthread_mutex_lock(&log->lock);
	log->file_failing = false;
	rc = log->qlen > 0 ? drain(log) : 0;
	rc = note(rc, expire(log, now_ms));
	pthread_mutex_unlock(&log->lock);
	return rc;
}

int eg_audit_log_reopen(struct eg_audit_log *log)
{
	int fd;
	int old;
	int rc;

	if (log == NULL)
		return EG_E_INVAL;
	if (log->path == NULL)
		return 0;
	/* Open first: if the new file cannot be opened, the old one keeps
	 * receiving records. */
	fd = open(log->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1)
		return EG_E_IO;
	pthread_mutex_lock(&log->lock);
	old = log->fd;
	log->fd = fd;
	log->file_failing = false;
	rc = log->qlen > 0 ? drain(log) : 0;
	pthread_mutex_unlock(&log->lock);
	close(old);
	return rc;
}

void eg_audit_log_stats(struct eg_audit_log *log, struct eg_audit_stats *out)
{
	if (log == NULL || out == NULL)
		return;
	pthread_mutex_lock(&log->lock);
	*out = log->stats;
	pthread_mutex_unlock(&log->lock);
}

void eg_audit_log_close(struct eg_audit_log *log)
{
	if (log == NULL)
		return;
	log->file_failing = false;
	if (log->qlen > 0)
		drain(log);
	while (log->oldest != NULL) {
		/* Out of memory at the very end: the count is lost, and
		 * counted as such. */
		if (finish(log, log->oldest) == EG_E_NOMEM) {
			log->stats.write_errors++;
			entry_remove(log, log->oldest);
		}
	}
	if (log->qlen > 0 && !log->file_failing)
		drain(log);
	while (log->qlen > 0) {
		eg_free(log->queue[log->qhead].line);
		log->qhead = (log->qhead + 1) % PENDING_MAX;
		log->qlen--;
	}
	if (log->fd != -1)
		close(log->fd);
	pthread_mutex_destroy(&log->lock);
	eg_free(log->slots);
	eg_free(log->kbuf);
	eg_free(log->path);
	eg_free(log);
}
