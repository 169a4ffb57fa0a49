// The pictures of a run, ready for a front: Mermaid sources for the job summary and the same facts as
// text for the log. Deploy, plan and drift all get the board; a deploy also gets the timeline.
import type { RunResult } from '../core/run.js'
import { boardPicture, boardTables } from './board.js'
import { boardDiagrams } from './mermaid/board.js'
import { renderText } from './tables.js'
import { slowestStep, timelineMermaid, timelineTable } from './timeline.js'

export interface Pictures {
  boards: { board: string; mermaid: string }[]
  timeline?: { mermaid: string; slowest: string }
  /** Board and timeline as aligned text, for the log. */
  text: string
}

export function runPictures(result: RunResult, command: string): Pictures {
  const picture = boardPicture(result, command)
  const boards = picture ? boardDiagrams(picture) : []
  const text = picture ? boardTables(picture).map(renderText) : []
  const spans = command === 'deploy' ? (result.steps ?? []) : []
  let timeline: Pictures['timeline']
  if (spans.length) {
    timeline = {
      mermaid: timelineMermaid(spans, `deploy of ${result.cluster?.name ?? 'cluster'}`),
      slowest: slowestStep(spans)
    }
    text.push(renderText(timelineTable(spans)), timeline.slowest)
  }
  return { boards, ...(timeline ? { timeline } : {}), text: text.join('\n\n') }
}

/** A fenced block GitHub renders as a diagram (and shows as source where it does not). */
export const mermaidFence = (source: string): string => '```mermaid\n' + source + '```\n'
