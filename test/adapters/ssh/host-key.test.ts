// The host key the flash phase writes into a per-node image must parse back with ssh2: its ed25519
// generator sometimes (about 1 in 200) emits a private key its own parser calls malformed.
import { describe, expect, test } from '@jest/globals'
import ssh2 from 'ssh2'
import { TpiError } from '../../../src/core/errors.js'
import { generateHostKey, type HostKey } from '../../../src/adapters/ssh/host-key.js'
import { generateVerifiedHostKey, hostKeyProblem } from '../../../src/adapters/ssh/verified-host-key.js'

/** A real pair whose private half lost its last 40 bytes: what a refused key looks like to ssh2. */
function malformed(comment: string): HostKey {
  const key = generateHostKey(comment)
  const lines = key.privateKey.trim().split('\n')
  const body = Buffer.from(lines.slice(1, -1).join(''), 'base64')
  const broken = [lines[0], body.subarray(0, body.length - 40).toString('base64'), lines.at(-1), ''].join('\n')
  return { ...key, privateKey: broken }
}

const parses = (text: string): boolean => {
  const r = ssh2.utils.parseKey(text)
  return !(r instanceof Error) && !(Array.isArray(r) && r[0] instanceof Error)
}

describe('host key generation', () => {
  test('the malformed fixture is refused by ssh2, a generated pair is accepted', () => {
    const bad = malformed('x')
    expect(parses(bad.privateKey)).toBe(false)
    expect(hostKeyProblem(bad)).toMatch(/^private key does not parse: /)
    expect(hostKeyProblem(bad)).not.toContain(bad.privateKey.split('\n')[1]!.slice(0, 20))
    expect(hostKeyProblem(generateVerifiedHostKey('y'))).toBeUndefined()
  })

  test('a key ssh2 cannot parse back is replaced by a fresh one', () => {
    const produced: HostKey[] = []
    const retries: number[] = []
    const generate = (comment: string): HostKey => {
      const key = produced.length < 2 ? malformed(comment) : generateHostKey(comment)
      produced.push(key)
      return key
    }
    const key = generateVerifiedHostKey('root@w1', { generate, onRetry: (n) => retries.push(n) })
    expect(produced.length).toBe(3)
    expect(retries).toEqual([1, 2])
    expect(key).toBe(produced[2])
    expect(parses(key.privateKey)).toBe(true)
    expect(parses(key.publicKey)).toBe(true)
    expect(key.publicKey).toMatch(/^ssh-ed25519 \S+ root@w1$/)
  })

  test('gives up after the attempt limit with an error that names the cause but not the key', () => {
    let calls = 0
    const keys: HostKey[] = []
    const error = (() => {
      try {
        generateVerifiedHostKey('root@w2', {
          attempts: 3,
          generate: (c) => (calls++, keys.push(malformed(c)), keys.at(-1)!)
        })
      } catch (e) {
        return e
      }
    })() as TpiError
    expect(calls).toBe(3)
    expect(error).toBeInstanceOf(TpiError)
    expect(error.code).toBe('HostKeyInvalid')
    expect(error.message).toMatch(/in 3 attempts .*Malformed OpenSSH private key/)
    for (const k of keys) expect(error.message).not.toContain(k.privateKey.split('\n')[1]!.slice(0, 20))
  })

  test('a public half of the wrong type is refused too', () => {
    const ed = generateHostKey('a')
    const ecdsa = ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256 })
    expect(hostKeyProblem({ ...ed, publicKey: ecdsa.public })).toMatch(
      /public key parses as ecdsa-sha2-nistp256, expected ssh-ed25519/
    )
  })

  test('every key from the real generator parses back (many draws)', () => {
    for (let i = 0; i < 300; i++) expect(hostKeyProblem(generateVerifiedHostKey(`n${i}`))).toBeUndefined()
  })
})
