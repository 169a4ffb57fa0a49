import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Decrypter, armor } from 'age-encryption'
import { encryptArmored, encryptFileArmored, recipientProblem } from '../../../src/core/crypto/age.js'
import { ageDecrypt, makeKey, removeTempDirs, tempDir, type TestKey } from './age-cli.js'

afterAll(removeTempDirs)

const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- cluster:
    server: https://10.10.88.71:6443
  name: default
users:
- name: default
  user:
    token: K10abc::server:0123456789abcdef
`

describe('encryptArmored', () => {
  let dir: string
  let key: TestKey
  let other: TestKey
  beforeAll(async () => {
    dir = await tempDir()
    key = await makeKey(dir, 'key.txt')
    other = await makeKey(dir, 'other.txt')
  })

  it('produces an armored file that the age CLI decrypts to the exact plaintext', async () => {
    const armored = await encryptArmored(kubeconfig, { recipients: [key.recipient] })
    expect(armored.startsWith('-----BEGIN AGE ENCRYPTED FILE-----\n')).toBe(true)
    expect(armored.endsWith('-----END AGE ENCRYPTED FILE-----\n')).toBe(true)
    expect(armored).not.toContain('K10abc')
    expect((await ageDecrypt(key.file, armored)).toString('utf8')).toBe(kubeconfig)
  })

  it('cannot be decrypted with a key that is not a recipient', async () => {
    const armored = await encryptArmored(kubeconfig, { recipients: [key.recipient] })
    await expect(ageDecrypt(other.file, armored)).rejects.toThrow(/no identity matched/)
  })

  it('lets every recipient decrypt the same file', async () => {
    const armored = await encryptArmored(kubeconfig, { recipients: [key.recipient, other.recipient] })
    expect((await ageDecrypt(key.file, armored)).toString()).toBe(kubeconfig)
    expect((await ageDecrypt(other.file, armored)).toString()).toBe(kubeconfig)
  })

  it('encrypts with a passphrase that only that passphrase opens', async () => {
    const armored = await encryptArmored(kubeconfig, { passphrase: 'correct horse battery', scryptWorkFactor: 10 })
    const right = new Decrypter()
    right.addPassphrase('correct horse battery')
    expect(await right.decrypt(armor.decode(armored), 'text')).toBe(kubeconfig)
    const wrong = new Decrypter()
    wrong.addPassphrase('incorrect horse')
    await expect(wrong.decrypt(armor.decode(armored), 'text')).rejects.toThrow()
  })

  it('refuses recipients and a passphrase together, and neither', async () => {
    await expect(encryptArmored('x', { recipients: [key.recipient], passphrase: 'p' })).rejects.toThrow(/both given/)
    await expect(encryptArmored('x', {})).rejects.toThrow(/no recipient and no passphrase/)
  })

  it('refuses a private key given as recipient without echoing it', async () => {
    const error = await encryptArmored('x', { recipients: [key.identity] }).catch((e: Error) => e)
    expect(String(error)).toMatch(/private key/)
    expect(String(error)).not.toContain(key.identity)
  })
})

describe('recipientProblem: parsed by the age library, checksum included', () => {
  // A real X25519 recipient (generated), and the same with one character changed.
  let good: string
  beforeAll(async () => {
    good = (await makeKey(await tempDir())).recipient
  })
  const typo = (r: string): string => r.slice(0, 20) + (r[20] === 'q' ? 'p' : 'q') + r.slice(21)

  it.each([
    ['age1pq1qqqqqqqq', /post-quantum.*1\.1\.1/],
    [
      'age1yubikey1qgg72x2qfk9wg3wh0qg9u0v7l5dkq4jx69fv80p6wdus3ftg6flwg5dz2dp',
      /^is a plugin recipient \(age-plugin-yubikey\): encryption to it needs that plugin/
    ],
    ['age1tag1qqqqqqqq', /tag recipient \(age1tag1…\).*plugin/],
    ['ssh-ed25519 AAAA', /not an age recipient/],
    ['AGE-SECRET-KEY-1ABC', /private key/],
    ['age-secret-key-1abc', /private key/],
    ['age1ABC', /mixes upper- and lower-case/]
  ])('rejects %s with a reason', (recipient, reason) => {
    expect(recipientProblem(recipient)).toMatch(reason)
  })
  it('rejects a one-character typo (bad bech32 checksum) that a pattern would pass', () => {
    expect(recipientProblem(typo(good))).toBe(
      'is not a valid age X25519 public key: its checksum or length is wrong (a typo or a truncated copy?); copy it again from age-keygen -y'
    )
  })
  it('rejects a truncated key', () => {
    expect(recipientProblem(good.slice(0, -1))).toMatch(/checksum or length is wrong/)
  })
  it('accepts an X25519 recipient, lower-case or all upper-case (the same key in bech32)', async () => {
    expect(recipientProblem(good)).toBeUndefined()
    expect(recipientProblem(good.toUpperCase())).toBeUndefined()
  })
  it('encrypts to an upper-case recipient so that age decrypts with the key', async () => {
    const dir = await tempDir()
    const key = await makeKey(dir)
    const armored = await encryptArmored('secret kubeconfig', { recipients: [key.recipient.toUpperCase()] })
    expect((await ageDecrypt(key.file, armored)).toString()).toBe('secret kubeconfig')
  })
})

describe('encryptFileArmored', () => {
  it('streams a 1 MiB file into strict 64-column armor with mode 0600 that age decrypts byte for byte', async () => {
    const dir = await tempDir()
    const key = await makeKey(dir)
    const plain = randomBytes(1 << 20)
    await writeFile(join(dir, 'plain.bin'), plain)
    const dest = join(dir, 'plain.bin.age')
    await writeFile(dest, 'stale', { mode: 0o644 })
    const size = await encryptFileArmored(join(dir, 'plain.bin'), dest, { recipients: [key.recipient] })
    const armored = await readFile(dest, 'utf8')
    expect(size).toBe(Buffer.byteLength(armored))
    expect((await stat(dest)).mode & 0o777).toBe(0o600)
    // The library's strict decoder checks every line length: proves the streaming armor is canonical.
    expect(() => armor.decode(armored)).not.toThrow()
    expect((await ageDecrypt(key.file, armored)).equals(plain)).toBe(true)
  })
})
