// A streaming GET that follows redirects (GitHub release assets redirect to a CDN) with a connect/idle
// timeout. Downloads go to the internet or a mirror, never to a node, so no AddressMap here.
import { get as httpGet, type IncomingMessage } from 'node:http'
import { get as httpsGet } from 'node:https'
import { TpiError } from '../../core/errors.js'

export async function openUrl(url: string, idleTimeoutMs = 60_000, redirects = 5): Promise<IncomingMessage> {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = (url.startsWith('https:') ? httpsGet : httpGet)(url, { headers: { 'user-agent': 'turingpi-cluster-action' } }, resolve)
    req.setTimeout(idleTimeoutMs, () => req.destroy(new Error(`no data for ${idleTimeoutMs} ms`)))
    req.on('error', (e) => reject(new TpiError('DownloadFailed', `download of ${url} failed: ${e.message}`, { cause: e })))
  })
  const status = res.statusCode ?? 0
  if (status >= 300 && status < 400 && res.headers.location) {
    res.resume()
    if (redirects === 0) throw new TpiError('DownloadFailed', `download of ${url}: too many redirects`)
    return openUrl(new URL(res.headers.location, url).toString(), idleTimeoutMs, redirects - 1)
  }
  if (status !== 200) {
    res.resume()
    throw new TpiError('DownloadFailed', `download of ${url} answered HTTP ${status}, expected 200`)
  }
  return res
}

export async function getText(url: string): Promise<string> {
  const res = await openUrl(url)
  const chunks: Buffer[] = []
  for await (const c of res) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
