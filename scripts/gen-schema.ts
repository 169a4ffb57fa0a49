// Writes schema/cluster.schema.json from the zod model, so editors complete and check cluster files.
// `--check` only compares and exits 1 when the committed file is stale (CI runs it).
import { readFileSync, writeFileSync } from 'node:fs'
import { z } from 'zod'
import { clusterSchema } from '../src/core/config/model.js'

export const SCHEMA_PATH = new URL('../schema/cluster.schema.json', import.meta.url).pathname

export function generateSchema(): string {
  const body = z.toJSONSchema(clusterSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>
  delete body.$schema
  const schema = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://github.com/org/turingpi-cluster-action/blob/v1/schema/cluster.schema.json',
    title: 'Turing Pi cluster file (turingpi-cluster-action)',
    description:
      'A K3s-on-Armbian (kind: k3s) or Talos (kind: talos) cluster on Turing Pi 2.5 boards. Generated from src/core/config/model.ts; do not edit.',
    ...body
  }
  return JSON.stringify(schema, null, 2) + '\n'
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const wanted = generateSchema()
  if (process.argv.includes('--check')) {
    let current = ''
    try {
      current = readFileSync(SCHEMA_PATH, 'utf8')
    } catch {}
    if (current !== wanted) {
      console.error('schema/cluster.schema.json is stale: run `npm run schema` and commit it')
      process.exit(1)
    }
    console.log('schema/cluster.schema.json is current')
  } else {
    writeFileSync(SCHEMA_PATH, wanted)
    console.log(`wrote ${SCHEMA_PATH}`)
  }
}
