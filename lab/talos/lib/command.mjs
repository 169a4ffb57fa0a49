// The lab talosctl as a function: the commands the action runs, with talosctl's flags and output formats
// (real-samples C2–C8). Offline commands (gen, validate) work on files like the real client; node
// commands reach the emulated Talos API (node-api.mjs) over loopback through the lab's address map.
// It runs in a process of its own (../talosctl.mjs) or inside the lab (serve.mjs), so it touches no
// process-wide state: output, environment and working directory are per call.
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parse, stringify } from 'yaml'
import { parseArgs } from './cli.mjs'
import { call, loadTalosconfig, RpcError } from './client.mjs'
import { joinConfig, splitConfig } from './docs.mjs'
import { sortKeys } from './diff.mjs'
import { machineConfig, talosconfig } from './generate.mjs'
import { applyPatch } from './patch.mjs'
import { newSecretsBundle } from './pki.mjs'
import { validateConfig } from './validate.mjs'
import * as etcdCli from './etcd-cli.mjs'
import { etcdStatusCommand, upgradeCommand, upgradeK8sCommand } from './upgrade.mjs'

const SHA = 'lab00000'

class Exit extends Error {
  constructor(code, message) {
    super(message)
    this.exitCode = code
  }
}
const fail = (message) => {
  throw new Exit(1, message)
}
const yaml4 = (v) => stringify(v, { indent: 4, lineWidth: 0 })

function sleep(ms, signal) {
  return new Promise((done) => {
    const t = setTimeout(done, ms)
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t)
        done()
      },
      { once: true }
    )
  })
}

/**
 * Runs one talosctl command line. env: TALOSCTL_STANDIN_VERSION (the version it claims), TALOSCONFIG,
 * TPI_ADDRESS_MAP / TPI_LAB_DIR (the address map), TALOSCTL_LAB_HEALTH_POLL_MS. Relative paths are taken
 * from cwd. signal (the caller went away) ends a waiting `health`.
 */
export async function runTalosctl(argv, { env = {}, cwd = '.', signal } = {}) {
  let stdout = ''
  let stderr = ''
  const io = {
    env,
    signal,
    version: env.TALOSCTL_STANDIN_VERSION || 'v1.9.0',
    out: (s) => {
      stdout += s
    },
    err: (s) => {
      stderr += s
    },
    path: (p) => resolve(cwd, p)
  }
  try {
    await main(io, argv)
    return { code: 0, stdout, stderr }
  } catch (e) {
    stderr += `${e instanceof Exit || e instanceof RpcError ? e.message : `error: ${e.stack ?? e}`}\n`
    return { code: e instanceof Exit ? e.exitCode : 1, stdout, stderr }
  }
}

function writeNew(io, path, text, force, mode = 0o600) {
  const at = io.path(path)
  if (existsSync(at) && !force) fail(`file "${path}" already exists, use --force to overwrite`)
  writeFileSync(at, text, { mode })
  chmodSync(at, mode)
}

function readPatch(io, arg) {
  // @file reads a file; anything else is an inline patch (YAML or JSON).
  if (arg.startsWith('@')) {
    const file = arg.slice(1)
    if (!existsSync(io.path(file))) fail(`open ${file}: no such file or directory`)
    return readFileSync(io.path(file), 'utf8')
  }
  return arg
}

