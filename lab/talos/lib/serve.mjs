// The lab talosctl inside the lab process. A talosctl process costs this machine about 0.2 s of CPU to
// start node and load the stand-in, where the real Go binary starts in milliseconds; with four calls per
// node, a lab of 32 nodes spent its time starting stand-ins, not emulating nodes. So the release wrapper
// (binary.ts) hands its command line to this server over loopback when the lab runs one, and prints
// what comes back; the command itself is the same function the stand-in process runs (command.mjs).
//
// Wire format (one connection per call, NUL-terminated fields both ways):
//   request:  cwd, NAME=value…, "--", argc, argv…
//   response: exit code, stdout, stderr
// A connection closed before the answer (the action killed talosctl on a timeout) aborts the command.
import { createServer } from 'node:net'
import { runTalosctl } from './command.mjs'

/** Parses a complete request, or undefined while fields are missing. */
export function parseRequest(buffer) {
  const fields = buffer.toString('utf8').split('\0')
  fields.pop() // what follows the last NUL: an incomplete field, or ''
  const cwd = fields[0]
  const sep = fields.indexOf('--', 1)
  if (cwd === undefined || sep < 0 || fields.length < sep + 2) return undefined
  const argc = Number(fields[sep + 1])
  if (fields.length < sep + 2 + argc) return undefined
  const env = {}
  for (const pair of fields.slice(1, sep)) {
    const eq = pair.indexOf('=')
    if (eq > 0 && eq < pair.length - 1) env[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  return { cwd, env, argv: fields.slice(sep + 2, sep + 2 + argc) }
}

/** Starts the server on host (a loopback address) and an ephemeral port; `address` is host:port. */
export async function startTalosctlServer({ host = '127.0.0.1', run = runTalosctl } = {}) {
  const sockets = new Set()
  const server = createServer((socket) => {
    sockets.add(socket)
    const abort = new AbortController()
    let buffer = Buffer.alloc(0)
    let started = false
    socket.on('close', () => {
      sockets.delete(socket)
      abort.abort()
    })
    socket.on('error', () => {})
    socket.on('data', (chunk) => {
      if (started) return
      buffer = Buffer.concat([buffer, chunk])
      const request = parseRequest(buffer)
      if (!request) return
      started = true
      run(request.argv, { env: request.env, cwd: request.cwd, signal: abort.signal }).then(
        (r) => socket.end(`${r.code}\0${r.stdout}\0${r.stderr}\0`),
        (e) => socket.end(`1\0\0lab talosctl server: ${e?.message ?? e}\n\0`)
      )
    })
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, host, resolve)
  })
  const { port } = server.address()
  return {
    address: `${host}:${port}`,
    stop: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }
}
