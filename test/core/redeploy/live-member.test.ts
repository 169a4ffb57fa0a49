// The live-member rule on the flash decision, for each way the state can be lost: a node is flashed
// without reflash + confirm only on evidence (the cluster answers without it, or it boots nothing).
// Fakes stand for the BMC (power bits, UART ring), the SSH probe and a k3s server's `kubectl get nodes`.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Slot } from '../../../src/adapters/bmc/types.js'
import { parseCluster } from '../../../src/core/config/load.js'
import type { Deps } from '../../../src/core/deps.js'
import { decideFlash, FLASH_ATTEMPT } from '../../../src/core/phases/flash/decide.js'
import { emptyOutputs, type PhaseContext } from '../../../src/core/phases/types.js'
import { MemoryReporter } from '../../../src/core/reporter.js'
import type { RunSettings } from '../../../src/core/settings.js'
import { StateStore } from '../../../src/core/state/store.js'
import { kindOf } from '../../../src/core/kinds/index.js'
import { createLocalExec } from '../../../src/adapters/exec/local-exec.js'
import { plainAdapters } from '../../../src/compose/real-adapters.js'

const FILE = `kind: k3s
name: homelab
bmc: { endpoint: https://10.10.88.70, tls: { insecure: true } }
armbian_image: { path: /tmp/armbian.img }
control_plane: { node: 1, ip: 10.10.88.73, hostname: cp1 }
workers:
  - { node: 2, ip: 10.10.88.74, hostname: w1 }
`
const DDR = 'DDR 9fa84341ce typ 24/09/06\r\nLPDDR4X, 2112MHz\r\nout\r\n'
const ARMBIAN = 'U-Boot SPL 2024.04\r\nStarting kernel ...\r\n\r\nArmbian 25.8.1 Bookworm ttyS9 \r\n\r\nw1 login: '

/** One board: what each slot prints when powered on, which slots answer SSH, what the k3s server lists. */
class World {
  power: Record<Slot, 'on' | 'off'> = { 1: 'off', 2: 'off', 3: 'off', 4: 'off' }
  uart: Record<Slot, string> = { 1: '', 2: '', 3: '', 4: '' }
  /** What the slot's eMMC boots to on the console. */
  boots: Record<Slot, string> = { 1: DDR, 2: DDR, 3: DDR, 4: DDR }
  /** Slots whose SSH answers once booted to a login prompt. */
  sshWhenUp = new Set<Slot>()
  /** Node names the k3s API on cp1 lists (undefined: k3s not running). */
  k3sNodes: string[] | undefined
  bmcDown = false
  powerFails = false
  calls: string[] = []
}

const slotOf = (host: string): Slot => (Number(host.split('.').at(-1)) - 72) as Slot

function deps(w: World): Deps {
  const bmc = {
    power: async () => {
      if (w.bmcDown) throw new Error('BMC https://10.10.88.70 did not answer (connect ECONNREFUSED)')
      return { ...w.power }
    },
    readUart: async (s: Slot) => w.uart[s],
    setPower: async (s: Slot, on: boolean) => {
      if (w.powerFails) throw new Error('power on slot 2 answered HTTP 500: injected')
      w.calls.push(`power ${s} ${on ? 'on' : 'off'}`)
      w.power[s] = on ? 'on' : 'off'
      if (on) w.uart[s] += w.boots[s]
    },
    reset: async (s: Slot) => {
      w.calls.push(`reset ${s}`)
      w.uart[s] += w.boots[s]
    }
  }
  const up = (s: Slot): boolean => w.power[s] === 'on' && w.uart[s].endsWith('login: ') && w.sshWhenUp.has(s)
  return {
    bmc: async () => bmc,
    net: { map: (host: string, port: number) => ({ host: `127.10.0.${slotOf(host)}`, port }) },
    ssh: {
      probe: async (host: string) => (up(Number(host.split('.')[3]) as Slot) ? 'SSH-2.0-OpenSSH_9.2' : undefined),
      connect: async () => ({
        hostKeyFingerprint: 'SHA256:abc',
        shell: {
          exec: async () =>
            w.k3sNodes
              ? {
                  code: 0,
                  stdout: JSON.stringify({ items: w.k3sNodes.map((name) => ({ metadata: { name } })) }),
                  stderr: ''
                }
              : { code: 1, stdout: '', stderr: 'connection refused' },
          close: async () => undefined
        }
      })
    },
    ...plainAdapters(createLocalExec()),
    sleep: async () => undefined
  } as unknown as Deps
}

