# libedgeguard: the policy library. Everything is compiled once into a
# convenience library (which the unit tests link, internals included) and
# exported through libedgeguard.la with only the public eg_ API visible.
noinst_LTLIBRARIES += lib/libedgeguard-internal.la
lib_LTLIBRARIES += lib/libedgeguard.la

EG_LIB_CORE_SOURCES = \
	lib/alloc.c lib/alloc.h \
	lib/cfg.c lib/cfg.h \
	lib/error.c \
	lib/reason.c \
	lib/identity.c lib/identity_internal.h \
	lib/match.c lib/match.h \
	lib/path.c lib/path.h \
	lib/trust.c lib/trust.h \
	lib/policy.c lib/policy_internal.h \
	lib/decide.c \
	lib/version.c

# Audit records, sinks and aggregation.
EG_LIB_AUDIT_SOURCES = \
	lib/audit_format.c \
	lib/audit_log.c \
	lib/audit_config.c \
	lib/audit_internal.h

lib_libedgeguard_internal_la_SOURCES = $(EG_LIB_CORE_SOURCES) $(EG_LIB_AUDIT_SOURCES)
lib_libedgeguard_internal_la_CPPFLAGS = $(AM_CPPFLAGS) -DEG_VERSION='"$(VERSION)"'
lib_libedgeguard_internal_la_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS) \
	$(LIBCONFIG_CFLAGS) $(JANSSON_CFLAGS) $(SYSTEMD_CFLAGS)
lib_libedgeguard_internal_la_LIBADD = $(GNUTLS_LIBS) $(LIBCONFIG_LIBS) \
	$(JANSSON_LIBS) $(SYSTEMD_LIBS) $(PTHREAD_LIBS)

lib_libedgeguard_la_SOURCES =
lib_libedgeguard_la_LIBADD = lib/libedgeguard-internal.la
lib_libedgeguard_la_LDFLAGS = $(AM_LDFLAGS) -version-info 0:0:0 \
	-export-symbols-regex '^eg_(strerror|reason_|identity_|policy_|peer_|event_name|mode_name|audit_|set_allocator|free|version)'

edgeguardincludedir = $(includedir)/edgeguard
edgeguardinclude_HEADERS = \
	lib/include/edgeguard/alloc.h \
	lib/include/edgeguard/audit.h \
	lib/include/edgeguard/edgeguard.h \
	lib/include/edgeguard/error.h \
	lib/include/edgeguard/identity.h \
	lib/include/edgeguard/policy.h \
	lib/include/edgeguard/reason.h

# Link flags for everything that uses the library from inside the tree.
EG_LIB_CFLAGS = $(GNUTLS_CFLAGS) $(LIBCONFIG_CFLAGS) $(JANSSON_CFLAGS)
