// The lab talosctl's etcd and reset commands: `etcd snapshot <path>`, `etcd members`, `service [id]`,
// `reset [--graceful] [--reboot] [--system-labels-to-wipe L]… [--wait] [--timeout]` and
// `bootstrap [--recover-from <file>] [--recover-skip-hash-check]`, with talosctl's flags and output lines
// (the disaster-recovery guide of Talos 1.x). Called from command.mjs with its io and helpers.
import { existsSync, readFileSync, writeFileSync, chmodSync } from 'node:fs'
import { call, RpcError } from './client.mjs'
import { snapshotInfo } from './etcd-ops.mjs'

const hex8 = (n) => (Number(n) >>> 0).toString(16).padStart(8, '0')
const infoLine = (i) =>
  `hash ${hex8(i.hash)}, revision ${i.revision}, total keys ${i.totalKey}, total size ${i.totalSize}`

/** `talosctl etcd snapshot|members`. h: { fail, auth, nodesOf, table }. */
export async function etcd(io, flags, positional, h) {
  const [sub, path] = positional
  const a = h.auth(io, flags)
  if (sub === 'snapshot') {
    if (!path) h.fail('accepts 1 arg(s), received 0')
    const node = h.nodesOf(flags, a)[0]
    let r
    try {
      r = await call(node, 'etcdSnapshot', {}, a, io.env)
    } catch (e) {
      if (e instanceof RpcError) h.fail(`error reading etcd snapshot: ${e.message}`)
      throw e
    }
    const data = Buffer.from(r.data, 'base64')
    const at = io.path(path)
    writeFileSync(at, data, { mode: 0o600 })
    chmodSync(at, 0o600)
    io.out(`etcd snapshot saved to "${path}" (${data.length} bytes)\nsnapshot info: ${infoLine(r.info)}\n`)
    return
  }
  if (sub === 'members' || sub === 'member') {
    const rows = []
    for (const node of h.nodesOf(flags, a)) {
      const r = await call(node, 'etcdMembers', {}, a, io.env)
      for (const m of r.members)
        rows.push([node, m.id, m.name, m.peerUrls.join(','), m.clientUrls.join(','), String(m.isLearner)])
    }
    io.out(h.table(['NODE', 'ID', 'HOSTNAME', 'PEER URLS', 'CLIENT URLS', 'LEARNER'], rows))
    return
  }
  h.fail(`unknown command "${sub ?? ''}" for "talosctl etcd" (lab stand-in: snapshot, members)`)
}

/** `talosctl service <id>`: one block per node, as talosctl prints a single service. */
export async function service(io, flags, positional, h) {
  const [id] = positional
  if (!id) h.fail('the lab talosctl lists one service at a time: talosctl service <id>')
  const a = h.auth(io, flags)
  for (const node of h.nodesOf(flags, a)) {
    const r = await call(node, 'service', { id }, a, io.env)
    const [first, ...rest] = r.events
    io.out(
      `NODE     ${node}\nID       ${r.id}\nSTATE    ${r.state}\nHEALTH   ${r.health}\nEVENTS   ${first ?? ''}\n` +
        rest.map((e) => `         ${e}\n`).join('')
    )
  }
}

function durationMs(text) {
  let ms = 0
  for (const m of String(text).matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g))
    ms += Number(m[1]) * { h: 3600e3, m: 60e3, s: 1e3, ms: 1 }[m[2]]
  return ms || 30 * 60e3
}

const answers = (node, a, env) =>
  call(node, 'version', {}, a, env).then(
    () => true,
    () => false
  )

/** `talosctl reset`: graceful by default; --wait (default true) follows the node until it is down (and up again with --reboot). */
export async function reset(io, flags, h) {
  const a = h.auth(io, flags)
  const body = {
    graceful: flags.graceful !== false,
    reboot: flags.reboot === true,
    systemLabelsToWipe: flags['system-labels-to-wipe'] ?? []
  }
  const nodes = h.nodesOf(flags, a)
  for (const node of nodes) {
    try {
      await call(node, 'reset', body, a, io.env)
    } catch (e) {
      if (e instanceof RpcError) h.fail(`error executing reset: ${e.message}`)
      throw e
    }
  }
  if (flags.wait === false) return
  const end = Date.now() + durationMs(flags.timeout ?? '30m')
  for (const node of nodes) {
    while (await answers(node, a, io.env)) {
      if (Date.now() > end) h.fail('context deadline exceeded')
      await new Promise((r) => setTimeout(r, 100))
    }
    if (body.reboot)
      while (!(await answers(node, { ...a, insecure: body.systemLabelsToWipe.length === 0 }, io.env))) {
        if (Date.now() > end) h.fail('context deadline exceeded')
        await new Promise((r) => setTimeout(r, 100))
      }
    io.err(`${node}: reset ${body.reboot ? 'and rebooted' : 'and powered off'}\n`)
  }
}

/** `talosctl bootstrap [--recover-from <snapshot>]`. */
export async function bootstrap(io, flags, h) {
  const a = h.auth(io, flags)
  const body = {}
  const from = flags['recover-from']
  if (from) {
    if (!existsSync(io.path(from))) h.fail(`open ${from}: no such file or directory`)
    let info
    try {
      info = await snapshotInfo(io.path(from))
    } catch (e) {
      h.fail(`error recovering from snapshot: ${String(e.stderr || e.message).trim()}`)
    }
    io.out(`recovering from snapshot "${from}": ${infoLine(info)}\n`)
    body.recoverFrom = readFileSync(io.path(from)).toString('base64')
    body.recoverSkipHashCheck = flags['recover-skip-hash-check'] === true
  }
  try {
    await call(h.nodesOf(flags, a)[0], 'bootstrap', body, a, io.env)
  } catch (e) {
    if (e instanceof RpcError) h.fail(`error executing bootstrap: ${e.message}`)
    throw e
  }
}
