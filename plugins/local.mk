# nginx dynamic module and Apache httpd module (issue 5). Each is built by
# its server's own tool chain (nginx's configure from nginx-dev, apxs from
# apache2-dev) against this tree's shared libedgeguard; the tests point
# LD_LIBRARY_PATH at lib/.libs.
#
# The library is named by its file, not by -L and -l: given a -L directory
# holding an uninstalled libedgeguard.la, apxs's libtool would record that
# build directory as the module's RUNPATH. The module keeps only what an
# installed one needs: a RUNPATH of $(libdir) when the dynamic loader does
# not search it anyway, by libtool's own rule (sys_lib_dlsearch_path_spec),
# so a build for /usr has none and one for /opt/edgeguard finds its library.
EG_PLUGIN_RPATH = $$($(LIBTOOL) --config | \
	sed -n 's/^sys_lib_dlsearch_path_spec="\(.*\)"$$/ \1 /p' | \
	grep -qF ' $(libdir) ' || echo '$(libdir)')
EG_PLUGIN_ENV = EDGEGUARD_INCS='$(abs_top_srcdir)/lib/include' \
	EDGEGUARD_LIBS='$(abs_top_builddir)/lib/.libs/libedgeguard.so' \
	EDGEGUARD_RPATH="$(EG_PLUGIN_RPATH)" \
	EG_WARN_CFLAGS='$(EG_WARN_CFLAGS)' MAKE='$(MAKE)'

EG_NGINX_MODULE_FILES = \
	plugins/nginx/ngx_http_edgeguard.h \
	plugins/nginx/ngx_http_edgeguard_module.c \
	plugins/nginx/ngx_http_edgeguard_request.c \
	plugins/nginx/ngx_http_edgeguard_filter.c

EXTRA_DIST += \
	plugins/nginx/config \
	$(EG_NGINX_MODULE_FILES) \
	plugins/nginx/build-module.sh \
	plugins/apache/mod_edgeguard.c \
	plugins/apache/build-module.sh \
	conf/nginx-origin.conf \
	conf/nginx-auth-request.conf \
	conf/apache-origin.conf

if BUILD_NGINX_MODULE
nginxmoduledir = $(NGINX_MODULEDIR)
nginxmodule_DATA = plugins/nginx-build/objs/ngx_http_edgeguard_module.so
plugins/nginx-build/objs/ngx_http_edgeguard_module.so: lib/libedgeguard.la \
		$(srcdir)/plugins/nginx/config \
		$(EG_NGINX_MODULE_FILES) \
		$(srcdir)/plugins/nginx/build-module.sh
	+$(AM_V_GEN)$(EG_PLUGIN_ENV) bash $(srcdir)/plugins/nginx/build-module.sh \
		'$(NGINX_SRC)' plugins/nginx-build $(srcdir)/plugins/nginx >/dev/null
endif

if BUILD_APACHE_MODULE
apachemoduledir = $(APACHE_MODULEDIR)
apachemodule_DATA = plugins/apache-build/mod_edgeguard.so
plugins/apache-build/mod_edgeguard.so: lib/libedgeguard.la \
		$(srcdir)/plugins/apache/mod_edgeguard.c \
		$(srcdir)/plugins/apache/build-module.sh
	+$(AM_V_GEN)$(EG_PLUGIN_ENV) $(SHELL) \
		$(srcdir)/plugins/apache/build-module.sh '$(APXS)' \
		plugins/apache-build $(srcdir)/plugins/apache/mod_edgeguard.c \
		>/dev/null
endif

# Every enforcement point runs the one table of certificate cases: the two
# modules, and nginx auth_request in front of the verifier's authz endpoint.
EG_PLUGIN_TESTS = \
	tests/integration/plugin-nginx.sh \
	tests/integration/plugin-apache.sh \
	tests/integration/plugin-nginx-authz.sh
TESTS += $(EG_PLUGIN_TESTS)
EXTRA_DIST += $(EG_PLUGIN_TESTS) \
	tests/integration/plugin-lib.sh \
	tests/integration/cases.tsv

# The module build trees; hooked into the shared clean-local: target.
clean-local-plugins:
	-rm -rf plugins/nginx-build plugins/apache-build
.PHONY: clean-local-plugins
