#!/usr/bin/env node
// Renders the pictures of a job summary (as the action wrote it, e.g. a copy the demo kept) to a PNG
// with a real renderer: Debian's chromium, headless, running the mermaid package from node_modules.
// For the README only; CI never runs this (it needs `apt-get install chromium`).
//
//   node scripts/render-summary-image.mjs SUMMARY.md OUT.png [--width 1000]
//
// The page shows what GitHub shows above the tables: the headings, each ```mermaid block as a diagram
// and the paragraphs between them. Two passes: the first measures the rendered size, the second lays the page
// out at that width and takes the screenshot.
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'

const run = promisify(execFile)
const [input, output, ...rest] = process.argv.slice(2)
if (!input || !output) {
  console.error('usage: node scripts/render-summary-image.mjs SUMMARY.md OUT.png [--width 1000]')
  process.exit(2)
}
const width = rest.includes('--width') ? Number(rest[rest.indexOf('--width') + 1]) : 1000
const chromium = process.env.CHROMIUM ?? '/usr/bin/chromium'
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const mermaidJs = join(root, 'node_modules', 'mermaid', 'dist', 'mermaid.min.js')

const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** The summary up to its first table: headings, paragraphs, quotes and the Mermaid blocks. */
function pictures(summary) {
  const top = summary.search(/<h3>(Plan|Drift|Nodes|Addons|Phase times)<\/h3>/)
  const part = top === -1 ? summary : summary.slice(0, top)
  return part.replace(/```mermaid\n([\s\S]*?)```/g, (_, src) => `<pre class="mermaid">${esc(src)}</pre>`)
}

const page = (body, width) => `<!doctype html><html><head><meta charset="utf-8">
<style>
  body { font-family: -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #1f2328; background: #fff;
         margin: 0; padding: 16px 24px; width: ${width - 48}px; }
  h2 { font-size: 20px; border-bottom: 1px solid #d0d7de; padding-bottom: 6px; }
  h3 { font-size: 16px; margin: 18px 0 6px; }
  pre.mermaid { margin: 0; text-align: center; }
  p { font-size: 14px; }
</style>
<script src="file://${mermaidJs}"></script></head><body>${body}
<script>
  mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', theme: 'default', flowchart: { useMaxWidth: false }, gantt: { useWidth: ${width - 60} } })
  mermaid.run().then(() => {
    const size = Math.ceil(document.body.scrollWidth + 48) + 'x' + Math.ceil(document.body.getBoundingClientRect().bottom + 16)
    document.title = 'size=' + size
  }, (e) => { document.title = 'error=' + e.message })
</script></body></html>`

const dir = mkdtempSync(join(tmpdir(), 'render-summary-'))
try {
  const body = pictures(readFileSync(input, 'utf8'))
  const flags = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--hide-scrollbars',
    '--allow-file-access-from-files',
    '--virtual-time-budget=15000'
  ]
  writeFileSync(join(dir, 'measure.html'), page(body, width))
  const { stdout } = await run(
    chromium,
    [...flags, `--window-size=${width},2000`, '--dump-dom', `file://${join(dir, 'measure.html')}`],
    { maxBuffer: 64 << 20 }
  )
  const title = /<title>([^<]*)<\/title>/.exec(stdout)?.[1] ?? ''
  if (!title.startsWith('size=')) throw new Error(`mermaid did not render: ${title || 'no result'}`)
  // A flowchart keeps its natural size (labels stay legible); the page grows to hold it.
  const [w, h] = title.slice('size='.length).split('x').map(Number)
  const final = Math.max(width, w)
  writeFileSync(join(dir, 'shot.html'), page(body, final))
  // The timeline stretches to the new width: measure its height again in the shot's own page.
  const again = await run(
    chromium,
    [...flags, `--window-size=${final},2000`, '--dump-dom', `file://${join(dir, 'shot.html')}`],
    { maxBuffer: 64 << 20 }
  )
  const height = Number(/<title>size=\d+x(\d+)<\/title>/.exec(again.stdout)?.[1] ?? h)
  await run(chromium, [
    ...flags,
    `--window-size=${final},${height}`,
    `--screenshot=${resolve(output)}`,
    `file://${join(dir, 'shot.html')}`
  ])
  console.log(`${output}: ${final}x${height}`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
