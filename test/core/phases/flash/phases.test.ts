// The flash and boot phase modules together, pipelined, against the in-process BMC: a node that never
// boots fails with a PhaseError, and a re-run converges without reflashing the finished nodes.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import ssh2 from 'ssh2'
import { createLocalExec } from '../../../../src/adapters/exec/local-exec.js'
import type { Slot } from '../../../../src/adapters/bmc/types.js'
import { parseCluster } from '../../../../src/core/config/load.js'
import type { Deps } from '../../../../src/core/deps.js'
import { PhaseError } from '../../../../src/core/errors.js'
import { bootPhase } from '../../../../src/core/phases/boot/module.js'
import { flashPhase } from '../../../../src/core/phases/flash/module.js'
import { pipelinedNodeSteps } from '../../../../src/core/phases/flash/pipeline.js'
import { emptyOutputs, type PhaseContext } from '../../../../src/core/phases/types.js'
import { MemoryReporter } from '../../../../src/core/reporter.js'
import { StateStore } from '../../../../src/core/state/store.js'
import { MemoryBmc } from './memory-bmc.js'
import { kindOf } from '../../../../src/core/kinds/index.js'
import { plainAdapters } from '../../../../src/compose/real-adapters.js'
import { testSettings } from '../../context.js'

let dir: string
const deployKey = ssh2.utils.generateKeyPairSync('ed25519').private
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'phases-'))
  const img = join(dir, 'armbian.img')
  execFileSync('truncate', ['-s', '20M', img])
  execFileSync('sfdisk', ['-q', img], { input: 'label: dos\nstart=2048, type=83\n' })
  execFileSync('mke2fs', ['-q', '-t', 'ext4', '-E', `offset=${2048 * 512}`, img, '18M'])
})
afterAll(async () => rm(dir, { recursive: true, force: true }))

const FILE = `kind: k3s
name: lab
bmc:
  endpoint: https://10.10.88.70
  tls: { insecure: true }
armbian_image: { path: armbian.img }
control_plane: { node: 1, ip: 10.10.88.73, hostname: cp }
workers:
  - { node: 2, ip: 10.10.88.74, hostname: w1 }
  - { node: 3, ip: 10.10.88.75, hostname: w2 }
`

async function context(bmc: MemoryBmc, reflash = false, confirm?: string): Promise<PhaseContext> {
  const { cluster } = parseCluster(FILE, 'cluster.yaml')
  if (!cluster) throw new Error('fixture does not parse')
  const settings = testSettings(dir, {
    reflash,
    ...(confirm !== undefined ? { confirm } : {}),
    secrets: { artifactRecipients: [], sshPrivateKey: deployKey }
  })
  const slotOf = (ip: string): Slot => (Number(ip.split('.')[3]) - 72) as Slot
  const deps = {
    bmc: async () => bmc,
    net: {
      map: (host: string, port: number) => ({ host: `127.10.0.${slotOf(host)}`, port: port === 22 ? 2222 : port })
    },
    ssh: {
      probe: async (host: string) => {
        const slot = Number(host.split('.')[3]) as Slot
        return bmc.powerBits[slot] === 'on' && bmc.uart[slot].endsWith('login: ') ? 'SSH-2.0-OpenSSH_9.2' : undefined
      },
      connect: async () => {
        throw new Error('unused')
      }
    },
    exec: createLocalExec(),
    ...plainAdapters(createLocalExec()),
    downloads: {
      fetch: async () => {
        throw new Error('no downloads for a local image')
      }
    },
    sleep: () => new Promise<void>((r) => setTimeout(r, 1))
  } as unknown as Deps
  return {
    cluster: { ...cluster, boot_timeout: 1 },
    kind: kindOf(cluster),
    settings,
    deps,
    reporter: new MemoryReporter(),
    state: await StateStore.open(settings.stateDir, 'lab'),
    nodes: cluster.nodes,
    outputs: emptyOutputs()
  }
}

const run = (ctx: PhaseContext) =>
  pipelinedNodeSteps(ctx.nodes, [
    { phase: 'flash', run: async (n) => void (await flashPhase.runNode!(ctx, n)) },
    { phase: 'boot', run: async (n) => void (await bootPhase.runNode!(ctx, n)) }
  ])

describe('flash + boot phases', () => {
  test('a node that never boots fails clearly; the re-run reflashes nothing and converges', async () => {
    const bmc = new MemoryBmc()
    bmc.bootLog = { 1: 'Armbian\ncp login: ', 2: 'Armbian\nw1 login: ' } // slot 3 prints nothing
    const first = await context(bmc)
    const error = (await run(first).catch((e: unknown) => e)) as PhaseError
    expect(error).toBeInstanceOf(PhaseError)
    expect(error.message).toMatch(
      /^node w2: boot failed: SSH on 10\.10\.88\.75:22 did not answer within boot_timeout 1 s and slot 3's console shows no "login:" line/
    )
    expect(bmc.flashes.map((f) => f.slot)).toEqual([1, 2, 3])
    expect(bmc.flashes.every((f) => f.fileName.endsWith('.img'))).toBe(true)
    expect(first.state.node('cp').hostKey).toMatch(/^SHA256:/)
    expect(first.state.done('w1', 'boot')).toBeDefined()
    expect(first.reporter instanceof MemoryReporter && first.reporter.text()).toContain('> flash cp (slot 1 on')

    bmc.bootLog[3] = 'Armbian\nw2 login: '
    bmc.powerBits[3] = 'off'
    const second = await context(bmc)
    await run(second)
    expect(bmc.flashes.length).toBe(3)
    expect(second.state.done('w2', 'boot')).toBeDefined()
    expect(second.state.node('cp').hostKey).toBe(first.state.node('cp').hostKey)
  })

  test('the plan says which slots would be flashed and why', async () => {
    const bmc = new MemoryBmc()
    const ctx = await context(bmc)
    await ctx.state.clear('cp')
    await ctx.state.markDone('w1', 'flash', 'abc')
    const steps = await flashPhase.plan(ctx)
    expect(steps.find((s) => s.node === 'w1')).toMatchObject({
      action: 'skip',
      reason: expect.stringContaining('earlier run')
    })
    expect(steps.find((s) => s.node === 'cp')).toMatchObject({
      action: 'run',
      details: { image: 'armbian.img', slot: '1', bmc: 'bmcd 2.3.7', power: 'off' }
    })
    const reflash = await flashPhase.plan(await context(bmc, true, 'lab'))
    expect(reflash.every((s) => s.action === 'change')).toBe(true)
    const unconfirmed = await flashPhase.plan(await context(bmc, true))
    expect(
      unconfirmed.every(
        (s) =>
          s.action === 'blocked' &&
          s.reason.startsWith(`reflash refused: cannot prove ${s.node} is not a cluster member`)
      )
    ).toBe(true)
  })
})
