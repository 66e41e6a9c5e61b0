#!/bin/sh
# runc, minus the capabilities this host cannot grant: its bounding set
# lacks CAP_SYS_RESOURCE, so a privileged container asking for every
# capability fails with "unable to apply caps".
strip() {
  [ -f "$1" ] || return 0
  jq -c 'walk(if type == "array" then map(select(. != "CAP_SYS_RESOURCE")) else . end)' "$1" > "$1.tmp" && mv "$1.tmp" "$1"
}
bundle=""; process=""; cmd=""; prev=""
for a in "$@"; do
  case "$prev" in
    --bundle|-b) bundle="$a" ;;
    --process|-p) process="$a" ;;
  esac
  case "$a" in
    --bundle=*) bundle="${a#--bundle=}" ;;
    create|run|exec) [ -z "$cmd" ] && cmd="$a" ;;
  esac
  prev="$a"
done
case "$cmd" in
  create|run) strip "${bundle:-.}/config.json" ;;
  exec) [ -n "$process" ] && strip "$process" ;;
esac
exec "${EVENTCHECK_RUNC:-/usr/sbin/runc}" "$@"
