// Runs the action's real bundle (dist/main, dist/post) against a lab, with inputs passed the way GitHub
// passes them (INPUT_* variables, command files). The lab's own facts go into a copy of the cluster
// file only where a real user would write their own: the BMC certificate pin. Everything else reaches
// the lab through the runner-side settings a user could also set (mirror input, TPI_ADDRESS_MAP).
import { execFileSync, spawn } from 'node:child_process'
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { writeLabRkllamaLock } from './k3s/rkllama-lock.js'
import { join, resolve } from 'node:path'
import { generateIdentity, identityToRecipient } from 'age-encryption'
import { parseDocument } from 'yaml'
import { parseCluster } from '../src/core/config/load.js'
import type { Cluster } from '../src/core/config/model.js'
import type { Lab } from './lab.js'
import { validEd25519 } from './node/armbian.js'
import { seedMirror } from './seed.js'

export interface LabActionSetup {
  /** The cluster file the action reads (the example with the lab BMC's certificate pinned). */
  configPath: string
  cluster: Cluster
  /** Inputs every run gets: BMC password, SSH key, artifact recipient, state-dir, mirror. */
  inputs: Record<string, string>
  /** The age identity that decrypts the uploaded artifacts. */
  ageIdentity: string
  stateDir: string
  toolCache: string
  /** The lab's digest catalog (digests of the lab-built bytes the mirror serves), as a file. */
  catalogPath: string
  /** Extra runner environment for every run (a test's PATH wrappers, TPI_LAB_ENV_RECORD). */
  env?: Record<string, string>
}

export interface ActionRun {
  code: number
  log: string
  outputs: Record<string, string>
  summary: string
  /** Wall time of the run, milliseconds. */
  ms: number
  /** RUNNER_TEMP of the job (what GitHub wipes after it). */
  runnerTemp: string
  /** The main step was killed (options.killWhen). */
  killed: boolean
}

export interface RunOptions {
  /** SIGKILLs the main step as soon as its output so far matches (a cancelled or crashed job); post still runs. */
  killWhen?: (log: string) => boolean
  /** Step env: variables a workflow sets on the step (TURINGPI_CONCURRENCY_GROUP). */
  env?: Record<string, string>
}

/**
 * Prepares a lab for a cluster file: pins each board's BMC certificate in a copy of the file, maps each
 * board's BMC endpoint to its emulator (boards in file order), seeds the mirror, makes the keys.
 */
export async function setupLabAction(
  lab: Lab,
  clusterFile: string,
  overrides: Record<string, unknown> = {}
): Promise<LabActionSetup> {
  const doc = parseDocument(await readFile(clusterFile, 'utf8'))
  const boardPaths = doc.has('boards')
    ? (doc.get('boards') as { items: unknown[] }).items.map((_, i) => ['boards', i, 'bmc'])
    : [['bmc']]
  if (boardPaths.length > lab.boards.length)
    throw new Error(`${clusterFile} has ${boardPaths.length} boards, the lab ${lab.boards.length}`)
  boardPaths.forEach((path, i) => {
    const bmc = lab.boards[i]!.bmc
    doc.setIn([...path, 'tls'], doc.createNode({ fingerprint: bmc.fingerprint }))
    lab.mapBmc(String(doc.getIn([...path, 'endpoint'])), i)
  })
  for (const [key, value] of Object.entries(overrides)) doc.setIn(key.split('.'), doc.createNode(value))
  const dir = await mkdtemp(join(lab.dir, 'action-'))
  const configPath = join(dir, clusterFile.split('/').pop() ?? 'cluster.yaml')
  // A file that deploys rkllama without a lock of its Python dependencies is refused (no lock is
  // committed): the lab supplies its own, beside the copy, which becomes the working directory.
  const rkllama = doc.getIn(['npu_config', 'deploy_rkllama']) ?? doc.get('deploy_rkllama')
  const withLock = rkllama === true && doc.getIn(['npu_config', 'rkllama_requirements_lock']) === undefined
  if (withLock) doc.setIn(['npu_config', 'rkllama_requirements_lock'], writeLabRkllamaLock(dir))
  const text = doc.toString()
  await writeFile(configPath, text)
  const loaded = parseCluster(text, configPath)
  if (!loaded.cluster)
    throw new Error(`${clusterFile} does not load in the lab: ${loaded.issues.map((i) => i.message).join('; ')}`)
  // A node boots its image without the file's address until it is configured (Talos maintenance mode):
  // like a LAN whose DHCP server reserves the file's address for each slot.
  const boardIndex = new Map(loaded.cluster.boardList.map((b, i) => [b.name, i]))
  for (const n of loaded.cluster.nodes) lab.reserve(boardIndex.get(n.board) ?? 0, n.slot, n.ip)
  const catalog = await seedMirror(lab.mirror, loaded.cluster, { factory: lab.factory })
  // Handed to the action as a local file (TPI_LAB_CATALOG), never through the mirror.
  const catalogPath = join(dir, 'lab-catalog.json')
  await writeFile(catalogPath, JSON.stringify(catalog, null, 1))
  const ageIdentity = await generateIdentity()
  const stateDir = join(lab.dir, 'state')
  const toolCache = join(lab.dir, 'tool-cache')
  await mkdir(stateDir, { recursive: true })
  await mkdir(toolCache, { recursive: true })
  return {
    configPath,
    cluster: loaded.cluster,
    ageIdentity,
    stateDir,
    toolCache,
    catalogPath,
    inputs: {
      config: configPath,
      'bmc-password': lab.boards[0]!.bmc.password ?? 'turing',
      'ssh-private-key': validEd25519().private,
      'artifact-recipients': await identityToRecipient(ageIdentity),
      'state-dir': stateDir,
      mirror: lab.mirror.url,
      ...(withLock ? { 'working-directory': dir } : {})
    }
  }
}

