// A local stand-in for the GitHub CLI, enough for the drift templates' issue script: `issue list`
// (answers what the script's --jq asks: the number of the open drift issue titled $TITLE), `issue
// create`, `issue comment`, `issue close`, `label create`. Issues live in a JSON file, so a test can
// run the template's real bash against it and read what happened.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

export interface FakeIssue {
  number: number
  title: string
  state: 'open' | 'closed'
  labels: string[]
  body: string
  comments: string[]
}

const SCRIPT = String.raw`#!/usr/bin/env node
const fs = require('node:fs')
const file = process.env.FAKE_GH_STATE
const issues = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : []
const args = process.argv.slice(2)
const flag = (name) => { const i = args.indexOf(name); return i < 0 ? undefined : args[i + 1] }
const save = () => fs.writeFileSync(file, JSON.stringify(issues, null, 2))
const [noun, verb] = args
if (noun === 'label') process.exit(0)
if (noun !== 'issue') { console.error('fake gh: unsupported ' + args.join(' ')); process.exit(2) }
if (verb === 'list') {
  const label = flag('--label'), state = flag('--state')
  const hit = issues.find((i) => i.title === process.env.TITLE && (!label || i.labels.includes(label)) && (!state || i.state === state))
  if (hit) console.log(hit.number)
} else if (verb === 'create') {
  issues.push({ number: issues.length + 1, title: flag('--title'), state: 'open', labels: [flag('--label')].filter(Boolean), body: flag('--body') ?? '', comments: [] })
  save()
} else if (verb === 'comment' || verb === 'close') {
  const issue = issues.find((i) => i.number === Number(args[2]))
  if (!issue) { console.error('fake gh: no issue ' + args[2]); process.exit(1) }
  const text = flag('--body') ?? flag('--comment')
  if (text) issue.comments.push(text)
  if (verb === 'close') issue.state = 'closed'
  save()
} else { console.error('fake gh: unsupported ' + args.join(' ')); process.exit(2) }
`

/** Writes `gh` into `dir/bin`; returns the PATH entry and a reader for the issues. */
export async function fakeGh(dir: string): Promise<{ bin: string; state: string; issues(): Promise<FakeIssue[]> }> {
  const bin = join(dir, 'bin')
  await mkdir(bin, { recursive: true })
  await writeFile(join(bin, 'gh'), SCRIPT.replace('#!/usr/bin/env node', `#!${process.execPath}`))
  await chmod(join(bin, 'gh'), 0o755)
  const state = join(dir, 'issues.json')
  return { bin, state, issues: async () => JSON.parse(await readFile(state, 'utf8').catch(() => '[]')) as FakeIssue[] }
}
