// The lab's pip is no more lenient than the trust rule: inside a lab node, an install that could download
// runs only with --require-hashes from a lock whose every requirement is pinned and hashed (what real pip
// enforces in that mode); without hashes only a --no-index --no-deps install of local paths passes.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import type { RemoteShell } from '../../../src/adapters/ssh/types.js'
import { LAB_RKLLAMA_LOCK } from '../../../lab/k3s/rkllama-lock.js'
import { k3sCluster } from '../../core/kinds/k3s/fixtures.js'
import { startHarness, type Harness } from '../../core/kinds/k3s/harness.js'

const cluster = k3sCluster('', 'control_plane: { node: 1, ip: 10.10.88.73, hostname: k3s-cp }')
let lab: Harness
let shell: RemoteShell
const HASH = `--hash=sha256:${'ab'.repeat(32)}`

beforeAll(async () => {
  lab = startHarness(cluster.nodes)
  shell = await lab.shell('k3s-cp')
  await shell.exec('python3 -m venv /opt/v && mkdir -p /opt/app')
  await shell.put('/opt/good.lock', LAB_RKLLAMA_LOCK, { mode: 0o644 })
  await shell.put('/opt/unhashed.lock', 'flask==2.3.2\n', { mode: 0o644 })
  await shell.put('/opt/unpinned.lock', `flask>=2.3 ${HASH}\n`, { mode: 0o644 })
  await shell.put('/opt/index.lock', `--extra-index-url https://evil.example/simple\nflask==2.3.2 ${HASH}\n`, {
    mode: 0o644
  })
})
afterAll(() => lab.stop())

const pip = (args: string) => shell.exec(`/opt/v/bin/pip ${args}`)

describe('lab pip', () => {
  test('installs a pinned, hashed lock with --require-hashes and records each locked requirement', async () => {
    const r = await pip('install -q --require-hashes --no-deps -r /opt/good.lock')
    expect(r.code).toBe(0)
    expect(lab.file('k3s-cp', 'var/log/lab-pip.log')).toMatch(/^locked flask==2\.3\.2 --hash=sha256:[0-9a-f]{64}$/m)
  })

  test.each([
    [
      'a lock with a requirement without a hash',
      '--require-hashes --no-deps -r /opt/unhashed.lock',
      /Hashes are required in --require-hashes mode.*\n\s+flask/
    ],
    [
      'a lock with an unpinned requirement',
      '--require-hashes -r /opt/unpinned.lock',
      /must have their versions pinned with ==/
    ],
    ['a lock that adds an index', '--require-hashes -r /opt/index.lock', /option --extra-index-url/],
    ['a lock that is not there', '--require-hashes -r /opt/none.lock', /Could not open requirements file/],
    ['a lock without --require-hashes', '--no-deps -r /opt/good.lock', /without --require-hashes/],
    ['a package by name from the index', 'flask', /could download/],
    ['a local path that may still fetch its dependencies', '--no-index /opt/app', /could download/],
    [
      'a package named next to --require-hashes',
      '--require-hashes -r /opt/good.lock flask',
      /given on the command line/
    ]
  ])('refuses %s', async (_what, args, message) => {
    const r = await pip(`install ${args}`)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(message)
  })

  test('accepts local paths with --no-index --no-deps: nothing can be downloaded', async () => {
    expect((await pip('install -q --no-index --no-deps --no-build-isolation /opt/app')).code).toBe(0)
    expect((await pip('install --no-index --no-deps /opt/missing')).code).toBe(1)
  })
})