let dir: string
beforeAll(async () => void (dir = await mkdtemp(join(tmpdir(), 'live-member-'))))
afterAll(async () => rm(dir, { recursive: true, force: true }))

let n = 0
async function context(w: World, settings: Partial<RunSettings> = {}): Promise<PhaseContext> {
  const { cluster } = parseCluster(FILE, 'cluster.yaml')
  if (!cluster) throw new Error('fixture does not parse')
  const stateDir = join(dir, `state-${n++}`) // a fresh state-dir every time: the state is lost
  const full = {
    command: 'deploy',
    reflash: false,
    stateDir,
    tempDir: join(dir, 'tmp'),
    secrets: { artifactRecipients: [], sshPrivateKey: 'key' },
    ...settings
  } as RunSettings
  return {
    cluster: { ...cluster, boot_timeout: 5 },
    kind: kindOf(cluster),
    settings: full,
    deps: deps(w),
    reporter: new MemoryReporter(),
    state: await StateStore.open(stateDir, 'homelab'),
    nodes: cluster.nodes.filter((x) => x.id === 'w1'),
    outputs: emptyOutputs()
  }
}
const w1 = (ctx: PhaseContext) => ctx.cluster.nodes.find((x) => x.id === 'w1')!

/** A joined worker, powered off, with its server up: the lab's reproduction of the issue. */
function joinedWorkerOff(): World {
  const w = new World()
  w.power[1] = 'on'
  w.uart[1] = 'cp1 login: '
  w.sshWhenUp.add(1)
  w.boots[2] = ARMBIAN
  w.sshWhenUp.add(2)
  w.k3sNodes = ['cp1', 'w1']
  return w
}

describe('state lost (a second runner, a wiped cache) and the node is off', () => {
  it('the cluster answers and lists the node: refused without touching it, naming the evidence', async () => {
    const w = joinedWorkerOff()
    const ctx = await context(w)
    expect(await decideFlash(ctx, w1(ctx), 'sha')).toEqual({
      action: 'blocked',
      reason:
        'reflash refused: w1 is a member of cluster "homelab" (the k3s API on cp1 lists Node "w1"); set reflash: true and confirm: homelab',
      resume: expect.stringContaining('reflash: true, confirm: homelab')
    })
    expect(w.calls).toEqual([])
  })

  it('the plan says the same', async () => {
    const ctx = await context(joinedWorkerOff())
    expect(await decideFlash(ctx, w1(ctx))).toMatchObject({
      action: 'blocked',
      reason: expect.stringMatching(/^reflash refused: w1 is a member of cluster "homelab"/)
    })
  })

  it('with reflash: true and confirm it is flashed', async () => {
    const ctx = await context(joinedWorkerOff(), { reflash: true, confirm: 'homelab' })
    expect(await decideFlash(ctx, w1(ctx), 'sha')).toMatchObject({ action: 'change' })
  })

  it('with reflash: true and the wrong confirm it is refused', async () => {
    const ctx = await context(joinedWorkerOff(), { reflash: true, confirm: 'prod' })
    expect(await decideFlash(ctx, w1(ctx), 'sha')).toMatchObject({
      action: 'blocked',
      reason: expect.stringMatching(/^reflash refused: cannot prove w1 is not a cluster member \(reflash requested\)/)
    })
  })

  it('the cluster answers without the node (a new worker): flashed without powering it on', async () => {
    const w = joinedWorkerOff()
    w.k3sNodes = ['cp1']
    const ctx = await context(w)
    expect(await decideFlash(ctx, w1(ctx), 'sha')).toMatchObject({
      action: 'run',
      reason: expect.stringContaining('the k3s API on cp1 answers and lists no Node "w1"')
    })
    expect(w.calls).toEqual([])
  })

  it('the whole cluster is off and the node boots an installed Armbian whose SSH does not answer (wrong port): refused', async () => {
    const w = new World()
    w.boots[2] = ARMBIAN
    const ctx = await context(w)
    const d = await decideFlash(ctx, w1(ctx), 'sha')
    expect(d.action).toBe('blocked')
    expect(d.reason).toBe(
      'reflash refused: cannot prove w1 is not a cluster member (no control plane of the file answers (cp1); powered on, it boots an installed system ("w1 login:") but SSH on 10.10.88.74:22 did not answer within boot_timeout 5 s); set reflash: true and confirm: homelab'
    )
  })

  it('the whole cluster is off and the node boots Armbian that answers: left alone, not flashed', async () => {
    const w = new World()
    w.boots[2] = ARMBIAN
    w.sshWhenUp.add(2)
    const ctx = await context(w)
    expect(await decideFlash(ctx, w1(ctx), 'sha')).toMatchObject({
      action: 'skip',
      reason: expect.stringContaining('answers on SSH')
    })
  })

  it('the node boots a configured Talos: a member of some cluster, refused', async () => {
    const w = new World()
    w.boots[2] = 'U-Boot 2024.04\r\n[talos] machine is running and ready\r\n'
    const ctx = await context(w)
    expect(await decideFlash(ctx, w1(ctx), 'sha')).toMatchObject({
      action: 'blocked',
      reason: expect.stringContaining('w1 is a member of cluster "homelab" (powered on, it boots a configured Talos')
    })
  })

  it('the node boots Talos in maintenance mode: nothing to lose, flashed', async () => {
    const w = new World()
    w.boots[2] = 'U-Boot 2024.04\r\n[talos] entering maintenance service\r\n'
    const ctx = await context(w)
    expect(await decideFlash(ctx, w1(ctx), 'sha')).toMatchObject({
      action: 'run',
      reason: expect.stringContaining('Talos in maintenance mode')
    })
  })

  it('the BMC cannot be asked: refused, saying so', async () => {
    const w = new World()
    w.bmcDown = true
    const ctx = await context(w)
    expect(await decideFlash(ctx, w1(ctx), 'sha')).toMatchObject({
      action: 'blocked',
      reason: expect.stringContaining('its BMC cannot be asked: BMC https://10.10.88.70 did not answer')
    })
  })

  it('the BMC fails the power-on it needs to look: refused, naming the failure', async () => {
    const w = new World()
    w.powerFails = true
    const ctx = await context(w)
    expect(await decideFlash(ctx, w1(ctx), 'sha')).toMatchObject({
      action: 'blocked',
      reason: expect.stringContaining(
        'looking at it through its BMC failed: power on slot 2 answered HTTP 500: injected'
      )
    })
  })

  it('no SSH key to ask the cluster and the node boots an installed system: refused', async () => {
    const w = joinedWorkerOff()
    w.sshWhenUp.delete(2)
    const ctx = await context(w, { secrets: { artifactRecipients: [] } } as Partial<RunSettings>)
    expect(await decideFlash(ctx, w1(ctx), 'sha')).toMatchObject({
      action: 'blocked',
      reason: expect.stringContaining('(no SSH private key to ask the cluster; powered on, it boots')
    })
  })
})

