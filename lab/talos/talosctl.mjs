#!/usr/bin/env node
// The lab's talosctl: the commands the action runs, with talosctl's flags and output formats
// (real-samples C2–C8). Offline commands (gen, validate) work on files like the real client; node
// commands reach the emulated Talos API (lib/node-api.mjs) over loopback through the lab's address map.
// The version it claims comes from TALOSCTL_STANDIN_VERSION (set by the per-version wrapper the mirror
// serves, see index.ts).
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs'
import { join } from 'node:path'
import { parse, stringify } from 'yaml'
import { parseArgs } from './lib/cli.mjs'
import { call, loadTalosconfig, RpcError } from './lib/client.mjs'
import { joinConfig } from './lib/docs.mjs'
import { machineConfig, talosconfig } from './lib/generate.mjs'
import { applyPatch } from './lib/patch.mjs'
import { newSecretsBundle } from './lib/pki.mjs'
import { validateConfig } from './lib/validate.mjs'

const VERSION = process.env.TALOSCTL_STANDIN_VERSION || 'v1.9.0'
const SHA = 'lab00000'
const out = (s) => process.stdout.write(s)
const err = (s) => process.stderr.write(s)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

class Exit extends Error { constructor(code, message) { super(message); this.exitCode = code } }
const fail = (message) => { throw new Exit(1, message) }

function writeNew(path, text, force, mode = 0o600) {
  if (existsSync(path) && !force) fail(`file "${path}" already exists, use --force to overwrite`)
  writeFileSync(path, text, { mode })
  chmodSync(path, mode)
}

const yaml4 = (v) => stringify(v, { indent: 4, lineWidth: 0 })

function readPatch(arg) {
  // @file reads a file; anything else is an inline patch (YAML or JSON).
  if (arg.startsWith('@')) {
    const file = arg.slice(1)
    if (!existsSync(file)) fail(`open ${file}: no such file or directory`)
    return readFileSync(file, 'utf8')
  }
  return arg
}

function genConfig(flags, positional) {
  const [clusterName, endpoint] = positional
  if (!clusterName || !endpoint) fail('accepts 2 arg(s), received ' + positional.length)
  if (!/^https:\/\//.test(endpoint)) err(`WARNING: endpoint "${endpoint}" does not look like a URL, prefixing with https://\n`)
  const url = /^https?:\/\//.test(endpoint) ? endpoint : `https://${endpoint}`
  const secrets = flags['with-secrets'] ? parse(readFileSync(flags['with-secrets'], 'utf8')) : newSecretsBundle()
  const types = flags['output-types'] ?? ['controlplane', 'worker', 'talosconfig']
  const rendered = {}
  for (const role of types.filter((t) => t !== 'talosconfig')) {
    let config = {
      main: machineConfig({ role, clusterName, endpoint: url, secrets, installDisk: flags['install-disk'], installImage: flags['install-image'], talosVersion: flags['talos-version'] ? `${flags['talos-version']}.0`.replace(/^(v?\d+\.\d+\.\d+).*/, '$1') : VERSION, kubernetesVersion: flags['kubernetes-version'] }),
      typed: []
    }
    const patches = [...(flags['config-patch'] ?? []), ...((role === 'controlplane' ? flags['config-patch-control-plane'] : flags['config-patch-worker']) ?? [])]
    for (const p of patches) {
      try { config = applyPatch(config, readPatch(p)) } catch (e) { if (e instanceof Exit) throw e; fail(`failed to apply config patch ${p}: ${e.message}`) }
    }
    rendered[`${role}.yaml`] = joinConfig(config.main, config.typed)
  }
  if (types.includes('talosconfig')) rendered.talosconfig = yaml4(talosconfig(clusterName, secrets))
  const names = Object.keys(rendered)
  const dest = flags.output
  if (names.length === 1 && dest && dest !== '-') return writeNew(dest, rendered[names[0]], flags.force)
  if (names.length === 1 && dest === '-') return out(rendered[names[0]])
  const dir = dest ?? '.'
  mkdirSync(dir, { recursive: true })
  for (const n of names) {
    writeNew(join(dir, n), rendered[n], flags.force)
    err(`Created ${join(dir, n)}\n`)
  }
}

function nodesOf(flags, ctx) {
  const nodes = flags.nodes ?? ctx?.nodes ?? []
  if (nodes.length === 0) fail('nodes are not set for the command: please use `--nodes` flag or configuration file to set the nodes to run the command against')
  return nodes
}

function auth(flags) {
  if (flags.insecure) return { insecure: true }
  const path = flags.talosconfig ?? process.env.TALOSCONFIG
  if (!path) fail('failed to determine endpoints')
  return loadTalosconfig(path, flags.context)
}

function diskTable(node, disks) {
  const cols = ['NODE', 'NAMESPACE', 'TYPE', 'ID', 'VERSION', 'SIZE', 'READ ONLY', 'TRANSPORT', 'ROTATIONAL', 'WWID', 'MODEL', 'SERIAL']
  const rows = disks.map((d) => [node, 'runtime', 'Disk', d.id, '2', d.size, String(d.readOnly), d.transport ?? '', '', '', d.model ?? '', d.serial ?? ''])
  const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)))
  const line = (r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('   ').trimEnd()
  return [line(cols), ...rows.map(line)].join('\n') + '\n'
}

