// A deploy's step spans as the shipped bundle reports them: the timeline Gantt in the job summary is on
// the run's own clock (epoch ms, `dateFormat x`), one section per node plus `cluster-wide`, each step's
// stages (flash: upload, read-back) right under it. Benches read their floors from here, so the floor
// and the figure come from the same run.
export interface SummarySpan {
  /** Node id, or undefined for a cluster-scoped phase. */
  node?: string
  phase: string
  /** A stage of the step (upload, read-back), or undefined for the step itself. */
  stage?: string
  start: number
  end: number
  outcome: 'changed' | 'unchanged' | 'failed'
}

const BAR = /^ {4}(\S+)(?: (.+?))? :(done, |crit, )?t\d+, (\d+), (\d+)$/

export function spansFromSummary(summary: string): SummarySpan[] {
  const gantt = summary.split('```mermaid').find((block) => /^\s*gantt\b/.test(block) && /dateFormat x/.test(block))
  if (!gantt) throw new Error('the job summary has no timeline Gantt')
  const spans: SummarySpan[] = []
  let section: string | undefined
  for (const line of gantt.split('```')[0]!.split('\n')) {
    const s = /^ {2}section (.+)$/.exec(line)
    if (s) {
      section = s[1]!.trim()
      continue
    }
    const m = BAR.exec(line)
    if (!m || section === undefined) continue
    const [, phase, rest, tag, start, end] = m
    const stage = rest && rest !== '(no change)' && rest !== 'FAILED' ? rest : undefined
    spans.push({
      ...(section === 'cluster-wide' ? {} : { node: section }),
      phase: phase!,
      ...(stage ? { stage } : {}),
      start: Number(start),
      end: Number(end),
      outcome: tag === 'crit, ' ? 'failed' : tag === 'done, ' ? 'unchanged' : 'changed'
    })
  }
  return spans
}
