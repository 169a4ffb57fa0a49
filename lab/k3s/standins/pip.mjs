// pip stand-in for lab nodes (the venv's bin/pip that standins/python3 creates). The lab has no PyPI and
// installs nothing, but it is not more lenient than the trust rule: an install that could download must
// run with --require-hashes from a lock (-r FILE) in which every requirement is pinned with == and carries
// --hash=sha256:<64 hex>, as real pip enforces in that mode; an install without --require-hashes is
// accepted only when it cannot download (--no-index --no-deps, local paths only). Every call is recorded
// in /var/log/lab-pip.log (its arguments, and the lock's requirements).
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs'

const args = process.argv.slice(2)
const LOG = '/var/log/lab-pip.log'

function log(line) {
  try {
    mkdirSync('/var/log', { recursive: true })
    appendFileSync(LOG, line + '\n')
  } catch {
    // the log is for tests to read; a read-only /var/log must not change pip's answer
  }
}

function fail(message) {
  log(`refused: ${message}`)
  process.stderr.write(`ERROR: ${message}\n`)
  process.exit(1)
}

log(`pip ${args.join(' ')}`)
if (args[0] !== 'install') process.exit(0)

const WITH_VALUE = new Set([
  '-r',
  '--requirement',
  '-i',
  '--index-url',
  '--extra-index-url',
  '-f',
  '--find-links',
  '-c'
])
const flags = new Set()
const values = {}
const targets = []
for (let i = 1; i < args.length; i++) {
  const a = args[i]
  const eq = a.startsWith('--') ? a.indexOf('=') : -1
  if (eq > 0) {
    values[a.slice(0, eq)] = [...(values[a.slice(0, eq)] ?? []), a.slice(eq + 1)]
  } else if (WITH_VALUE.has(a)) {
    values[a] = [...(values[a] ?? []), args[++i]]
  } else if (a.startsWith('-')) flags.add(a)
  else targets.push(a)
}
const requirementFiles = [...(values['-r'] ?? []), ...(values['--requirement'] ?? [])]
for (const bypass of ['--extra-index-url', '-f', '--find-links', '--trusted-host'])
  if (values[bypass] || flags.has(bypass)) fail(`lab pip refuses ${bypass}: the lab serves one index and no links`)

/** Logical requirement lines: continuations joined, comments and blanks dropped. */
function requirements(text) {
  const out = []
  let buffer = ''
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/(^|\s)#.*$/, '')
    if (/\\\s*$/.test(line)) {
      buffer += line.replace(/\\\s*$/, ' ')
      continue
    }
    const whole = (buffer + line).trim()
    buffer = ''
    if (whole) out.push(whole)
  }
  if (buffer.trim()) out.push(buffer.trim())
  return out
}

if (flags.has('--require-hashes')) {
  if (targets.length)
    fail(`Can't verify hashes for these requirements because they are given on the command line: ${targets.join(' ')}`)
  if (!requirementFiles.length) fail('--require-hashes without -r: no requirements to check')
  for (const file of requirementFiles) {
    if (!existsSync(file)) fail(`Could not open requirements file: ${file}`)
    const lines = requirements(readFileSync(file, 'utf8'))
    if (!lines.length) fail(`${file} names no requirement`)
    for (const line of lines) {
      const name = line.split(/[\s;=<>!~[]/)[0]
      if (line.startsWith('-')) fail(`${file}: option ${line.split(/\s/)[0]} in a --require-hashes lock`)
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]*\])?==[^\s;]+/.test(line))
        fail(
          `In --require-hashes mode, all requirements must have their versions pinned with ==. These do not:\n    ${line}`
        )
      if (!/--hash=sha256:[0-9a-f]{64}(\s|$)/.test(line))
        fail(`Hashes are required in --require-hashes mode, but they are missing from some requirements:\n    ${name}`)
      log(`locked ${line.replace(/\s+/g, ' ')}`)
    }
  }
  process.exit(0)
}

// Without hashes: only what cannot download (no index, no dependencies, local paths that exist).
if (requirementFiles.length) fail(`-r ${requirementFiles.join(' ')} without --require-hashes`)
if (!flags.has('--no-index') || !flags.has('--no-deps'))
  fail(
    `install without --require-hashes could download (${targets.join(' ')}): the lab accepts it only with --no-index --no-deps`
  )
for (const t of targets) if (!t.startsWith('/') || !existsSync(t)) fail(`${t} is not a local path that exists`)
process.exit(0)
