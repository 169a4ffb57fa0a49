// The upgrade's part of the job summary: each node's from → to and how long each step took, as rows
// every front renders its own way (src/report/tables.ts's Table shape).
import type { NodeTiming, StepName } from './wave.js'

const STEPS: StepName[] = ['cordon', 'drain', 'upgrade', 'ready', 'uncordon']
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`

export function upgradeTable(timings: NodeTiming[]): { title: string; header: string[]; rows: string[][] } {
  return {
    title: 'Upgrade',
    header: ['Node', 'From', 'To', 'Outcome', ...STEPS.map((s) => s[0].toUpperCase() + s.slice(1)), 'Total'],
    rows: timings.map((t) => {
      const ms = (step: StepName) => t.steps.filter((s) => s.step === step).reduce((a, s) => a + s.ms, 0)
      const has = (step: StepName) => t.steps.some((s) => s.step === step)
      return [
        t.node,
        t.from,
        t.to,
        t.outcome,
        ...STEPS.map((s) => (has(s) ? seconds(ms(s)) : '—')),
        seconds(t.steps.reduce((a, s) => a + s.ms, 0))
      ]
    })
  }
}
