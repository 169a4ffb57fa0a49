import { describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { generateSchema, SCHEMA_PATH } from '../../../scripts/gen-schema.js'

describe('JSON Schema of the cluster file', () => {
  it('is committed as generated from the model (run `npm run schema` when this fails)', () => {
    expect(readFileSync(SCHEMA_PATH, 'utf8')).toBe(generateSchema())
  })

  it('describes both kinds and refuses unknown keys, so editors flag typos', () => {
    const schema = JSON.parse(generateSchema())
    const kinds = schema.oneOf.map((s: { properties: { kind: { const: string } } }) => s.properties.kind.const)
    expect(kinds).toEqual(['k3s', 'talos'])
    for (const s of schema.oneOf) expect(s.additionalProperties).toBe(false)
    expect(schema.oneOf[0].properties.boot_timeout.default).toBe(300)
  })
})
