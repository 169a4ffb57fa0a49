// What a child process of the action sees in its environment, read by the child itself.
import { describe, expect, test } from '@jest/globals'
import { createLocalExec } from '../../../src/adapters/exec/local-exec.js'

const runner = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: '/home/runner',
  TMPDIR: '/tmp/job',
  LANG: 'C.UTF-8',
  LC_ALL: 'C.UTF-8',
  TPI_LAB_DIR: '/tmp/lab',
  TPI_ADDRESS_MAP: '/tmp/lab/address-map.json',
  'INPUT_BMC-PASSWORD': 'turing-secret',
  'INPUT_SSH-PRIVATE-KEY': '-----BEGIN OPENSSH PRIVATE KEY-----',
  'INPUT_ARTIFACT-PASSPHRASE': 'correct horse',
  ACTIONS_RUNTIME_TOKEN: 'runtime-token',
  ACTIONS_RESULTS_URL: 'http://127.0.0.1:1/',
  GITHUB_TOKEN: 'ghs_token',
  TPI_BMC_PASSWORD: 'cli-secret',
  TPI_SSH_PRIVATE_KEY: 'cli-key',
  STATE_plaintext: '["/tmp/x"]',
  AWS_SECRET_ACCESS_KEY: 'workflow-secret',
  NODE_OPTIONS: '--require /tmp/evil.js'
}

async function envSeen(extra?: Record<string, string>): Promise<Record<string, string>> {
  const exec = createLocalExec(runner)
  const r = await exec(
    process.execPath,
    ['-e', 'process.stdout.write(JSON.stringify(process.env))'],
    extra ? { env: extra } : {}
  )
  expect(r.code).toBe(0)
  return JSON.parse(r.stdout) as Record<string, string>
}

describe('createLocalExec: children get an allow-list environment', () => {
  test('only the search path, home, temp, locale and the lab wiring come from the runner', async () => {
    expect(await envSeen()).toEqual({
      PATH: runner.PATH,
      HOME: '/home/runner',
      TMPDIR: '/tmp/job',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      TPI_LAB_DIR: '/tmp/lab',
      TPI_ADDRESS_MAP: '/tmp/lab/address-map.json'
    })
  })

  test('no input, runtime token, GitHub token, CLI secret or workflow secret reaches a child', async () => {
    const seen = JSON.stringify(await envSeen())
    for (const secret of [
      'turing-secret',
      'OPENSSH',
      'correct horse',
      'runtime-token',
      'ghs_token',
      'cli-secret',
      'cli-key',
      'workflow-secret',
      'evil'
    ])
      expect(seen).not.toContain(secret)
  })

  test('what a tool needs is passed per call; runner credentials are dropped even then', async () => {
    const seen = await envSeen({
      KUBECONFIG: '/tmp/job/kubeconfig',
      HELM_CACHE_HOME: '/tmp/job/helm/cache',
      ACTIONS_RUNTIME_TOKEN: 'x',
      'INPUT_BMC-PASSWORD': 'y'
    })
    expect(seen).toMatchObject({ KUBECONFIG: '/tmp/job/kubeconfig', HELM_CACHE_HOME: '/tmp/job/helm/cache' })
    expect(seen).not.toHaveProperty('ACTIONS_RUNTIME_TOKEN')
    expect(seen).not.toHaveProperty('INPUT_BMC-PASSWORD')
  })
})
