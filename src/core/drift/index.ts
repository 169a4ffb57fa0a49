// The drift framework's public surface, for the fronts and run-deps wiring.
export { runDrift, normalizeFindings } from './run-drift.js'
export { summarizeDrift, driftExitCode, type DriftStatus, type DriftSummary } from './summary.js'
export {
  driftAnnotations,
  driftHtml,
  driftJson,
  driftMarkdown,
  driftTableRows,
  pathString,
  DRIFT_TABLE_HEADER,
  type DriftAnnotation,
  type Locate
} from './render.js'
export { defaultDriftObservers, tcpConnect, type DriftObservers } from './observers.js'
export type { DriftFinding } from './types.js'
