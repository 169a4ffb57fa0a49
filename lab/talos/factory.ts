// The lab Image Factory, served on the mirror under /factory.talos.dev/: POST /schematics stores the YAML
// and answers {"id"} computed as the real factory does (sha256 of the canonical yaml.v3 form, here: the
// action's own marshaller applied to the parsed body, so a body in another layout gets the same id);
// GET /image/<id>/<version>/metal-arm64.raw.xz answers a synthetic Talos disk (lab/images) compressed
// with xz, built once per schematic and version. Unknown schematics answer 404 like the factory.
import { createReadStream } from 'node:fs'
import { mkdir, stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import { parse } from 'yaml'
import { buildTalosImage } from '../images/index.js'
import { mustRun } from '../images/run-tool.js'
import { marshalSchematic, schematicId, type Schematic } from '../../src/core/kinds/talos/schematic.js'

export interface LabFactory {
  schematics: Map<string, string>
  /** Counts of requests, for tests (posts, image downloads). */
  hits: { schematics: number; images: number }
  handleSchematics(req: IncomingMessage, res: ServerResponse): Promise<void>
  handleImage(req: IncomingMessage, res: ServerResponse): Promise<void>
  /** The .xz image of a schematic and version, built once (what handleImage serves). */
  image(id: string, version: string): Promise<string>
}

const readBody = async (req: IncomingMessage): Promise<string> => {
  let text = ''
  for await (const chunk of req) text += String(chunk)
  return text
}

function toSchematic(body: string): Schematic {
  const doc = (parse(body) ?? {}) as {
    overlay?: { image?: string; name?: string }
    customization?: { systemExtensions?: { officialExtensions?: string[] } }
  }
  const overlay =
    doc.overlay?.image && doc.overlay.name ? { image: doc.overlay.image, name: doc.overlay.name } : undefined
  return { ...(overlay ? { overlay } : {}), extensions: doc.customization?.systemExtensions?.officialExtensions ?? [] }
}

export function createLabFactory(dir: string): LabFactory {
  const schematics = new Map<string, string>()
  const built = new Map<string, Promise<string>>()
  const hits = { schematics: 0, images: 0 }
  const send = (res: ServerResponse, status: number, body: string, type = 'text/plain'): void => {
    res.writeHead(status, { 'content-type': type })
    res.end(body)
  }
  const image = (id: string, version: string): Promise<string> => {
    const key = `${id}/${version}`
    let p = built.get(key)
    if (!p) {
      p = (async () => {
        const out = join(dir, id.slice(0, 16), version)
        await mkdir(out, { recursive: true })
        const raw = await buildTalosImage({ dir: out, version, schematicId: id })
        await mustRun('xz', ['-f', '-k', '-T1', '-0', raw.path])
        return `${raw.path}.xz`
      })()
      built.set(key, p)
      p.catch(() => built.delete(key))
    }
    return p
  }
  return {
    schematics,
    hits,
    image,
    async handleSchematics(req, res) {
      hits.schematics++
      if (req.method !== 'POST') return send(res, 405, 'method not allowed')
      try {
        // The factory hashes its own canonical form of what it parsed, not the bytes it received.
        const yaml = marshalSchematic(toSchematic(await readBody(req)))
        const id = schematicId(yaml)
        schematics.set(id, yaml)
        send(res, 201, JSON.stringify({ id }), 'application/json')
      } catch (e) {
        send(res, 400, `invalid schematic: ${(e as Error).message}`)
      }
    },
    async handleImage(req, res) {
      hits.images++
      const m = /\/image\/([0-9a-f]{64})\/(v[0-9][^/]*)\/metal-arm64\.raw\.xz$/.exec(req.url ?? '')
      if (!m) return send(res, 404, 'not found')
      const [, id, version] = m as unknown as [string, string, string]
      if (!schematics.has(id)) return send(res, 404, `schematic ${id} not found`)
      const path = await image(id, version)
      res.writeHead(200, { 'content-type': 'application/x-xz', 'content-length': String((await stat(path)).size) })
      createReadStream(path).pipe(res)
    }
  }
}
