// What a job on a shared runner leaves behind and hands to its children, through the shipped bundle on
// the lab: the example K3s deploy is killed (SIGKILL, a cancelled or crashed job) at the start of every
// phase in turn, each time followed by its post step, then run to the end. Afterwards no plaintext
// credential (kubeconfig key, k3s token, SSH key, node host keys) is anywhere under the tool cache, the
// state-dir or any job's RUNNER_TEMP, and no child process of any run (cp, debugfs, sh, kubectl, helm)
// was given an input, ACTIONS_RUNTIME_TOKEN, GITHUB_TOKEN or a secret value in its environment. Then a
// kubectl planted in the tool cache is refused and fetched again, and one replaced on the mirror (with a
// matching .sha256 beside it) is refused with the file, the expected and the actual digest.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { createHash } from 'node:crypto'
import { access, chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { delimiter, join } from 'node:path'
import { decryptLabArtifact, runLabAction, type ActionRun, type LabActionSetup } from '../../lab/action.js'
import { startLab, type Lab } from '../../lab/lab.js'
import { credentialSecrets } from '../../src/core/crypto/mask.js'
import { KUBECTL_VERSION } from '../../src/core/phases/addons/tools.js'
import { kubectl } from '../../src/core/tools/catalog.js'
import { onBoard } from './helpers-drift.js'

/** Lab board of this suite: no other test file starts nodes there. */
const B = 15
const PHASES = ['flash', 'boot', 'os-bootstrap', 'install', 'join', 'addons', 'npu']
/**
 * Where each phase has started: cluster phases open a group; the node phases run as a pipeline per node,
 * so a node's boot starts when its flash is reported done, and its os-bootstrap when its boot is.
 */
const KILL_AT: Record<string, RegExp> = {
  flash: /^::group::flash\b/m,
  boot: /: flash: (changed|unchanged) /,
  'os-bootstrap': /: boot: (changed|unchanged) /,
  ...Object.fromEntries(['install', 'join', 'addons', 'npu'].map((p) => [p, new RegExp(`^::group::${p}$`, 'm')]))
}
/** Programs the action runs by name: a wrapper on PATH records the environment each one is given. */
const WRAPPED = ['cp', 'debugfs', 'sh']

let lab: Lab
let setup: LabActionSetup
let recordDir: string
const killed: { phase: string; run: ActionRun }[] = []
let last: ActionRun

async function realProgram(name: string): Promise<string> {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    const path = join(dir, name)
    if (
      await access(path).then(
        () => true,
        () => false
      )
    )
      return path
  }
  throw new Error(`${name} is not on PATH`)
}

/** `<dir>/<tool>` that records /proc/self/environ (the environment its parent gave it) and runs the real one. */
async function wrapperDir(dir: string): Promise<string> {
  const bin = join(dir, 'bin')
  await mkdir(bin, { recursive: true })
  for (const name of WRAPPED) {
    const file = join(bin, name)
    await writeFile(
      file,
      `#!/bin/sh\ntr '\\0' '\\n' < /proc/$$/environ > '${recordDir}/${name}.'$$'.env'\nexec '${await realProgram(name)}' "$@"\n`
    )
    await chmod(file, 0o755)
  }
  return bin
}

async function* files(dir: string): AsyncGenerator<string> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => [])
  for (const e of entries) {
    const path = join(dir, e.name)
    if (e.isDirectory()) yield* files(path)
    else if (e.isFile()) yield path
  }
}

/** Every secret value of the deployed cluster, as lines long enough not to match by chance. */
async function secretPieces(): Promise<string[]> {
  const kubeconfig = Object.values(await decryptLabArtifact(lab, setup, `${setup.cluster.name}-kubeconfig`))[0]!
  const values = [...credentialSecrets('kubeconfig', kubeconfig), setup.inputs['ssh-private-key']!]
  for (let slot = 1; slot <= 4; slot++) {
    const root = lab.node(B, slot).rootDir
    for (const f of ['var/lib/rancher/k3s/server/token', 'etc/ssh/ssh_host_ed25519_key'])
      values.push(await readFile(join(root, f), 'utf8').catch(() => ''))
  }
  return [
    ...new Set(
      values
        .flatMap((v) => v.split('\n'))
        .map((l) => l.trim())
        .filter((l) => l.length >= 16 && !l.startsWith('-----'))
    )
  ]
}

beforeAll(async () => {
  lab = await startLab({ boards: B + 1, bootDelayMs: 100 })
  recordDir = join(lab.dir, 'child-env')
  await mkdir(recordDir)
  setup = await onBoard(lab, 'examples/k3s-cluster.yaml', B)
  setup.env = {
    PATH: `${await wrapperDir(lab.dir)}${delimiter}${process.env.PATH ?? '/usr/bin:/bin'}`,
    TPI_LAB_ENV_RECORD: recordDir
  }
  for (const phase of PHASES) {
    const at = KILL_AT[phase]!
    killed.push({
      phase,
      run: await runLabAction(lab, setup, { command: 'deploy' }, undefined, { killWhen: (log) => at.test(log) })
    })
  }
  last = await runLabAction(lab, setup, { command: 'deploy' })
}, 900_000)
afterAll(async () => {
  await lab?.stop()
})

