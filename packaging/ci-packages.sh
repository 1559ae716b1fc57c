#!/bin/bash
# The packages, proved (issue 6): builds the Debian packages from a clean
# export of the tree, checks them with lintian, the units with
# systemd-analyze and the RPM spec with rpmbuild; installs the .debs with
# dpkg -i, runs the installed verifier and forwarder with the installed
# example configurations adapted to a demo PKI (edge request 200, direct
# request 403 with an audit record in /var/log/edgeguard/, logrotate), loads
# the installed nginx module into the installed nginx, then purges and checks
# that nothing is left behind but the edgeguard user.
#
#   packaging/ci-packages.sh [REF]      as root on Debian 12; REF: HEAD
#
# Daemons are started directly, the way their units would start them (no
# systemd as PID 1 in CI). Ends with "packages: N passed, N failed"; exits
# non-zero when anything failed. Logs (and, after a failure, everything)
# stay in the printed work directory.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
ref=${1:-HEAD}
[ "$(id -u)" -eq 0 ] || { echo "ci-packages: must run as root (dpkg -i)" >&2; exit 2; }

work=$(mktemp -d /tmp/edgeguard-packages.XXXXXX)
chmod 0755 "$work"
log="$work/log"
passed=0
failed=0
pids=
installed=0
started=$(date +%s)

export DEBIAN_FRONTEND=noninteractive
pkgs="libedgeguard0 libedgeguard-dev edgeguard-common edgeguard-origin edgeguard-edge libnginx-mod-http-edgeguard libapache2-mod-edgeguard"
# What the smoke test adds to /etc/edgeguard, as an admin would.
etc=/etc/edgeguard
admin_files="$etc/edge-ca.pem $etc/origin.pem $etc/origin.key $etc/edge-shop.pem $etc/edge-shop.key $etc/origin-ca.pem"

