# shellcheck shell=bash
# Servers for tests/bench/run.sh, sourced: the backend and every server
# under test, with equivalent configurations (same certificates, same
# allowlist: the client certificate edge.example.net, same backend, one
# worker, TLS 1.2+1.3, session tickets on, keep-alive to the backend).
# Each starts in the foreground as a child of this shell on 127.0.0.1, so
# the PID we keep is the one to stop, and only ever ours.

# start_server KIND PORT [ORIGIN_PORT]: renders KIND's config under
# $BENCH_DIR/KIND and starts it; sets SERVER_PID. The edges (edge-*) take
# plain HTTP on PORT and forward to the origin on ORIGIN_PORT. Returns 1
# (logged) when it does not listen.
start_server() {
	local kind=$1 port=$2 oport=${3:-} dir="$BENCH_DIR/$1"
	mkdir -p "$dir/tmp"
	case $kind in
	backend) nginx_backend_conf "$dir" "$port" >"$dir/nginx.conf" ;;
	nginx) nginx_origin_conf "$dir" "$port" >"$dir/nginx.conf" ;;
	haproxy) haproxy_conf "$port" >"$dir/haproxy.cfg" ;;
	stunnel) stunnel_conf "$dir" "$port" >"$dir/stunnel.conf" ;;
	verifier | verifier-w2) verifier_conf "$dir" "$port" >"$dir/verifier.conf" ;;
	floor) ;;
	edge-edgeguard) forwarder_conf "$port" "$oport" >"$dir/forwarder.conf" ;;
	edge-nginx) nginx_edge_conf "$dir" "$port" "$oport" >"$dir/nginx.conf" ;;
	edge-haproxy) haproxy_edge_conf "$port" "$oport" >"$dir/haproxy.cfg" ;;
	*)
		log "unknown server $kind"
		return 1
		;;
	esac
	if port_listening "$port"; then
		log "127.0.0.1:$port is already in use: not starting $kind"
		return 1
	fi
	case $kind in
	backend | nginx | edge-nginx)
		nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" \
			>"$dir/out.log" 2>&1 &
		;;
	haproxy | edge-haproxy) haproxy -db -f "$dir/haproxy.cfg" >"$dir/out.log" 2>&1 & ;;
	stunnel) stunnel "$dir/stunnel.conf" >"$dir/out.log" 2>&1 & ;;
	verifier | verifier-w2)
		# SERVER_WRAP: a profiler to run it under (profile.sh).
		${SERVER_WRAP[@]+"${SERVER_WRAP[@]}"} "$VERIFIER" \
			-c "$dir/verifier.conf" >"$dir/out.log" 2>&1 &
		;;
	floor)
		"$FLOOR" -a "127.0.0.1:$port" --cert "$PKI/origin.pem" \
			--key "$PKI/origin.key" --ca "$PKI/ca.pem" \
			--allow edge.example.net >"$dir/out.log" 2>&1 &
		;;
	edge-edgeguard)
		"$FORWARDER" -c "$dir/forwarder.conf" >"$dir/out.log" 2>&1 &
		;;
	esac
	SERVER_PID=$!
	STARTED_PIDS+=("$SERVER_PID")
	if ! wait_listen "$port" "${SERVER_START_S:-10}"; then
		log "$kind did not listen on 127.0.0.1:$port; its output:"
		cat "$dir/out.log" "$dir/error.log" >&2 2>/dev/null
		stop_pid "$SERVER_PID"
		return 1
	fi
}

# nginx_head DIR LOGLEVEL: what every nginx here starts with (one worker,
# files under DIR, keep-alive clients); the caller closes the http block.
nginx_head() {
	cat <<EOF
worker_processes 1;
worker_rlimit_nofile 65536;
daemon off;
pid $1/nginx.pid;
error_log $1/error.log $2;
events { worker_connections 16384; }
http {
    access_log off;
    client_body_temp_path $1/tmp/body;
    proxy_temp_path $1/tmp/proxy;
    fastcgi_temp_path $1/tmp/fastcgi;
    uwsgi_temp_path $1/tmp/uwsgi;
    scgi_temp_path $1/tmp/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
EOF
}

# haproxy_head: global and defaults of every HAProxy here (one thread, TLS
# 1.2+ on both sides, keep-alive, long timeouts).
haproxy_head() {
	cat <<EOF
global
    nbthread 1
    maxconn 9000
    ssl-default-bind-options ssl-min-ver TLSv1.2
    ssl-default-server-options ssl-min-ver TLSv1.2
defaults
    mode http
    option http-keep-alive
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    timeout http-keep-alive 300s
    timeout http-request 300s
EOF
}

# The neutral backend: a static 200 with a small body, keep-alive.
nginx_backend_conf() {
	nginx_head "$1" warn
	cat <<EOF
    default_type text/plain;
    server {
        listen 127.0.0.1:$2 backlog=4096;
        location / { return 200 "hello from backend\n"; }
    }
}
EOF
}

# nginx as the mTLS origin: ssl_verify_client on (nginx answers a missing
# or untrusted certificate with its own 400), the allowlist as a map on
# the subject (403 otherwise), pooled keep-alive to the backend.
nginx_origin_conf() {
	nginx_head "$1" crit
	cat <<EOF
    map \$ssl_client_s_dn \$edge_allowed {
        default 0;
        "~(^|,)CN=edge\\.example\\.net(,|\$)" 1;
    }
    upstream backend {
        server 127.0.0.1:$BACKEND_PORT;
        keepalive 64;
    }
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:ORIGIN:20m;
    ssl_session_timeout 1h;
    server {
        listen 127.0.0.1:$2 ssl backlog=4096;
        server_name origin.test;
        ssl_certificate $PKI/origin.pem;
        ssl_certificate_key $PKI/origin.key;
        ssl_client_certificate $PKI/ca.pem;
        ssl_verify_client on;
        ssl_verify_depth 2;
        location / {
            if (\$edge_allowed = 0) { return 403; }
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Edge-Identity \$ssl_client_s_dn;
        }
    }
}
EOF
}

