// The deploy's timeline: each node's steps and the cluster-scoped phases on one wall-clock axis, so the
// pipelining (node k boots while node k+1 flashes), the waiting and the slow step are visible. The
// Gantt source for the job summary, a table for the log and for where Mermaid does not render, and one
// sentence naming the slowest step.
import type { StepSpan } from '../core/run.js'
import { ganttText } from './mermaid/escape.js'
import type { Table } from './tables.js'

const seconds = (ms: number): string => (ms / 1000).toFixed(1)

/**
 * Node sections in first-step order, then the cluster section. A section's name runs to the end of its
 * line, so a hostname there cannot be read as a keyword; it is short, as the chart gives names ~75 px.
 */
function sections(spans: StepSpan[]): { title: string; spans: StepSpan[] }[] {
  const nodes: string[] = []
  for (const s of [...spans].sort((a, b) => a.start - b.start))
    if (s.node && !nodes.includes(s.node)) nodes.push(s.node)
  const out = nodes.map((node) => ({
    title: node,
    spans: spans.filter((s) => s.node === node).sort((a, b) => a.start - b.start)
  }))
  const cluster = spans.filter((s) => !s.node).sort((a, b) => a.start - b.start)
  if (cluster.length) out.push({ title: 'cluster-wide', spans: cluster })
  return out
}

/** Ticks that differ from each other: hours for long runs, milliseconds for a run of a few seconds. */
function axisFormat(ms: number): string {
  if (ms >= 3_600_000) return '%H:%M'
  return ms >= 20_000 ? '%H:%M:%S' : '%M:%S.%L'
}

const TAGS: Record<StepSpan['outcome'], string> = { changed: '', unchanged: 'done, ', failed: 'crit, ' }

/**
 * Mermaid Gantt on the run's own clock (`dateFormat x`, epoch ms), shown as the viewer's local time:
 * changed steps in the default colour, steps with nothing to change grey (done), a failed step red (crit).
 */
export function timelineMermaid(spans: StepSpan[], title: string): string {
  const first = Math.min(...spans.map((s) => s.start))
  const last = Math.max(...spans.map((s) => s.end))
  const out = [
    'gantt',
    `  title ${ganttText(title, 80)}`,
    '  dateFormat x',
    `  axisFormat ${axisFormat(last - first)}`,
    '  todayMarker off'
  ]
  let id = 0
  for (const section of sections(spans)) {
    out.push(`  section ${ganttText(section.title)}`)
    for (const s of section.spans) {
      const name =
        s.outcome === 'unchanged' ? `${s.phase} (no change)` : s.outcome === 'failed' ? `${s.phase} FAILED` : s.phase
      // A zero-length bar would not be drawn at all; one millisecond is.
      out.push(`    ${name} :${TAGS[s.outcome]}t${++id}, ${s.start}, ${Math.max(s.end, s.start + 1)}`)
      // Its parts right under it (flash: the upload, then the BMC's CRC read-back), so the time the BMC
      // spent reading back is told apart from the upload that the serial flash slot waits on.
      for (const stage of s.stages ?? []) {
        out.push(
          `    ${s.phase} ${ganttText(stage.name)} :${TAGS[s.outcome]}t${++id}, ${stage.start}, ${Math.max(stage.end, stage.start + 1)}`
        )
      }
    }
  }
  return out.join('\n') + '\n'
}

/** The longest single step, and how much node work the pipelining overlapped. */
export function slowestStep(spans: StepSpan[]): string {
  if (!spans.length) return ''
  const slowest = [...spans].sort((a, b) => b.end - b.start - (a.end - a.start))[0]!
  const wall = Math.max(...spans.map((s) => s.end)) - Math.min(...spans.map((s) => s.start))
  const work = spans.reduce((sum, s) => sum + (s.end - s.start), 0)
  const where = slowest.node ? `${slowest.phase} on ${slowest.node}` : `${slowest.phase} (cluster)`
  // Worth a word only when the pipelining saved a noticeable share of the run.
  const saved = work - wall
  const overlap =
    saved >= 1000 && saved >= wall * 0.05
      ? `; the steps add up to ${seconds(work)} s: nodes working at the same time saved ${seconds(saved)} s`
      : ''
  return `Slowest step: ${where}, ${seconds(slowest.end - slowest.start)} s of ${seconds(wall)} s${overlap}.`
}

/** The same facts as rows: seconds from the first step's start. */
export function timelineTable(spans: StepSpan[]): Table {
  const first = spans.length ? Math.min(...spans.map((s) => s.start)) : 0
  return {
    title: 'Timeline',
    header: ['Node', 'Phase', 'From (s)', 'To (s)', 'Seconds', 'Result'],
    rows: sections(spans).flatMap((section) =>
      section.spans.flatMap((s) => [
        [
          s.node ?? '(cluster)',
          s.phase,
          seconds(s.start - first),
          seconds(s.end - first),
          seconds(s.end - s.start),
          s.outcome
        ],
        ...(s.stages ?? []).map((stage) => [
          s.node ?? '(cluster)',
          `${s.phase} ${stage.name}`,
          seconds(stage.start - first),
          seconds(stage.end - first),
          seconds(stage.end - stage.start),
          s.outcome
        ])
      ])
    )
  }
}
