import { describe, expect, it } from '@jest/globals'
import { talosPath, versionPath } from '../../../src/core/upgrade/path.js'
import { compareVersions, parseVersion, talosSupportsKubernetes } from '../../../src/core/upgrade/versions.js'

const v = (t: string) => parseVersion(t)!
const up = { allowDowngrade: false }

describe('versions', () => {
  it('reads K3s and Talos versions and orders K3s builds after patches', () => {
    expect(v('v1.31.3+k3s1')).toMatchObject({ major: 1, minor: 31, patch: 3, build: 'k3s1' })
    expect(parseVersion('latest')).toBeUndefined()
    expect(compareVersions(v('v1.30.14+k3s2'), v('v1.30.14+k3s1'))).toBeGreaterThan(0)
    expect(compareVersions(v('v1.9.6'), v('v1.10.0'))).toBeLessThan(0)
  })

  it('knows which Kubernetes minors each Talos minor runs, and says when it does not know', () => {
    expect(talosSupportsKubernetes(v('v1.10.3'), v('v1.28.0'))).toBe(true)
    expect(talosSupportsKubernetes(v('v1.10.3'), v('v1.33.9'))).toBe(true)
    expect(talosSupportsKubernetes(v('v1.10.3'), v('v1.27.4'))).toBe(false)
    expect(talosSupportsKubernetes(v('v1.11.0'), v('v1.35.0'))).toBe(false)
    expect(talosSupportsKubernetes(v('v1.4.0'), v('v1.27.0'))).toBeUndefined()
  })
})

describe('the K3s version path', () => {
  it('is empty when the file asks for what runs', () => {
    expect(versionPath('k3s', 'v1.31.3+k3s1', 'v1.31.3+k3s1', up)).toEqual({
      product: 'k3s',
      from: 'v1.31.3+k3s1',
      to: 'v1.31.3+k3s1',
      direction: 'none',
      hops: []
    })
  })

  it('goes straight to a newer patch of the same minor', () => {
    expect(versionPath('k3s', 'v1.31.3+k3s1', 'v1.31.4+k3s1', up).hops).toEqual([
      { from: 'v1.31.3+k3s1', to: 'v1.31.4+k3s1' }
    ])
  })

  it('crosses one minor through the latest patch of the minor it leaves', () => {
    const path = versionPath('k3s', 'v1.30.2+k3s1', 'v1.31.3+k3s1', up)
    expect(path.refusal).toBeUndefined()
    expect(path.hops).toEqual([
      { from: 'v1.30.2+k3s1', to: 'v1.30.14+k3s2' },
      { from: 'v1.30.14+k3s2', to: 'v1.31.3+k3s1' }
    ])
  })

  it('crosses one minor directly from the latest patch', () => {
    expect(versionPath('k3s', 'v1.30.14+k3s2', 'v1.31.3+k3s1', up).hops).toEqual([
      { from: 'v1.30.14+k3s2', to: 'v1.31.3+k3s1' }
    ])
  })

  it('refuses a skipped minor and names every stepping stone to set instead', () => {
    const path = versionPath('k3s', 'v1.29.3+k3s1', 'v1.31.3+k3s1', up)
    expect(path.hops).toEqual([])
    expect(path.refusal).toEqual({
      rule: 'skipped-minor',
      reason: 'K3s v1.29.3+k3s1 → v1.31.3+k3s1 skips minor 1.30; K3s upgrades one minor at a time',
      instead: 'set k3s_version to each of v1.29.15+k3s1 → v1.30.14+k3s2 → v1.31.3+k3s1 in turn, deploying after each'
    })
  })

  it('says so when a stepping stone is not in the catalog rather than inventing one', () => {
    const path = versionPath('k3s', 'v1.25.3+k3s1', 'v1.27.1+k3s1', up)
    expect(path.refusal?.instead).toContain('the latest 1.26 patch (not in this catalog)')
  })

  it('refuses a downgrade unless the file allows it', () => {
    const refused = versionPath('k3s', 'v1.31.3+k3s1', 'v1.31.2+k3s1', up)
    expect(refused.direction).toBe('down')
    expect(refused.refusal?.rule).toBe('downgrade')
    expect(refused.refusal?.instead).toContain('allow_downgrade: true')
    expect(versionPath('k3s', 'v1.31.3+k3s1', 'v1.31.2+k3s1', { allowDowngrade: true }).hops).toEqual([
      { from: 'v1.31.3+k3s1', to: 'v1.31.2+k3s1' }
    ])
  })

  it('refuses an allowed downgrade that skips a minor', () => {
    expect(versionPath('k3s', 'v1.31.3+k3s1', 'v1.29.2+k3s1', { allowDowngrade: true }).refusal?.rule).toBe(
      'skipped-minor'
    )
  })

  it('refuses a version it cannot read', () => {
    expect(versionPath('k3s', 'v1.31.3+k3s1', 'stable', up).refusal).toMatchObject({
      rule: 'version-format',
      reason: '"stable" is not a version like v1.2.3'
    })
  })
})

