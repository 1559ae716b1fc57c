#!/bin/sh
# Builds mod_edgeguard.so with apxs from apache2-dev, in a build directory of
# its own (apxs writes next to its sources, and the source tree may be
# read-only, as under make distcheck).
#
#   build-module.sh APXS BUILD_DIR SOURCE
#
# EDGEGUARD_INCS / EDGEGUARD_LIBS / EDGEGUARD_RPATH (environment) locate
# libedgeguard, as for the nginx module; EG_WARN_CFLAGS containing -Werror makes warnings fatal.
# Prints the built module's path on success.
set -eu

[ $# -eq 3 ] || { echo "usage: $0 APXS BUILD_DIR SOURCE" >&2; exit 2; }
apxs=$1 build=$2 source=$3

mkdir -p "$build"
cp "$source" "$build/mod_edgeguard.c"
cd "$build"

werror=
case " ${EG_WARN_CFLAGS:-} " in *" -Werror "*) werror=-Wc,-Werror ;; esac

incs=
for d in ${EDGEGUARD_INCS:-}; do incs="$incs -I$d"; done
# apxs's libtool silently drops a shared library named by its file, so such
# a name goes to the linker as it is (the tree's build names the file: a -L
# directory holding an uninstalled .la would become the module's RUNPATH).
libs=
for w in ${EDGEGUARD_LIBS:--ledgeguard}; do
	case $w in
	*.so) libs="$libs -Wl,$w" ;;
	*) libs="$libs $w" ;;
	esac
done
rpath=
if [ -n "${EDGEGUARD_RPATH:-}" ]; then
	rpath="-Wl,-Wl,-rpath,$EDGEGUARD_RPATH -Wl,-Wl,--enable-new-dtags"
fi

# shellcheck disable=SC2086 # word splitting of the flag lists is intended
"$apxs" -c -Wc,-Wall -Wc,-Wextra -Wc,-Wno-unused-parameter \
	-Wc,-Wno-missing-field-initializers $werror $incs $rpath \
	-o mod_edgeguard.la mod_edgeguard.c $libs -lgnutls -lssl -lcrypto >apxs.log 2>&1 || {
	cat apxs.log >&2
	exit 1
}
cp .libs/mod_edgeguard.so mod_edgeguard.so
echo "$PWD/mod_edgeguard.so"
