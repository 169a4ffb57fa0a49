// Every label in a diagram that comes from the cluster file or from a node (hostnames, IPs, board
// names, BMC and SSH errors) passes through here. A cluster file is edited in pull requests, and a node
// or BMC can answer anything: neither may close a label, start a new statement, inject HTML into the
// rendered SVG, or end the ```mermaid fence of the job summary.

/** Characters passed through as they are; everything else becomes an entity code. */
const PLAIN = /[A-Za-z0-9 .,:/_+=@*'!?-]/

/**
 * Text for a quoted flowchart label (`id["…"]`). Mermaid decodes `#<decimal>;` entity codes after
 * parsing, so quotes, brackets, pipes, backticks, `<`, `>`, `&`, `#`, `;` and `%` are written as codes
 * and can never be syntax. Line breaks become spaces; long texts (errors) are cut with an ellipsis.
 */
export function flowLabel(text: string, max = 48): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  const cut = [...flat].length > max ? [...flat].slice(0, max - 1).join('') + '…' : flat
  let out = ''
  for (const ch of cut) out += PLAIN.test(ch) ? ch : `#${ch.codePointAt(0)};`
  return out
}

/**
 * Text for a Gantt title or section name. The Gantt grammar decodes no entities, ends a task name at
 * `:` and reads `%%` as a comment; a line break would start a new statement. So only letters, digits
 * and `.`, `_`, `-`, space are kept (hostnames are RFC 1123 labels and need nothing else); any other
 * character becomes `_`. Task names are never taken from the file (they are phase names).
 */
export function ganttText(text: string, max = 40): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  const cut = [...flat].slice(0, max)
  return cut.map((ch) => (/[A-Za-z0-9._ -]/.test(ch) ? ch : '_')).join('')
}
