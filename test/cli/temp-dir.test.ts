// The CLI's temp folder (which holds the kubeconfig and other plaintext credentials) is gone when a verb
// ends: after success or failure, and when the process is stopped by SIGINT or SIGTERM mid-run; only
// --keep-temp keeps it, and says so.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { spawn } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { runVerb, type Io } from '../../src/cli/commands/shared.js'
import { validate } from '../../src/cli/commands/validate.js'
import { guardTempDir } from '../../src/cli/temp-dir.js'

const ROOT = resolve(import.meta.dirname, '..', '..')
let dir: string
// A "BMC" that accepts TCP and never answers, so a plan stays busy until it is signalled.
let silent: Server
const sockets: Socket[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-temp-'))
  silent = createServer((s) => void sockets.push(s))
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()))
  const port = (silent.address() as { port: number }).port
  await writeFile(join(dir, 'armbian.img'), Buffer.alloc(1024))
  await writeFile(
    join(dir, 'cluster.yaml'),
    `kind: k3s
name: lab
bmc: { endpoint: "https://127.0.0.1:${port}", tls: { fingerprint: "${'ab'.repeat(32)}" } }
armbian_image: { path: armbian.img }
control_plane: { node: 1, ip: 127.10.99.1, hostname: cp }
`
  )
  await writeFile(join(dir, 'broken.yaml'), 'kind: k3s\nname: lab\nbmc: 7\n')
})
afterAll(async () => {
  for (const s of sockets) s.destroy()
  await new Promise<void>((r) => silent.close(() => r()))
  await rm(dir, { recursive: true, force: true })
})

function io(tmp: string): Io & { stderr: string[] } {
  const stderr: string[] = []
  return { stderr, out: () => undefined, err: (t) => void stderr.push(t), env: { PATH: process.env.PATH, TMPDIR: tmp } }
}

describe('guardTempDir', () => {
  test('creates the folder 0700 and removes it, credentials included, on release; a second release is a no-op', async () => {
    const temp = join(dir, 'g1')
    const said: string[] = []
    const guard = guardTempDir(temp, false, (t) => void said.push(t))
    expect(statSync(temp).mode & 0o777).toBe(0o700)
    await mkdir(join(temp, 'credentials'))
    await writeFile(join(temp, 'credentials', 'kubeconfig'), 'apiVersion: v1\n')
    guard.release()
    guard.release()
    expect(existsSync(temp)).toBe(false)
    expect(said).toEqual([`removed the temp folder ${temp} with kubeconfig; --keep-temp keeps it`])
  })

  test('with keep, the folder and its files stay and the user is told where and why', async () => {
    const temp = join(dir, 'g2')
    const said: string[] = []
    const guard = guardTempDir(temp, true, (t) => void said.push(t))
    await writeFile(join(temp, 'x'), 'y')
    guard.release()
    expect(await readdir(temp)).toEqual(['x'])
    expect(said[0]).toMatch(/kept the temp folder .*g2: it holds plaintext credentials/)
  })
})

describe('a verb run in-process', () => {
  test('a failed validate (exit 1) leaves no temp folder', async () => {
    const tmp = await mkdtemp(join(dir, 'fail-'))
    const code = await runVerb(validate, ['--config', 'broken.yaml', '--working-directory', dir], io(tmp))
    expect(code).toBe(1)
    expect(await readdir(tmp)).toEqual([])
  })

  test('a successful validate leaves no temp folder; with --keep-temp it stays', async () => {
    const tmp = await mkdtemp(join(dir, 'ok-'))
    expect(await runVerb(validate, ['--config', 'cluster.yaml', '--working-directory', dir], io(tmp))).toBe(0)
    expect(await readdir(tmp)).toEqual([])
    const kept = io(tmp)
    expect(await runVerb(validate, ['--config', 'cluster.yaml', '--working-directory', dir, '--keep-temp'], kept)).toBe(
      0
    )
    expect(await readdir(tmp)).toEqual([`turingpi-cluster-${process.pid}`])
    expect(kept.stderr.join('\n')).toMatch(/kept the temp folder/)
  })
})

/** Starts `turingpi-cluster plan` (from source, through tsx), waits for its temp folder, signals it. */
async function planThenSignal(
  signal: NodeJS.Signals,
  extra: string[] = []
): Promise<{ tmp: string; folder: string; how: string; stderr: string }> {
  const tmp = await mkdtemp(join(dir, `sig-${signal}-`))
  const connected = sockets.length
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'src', 'cli', 'index.ts'),
      'plan',
      '--config',
      'cluster.yaml',
      '--working-directory',
      dir,
      '--state-dir',
      join(tmp, '..', `state-${signal}`),
      ...extra
    ],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH, TMPDIR: tmp, TPI_BMC_PASSWORD: 'pw' },
      stdio: ['ignore', 'pipe', 'pipe']
    }
  )
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<string>((r) => child.on('exit', (code, sig) => r(sig ?? `code ${code}`)))
  const folder = join(tmp, `turingpi-cluster-${child.pid}`)
  const deadline = Date.now() + 60_000
  // The folder exists from the start of the verb; the silent BMC then holds the plan.
  while (!existsSync(folder) || sockets.length === connected) {
    if (Date.now() > deadline) throw new Error(`no temp folder or BMC connection within 60 s: ${stderr}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  child.kill(signal)
  return { tmp, folder, how: await exited, stderr }
}

describe('a verb stopped by a signal', () => {
  test.each(['SIGINT', 'SIGTERM'] as const)(
    '%s mid-plan removes the temp folder and ends the process by that signal',
    async (signal) => {
      const { folder, how } = await planThenSignal(signal)
      expect(how).toBe(signal)
      expect(existsSync(folder)).toBe(false)
    },
    90_000
  )

  test('with --keep-temp a SIGTERM leaves the folder in place', async () => {
    const { folder, how, stderr } = await planThenSignal('SIGTERM', ['--keep-temp'])
    expect(how).toBe('SIGTERM')
    expect(existsSync(folder)).toBe(true)
    expect(stderr).toMatch(/kept the temp folder/)
  }, 90_000)
})
