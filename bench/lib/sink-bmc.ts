// A bmcd stand-in for the flash bench, run in its OWN process (so its memory is not counted against the
// client): login, flash start, a streaming multipart upload that is read and discarded (like a fast
// eMMC), and the status poll. Prints one JSON line {url, fingerprint, token} and serves until killed.
// Used when lab/bmc is not available; it has no faults and no delays.
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const dir = mkdtempSync(join(tmpdir(), 'sink-bmc-'))
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-subj', '/CN=Turing-Pi self signed', '-days', '1'], { stdio: 'ignore' })
const key = readFileSync(join(dir, 'k.pem'))
const cert = readFileSync(join(dir, 'c.pem'))
rmSync(dir, { recursive: true, force: true })
const token = 'b'.repeat(64)
let status: unknown = 'Ready'
let size = 0

const server = createServer({ key, cert }, (req, res) => {
  const url = new URL(req.url ?? '/', 'https://x')
  if (url.pathname === '/api/bmc/authenticate') {
    req.resume()
    res.writeHead(200, { 'x-auth-token': token })
    return res.end(JSON.stringify({ id: token }))
  }
  if (req.headers.authorization !== `Bearer ${token}`) {
    req.resume()
    res.writeHead(401)
    return res.end('no authorization header provided')
  }
  if (url.pathname.startsWith('/api/bmc/upload/')) {
    let bytes = 0
    req.on('data', (c: Buffer) => {
      bytes += c.length
      status = { Transferring: { id: 1, process_name: 'Node 1 os install service', size, cancelled: false, bytes_written: bytes } }
    })
    req.on('end', () => {
      status = { Done: [{ secs: 1, nanos: 0 }, size] }
      res.writeHead(200)
      res.end()
    })
    return
  }
  req.resume()
  const q = url.searchParams
  if (q.get('type') === 'flash' && q.get('opt') === 'set') {
    size = Number(q.get('length'))
    status = { Transferring: { id: 1, process_name: 'Node 1 os install service', size, cancelled: false, bytes_written: 0 } }
    res.writeHead(200, { 'content-type': 'text/plain' })
    return res.end(JSON.stringify({ handle: 1 }))
  }
  if (q.get('type') === 'flash') {
    res.writeHead(200, { 'content-type': 'text/plain' })
    return res.end(JSON.stringify(status))
  }
  if (q.get('type') === 'about') return res.end(JSON.stringify({ response: [{ result: { api: '1.1', bmcd_version: 'bench' } }] }))
  res.end(JSON.stringify({ response: [{ result: 'ok' }] }))
})
server.listen(0, '127.0.0.1', () => {
  const port = (server.address() as { port: number }).port
  process.stdout.write(JSON.stringify({ url: `https://127.0.0.1:${port}`, fingerprint: new X509Certificate(cert).fingerprint256, token }) + '\n')
})