describe('a node powered on that does not answer', () => {
  it('whose console shows an installed system: refused and never power-cycled', async () => {
    const w = new World()
    w.power[2] = 'on'
    w.uart[2] = ARMBIAN
    const ctx = await context(w)
    expect(await decideFlash(ctx, w1(ctx), 'sha')).toMatchObject({
      action: 'blocked',
      reason: expect.stringContaining(
        'it is powered on and its console shows "w1 login:", but SSH on 10.10.88.74:22 does not answer'
      )
    })
    expect(w.calls).toEqual([])
  })

  it('the plan says "reflash refused: cannot prove …" for it too, touching nothing', async () => {
    const w = new World()
    w.power[2] = 'on'
    w.uart[2] = ARMBIAN
    const ctx = await context(w)
    expect(await decideFlash(ctx, w1(ctx))).toEqual({
      action: 'blocked',
      reason:
        'reflash refused: cannot prove w1 is not a cluster member (no control plane of the file answers (cp1); it is powered on and its console shows "w1 login:", but SSH on 10.10.88.74:22 does not answer); set reflash: true and confirm: homelab',
      resume: expect.any(String)
    })
    expect(w.calls).toEqual([])
  })

  it('whose console shows only DDR init (stuck on a blank eMMC): power-cycled, seen booting nothing, flashed', async () => {
    const w = new World()
    w.power[2] = 'on'
    w.uart[2] = DDR
    const ctx = await context(w)
    expect(await decideFlash(ctx, w1(ctx), 'sha')).toMatchObject({
      action: 'run',
      reason: expect.stringContaining('its console ended at DDR init ("out") and stayed silent for 1.5 s')
    })
    expect(w.calls).toEqual(['reset 2', 'power 2 off'])
  })
})