# HAProxy: verify required (a bad or missing certificate fails the
# handshake), the allowlist as an ACL on the subject CN, reused backend
# connections.
haproxy_conf() {
	haproxy_head
	cat <<EOF
frontend origin
    bind 127.0.0.1:$1 ssl crt $PKI/origin.bundle.pem ca-file $PKI/ca.pem verify required alpn http/1.1
    http-request deny deny_status 403 unless { ssl_c_s_dn(CN) -m str edge.example.net }
    http-request set-header X-Edge-Identity %[ssl_c_s_dn]
    default_backend app
backend app
    http-reuse always
    server app 127.0.0.1:$BACKEND_PORT
EOF
}

# stunnel: verifyChain plus checkHost as the allowlist, at the TLS layer
# only (no HTTP 403); one thread and one backend connection per client.
stunnel_conf() {
	cat <<EOF
foreground = yes
pid =
syslog = no
output = $1/stunnel.log
debug = 3
[origin]
accept = 127.0.0.1:$2
connect = 127.0.0.1:$BACKEND_PORT
cert = $PKI/origin.pem
key = $PKI/origin.key
CAfile = $PKI/ca.pem
verifyChain = yes
checkHost = edge.example.net
sslVersionMin = TLSv1.2
EOF
}

# edgeguard-verifier with its shipped defaults (audit log, 403 at the HTTP
# layer) and one worker; verifier-w2 has two. The backend gets what nginx's
# origin passes it, the identity (and the verification result), not the
# URL-escaped certificate and XFCC the defaults add (about 1 KB a request).
verifier_conf() {
	local workers=1
	[ "$(basename "$1")" = verifier-w2 ] && workers=2
	cat <<EOF
verifier = {
  listen = [ "127.0.0.1:$2" ];
  tls = { cert = "$PKI/origin.pem"; key = "$PKI/origin.key"; };
  backend = "127.0.0.1:$BACKEND_PORT";
  workers = $workers;
  limits = { max_connections = 20000; idle_timeout_ms = 300000; };
  identity_headers = { client_cert = false; xfcc = false; };
};
policy = {
  trust = { ca_files = [ "$PKI/ca.pem" ]; };
  default = {
    name = "edge";
    allow = { dns = [ "edge.example.net" ]; };
  };
};
audit = { file = "$1/audit.log"; };
EOF
}

# ---- edges: plain HTTP in, mTLS to an origin above -------------------------
# Each presents the client certificate edge.example.net, verifies the
# origin's certificate against the CA and the name origin.test (also sent
# as SNI), and keeps up to 32 idle keep-alive TLS connections to the
# origin, with sessions resumed when it reconnects.

# edgeguard-forwarder, one worker; its admin listener ($FW_ADMIN_PORT)
# gives the handshake counters. The pool outlives the pauses between
# repetitions, as nginx's and HAProxy's do.
forwarder_conf() {
	cat <<EOF
forwarder = {
  listen = [ "127.0.0.1:$1" ];
  workers = 1;
  admin = { listen = "127.0.0.1:$FW_ADMIN_PORT"; };
  limits = { max_connections = 20000; idle_timeout_ms = 300000; };
  origins = (
    {
      name = "origin";
      hosts = [ "origin.test" ];
      servers = [ "127.0.0.1:$2" ];
      sni = "origin.test";
      client_cert = "$PKI/edge.pem";
      client_key = "$PKI/edge.key";
      ca_file = "$PKI/ca.pem";
      pool_size = 32;
      idle_timeout_ms = 290000;
    }
  );
};
EOF
}

# nginx as the edge: proxy_pass https:// with the client certificate,
# proxy_ssl_verify on, sessions reused, an upstream keep-alive pool of 32.
nginx_edge_conf() {
	nginx_head "$1" crit
	cat <<EOF
    upstream origin {
        server 127.0.0.1:$3;
        keepalive 32;
        keepalive_requests 1000000;
        keepalive_timeout 300s;
    }
    server {
        listen 127.0.0.1:$2 backlog=4096;
        location / {
            proxy_pass https://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host origin.test;
            proxy_ssl_certificate $PKI/edge.pem;
            proxy_ssl_certificate_key $PKI/edge.key;
            proxy_ssl_trusted_certificate $PKI/ca.pem;
            proxy_ssl_verify on;
            proxy_ssl_verify_depth 2;
            proxy_ssl_name origin.test;
            proxy_ssl_server_name on;
            proxy_ssl_session_reuse on;
            proxy_ssl_protocols TLSv1.2 TLSv1.3;
        }
    }
}
EOF
}

# HAProxy as the edge: the server line presents the client certificate and
# verifies the origin (verify required, verifyhost); connections to the
# origin are shared by all client connections (http-reuse always).
haproxy_edge_conf() {
	haproxy_head
	cat <<EOF
frontend edge
    bind 127.0.0.1:$1
    default_backend origin
backend origin
    http-reuse always
    server origin 127.0.0.1:$2 ssl crt $PKI/edge.bundle.pem ca-file $PKI/ca.pem verify required verifyhost origin.test sni str(origin.test)
EOF
}
