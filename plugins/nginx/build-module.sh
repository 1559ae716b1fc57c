#!/bin/bash
# Builds ngx_http_edgeguard_module.so against an nginx build tree the way
# Debian documents it for nginx-dev: copy the tree, configure it with the
# flags the installed nginx was built with, make the modules only.
#
#   build-module.sh NGINX_SRC BUILD_DIR MODULE_DIR
#
# NGINX_SRC  nginx source/build tree holding conf_flags (/usr/share/nginx/src)
# BUILD_DIR  scratch copy of that tree (reused while the flags are unchanged)
# MODULE_DIR plugins/nginx (this directory: config and sources)
# EDGEGUARD_INCS / EDGEGUARD_LIBS / EDGEGUARD_RPATH (environment) locate
# libedgeguard; see
# plugins/nginx/config. Prints the built module's path on success.
set -eu

[ $# -eq 3 ] || { echo "usage: $0 NGINX_SRC BUILD_DIR MODULE_DIR" >&2; exit 2; }
src=$1 build=$2 module=$(cd "$3" && pwd)

[ -r "$src/conf_flags" ] && [ -x "$src/configure" ] || {
	echo "$0: $src is not an nginx build tree with conf_flags (apt-get install nginx-dev)" >&2
	exit 1
}

# The configure step is the slow part: redo it only when the inputs differ.
stamp="src=$src module=$module incs=${EDGEGUARD_INCS:-} libs=${EDGEGUARD_LIBS:-} rpath=${EDGEGUARD_RPATH:-} config=$(cksum <"$module/config")"
if [ ! -f "$build/objs/Makefile" ] || [ "$(cat "$build/.edgeguard-stamp" 2>/dev/null)" != "$stamp" ]; then
	rm -rf "$build"
	mkdir -p "$build"
	cp -R "$src/." "$build/"
	chmod -R u+w "$build"
	(
		cd "$build"
		. ./conf_flags
		./configure "${NGX_CONF_FLAGS[@]}" --add-dynamic-module="$module" \
			>configure.log 2>&1 || { cat configure.log >&2; exit 1; }
	)
	printf '%s\n' "$stamp" >"$build/.edgeguard-stamp"
fi

"${MAKE:-make}" -s -C "$build" -f objs/Makefile modules >&2
touch "$build/objs/ngx_http_edgeguard_module.so"
echo "$build/objs/ngx_http_edgeguard_module.so"
