// One small Mermaid flowchart per board: the four slots side by side (chained by invisible links in a
// left-to-right subgraph, so they line up in slot order), each with hostname, role, IP, power and the status mark, coloured by the mark; the
// cluster-wide items (addons) in a row below. Ids are generated here, never taken from the file; every
// label goes through flowLabel.
import { markText, type BoardPicture, type BoardView, type Mark } from '../board.js'
import { flowLabel } from './escape.js'

/** Fills that read on GitHub's light and dark themes alike (text colour fixed to dark). */
const CLASSES: Record<Mark | 'empty', string> = {
  ok: 'fill:#dafbe1,stroke:#1a7f37,color:#1f2328',
  changed: 'fill:#ddf4ff,stroke:#0969da,color:#1f2328',
  drift: 'fill:#fff8c5,stroke:#9a6700,color:#1f2328',
  failed: 'fill:#ffebe9,stroke:#cf222e,color:#1f2328',
  unreachable: 'fill:#ffebe9,stroke:#cf222e,color:#1f2328,stroke-dasharray:4 3',
  unknown: 'fill:#f6f8fa,stroke:#8c959f,color:#1f2328',
  empty: 'fill:#ffffff,stroke:#d0d7de,color:#8c959f,stroke-dasharray:2 2'
}

const FRAME = 'fill:#f6f8fa,stroke:#8c959f,color:#1f2328'

function slotLabel(slot: BoardView['slots'][number], command: string): string {
  if (!slot.node) return `slot ${slot.slot}<br/>empty`
  const n = slot.node
  const lines = [
    `slot ${slot.slot}`,
    `<b>${flowLabel(n.id)}</b>`,
    `${flowLabel(n.role)} · ${flowLabel(n.ip)}`,
    `power ${flowLabel(slot.power || '?')}`,
    markText(slot.mark ?? 'unknown', command) + (slot.note ? `: ${flowLabel(slot.note, 40)}` : '')
  ]
  return lines.join('<br/>')
}

/** The Mermaid source (no fence) for one board. */
export function boardMermaid(board: BoardView, command: string): string {
  const out = ['flowchart TB']
  const used = new Set<Mark | 'empty'>()
  const title =
    `board ${flowLabel(board.name)}` +
    (board.mark ? ` — ${markText(board.mark, command)}: ${flowLabel(board.note ?? '', 60)}` : '')
  out.push(`  subgraph bd["${title}"]`, '    direction LR')
  for (const slot of board.slots) {
    const cls = slot.node ? (slot.mark ?? 'unknown') : 'empty'
    used.add(cls)
    out.push(`    s${slot.slot}["${slotLabel(slot, command)}"]:::${cls}`)
  }
  out.push(`    ${board.slots.map((s) => `s${s.slot}`).join(' ~~~ ')}`, '  end')
  if (board.items?.length) {
    out.push('  subgraph ad["addons (cluster-wide)"]', '    direction LR')
    board.items.forEach((item, i) => {
      used.add(item.mark)
      const note = item.note ? `<br/>${flowLabel(item.note, 40)}` : ''
      out.push(
        `    a${i + 1}["<b>${flowLabel(item.name)}</b><br/>${markText(item.mark, command)}${note}"]:::${item.mark}`
      )
    })
    if (board.items.length > 1) out.push(`    ${board.items.map((_, i) => `a${i + 1}`).join(' ~~~ ')}`)
    out.push('  end', '  bd ~~~ ad')
  }
  if (board.mark) used.add(board.mark)
  for (const cls of Object.keys(CLASSES) as (Mark | 'empty')[])
    if (used.has(cls)) out.push(`  classDef ${cls} ${CLASSES[cls]}`)
  // The frames stay neutral (Mermaid's default cluster fill is the yellow of a drift mark) unless the
  // board itself has a finding.
  out.push(`  classDef frame ${FRAME}`)
  out.push(`  class ${board.items?.length && !board.mark ? 'bd,ad' : board.items?.length ? 'ad' : 'bd'} frame`)
  if (board.mark) out.push(`  class bd ${board.mark}`)
  return out.join('\n') + '\n'
}

/** One diagram per board, in the cluster file's board order. */
export function boardDiagrams(picture: BoardPicture): { board: string; mermaid: string }[] {
  return picture.boards.map((b) => ({ board: b.name, mermaid: boardMermaid(b, picture.command) }))
}
