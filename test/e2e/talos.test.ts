// The shipped bundle deploys examples/talos-cluster.yaml onto the lab (BMC emulator, simulated RK1
// nodes, mirror with the Image Factory, artifact service), then a rerun converges without touching a node.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { parse } from 'yaml'
import {
  decryptLabArtifact,
  runLabAction,
  setupLabAction,
  type ActionRun,
  type LabActionSetup
} from '../../lab/action.js'
import { startLab, type Lab } from '../../lab/lab.js'
import { credentialSecrets } from '../../src/core/crypto/mask.js'
import { schematicId, marshalSchematic, buildSchematic } from '../../src/core/kinds/talos/schematic.js'
import { expectNoSecrets } from './secrets.js'

let lab: Lab
let setup: LabActionSetup
let first: ActionRun

beforeAll(async () => {
  lab = await startLab({ bootDelayMs: 100 })
  setup = await setupLabAction(lab, 'examples/talos-cluster.yaml')
  first = await runLabAction(lab, setup, { command: 'deploy' })
}, 300_000)
afterAll(async () => {
  await lab?.stop()
})

describe('deploy of the example Talos cluster through dist/', () => {
  test('succeeds with every node flashed, booted, configured and Ready in the summary', () => {
    expect({ code: first.code, tail: first.code ? first.log.slice(-2000) : '' }).toEqual({ code: 0, tail: '' })
    for (const phase of ['flash', 'boot', 'install', 'join', 'addons'])
      expect(first.summary).toContain(`<td>${phase}</td>`)
    const readyRows =
      first.summary.match(
        /<tr><td>talos-[a-z0-9]+<\/td><td>(controlplane|worker)<\/td><td>10\.10\.88\.\d+<\/td><td>yes<\/td>/g
      ) ?? []
    expect(readyRows).toHaveLength(4)
  })

  test('outputs the schematic id the factory computes for the file, and the flashed image is that schematic', () => {
    const local = schematicId(
      marshalSchematic(buildSchematic(setup.cluster as Parameters<typeof buildSchematic>[0]).schematic)
    )
    expect(first.outputs['schematic-id']).toBe(local)
    expect(
      lab.mirror.requests.some(
        (r) => r.method === 'GET' && r.path.includes(`/factory.talos.dev/image/${local}/v1.9.0/metal-arm64.raw.xz`)
      )
    ).toBe(true)
  })

  test('uploads kubeconfig, talosconfig and the new secrets bundle, each decryptable only with the age key', async () => {
    const names = lab.results
      .artifacts()
      .map((a) => a.name)
      .sort()
    expect(names).toEqual(['talos-cluster-kubeconfig', 'talos-cluster-talos-secrets', 'talos-cluster-talosconfig'])
    const kube = parse(Object.values(await decryptLabArtifact(lab, setup, 'talos-cluster-kubeconfig'))[0]!) as {
      clusters: { cluster: { server: string } }[]
    }
    expect(kube.clusters[0]!.cluster.server).toBe('https://10.10.88.73:6443')
    for (const a of lab.results.artifacts()) expect(a.bytes.toString('latin1')).not.toContain('server: https://')
    expect(first.log).toContain('store it as a repository secret')
  })

  test('never prints a credential: the kubeconfig, talosconfig and secrets bundle values stay out of the log and summary', async () => {
    const secrets: string[] = []
    for (const [name, kind] of [
      ['talos-cluster-kubeconfig', 'kubeconfig'],
      ['talos-cluster-talosconfig', 'talosconfig'],
      ['talos-cluster-talos-secrets', 'talos-secrets']
    ] as const)
      for (const text of Object.values(await decryptLabArtifact(lab, setup, name)))
        secrets.push(...credentialSecrets(kind, text))
    expect(secrets.length).toBeGreaterThan(10)
    expectNoSecrets(first, [...secrets, setup.inputs['ssh-private-key']!])
  })
})

describe('a rerun with nothing changed', () => {
  let again: ActionRun
  beforeAll(async () => {
    lab.mirror.clearLog()
    again = await runLabAction(lab, setup, { command: 'deploy' })
  }, 300_000)

  test('succeeds without flashing, applying a config or rebooting, and downloads nothing', () => {
    expect({ code: again.code, tail: again.code ? again.log.slice(-2000) : '' }).toEqual({ code: 0, tail: '' })
    expect(again.log).not.toMatch(/flashing metal-arm64/)
    expect(again.log).toMatch(/install: unchanged/)
    expect(again.log).not.toMatch(/reboot/i)
    expect(lab.mirror.requests.filter((r) => r.method === 'GET')).toEqual([])
  })
})
