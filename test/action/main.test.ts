import { describe, expect, it } from '@jest/globals'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseCommandFile, runAction } from '../helpers/run-bundle.js'

describe('the action bundle run as GitHub runs it', () => {
  it('validates the K3s example: exit 0, outputs and a summary', () => {
    const r = runAction('main', { command: 'validate', config: 'examples/k3s-cluster.yaml' })
    expect(r.code).toBe(0)
    expect(r.outputs['api-endpoint']).toBe('https://10.10.88.73:6443')
    expect(r.summary).toContain('turingpi-cluster validate: production — ok')
    expect(r.stdout).not.toContain('::error')
  })

  it('refuses a broken file with one ::error annotation per problem, at file:line:col, and exit 1', () => {
    const dir = runAction('main', { command: 'validate', config: 'missing.yaml' }).dir
    const file = join(dir, 'bad.yaml')
    writeFileSync(
      file,
      [
        'kind: k3s',
        'name: Bad_Name',
        'bmc: { tls: { insecure: true } }',
        'armbian_image: { path: a.img }',
        'control_plane: { node: 7, ip: 10.10.88.73, hostname: cp }',
        'colour: blue',
        ''
      ].join('\n')
    )
    const r = runAction('main', { command: 'validate', config: file })
    expect(r.code).toBe(1)
    const errors = r.stdout.split('\n').filter((l) => l.startsWith('::error file='))
    const rel = file.slice(process.cwd().length + 1)
    expect(errors.map((l) => l.replace(/,endLine=\d+|,endColumn=\d+/g, ''))).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          new RegExp(`^::error file=.*bad\\.yaml,line=2,col=1::name: "Bad_Name" is not a valid cluster name`)
        ),
        expect.stringMatching(/^::error file=.*bad\.yaml,line=5,col=18::control_plane\.node: slot 7 does not exist/),
        expect.stringMatching(/^::error file=.*bad\.yaml,line=6,col=1::colour: unknown key "colour"/),
        expect.stringMatching(
          /^::error file=.*bad\.yaml,line=4,col=18::armbian_image\.path: armbian_image\.path "a\.img" does not exist/
        )
      ])
    )
    expect(errors).toHaveLength(4)
    expect(rel.length).toBeGreaterThan(0)
    expect(r.stdout).toMatch(/::error::.*4 problem\(s\); nothing was changed/)
  })

  it('rejects an unknown command before reading the file', () => {
    const r = runAction('main', { command: 'explode' })
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(
      '::error::input command: "explode" is not one of validate, plan, deploy, drift, backup, restore, destroy'
    )
  })

  it('refuses a mirror with shell syntax at validate, before anything runs, and saves no plaintext list', () => {
    const r = runAction('main', {
      command: 'validate',
      config: 'examples/k3s-cluster.yaml',
      mirror: 'http://m#g;e touch /tmp/x;#'
    })
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(
      '::error::input mirror: mirror "http://m#g;e touch /tmp/x;#" is not a URL base of the form http(s)://host[:port][/path]'
    )
    expect(parseCommandFile(r.state)).toEqual({})
  })

  it("puts the run's temp dir, where every plaintext credential goes, in the post step's delete list", () => {
    const r = runAction('main', { command: 'validate', config: 'examples/k3s-cluster.yaml' })
    expect(r.code).toBe(0)
    expect(JSON.parse(parseCommandFile(r.state)['plaintext-files']!)).toContain(join(r.dir, 'turingpi-cluster'))
  })

  it('masks secret inputs before anything else is printed', () => {
    const r = runAction('main', {
      command: 'validate',
      config: 'examples/k3s-cluster.yaml',
      'bmc-password': 'hunter2-secret'
    })
    const firstMask = r.stdout.indexOf('::add-mask::hunter2-secret')
    expect(firstMask).toBeGreaterThanOrEqual(0)
    expect(r.stdout.replace('::add-mask::hunter2-secret', '')).not.toContain('hunter2-secret')
  })

  it('plans every phase for every node of the example when nothing is observed', () => {
    const r = runAction('main', { command: 'plan', config: 'examples/k3s-cluster.yaml' })
    expect(r.code).toBe(0)
    const plan = JSON.parse(r.outputs.plan) as { phase: string; node?: string }[]
    const phases = [...new Set(plan.map((s) => s.phase))]
    expect(phases).toEqual(['flash', 'boot', 'os-bootstrap', 'install', 'join', 'addons', 'npu'])
    expect(plan.filter((s) => s.phase === 'flash' && s.node).map((s) => s.node)).toEqual([
      'k3s-cp',
      'k3s-w1',
      'k3s-w2',
      'k3s-w3'
    ])
    // The BMC that cannot be observed is said once, in its own row.
    expect(plan.filter((s) => s.phase === 'flash' && !s.node)).toEqual([
      expect.objectContaining({
        action: 'blocked',
        reason: expect.stringMatching(/^cannot observe the BMC of board default/)
      })
    ])
    expect(r.summary).toContain('<th>Phase</th>')
  })
})

describe('the post step', () => {
  it('removes the plaintext files the main step recorded, even if main failed', () => {
    const r0 = runAction('main', { command: 'validate', config: 'missing.yaml' })
    const secretFile = join(r0.dir, 'kubeconfig')
    writeFileSync(secretFile, 'plaintext', { mode: 0o600 })
    const r = runAction('post', {}, { 'STATE_plaintext-files': JSON.stringify([secretFile]) })
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`removed ${secretFile}`)
    expect(() => writeFileSync(secretFile, '', { flag: 'wx' })).not.toThrow() // gone: exclusive create succeeds
  })

  it('parses the command file format it writes', () => {
    expect(parseCommandFile('a<<X\nline1\nline2\nX\nb<<Y\n\nY\n')).toEqual({ a: 'line1\nline2', b: '' })
  })
})
