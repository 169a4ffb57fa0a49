// The lab's lock of rkllama's Python dependencies, for lab deploys with deploy_rkllama (the action
// refuses them without one). Shaped like pip-compile --generate-hashes output; the hashes are of lab
// names, since the lab's pip stand-in (standins/pip.mjs) installs nothing: it checks that the install
// runs with --require-hashes against a lock in which every requirement is pinned and hashed.
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

const hash = (name: string): string => `--hash=sha256:${createHash('sha256').update(`lab wheel ${name}`).digest('hex')}`

export const LAB_RKLLAMA_LOCK = ['flask==2.3.2', 'requests==2.31.0', 'setuptools==80.9.0']
  .map((req) => `${req} \\\n    ${hash(req)}\n    # via rkllama (lab)\n`)
  .join('')

/** Writes the lab lock into `dir` as rkllama-requirements.lock; returns that file name. */
export function writeLabRkllamaLock(dir: string): string {
  writeFileSync(join(dir, 'rkllama-requirements.lock'), LAB_RKLLAMA_LOCK)
  return 'rkllama-requirements.lock'
}
