// The CLI says what failed: a failed deploy prints the error the action annotates (node, phase, what
// was seen, how to resume) and exits 1; a plan that cannot observe the BMC says so once and exits 1;
// a reason shared by several rows is printed once. Against the lab BMC emulator (no nodes behind it).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startBmc, type BmcEmulator } from '../../lab/bmc/index.js'
import { plan, sayOnce } from '../../src/cli/commands/plan.js'
import { deploy } from '../../src/cli/commands/deploy.js'
import { runVerb, type Io } from '../../src/cli/commands/shared.js'
import { validate } from '../../src/cli/commands/validate.js'

let bmc: BmcEmulator
let dir: string
beforeAll(async () => {
  bmc = await startBmc({ host: '127.20.14.1', port: 0, banThreshold: 50 })
  dir = await mkdtemp(join(tmpdir(), 'cli-failures-'))
  await writeFile(join(dir, 'armbian.img'), Buffer.alloc(1024))
  await writeFile(
    join(dir, 'cluster.yaml'),
    `kind: k3s
name: lab
bmc: { endpoint: "${bmc.url}", tls: { fingerprint: "${bmc.fingerprint}" } }
armbian_image: { path: armbian.img }
boot_timeout: 30
control_plane: { node: 1, ip: 127.10.14.1, hostname: cp }
workers:
  - { node: 2, ip: 127.10.14.2, hostname: w1 }
  - { node: 3, ip: 127.10.14.3, hostname: w2 }
`
  )
})
afterAll(async () => {
  await bmc.stop()
  await rm(dir, { recursive: true, force: true })
})

function capture(env: Record<string, string>): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = []
  const stderr: string[] = []
  return {
    stdout,
    stderr,
    out: (t) => void stdout.push(t),
    err: (t) => void stderr.push(t),
    env: { PATH: process.env.PATH, ...env }
  }
}
const args = [
  '--config',
  'cluster.yaml',
  '--working-directory',
  () => dir,
  '--state-dir',
  () => join(dir, 'state')
] as const
const argv = (): string[] => args.map((a) => (typeof a === 'function' ? a() : a))

describe('turingpi-cluster plan', () => {
  test('against a BMC with a wrong password: exit 1, the reason once in the table, no second login per node', async () => {
    const io = capture({ TPI_BMC_PASSWORD: 'wrong-password' })
    const logins = (): number => bmc.requests.filter((r) => r.path === '/api/bmc/authenticate').length
    const before = logins()
    const code = await runVerb(plan, argv(), io)
    const table = io.stdout.join('\n')
    expect(code).toBe(1)
    expect(table.match(/cannot observe the BMC of board default \(https:\/\/127\.20\.14\.1:\d+\): /g)).toHaveLength(1)
    expect(table).toMatch(/cannot observe the BMC[^\n]*(credentials|password|403|refused)/i)
    expect(table).not.toContain('wrong-password')
    expect(io.stderr.join('\n')).toMatch(/error: \d+ step\(s\) blocked/)
    expect(logins() - before).toBeLessThanOrEqual(3)
  }, 30_000)

  test('without an SSH key: the missing key is said once, not in every row', async () => {
    const io = capture({ TPI_BMC_PASSWORD: 'turing' })
    await runVerb(plan, argv(), io)
    const text = io.stdout.join('\n')
    expect(text.match(/no SSH private key was given/g)).toHaveLength(1)
    expect(text).toMatch(/^install\s+cp\s+run\s+not observed \(see \[\d\]\); would install k3s/m)
  }, 60_000)
})

describe('turingpi-cluster deploy', () => {
  test('that fails prints the error naming node, phase, what was seen and how to resume, and exits 1', async () => {
    const io = capture({ TPI_BMC_PASSWORD: 'wrong-password', TPI_ARTIFACT_PASSPHRASE: 'a passphrase for the test' })
    const code = await runVerb(deploy, argv(), io)
    expect(code).toBe(1)
    const err = io.stderr.join('\n')
    expect(err).toMatch(/^error: node cp: flash failed: .+\. To resume: .+/m)
    expect(err).not.toContain('wrong-password')
  }, 60_000)
})

describe('turingpi-cluster validate on hostile files', () => {
  test.each([
    [
      'a 50 MB file',
      (): string => 'kind: k3s\n' + '# padding padding padding padding padding padding padding\n'.repeat(900_000),
      /big\.yaml:\d+:\d+.*at most 1048576 bytes/
    ],
    [
      'an alias bomb',
      (): string =>
        'kind: k3s\na: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n',
      /big\.yaml:3:8.*alias bomb/
    ],
    [
      'an http:// BMC',
      (): string =>
        'kind: k3s\nname: lab\nbmc: { endpoint: http://10.0.0.2, tls: { insecure: true } }\narmbian_image: { path: armbian.img }\ncontrol_plane: { node: 1, ip: 127.10.14.1, hostname: cp }\n',
      /big\.yaml:3:8.*the endpoint must be https/
    ]
  ])('%s: exit 1 within a second, the problem with its file:line:column', async (_name, text, shown) => {
    await writeFile(join(dir, 'big.yaml'), text())
    const io = capture({})
    const started = Date.now()
    const code = await runVerb(validate, ['--config', 'big.yaml', '--working-directory', dir], io)
    expect(Date.now() - started).toBeLessThan(1000)
    expect(code).toBe(1)
    expect(io.stderr.join('\n')).toMatch(shown)
  })
})

describe('sayOnce', () => {
  const row = (phase: 'install' | 'join' | 'boot', node: string, reason: string) => ({
    phase,
    node,
    action: 'run' as const,
    reason
  })
  test('prints a failure embedded in several rows once, as a note the rows point at', () => {
    const rows = [
      row(
        'install',
        'cp',
        'not observed (node cp: install failed: no SSH private key was given. To resume: set it); would install'
      ),
      row(
        'join',
        'w1',
        'not observed (node w1: join failed: no SSH private key was given. To resume: set it); would join'
      ),
      row('boot', 'cp', 'wait for the node')
    ]
    expect(sayOnce(rows)).toEqual({
      steps: [
        row('install', 'cp', 'not observed (see [1]); would install'),
        row('join', 'w1', 'not observed (see [1]); would join'),
        rows[2]
      ],
      notes: ['no SSH private key was given. To resume: set it']
    })
  })

  test('keeps short shared reasons and unique ones in their rows; long shared ones become a note', () => {
    const long = 'x'.repeat(101)
    const rows = [
      row('boot', 'cp', 'wait for the node'),
      row('boot', 'w1', 'wait for the node'),
      row('join', 'cp', long),
      row('join', 'w1', long),
      row('install', 'cp', 'y'.repeat(120))
    ]
    expect(sayOnce(rows)).toEqual({
      steps: [rows[0], rows[1], row('join', 'cp', 'see [1]'), row('join', 'w1', 'see [1]'), rows[4]],
      notes: [long]
    })
  })
})
