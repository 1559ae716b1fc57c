# Packaging (issue 6): the systemd units, man pages, sysusers, tmpfiles and
# logrotate snippets. Templates are filled in at make time, not by
# configure, so that directories come out expanded (${prefix} resolved) and
# the version comes from AC_INIT alone. ([@] keeps config.status from
# substituting the patterns themselves.)
EG_PKG_SUBST = $(SED) \
	-e 's|[@]VERSION[@]|$(VERSION)|g' \
	-e 's|[@]bindir[@]|$(bindir)|g' \
	-e 's|[@]sbindir[@]|$(sbindir)|g' \
	-e 's|[@]sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|[@]localstatedir[@]|$(localstatedir)|g'

EG_PKG_GENERATED = \
	packaging/systemd/edgeguard-verifier.service \
	packaging/systemd/edgeguard-forwarder.service \
	packaging/tmpfiles.d/edgeguard.conf \
	packaging/logrotate.d/edgeguard \
	packaging/man/edgeguard.1 \
	packaging/man/edgeguard.conf.5 \
	packaging/man/edgeguard-verifier.8 \
	packaging/man/edgeguard-forwarder.8

# Written through a temporary file so that an interrupted make never leaves
# a half-substituted file that looks up to date.
$(EG_PKG_GENERATED): Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && \
	$(EG_PKG_SUBST) $(srcdir)/$@.in >$@.tmp && mv $@.tmp $@
packaging/systemd/edgeguard-verifier.service: $(srcdir)/packaging/systemd/edgeguard-verifier.service.in
packaging/systemd/edgeguard-forwarder.service: $(srcdir)/packaging/systemd/edgeguard-forwarder.service.in
packaging/tmpfiles.d/edgeguard.conf: $(srcdir)/packaging/tmpfiles.d/edgeguard.conf.in
packaging/logrotate.d/edgeguard: $(srcdir)/packaging/logrotate.d/edgeguard.in
packaging/man/edgeguard.1: $(srcdir)/packaging/man/edgeguard.1.in
packaging/man/edgeguard.conf.5: $(srcdir)/packaging/man/edgeguard.conf.5.in
packaging/man/edgeguard-verifier.8: $(srcdir)/packaging/man/edgeguard-verifier.8.in
packaging/man/edgeguard-forwarder.8: $(srcdir)/packaging/man/edgeguard-forwarder.8.in

systemdsystemunit_DATA = packaging/systemd/edgeguard-verifier.service \
	packaging/systemd/edgeguard-forwarder.service
sysusers_DATA = packaging/sysusers.d/edgeguard.conf
tmpfiles_DATA = packaging/tmpfiles.d/edgeguard.conf
logrotatedir = $(sysconfdir)/logrotate.d
logrotate_DATA = packaging/logrotate.d/edgeguard
man1_MANS = packaging/man/edgeguard.1
man5_MANS = packaging/man/edgeguard.conf.5
man8_MANS = packaging/man/edgeguard-verifier.8 \
	packaging/man/edgeguard-forwarder.8

CLEANFILES += $(EG_PKG_GENERATED)

# The RPM spec (configure fills in the version) ships in the tarball so that
# rpmbuild -ta works on it; packaging/debian is copied to debian/ of an
# export (see packaging/README.md).
EXTRA_DIST += \
	packaging/dependencies.txt packaging/install-deps.sh \
	packaging/README.md packaging/ci-packages.sh \
	packaging/systemd/edgeguard-verifier.service.in \
	packaging/systemd/edgeguard-forwarder.service.in \
	packaging/sysusers.d/edgeguard.conf \
	packaging/tmpfiles.d/edgeguard.conf.in \
	packaging/logrotate.d/edgeguard.in \
	packaging/man/edgeguard.1.in \
	packaging/man/edgeguard.conf.5.in \
	packaging/man/edgeguard-verifier.8.in \
	packaging/man/edgeguard-forwarder.8.in \
	packaging/rpm/edgeguard.spec \
	packaging/debian
