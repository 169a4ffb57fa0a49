// The job summary: plan, drift, nodes, addons and phase times as tables. Never a secret in here.
import * as core from '@actions/core'
import type { RunResult } from '../core/run.js'
import { addonTable, driftTable, nodeTable, planTable, timingTable, type Table } from '../report/tables.js'

function add(table: Table): void {
  if (!table.rows.length) return
  core.summary.addHeading(table.title, 3)
  core.summary.addTable([table.header.map((data) => ({ data, header: true })), ...table.rows])
}

export async function writeSummary(result: RunResult, command: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return
  const name = result.cluster?.name ?? 'cluster'
  core.summary.addHeading(`turingpi-cluster ${command}: ${name} — ${result.status}`, 2)
  const errors = result.issues.filter((i) => i.severity === 'error')
  if (errors.length)
    core.summary.addList(errors.map((i) => `${i.where ? `${i.where.file}:${i.where.line}:${i.where.column} ` : ''}${i.path}: ${i.message}`))
  if (result.error) core.summary.addQuote(result.error.message)
  if (result.plan) add(planTable(result.plan))
  if (result.findings) {
    if (result.findings.length) add(driftTable(result.findings))
    else core.summary.addRaw('<p>In sync: no drift found.</p>', true)
  }
  add(nodeTable(result.outputs.nodeStatus))
  add(addonTable(result.outputs.addons))
  add(timingTable(result.outputs.timings))
  await core.summary.write()
}