function genConfig(io, flags, positional) {
  const [clusterName, endpoint] = positional
  if (!clusterName || !endpoint) fail('accepts 2 arg(s), received ' + positional.length)
  if (!/^https:\/\//.test(endpoint))
    io.err(`WARNING: endpoint "${endpoint}" does not look like a URL, prefixing with https://\n`)
  const url = /^https?:\/\//.test(endpoint) ? endpoint : `https://${endpoint}`
  const secrets = flags['with-secrets']
    ? parse(readFileSync(io.path(flags['with-secrets']), 'utf8'))
    : newSecretsBundle()
  const types = flags['output-types'] ?? ['controlplane', 'worker', 'talosconfig']
  const rendered = {}
  for (const role of types.filter((t) => t !== 'talosconfig')) {
    let config = {
      main: machineConfig({
        role,
        clusterName,
        endpoint: url,
        secrets,
        installDisk: flags['install-disk'],
        installImage: flags['install-image'],
        talosVersion: flags['talos-version']
          ? `${flags['talos-version']}.0`.replace(/^(v?\d+\.\d+\.\d+).*/, '$1')
          : io.version,
        kubernetesVersion: flags['kubernetes-version']
      }),
      typed: []
    }
    const patches = [
      ...(flags['config-patch'] ?? []),
      ...((role === 'controlplane' ? flags['config-patch-control-plane'] : flags['config-patch-worker']) ?? [])
    ]
    for (const p of patches) {
      try {
        config = applyPatch(config, readPatch(io, p))
      } catch (e) {
        if (e instanceof Exit) throw e
        fail(`failed to apply config patch ${p}: ${e.message}`)
      }
    }
    rendered[`${role}.yaml`] = joinConfig(config.main, config.typed)
  }
  if (types.includes('talosconfig')) rendered.talosconfig = yaml4(talosconfig(clusterName, secrets))
  const names = Object.keys(rendered)
  const dest = flags.output
  if (names.length === 1 && dest && dest !== '-') return writeNew(io, dest, rendered[names[0]], flags.force)
  if (names.length === 1 && dest === '-') return io.out(rendered[names[0]])
  const dir = dest ?? '.'
  mkdirSync(io.path(dir), { recursive: true })
  for (const n of names) {
    writeNew(io, join(dir, n), rendered[n], flags.force)
    io.err(`Created ${join(dir, n)}\n`)
  }
}

function nodesOf(flags, ctx) {
  const nodes = flags.nodes ?? ctx?.nodes ?? []
  if (nodes.length === 0)
    fail(
      'nodes are not set for the command: please use `--nodes` flag or configuration file to set the nodes to run the command against'
    )
  return nodes
}

function auth(io, flags) {
  if (flags.insecure) return { insecure: true }
  const path = flags.talosconfig ?? io.env.TALOSCONFIG
  if (!path) fail('failed to determine endpoints')
  return loadTalosconfig(io.path(path), flags.context)
}

/** talosctl's resource table: columns padded to the widest cell, three spaces apart, no trailing blanks. */
function table(cols, rows) {
  const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)))
  const line = (r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
      .join('   ')
      .trimEnd()
  return [line(cols), ...rows.map(line)].join('\n') + '\n'
}

/** hashicorp/go-multierror's text, as talosctl prints a multi-node failure. */
const multierror = (errors) =>
  `${errors.length} error${errors.length > 1 ? 's' : ''} occurred:\n\t* ${errors.join('\n\t* ')}\n\n`

const indent = (text, by) =>
  text
    .split('\n')
    .map((l) => (l ? ' '.repeat(by) + l : l))
    .join('\n')

/**
 * The MachineConfig resource as `get machineconfig -o yaml|json` prints it (v1.9: the spec is the config's
 * v1alpha1 document as a mapping; talosctl 1.12 and later print the whole config as a string instead).
 */
function machineConfigResource(node, r, output) {
  const main = splitConfig(r.config).main ?? {}
  const now = new Date().toISOString()
  const metadata = {
    namespace: 'config',
    type: 'MachineConfigs.config.talos.dev',
    id: 'v1alpha1',
    version: r.version,
    owner: null,
    phase: 'running',
    created: now,
    updated: now
  }
  if (output === 'json') return JSON.stringify(sortKeys({ metadata, spec: main, node }), null, 4) + '\n'
  const md = Object.entries(metadata)
    .map(([k, v]) => `    ${k}:${v === null ? '' : ` ${v}`}`)
    .join('\n')
  return `node: ${node}\nmetadata:\n${md}\nspec:\n${indent(yaml4(main), 4)}`
}

