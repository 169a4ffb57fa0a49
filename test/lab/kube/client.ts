// A tiny HTTPS client for tests of the lab API: trusts the API's CA, sends its bearer token.
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { KubeApi } from '../../../lab/kube/index.mjs'

export interface Reply {
  code: number
  body: any
}

export function call(
  api: Pick<KubeApi, 'url' | 'caPem' | 'token'>,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
  token = api.token
): Promise<Reply> {
  const url = new URL(path, api.url)
  const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
  const make = url.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const req = make(
      url,
      {
        method,
        ca: api.caPem,
        headers: { authorization: `Bearer ${token}`, ...(text ? { 'content-type': contentType } : {}) }
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const raw = Buffer.concat(chunks).toString()
          let parsed: unknown = raw
          try {
            parsed = JSON.parse(raw)
          } catch {}
          resolve({ code: res.statusCode ?? 0, body: parsed })
        })
      }
    )
    req.on('error', reject)
    req.end(text)
  })
}
