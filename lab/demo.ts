// `npm run demo [-- --kind talos]`: runs the action's real bundle (dist/main/index.js, inputs passed as
// GitHub passes them) on an example cluster file and prints its log and job summary.
//
// What it runs today: validate and plan. A deploy needs the lab's BMC emulator (lab/bmc), which is not
// in this build yet, so the demo says so instead of pretending: it never reports a phase it did not run.
// The bundle runs in a private network namespace when `unshare` allows it, so the example's LAN
// addresses can never be reached from here.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const kind = process.argv.includes('--kind') ? process.argv[process.argv.indexOf('--kind') + 1] : 'k3s'
if (kind !== 'k3s' && kind !== 'talos') {
  console.error(`--kind must be k3s or talos, not "${kind}"`)
  process.exit(2)
}
const config = `examples/${kind}-cluster.yaml`
const bundle = join(process.cwd(), 'dist', 'main', 'index.js')
if (!existsSync(bundle)) {
  console.error('dist/main/index.js is missing: run `npm run build` first')
  process.exit(1)
}

const isolated = spawnSync('unshare', ['-rn', 'true']).status === 0
function runAction(command: string): { code: number; summary: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tpi-demo-'))
  for (const f of ['output', 'summary', 'state']) writeFileSync(join(dir, f), '')
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
    GITHUB_STATE: join(dir, 'state'),
    GITHUB_WORKSPACE: process.cwd(),
    RUNNER_TEMP: dir,
    INPUT_COMMAND: command,
    INPUT_CONFIG: config
  }
  const argv = isolated ? ['unshare', '-rn', process.execPath, bundle] : [process.execPath, bundle]
  console.log(`\n$ INPUT_COMMAND=${command} INPUT_CONFIG=${config} node dist/main/index.js${isolated ? '   (private network namespace)' : ''}`)
  const r = spawnSync(argv[0], argv.slice(1), { env, stdio: ['ignore', 'inherit', 'inherit'] })
  return { code: r.status ?? 1, summary: readFileSync(join(dir, 'summary'), 'utf8') }
}

const text = (html: string): string =>
  html
    .replace(/<\/(tr|h2|h3|p|li)>/g, '\n')
    .replace(/<\/t[dh]>/g, ' | ')
    .replace(/<[^>]+>/g, '')
    .replace(/\n{2,}/g, '\n')
    .trim()

const results: [string, number][] = []
for (const command of ['validate', 'plan']) {
  const r = runAction(command)
  console.log(`\n--- job summary (${command}) ---\n${text(r.summary)}`)
  results.push([command, r.code])
}
console.log('\n=== demo report ===')
for (const [command, code] of results) console.log(`${command}: ${code === 0 ? 'ran, exit 0' : `FAILED, exit ${code}`}`)
console.log('deploy: not run — the lab has simulated nodes (lab/node) but no BMC emulator (lab/bmc) yet, so nothing can be flashed or powered on.')
process.exitCode = results.every(([, code]) => code === 0) ? 0 : 1
