// The mermaid package's own parser, for tests: a syntax slip in a generated diagram fails CI. Mermaid's
// flowchart sanitizes labels with DOMPurify, which needs a DOM, so a jsdom window is installed first.
import { JSDOM } from 'jsdom'

type Mermaid = { parse(text: string): Promise<{ diagramType: string } | false>; initialize(config: object): void }
let loaded: Promise<Mermaid> | undefined

async function load(): Promise<Mermaid> {
  const { window } = new JSDOM('<!doctype html><html><body></body></html>')
  const g = globalThis as Record<string, unknown>
  // DOMPurify binds to `window` once, when its module is evaluated; parsing needs nothing more. The
  // globals are removed again, as jest's teardown would otherwise walk the whole jsdom window.
  g.window = window
  g.document = window.document
  let mermaid: Mermaid
  try {
    mermaid = ((await import('mermaid')) as unknown as { default: Mermaid }).default
  } finally {
    delete g.window
    delete g.document
  }
  mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' })
  return mermaid
}

/** The diagram type mermaid recognised; throws mermaid's own parse error on a syntax slip. */
export async function mermaidParse(source: string): Promise<string> {
  const mermaid = await (loaded ??= load())
  const result = await mermaid.parse(source)
  if (!result) throw new Error('mermaid.parse returned false')
  return result.diagramType
}