describe('a deploy killed at the start of each phase, each followed by its post step', () => {
  test('every run was killed where intended, and the final run finishes the deploy', () => {
    expect(killed.map((k) => [k.phase, k.run.killed])).toEqual(PHASES.map((p) => [p, true]))
    expect({ code: last.code, tail: last.code ? last.log.slice(-3000) : '' }).toEqual({ code: 0, tail: '' })
  })

  test("each post step removed the run's plaintext folder under RUNNER_TEMP", async () => {
    for (const { run } of [...killed, { run: last }]) {
      expect(run.log).toContain(`removed ${join(run.runnerTemp, 'turingpi-cluster')}`)
      await expect(stat(join(run.runnerTemp, 'turingpi-cluster'))).rejects.toMatchObject({ code: 'ENOENT' })
    }
  })

  test("no plaintext credential is left under the tool cache, the state-dir or any job's RUNNER_TEMP", async () => {
    const pieces = await secretPieces()
    expect(pieces.length).toBeGreaterThan(8)
    const leaks: string[] = []
    let scanned = 0
    for (const root of [setup.toolCache, setup.stateDir, ...killed.map((k) => k.run.runnerTemp), last.runnerTemp]) {
      for await (const file of files(root)) {
        const body = (await readFile(file)).toString('latin1')
        scanned++
        for (const p of pieces) if (body.includes(p)) leaks.push(`${file}: ${p.slice(0, 6)}…`)
      }
    }
    expect(scanned).toBeGreaterThan(10)
    expect(leaks).toEqual([])
  })
})

describe('the environment of every child process of these deploys', () => {
  let records: { file: string; env: Record<string, string> }[]
  beforeAll(async () => {
    records = []
    for (const name of await readdir(recordDir)) {
      const text = await readFile(join(recordDir, name), 'utf8')
      records.push({
        file: name,
        env: Object.fromEntries(
          text
            .split('\n')
            .filter(Boolean)
            .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])
        )
      })
    }
  })

  test('was recorded for the programs the action runs on the runner', () => {
    const tools = new Set(records.map((r) => r.file.split('.')[0]))
    for (const tool of ['cp', 'debugfs', 'kubectl', 'helm']) expect(tools).toContain(tool)
  })

  test('holds no input, no Actions runtime token, no GitHub token and no secret value', async () => {
    const pieces = await secretPieces()
    const forbidden = [setup.inputs['bmc-password']!, lab.env().ACTIONS_RUNTIME_TOKEN!].filter(Boolean)
    const bad = records.flatMap(({ file, env }) => [
      ...Object.keys(env)
        .filter((k) => /^(INPUT_|ACTIONS_|STATE_)|^GITHUB_TOKEN$/.test(k))
        .map((k) => `${file}: ${k}`),
      ...Object.entries(env)
        .filter(([, v]) => forbidden.includes(v) || pieces.some((p) => v.includes(p)))
        .map(([k]) => `${file}: value of ${k}`)
    ])
    expect(records.length).toBeGreaterThan(4)
    expect(bad).toEqual([])
  })
})

describe('tools from the cache and the mirror are checked against the lab catalog, not against themselves', () => {
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64'
  const tool = kubectl(KUBECTL_VERSION, arch)
  const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex')
  const evil = (marker: string): string => `#!/bin/sh\ntouch '${marker}'\nexit 0\n`
  let planted: ActionRun
  let hostile: ActionRun
  let expected: string
  let cachedFile: string
  beforeAll(async () => {
    cachedFile = join(setup.toolCache, 'kubectl', KUBECTL_VERSION.slice(1), arch, 'kubectl')
    expected = sha(await readFile(cachedFile))
    // Another job on the runner replaced the cached kubectl (its old record no longer matches).
    await writeFile(cachedFile, evil(join(lab.dir, 'planted-ran')))
    planted = await runLabAction(lab, setup, { command: 'deploy', phases: 'addons' })
    // A hostile mirror serves a replaced kubectl with a .sha256 that matches it; nothing is cached.
    await rm(join(setup.toolCache, 'kubectl'), { recursive: true, force: true })
    const body = evil(join(lab.dir, 'mirror-ran'))
    await lab.mirror.addFile(tool.upstream, body, { mode: 0o755 })
    await lab.mirror.addFile(tool.checksum!.sumsUrl!, `${sha(body)}\n`)
    hostile = await runLabAction(lab, setup, { command: 'deploy', phases: 'addons' })
  }, 300_000)

  test('a planted tool-cache entry is refused with a warning, fetched again, and never run', async () => {
    expect({ code: planted.code, tail: planted.code ? planted.log.slice(-2000) : '' }).toEqual({ code: 0, tail: '' })
    expect(planted.log).toContain(
      `::warning::cached kubectl ${cachedFile} has sha256 ${sha(evil(join(lab.dir, 'planted-ran')))}, expected ${expected}`
    )
    await expect(access(join(lab.dir, 'planted-ran'))).rejects.toThrow()
  })

  test("a hostile mirror's replaced kubectl with a matching .sha256 is refused, naming the file, the expected and the actual digest", async () => {
    expect(hostile.code).toBe(1)
    const served = sha(evil(join(lab.dir, 'mirror-ran')))
    expect(hostile.log).toContain(
      `kubectl kubectl from ${lab.mirror.urlFor(tool.upstream)}: sha256 is ${served}, expected ${expected} (from the digest catalog`
    )
    await expect(access(join(lab.dir, 'mirror-ran'))).rejects.toThrow()
  })
})
