#!/bin/sh
# Seeds the fuzzing corpora: seed.sh TOP_SRCDIR OUTDIR
set -eu
top=$1
out=$2
mkdir -p "$out/fuzz_policy" "$out/fuzz_identity" "$out/fuzz_request" \
	"$out/fuzz_authz"
cp "$top"/conf/*.conf "$out/fuzz_policy/"
tmpl=$(mktemp)
trap 'rm -f "$tmpl" "$out/ca.key" "$out/leaf.key"' EXIT
printf 'cn = "fuzz CA"\nca\ncert_signing_key\nexpiration_days = 3650\n' >"$tmpl"
"$CERTTOOL" --generate-privkey --key-type ecdsa --outfile "$out/ca.key" 2>/dev/null
"$CERTTOOL" --generate-self-signed --load-privkey "$out/ca.key" \
	--template "$tmpl" --outfile "$out/ca.pem" 2>/dev/null
printf 'cn = "edge"\ndns_name = "a.example.com"\ndns_name = "*.example.com"\nuri = "spiffe://example.net/edge/1"\nip_address = "10.1.2.3"\nemail = "a@example.com"\norganization = "Example"\nunit = "edge"\ntls_www_client\nexpiration_days = 30\n' >"$tmpl"
"$CERTTOOL" --generate-privkey --key-type ecdsa --outfile "$out/leaf.key" 2>/dev/null
"$CERTTOOL" --generate-certificate --load-privkey "$out/leaf.key" \
	--load-ca-certificate "$out/ca.pem" --load-ca-privkey "$out/ca.key" \
	--template "$tmpl" --outder --outfile "$out/fuzz_identity/leaf.der" 2>/dev/null
"$CERTTOOL" --certificate-info --infile "$out/ca.pem" --outder \
	--outfile "$out/fuzz_identity/ca.der" 2>/dev/null
printf 'x.example.com\000/admin/../%%2e%%2e/x?y' >"$out/fuzz_request/1"
printf '[::1]:443\000http://h/admin//a/./b#f' >"$out/fuzz_request/2"
printf 'A.EXAMPLE.COM.\000/%%61dmin%%00' >"$out/fuzz_request/3"
# fuzz_http1: byte 0 = side (bit 0 response, bit 1 to HEAD) and limits
# (bits 2-3), byte 1 = piece sizes, then the stream.
mkdir -p "$out/fuzz_http1"
printf '\000\001GET /a?b HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, close\r\n\r\nPOST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc' >"$out/fuzz_http1/pipelined"
printf '\004\007POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3;q="a b"\r\nabc\r\n0\r\nT: v\r\n\r\nGET / HTTP/1.0\r\n\r\n' >"$out/fuzz_http1/chunked"
printf '\010\003GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nrest' >"$out/fuzz_http1/upgrade"
printf '\004\005POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nX-A: a\r\n b\r\n\r\n0\r\n\r\n' >"$out/fuzz_http1/desync"
printf '\001\002HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\nhi\r\n0\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\nHTTP/1.1 200 OK\r\n\r\nuntil close' >"$out/fuzz_http1/responses"
printf '\007\011HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nHTTP/1.0 204 No Content\r\n\r\n' >"$out/fuzz_http1/head"
# fuzz_authz: byte 0 = form (0 PEM, 1 XFCC, 2 Traefik), then the header
# value as a proxy would send it.
pem=$("$CERTTOOL" --certificate-info --infile "$out/fuzz_identity/leaf.der" \
	--inder 2>/dev/null | sed -n '/BEGIN/,/END/p')
esc=$(printf '%s\n' "$pem" | python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.stdin.read(), safe=""), end="")')
b64=$(base64 -w0 "$out/fuzz_identity/leaf.der")
printf '\000%s' "$esc" >"$out/fuzz_authz/pem"
printf '\001By=spiffe://o;Hash=00;Cert="%s";Subject="CN=x",By=next' "$esc" >"$out/fuzz_authz/xfcc"
printf '\002%s,%s' "$b64" "$b64" >"$out/fuzz_authz/traefik"
