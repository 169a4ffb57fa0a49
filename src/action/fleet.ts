// The action's fleet modes, kept apart from main.ts: `command: list` prints the clusters of a folder or
// glob as JSON for strategy.matrix; validate, plan and drift with a `config` that names several files
// check every cluster in this one job (in parallel) and write one summary table; and the concurrency
// check, which refuses a job whose group does not match its cluster's boards.
import * as core from '@actions/core'
import { join, resolve } from 'node:path'
import { createActionsArtifactSink } from '../adapters/artifacts/actions-artifact.js'
import { createRuntime } from '../compose/runtime.js'
import { loadClusterFile } from '../core/config/load.js'
import { clusterBoards, groupMismatch } from '../core/fleet/boards.js'
import { clusterFiles } from '../core/fleet/files.js'
import { listFleet } from '../core/fleet/list.js'
import { fleetDriftTable, fleetIssueActions, fleetStatus, type FleetClusterResult } from '../core/fleet/summary.js'
import { execute } from '../core/run.js'
import type { RunSettings } from '../core/settings.js'
import { Input, State } from './constants.js'
import { readSettings } from './inputs.js'
import { ActionsReporter } from './reporter.js'

const html = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

export const FleetOutput = { Clusters: 'clusters', Drifted: 'drifted', Fleet: 'fleet' } as const

async function list(): Promise<void> {
  const config = core.getInput(Input.Config) || 'clusters'
  const cwd = core.getInput(Input.WorkingDirectory) || '.'
  const { clusters, issues } = await listFleet(config, cwd)
  const reporter = new ActionsReporter(cwd)
  for (const i of issues) reporter.error(`${i.path}: ${i.message}`, i.where)
  core.setOutput(FleetOutput.Clusters, JSON.stringify(clusters))
  core.info(JSON.stringify(clusters, null, 2))
  if (issues.length) core.setFailed(`${config}: ${issues.length} problem(s) in the fleet's cluster files`)
  else if (!clusters.length) core.setFailed(`${config}: no cluster`)
}

async function checkAll(settings: RunSettings, files: string[]): Promise<void> {
  // As main.ts does: the post step removes the run's temp dir and any credential a check wrote elsewhere,
  // recorded before the checks start so that a crash in one still leaves the list behind.
  const plaintext = new Set<string>([settings.tempDir])
  const remember = () => core.saveState(State.PlaintextFiles, JSON.stringify([...plaintext]))
  remember()
  const results = await Promise.all(
    files.map(async (config): Promise<FleetClusterResult> => {
      const one = { ...settings, configPath: config, tempDir: join(settings.tempDir, `fleet-${files.indexOf(config)}`) }
      const reporter = new ActionsReporter(settings.workingDirectory)
      const runtime = await createRuntime(one, reporter, 'action', { artifacts: createActionsArtifactSink() })
      const result = await execute(one, runtime.makeDeps, reporter, runtime.engine)
      for (const f of [result.outputs.kubeconfigPath, result.outputs.talosconfigPath, result.outputs.talosSecretsPath])
        if (f) plaintext.add(f)
      const errors = result.issues.filter((i) => i.severity === 'error')
      for (const issue of errors) reporter.error(`${issue.path}: ${issue.message}`, issue.where)
      for (const note of runtime.annotations(result))
        if (note.severity === 'error') reporter.error(note.message, note.where)
        else reporter.warn(note.message, note.where)
      const invalid = result.status === 'invalid'
      return {
        name: result.cluster?.name ?? config,
        config,
        boards: result.cluster ? clusterBoards(result.cluster) : [],
        status:
          settings.command === 'drift'
            ? fleetStatus(result.findings, invalid)
            : invalid
              ? 'invalid'
              : result.status === 'ok'
                ? 'ok'
                : 'failed',
        findings: result.findings ?? [],
        ...(invalid
          ? { message: errors[0]?.message ?? 'invalid' }
          : result.error
            ? { message: result.error.message }
            : {})
      }
    })
  )
  remember()
  core.setOutput(FleetOutput.Fleet, JSON.stringify(results))
  if (settings.command === 'drift') core.setOutput(FleetOutput.Drifted, JSON.stringify(fleetIssueActions(results).open))
  const table = fleetDriftTable(results, settings.command)
  core.info([table.header.join(' | '), ...table.rows.map((r) => r.join(' | '))].join('\n'))
  if (process.env.GITHUB_STEP_SUMMARY) {
    core.summary.addHeading(html(`turingpi-cluster ${settings.command}: ${table.title}`), 2)
    core.summary.addTable([table.header.map((data) => ({ data, header: true })), ...table.rows.map((r) => r.map(html))])
    for (const r of results.filter((x) => x.findings.length)) {
      core.summary.addHeading(html(r.name), 3)
      core.summary.addTable([
        ['Subject', 'Field', 'Wanted', 'Found', 'Kind'].map((data) => ({ data, header: true })),
        ...r.findings.map((f) => [f.subject, f.field, f.wanted, f.found, f.kind].map(html))
      ])
    }
    await core.summary.write()
  }
  const bad = results.filter(
    (r) => ['invalid', 'error', 'failed'].includes(r.status) || (r.status === 'drift' && settings.failOnDrift)
  )
  if (bad.length) core.setFailed(`${bad.map((r) => `${r.name}: ${r.status}`).join('; ')}`)
}

/**
 * Handles the fleet modes and returns true, or returns false for main.ts to run one cluster as before.
 * A deploy takes one cluster: several in one job would hold many boards under one group.
 */
export async function runFleet(): Promise<boolean> {
  const command = core.getInput(Input.Command) || 'plan'
  try {
    if (command === 'list') {
      await list()
      return true
    }
    const config = core.getInput(Input.Config) || 'cluster.yaml'
    const files = await clusterFiles(config, core.getInput(Input.WorkingDirectory) || '.')
    if (files.length === 1 && files[0] === config) return false
    if (command === 'deploy') {
      core.setFailed(
        `config ${config} names ${files.length} cluster files; deploy takes one: fan out with command: list and a matrix (one job per cluster, in its board's concurrency group)`
      )
      return true
    }
    if (files.length === 1) {
      process.env[`INPUT_${Input.Config.toUpperCase()}`] = files[0]
      return false
    }
    await checkAll(readSettings(), files)
  } catch (error) {
    core.setFailed((error as Error).message)
  }
  return true
}

/**
 * The job's concurrency group against the cluster's boards. GitHub does not expose the group to a
 * step (no variable, no context field), so it is checked only when the workflow repeats it as
 * TURINGPI_CONCURRENCY_GROUP. Returns why the job must stop, or undefined.
 */
export async function concurrencyRefusal(
  settings: RunSettings,
  env: NodeJS.ProcessEnv = process.env
): Promise<string | undefined> {
  const group = env.TURINGPI_CONCURRENCY_GROUP
  if (!group || settings.command === 'validate' || settings.command === 'plan') return undefined
  const { cluster } = await loadClusterFile(resolve(settings.workingDirectory, settings.configPath), {
    displayPath: settings.configPath
  })
  // A file that does not load is refused by the core with every problem; nothing to compare here.
  return cluster ? groupMismatch(group, cluster) : undefined
}