const RESOURCES = {
  disks: ['disks', 'disk'],
  extensions: ['extensions', 'extension', 'extensionstatus'],
  machinestatus: ['machinestatus', 'machinestatuses'],
  machineconfig: ['machineconfig', 'machineconfigs', 'mc']
}

/**
 * `get <type>` against every node of --nodes, one after another as talosctl does: the resource definition
 * is resolved on the first node (its failure ends the command), later nodes that fail are collected and
 * reported after the output of those that answered (exit 1). Tables have one header for all nodes.
 */
async function get(io, flags, positional) {
  const [type] = positional
  const kind = Object.keys(RESOURCES).find((k) => RESOURCES[k].includes(String(type).toLowerCase()))
  if (!kind) fail(`resource type "${type}" is not supported by the lab talosctl`)
  const a = auth(io, flags)
  const errors = []
  const rows = []
  const output = flags.output ?? 'table'
  const docs = []
  for (const [i, node] of nodesOf(flags, a).entries()) {
    let r
    try {
      r = await call(node, kind, {}, a, io.env)
    } catch (e) {
      if (i === 0 || !(e instanceof RpcError)) throw e
      errors.push(e.message)
      continue
    }
    if (kind === 'disks')
      rows.push(
        ...r.disks.map((d) => [
          node,
          'runtime',
          'Disk',
          d.id,
          '2',
          d.size,
          String(d.readOnly),
          d.transport ?? '',
          '',
          '',
          d.model ?? '',
          d.serial ?? ''
        ])
      )
    // ExtensionStatus resources: the spec's metadata name and version are the last two columns.
    else if (kind === 'extensions')
      rows.push(...r.extensions.map((e, n) => [node, 'runtime', 'ExtensionStatus', String(n), '1', e.name, e.version]))
    else if (kind === 'machineconfig') {
      if (output === 'table') rows.push([node, 'config', 'MachineConfig', 'v1alpha1', String(r.version)])
      else docs.push(machineConfigResource(node, r, output))
    } else {
      const now = new Date().toISOString()
      const resource = {
        node,
        metadata: {
          namespace: 'runtime',
          type: 'MachineStatuses.runtime.talos.dev',
          id: 'machine',
          version: 1,
          owner: 'runtime.MachineStatusController',
          phase: 'running',
          created: now,
          updated: now
        },
        spec: { stage: r.stage, status: { ready: r.ready, unmetConditions: r.unmetConditions } }
      }
      if (output === 'json') docs.push(JSON.stringify(resource, null, 4) + '\n')
      else rows.push([node, 'runtime', 'MachineStatus', 'machine', '1', r.stage, String(r.ready)])
    }
  }
  if (docs.length) io.out(output === 'yaml' ? docs.join('---\n') : docs.join(''))
  else if (output === 'table') {
    const cols = {
      disks: [
        'NODE',
        'NAMESPACE',
        'TYPE',
        'ID',
        'VERSION',
        'SIZE',
        'READ ONLY',
        'TRANSPORT',
        'ROTATIONAL',
        'WWID',
        'MODEL',
        'SERIAL'
      ],
      extensions: ['NODE', 'NAMESPACE', 'TYPE', 'ID', 'VERSION', 'NAME', 'VERSION'],
      machinestatus: ['NODE', 'NAMESPACE', 'TYPE', 'ID', 'VERSION', 'STAGE', 'READY'],
      machineconfig: ['NODE', 'NAMESPACE', 'TYPE', 'ID', 'VERSION']
    }[kind]
    io.out(table(cols, rows))
  }
  if (errors.length) fail(multierror(errors).trimEnd())
}

