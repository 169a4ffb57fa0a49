import { describe, expect, test } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { bundleScript, parseBundle } from '../../../src/core/remote/bundle.js'

const run = (script: string): string => execFileSync('bash', ['-c', script], { encoding: 'utf8' })

describe('several read-only scripts in one exec', () => {
  test('each section keeps its own exit code, stdout and stderr, whatever bytes they hold', () => {
    const out = run(
      bundleScript({
        facts: `printf 'version=v1.31.3+k3s1\\nquote="it'"'"'s"\\tta\\u00e9\\n'`,
        broken: 'echo partial; echo "no such file" >&2; exit 3',
        empty: 'true'
      })
    )
    const sections = parseBundle(out)
    expect(Object.keys(sections)).toEqual(['facts', 'broken', 'empty'])
    expect(sections.facts).toMatchObject({ code: 0, stdout: `version=v1.31.3+k3s1\nquote="it's"\ttaé\n`, stderr: '' })
    expect(sections.broken).toMatchObject({ code: 3, stdout: 'partial\n', stderr: 'no such file\n' })
    expect(sections.empty).toMatchObject({ code: 0, stdout: '', stderr: '' })
    for (const s of Object.values(sections)) expect(s.ms).toBeGreaterThanOrEqual(0)
  })

  test("each section's time is its own, in milliseconds", () => {
    const sections = parseBundle(run(bundleScript({ slow: 'sleep 0.3', quick: 'true' })))
    expect(sections.slow!.ms).toBeGreaterThanOrEqual(250)
    expect(sections.slow!.ms).toBeLessThan(60_000)
    expect(sections.quick!.ms).toBeLessThan(sections.slow!.ms)
  })

  test('refuses a section name the document could not carry', () => {
    expect(() => bundleScript({ 'bad name': 'true' })).toThrow('section name "bad name" must match')
  })

  test('a stdout that is not the document is an error, not an empty observation', () => {
    expect(() => parseBundle('bash: mktemp: command not found\n')).toThrow()
  })
})
