// scripts/ensure-tools.sh runs before `npm test`, `npm run demo` and `.ci/run`: on a fresh machine a
// newcomer's two commands must either install what the lab needs (root) or say in one line what to run.
import { describe, expect, it } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const script = resolve(import.meta.dirname, '../../scripts/ensure-tools.sh')
const isRoot = process.getuid?.() === 0

/** A PATH holding only the shell basics and `present`, so every other lab tool looks missing. */
function sparsePath(present: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'tpi-ensure-'))
  chmodSync(dir, 0o755)
  for (const cmd of ['bash', 'id', 'cat', 'mkdir', ...present]) {
    const found = spawnSync('bash', ['-c', `PATH=$PATH:/usr/sbin:/sbin command -v ${cmd}`], { encoding: 'utf8' })
    symlinkSync(found.stdout.trim(), join(dir, cmd))
  }
  return dir
}

/** Runs the script with only `path`, and no sbin fallback; `prefix` runs it through another command. */
function run(path: string, prefix: string[] = [], env: Record<string, string> = {}, file = script) {
  const [cmd = 'bash', ...args] = [...prefix, 'bash', file]
  const started = Date.now()
  const result = spawnSync(cmd, args, { encoding: 'utf8', env: { PATH: path, ENSURE_TOOLS_SBIN: '', ...env } })
  return { ...result, ms: Date.now() - started }
}

describe('ensure-tools', () => {
  it('passes silently when every tool is on this machine', () => {
    const r = spawnSync('bash', [script], { encoding: 'utf8' })
    expect(r.status).toBe(0)
    expect(r.stderr).toBe('')
  })

  const asNobody = isRoot ? it : it.skip
  asNobody(
    'as a non-root user, names what is missing and prints the one apt-get line, exiting 1 within a second',
    () => {
      const path = sparsePath(['tar', 'curl'])
      // A copy the other user can read wherever the checkout lives.
      const copy = join(path, 'ensure-tools.sh')
      copyFileSync(script, copy)
      const r = run(path, ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'], {}, copy)
      expect(r.status).toBe(1)
      expect(r.ms).toBeLessThan(1000)
      expect(r.stderr).toContain('missing age sshd ssh-keygen debugfs mke2fs sfdisk')
      expect(r.stderr).toContain('  sfdisk (fdisk): the lab partitions its disk images')
      const line = r.stderr.split('\n').find((l) => l.includes('apt-get install'))
      expect(line).toBe(
        '  sudo apt-get update && sudo apt-get install -y age openssh-server openssh-client e2fsprogs fdisk ' +
          'mount util-linux iproute2 xz-utils openssl unzip procps shellcheck etcd-server etcd-client'
      )
    }
  )

  const asRoot = isRoot ? it : it.skip
  asRoot('as root, installs the missing packages with apt-get and says why', () => {
    const path = sparsePath([
      'tar',
      'curl',
      'age',
      'xz',
      'openssl',
      'unzip',
      'pgrep',
      'shellcheck',
      'unshare',
      'wipefs',
      'blkid',
      'losetup',
      'ip',
      'ssh-keygen',
      'sshd',
      'mke2fs',
      'etcd',
      'etcdctl'
    ])
    const calls = join(path, 'apt-calls')
    // A stand-in apt-get on this PATH records its arguments instead of touching the machine's packages.
    writeFileSync(join(path, 'apt-get'), `#!/bin/bash\necho "$*" >> ${calls}\n`)
    chmodSync(join(path, 'apt-get'), 0o755)
    const r = run(path)
    expect(r.status).toBe(0)
    expect(r.stderr).toContain('ensure-tools: installing e2fsprogs fdisk with apt-get, because:')
    expect(r.stderr).toContain('  debugfs (e2fsprogs): lab images are read and written without mounting')
    expect(readFileSync(calls, 'utf8')).toBe('update -qq\ninstall -y -qq e2fsprogs fdisk\n')
  })

  it('is skipped with TPI_ENSURE_TOOLS=off on a machine set up another way', () => {
    const r = run(sparsePath([]), [], { TPI_ENSURE_TOOLS: 'off' })
    expect(r.status).toBe(0)
    expect(r.stderr).toBe('')
  })
})
