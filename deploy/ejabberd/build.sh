#!/bin/sh
# Compiles mod_dmuc_multicast.erl against the ejabberd installed here (its headers and those of its xmpp library) into
# OUTDIR (default: ebin beside this script). Put OUTDIR on ejabberd's code path (README.md). Needs erlc (erlang-base,
# which ejabberd depends on). ERL_LIBS: where ejabberd's applications are (Debian: /usr/lib/<triplet>, found if unset).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/ebin}
if [ -z "${ERL_LIBS:-}" ]; then
    ERL_LIBS=$(dirname "$(ls -d /usr/lib/*/ejabberd-* /usr/lib/ejabberd-* 2>/dev/null | head -n 1)")
    export ERL_LIBS
fi
# The application folders as the runtime finds them (Debian names xmpp's folder p1_xmpp-VERSION).
apps=$(erl -noshell -noinput -eval '[io:format("~s~n", [filename:dirname(filename:dirname(code:which(M)))]) || M <- [ejabberd, xmpp]], halt().')
ejabberd_dir=$(echo "$apps" | sed -n 1p)
xmpp_dir=$(echo "$apps" | sed -n 2p)
mkdir -p "$out"
erlc -o "$out" -I "$ejabberd_dir/include" -I "$xmpp_dir/include" -pa "$ejabberd_dir/ebin" "$here/mod_dmuc_multicast.erl"
