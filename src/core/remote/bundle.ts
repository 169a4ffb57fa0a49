// Several read-only scripts in one SSH exec: each runs in its own bash (in parallel), and the exec prints
// one JSON document with each one's exit code, stdout and stderr (base64, so any bytes survive). Callers
// read each section exactly as they read the script's own exec before, so bundling changes no decision.
// The wrapper itself forks as little as it can (bash 5's EPOCHREALTIME for the timings, no base64 for an
// empty output): on a converged node the wrapper's own processes outnumbered the checks'.
import { q } from './script.js'

export interface Section {
  code: number
  stdout: string
  stderr: string
  /** How long the section's script ran on the node. */
  ms: number
}

const NAME = /^[a-z][a-z0-9_]*$/

/** The bundled script; `sections` maps a name (lower case) to a complete script. */
export function bundleScript(sections: Record<string, string>): string {
  const names = Object.keys(sections)
  for (const name of names)
    if (!NAME.test(name)) throw new Error(`section name ${JSON.stringify(name)} must match ${NAME}`)
  const runs = names.map((name) => `section ${name} ${q(sections[name])}`).join('\n')
  return `#!/usr/bin/env bash
set -euo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
us() { local t=\${EPOCHREALTIME:-0}; us=\${t/[.,]/}; }
section() {
  ( us; start=$us; rc=0; bash -c "$2" </dev/null >"$dir/$1.out" 2>"$dir/$1.err" || rc=$?
    us; echo "$rc $(( (us - start) / 1000 ))" >"$dir/$1.code" ) &
}
${runs}
wait
printf '{'
sep=''
for name in ${names.join(' ')}; do
  read -r code ms <"$dir/$name.code"
  out=''; err=''
  [ -s "$dir/$name.out" ] && out=$(base64 -w0 <"$dir/$name.out")
  [ -s "$dir/$name.err" ] && err=$(base64 -w0 <"$dir/$name.err")
  printf '%s"%s":{"code":%s,"ms":%s,"out":"%s","err":"%s"}' "$sep" "$name" "$code" "$ms" "$out" "$err"
  sep=','
done
printf '}\\n'
`
}

/** The sections of a bundle's stdout; throws when it is not the document bundleScript prints. */
export function parseBundle(stdout: string): Record<string, Section> {
  const raw = JSON.parse(stdout.trim()) as Record<string, { code: number; ms: number; out: string; err: string }>
  const out: Record<string, Section> = {}
  for (const [name, s] of Object.entries(raw))
    out[name] = {
      code: s.code,
      ms: s.ms,
      stdout: Buffer.from(s.out, 'base64').toString('utf8'),
      stderr: Buffer.from(s.err, 'base64').toString('utf8')
    }
  return out
}
