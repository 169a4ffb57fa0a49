import { describe, expect, it } from '@jest/globals'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseCli, UsageError } from '../../src/cli/settings.js'

describe('CLI settings', () => {
  it('refuses a mirror with shell syntax from the flag or TPI_MIRROR, and keeps a valid one without its trailing slash', () => {
    expect(() => parseCli('validate', ['--mirror', 'http://m#g;e touch /tmp/x;#'], {})).toThrow(UsageError)
    expect(() => parseCli('validate', [], { TPI_MIRROR: 'https://m.example/$(id)' })).toThrow(
      /--mirror: mirror "https:\/\/m.example\/\$\(id\)" is not a URL base/
    )
    expect(parseCli('validate', ['--mirror', 'http://127.0.0.1:8080/'], {}).settings.mirror).toBe(
      'http://127.0.0.1:8080'
    )
  })

  it('takes --node-concurrency as a whole number from 1 to 64, and leaves it to the core default without it', () => {
    expect(parseCli('deploy', ['--node-concurrency', '2'], {}).settings.nodeConcurrency).toBe(2)
    expect(parseCli('deploy', [], {}).settings.nodeConcurrency).toBeUndefined()
    expect(() => parseCli('deploy', ['--node-concurrency', '0'], {})).toThrow(
      '--node-concurrency: "0" is not a whole number from 1 to 64'
    )
  })

  it('reads flags into run settings and secrets only from the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-'))
    writeFileSync(join(dir, 'key'), 'PRIVATE KEY TEXT')
    const { settings } = parseCli(
      'deploy',
      ['--config', 'c.yaml', '--phases', 'flash,boot', '--nodes', 'a, b', '--reflash', '--confirm', 'prod'],
      {
        TPI_BMC_PASSWORD: 'pw-1234',
        TPI_SSH_PRIVATE_KEY_FILE: join(dir, 'key'),
        TPI_ARTIFACT_RECIPIENTS: 'age1a\nage1b'
      }
    )
    expect(settings).toMatchObject({
      command: 'deploy',
      configPath: 'c.yaml',
      phases: ['flash', 'boot'],
      nodes: ['a', 'b'],
      reflash: true,
      confirm: 'prod',
      secrets: { bmcPassword: 'pw-1234', sshPrivateKey: 'PRIVATE KEY TEXT', artifactRecipients: ['age1a', 'age1b'] }
    })
  })

  it('refuses an unknown phase and names the valid ones', () => {
    expect(() => parseCli('deploy', ['--phases', 'flsh'], {})).toThrow(UsageError)
    expect(() => parseCli('deploy', ['--phases', 'flsh'], {})).toThrow(/flsh.*flash, boot, os-bootstrap/)
  })

  it('refuses a password passed as a flag', () => {
    expect(() => parseCli('deploy', ['--password', 'x'], {})).toThrow(/password/)
  })
})
