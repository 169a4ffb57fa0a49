// The lab's Kubernetes API: a small subset of the apiserver's REST interface over HTTPS (or HTTP) on a
// node's 6443, answering from the shared state file in dataDir. See README.md for exactly what it models.
import { randomBytes } from 'node:crypto'
import { createServer as createHttp } from 'node:http'
import { createServer as createHttps } from 'node:https'
import { handle } from './handlers.mjs'
import { deleteNode, registerNode, setReady } from './nodes.mjs'
import { status } from './objects.mjs'
import { allResources } from './resources.mjs'
import { readState, updateState } from './store.mjs'
import { servingCert } from './tls.mjs'

function send(res, code, body) {
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  res.writeHead(code, { 'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json' })
  res.end(text)
}

/** /api/v1/..., /apis/g/v/... → { group, version, plural, namespace, name } or a discovery answer. */
export function route(path) {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent)
  let group, version, rest
  if (parts[0] === 'api' && parts.length >= 2) [group, version, rest] = ['', parts[1], parts.slice(2)]
  else if (parts[0] === 'apis' && parts.length >= 3) [group, version, rest] = [parts[1], parts[2], parts.slice(3)]
  else return undefined
  if (rest.length === 0) return { group, version, discovery: true }
  if (rest[0] === 'namespaces' && rest.length >= 3)
    return { group, version, namespace: rest[1], plural: rest[2], name: rest[3], sub: rest[4] }
  return { group, version, plural: rest[0], name: rest[1], sub: rest[2] }
}

function discovery(state, path, r) {
  const resources = allResources(state)
  if (path === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] }
  if (path === '/apis') {
    const groups = [...new Set(resources.filter((x) => x.group).map((x) => x.group))].map((name) => {
      const versions = [...new Set(resources.filter((x) => x.group === name).map((x) => x.version))].map((v) => ({
        groupVersion: `${name}/${v}`,
        version: v
      }))
      return { name, versions, preferredVersion: versions[0] }
    })
    return { kind: 'APIGroupList', apiVersion: 'v1', groups }
  }
  if (r?.discovery) {
    const list = resources.filter((x) => x.group === r.group && x.version === r.version)
    if (!list.length) return undefined
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: r.group ? `${r.group}/${r.version}` : r.version,
      resources: list.map((x) => ({
        name: x.plural,
        singularName: x.kind.toLowerCase(),
        namespaced: x.namespaced,
        kind: x.kind,
        verbs: ['create', 'delete', 'get', 'list', 'patch', 'update']
      }))
    }
  }
  return undefined
}

/**
 * Starts the API. options: { host, port (0 = any), dataDir, tls (default true), token?, version? }.
 * The bearer token and Kubernetes version are kept in the state so every process agrees on them.
 */
export async function startKubeApi(options) {
  const { host, port, dataDir } = options
  const tls = options.tls !== false
  updateState(dataDir, (state) => {
    if (options.token) state.token = options.token
    else if (!state.token) state.token = `lab-${randomBytes(16).toString('hex')}`
    if (options.version) state.version = options.version
  })
  const cert = tls ? servingCert(dataDir, host) : undefined
  const listener = async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://lab')
      const chunks = []
      for await (const c of req) chunks.push(c)
      const body = Buffer.concat(chunks).toString('utf8')
      const token = readState(dataDir).token
      if (req.headers.authorization !== `Bearer ${token}`)
        return send(res, 401, status(401, 'Unauthorized', 'Unauthorized'))
      const path = url.pathname.replace(/\/+$/, '') || '/'
      if (['/readyz', '/livez', '/healthz'].includes(path)) return send(res, 200, 'ok')
      if (path === '/version') {
        const v = readState(dataDir).version
        const [major, minor] = v.replace(/^v/, '').split('.')
        return send(res, 200, { major, minor, gitVersion: v, platform: 'linux/arm64' })
      }
      const r = route(path)
      if (path === '/api' || path === '/apis' || r?.discovery) {
        const d = discovery(readState(dataDir), path, r)
        return d
          ? send(res, 200, d)
          : send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'))
      }
      if (!r || r.sub)
        return send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'))
      if (req.method === 'GET') {
        const out = handle(readState(dataDir), 'GET', r, url.searchParams, '', '')
        return send(res, out.code, out.body)
      }
      const out = updateState(dataDir, (state) =>
        handle(state, req.method ?? 'GET', r, url.searchParams, body, req.headers['content-type'])
      )
      return send(res, out.code, out.body)
    } catch (e) {
      return send(res, 500, status(500, 'InternalError', `Internal error occurred: ${e.message}`))
    }
  }
  const server = tls ? createHttps({ cert: cert.cert, key: cert.key }, listener) : createHttp(listener)
  const sockets = new Set()
  server.on(tls ? 'secureConnection' : 'connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  const bound = server.address().port
  return {
    url: `${tls ? 'https' : 'http'}://${host}:${bound}`,
    host,
    port: bound,
    dataDir,
    caPem: cert?.cert,
    token: readState(dataDir).token,
    registerNode: (node) => registerNode(dataDir, node),
    setReady: (name, ready, reason) => setReady(dataDir, name, ready, reason),
    deleteNode: (name) => deleteNode(dataDir, name),
    state: () => readState(dataDir),
    // graceful: as kube-apiserver on SIGTERM (a node's orderly reboot): stop accepting, close idle
    // keep-alive connections, let requests in flight finish (cut after 5 s). Otherwise every connection
    // dies at once (power cut).
    stop: (options = {}) =>
      new Promise((resolve) => {
        server.close(() => resolve())
        if (!options.graceful) for (const s of sockets) s.destroy()
        else {
          server.closeIdleConnections?.()
          setTimeout(() => {
            for (const s of sockets) s.destroy()
          }, 5000).unref()
        }
      })
  }
}
