import { describe, expect, it } from '@jest/globals'
import type { Cluster } from '../../../src/core/config/model.js'
import { checkRunSettings } from '../../../src/core/redeploy/run-checks.js'
import type { RunSettings } from '../../../src/core/settings.js'

const cluster = {
  kind: 'k3s',
  name: 'homelab',
  addons: { metallb: true, prune: false, values: {} },
  longhorn: false,
  nodes: [{ id: 'cp1', hostname: 'cp1' }]
} as unknown as Cluster
const settings = (extra: Partial<RunSettings>): RunSettings =>
  ({ command: 'deploy', reflash: false, secrets: { artifactRecipients: [] }, ...extra }) as RunSettings
const codes = (s: RunSettings) => checkRunSettings(cluster, s).map((i) => i.code)

describe('checkRunSettings', () => {
  it('needs a way to encrypt credentials for a full deploy', () => {
    expect(codes(settings({}))).toEqual(['NoArtifactEncryption'])
  })
  it('needs it when install or join runs, not for a flash-only or addons-only deploy, nor for plan', () => {
    expect(codes(settings({ phases: ['join'] }))).toEqual(['NoArtifactEncryption'])
    expect(codes(settings({ phases: ['flash', 'boot'] }))).toEqual([])
    expect(codes(settings({ phases: ['addons'] }))).toEqual([])
    expect(codes(settings({ command: 'plan' }))).toEqual([])
  })
  it('needs it for a restore, which publishes the kubeconfig of the restored cluster again', () => {
    expect(codes(settings({ command: 'restore' }))).toEqual(['NoArtifactEncryption'])
  })
  it('at validate, checks the recipients given (parsed by the age library) and asks for nothing else', () => {
    expect(codes(settings({ command: 'validate' }))).toEqual([])
    const typo = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8q' // last character changed
    expect(codes(settings({ command: 'validate', secrets: { artifactRecipients: [typo] } }))).toEqual([
      'InvalidArtifactRecipient'
    ])
  })
  it('reports redeploy and artifact problems together', () => {
    expect(codes(settings({ nodes: ['ghost'], secrets: { artifactRecipients: ['age1pq1x'] } }))).toEqual([
      'UnknownNode',
      'UnsupportedArtifactRecipient'
    ])
  })
})
