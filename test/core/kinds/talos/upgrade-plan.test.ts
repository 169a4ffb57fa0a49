import { describe, expect, it } from '@jest/globals'
import type { NodeSpec } from '../../../../src/core/config/model.js'
import { talosUpgradeRows, type TalosPlanInput } from '../../../../src/core/kinds/talos/upgrade-plan.js'

const n = (id: string, role: 'controlplane' | 'worker', ip: string) => ({ id, role, ip, hostname: id }) as NodeSpec
const nodes = [
  n('cp1', 'controlplane', '10.0.0.1'),
  n('cp2', 'controlplane', '10.0.0.2'),
  n('cp3', 'controlplane', '10.0.0.3'),
  n('w1', 'worker', '10.0.0.4')
]
const S = 'a'.repeat(64)
const base: TalosPlanInput = {
  nodes,
  running: { cp1: 'v1.9.6', cp2: 'v1.9.6', cp3: 'v1.9.6', w1: 'v1.9.6' },
  runningKubernetes: 'v1.32.3',
  wantedTalos: 'v1.10.3',
  allowDowngrade: false,
  schematic: S,
  drainTimeoutSeconds: 300
}

describe('the Talos upgrade plan', () => {
  it('lists nothing when every node runs the file’s Talos and Kubernetes', () => {
    expect(talosUpgradeRows({ ...base, wantedTalos: 'v1.9.6' })).toEqual([])
    expect(talosUpgradeRows({ ...base, running: {} })).toEqual([])
  })

  it('shows a minor upgrade: control planes one at a time by their own IP, talosctl at the running version, the factory installer', () => {
    const rows = talosUpgradeRows(base)
    expect(rows[0]).toMatchObject({
      action: 'change',
      reason: 'Talos v1.9.6 → v1.10.3, one node at a time: cp1, cp2, cp3, w1'
    })
    expect(rows[0]!.details).toMatchObject({
      hops: 'v1.9.6 → v1.10.3 with talosctl v1.9.6',
      before: 'every node Ready; etcd healthy: talosctl etcd status on each control plane'
    })
    expect(rows[2]).toEqual({
      phase: 'upgrade',
      node: 'cp2',
      action: 'change',
      reason: `control plane: v1.9.6 → v1.10.3: talosctl upgrade --nodes 10.0.0.2 --endpoints 10.0.0.2 --image factory.talos.dev/metal-installer/${S}:v1.10.3`,
      details: { from: 'v1.9.6', to: 'v1.10.3' }
    })
  })

  it('goes through the latest patch of the running minor first', () => {
    const rows = talosUpgradeRows({ ...base, running: { cp1: 'v1.9.0', cp2: 'v1.9.0', cp3: 'v1.9.0', w1: 'v1.9.0' } })
    expect(rows[0]!.reason).toBe('Talos v1.9.0 → v1.10.3 via v1.9.6, one node at a time: cp1, cp2, cp3, w1')
    expect(rows[1]!.reason).toContain(
      `--image factory.talos.dev/metal-installer/${S}:v1.9.6, then factory.talos.dev/metal-installer/${S}:v1.10.3`
    )
  })

  it('adds upgrade-k8s after Talos when kubernetes_version changes', () => {
    const rows = talosUpgradeRows({ ...base, wantedKubernetes: 'v1.33.1' })
    expect(rows.filter((r) => !r.node).map((r) => r.reason)).toEqual([
      'Talos v1.9.6 → v1.10.3, one node at a time: cp1, cp2, cp3, w1',
      'Kubernetes v1.32.3 → v1.33.1: talosctl upgrade-k8s --to v1.33.1 against 10.0.0.1 (control plane first, then kubelets; a re-run resumes)'
    ])
  })

  it('refuses a Talos that does not run the cluster’s Kubernetes, and a skipped minor, with what to do instead', () => {
    expect(
      talosUpgradeRows({ ...base, running: { cp1: 'v1.10.7' }, wantedTalos: 'v1.11.2', runningKubernetes: 'v1.28.4' })
    ).toEqual([
      {
        phase: 'upgrade',
        action: 'blocked',
        reason:
          'Talos v1.11.2 runs Kubernetes 1.29–1.34; the cluster runs Kubernetes v1.28.4. Instead: choose a kubernetes_version that v1.11.2 supports and upgrade Kubernetes and Talos in separate deploys, one minor at a time',
        details: { rule: 'talos-kubernetes' }
      }
    ])
    expect(talosUpgradeRows({ ...base, wantedTalos: 'v1.11.2' })[0]).toMatchObject({
      action: 'blocked',
      details: { rule: 'skipped-minor' }
    })
  })

  it('refuses a downgrade unless allowed', () => {
    expect(talosUpgradeRows({ ...base, wantedTalos: 'v1.9.5' })[0]).toMatchObject({
      action: 'blocked',
      details: { rule: 'downgrade' }
    })
    expect(talosUpgradeRows({ ...base, wantedTalos: 'v1.9.5', allowDowngrade: true })[0]!.action).toBe('change')
  })

  it('will not check a kubernetes_version it cannot compare with the running one', () => {
    expect(talosUpgradeRows({ ...base, runningKubernetes: undefined, wantedKubernetes: 'v1.33.0' })[0]!.action).toBe(
      'blocked'
    )
  })

  it('names what could block a node’s drain on that node’s row, and only there', () => {
    const blocker = 'PodDisruptionBudget web/web-pdb allows 0 disruption(s), 1 of its pods run here (web-0)'
    const rows = talosUpgradeRows({ ...base, blockers: { cp1: [], cp2: [blocker], cp3: [], w1: [] } })
    const cp2 = rows.find((r) => r.node === 'cp2')!
    expect(cp2.reason).toMatch(
      new RegExp(`:v1\\.10\\.3; drain could be blocked: ${blocker.replace(/[()/.]/g, '\\$&')}$`)
    )
    expect(cp2.details).toEqual({ from: 'v1.9.6', to: 'v1.10.3', 'drain blockers': blocker })
    expect(rows.filter((r) => r.reason.includes('drain could be blocked')).map((r) => r.node)).toEqual(['cp2'])
  })

  it('says so when the cluster endpoint is the address of a control plane that will reboot', () => {
    const at = (apiEndpoint: string) => talosUpgradeRows({ ...base, apiEndpoint })[0]!.details!['API endpoint']
    expect(at('https://10.0.0.2:6443')).toBe(
      "https://10.0.0.2:6443 is cp2's own address: kubectl through it fails while cp2 reboots (a VIP or load balancer over the control planes keeps it answering)"
    )
    expect(at('https://10.0.0.100:6443')).toBeUndefined()
    expect(at('https://10.0.0.4:6443')).toBeUndefined()
  })
})
