// A minimal mirror for the Talos tests: prefix routes like lab/mirror's route(), 404 otherwise. Loopback only.
import { createServer, type Server } from 'node:http'
import type { MirrorRoutes, RouteHandler } from '../../../lab/talos/index.js'

export interface TestMirror extends MirrorRoutes {
  url: string
  requests: string[]
  close(): Promise<void>
}

export async function startTestMirror(): Promise<TestMirror> {
  const routes: { method: string; prefix: string; handler: RouteHandler }[] = []
  const requests: string[] = []
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`)
    const r = routes.find((x) => x.method === req.method && (req.url ?? '').startsWith(x.prefix))
    if (!r) {
      res.writeHead(404)
      res.end('not found')
      return
    }
    Promise.resolve(r.handler(req, res)).catch((e: Error) => {
      res.writeHead(500)
      res.end(e.message)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    route: (method, prefix, handler) => routes.push({ method, prefix, handler }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
