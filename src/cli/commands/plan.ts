import type { PlanStep } from '../../core/phases/types.js'
import { runPictures } from '../../report/pictures.js'
import { planTable, renderText } from '../../report/tables.js'
import type { VerbSpec } from './shared.js'

/** A failure embedded in a row ("node cp: install failed: <what>. To resume: <how>"), without its node prefix. */
const EMBEDDED = /node \S+: [\w-]+ failed: (.+?\. To resume: .+?)(?=\)(?:[;,.]|$))/

/** Long reasons repeated word for word are notes too; short ones ("wait for the node") stay in the row. */
const LONG = 100

/**
 * Each problem said once: a failure that several rows embed (no SSH key, an unreachable cluster), or a
 * long reason several rows share, is printed once as a numbered note and the rows point at it.
 */
export function sayOnce(steps: PlanStep[]): { steps: PlanStep[]; notes: string[] } {
  const keyOf = (reason: string): string | undefined =>
    EMBEDDED.exec(reason)?.[1] ?? (reason.length > LONG ? reason : undefined)
  const count = new Map<string, number>()
  for (const s of steps) {
    const key = keyOf(s.reason)
    if (key) count.set(key, (count.get(key) ?? 0) + 1)
  }
  const notes: string[] = []
  const out = steps.map((s) => {
    const key = keyOf(s.reason)
    if (!key || (count.get(key) ?? 0) < 2) return s
    let n = notes.indexOf(key)
    if (n < 0) n = notes.push(key) - 1
    const m = EMBEDDED.exec(s.reason)
    return { ...s, reason: m ? s.reason.replace(m[0], `see [${n + 1}]`) : `see [${n + 1}]` }
  })
  return { steps: out, notes }
}

/** Exit 1 when the plan shows a deploy would be refused or could not be observed (like terraform). */
export const plan: VerbSpec = {
  name: 'plan',
  short:
    'Shows what a deploy would do on each node and phase, and why. Changes nothing. Exit 1 when a step is blocked.',
  example: 'TPI_BMC_PASSWORD=… turingpi-cluster plan --config cluster.yaml',
  render(result, io, json) {
    const steps = result.plan ?? []
    if (json) io.out(JSON.stringify(steps))
    else {
      const pictures = runPictures(result, 'plan').text
      if (pictures) io.out(pictures)
      const once = sayOnce(steps)
      io.out(renderText(planTable(once.steps)))
      once.notes.forEach((note, i) => io.out(`[${i + 1}] ${note}`))
    }
    const blocked = steps.filter((s) => s.action === 'blocked')
    if (blocked.length)
      io.err(`error: ${blocked.length} step(s) blocked: a deploy would not go through (see the rows marked blocked)`)
    return blocked.length ? 1 : 0
  }
}
