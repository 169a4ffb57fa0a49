import { describe, expect, it } from '@jest/globals'
import { checkArtifactSettings } from '../../../src/core/crypto/check-settings.js'

const good = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p'
const settings = (artifactRecipients: string[], artifactPassphrase?: string) => ({
  secrets: { artifactRecipients, artifactPassphrase }
})
const codes = (issues: { code: string; severity: string }[]) => issues.map((i) => `${i.severity}:${i.code}`)

describe('checkArtifactSettings', () => {
  it('is an error to upload with neither recipient nor passphrase', () => {
    expect(codes(checkArtifactSettings(settings([]), true))).toEqual(['error:NoArtifactEncryption'])
  })
  it('needs nothing when nothing would be uploaded (plan, drift)', () => {
    expect(checkArtifactSettings(settings([]), false)).toEqual([])
  })
  it('accepts a recipient alone and a long passphrase alone', () => {
    expect(checkArtifactSettings(settings([good]), true)).toEqual([])
    expect(checkArtifactSettings(settings([], 'a long enough passphrase'), true)).toEqual([])
  })
  it('refuses age1pq1 recipients, naming the entry and the reason', () => {
    const [issue] = checkArtifactSettings(settings([good, 'age1pq1abcdef']), true)
    expect(issue).toMatchObject({
      code: 'UnsupportedArtifactRecipient',
      path: 'artifact-recipients[1]',
      severity: 'error'
    })
    expect(issue.message).toMatch(/"age1pq1abcdef".*age 1\.1\.1/)
  })
  it('reports a malformed recipient even when a passphrase is also given', () => {
    expect(codes(checkArtifactSettings(settings(['age1BAD'], 'a long enough passphrase'), true))).toEqual([
      'error:InvalidArtifactRecipient'
    ])
  })
  it('refuses a one-character typo at once (the age library checks the bech32 checksum), not after the deploy', () => {
    const typo = good.slice(0, 30) + (good[30] === 'q' ? 'p' : 'q') + good.slice(31)
    const [issue] = checkArtifactSettings(settings([typo]), true)
    expect(issue).toMatchObject({
      code: 'InvalidArtifactRecipient',
      path: 'artifact-recipients[0]',
      message: expect.stringMatching(/checksum or length is wrong/)
    })
  })
  it('refuses a plugin recipient (age1yubikey1…) as unsupported, with the reason', () => {
    const [issue] = checkArtifactSettings(
      settings(['age1yubikey1qgg72x2qfk9wg3wh0qg9u0v7l5dkq4jx69fv80p6wdus3ftg6flwg5dz2dp']),
      true
    )
    expect(issue).toMatchObject({
      code: 'UnsupportedArtifactRecipient',
      message: expect.stringMatching(/plugin recipient \(age-plugin-yubikey\)/)
    })
  })
  it('accepts an all upper-case recipient, and sees it as the same key as its lower-case form', () => {
    expect(checkArtifactSettings(settings([good.toUpperCase()]), true)).toEqual([])
    expect(codes(checkArtifactSettings(settings([good, good.toUpperCase()]), true))).toEqual([
      'warning:DuplicateArtifactRecipient'
    ])
  })
  it('never echoes a private key pasted as a recipient', () => {
    const secret = 'AGE-SECRET-KEY-' + '1' + 'Q'.repeat(58) // built: not a real identity
    const issues = checkArtifactSettings(settings([secret]), true)
    expect(codes(issues)).toEqual(['error:InvalidArtifactRecipient'])
    expect(JSON.stringify(issues)).not.toContain(secret)
  })
  it('warns about a short passphrase and a duplicated recipient without showing the passphrase', () => {
    const issues = checkArtifactSettings(settings([good, good], 'hunter2'), true)
    expect(codes(issues)).toEqual(['warning:DuplicateArtifactRecipient', 'warning:WeakArtifactPassphrase'])
    expect(JSON.stringify(issues)).not.toContain('hunter2')
  })
})
