// A credential derived from the secrets bundle (the talosconfig), kept between runs only sealed: AES-256-GCM
// under a key derived from the bundle, in state-dir. Whoever shares the runner can read state-dir but not
// the talos-secrets input, so they can neither read the file nor plant one (the tag would not verify);
// whoever has the bundle can mint the same credential anyway. A sealed file of other inputs, older than
// its lifetime, or that does not open is ignored and made again.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'
import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { PhaseContext } from '../../phases/types.js'
import { keyed } from './rendered.js'

interface SealedFile {
  inputs: string
  at: number
  iv: string
  tag: string
  data: string
}

const fileOf = (ctx: PhaseContext, name: string): string => join(ctx.state.dir, `talos-${name}.sealed`)
const keyOf = (bundle: Buffer, name: string): Buffer =>
  Buffer.from(hkdfSync('sha256', bundle, 'turingpi-cluster-action', `talos ${name}`, 32))

export async function unseal(
  ctx: PhaseContext,
  name: string,
  bundle: Buffer,
  inputs: string,
  maxAgeMs: number
): Promise<string | undefined> {
  try {
    const f = JSON.parse(await readFile(fileOf(ctx, name), 'utf8')) as SealedFile
    if (f.inputs !== keyed(bundle, inputs)) return undefined
    const age = Date.now() - f.at
    if (!(age >= 0 && age < maxAgeMs)) return undefined
    const d = createDecipheriv('aes-256-gcm', keyOf(bundle, name), Buffer.from(f.iv, 'base64'))
    d.setAAD(Buffer.from(`${f.inputs}|${f.at}`))
    d.setAuthTag(Buffer.from(f.tag, 'base64'))
    return Buffer.concat([d.update(Buffer.from(f.data, 'base64')), d.final()]).toString('utf8')
  } catch {
    return undefined
  }
}

export async function seal(
  ctx: PhaseContext,
  name: string,
  bundle: Buffer,
  inputs: string,
  text: string
): Promise<void> {
  const iv = randomBytes(12)
  const at = Date.now()
  const sealedInputs = keyed(bundle, inputs)
  const c = createCipheriv('aes-256-gcm', keyOf(bundle, name), iv)
  c.setAAD(Buffer.from(`${sealedInputs}|${at}`))
  const data = Buffer.concat([c.update(text, 'utf8'), c.final()])
  const f: SealedFile = {
    inputs: sealedInputs,
    at,
    iv: iv.toString('base64'),
    tag: c.getAuthTag().toString('base64'),
    data: data.toString('base64')
  }
  const path = fileOf(ctx, name)
  await writeFile(`${path}.tmp`, JSON.stringify(f) + '\n', { mode: 0o600 })
  await rename(`${path}.tmp`, path)
}