async function get(flags, positional) {
  const [type] = positional
  const a = auth(flags)
  for (const node of nodesOf(flags, a)) {
    if (type === 'disks' || type === 'disk') {
      const r = await call(node, 'disks', {}, a)
      out(diskTable(node, r.disks))
    } else if (type === 'machinestatus' || type === 'machinestatuses') {
      const r = await call(node, 'machinestatus', {}, a)
      const now = new Date().toISOString()
      const resource = {
        node,
        metadata: { namespace: 'runtime', type: 'MachineStatuses.runtime.talos.dev', id: 'machine', version: 1, owner: 'runtime.MachineStatusController', phase: 'running', created: now, updated: now },
        spec: { stage: r.stage, status: { ready: r.ready, unmetConditions: r.unmetConditions } }
      }
      out(flags.output === 'json' ? JSON.stringify(resource, null, 4) + '\n' : `NODE   NAMESPACE   TYPE            ID        VERSION   STAGE     READY\n${node}   runtime     MachineStatus   machine   1         ${r.stage}   ${r.ready}\n`)
    } else {
      fail(`resource type "${type}" is not supported by the lab talosctl`)
    }
  }
}

async function apply(flags) {
  if (!flags.file) fail('no filename supplied for configuration')
  const config = readFileSync(flags.file, 'utf8')
  const a = auth(flags)
  for (const node of nodesOf(flags, a)) {
    let r
    try {
      r = await call(node, 'apply', { config, mode: flags.mode ?? 'auto', dryRun: flags['dry-run'] === true }, a)
    } catch (e) {
      if (e instanceof RpcError) fail(`error applying new configuration: ${e.message}`)
      throw e
    }
    err(`${r.message}\n`)
  }
}

async function health(flags) {
  const a = auth(flags)
  const [node] = nodesOf(flags, a)
  const timeout = duration(flags['wait-timeout'] ?? '20m0s')
  const poll = Number(process.env.TALOSCTL_LAB_HEALTH_POLL_MS ?? 500)
  const end = Date.now() + timeout
  const body = { controlPlanes: flags['control-plane-nodes'] ?? [], workers: flags['worker-nodes'] ?? [] }
  let printed = false
  let current = 0
  let lastError
  for (;;) {
    let r
    try {
      r = await call(node, 'health', body, a)
    } catch (e) {
      r = { checks: [{ name: 'waiting for etcd to be healthy', error: e.message }], discovered: [] }
    }
    if (!printed && r.discovered.length) { out(`discovered nodes: ["${r.discovered.join('" "')}"]\n`); printed = true }
    while (current < r.checks.length) {
      const c = r.checks[current]
      if (lastError === undefined) out(`${c.name}: ...\n`)
      if (c.error) {
        if (c.error !== lastError) out(`${c.name}: ${c.error}\n`)
        lastError = c.error
        break
      }
      out(`${c.name}: OK\n`)
      lastError = undefined
      current++
    }
    if (current >= r.checks.length) return
    if (Date.now() >= end) fail('context deadline exceeded')
    await sleep(poll)
  }
}

