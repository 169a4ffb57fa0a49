// Flags and environment → RunSettings for the CLI. Secrets come only from the environment (or files
// the environment names), never from flags, so they stay out of shell history and `ps`.
import { readFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { PHASES, type Command, type PhaseName, type RunSettings } from '../core/settings.js'
import { readCatalogFile } from '../core/tools/digests.js'
import { checkMirror } from '../core/tools/mirror.js'

export const SHARED_FLAGS = {
  config: { type: 'string', short: 'c', default: 'cluster.yaml' },
  'working-directory': { type: 'string', default: '.' },
  phases: { type: 'string' },
  nodes: { type: 'string' },
  reflash: { type: 'boolean', default: false },
  confirm: { type: 'string' },
  'fail-on-drift': { type: 'boolean', default: false },
  'state-dir': { type: 'string' },
  mirror: { type: 'string' },
  'node-concurrency': { type: 'string' },
  backup: { type: 'string' },
  wipe: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  'keep-temp': { type: 'boolean', default: false },
  verbose: { type: 'boolean', short: 'v', default: false },
  help: { type: 'boolean', short: 'h', default: false }
} as const

export class UsageError extends Error {}

const list = (v: string | undefined): string[] =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)

function fromEnvOrFile(env: NodeJS.ProcessEnv, name: string): string | undefined {
  if (env[name]) return env[name]
  const file = env[`${name}_FILE`]
  return file ? readFileSync(file, 'utf8') : undefined
}

export function parseCli(command: Command, argv: string[], env: NodeJS.ProcessEnv = process.env) {
  const { values } = parseArgs({ args: argv, options: SHARED_FLAGS, allowPositionals: false, strict: true })
  const phases = list(values.phases)
  const bad = phases.filter((p) => !(PHASES as readonly string[]).includes(p))
  if (bad.length)
    throw new UsageError(`--phases: unknown phase(s) ${bad.join(', ')}; expected some of ${PHASES.join(', ')}`)
  const mirrorValue = values.mirror ?? env.TPI_MIRROR
  const mirror = mirrorValue ? checkMirror(mirrorValue) : undefined
  if (mirror && 'problem' in mirror) throw new UsageError(`--mirror: ${mirror.problem}`)
  const concurrency = values['node-concurrency'] === undefined ? undefined : Number(values['node-concurrency'])
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64))
    throw new UsageError(`--node-concurrency: "${values['node-concurrency']}" is not a whole number from 1 to 64`)
  const settings: RunSettings = {
    command,
    configPath: values.config,
    workingDirectory: values['working-directory'],
    phases: phases.length ? (phases as PhaseName[]) : undefined,
    nodes: list(values.nodes).length ? list(values.nodes) : undefined,
    reflash: values.reflash,
    confirm: values.confirm,
    failOnDrift: values['fail-on-drift'],
    stateDir: values['state-dir'] ?? env.TPI_STATE_DIR ?? join(homedir(), '.local', 'state', 'turingpi-cluster'),
    mirror: mirror?.mirror,
    nodeConcurrency: concurrency,
    digestCatalog: env.TPI_LAB_CATALOG ? readCatalogFile(env.TPI_LAB_CATALOG) : undefined,
    tempDir: join(env.TMPDIR ?? tmpdir(), `turingpi-cluster-${process.pid}`),
    bmcUsername: env.TPI_BMC_USERNAME,
    secrets: {
      bmcPassword: fromEnvOrFile(env, 'TPI_BMC_PASSWORD'),
      sshPrivateKey: fromEnvOrFile(env, 'TPI_SSH_PRIVATE_KEY'),
      artifactRecipients: list(env.TPI_ARTIFACT_RECIPIENTS?.replace(/\n/g, ',')),
      artifactPassphrase: fromEnvOrFile(env, 'TPI_ARTIFACT_PASSPHRASE'),
      talosSecrets: fromEnvOrFile(env, 'TPI_TALOS_SECRETS'),
      backupIdentity: fromEnvOrFile(env, 'TPI_BACKUP_IDENTITY')
    },
    backupFile: values.backup,
    wipe: values.wipe
  }
  return { settings, json: values.json, verbose: values.verbose, help: values.help, keepTemp: values['keep-temp'] }
}
