// What the drift end-to-end tests do behind the action's back, the way an operator (or a fault) would:
// switch a slot off through the BMC's HTTP API, reflash a slot from the BMC's SD card, uninstall a Helm
// release with the cluster's kubeconfig. Every child process is asynchronous: the lab's servers live in
// the test's own event loop, so a synchronous call would deadlock against them.
//
// Each suite runs its cluster on its own lab board (`onBoard`): board b listens on 127.10.b.x, so a drift
// suite never shares node addresses (Talos API :50000, Kubernetes API :6443, SSH :2222) with
// talos.test.ts or lab.test.ts (boards 0..7) when jest runs test files in parallel.
import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { expect } from '@jest/globals'
import { decryptLabArtifact, setupLabAction, type ActionRun, type LabActionSetup } from '../../lab/action.js'
import type { BmcEmulator } from '../../lab/bmc/index.js'
import type { BmcHandle, Lab } from '../../lab/lab.js'
import { HELM_STANDIN } from '../../lab/kube/binaries.js'
import { TALOSCTL_STANDIN } from '../../lab/talos/binary.js'
import { buildArmbianImage, buildTalosImage } from '../../lab/images/index.js'
import { parseCluster } from '../../src/core/config/load.js'
import type { DriftFinding } from '../../src/core/drift/types.js'

const run = promisify(execFile)

/** Lab boards the drift suites use: no other test file starts nodes there. */
export const TALOS_DRIFT_BOARD = 8
export const K3S_DRIFT_BOARD = 10
/** Lab board of the K3s drift scenarios (test/e2e/drift-k3s.test.ts). */
export const K3S_DRIFT_SCENARIO_BOARD = 12

/**
 * setupLabAction, then moves the (single-board) cluster from lab board 0 to lab board `board`: its BMC
 * endpoint maps to that board's emulator (every lab BMC serves the same certificate, so the pin stays
 * valid) and the DHCP reservations are made there.
 */
export async function onBoard(
  lab: Lab,
  file: string,
  board: number,
  overrides: Record<string, unknown> = {}
): Promise<LabActionSetup> {
  const setup = await setupLabAction(lab, file, overrides)
  const target = lab.boards[board]
  if (!target) throw new Error(`the lab has no board ${board}; start it with boards: ${board + 1}`)
  if (setup.cluster.boardList.length !== 1)
    throw new Error(`${file} spans ${setup.cluster.boardList.length} boards; onBoard moves single-board clusters`)
  if (target.bmc.fingerprint !== lab.boards[0]!.bmc.fingerprint)
    throw new Error('lab BMCs serve different certificates; onBoard would need to re-pin')
  lab.mapBmc(setup.cluster.boardList[0]!.bmc.endpoint, board)
  for (const n of setup.cluster.nodes) lab.reserve(board, n.slot, n.ip)
  return setup
}

/** One BMC API call with the board's password, as curl on the runner would make it. */
export async function bmcApi(bmc: BmcHandle, query: string): Promise<string> {
  const { stdout } = await run('curl', [
    '-sk',
    '--fail-with-body',
    '-u',
    `root:${bmc.password}`,
    `${bmc.url}/api/bmc?${query}`
  ])
  return stdout
}

/** `tpi power on|off -n <slot>`. */
export async function setPower(bmc: BmcHandle, slot: number, on: boolean): Promise<void> {
  await bmcApi(bmc, `opt=set&type=power&node${slot}=${on ? 1 : 0}`)
}

/**
 * Reflashes a slot with a Talos image of another version, the way `tpi flash --local` does: the image
 * goes onto the BMC's SD card, the BMC writes it (wiping what the node kept) and leaves the node off;
 * then it is powered on.
 */
export async function reflashTalos(lab: Lab, board: number, slot: number, version: string): Promise<void> {
  await reflashFromSdCard(lab, board, slot, (dir) => buildTalosImage({ version, dir }))
}

/** Reflashes a slot with a stock Armbian image (no key, no presets of the action's), as `tpi flash --local` would. */
export async function reflashArmbian(lab: Lab, board: number, slot: number): Promise<void> {
  await reflashFromSdCard(lab, board, slot, (dir) => buildArmbianImage({ dir }))
}

/**
 * The image goes onto the BMC's SD card, the BMC writes it (wiping what the node kept) and leaves the
 * node off; then it is powered on and awaited.
 */
