// What the kubectl and helm stand-ins share: the kubeconfig (--kubeconfig or KUBECONFIG), the lab address
// map (a cluster endpoint's LAN address → the simulated node's loopback address; anything else that is
// not loopback is refused, so a stand-in never sends a packet to a LAN), and JSON requests to the API.
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { join } from 'node:path'
import { parse } from 'yaml'

export class UsageError extends Error {}

/** Splits argv into positionals and flags (`--a=b`, `--a b`, `-n x`); booleans listed in `bools`. */
export function parseArgs(argv, bools = []) {
  const flags = {}
  const positional = []
  const short = { n: 'namespace', o: 'output', f: 'filename', l: 'selector', A: 'all-namespaces' }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '-') positional.push(a)
    else if (a.startsWith('--')) {
      const eq = a.indexOf('=')
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2)
      if (eq > 0) flags[name] = a.slice(eq + 1)
      else if (bools.includes(name)) flags[name] = true
      else flags[name] = argv[++i]
    } else if (/^-[A-Za-z]$/.test(a)) {
      const name = short[a[1]] ?? a[1]
      if (bools.includes(name)) flags[name] = true
      else flags[name] = argv[++i]
    } else positional.push(a)
  }
  return { flags, positional }
}

/** Appends one line per call to $TPI_LAB_DIR/kube-calls.jsonl (tests count helm upgrades with it). */
export function record(tool, argv) {
  const dir = process.env.TPI_LAB_DIR
  if (!dir) return
  mkdirSync(dir, { recursive: true })
  appendFileSync(join(dir, 'kube-calls.jsonl'), JSON.stringify({ tool, argv, at: new Date().toISOString() }) + '\n')
}

function addressMap() {
  const file =
    process.env.TPI_ADDRESS_MAP ||
    (process.env.TPI_LAB_DIR ? join(process.env.TPI_LAB_DIR, 'address-map.json') : undefined)
  if (!file) return {}
  try {
    return JSON.parse(readFileSync(file, 'utf8'))
  } catch {
    return {}
  }
}

const isLoopback = (host) => /^127\./.test(host) || host === 'localhost' || host === '::1'

/** host:port of the kubeconfig → where the lab really listens; throws for a non-loopback result. */
export function mapEndpoint(host, port) {
  const table = addressMap()
  const to = table[`${host}:${port}`] ?? table[host]
  let out = { host, port }
  if (to) {
    const m = /^(.*):(\d+)$/.exec(to)
    out = m ? { host: m[1], port: Number(m[2]) } : { host: to, port }
  }
  if (!isLoopback(out.host))
    throw new UsageError(
      `Unable to connect to the server: ${host}:${port} is not in the lab address map (${process.env.TPI_LAB_DIR ?? 'TPI_LAB_DIR unset'}); the lab stand-ins only reach loopback addresses`
    )
  return out
}

export function loadKubeconfig(flags) {
  const path = flags.kubeconfig || process.env.KUBECONFIG
  if (!path) throw new UsageError('error: no kubeconfig: pass --kubeconfig or set KUBECONFIG')
  let doc
  try {
    doc = parse(readFileSync(path, 'utf8'))
  } catch (e) {
    throw new UsageError(`error: error loading config file "${path}": ${e.message}`)
  }
  const ctxName = flags.context || doc['current-context']
  const ctx = (doc.contexts ?? []).find((c) => c.name === ctxName)?.context
  const cluster = (doc.clusters ?? []).find((c) => c.name === ctx?.cluster)?.cluster
  const user = (doc.users ?? []).find((u) => u.name === ctx?.user)?.user ?? {}
  if (!cluster?.server) throw new UsageError(`error: context "${ctxName}" in ${path} names no cluster with a server`)
  const url = new URL(cluster.server)
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80))
  return {
    scheme: url.protocol,
    host: url.hostname,
    port,
    ca: cluster['certificate-authority-data']
      ? Buffer.from(cluster['certificate-authority-data'], 'base64').toString()
      : undefined,
    token: user.token
  }
}

/** One JSON request to the API; resolves { code, body } (body parsed when JSON). */
export function apiRequest(kc, method, path, body, contentType = 'application/json') {
  const to = mapEndpoint(kc.host, kc.port)
  const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
  const make = kc.scheme === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const req = make(
      {
        host: to.host,
        port: to.port,
        path,
        method,
        ca: kc.ca,
        // The lab certificate cannot name every LAN address a cluster file uses; the CA is still checked.
        checkServerIdentity: () => undefined,
        headers: {
          ...(kc.token ? { authorization: `Bearer ${kc.token}` } : {}),
          ...(text ? { 'content-type': contentType } : {}),
          accept: 'application/json'
        }
      },
      (res) => {
        const chunks = []
        res.on('data', (c) => chunks.push(c))
        res.on('end', () => {
          const raw = Buffer.concat(chunks).toString()
          let parsed = raw
          try {
            parsed = JSON.parse(raw)
          } catch {}
          resolve({ code: res.statusCode, body: parsed })
        })
      }
    )
    req.on('error', (e) =>
      reject(
        new UsageError(
          `Unable to connect to the server: dial tcp ${kc.host}:${kc.port}: ${e.code === 'ECONNREFUSED' ? 'connect: connection refused' : e.message}`
        )
      )
    )
    req.end(text)
  })
}

/** All served resources, from discovery (what kubectl's RESTMapper learns). */
export async function discover(kc) {
  const out = []
  const core = await apiRequest(kc, 'GET', '/api/v1')
  if (core.code === 401) throw new UsageError('error: You must be logged in to the server (Unauthorized)')
  for (const r of core.body.resources ?? [])
    out.push({ group: '', version: 'v1', plural: r.name, kind: r.kind, namespaced: r.namespaced })
  const groups = (await apiRequest(kc, 'GET', '/apis')).body.groups ?? []
  for (const g of groups)
    for (const v of g.versions) {
      const list = await apiRequest(kc, 'GET', `/apis/${g.name}/${v.version}`)
      for (const r of list.body.resources ?? [])
        out.push({ group: g.name, version: v.version, plural: r.name, kind: r.kind, namespaced: r.namespaced })
    }
  return out
}

export function pathOf(res, namespace, name) {
  const base = res.group ? `/apis/${res.group}/${res.version}` : `/api/${res.version}`
  const ns = res.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ''
  return `${base}${ns}/${res.plural}${name ? `/${encodeURIComponent(name)}` : ''}`
}

/** kubectl's name for a resource in messages: "deployment.apps", "namespace". */
export const singular = (res) => `${res.kind.toLowerCase()}${res.group ? `.${res.group}` : ''}`
export const plural = (res) => `${res.plural}${res.group ? `.${res.group}` : ''}`

export function run(main) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code ?? 0),
    (e) => {
      process.stderr.write(`${e instanceof UsageError ? e.message : `lab stand-in crashed: ${e.stack ?? e}`}\n`)
      process.exit(1)
    }
  )
}