describe('a first deploy onto blank nodes', () => {
  it('needs no confirm: powered on, seen booting nothing, powered off again and flashed', async () => {
    const w = new World()
    const ctx = await context(w)
    expect(await decideFlash(ctx, w1(ctx), 'sha')).toEqual({
      action: 'run',
      reason:
        'no image recorded and the node does not answer; powered on, its console ended at DDR init ("out") and stayed silent for 1.5 s: no boot loader on its eMMC (blank)'
    })
    expect(w.calls).toEqual(['power 2 on', 'power 2 off'])
  })

  it('the plan powers nothing and says what the deploy will look at', async () => {
    const w = new World()
    const ctx = await context(w)
    expect(await decideFlash(ctx, w1(ctx))).toMatchObject({
      action: 'run',
      reason: expect.stringContaining('the deploy powers it on and flashes it only if it boots nothing')
    })
    expect(w.calls).toEqual([])
  })

  it('a flash an earlier run started and did not finish is flashed again without confirm', async () => {
    const w = new World()
    w.boots[2] = 'U-Boot SPL 2024.04\r\nStarting kernel ...\r\nKernel panic - not syncing\r\n'
    const ctx = await context(w)
    await ctx.state.markDone('w1', FLASH_ATTEMPT, 'sha')
    expect(await decideFlash(ctx, w1(ctx), 'sha')).toMatchObject({
      action: 'run',
      reason: expect.stringContaining('an earlier run started writing its eMMC')
    })
  })
})

describe('the console decides as soon as it is conclusive (boot_timeout 300 s: a 10 s window)', () => {
  /** A context whose sleeps are counted; `onSleep` lets the console change as time passes. */
  async function timed(w: World, onSleep: (n: number) => void = () => {}) {
    const ctx = await context(w)
    ctx.cluster = { ...ctx.cluster, boot_timeout: 300 }
    let sleeps = 0
    ctx.deps = { ...ctx.deps, sleep: async () => onSleep(++sleeps) }
    return { ctx, sleeps: () => sleeps }
  }

  it('a console that ends at DDR init ("out") and stays silent for 1.5 s is a blank eMMC, without the rest of the window', async () => {
    const w = new World()
    const { ctx, sleeps } = await timed(w)
    expect(await decideFlash(ctx, w1(ctx), 'sha')).toEqual({
      action: 'run',
      reason:
        'no image recorded and the node does not answer; powered on, its console ended at DDR init ("out") and stayed silent for 1.5 s: no boot loader on its eMMC (blank)'
    })
    expect(w.calls).toEqual(['power 2 on', 'power 2 off'])
    expect(sleeps()).toBe(7) // one poll (250 ms) that sees "out", six that see nothing more
  })

  it('a boot loader printing after DDR init, even 1.5 s after power-on, is seen: the node is not judged blank', async () => {
    const w = new World()
    w.sshWhenUp.add(2)
    const { ctx } = await timed(w, (n) => {
      if (n === 6) w.uart[2] += ARMBIAN
    })
    expect(await decideFlash(ctx, w1(ctx), 'sha')).toMatchObject({
      action: 'skip',
      reason: expect.stringContaining('it booted ("w1 login:") and answers on SSH')
    })
  })

  it('a console that shows nothing at all is not conclusive: the whole window is watched', async () => {
    const w = new World()
    w.boots[2] = ''
    const { ctx, sleeps } = await timed(w)
    expect(await decideFlash(ctx, w1(ctx), 'sha')).toMatchObject({
      action: 'run',
      reason: expect.stringContaining('booted nothing beyond DDR init within 10 s')
    })
    expect(sleeps()).toBe(40)
  })

  it('a console with a line after "out" that is no known loader is not conclusive either', async () => {
    const w = new World()
    w.boots[2] = DDR + 'Trying to boot from MMC1\r\n'
    const { ctx, sleeps } = await timed(w)
    expect(await decideFlash(ctx, w1(ctx), 'sha')).toMatchObject({ action: 'run' })
    expect(sleeps()).toBe(40)
  })

  it('the first flash on a board waits until every console watch on that board is over', async () => {
    const w = new World()
    w.boots[2] = '' // w1 prints nothing: watched for the whole window
    const { ctx } = await timed(w)
    ctx.nodes = ctx.cluster.nodes
    const cp1 = ctx.cluster.nodes.find((x) => x.id === 'cp1')!
    expect(await decideFlash(ctx, cp1, 'sha')).toMatchObject({ action: 'run' })
    expect(w.calls).toContain('power 2 off') // w1's watch ended before cp1 may be flashed
  })
})
