// The shipped bundle deploys examples/k3s-cluster.yaml onto the lab: flash through the emulated BMC,
// boot the simulated RK1 nodes, bootstrap Armbian over SSH with the real scripts, K3s air-gapped from
// the mirror, the addons with helm/kubectl, the NPU stack with rkllama. Then a rerun changes nothing.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { parse } from 'yaml'
import { decryptLabArtifact, runLabAction, type ActionRun, type LabActionSetup } from '../../lab/action.js'
import { startLab, type Lab } from '../../lab/lab.js'
import { credentialSecrets } from '../../src/core/crypto/mask.js'
import { K3S_DRIFT_BOARD as B, onBoard } from './helpers-drift.js'
import { expectNoSecrets } from './secrets.js'

let lab: Lab
let setup: LabActionSetup
let first: ActionRun

const shown = (run: ActionRun): string =>
  run.code
    ? run.log
        .split('\n')
        .filter((l) => !l.startsWith('::debug') && !l.startsWith('::add-mask'))
        .slice(-40)
        .join('\n')
    : ''

beforeAll(async () => {
  lab = await startLab({ boards: B + 1, bootDelayMs: 100 })
  setup = await onBoard(lab, 'examples/k3s-cluster.yaml', B)
  first = await runLabAction(lab, setup, { command: 'deploy' })
}, 600_000)
afterAll(async () => {
  await lab?.stop()
})

describe('deploy of the example K3s cluster through dist/', () => {
  test('succeeds: four nodes Ready with their roles, every phase ran', () => {
    expect({ code: first.code, tail: shown(first) }).toEqual({ code: 0, tail: '' })
    for (const phase of ['flash', 'boot', 'os-bootstrap', 'install', 'join', 'addons', 'npu'])
      expect(first.summary).toContain(`<td>${phase}</td>`)
    const ready =
      first.summary.match(
        /<tr><td>k3s-[a-z0-9]+<\/td><td>(controlplane|worker)<\/td><td>10\.10\.88\.\d+<\/td><td>yes<\/td>/g
      ) ?? []
    expect(ready).toHaveLength(4)
  })

  test('installs every enabled addon at its pinned chart version', () => {
    for (const chart of ['metallb', 'traefik', 'longhorn', 'kube-prometheus-stack'])
      expect(first.summary).toMatch(new RegExp(`<td>${chart}</td><td>[\\d.]+</td><td>installed`))
  })

  test('installs the NPU runtimes and rkllama with the model, and rkllama answers', () => {
    expect(first.log).toMatch(/rkllama answers \(models: qwen3-4b\)/)
  })

  test("outputs the kubeconfig artifact's name and the id the results service gave it", () => {
    expect(first.outputs['kubeconfig-artifact']).toBe('production-kubeconfig')
    const stored = lab.results.artifacts().filter((a) => a.name === 'production-kubeconfig')
    expect(stored).toHaveLength(1)
    expect(first.outputs['kubeconfig-artifact-id']).toBe(String(stored[0]!.id))
  })

  test('uploads the kubeconfig, pointed at the API endpoint, decryptable with the age key', async () => {
    const kube = parse(Object.values(await decryptLabArtifact(lab, setup, 'production-kubeconfig'))[0]!) as {
      clusters: { cluster: { server: string } }[]
    }
    expect(kube.clusters[0]!.cluster.server).toBe('https://10.10.88.73:6443')
  })

  test('never prints a credential: kubeconfig, SSH key, BMC password', async () => {
    const kubeconfig = Object.values(await decryptLabArtifact(lab, setup, 'production-kubeconfig'))[0]!
    const secrets = [
      ...credentialSecrets('kubeconfig', kubeconfig),
      setup.inputs['ssh-private-key']!,
      setup.inputs['bmc-password']!
    ]
    expectNoSecrets(first, secrets)
  })
})

describe('a rerun with nothing changed', () => {
  let again: ActionRun
  beforeAll(async () => {
    lab.mirror.clearLog()
    again = await runLabAction(lab, setup, { command: 'deploy' })
  }, 600_000)

  test('succeeds without flashing, restarting or reinstalling anything, and downloads nothing', () => {
    expect({ code: again.code, tail: shown(again) }).toEqual({ code: 0, tail: '' })
    expect(again.log).not.toMatch(/flashing /)
    expect(again.log.match(/os-bootstrap: unchanged/g)).toHaveLength(4)
    expect(again.log).not.toMatch(/os-bootstrap: changed/)
    expect(again.log).toMatch(/install: unchanged/)
    expect(again.log).toMatch(/join: unchanged/)
    expect(lab.mirror.requests.filter((r) => r.method === 'GET')).toEqual([])
  })
})
