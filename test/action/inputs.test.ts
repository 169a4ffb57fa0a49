// readSettings reads INPUT_* as @actions/core does; a bad mirror stops the run before anything else.
import { afterEach, describe, expect, test } from '@jest/globals'
import { InputError, readSettings } from '../../src/action/inputs.js'

const saved = { ...process.env }
afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
  Object.assign(process.env, saved)
})

describe('the mirror input', () => {
  test('a mirror with shell syntax is refused when the inputs are read, naming the input', () => {
    process.env.INPUT_COMMAND = 'validate'
    process.env.INPUT_MIRROR = 'http://m#g;e touch /tmp/x;#'
    expect(() => readSettings()).toThrow(InputError)
    expect(() => readSettings()).toThrow(/^input mirror: mirror "http:\/\/m#g;e touch \/tmp\/x;#" is not a URL base/)
  })

  test('a valid mirror is kept without its trailing slash', () => {
    process.env.INPUT_COMMAND = 'validate'
    process.env.INPUT_MIRROR = 'http://127.0.0.1:8080/'
    expect(readSettings().mirror).toBe('http://127.0.0.1:8080')
  })

  test('no digest catalog override unless the lab names one', () => {
    process.env.INPUT_COMMAND = 'validate'
    delete process.env.TPI_LAB_CATALOG
    expect(readSettings().digestCatalog).toBeUndefined()
  })
})

describe('the restore inputs', () => {
  test('backup-artifact-id is a whole number, with the repository and the masked token beside it', () => {
    process.env.INPUT_COMMAND = 'restore'
    process.env['INPUT_BACKUP-ARTIFACT-ID'] = '4711'
    process.env['INPUT_GITHUB-TOKEN'] = 'ghs_notarealtoken0123'
    process.env.GITHUB_REPOSITORY = 'org/homelab'
    const s = readSettings()
    expect([s.backupArtifactId, s.repository, s.secrets.githubToken]).toEqual([
      4711,
      'org/homelab',
      'ghs_notarealtoken0123'
    ])
  })

  test('an artifact id that is not a whole number is refused when the inputs are read, naming the input', () => {
    process.env.INPUT_COMMAND = 'restore'
    for (const bad of ['homelab-backup', '12.5', '-3', '0']) {
      process.env['INPUT_BACKUP-ARTIFACT-ID'] = bad
      expect(() => readSettings()).toThrow(new RegExp(`^input backup-artifact-id: "${bad}" is not an artifact id`))
    }
  })
})

describe('the node-concurrency input', () => {
  test('defaults to 4 nodes at once, takes a whole number from 1 to 64, and refuses anything else naming the input', () => {
    process.env.INPUT_COMMAND = 'validate'
    expect(readSettings().nodeConcurrency).toBe(4)
    process.env['INPUT_NODE-CONCURRENCY'] = '1'
    expect(readSettings().nodeConcurrency).toBe(1)
    for (const bad of ['0', '2.5', 'all', '65']) {
      process.env['INPUT_NODE-CONCURRENCY'] = bad
      expect(() => readSettings()).toThrow(`input node-concurrency: "${bad}" is not a whole number from 1 to 64`)
    }
  })
})
