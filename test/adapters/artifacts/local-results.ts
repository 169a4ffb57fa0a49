// A stand-in for the Actions results service (Twirp JSON + Azure block-blob PUTs) used until the lab's
// results service (lab/results) exists; same protocol, loopback only. Stores each blob's bytes.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface LocalResults {
  url: string
  env(): Record<string, string>
  blobs: Map<string, Buffer>
  stop(): Promise<void>
}

const b64url = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url')

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

export async function startLocalResults(): Promise<LocalResults> {
  const blocks = new Map<string, Buffer>()
  const blobs = new Map<string, Buffer>()
  let nextId = 1
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const data = await body(req)
    if (req.method === 'POST' && url.pathname.endsWith('/CreateArtifact')) {
      const { name } = JSON.parse(data.toString()) as { name: string }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ ok: true, signed_upload_url: `http://127.0.0.1:${port}/blob/${encodeURIComponent(name)}?sig=x` }))
    } else if (req.method === 'POST' && url.pathname.endsWith('/FinalizeArtifact')) {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ ok: true, artifact_id: String(nextId++) }))
    } else if (req.method === 'PUT' && url.pathname.startsWith('/blob/')) {
      const name = decodeURIComponent(url.pathname.slice('/blob/'.length))
      const comp = url.searchParams.get('comp')
      if (comp === 'block') blocks.set(`${name}/${url.searchParams.get('blockid')}`, data)
      else if (comp === 'blocklist') {
        const ids = [...data.toString().matchAll(/<Latest>([^<]*)<\/Latest>/g)].map((m) => m[1])
        blobs.set(name, Buffer.concat(ids.map((id) => blocks.get(`${name}/${id}`) ?? Buffer.alloc(0))))
      } else blobs.set(name, data)
      res.writeHead(201, { etag: '"0x1"', 'last-modified': new Date().toUTCString(), 'x-ms-request-id': '1', 'x-ms-version': '2024-11-04' })
      res.end()
    } else {
      res.writeHead(404)
      res.end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const url = `http://127.0.0.1:${port}/`
  return {
    url,
    blobs,
    env: () => ({
      ACTIONS_RUNTIME_TOKEN: `${b64url({ alg: 'none' })}.${b64url({ scp: 'Actions.Results:run-1:job-1' })}.sig`,
      ACTIONS_RESULTS_URL: url
    }),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
