// Refreshes the committed digest catalog (src/core/tools/digests.ts) from the upstream release pages:
// every artifact of the supported versions (src/core/tools/supported.ts) is downloaded over https from
// its upstream host (never a mirror), hashed, and, where upstream publishes a checksum file, checked
// against it. The entries between the <catalog:begin>/<catalog:end> markers are rewritten.
//
//   npm run refresh-digests            rewrite the catalog
//   npm run refresh-digests -- --check exit 1 when the committed catalog differs (no write)
//
// Needs network access to github.com (and codeload.github.com for the rkllama source archive, addressed
// by commit), raw.githubusercontent.com, dl.k8s.io, get.helm.sh and huggingface.co. An artifact that
// cannot be fetched keeps its current entry and is named at the end (exit 1). An entry whose digest is
// unchanged keeps its recorded source: several were first read from upstream git blobs or independent
// pins (nixpkgs, kubekey, Sidero's Homebrew tap), and a download that agrees confirms them.
import { createHash } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { findChecksum } from '../src/adapters/downloads/checksum.js'
import { getText, openUrl } from '../src/adapters/downloads/http-get.js'
import type { ArtifactRequest } from '../src/adapters/downloads/types.js'
import { CATALOG } from '../src/core/tools/digests.js'
import { supportedArtifacts } from '../src/core/tools/supported.js'

const FILE = resolve(import.meta.dirname, '..', 'src', 'core', 'tools', 'digests.ts')
const BEGIN = /^ *\/\/ <catalog:begin>.*$/m
const END = /^ *\/\/ <catalog:end>.*$/m

async function sha256Of(url: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of await openUrl(url)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

async function entryFor(a: ArtifactRequest, today: string): Promise<{ sha256: string; source: string }> {
  if (!a.upstream.startsWith('https://')) throw new Error(`${a.upstream} is not an https upstream URL`)
  const sha256 = await sha256Of(a.upstream)
  let source = `sha256 of ${a.upstream} as downloaded on ${today}`
  if (a.checksum?.sumsUrl) {
    const published = findChecksum(await getText(a.checksum.sumsUrl), a.checksum.sumsEntry)
    if (published !== sha256)
      throw new Error(
        `${a.upstream}: downloaded sha256 ${sha256}, but ${a.checksum.sumsUrl} publishes ${published ?? 'no entry'}`
      )
    source += `; equals ${a.checksum.sumsUrl}`
  }
  return { sha256, source }
}

const line = (url: string, e: { sha256?: string; source: string }): string =>
  `  ${JSON.stringify(url)}: { ${e.sha256 ? `sha256: ${JSON.stringify(e.sha256)}, ` : ''}source: ${JSON.stringify(e.source)} },`

async function main(): Promise<void> {
  const check = process.argv.includes('--check')
  const today = new Date().toISOString().slice(0, 10)
  const failed: string[] = []
  const lines: string[] = []
  for (const a of supportedArtifacts()) {
    try {
      const e = await entryFor(a, today)
      const old = CATALOG[a.upstream]
      // An unchanged digest keeps its recorded source (and date): the refresh only records news.
      lines.push(line(a.upstream, old?.sha256 === e.sha256 ? old : e))
      console.log(`${e.sha256}  ${a.upstream}`)
    } catch (error) {
      failed.push(`${a.upstream}: ${(error as Error).message}`)
      const old = CATALOG[a.upstream]
      lines.push(
        line(
          a.upstream,
          old ?? { source: `not available offline when this catalog was written (${(error as Error).message})` }
        )
      )
    }
  }
  const text = await readFile(FILE, 'utf8')
  const begin = BEGIN.exec(text)
  const end = END.exec(text)
  if (!begin || !end) throw new Error(`${FILE} has no <catalog:begin>/<catalog:end> markers`)
  const from = begin.index + begin[0].length + 1
  const next = `${text.slice(0, from)}${lines.join('\n').replace(/,$/, '')}\n${text.slice(end.index)}`
  if (check) {
    if (next !== text) {
      console.error('the committed digest catalog differs from upstream; run npm run refresh-digests')
      process.exitCode = 1
    }
  } else if (next !== text) await writeFile(FILE, next)
  if (failed.length) {
    console.error(`could not refresh:\n  ${failed.join('\n  ')}`)
    process.exitCode = 1
  }
}

await main()
