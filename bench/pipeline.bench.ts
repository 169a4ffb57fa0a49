// (b) 4 nodes: flash + boot + bootstrap wall time, pipelined (runPipelined) vs strictly serial vs the
// floor Σflash + one boot + one bootstrap. RK1-like proportions scaled down 1:200: flash ~90 s (a
// Talos .xz or a sparse Armbian image through the BMC), first boot ~60 s, bootstrap ~240 s (apt, NVMe,
// k3s install + air-gap import) → 450/300/1200 ms. Note the vs-serial ratio depends on the proportions:
// (4F+R)/(4F+4R) ≤ 0.5 only when boot+bootstrap R ≥ 2× flash F; the vs-floor ratio does not. The real flashNode and waitForBoot code runs against an
// in-process timed BMC; bootstrap is a stand-in delay.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Slot } from '../src/adapters/bmc/types.js'
import type { Deps } from '../src/core/deps.js'
import { waitForBoot } from '../src/core/phases/boot/detect.js'
import { flashNode } from '../src/core/phases/flash/flash-node.js'
import { runPipelined } from '../src/core/phases/flash/pipeline.js'
import { MemoryReporter } from '../src/core/reporter.js'
import { TimedBmc } from './lib/timed-bmc.js'
import type { BenchResult } from './lib/result.js'

const T = { flashMs: 450, bootMs: 300, bootstrapMs: 1200, pollMs: 10 }
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

async function once(image: string, mode: 'pipelined' | 'serial'): Promise<number> {
  const bmc = new TimedBmc(T)
  const deps = {
    net: { map: (host: string, port: number) => ({ host, port }) },
    ssh: { probe: async (host: string) => (bmc.up.has(Number(host.split('.')[3]) as Slot) ? 'SSH-2.0-bench' : undefined) },
    sleep
  } as unknown as Deps
  const nodes = ([1, 2, 3, 4] as Slot[]).map((slot) => ({ id: `rk1-${slot}`, slot, board: 'tp', ip: `10.0.0.${slot}` }))
  const reporter = new MemoryReporter()
  const steps = (n: (typeof nodes)[number]) => ({
    flash: async () => {
      await flashNode({ node: n.id, slot: n.slot, bmc, imagePath: image, reporter, sleep, timeoutMs: 60_000, pollMs: T.pollMs })
      const snapshot = await bmc.readUart(n.slot)
      await bmc.setPower(n.slot, true)
      return snapshot
    },
    rest: async (snapshot: string) => {
      await waitForBoot({ node: n.id, slot: n.slot, ip: n.ip, os: 'armbian', sshPort: 22, bmc, deps, snapshot, timeoutMs: 10_000, pollMs: T.pollMs })
      await sleep(T.bootstrapMs)
    }
  })
  const t0 = performance.now()
  if (mode === 'serial') {
    for (const n of nodes) {
      const s = steps(n)
      await s.rest(await s.flash())
    }
  } else {
    const snapshots = new Map<string, string>()
    await runPipelined(nodes, (n) => {
      const s = steps(n)
      return { flash: async () => snapshots.set(n.id, await s.flash()), rest: () => s.rest(snapshots.get(n.id) as string) }
    })
  }
  return performance.now() - t0
}

export async function bench(): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'pipeline-bench-'))
  const image = join(dir, 'node.img')
  await writeFile(image, Buffer.alloc(64 * 1024))
  try {
    const pipelined: number[] = []
    const serial: number[] = []
    for (let i = 0; i < 3; i++) {
      pipelined.push(await once(image, 'pipelined'))
      serial.push(await once(image, 'serial'))
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
    const p = med(pipelined)
    const s = med(serial)
    const floor = 4 * T.flashMs + T.bootMs + T.bootstrapMs
    const note = `median of 3; flash ${T.flashMs} ms, boot ${T.bootMs} ms, bootstrap ${T.bootstrapMs} ms (RK1-like 1:200), poll ${T.pollMs} ms; real flashNode + waitForBoot against an in-process timed BMC`
    return [
      { name: 'pipeline-4node-vs-floor', figure: Math.round(p), unit: 'ms', baseline: { name: 'floor Σflash + boot + bootstrap', figure: floor }, ratio: p / floor, target: 'ratio <= 1.15', notes: note },
      { name: 'pipeline-4node-vs-serial', figure: Math.round(p), unit: 'ms', baseline: { name: 'strictly serial', figure: Math.round(s) }, ratio: p / s, target: 'ratio <= 0.5', notes: note }
    ]
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
