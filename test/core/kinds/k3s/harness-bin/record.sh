#!/bin/bash
# Shared by the harness stand-ins: append one JSON line per call to /var/log/lab-calls.jsonl.
record() {
  local cmd=$1; shift
  local args="" a
  for a in "$@"; do args+="${args:+,}\"${a//\"/\\\"}\""; done
  mkdir -p /var/log
  printf '{"cmd":"%s","args":[%s]}\n' "$cmd" "$args" >> /var/log/lab-calls.jsonl
}
