#!/usr/bin/env bash
# Makes a Dmuc cluster's credentials with openssl, as PEM files the nodes read (--tls-cert, --tls-key, --tls-ca):
#
#   make-certs.sh DIR authority [NAME]                       DIR/ca.pem, DIR/ca-key.pem (kept if they exist)
#   make-certs.sh DIR node NAME [--host H]... [--primary D]... DIR/NAME.pem, DIR/NAME-key.pem, from DIR's authority
#
# --host names an XMPP host whose users the node serves, --primary a MUC domain whose rooms it may hold; the
# node refuses to start as anything its certificate does not name, and the other nodes down it if it claims to.
# `dmuc certs` makes the same files without openssl. Keep ca-key.pem off the nodes (docs/operations.md#security).
set -euo pipefail

usage() { sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
(($# >= 2)) || usage
dir="$1"
kind="$2"
shift 2
mkdir -p "$dir"
umask 077

case "$kind" in
  authority)
    name="${1:-Dmuc cluster authority}"
    [[ -s "$dir/ca.pem" ]] && { echo "$dir/ca.pem exists; kept"; exit 0; }
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days 3650 \
      -subj "/O=Dmuc cluster authority/CN=$name" -keyout "$dir/ca-key.pem" -out "$dir/ca.pem" \
      -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    chmod 644 "$dir/ca.pem"
    echo "$dir/ca.pem"
    ;;
  node)
    (($# >= 1)) || usage
    name="$1"
    shift
    names="DNS:$name"
    while (($#)); do
      case "$1" in
        --host) names+=",URI:urn:dmuc:host:${2,,}"; shift 2 ;;
        --primary) names+=",URI:urn:dmuc:primary:${2,,}"; shift 2 ;;
        *) usage ;;
      esac
    done
    [[ -s "$dir/ca.pem" && -s "$dir/ca-key.pem" ]] || { echo "no authority in $dir: run '$0 $dir authority' first" >&2; exit 1; }
    extensions=$(mktemp)
    trap 'rm -f "$extensions" "$dir/$name.csr"' EXIT
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyAgreement" \
      "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=$names" >"$extensions"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
      -subj "/O=Dmuc node/CN=$name" -keyout "$dir/$name-key.pem" -out "$dir/$name.csr" 2>/dev/null
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" -CAcreateserial -sha256 -days 825 \
      -extfile "$extensions" -out "$dir/$name.pem" 2>/dev/null
    chmod 644 "$dir/$name.pem"
    echo "$dir/$name.pem ($names)"
    ;;
  *) usage ;;
esac