describe('the Talos and Kubernetes path', () => {
  it('upgrades Talos one minor through the latest patch, with talosctl at the running version for each hop', () => {
    const path = talosPath({
      runningTalos: 'v1.9.0',
      wantedTalos: 'v1.10.3',
      runningKubernetes: 'v1.31.2',
      allowDowngrade: false
    })
    expect(path.refusal).toBeUndefined()
    expect(path.talos.hops).toEqual([
      { from: 'v1.9.0', to: 'v1.9.6' },
      { from: 'v1.9.6', to: 'v1.10.3' }
    ])
    expect(path.order).toEqual(['talos'])
  })

  it('runs Talos first, then upgrade-k8s, when the new Talos runs both Kubernetes versions', () => {
    const path = talosPath({
      runningTalos: 'v1.10.7',
      wantedTalos: 'v1.11.2',
      runningKubernetes: 'v1.32.3',
      wantedKubernetes: 'v1.33.1',
      allowDowngrade: false
    })
    expect(path.order).toEqual(['talos', 'kubernetes'])
    expect(path.kubernetes.hops).toEqual([{ from: 'v1.32.3', to: 'v1.33.1' }])
  })

  it('runs upgrade-k8s first when the new Talos cannot run today’s Kubernetes but the old Talos runs the new one', () => {
    const path = talosPath({
      runningTalos: 'v1.10.7',
      wantedTalos: 'v1.11.2',
      runningKubernetes: 'v1.28.4',
      wantedKubernetes: 'v1.29.1',
      allowDowngrade: false
    })
    expect(path.refusal).toBeUndefined()
    expect(path.order).toEqual(['kubernetes', 'talos'])
  })

  it('refuses a Talos that cannot run the cluster’s Kubernetes, naming the supported range', () => {
    const path = talosPath({
      runningTalos: 'v1.10.7',
      wantedTalos: 'v1.11.2',
      runningKubernetes: 'v1.28.4',
      allowDowngrade: false
    })
    expect(path.refusal).toEqual({
      rule: 'talos-kubernetes',
      reason: 'Talos v1.11.2 runs Kubernetes 1.29–1.34; the cluster runs Kubernetes v1.28.4',
      instead:
        'choose a kubernetes_version that v1.11.2 supports and upgrade Kubernetes and Talos in separate deploys, one minor at a time'
    })
  })

  it('refuses a Kubernetes jump of two minors (control plane one minor at a time)', () => {
    const path = talosPath({
      runningTalos: 'v1.11.2',
      wantedTalos: 'v1.11.2',
      runningKubernetes: 'v1.31.0',
      wantedKubernetes: 'v1.33.0',
      allowDowngrade: false
    })
    expect(path.refusal?.rule).toBe('skipped-minor')
    expect(path.refusal?.instead).toBe(
      'set kubernetes_version to each of the latest 1.32 patch (not in this catalog) → v1.33.0 in turn, deploying after each'
    )
  })

  it('refuses a Talos jump of two minors with the latest patches to go through', () => {
    const path = talosPath({
      runningTalos: 'v1.9.2',
      wantedTalos: 'v1.11.2',
      runningKubernetes: 'v1.31.0',
      allowDowngrade: false
    })
    expect(path.refusal?.instead).toBe(
      'set talos_version to each of v1.9.6 → v1.10.7 → v1.11.2 in turn, deploying after each'
    )
  })

  it('does nothing when Talos and Kubernetes already match', () => {
    const path = talosPath({
      runningTalos: 'v1.9.0',
      wantedTalos: 'v1.9.0',
      runningKubernetes: 'v1.31.2',
      allowDowngrade: false
    })
    expect(path).toMatchObject({ order: [], talos: { hops: [] }, kubernetes: { hops: [] } })
    expect(path.refusal).toBeUndefined()
  })
})
