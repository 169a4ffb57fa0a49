// Maps a YAML path (['workers', 1, 'node']) to where it stands in the source, so every issue carries
// file:line:col. Missing keys point at the mapping that should hold them.
import { isMap, isPair, isScalar, isSeq, LineCounter, type Document, type Node } from 'yaml'
import type { SourceRef } from '../reporter.js'

export type YamlPath = (string | number)[]

export function pathText(path: YamlPath): string {
  let out = ''
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out ? `.${part}` : part
  return out || '(file)'
}

export class Locator {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly file: string
  ) {}

  private at(offset: number, end?: number): SourceRef {
    const start = this.lines.linePos(offset)
    const ref: SourceRef = { file: this.file, line: start.line, column: start.col }
    if (end !== undefined) {
      const e = this.lines.linePos(end)
      ref.endLine = e.line
      ref.endColumn = e.col
    }
    return ref
  }

  /**
   * The key's position for a mapping entry (that is where a person looks), the item's for a sequence
   * entry; the deepest existing ancestor for a path that is not in the file.
   */
  locate(path: YamlPath, preferValue = false): SourceRef | undefined {
    let node: unknown = this.doc.contents
    let best: SourceRef | undefined = this.rangeOf(node as Node)
    for (const [i, part] of path.entries()) {
      const last = i === path.length - 1
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(part))
        if (!pair) return best
        const keyNode = pair.key as Node
        const target = last && preferValue && pair.value ? (pair.value as Node) : keyNode
        best = this.rangeOf(target) ?? best
        node = pair.value
      } else if (isSeq(node) && typeof part === 'number') {
        const item = node.items[part] as Node | undefined
        if (!item) return best
        best = this.rangeOf(item) ?? best
        node = item
      } else return best
    }
    return best
  }

  private rangeOf(node: Node | null | undefined): SourceRef | undefined {
    const range = node?.range
    return range ? this.at(range[0], range[1]) : undefined
  }
}