async function apply(io, flags) {
  if (!flags.file) fail('no filename supplied for configuration')
  const config = readFileSync(io.path(flags.file), 'utf8')
  const a = auth(io, flags)
  for (const node of nodesOf(flags, a)) {
    let r
    try {
      r = await call(
        node,
        'apply',
        { config, mode: flags.mode ?? 'auto', dryRun: flags['dry-run'] === true },
        a,
        io.env
      )
    } catch (e) {
      if (e instanceof RpcError) fail(`error applying new configuration: ${e.message}`)
      throw e
    }
    io.err(`${r.message}\n`)
  }
}

async function health(io, flags) {
  const a = auth(io, flags)
  const [node] = nodesOf(flags, a)
  const timeout = duration(flags['wait-timeout'] ?? '20m0s')
  const poll = Number(io.env.TALOSCTL_LAB_HEALTH_POLL_MS ?? 500)
  const end = Date.now() + timeout
  const body = { controlPlanes: flags['control-plane-nodes'] ?? [], workers: flags['worker-nodes'] ?? [] }
  let printed = false
  let current = 0
  let lastError
  for (;;) {
    let r
    try {
      r = await call(node, 'health', body, a, io.env)
    } catch (e) {
      r = { checks: [{ name: 'waiting for etcd to be healthy', error: e.message }], discovered: [] }
    }
    if (!printed && r.discovered.length) {
      io.out(`discovered nodes: ["${r.discovered.join('" "')}"]\n`)
      printed = true
    }
    while (current < r.checks.length) {
      const c = r.checks[current]
      if (lastError === undefined) io.out(`${c.name}: ...\n`)
      if (c.error) {
        if (c.error !== lastError) io.out(`${c.name}: ${c.error}\n`)
        lastError = c.error
        break
      }
      io.out(`${c.name}: OK\n`)
      lastError = undefined
      current++
    }
    if (current >= r.checks.length) return
    if (Date.now() >= end || io.signal?.aborted) fail('context deadline exceeded')
    await sleep(poll, io.signal)
  }
}

// The action never upgrades; drift's advice names this command, and lab tests use it to change what a
// node runs behind the action's back. The acknowledgement table is what --wait=false prints.
async function upgrade(io, flags) {
  if (!flags.image) fail('required flag(s) "image" not set')
  const a = auth(io, flags)
  const rows = []
  for (const node of nodesOf(flags, a)) {
    try {
      await call(node, 'upgrade', { image: flags.image }, a, io.env)
    } catch (e) {
      if (e instanceof RpcError) fail(`error performing upgrade: ${e.message}`)
      throw e
    }
    rows.push([
      node,
      'Upgrade request received',
      new Date()
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, ' +0000 UTC')
    ])
  }
  io.out(table(['NODE', 'ACK', 'STARTED'], rows))
}

function duration(text) {
  let ms = 0
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s)/g
  let m
  while ((m = re.exec(text))) ms += Number(m[1]) * { h: 3600e3, m: 60e3, s: 1e3, ms: 1 }[m[2]]
  if (ms === 0) fail(`invalid argument "${text}" for "--wait-timeout" flag: time: invalid duration "${text}"`)
  return ms
}

