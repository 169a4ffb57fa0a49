import { describe, expect, test } from '@jest/globals'
import { decide, factsFrom, untouched } from '../../../../src/core/kinds/k3s/decide.js'
import { k3sCluster } from './fixtures.js'

const node = k3sCluster().nodes[1]
const running = factsFrom({
  version: 'v1.31.3+k3s1',
  config_sha: 'c',
  token_sha: 't',
  images: 'v1.31.3+k3s1',
  unit: 'active',
  server_token: 'absent',
  started_with: 'c t'
})
const base = { node, isFirst: false, version: 'v1.31.3+k3s1', configSha: 'c', tokenSha: 't' }

describe('decide', () => {
  test('a running node with the wanted version, config and token is not touched', () => {
    expect(untouched(decide({ ...base, facts: running }))).toBe(true)
  })

  test.each([
    [
      'config differs',
      { configSha: 'other' },
      { restart: true, install: false, writeConfig: true },
      'config.yaml differs'
    ],
    ['token differs', { tokenSha: 'other' }, { restart: true, writeToken: true }, 'token file differs'],
    [
      'other version',
      { version: 'v1.32.0+k3s1' },
      { install: true, pushBinary: true, pushImages: true, restart: false },
      'k3s v1.31.3+k3s1 installed, v1.32.0+k3s1 wanted'
    ]
  ])('%s', (_name, change, expected, reason) => {
    const d = decide({ ...base, ...change, facts: running })
    expect(d).toMatchObject(expected)
    expect(d.reasons).toContain(reason)
  })

  test('a stopped unit is restarted, not reinstalled', () => {
    expect(decide({ ...base, facts: { ...running, unit: 'failed' } })).toMatchObject({
      install: false,
      restart: true,
      reasons: ['unit failed']
    })
  })

  test('files an earlier run wrote but never restarted k3s for (SSH dropped in between) restart it without being rewritten', () => {
    expect(decide({ ...base, facts: { ...running, started_with: 'old t' } })).toMatchObject({
      restart: true,
      install: false,
      writeConfig: false,
      writeToken: false,
      reasons: ['config.yaml or token file changed since k3s started']
    })
    expect(decide({ ...base, facts: { ...running, started_with: 'c old' } }).restart).toBe(true)
  })

  test('a node set up before the start was recorded is not restarted for lack of the record', () => {
    expect(untouched(decide({ ...base, facts: { ...running, started_with: 'none' } }))).toBe(true)
  })

  test('a blank node is forgotten by the server first unless it is the first server', () => {
    const blank = factsFrom({})
    expect(decide({ ...base, facts: blank })).toMatchObject({
      install: true,
      forgetFirst: true,
      reasons: ['k3s not installed', 'no config.yaml', 'no token file']
    })
    expect(decide({ ...base, isFirst: true, facts: blank }).forgetFirst).toBe(false)
  })

  test('without a wanted token the node keeps its token file', () => {
    expect(
      decide({
        node,
        isFirst: true,
        version: 'v1.31.3+k3s1',
        configSha: 'c',
        facts: { ...running, token_sha: 'whatever' }
      }).writeToken
    ).toBe(false)
  })
})