pass() { passed=$((passed + 1)); printf 'ok   %s\n' "$1"; }
fail() { failed=$((failed + 1)); printf 'FAIL %s\n' "$1"; [ -z "${2:-}" ] || printf '     %s\n' "$2"; }
# check NAME COMMAND...: runs COMMAND (output to the log), one pass or fail.
# Programs get at most 300 s each (the slowest, the package build, takes
# about 60 s); the script's own functions bound their waits themselves.
check() {
	local name=$1 limit=
	shift
	[ "$(type -t "$1")" = function ] || limit="timeout 300"
	echo "== $name: $*" >>"$log"
	if $limit "$@" >>"$log" 2>&1; then pass "$name"; else fail "$name" "see $log"; fi
}
# The rest of the run depends on this step: stop here when it failed.
need() { [ "$1" -eq "$failed" ] || finish; }
finish() {
	cleanup
	# A passing run keeps its log, lintian's report and the .debs only.
	if [ "$failed" -eq 0 ]; then
		rm -rf "$work/deb/edgeguard-${version:-}" "$work/rpm" "$work/x" "$work/pki" \
			"$work/nginx" "$work/before" "$work/after"
	fi
	echo "ci-packages: $(($(date +%s) - started)) s, logs in $work"
	echo "packages: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit $?
}
stop_daemons() {
	local p
	for p in $pids; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	pids=
}
# A run that stops early still leaves the machine as it found it (but for
# the edgeguard user and the dependencies apt-get install -f added).
cleanup() {
	stop_daemons
	[ "$installed" -eq 1 ] || return 0
	# shellcheck disable=SC2086 # one argument per file and package
	rm -rf $admin_files /run/edgeguard && dpkg --purge $pkgs >>"$log" 2>&1
	installed=0
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
wait_port() {
	for _ in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# unit_cmd UNIT KEY: the value of KEY= in the installed unit.
unit_cmd() { sed -n "s/^$2=//p" "/lib/systemd/system/$1"; }
# shellcheck disable=SC2317 # called through check
# as_unit UNIT KEY: runs the command line of KEY= (ExecStart, ExecStartPre)
# as the unit would: as its User= and Group=, under its UMask=.
as_unit() {
	setpriv --reuid="$(unit_cmd "$1" User)" --regid="$(unit_cmd "$1" Group)" \
		--init-groups -- sh -c "umask $(unit_cmd "$1" UMask) && exec $(unit_cmd "$1" "$2")"
}
# start_unit UNIT LOG: as_unit UNIT ExecStart in the background; $! is the
# daemon (setpriv and sh exec it), for the signals ExecReload would send.
start_unit() {
	setpriv --reuid="$(unit_cmd "$1" User)" --regid="$(unit_cmd "$1" Group)" \
		--init-groups -- sh -c "umask $(unit_cmd "$1" UMask) && exec $(unit_cmd "$1" ExecStart)" \
		>>"$2" 2>&1 &
}
# snapshot FILE: the paths, modes and owners a package may leave behind.
# Expected to change: dpkg's and apt's state, caches, logs, nginx's
# temporary directories (nginx -t creates and chowns them) and
# apache2-maintscript-helper's record of enabled and disabled modules
# (checked separately).
snapshot() {
	find /etc /usr /var /opt /srv \
		\( -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/cache \
		-o -path /var/log -o -path /var/tmp -o -path /var/lib/ucf \
		-o -path /var/lib/nginx -o -path /var/lib/apache2/module \) -prune \
		-o -printf '%p %m %u %g\n' 2>/dev/null | sort >"$1"
}

echo "ci-packages: work directory $work"

# --- tools -----------------------------------------------------------------
"$top/packaging/install-deps.sh" >>"$log" 2>&1 ||
	{ fail "install-deps" "see $log"; finish; }

# --- build the .debs from a clean export ----------------------------------
version=$(sed -n 's/^AC_INIT(\[edgeguard\], \[\([^]]*\)\].*/\1/p' "$top/configure.ac")
deb_version=$(dpkg-parsechangelog -l "$top/packaging/debian/changelog" -SVersion)
if [ -n "$version" ] && [ "${deb_version%-*}" = "$version" ]; then
	pass "debian/changelog carries AC_INIT's version $version"
else
	fail "debian/changelog carries AC_INIT's version" "AC_INIT '$version', changelog '$deb_version'"
fi

src="$work/deb/edgeguard-$version"
mkdir -p "$work/deb"
f=$failed
check "clean export of $ref" \
	sh -c "git -C '$top' archive --prefix=edgeguard-$version/ '$ref' | tar -x -C '$work/deb' &&
		cp -a '$src/packaging/debian' '$src/debian'"
need $f
check "dpkg-buildpackage -us -uc -b" \
	sh -c "cd '$src' && DEB_BUILD_OPTIONS='nocheck parallel=$(nproc)' dpkg-buildpackage -us -uc -b"
need $f
debs=
missing=
for p in $pkgs; do
	d=$(ls "$work/deb/${p}_${deb_version}_"*.deb 2>/dev/null)
	if [ -n "$d" ]; then debs="$debs $d"; else missing="$missing $p"; fi
done
if [ -z "$missing" ]; then pass "all packages built"; else fail "all packages built" "missing:$missing"; fi
need $f

# --- lintian -----------------------------------------------------------------
lintian --pedantic "$work/deb/"*.changes >"$work/lintian.txt" 2>&1
if grep -q '^E: ' "$work/lintian.txt"; then
	fail "lintian: no errors" "$(grep -c '^E: ' "$work/lintian.txt") errors in $work/lintian.txt"
else
	pass "lintian: no errors ($(grep -c '^W: ' "$work/lintian.txt") warnings)"
fi

# --- the packages' contents ---------------------------------------------------
# contains DEB PATH...: the package ships every PATH.
# shellcheck disable=SC2317 # called through check
contains() {
	local deb=$1 p
	shift
	dpkg-deb -c "$deb" | awk '{print substr($6, 2)}' >"$work/contents"
	for p in "$@"; do grep -qx "$p" "$work/contents" || { echo "$deb lacks $p"; return 1; }; done
}
deb() { ls "$work/deb/${1}_${deb_version}_"*.deb; }
check "edgeguard-common contents" contains "$(deb edgeguard-common)" \
	/usr/bin/edgeguard /etc/edgeguard/policy.conf /etc/logrotate.d/edgeguard \
	/usr/lib/sysusers.d/edgeguard.conf /usr/lib/tmpfiles.d/edgeguard.conf \
	/usr/share/man/man1/edgeguard.1.gz /usr/share/man/man5/edgeguard.conf.5.gz
check "edgeguard-origin contents" contains "$(deb edgeguard-origin)" \
	/usr/sbin/edgeguard-verifier /etc/edgeguard/verifier.conf \
	/lib/systemd/system/edgeguard-verifier.service \
	/usr/share/man/man8/edgeguard-verifier.8.gz
check "edgeguard-edge contents" contains "$(deb edgeguard-edge)" \
	/usr/sbin/edgeguard-forwarder /etc/edgeguard/forwarder.conf \
	/lib/systemd/system/edgeguard-forwarder.service \
	/usr/share/man/man8/edgeguard-forwarder.8.gz
check "libnginx-mod-http-edgeguard contents" contains "$(deb libnginx-mod-http-edgeguard)" \
	/usr/lib/nginx/modules/ngx_http_edgeguard_module.so \
	/usr/share/nginx/modules-available/mod-http-edgeguard.conf
check "libnginx-mod-http-edgeguard depends on the nginx ABI" sh -c "
	dpkg-deb -f '$(deb libnginx-mod-http-edgeguard)' Depends | grep -q 'nginx-abi-'"
check "libapache2-mod-edgeguard contents" contains "$(deb libapache2-mod-edgeguard)" \
	/usr/lib/apache2/modules/mod_edgeguard.so /etc/apache2/mods-available/edgeguard.load
check "libapache2-mod-edgeguard depends on the Apache API" sh -c "
	dpkg-deb -f '$(deb libapache2-mod-edgeguard)' Depends | grep -q 'apache2-api-'"
check "conffiles under /etc" sh -c "
	for p in edgeguard-common edgeguard-origin edgeguard-edge; do
		dpkg-deb -I \$(ls '$work/deb/'\${p}_*.deb) conffiles; done |
	sort | tr '\n' ' ' | grep -qx '/etc/edgeguard/forwarder.conf /etc/edgeguard/policy.conf /etc/edgeguard/verifier.conf /etc/logrotate.d/edgeguard '"
# Everything the packages ship, unpacked, for the checks below.
for d in $debs; do dpkg-deb -x "$d" "$work/x"; done
check "no RUNPATH in the modules and programs" sh -c "
	! find '$work/x' -type f \( -name '*.so*' -o -path '*bin/*' \) -exec readelf -d {} + | grep -E 'RPATH|RUNPATH'"
check "logrotate: reopen by signal, never copytruncate" sh -c "
	f='$work/x/etc/logrotate.d/edgeguard'
	! grep -Eq '^[[:space:]]*copytruncate' \"\$f\" && grep -q 'signal=SIGUSR1' \"\$f\" &&
	logrotate -d -s '$work/logrotate.dry' \"\$f\""

# --- systemd units: syntax and exposure ---------------------------------------
for u in edgeguard-verifier edgeguard-forwarder; do
	unit="$work/x/lib/systemd/system/$u.service"
	out=$(systemd-analyze security --offline=true "$unit" 2>&1 | tail -n 1)
	exposure=$(printf '%s\n' "$out" | sed -n 's/.*: \([0-9.]*\) .*/\1/p')
	if [ -n "$exposure" ] && awk "BEGIN { exit !($exposure <= 2.0) }"; then
		pass "$u.service: systemd-analyze security exposure $exposure (<= 2.0)"
	else
		fail "$u.service: systemd-analyze security exposure <= 2.0" "$out"
	fi
	check "$u.service: Type=notify, ExecStartPre -t, ExecReload SIGHUP" sh -c "
		grep -qx 'Type=notify' '$unit' && grep -q '^ExecStartPre=.* -t ' '$unit' &&
		grep -qx 'ExecReload=/bin/kill -HUP \$MAINPID' '$unit' &&
		grep -qx 'NoNewPrivileges=yes' '$unit' && grep -qx 'ProtectSystem=strict' '$unit' &&
		grep -qx 'PrivateTmp=yes' '$unit' &&
		grep -qx 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE' '$unit'"
done

# --- RPM: the spec configure generates, through rpmbuild -bb ------------------
rpmtop="$work/rpm"
mkdir -p "$rpmtop/src" "$rpmtop/build"
f=$failed
check "make dist (tarball with the generated spec)" sh -c "
	git -C '$top' archive --prefix=edgeguard-$version/ '$ref' | tar -x -C '$rpmtop/src' &&
	cd '$rpmtop/src/edgeguard-$version' && ./autogen.sh && cd '$rpmtop/build' &&
	'$rpmtop/src/edgeguard-$version/configure' -q --with-nginx-module=no --with-apache-module=no &&
	make dist && tar -tzf edgeguard-$version.tar.gz edgeguard-$version/packaging/rpm/edgeguard.spec"
if [ "$f" -eq "$failed" ]; then
	check "rpmbuild -bb --nodeps" rpmbuild -bb --nodeps --without check \
		--define "_topdir $rpmtop/top" --define "_sourcedir $rpmtop/build" \
		"$rpmtop/build/packaging/rpm/edgeguard.spec"
	check "RPMs carry the same layout" sh -c "
		cd '$rpmtop/top/RPMS' &&
		rpm -qlp */edgeguard-origin-$version-*.rpm | grep -qx /usr/sbin/edgeguard-verifier &&
		rpm -qlp */edgeguard-edge-$version-*.rpm | grep -qx /usr/sbin/edgeguard-forwarder &&
		rpm -qlp */edgeguard-$version-*.rpm | grep -qx /usr/lib/sysusers.d/edgeguard.conf &&
		rpm -qp --configfiles */edgeguard-origin-$version-*.rpm | grep -qx /etc/edgeguard/verifier.conf &&
		rpm -qp --scripts */edgeguard-$version-*.rpm | grep -q '^u edgeguard ' &&
		ls */edgeguard-libs-$version-*.rpm */edgeguard-devel-$version-*.rpm */mod_edgeguard-$version-*.rpm"
fi

# --- install --------------------------------------------------------------------
for p in $pkgs; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q installed; then
		echo "ci-packages: $p is installed already; purge it first" >&2
		fail "clean system (no edgeguard package installed)" "$p"
		finish
	fi
done
snapshot "$work/before"
f=$failed
installed=1
# shellcheck disable=SC2086 # one argument per package
check "dpkg -i (then apt-get install -f)" sh -c "
	dpkg -i $debs || apt-get -o DPkg::Lock::Timeout=300 install -f -y -q"
check "all packages installed" sh -c "
	for p in $pkgs; do dpkg-query -W -f='\${Status}\n' \$p | grep -qx 'install ok installed' || exit 1; done"
need $f
check "user edgeguard (sysusers), no login" sh -c "
	getent passwd edgeguard | grep -q ':/usr/sbin/nologin\$' && getent group edgeguard"
check "/var/log/edgeguard: edgeguard:edgeguard 0750" sh -c "
	[ \"\$(stat -c '%U:%G %a' /var/log/edgeguard)\" = 'edgeguard:edgeguard 750' ]"
for u in edgeguard-verifier edgeguard-forwarder; do
	check "$u.service: systemd-analyze verify" \
		systemd-analyze verify --man=no "/lib/systemd/system/$u.service"
done
check "services installed disabled" sh -c "
	[ ! -e /etc/systemd/system/multi-user.target.wants/edgeguard-verifier.service ] &&
	[ ! -e /etc/systemd/system/multi-user.target.wants/edgeguard-forwarder.service ]"

# --- smoke test: the installed daemons, configurations and paths ---------------
pki="$work/pki"
check "edgeguard pki init (installed CLI)" /usr/bin/edgeguard pki init "$pki"
vport=$(free_port) aport=$(free_port) bport=$(free_port) fport=$(free_port) faport=$(free_port)
# What the admin does on an origin: certificates in /etc/edgeguard, the key
# readable by the edgeguard group; listen and backend to taste.
install -m 0644 "$pki/ca.pem" "$etc/edge-ca.pem"
install -m 0644 "$pki/origin.pem" "$etc/origin.pem"
install -m 0640 -g edgeguard "$pki/origin.key" "$etc/origin.key"
sed -i -e "s|^\(  listen = \).*|\1[ \"127.0.0.1:$vport\" ];|" \
	-e "s|^\(  backend = \)\"[^\"]*\"|\1\"127.0.0.1:$bport\"|" \
	-e "s|^\(  admin = { listen = \)\"[^\"]*\"|\1\"127.0.0.1:$aport\"|" "$etc/verifier.conf"
# On an edge: the edge's client certificate, the origin's CA, the origin.
install -m 0644 "$pki/edge.pem" "$etc/edge-shop.pem"
install -m 0640 -g edgeguard "$pki/edge.key" "$etc/edge-shop.key"
install -m 0644 "$pki/ca.pem" "$etc/origin-ca.pem"
sed -i -e "s|^\(  listen = \[ \)\"[^\"]*\"|\1\"127.0.0.1:$fport\"|" \
	-e "s|^\(  admin = { listen = \)\"[^\"]*\"|\1\"127.0.0.1:$faport\"|" \
	-e "s|^\(      servers = \).*|\1[ \"127.0.0.1:$vport\" ];|" \
	-e "s|^\(      sni = \)\"[^\"]*\"|\1\"localhost\"|" \
	-e "s|^\(      verify_name = \)\"[^\"]*\"|\1\"localhost\"|" "$etc/forwarder.conf"
# What RuntimeDirectory= makes under systemd.
install -d -m 0750 -o edgeguard -g edgeguard /run/edgeguard

python3 "$src/tests/integration/echo-backend.py" "$bport" "$work/backend.log" >>"$log" 2>&1 &
pids="$pids $!"

f=$failed
check "backend listens" wait_port "$bport"
check "verifier: ExecStartPre (config test, as edgeguard)" \
	as_unit edgeguard-verifier.service ExecStartPre
need $f
start_unit edgeguard-verifier.service "$work/verifier.log"
vpid=$!
pids="$pids $vpid"
check "verifier: ExecStart listens" wait_port "$vport"
need $f

curl_origin() {
	curl -s -o "$work/body" -w '%{http_code}' --max-time 10 --cacert "$pki/ca.pem" "$@"
}
code=$(curl_origin --cert "$pki/edge.pem" --key "$pki/edge.key" "https://127.0.0.1:$vport/edge")
if [ "$code" = 200 ] && grep -q '^X-Edge-Client-Identity: dns=edge.example.net' "$work/body"; then
	pass "edge request (client certificate) -> 200, identity at the backend"
else
	fail "edge request (client certificate) -> 200, identity at the backend" "got $code: $(head -c 300 "$work/body")"
fi
code=$(curl_origin "https://127.0.0.1:$vport/direct")
if [ "$code" = 403 ] && grep -q no_certificate "$work/body"; then
	pass "direct request -> 403 no_certificate"
else
	fail "direct request -> 403 no_certificate" "got $code: $(head -c 300 "$work/body")"
fi
audit=/var/log/edgeguard/audit.log
check "audit record in $audit (edgeguard, 0640)" sh -c "
	for i in \$(seq 1 50); do grep -q '\"reason\":\"no_certificate\"' $audit 2>/dev/null && break; sleep 0.1; done
	grep '\"path\":\"/direct\"' $audit | grep -q '\"component\":\"verifier\"' &&
	[ \"\$(stat -c '%U %a' $audit)\" = 'edgeguard 640' ]"
check "edgeguard audit summarize (installed CLI)" sh -c "
	/usr/bin/edgeguard audit summarize $audit | grep -q no_certificate"

check "verifier: ExecReload (SIGHUP) keeps serving" sh -c "
	kill -HUP $vpid && sleep 1 && kill -0 $vpid &&
	[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert '$pki/ca.pem' \
		--cert '$pki/edge.pem' --key '$pki/edge.key' https://127.0.0.1:$vport/after-reload)\" = 200 ]"
# logrotate renames and creates an empty file like the old one; the
# postrotate signal is systemctl's, so without systemd the test sends it.
check "logrotate, then SIGUSR1: the verifier writes the new audit.log" sh -c "
	logrotate -f -s '$work/logrotate.state' /etc/logrotate.d/edgeguard &&
	[ -s $audit.1 ] && [ ! -s $audit ] &&
	[ \"\$(stat -c '%U %a' $audit)\" = 'edgeguard 640' ] && kill -USR1 $vpid && sleep 0.5 &&
	curl -s -o /dev/null --max-time 10 --cacert '$pki/ca.pem' https://127.0.0.1:$vport/after-rotate;
	for i in \$(seq 1 50); do grep -q after-rotate $audit 2>/dev/null && break; sleep 0.1; done
	grep -q after-rotate $audit && ! grep -q after-rotate $audit.1"

f=$failed
check "forwarder: ExecStartPre (config test, as edgeguard)" \
	as_unit edgeguard-forwarder.service ExecStartPre
if [ "$f" -eq "$failed" ]; then
	start_unit edgeguard-forwarder.service "$work/forwarder.log"
	fpid=$!
	pids="$pids $fpid"
	check "forwarder: ExecStart listens" wait_port "$fport"
	code=$(curl -s -o "$work/body" -w '%{http_code}' --max-time 10 \
		-H 'Host: shop.example.com' "http://127.0.0.1:$fport/via-forwarder")
	if [ "$code" = 200 ] && grep -q '^X-Edge-Client-Identity: dns=edge.example.net' "$work/body"; then
		pass "edge request through the forwarder -> 200"
	else
		fail "edge request through the forwarder -> 200" "got $code: $(head -c 300 "$work/body")"
	fi
	check "forwarder: unix socket in /run/edgeguard" sh -c "
		[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
			--unix-socket /run/edgeguard/forwarder.sock http://shop.example.com/unix)\" = 200 ]"
	check "edgeguard-forwarder --check-origin shop" sh -c "
		/usr/sbin/edgeguard-forwarder --check-origin shop | grep -q admitted"
	check "forwarder: SIGTERM stops it cleanly" sh -c "kill -TERM $fpid; wait $fpid 2>/dev/null;
		for i in \$(seq 1 100); do kill -0 $fpid 2>/dev/null || exit 0; sleep 0.1; done; exit 1"
fi
check "verifier: SIGTERM stops it cleanly" sh -c "kill -TERM $vpid;
	for i in \$(seq 1 150); do kill -0 $vpid 2>/dev/null || exit 0; sleep 0.1; done; exit 1"
stop_daemons

# --- the web server modules, as installed ---------------------------------------
check "nginx: module enabled (modules-enabled symlink), nginx -t" sh -c "
	[ \"\$(readlink /etc/nginx/modules-enabled/50-mod-http-edgeguard.conf)\" = \
		/usr/share/nginx/modules-available/mod-http-edgeguard.conf ] && nginx -t"
nport=$(free_port)
mkdir -p "$work/nginx/www"
echo "static page" >"$work/nginx/www/index.html"
cat >"$work/nginx/policy.conf" <<EOF
policy = {
  trust = { ca_files = [ "$pki/ca.pem" ]; };
  default = { name = "edge"; allow = { dns = [ "edge.example.net" ]; }; };
};
audit = { file = "$work/nginx/audit.log"; };
EOF
cat >"$work/nginx/nginx.conf" <<EOF
include /etc/nginx/modules-enabled/*.conf;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events {}
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    edgeguard_policy $work/nginx/policy.conf;
    server {
        listen 127.0.0.1:$nport ssl;
        ssl_certificate $pki/origin.pem;
        ssl_certificate_key $pki/origin.key;
        ssl_verify_client optional_no_ca;
        edgeguard on;
        root $work/nginx/www;
    }
}
EOF
f=$failed
check "nginx -t with the installed module and a policy" nginx -t -c "$work/nginx/nginx.conf"
if [ "$f" -eq "$failed" ]; then
	nginx -c "$work/nginx/nginx.conf" >>"$log" 2>&1 &
	pids="$pids $!"
	wait_port "$nport"
	code=$(curl_origin --cert "$pki/edge.pem" --key "$pki/edge.key" "https://127.0.0.1:$nport/")
	code2=$(curl_origin "https://127.0.0.1:$nport/")
	if [ "$code" = 200 ] && [ "$code2" = 403 ]; then
		pass "nginx with the installed module: edge 200, direct 403"
	else
		fail "nginx with the installed module: edge 200, direct 403" "got $code and $code2"
	fi
	stop_daemons
fi
check "apache2: module enabled by the package, configtest" sh -c "
	[ -L /etc/apache2/mods-enabled/edgeguard.load ] &&
	apache2ctl -M 2>/dev/null | grep -q edgeguard_module && apache2ctl -t"

# --- purge: nothing left but the edgeguard user -----------------------------------
# Files the admin added are the admin's: they would stay, so they go first.
# shellcheck disable=SC2086 # one argument per file
rm -f $admin_files
rm -rf /run/edgeguard
# shellcheck disable=SC2086 # one argument per package
check "dpkg --purge" dpkg --purge $pkgs
installed=0
snapshot "$work/after"
# Paths new since the install that no installed package owns (apt-get
# install -f may have added dependencies, which stay); the user's account
# files change in place, their backups may appear.
comm -13 "$work/before" "$work/after" | cut -d' ' -f1 | while read -r p; do
	case "$p" in /etc/passwd- | /etc/group- | /etc/shadow- | /etc/gshadow-) continue ;; esac
	dpkg -S "$p" >/dev/null 2>&1 || echo "$p"
done >"$work/leftovers"
if [ -s "$work/leftovers" ]; then
	fail "purge leaves nothing behind" "$(tr '\n' ' ' <"$work/leftovers")"
else
	pass "purge leaves nothing behind"
fi
check "purge removed /etc/edgeguard, /var/log/edgeguard and the module links" sh -c "
	[ ! -e /etc/edgeguard ] && [ ! -e /var/log/edgeguard ] &&
	[ ! -e /etc/nginx/modules-enabled/50-mod-http-edgeguard.conf ] &&
	[ ! -e /etc/nginx/modules-enabled/50-mod-http-edgeguard.conf.removed ] &&
	[ ! -e /etc/apache2/mods-enabled/edgeguard.load ] &&
	[ -z \"\$(find /var/lib/apache2/module -name 'edgeguard*')\" ]"
check "the edgeguard user stays (system users are not removed)" getent passwd edgeguard

finish