function duration(text) {
  let ms = 0
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s)/g
  let m
  while ((m = re.exec(text))) ms += Number(m[1]) * { h: 3600e3, m: 60e3, s: 1e3, ms: 1 }[m[2]]
  if (ms === 0) fail(`invalid argument "${text}" for "--wait-timeout" flag: time: invalid duration "${text}"`)
  return ms
}

async function main(argv) {
  const { flags, positional } = parseArgs(argv)
  const [cmd, sub, ...rest] = positional
  if (cmd === 'version') {
    out(`Client:\n\tTag:         ${VERSION}\n\tSHA:         ${SHA}\n\tBuilt:       \n\tGo version:  go1.23.4\n\tOS/Arch:     linux/${process.arch === 'arm64' ? 'arm64' : 'amd64'}\n`)
    if (flags.client || flags.short) return
    const a = auth(flags)
    out('Server:\n')
    for (const node of nodesOf(flags, a)) {
      const r = await call(node, 'version', {}, a)
      out(`\tNODE:        ${node}\n\tTag:         ${r.tag}\n\tSHA:         ${SHA}\n\tBuilt:       \n\tGo version:  go1.23.4\n\tOS/Arch:     linux/arm64\n\tEnabled:     RBAC\n`)
    }
    return
  }
  if (cmd === 'gen' && sub === 'secrets') {
    const path = flags['output-file'] ?? 'secrets.yaml'
    return writeNew(path, yaml4(newSecretsBundle()), flags.force)
  }
  if (cmd === 'gen' && sub === 'config') return genConfig(flags, rest)
  if (cmd === 'validate') {
    if (!flags.config) fail('required flag(s) "config" not set')
    if (!['metal', 'cloud', 'container'].includes(flags.mode)) fail(`unknown mode "${flags.mode}"`)
    const problems = validateConfig(readFileSync(flags.config, 'utf8'), flags.mode)
    if (problems.length) fail(`${problems.length} error${problems.length > 1 ? 's' : ''} occurred:\n\t* ${problems.join('\n\t* ')}\n\n`)
    return out(`${flags.config} is valid for ${flags.mode} mode\n`)
  }
  if (cmd === 'get') return get(flags, [sub, ...rest])
  if (cmd === 'apply-config' || cmd === 'apply') return apply(flags)
  if (cmd === 'bootstrap') {
    const a = auth(flags)
    try { await call(nodesOf(flags, a)[0], 'bootstrap', {}, a) } catch (e) { if (e instanceof RpcError) fail(`error executing bootstrap: ${e.message}`); throw e }
    return
  }
  if (cmd === 'health') return health(flags)
  if (cmd === 'kubeconfig') {
    const a = auth(flags)
    const r = await call(nodesOf(flags, a)[0], 'kubeconfig', {}, a)
    const path = sub ?? 'kubeconfig'
    if (flags.merge !== false) fail('the lab talosctl only writes a fresh kubeconfig: pass --merge=false')
    return writeNew(path, r.kubeconfig, flags.force)
  }
  fail(`unknown command "${[cmd, sub].filter(Boolean).join(' ')}" for "talosctl" (lab stand-in)`)
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (e) => {
    err(`${e instanceof Exit || e instanceof RpcError ? e.message : `error: ${e.stack ?? e}`}\n`)
    process.exit(e instanceof Exit ? e.exitCode : 1)
  }
)
