// Building blocks for the bash scripts sent to nodes. Scripts are pure strings: parameters become
// single-quoted assignments at the top (never interpolated into the body), so a test can render a
// script, run shellcheck on it and assert the exact text. Every script ends with one line
// `tpi-result: changed <details>` or `tpi-result: unchanged`, which the phases parse.

/** Single-quotes a value for bash. */
export function q(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`
}

const NAME = /^[A-Z][A-Z0-9_]*$/

/** A complete bash script: shebang, strict mode, the parameters, the shared helpers and the body. */
export function script(params: Record<string, string>, body: string): string {
  const lines = ['#!/usr/bin/env bash', 'set -euo pipefail']
  for (const [name, value] of Object.entries(params)) {
    if (!NAME.test(name)) throw new Error(`script parameter name ${JSON.stringify(name)} must match ${NAME}`)
    lines.push(`${name}=${q(value)}`)
  }
  return `${lines.join('\n')}\n${RESULT_HELPERS}\n${body.trim()}\n`
}

const RESULT_HELPERS = `changes=()
changed() { changes+=("$1"); }
result() {
  if [ "\${#changes[@]}" -gt 0 ]; then echo "tpi-result: changed \${changes[*]}"; else echo "tpi-result: unchanged"; fi
}`

export interface ScriptResult {
  changed: boolean
  details: string
}

/** Reads the final `tpi-result:` line of a script's stdout. */
export function parseResult(stdout: string): ScriptResult | undefined {
  const line = stdout
    .trimEnd()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('tpi-result: '))
  if (!line) return undefined
  const rest = line.slice('tpi-result: '.length)
  if (rest === 'unchanged' || rest.startsWith('unchanged '))
    return { changed: false, details: rest.slice('unchanged'.length).trim() }
  if (rest.startsWith('changed')) return { changed: true, details: rest.slice('changed'.length).trim() }
  return undefined
}

/** key=value lines (the observation scripts' output). */
export function parseFacts(stdout: string): Record<string, string> {
  const facts: Record<string, string> = {}
  for (const line of stdout.split('\n')) {
    const at = line.indexOf('=')
    if (at > 0 && /^[a-z][a-z0-9_.-]*$/.test(line.slice(0, at))) facts[line.slice(0, at)] = line.slice(at + 1)
  }
  return facts
}
