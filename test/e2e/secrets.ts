// The secret scan of a whole run: what a runner would show (log without the ::add-mask:: commands it
// consumes), the job summary and the step outputs must not contain any secret value or line of one.
import { expect } from '@jest/globals'
import type { ActionRun } from '../../lab/action.js'

export function expectNoSecrets(run: ActionRun, secrets: string[]): void {
  const shown = run.log
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n')
  const places = { log: shown, summary: run.summary, outputs: JSON.stringify(run.outputs) }
  const pieces = secrets
    .flatMap((s) => [s, ...s.split('\n')])
    .map((s) => s.trim())
    .filter((s) => s.length >= 16 && !s.startsWith('-----'))
  const leaks = Object.entries(places).flatMap(([where, text]) =>
    pieces.filter((p) => text.includes(p)).map((p) => `${where}: ${p.slice(0, 6)}…`)
  )
  expect(leaks).toEqual([])
}
