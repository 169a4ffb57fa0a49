// The stand-in's side of the lab Talos API (see node-api.mjs): one JSON POST per call, to the node's
// loopback address from the address map. Results mimic what talosctl's gRPC client reports.
import { request } from 'node:http'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { mapAddress } from './net.mjs'
import { caFingerprint } from './pki.mjs'

export class RpcError extends Error {
  constructor(code, desc) {
    super(`rpc error: code = ${code} desc = ${desc}`)
    this.code = code
  }
}

const unreachable = (ip, why) =>
  new RpcError('Unavailable', `connection error: desc = "transport: Error while dialing: dial tcp ${ip}:50000: ${why}"`)

/** Credentials from --talosconfig (or $TALOSCONFIG); undefined with --insecure. */
export function loadTalosconfig(path, contextName) {
  const doc = parse(readFileSync(path, 'utf8'))
  const ctx = doc?.contexts?.[contextName ?? doc?.context]
  if (!ctx)
    throw new Error(`failed to resolve configuration context: context "${contextName ?? doc?.context}" not found`)
  return ctx
}

export function call(ip, op, body, auth, env = process.env) {
  const to = mapAddress(ip, 50000, env)
  if (!to) return Promise.reject(unreachable(ip, 'connect: no route to host'))
  const headers = { 'content-type': 'application/json' }
  if (auth.insecure) headers['x-talos-insecure'] = '1'
  else headers['x-talos-ca'] = caFingerprint(auth.ca)
  const payload = JSON.stringify(body ?? {})
  return new Promise((resolve, reject) => {
    // agent: false, a connection per call as talosctl's process had: in the lab server, pooled keep-alive
    // connections would outlive a node API that stops (reboot, power-off).
    const req = request(
      { host: to.host, port: to.port, method: 'POST', path: `/${op}`, headers, timeout: 30_000, agent: false },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (d) => {
          text += d
        })
        res.on('end', () => {
          try {
            const answer = JSON.parse(text)
            if (answer.error) reject(new RpcError(answer.error.code, answer.error.desc))
            else resolve(answer)
          } catch (e) {
            reject(new RpcError('Internal', `unreadable answer: ${e.message}`))
          }
        })
      }
    )
    req.on('timeout', () => req.destroy(new Error('i/o timeout')))
    req.on('error', (e) =>
      reject(unreachable(ip, e.code === 'ECONNREFUSED' ? 'connect: connection refused' : e.message))
    )
    req.end(payload)
  })
}
