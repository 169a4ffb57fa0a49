// (b) 4 nodes: flash + boot + bootstrap wall time, pipelined (pipelinedNodeSteps, as run.ts runs the
// node phases) vs strictly serial (each node's flash, boot and bootstrap before the next node's flash) vs
// the floor Σflash + one boot + one bootstrap.
//
// The flash and boot parts are the real phase modules and the real HTTPS client against the lab's BMC
// emulator (lab/bmc) with simulated Talos nodes (test/core/phases/flash/lab-board.ts). RK1-like
// proportions scaled down 1:200: a flash of ~90 s (eMMC rate set so the image takes 450 ms to write,
// USB detection 10 ms, CRC read-back on), first boot ~60 s → 300 ms, bootstrap (apt, NVMe, k3s install
// + air-gap import) ~240 s → 1200 ms, which stays a stand-in delay (it needs SSH, not the BMC). Polls
// run at 1:200 too (1 s → 5 ms). The floor uses the flash durations measured in the same pipelined
// run (so protocol overheads count in both), plus the nominal boot and bootstrap.
//
// Note the vs-serial ratio depends on the proportions: (4F+R)/(4F+4R) ≤ 0.5 only when boot+bootstrap
// R ≥ 2× flash F; the vs-floor ratio does not.
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { createBmcClient } from '../src/adapters/bmc/client.js'
import type { Slot } from '../src/adapters/bmc/types.js'
import type { NodeSpec } from '../src/core/config/model.js'
import { bootPhase } from '../src/core/phases/boot/module.js'
import { flashPhase } from '../src/core/phases/flash/module.js'
import { pipelinedNodeSteps } from '../src/core/phases/flash/pipeline.js'
import type { PhaseContext } from '../src/core/phases/types.js'
import { fastSleep, startLabBoard, type LabBoard } from '../test/core/phases/flash/lab-board.js'
import type { BenchResult } from './lib/result.js'

const T = { flashMs: 450, bootMs: 300, bootstrapMs: 1200 }
const IMAGE_BYTES = 4 * 2 ** 20
const ROUNDS = Number(process.env.PIPELINE_BENCH_ROUNDS ?? 3)
const SLOTS: Slot[] = [1, 2, 3, 4]

/** Every node off and no state: the next run flashes all four again. */
async function fresh(b: LabBoard): Promise<void> {
  const client = await createBmcClient({ endpoint: b.bmc.url, username: b.bmc.username, password: b.bmc.password, fingerprint: b.bmc.fingerprint, insecure: false, sleep: fastSleep })
  for (const s of SLOTS) await client.setPower(s, false)
  client.close()
  await rm(join(b.dir, 'state'), { recursive: true, force: true })
}

async function once(b: LabBoard, mode: 'pipelined' | 'serial'): Promise<{ ms: number; flashMs: number[] }> {
  await fresh(b)
  const ctx: PhaseContext = await b.context()
  const flashMs: number[] = []
  const flash = async (n: NodeSpec): Promise<void> => {
    const t = performance.now()
    const r = await flashPhase.runNode!(ctx, n)
    if (!r.changed) throw new Error(`bench: ${n.id} was not flashed (${r.summary})`)
    flashMs.push(performance.now() - t)
  }
  const boot = async (n: NodeSpec): Promise<void> => void (await bootPhase.runNode!(ctx, n))
  const bootstrap = async (): Promise<void> => new Promise((r) => setTimeout(r, T.bootstrapMs))
  const t0 = performance.now()
  if (mode === 'serial') {
    for (const n of ctx.nodes) {
      await flash(n)
      await boot(n)
      await bootstrap()
    }
  } else {
    await pipelinedNodeSteps(ctx.nodes, [
      { phase: 'flash', run: flash },
      { phase: 'boot', run: boot },
      { phase: 'os-bootstrap', run: bootstrap }
    ])
  }
  const ms = performance.now() - t0
  for (const n of ctx.nodes) if (!ctx.state.done(n.id, 'boot')) throw new Error(`bench: ${n.id} did not boot`)
  return { ms, flashMs }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

export async function bench(): Promise<BenchResult[]> {
  const b = await startLabBoard({
    net: 93,
    slots: SLOTS,
    imageBytes: IMAGE_BYTES,
    bootMs: T.bootMs,
    bmc: { writeBytesPerSec: Math.round(IMAGE_BYTES / (T.flashMs / 1000)), usbDetectMs: 10 }
  })
  try {
    const pipelined: { ms: number; floor: number }[] = []
    const serial: number[] = []
    for (let i = 0; i < ROUNDS; i++) {
      // Alternate who goes first, so drift on a shared machine hits both alike.
      const p = async () => {
        const r = await once(b, 'pipelined')
        pipelined.push({ ms: r.ms, floor: r.flashMs.reduce((a, x) => a + x, 0) + T.bootMs + T.bootstrapMs })
      }
      const s = async () => void serial.push((await once(b, 'serial')).ms)
      if (i % 2 === 0) {
        await p()
        await s()
      } else {
        await s()
        await p()
      }
    }
    const p = median(pipelined.map((r) => r.ms))
    const floor = median(pipelined.map((r) => r.floor))
    const s = median(serial)
    const nominalFloor = 4 * T.flashMs + T.bootMs + T.bootstrapMs
    const note = `median of ${ROUNDS} alternating rounds (pipelined ${pipelined.map((r) => Math.round(r.ms)).join('/')} ms, serial ${serial.map(Math.round).join('/')} ms); real flash + boot phase modules and HTTPS client against the lab BMC emulator (4 MiB image written at ${T.flashMs} ms nominal, CRC read-back, USB detect 10 ms) with simulated Talos nodes booting in ${T.bootMs} ms; bootstrap a ${T.bootstrapMs} ms stand-in; RK1-like 1:200; floor = measured Σflash (same pipelined run) + boot + bootstrap, nominal floor ${nominalFloor} ms`
    return [
      { name: 'pipeline-4node-vs-floor', figure: Math.round(p), unit: 'ms', baseline: { name: 'floor Σflash + boot + bootstrap', figure: Math.round(floor) }, ratio: p / floor, target: 'ratio <= 1.15', notes: note },
      { name: 'pipeline-4node-vs-serial', figure: Math.round(p), unit: 'ms', baseline: { name: 'strictly serial', figure: Math.round(s) }, ratio: p / s, target: 'ratio <= 0.5', notes: note }
    ]
  } finally {
    await b.stop()
  }
}