async function reflashFromSdCard(
  lab: Lab,
  board: number,
  slot: number,
  build: (dir: string) => Promise<{ path: string }>
): Promise<void> {
  const bmc = lab.boards[board]!.bmc as BmcHandle & Partial<Pick<BmcEmulator, 'sdcardPath'>>
  if (!bmc.sdcardPath) throw new Error(`the BMC of lab board ${board} has no SD card (not lab/bmc)`)
  const image = await build(dirname(bmc.sdcardPath('x')))
  await bmcApi(bmc, `opt=set&type=flash&node=${slot - 1}&local&file=/mnt/sdcard/${basename(image.path)}`)
  for (let i = 0; ; i++) {
    const status = await bmcApi(bmc, 'opt=get&type=flash')
    if (status.includes('Done')) break
    if (status.includes('Error') || i > 200) throw new Error(`flash of slot ${slot} did not finish: ${status}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  await setPower(bmc, slot, true)
  await lab.node(board, slot).waitFor('up', 20_000)
}

/** A lab stand-in CLI with the credential the deploy uploaded as `artifact`, decrypted as a user would. */
async function asUser(
  lab: Lab,
  setup: LabActionSetup,
  artifact: string,
  cli: string,
  flag: string,
  args: string[]
): Promise<string> {
  const credential = Object.values(await decryptLabArtifact(lab, setup, artifact))[0]!
  const path = join(lab.dir, `${artifact}-${Date.now()}`)
  await writeFile(path, credential, { mode: 0o600 })
  const { stdout } = await run(process.execPath, [cli, ...args, flag, path], { env: { ...process.env, ...lab.env() } })
  return stdout
}

/** `helm <args>` (the lab's helm) with the kubeconfig the deploy uploaded. */
export const helm = (lab: Lab, setup: LabActionSetup, artifact: string, args: string[]): Promise<string> =>
  asUser(lab, setup, artifact, HELM_STANDIN, '--kubeconfig', args)

/** `talosctl <args>` (the lab's talosctl) with the talosconfig the deploy uploaded as `artifact`. */
export const talosctl = (lab: Lab, setup: LabActionSetup, artifact: string, args: string[]): Promise<string> =>
  asUser(lab, setup, artifact, TALOSCTL_STANDIN, '--talosconfig', args)

/** `talosctl upgrade` of one node, then waits until it answers again with the version of the image. */
export async function upgradeTalos(
  lab: Lab,
  setup: LabActionSetup,
  artifact: string,
  ip: string,
  image: string
): Promise<void> {
  await talosctl(lab, setup, artifact, ['upgrade', '--nodes', ip, '--endpoints', ip, '--image', image, '--wait=false'])
  const tag = image.split(':').pop()!
  for (let i = 0; ; i++) {
    const answer = await talosctl(lab, setup, artifact, ['version', '--nodes', ip, '--endpoints', ip]).catch(() => '')
    if (answer.split('Server:')[1]?.includes(`Tag:         ${tag}`)) return
    if (i > 200) throw new Error(`${ip} did not come back from the upgrade to ${image}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** The `drift` output of a run (the JSON list of findings). */
export function findings(r: ActionRun): DriftFinding[] {
  if (r.outputs.drift === undefined) throw new Error(`the run set no drift output (exit ${r.code}):\n${shown(r)}`)
  return JSON.parse(r.outputs.drift) as DriftFinding[]
}

export interface Annotation {
  level: 'error' | 'warning' | 'notice'
  /** Absolute path of the annotated file, when the annotation names one. */
  file?: string
  line?: number
  message: string
}

/** The ::error / ::warning / ::notice workflow commands of a run, the file resolved from the workspace (the cwd). */
export function annotations(r: ActionRun): Annotation[] {
  return r.log.split('\n').flatMap((l): Annotation[] => {
    const m = /^::(error|warning|notice)(?: (.*?))?::(.*)$/.exec(l)
    if (!m) return []
    const props = Object.fromEntries(
      (m[2] ?? '')
        .split(',')
        .filter(Boolean)
        .map((p) => p.split('=') as [string, string])
    )
    return [
      {
        level: m[1] as Annotation['level'],
        ...(props.file ? { file: resolve(process.cwd(), props.file) } : {}),
        ...(props.line ? { line: Number(props.line) } : {}),
        message: m[3]!.replace(/%0A/g, '\n').replace(/%25/g, '%')
      }
    ]
  })
}

/** The line the cluster file (the run's copy) has for a YAML path, as the config loader locates it. */
export async function lineOf(setup: LabActionSetup, path: (string | number)[]): Promise<number> {
  const where = parseCluster(await readFile(setup.configPath, 'utf8'), setup.configPath).locate(path)
  if (!where) throw new Error(`${setup.configPath} has no ${path.join('.')}`)
  return where.line
}

/** The log without debug and mask lines: what a failing assertion should show. */
export function shown(r: ActionRun, lines = 40): string {
  return r.log
    .split('\n')
    .filter((l) => !l.startsWith('::debug') && !l.startsWith('::add-mask'))
    .slice(-lines)
    .join('\n')
}

/** Exit code and findings at once, with the log tail on an unexpected exit. */
export function expectRun(r: ActionRun, code: number): void {
  expect({ code: r.code, tail: r.code === code ? '' : shown(r) }).toEqual({ code, tail: '' })
}