async function main(io, argv) {
  const { flags, positional } = parseArgs(argv)
  const [cmd, sub, ...rest] = positional
  if (cmd === 'version') {
    io.out(
      `Client:\n\tTag:         ${io.version}\n\tSHA:         ${SHA}\n\tBuilt:       \n\tGo version:  go1.23.4\n\tOS/Arch:     linux/${process.arch === 'arm64' ? 'arm64' : 'amd64'}\n`
    )
    if (flags.client || flags.short) return
    const a = auth(io, flags)
    io.out('Server:\n')
    const nodes = nodesOf(flags, a)
    const block = (node, r) =>
      `\tNODE:        ${node}\n\tTag:         ${r.tag}\n\tSHA:         ${SHA}\n\tBuilt:       \n\tGo version:  go1.23.4\n\tOS/Arch:     linux/arm64\n\tEnabled:     RBAC\n`
    if (nodes.length === 1) return io.out(block(nodes[0], await call(nodes[0], 'version', {}, a, io.env)))
    // Several nodes: apid on the endpoint fans the call out. The nodes that answer are printed, the others
    // come back as a warning (exit 0); only an endpoint that does not answer fails the whole command.
    const answers = await Promise.all(
      nodes.map((node) =>
        call(node, 'version', {}, a, io.env).then(
          (r) => ({ node, r }),
          (e) => {
            if (!(e instanceof RpcError)) throw e
            return { node, e }
          }
        )
      )
    )
    const answered = new Set(answers.filter((x) => x.r).map((x) => x.node))
    const endpoints = flags.endpoints ?? a.endpoints ?? []
    let through = endpoints.some((ep) => answered.has(ep))
    for (const ep of endpoints.filter((x) => !nodes.includes(x))) {
      if (through) break
      through = await call(ep, 'version', {}, a, io.env).then(
        () => true,
        () => false
      )
    }
    if (!through) fail(`error getting version: ${answers.find((x) => x.e)?.e.message ?? 'no endpoint answered'}`)
    for (const x of answers) if (x.r) io.out(block(x.node, x.r))
    const errors = answers.filter((x) => x.e).map((x) => `${x.node}: ${x.e.message}`)
    if (errors.length) io.err(`WARNING: ${multierror(errors)}`)
    return
  }
  if (cmd === 'gen' && sub === 'secrets')
    return writeNew(io, flags['output-file'] ?? 'secrets.yaml', yaml4(newSecretsBundle()), flags.force)
  if (cmd === 'gen' && sub === 'config') return genConfig(io, flags, rest)
  if (cmd === 'validate') {
    if (!flags.config) fail('required flag(s) "config" not set')
    if (!['metal', 'cloud', 'container'].includes(flags.mode)) fail(`unknown mode "${flags.mode}"`)
    const problems = validateConfig(readFileSync(io.path(flags.config), 'utf8'), flags.mode)
    if (problems.length)
      fail(`${problems.length} error${problems.length > 1 ? 's' : ''} occurred:\n\t* ${problems.join('\n\t* ')}\n\n`)
    return io.out(`${flags.config} is valid for ${flags.mode} mode\n`)
  }
  if (cmd === 'get') return get(io, flags, [sub, ...rest])
  if (cmd === 'apply-config' || cmd === 'apply') return apply(io, flags)
  const helpers = { fail, auth, nodesOf, table }
  if (cmd === 'bootstrap') return etcdCli.bootstrap(io, flags, helpers)
  if (cmd === 'service') return etcdCli.service(io, flags, [sub, ...rest], helpers)
  if (cmd === 'reset') return etcdCli.reset(io, flags, helpers)
  if (cmd === 'health') return health(io, flags)
  const upgradeKit = { call, auth, nodesOf, fail, table, sleep, duration, RpcError }
  if (cmd === 'upgrade') return flags.wait ? upgradeCommand(io, flags, upgradeKit) : upgrade(io, flags)
  if (cmd === 'etcd' && sub === 'status') return etcdStatusCommand(io, flags, upgradeKit)
  if (cmd === 'etcd') return etcdCli.etcd(io, flags, [sub, ...rest], helpers)
  if (cmd === 'upgrade-k8s') return upgradeK8sCommand(io, flags, upgradeKit)
  if (cmd === 'kubeconfig') {
    const a = auth(io, flags)
    const r = await call(nodesOf(flags, a)[0], 'kubeconfig', {}, a, io.env)
    if (flags.merge !== false) fail('the lab talosctl only writes a fresh kubeconfig: pass --merge=false')
    return writeNew(io, sub ?? 'kubeconfig', r.kubeconfig, flags.force)
  }
  fail(`unknown command "${[cmd, sub].filter(Boolean).join(' ')}" for "talosctl" (lab stand-in)`)
}
