// The node's SSH host key as the flash phase writes it into the image. ssh2's ed25519 generator now and
// then (about 1 in 200) emits an OpenSSH private key that ssh2's own parser refuses; such a key would
// only fail later, when the node is pinned or sshd reads it. So each generated pair is parsed back
// (private and public half) and a refused pair is replaced, a few times at most.
import ssh2 from 'ssh2'
import { TpiError } from '../../core/errors.js'
import { generateHostKey, type HostKey } from './host-key.js'

export const HOST_KEY_ATTEMPTS = 5

/** Why ssh2 refuses the pair, or undefined when both halves parse as ed25519. Never quotes the key. */
export function hostKeyProblem(key: HostKey): string | undefined {
  const check = (what: string, text: string): string | undefined => {
    let parsed: ReturnType<typeof ssh2.utils.parseKey>
    try {
      parsed = ssh2.utils.parseKey(text)
    } catch (error) {
      return `${what} key does not parse: ${(error as Error).message}`
    }
    const first = Array.isArray(parsed) ? parsed[0] : parsed
    if (!first) return `${what} key parses to nothing`
    if (first instanceof Error) return `${what} key does not parse: ${first.message}`
    if (first.type !== 'ssh-ed25519') return `${what} key parses as ${first.type}, expected ssh-ed25519`
    return undefined
  }
  return check('private', key.privateKey) ?? check('public', key.publicKey)
}

export interface HostKeyOptions {
  /** The generator (injectable for tests); default ssh2's ed25519 generator. */
  generate?: (comment: string) => HostKey
  attempts?: number
  /** Told about each refused key (debug log). */
  onRetry?: (attempt: number, problem: string) => void
}

/** A host key that ssh2 parses back; retries the generator up to `attempts` times. */
export function generateVerifiedHostKey(comment: string, options: HostKeyOptions = {}): HostKey {
  const generate = options.generate ?? generateHostKey
  const attempts = options.attempts ?? HOST_KEY_ATTEMPTS
  const problems: string[] = []
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const key = generate(comment)
    const problem = hostKeyProblem(key)
    if (!problem) return key
    problems.push(problem)
    if (attempt < attempts) options.onRetry?.(attempt, problem)
  }
  throw new TpiError(
    'HostKeyInvalid',
    `could not generate an ed25519 host key that ssh2 parses back in ${attempts} attempts (last: ${problems.at(-1)})`
  )
}
