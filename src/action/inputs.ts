// Reads every action input once into RunSettings. Secrets are masked here, before anything could
// print them, and never leave this object except through the core.
import * as core from '@actions/core'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { COMMANDS, PHASES, type Command, type PhaseName, type RunSettings } from '../core/settings.js'
import { readCatalogFile } from '../core/tools/digests.js'
import { checkMirror } from '../core/tools/mirror.js'
import { Input } from './constants.js'

function list(value: string): string[] {
  return value
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean)
}

function secret(name: string): string | undefined {
  const value = core.getInput(name)
  if (!value) return undefined
  core.setSecret(value)
  // Multi-line secrets (keys, bundles) are also masked line by line by the runner; mask the base64 form
  // too because tools print keys that way.
  core.setSecret(Buffer.from(value).toString('base64'))
  return value
}

/** GitHub fills declared defaults; a bare run (tests, local-action) may leave the input empty. */
function bool(name: string): boolean {
  const value = core.getInput(name)
  if (!value) return false
  if (/^(true|false)$/i.test(value)) return value.toLowerCase() === 'true'
  throw new InputError(`input ${name}: "${value}" is not true or false`)
}

export class InputError extends Error {}

export function readSettings(env: NodeJS.ProcessEnv = process.env): RunSettings {
  const command = core.getInput(Input.Command) || 'plan'
  if (!(COMMANDS as readonly string[]).includes(command))
    throw new InputError(`input command: "${command}" is not one of ${COMMANDS.join(', ')}`)
  const phases = list(core.getInput(Input.Phases))
  const unknown = phases.filter((p) => !(PHASES as readonly string[]).includes(p))
  if (unknown.length)
    throw new InputError(
      `input phases: unknown phase(s) ${unknown.map((p) => `"${p}"`).join(', ')}; expected some of ${PHASES.join(', ')}`
    )
  const nodes = list(core.getInput(Input.Nodes))
  const temp = env.RUNNER_TEMP || tmpdir()
  const toolCache = env.RUNNER_TOOL_CACHE || join(temp, 'tool-cache')
  const retention = Number(core.getInput(Input.RetentionDays) || '0')
  if (!Number.isInteger(retention) || retention < 0 || retention > 90)
    throw new InputError(
      `input retention-days: "${core.getInput(Input.RetentionDays)}" is not a whole number from 0 to 90`
    )
  const artifactId = core.getInput(Input.BackupArtifactId)
  if (artifactId && !/^[1-9]\d{0,15}$/.test(artifactId))
    throw new InputError(
      `input backup-artifact-id: "${artifactId}" is not an artifact id (a whole number, the backup run's output backup-artifact-id)`
    )
  const concurrency = Number(core.getInput(Input.NodeConcurrency) || '4')
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
    throw new InputError(
      `input node-concurrency: "${core.getInput(Input.NodeConcurrency)}" is not a whole number from 1 to 64`
    )
  const mirrorInput = core.getInput(Input.Mirror)
  const mirror = mirrorInput ? checkMirror(mirrorInput) : undefined
  if (mirror && 'problem' in mirror) throw new InputError(`input mirror: ${mirror.problem}`)
  return {
    command: command as Command,
    configPath: core.getInput(Input.Config) || 'cluster.yaml',
    workingDirectory: core.getInput(Input.WorkingDirectory) || '.',
    phases: phases.length ? (phases as PhaseName[]) : undefined,
    nodes: nodes.length ? nodes : undefined,
    reflash: bool(Input.Reflash),
    confirm: core.getInput(Input.Confirm) || undefined,
    failOnDrift: bool(Input.FailOnDrift),
    stateDir: core.getInput(Input.StateDir) || join(toolCache, 'turingpi-cluster-state'),
    mirror: mirror?.mirror,
    // Test-only: the lab's digests for the lab-built bytes its mirror serves (see src/core/tools/digests.ts).
    digestCatalog: env.TPI_LAB_CATALOG ? readCatalogFile(env.TPI_LAB_CATALOG) : undefined,
    tempDir: join(temp, 'turingpi-cluster'),
    retentionDays: retention || undefined,
    nodeConcurrency: concurrency,
    secrets: {
      bmcPassword: secret(Input.BmcPassword),
      sshPrivateKey: secret(Input.SshPrivateKey),
      artifactRecipients: list(core.getInput(Input.ArtifactRecipients)),
      artifactPassphrase: secret(Input.ArtifactPassphrase),
      talosSecrets: secret(Input.TalosSecrets),
      backupIdentity: secret(Input.BackupIdentity),
      githubToken: secret(Input.GithubToken)
    },
    bmcUsername: core.getInput(Input.BmcUsername) || undefined,
    backupFile: core.getInput(Input.Backup) || undefined,
    backupArtifactId: artifactId ? Number(artifactId) : undefined,
    repository: env.GITHUB_REPOSITORY || undefined,
    wipe: bool(Input.Wipe),
    runId: env.GITHUB_RUN_ID || undefined
  }
}
