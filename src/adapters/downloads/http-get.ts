// A streaming GET that follows redirects (GitHub release assets redirect to a CDN) with a connect/idle
// timeout. Downloads go to the internet or a mirror, never to a node, so no AddressMap here.
import { get as httpGet, type IncomingMessage } from 'node:http'
import { get as httpsGet } from 'node:https'
import { TpiError } from '../../core/errors.js'

export interface GetOptions {
  idleTimeoutMs?: number
  /** Extra trusted CA for https (tests' loopback upstream); the system store otherwise. */
  ca?: string
}

export async function openUrl(url: string, options: GetOptions = {}, redirects = 5): Promise<IncomingMessage> {
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const headers = { 'user-agent': 'turingpi-cluster-action' }
    const req = url.startsWith('https:')
      ? httpsGet(url, { headers, ...(options.ca ? { ca: options.ca } : {}) }, resolve)
      : httpGet(url, { headers }, resolve)
    req.setTimeout(idleTimeoutMs, () => req.destroy(new Error(`no data for ${idleTimeoutMs} ms`)))
    req.on('error', (e) =>
      reject(new TpiError('DownloadFailed', `download of ${url} failed: ${e.message}`, { cause: e }))
    )
  })
  const status = res.statusCode ?? 0
  if (status >= 300 && status < 400 && res.headers.location) {
    res.resume()
    if (redirects === 0) throw new TpiError('DownloadFailed', `download of ${url}: too many redirects`)
    const next = new URL(res.headers.location, url).toString()
    // A redirect may never downgrade: https stays https (an http mirror is allowed only from the start).
    if (url.startsWith('https:') && !next.startsWith('https:'))
      throw new TpiError(
        'InsecureRedirect',
        `download of ${url} redirected to ${next}; refusing a redirect from https to another scheme`
      )
    return openUrl(next, options, redirects - 1)
  }
  if (status !== 200) {
    res.resume()
    throw new TpiError('DownloadFailed', `download of ${url} answered HTTP ${status}, expected 200`)
  }
  return res
}

export async function getText(url: string, options: GetOptions = {}): Promise<string> {
  const res = await openUrl(url, options)
  const chunks: Buffer[] = []
  for await (const c of res) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
