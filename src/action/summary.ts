// The job summary: the pictures first (a Mermaid diagram per board, the deploy's timeline), then plan,
// drift, nodes, addons and phase times as tables, which stay readable where Mermaid does not render.
// The log gets the same facts as text. Never a secret in here.
import * as core from '@actions/core'
import type { RunResult } from '../core/run.js'
import { mermaidFence, runPictures } from '../report/pictures.js'
import { addonTable, driftTable, nodeTable, planTable, timingTable, type Table } from '../report/tables.js'
import { timelineTable } from '../report/timeline.js'
import { upgradeTable } from '../core/upgrade/summary.js'
import type { NodeTiming } from '../core/upgrade/wave.js'

const html = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

// Cells carry hostnames, versions and errors from nodes and BMCs: escaped, as @actions/core does not.
const rows = (table: Table) => [
  table.header.map((data) => ({ data: html(data), header: true })),
  ...table.rows.map((r) => r.map(html))
]

function add(table: Table): void {
  if (!table.rows.length) return
  core.summary.addHeading(table.title, 3)
  core.summary.addTable(rows(table))
}

/** A fence must follow a blank line: right after an HTML line it would be part of that HTML block. */
function diagram(source: string): void {
  core.summary.addRaw('\n' + mermaidFence(source), true)
}

export async function writeSummary(result: RunResult, command: string): Promise<void> {
  const pictures = runPictures(result, command)
  if (pictures.text) core.info(pictures.text)
  if (!process.env.GITHUB_STEP_SUMMARY) return
  const name = result.cluster?.name ?? 'cluster'
  core.summary.addHeading(html(`turingpi-cluster ${command}: ${name} — ${result.status}`), 2)
  const errors = result.issues.filter((i) => i.severity === 'error')
  if (errors.length)
    core.summary.addList(
      errors.map((i) =>
        html(`${i.where ? `${i.where.file}:${i.where.line}:${i.where.column} ` : ''}${i.path}: ${i.message}`)
      )
    )
  if (result.error) core.summary.addQuote(html(result.error.message))
  for (const board of pictures.boards) {
    core.summary.addHeading(pictures.boards.length > 1 ? `Board ${html(board.board)}` : 'Board', 3)
    diagram(board.mermaid)
  }
  if (pictures.timeline) {
    core.summary.addHeading('Timeline', 3)
    diagram(pictures.timeline.mermaid)
    core.summary.addRaw(`<p>${html(pictures.timeline.slowest)}</p>`, true)
  }
  if (result.plan) add(planTable(result.plan))
  if (result.findings) {
    if (result.findings.length) add(driftTable(result.findings))
    else core.summary.addRaw('<p>In sync: no drift found.</p>', true)
  }
  add(nodeTable(result.outputs.nodeStatus))
  add(addonTable(result.outputs.addons))
  add(timingTable(result.outputs.timings))
  const upgraded = result.outputs.values.upgrade as NodeTiming[] | undefined
  if (upgraded?.length) add(upgradeTable(upgraded))
  if (result.steps?.length) {
    const t = timelineTable(result.steps)
    const cells = rows(t).map(
      (r) => `<tr>${r.map((c) => (typeof c === 'string' ? `<td>${c}</td>` : `<th>${c.data}</th>`)).join('')}</tr>`
    )
    core.summary.addDetails('Timeline as a table', `<table>${cells.join('')}</table>`)
  }
  await core.summary.write()
}
