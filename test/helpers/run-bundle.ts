// Runs a committed bundle the way GitHub (or a shell) runs it: a fresh node process, inputs as
// INPUT_* environment variables, the runner's command files present.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseCommandFile } from '../../lab/action.js'

export interface BundleRun {
  code: number
  stdout: string
  stderr: string
  outputs: Record<string, string>
  summary: string
  state: string
  dir: string
}

export { parseCommandFile }

export function runAction(
  entry: 'main' | 'post',
  inputs: Record<string, string>,
  env: Record<string, string> = {}
): BundleRun {
  const dir = mkdtempSync(join(tmpdir(), 'action-'))
  for (const f of ['output', 'summary', 'state']) writeFileSync(join(dir, f), '')
  const inputEnv = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v]))
  // The bundle may probe the example's LAN addresses (plan observes nodes): run it in a private network
  // namespace with no interface up, so nothing can leave the machine. (No shell in between: input
  // names such as INPUT_BMC-PASSWORD are not valid shell variables and a shell would drop them.)
  const r = spawnSync('unshare', ['-rn', process.execPath, join(process.cwd(), 'dist', entry, 'index.js')], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      GITHUB_OUTPUT: join(dir, 'output'),
      GITHUB_STEP_SUMMARY: join(dir, 'summary'),
      GITHUB_STATE: join(dir, 'state'),
      GITHUB_WORKSPACE: process.cwd(),
      RUNNER_TEMP: dir,
      ...inputEnv,
      ...env
    },
    timeout: 60_000
  })
  return {
    code: r.status ?? -1,
    stdout: r.stdout,
    stderr: r.stderr,
    outputs: parseCommandFile(readFileSync(join(dir, 'output'), 'utf8')),
    summary: readFileSync(join(dir, 'summary'), 'utf8'),
    state: readFileSync(join(dir, 'state'), 'utf8'),
    dir
  }
}
