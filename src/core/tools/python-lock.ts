// rkllama's Python dependencies are installed on the node only from a hashed lock, with
// `pip install --require-hashes --no-deps -r <lock>`: pip then refuses any file whose sha256 the lock
// does not name, whatever index or mirror served it. The lock is the user's (npu_config.
// rkllama_requirements_lock, a file inside working-directory, e.g. from `pip-compile --generate-hashes`)
// or the one committed here for the rkllama version the action pins. Without either, a deploy with
// deploy_rkllama is refused before its first side effect (a plan warns); unhashed pip never runs.
import { readFileSync, statSync } from 'node:fs'
import { resolve } from 'node:path'

/**
 * The committed lock for RKLLAMA_VERSION, or undefined. None is committed yet: its hashes must come from
 * PyPI for the exact aarch64 wheels of every dependency (torch, transformers, opencv-python, ...), and
 * this catalog was written where PyPI could not be reached. Until then the cluster file names one.
 */
export const COMMITTED_RKLLAMA_LOCK: { version: string; text: string } | undefined = undefined

export const LOCK_FIELD = 'npu_config.rkllama_requirements_lock'
const MAX_LOCK_BYTES = 1024 * 1024

/** What to tell a user whose file deploys rkllama without a lock. */
export function missingLockMessage(version: string): string {
  return `deploy_rkllama needs a hashed lock of rkllama ${version}'s Python dependencies (no lock is committed for this version): set ${LOCK_FIELD} to a requirements file inside working-directory in which every package is pinned with == and carries --hash=sha256:… (e.g. pip-compile --generate-hashes, on Python 3.11 aarch64, including setuptools>=77.0.3 to build rkllama); the node installs it with pip --require-hashes --no-deps and never without hashes`
}

/** Joins `\` continuations, drops comments and blank lines. */
function logicalLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = []
  let buffer = ''
  let start = 0
  text.split(/\r?\n/).forEach((raw, i) => {
    if (!buffer) start = i + 1
    const noComment = raw.replace(/(^|\s)#.*$/, '')
    if (/\\\s*$/.test(noComment)) {
      buffer += noComment.replace(/\\\s*$/, ' ')
      return
    }
    const whole = (buffer + noComment).trim()
    buffer = ''
    if (whole) out.push({ line: start, text: whole })
  })
  if (buffer.trim()) out.push({ line: start, text: buffer.trim() })
  return out
}

const REQUIREMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._,-]+\])?==[A-Za-z0-9.!+_-]+(\s*;[^-]*)?(\s|$)/
const HASH = /--hash=sha256:[0-9a-f]{64}(\s|$)/g

/**
 * A problem with the lock's text, or undefined: every requirement pinned with == and carrying at least
 * one --hash=sha256:<64 hex>; no options (an --index-url, -e, -f or a URL would bypass the hashes or the
 * action's choice of index); at least one requirement.
 */
export function checkHashedLock(text: string): string | undefined {
  const lines = logicalLines(text)
  if (!lines.length) return 'it names no requirement'
  for (const { line, text: l } of lines) {
    if (l.startsWith('-'))
      return `line ${line} is an option (${l.split(/\s/)[0]}); a lock holds only name==version --hash=sha256:… lines`
    if (!REQUIREMENT.test(l))
      return `line ${line} ${JSON.stringify(l.slice(0, 80))} is not name==version (a URL, path or range cannot be hash-checked)`
    const hashes = l.match(HASH) ?? []
    const options = l.split(/\s+/).filter((w) => w.startsWith('--'))
    if (!hashes.length) return `line ${line} (${l.split(/[\s;]/)[0]}) has no --hash=sha256:<64 hex digits>`
    if (options.length !== hashes.length)
      return `line ${line} (${l.split(/[\s;]/)[0]}) has an option other than --hash=sha256:<64 hex digits>`
  }
  return undefined
}

/**
 * The lock for this run: the file the cluster file names (read from working-directory) or the
 * committed one; `problem` when neither can be used.
 */
export function rkllamaLock(
  lockPath: string | undefined,
  workingDirectory: string,
  version: string
): { text: string; from: string } | { problem: string } {
  if (lockPath === undefined) {
    if (COMMITTED_RKLLAMA_LOCK?.version === version)
      return { text: COMMITTED_RKLLAMA_LOCK.text, from: `the lock committed for rkllama ${version}` }
    return { problem: missingLockMessage(version) }
  }
  const file = resolve(workingDirectory, lockPath)
  try {
    if (statSync(file).size > MAX_LOCK_BYTES) return { problem: `${LOCK_FIELD} ${lockPath} is over 1 MiB` }
    const text = readFileSync(file, 'utf8')
    const problem = checkHashedLock(text)
    return problem
      ? { problem: `${LOCK_FIELD} ${lockPath} is not a hashed lock: ${problem}` }
      : { text, from: `${LOCK_FIELD} ${lockPath}` }
  } catch (error) {
    return { problem: `${LOCK_FIELD} ${lockPath} cannot be read: ${(error as Error).message}` }
  }
}