const bundle = (entry: 'main' | 'post'): string => resolve(import.meta.dirname, '..', 'dist', entry, 'index.js')

/** GITHUB_OUTPUT / GITHUB_STATE format: name<<delimiter ... delimiter. */
export function parseCommandFile(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<]+)<<(.+)$/.exec(lines[i] ?? '')
    if (!m) continue
    const end = lines.indexOf(m[2]!, i + 1)
    out[m[1]!] = lines.slice(i + 1, end).join('\n')
    i = end
  }
  return out
}

let runs = 0

/**
 * The lab's "repository secrets": the Talos secrets bundle a first deploy uploaded, decrypted and passed
 * as the talos-secrets input on every later run of that cluster, as the deploy's warning tells a user
 * to do (no copy is kept on the runner). A test passes its own talos-secrets input ('' = none) to differ.
 */
const repositorySecrets = new WeakMap<Lab, Map<string, string>>()

/**
 * One job: the main step, then the post step (as `post-if: always()` does), sharing one GITHUB_STATE.
 * `onLog` receives the output as it comes (the demo streams it).
 */
export async function runLabAction(
  lab: Lab,
  setup: LabActionSetup,
  inputs: Record<string, string>,
  onLog?: (chunk: string) => void,
  options: RunOptions = {}
): Promise<ActionRun> {
  // Every call is a new workflow run (its own run id and artifact names), as a push or a schedule is.
  lab.results.newRun()
  runs++
  const dir = await mkdtemp(join(lab.dir, 'job-'))
  for (const f of ['output', 'summary', 'state', 'env', 'path']) await writeFile(join(dir, f), '')
  const secrets = repositorySecrets.get(lab) ?? new Map<string, string>()
  repositorySecrets.set(lab, secrets)
  const bundleName = `${setup.cluster.name}-talos-secrets`
  const bundlesBefore = lab.results.artifacts().filter((a) => a.name === bundleName).length
  const stored = secrets.get(setup.cluster.name)
  const all = { ...setup.inputs, ...(stored ? { 'talos-secrets': stored } : {}), ...inputs }
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? dir,
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
    GITHUB_STATE: join(dir, 'state'),
    GITHUB_ENV: join(dir, 'env'),
    GITHUB_PATH: join(dir, 'path'),
    GITHUB_WORKSPACE: process.cwd(),
    GITHUB_RUN_ID: String(1000 + runs),
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_REPOSITORY: 'lab/cluster',
    RUNNER_TEMP: dir,
    RUNNER_TOOL_CACHE: setup.toolCache,
    ...lab.env(),
    TPI_LAB_CATALOG: setup.catalogPath,
    ...setup.env,
    ...options.env,
    ...Object.fromEntries(Object.entries(all).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v]))
  }
  const started = performance.now()
  let log = ''
  let killed = false
  const step = (entry: 'main' | 'post', stepEnv: Record<string, string>): Promise<number> =>
    new Promise((done, fail) => {
      const child = spawn(process.execPath, [bundle(entry)], { env: stepEnv, stdio: ['ignore', 'pipe', 'pipe'] })
      const take = (b: Buffer): void => {
        const s = b.toString()
        log += s
        onLog?.(s)
        if (entry === 'main' && !killed && options.killWhen?.(log)) {
          killed = true
          child.kill('SIGKILL')
        }
      }
      child.stdout.on('data', take)
      child.stderr.on('data', take)
      child.on('error', fail)
      child.on('close', (code) => done(code ?? 1))
    })
  const code = await step('main', env)
  const state = parseCommandFile(await readFile(join(dir, 'state'), 'utf8'))
  const postEnv = { ...env, ...Object.fromEntries(Object.entries(state).map(([k, v]) => [`STATE_${k}`, v])) }
  const postCode = await step('post', postEnv)
  if (postCode !== 0) log += `\n(post step exited ${postCode})\n`
  if (lab.results.artifacts().filter((a) => a.name === bundleName).length > bundlesBefore) {
    const files = Object.values(await decryptLabArtifact(lab, setup, bundleName))
    if (files[0]) secrets.set(setup.cluster.name, files[0])
  }
  return {
    code,
    log,
    outputs: parseCommandFile(await readFile(join(dir, 'output'), 'utf8')),
    summary: await readFile(join(dir, 'summary'), 'utf8'),
    ms: performance.now() - started,
    runnerTemp: dir,
    killed
  }
}

/**
 * What a user does with a downloaded artifact: unzip it and `age -d -i key.txt` each file (the real
 * age CLI). Returns file name → plaintext.
 */
/** Latest artifact of that name (the latest run that uploaded one). */
export async function decryptLabArtifact(
  lab: Lab,
  setup: LabActionSetup,
  name: string
): Promise<Record<string, string>> {
  const artifact = lab.results.artifacts().findLast((a) => a.name === name)
  if (!artifact)
    throw new Error(
      `no artifact ${name}; have ${
        lab.results
          .artifacts()
          .map((a) => a.name)
          .join(', ') || 'none'
      }`
    )
  const dir = await mkdtemp(join(lab.dir, 'download-'))
  await writeFile(join(dir, 'artifact.zip'), artifact.bytes)
  await writeFile(join(dir, 'key.txt'), setup.ageIdentity + '\n', { mode: 0o600 })
  const files = execFileSync('unzip', ['-Z1', join(dir, 'artifact.zip')], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
  const out: Record<string, string> = {}
  for (const f of files) {
    const cipher = execFileSync('unzip', ['-p', join(dir, 'artifact.zip'), f])
    out[f] = execFileSync('age', ['-d', '-i', join(dir, 'key.txt')], { input: cipher, encoding: 'utf8' })
  }
  return out
}
