// The GitHub Action front: inputs in, outputs, annotations and a job summary out. The only place that
// calls setFailed. All deployment logic is in src/core.
import '../cjs-shim.js'
import * as core from '@actions/core'
import { createActionsArtifactSink } from '../adapters/artifacts/actions-artifact.js'
import { createRuntime } from '../compose/runtime.js'
import { PUBLISHED_KEY, type PublishResult } from '../core/crypto/publish.js'
import { BACKUP_KEY, type BackupResult } from '../core/lifecycle/backup/run-backup.js'
import { execute, type RunResult } from '../core/run.js'
import type { RunSettings } from '../core/settings.js'
import { Output, State } from './constants.js'
import { concurrencyRefusal, runFleet } from './fleet.js'
import { readSettings } from './inputs.js'
import { ActionsReporter } from './reporter.js'
import { writeSummary } from './summary.js'

function setOutputs(result: RunResult): void {
  const o = result.outputs
  if (result.plan) core.setOutput(Output.Plan, JSON.stringify(result.plan))
  if (result.findings) core.setOutput(Output.Drift, JSON.stringify(result.findings))
  if (o.apiEndpoint) core.setOutput(Output.ApiEndpoint, o.apiEndpoint)
  core.setOutput(Output.NodeStatus, JSON.stringify(Object.values(o.nodeStatus)))
  if (o.schematicId) core.setOutput(Output.SchematicId, o.schematicId)
  const published = o.values[PUBLISHED_KEY] as PublishResult | undefined
  const outputs = {
    kubeconfig: [Output.KubeconfigArtifact, Output.KubeconfigArtifactId],
    talosconfig: [Output.TalosconfigArtifact, Output.TalosconfigArtifactId],
    'talos-secrets': [Output.TalosSecretsArtifact, Output.TalosSecretsArtifactId]
  } as const
  const backup = o.values[BACKUP_KEY] as BackupResult | undefined
  if (backup) {
    core.setOutput(Output.BackupArtifact, backup.artifact)
    if (backup.id !== undefined) core.setOutput(Output.BackupArtifactId, String(backup.id))
    core.setOutput(
      Output.BackupSha256,
      JSON.stringify(Object.fromEntries(backup.manifest.parts.map((p) => [p.path, p.sha256])))
    )
  }
  for (const a of published?.artifacts ?? []) {
    const [name, id] = outputs[a.kind]
    core.setOutput(name, a.name)
    // The id is what the REST API (and actions/download-artifact's artifact-ids) takes.
    if (a.id !== undefined) core.setOutput(id, String(a.id))
  }
}

/**
 * Plaintext the post step must delete. Saved first before anything runs (a job cancelled or killed
 * mid-deploy still gets its post step, and every credential is written under the run's temp dir), then
 * again with what the run reports.
 */
function rememberTempDir(settings: RunSettings): void {
  core.saveState(State.PlaintextFiles, JSON.stringify([settings.tempDir]))
}

function rememberPlaintext(settings: RunSettings, result: RunResult): void {
  const o = result.outputs
  const published = o.values[PUBLISHED_KEY] as PublishResult | undefined
  const files = [
    settings.tempDir,
    o.kubeconfigPath,
    o.talosconfigPath,
    o.talosSecretsPath,
    ...(published?.plaintextFiles ?? []),
    published?.encryptedDir
  ].filter((f): f is string => typeof f === 'string')
  core.saveState(State.PlaintextFiles, JSON.stringify(files))
}

export async function run(): Promise<void> {
  // list, and a config naming several cluster files: src/action/fleet.ts.
  if (await runFleet()) return
  let settings: RunSettings
  try {
    settings = readSettings()
  } catch (error) {
    core.setFailed((error as Error).message)
    return
  }
  rememberTempDir(settings)
  const refused = await concurrencyRefusal(settings)
  if (refused) {
    core.setFailed(refused)
    return
  }
  const reporter = new ActionsReporter(settings.workingDirectory)
  try {
    const runtime = await createRuntime(settings, reporter, 'action', { artifacts: createActionsArtifactSink() })
    const result = await execute(settings, runtime.makeDeps, reporter, runtime.engine)
    reporter.debug(`adapter counts ${JSON.stringify(runtime.counts)}`)
    for (const issue of result.issues) {
      const text = `${issue.path}: ${issue.message}`
      if (issue.severity === 'error') reporter.error(text, issue.where)
      else reporter.warn(text, issue.where)
    }
    rememberPlaintext(settings, result)
    setOutputs(result)
    for (const note of runtime.annotations(result))
      if (note.severity === 'error') reporter.error(note.message, note.where)
      else reporter.warn(note.message, note.where)
    await writeSummary(result, settings.command)
    const failed = runtime.failed(result)
    if (failed) core.setFailed(failed)
  } catch (error) {
    core.setFailed((error as Error).message)
  }
}
