import { execFileSync } from 'node:child_process'
import { describe, expect, test } from '@jest/globals'
import { nvmeScript } from '../../../../../src/core/kinds/k3s/os-bootstrap/nvme-script.js'
import {
  hostnameScript,
  kernelScript,
  packagesScript,
  staticAddressScript,
  swapScript,
  timeSyncScript
} from '../../../../../src/core/kinds/k3s/os-bootstrap/system-scripts.js'
import { parseResult } from '../../../../../src/core/remote/script.js'
import { shellcheck } from '../shellcheck.js'

const scripts: Record<string, string> = {
  hostname: hostnameScript("rk1-1'; rm -rf /"),
  address: staticAddressScript({ ip: '10.10.88.73', prefix: 24, gateway: '10.10.88.1', dns: [] }),
  packages: packagesScript(),
  packagesMirror: packagesScript('https://mirror.example/'),
  kernel: kernelScript(),
  swap: swapScript(),
  timeSync: timeSyncScript(),
  nvme: nvmeScript({ device: '/dev/nvme0n1', mount: '/var/lib/longhorn', allowFormat: false })
}

describe('os-bootstrap scripts', () => {
  test.each(Object.keys(scripts))('%s is shellcheck-clean', (name) => {
    expect(shellcheck(scripts[name])).toBe('')
  })

  test('parameters are single-quoted assignments, never spliced into the body', () => {
    expect(scripts.hostname).toContain(`WANT_HOSTNAME='rk1-1'\\''; rm -rf /'\n`)
    expect(scripts.hostname.split('\n').filter((l) => l.includes('rm -rf'))).toHaveLength(1)
  })

  test('the mirror is passed without its trailing slash and only rewrites a temporary source list', () => {
    expect(scripts.packagesMirror).toContain(`APT_MIRROR='https://mirror.example'\n`)
    expect(scripts.packages).toContain(`APT_MIRROR=''\n`)
    expect(scripts.packagesMirror).toContain('Dir::Etc::sourceparts=$lists/parts')
  })

  test('the mirror reaches the apt source rewrite as data: sed or awk syntax in it is copied, never run', () => {
    // The rewrite program of the script, run on a sources file with a hostile value in the environment.
    const program = /awk '\n([\s\S]*?)' "\$f"/.exec(scripts.packagesMirror)?.[1]
    expect(program).toBeDefined()
    const hostile = 'http://m#g;e touch /tmp/x;#&\\1"; system("id") #'
    const out = execFileSync('awk', [program!], {
      input:
        'deb http://deb.debian.org/debian bookworm main\ndeb https://security.debian.org/x bookworm-security main\n',
      env: { PATH: process.env.PATH, APT_MIRROR: hostile },
      encoding: 'utf8'
    })
    expect(out).toBe(
      `deb ${hostile}/deb.debian.org/debian bookworm main\ndeb ${hostile}/security.debian.org/x bookworm-security main\n`
    )
    expect(scripts.packagesMirror).not.toMatch(/sed [^\n]*APT_MIRROR/)
  })

  test('the static address file carries the gateway as DNS when none is given', () => {
    expect(scripts.address).toContain('addresses: [10.10.88.73/24]')
    expect(scripts.address).toContain('addresses: [10.10.88.1]')
  })

  test('the NVMe script refuses a device with data unless formatting is allowed', () => {
    expect(scripts.nvme).toContain(`ALLOW_FORMAT='0'`)
    expect(nvmeScript({ device: '/dev/nvme0n1', mount: '/mnt', allowFormat: true })).toContain(`ALLOW_FORMAT='1'`)
    expect(scripts.nvme).toContain('set nvme_format: true on this node to erase it')
  })

  test('every script ends by reporting its result', () => {
    for (const text of Object.values(scripts)) expect(text.trimEnd().endsWith('result')).toBe(true)
  })
})

describe('parseResult', () => {
  test.each([
    ['a\ntpi-result: changed modprobe=overlay sysctl\n', { changed: true, details: 'modprobe=overlay sysctl' }],
    ['tpi-result: unchanged\n', { changed: false, details: '' }],
    ['no marker\n', undefined]
  ])('reads %j', (stdout, expected) => {
    expect(parseResult(stdout)).toEqual(expected)
  })
})
