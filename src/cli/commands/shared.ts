// What every verb does: parse flags, run the core, print issues with source excerpts, pick an exit code.
import { createRuntime } from '../../compose/runtime.js'
import { configFilePath, execute, type RunResult } from '../../core/run.js'
import type { Command, RunSettings } from '../../core/settings.js'
import { formatIssue, readForExcerpts } from '../excerpt.js'
import { parseCli } from '../settings.js'
import { guardTempDir } from '../temp-dir.js'
import { TerminalReporter } from '../terminal-reporter.js'

export interface Io {
  out(text: string): void
  err(text: string): void
  env: NodeJS.ProcessEnv
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t + '\n'),
  err: (t) => process.stderr.write(t + '\n'),
  env: process.env
}

export interface VerbSpec {
  name: Command
  short: string
  example: string
  /** Prints the result for a person (or as JSON) and returns the exit code for a finished run. */
  render(result: RunResult, io: Io, json: boolean): number
}

export function helpText(spec: VerbSpec): string {
  return [
    `turingpi-cluster ${spec.name} — ${spec.short}`,
    '',
    'Flags: --config FILE (cluster.yaml)  --working-directory DIR  --phases a,b  --nodes h1,h2',
    '       --reflash  --confirm NAME  --fail-on-drift  --state-dir DIR  --mirror URL  --json  -v',
    '       --node-concurrency N (4)  --backup FILE (restore)  --wipe (destroy)',
    '       --keep-temp (keep the temp folder, which holds plaintext credentials, after the run)',
    'Secrets from the environment: TPI_BMC_PASSWORD, TPI_SSH_PRIVATE_KEY, TPI_ARTIFACT_RECIPIENTS,',
    '       TPI_ARTIFACT_PASSPHRASE, TPI_TALOS_SECRETS, TPI_BACKUP_IDENTITY (each also as NAME_FILE=path).',
    '',
    'Example:',
    `  ${spec.example}`
  ].join('\n')
}

export async function runVerb(spec: VerbSpec, argv: string[], io: Io = processIo): Promise<number> {
  const { settings, json, verbose, help, keepTemp } = parseCli(spec.name, argv, io.env)
  if (help) {
    io.out(helpText(spec))
    return 0
  }
  const temp = guardTempDir(settings.tempDir, keepTemp, io.err)
  try {
    return await runParsed(spec, settings, { json, verbose }, io)
  } finally {
    temp.release()
  }
}

async function runParsed(
  spec: VerbSpec,
  settings: RunSettings,
  { json, verbose }: { json: boolean; verbose: boolean },
  io: Io
): Promise<number> {
  const reporter = new TerminalReporter(io.err, verbose)
  for (const s of [
    settings.secrets.bmcPassword,
    settings.secrets.sshPrivateKey,
    settings.secrets.artifactPassphrase,
    settings.secrets.talosSecrets,
    settings.secrets.backupIdentity
  ])
    if (s) reporter.secret(s)
  const runtime = await createRuntime(settings, reporter, 'cli')
  const result = await execute(settings, runtime.makeDeps, reporter, runtime.engine)
  if (result.issues.length) {
    const source = await readForExcerpts(configFilePath(settings))
    for (const issue of result.issues) io.err(formatIssue(issue, source))
  }
  if (result.status === 'invalid') return 1
  const code = spec.render(result, io, json)
  const failed = runtime.failed(result)
  // The same text the action annotates (a PhaseError names node, phase, what was seen, how to
  // resume), through the reporter so that secrets are masked.
  if (failed) reporter.error(failed)
  return failed && code === 0 ? 1 : code
}
