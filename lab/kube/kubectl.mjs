#!/usr/bin/env node
// kubectl stand-in for the lab: apply (client- and server-side), get, delete, wait, label, cordon, uncordon and version
// against the emulated API named by the kubeconfig, with kubectl's output lines and error wording.
import { readFileSync } from 'node:fs'
import { parseAllDocuments } from 'yaml'
import {
  UsageError,
  apiRequest,
  discover,
  loadKubeconfig,
  parseArgs,
  pathOf,
  record,
  run,
  singular
} from './client.mjs'

const VERSION = process.env.KUBECTL_STANDIN_VERSION || 'v1.32.0'
const BOOLS = ['server-side', 'force-conflicts', 'all-namespaces', 'overwrite', 'ignore-not-found', 'client', 'wait']
const ALIASES = {
  no: 'nodes',
  ns: 'namespaces',
  po: 'pods',
  svc: 'services',
  deploy: 'deployments',
  ds: 'daemonsets',
  sts: 'statefulsets',
  cm: 'configmaps',
  sa: 'serviceaccounts',
  crd: 'customresourcedefinitions',
  crds: 'customresourcedefinitions',
  ep: 'endpoints',
  sc: 'storageclasses'
}

function serverError(reply, prefix = '') {
  const b = reply.body
  const reason = b?.reason ?? 'Unknown'
  return new UsageError(`Error from server (${reason}): ${prefix}${b?.message ?? JSON.stringify(b)}`)
}

/** "deployment", "deployments.apps", "deploy", "IPAddressPool" → a discovered resource. */
function resolveType(resources, type) {
  const lower = type.toLowerCase()
  const [name, ...groupParts] = lower.split('.')
  const group = groupParts.join('.')
  const wanted = ALIASES[name] ?? name
  const match = resources.filter(
    (r) =>
      (r.plural === wanted || r.kind.toLowerCase() === wanted || `${r.kind.toLowerCase()}s` === wanted) &&
      (!group || r.group === group)
  )
  if (!match.length) throw new UsageError(`error: the server doesn't have a resource type "${type}"`)
  return match[0]
}

function namespaceOf(flags) {
  return flags.namespace || 'default'
}

async function apply(kc, flags) {
  const file = flags.filename
  if (!file) throw new UsageError('error: must specify one of -f and -k')
  const source = file === '-' ? 'STDIN' : file
  const text = readFileSync(file === '-' ? 0 : file, 'utf8')
  const docs = parseAllDocuments(text)
    .map((d) => d.toJSON())
    .filter(Boolean)
  const resources = await discover(kc)
  for (const doc of docs) {
    const [group, version] = doc.apiVersion?.includes('/') ? doc.apiVersion.split('/') : ['', doc.apiVersion]
    const res = resources.find((r) => r.group === group && r.version === version && r.kind === doc.kind)
    const ns = doc.metadata?.namespace ?? flags.namespace ?? 'default'
    if (!res)
      throw new UsageError(
        `error: resource mapping not found for name: "${doc.metadata?.name}" namespace: "${res?.namespaced === false ? '' : ns}" from "${source}": no matches for kind "${doc.kind}" in version "${doc.apiVersion}"\nensure CRDs are installed first`
      )
    const name = doc.metadata.name
    const target = `${singular(res)}/${name}`
    if (flags['server-side']) {
      const manager = flags['field-manager'] ?? 'kubectl'
      const reply = await apiRequest(
        kc,
        'PATCH',
        `${pathOf(res, ns, name)}?fieldManager=${encodeURIComponent(manager)}${flags['force-conflicts'] ? '&force=true' : ''}`,
        doc,
        'application/apply-patch+yaml'
      )
      if (reply.code >= 300) throw serverError(reply)
      process.stdout.write(`${target} serverside-applied\n`)
      continue
    }
    const existing = await apiRequest(kc, 'GET', pathOf(res, ns, name))
    if (existing.code === 404) {
      const reply = await apiRequest(kc, 'POST', pathOf(res, ns), doc)
      if (reply.code >= 300) throw serverError(reply, `error when creating "${source}": `)
      process.stdout.write(`${target} created\n`)
    } else {
      const reply = await apiRequest(kc, 'PATCH', pathOf(res, ns, name), doc, 'application/merge-patch+json')
      if (reply.code >= 300) throw serverError(reply, `error when applying patch to "${source}": `)
      const same = reply.body.metadata?.resourceVersion === existing.body.metadata?.resourceVersion
      process.stdout.write(`${target} ${same ? 'unchanged' : 'configured'}\n`)
    }
  }
  return 0
}

function age(obj) {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(obj.metadata?.creationTimestamp ?? '')) / 1000))
  return Number.isFinite(s)
    ? s < 120
      ? `${s}s`
      : s < 7200
        ? `${Math.floor(s / 60)}m`
        : `${Math.floor(s / 3600)}h`
    : '<unknown>'
}

function table(res, items, allNs) {
  const rows = items.map((o) => {
    const base = allNs ? [o.metadata.namespace ?? ''] : []
    if (res.kind === 'Node') {
      const ready =
        (o.status?.conditions ?? []).find((c) => c.type === 'Ready')?.status === 'True' ? 'Ready' : 'NotReady'
      const roles =
        Object.keys(o.metadata.labels ?? {})
          .filter((l) => l.startsWith('node-role.kubernetes.io/'))
          .map((l) => l.split('/')[1])
          .sort()
          .join(',') || '<none>'
      return [o.metadata.name, ready, roles, age(o), o.status?.nodeInfo?.kubeletVersion ?? '']
    }
    return [...base, o.metadata.name, age(o)]
  })
  const head =
    res.kind === 'Node'
      ? ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION']
      : [...(allNs ? ['NAMESPACE'] : []), 'NAME', 'AGE']
  const all = [head, ...rows]
  const widths = head.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)))
  return (
    all
      .map((r) => r.map((c, i) => (i === r.length - 1 ? String(c) : String(c).padEnd(widths[i] + 3))).join(''))
      .join('\n') + '\n'
  )
}

async function get(kc, flags, positional) {
  const [type, name] = positional
  if (!type) throw new UsageError('error: You must specify the type of resource to get.')
  if (type.includes(',') && !name && flags.output === 'json') return getMany(kc, flags, type.split(','))
  const res = resolveType(await discover(kc), type)
  const allNs = flags['all-namespaces'] === true
  const ns = res.namespaced && !allNs ? namespaceOf(flags) : undefined
  const query = flags.selector ? `?labelSelector=${encodeURIComponent(flags.selector)}` : ''
  const reply = await apiRequest(kc, 'GET', `${pathOf(res, ns, name)}${name ? '' : query}`)
  if (reply.code === 404 && name && flags['ignore-not-found']) return 0
  if (reply.code >= 300) throw serverError(reply)
  const output = flags.output
  if (output === 'json') {
    const body = name
      ? reply.body
      : { apiVersion: 'v1', kind: 'List', items: reply.body.items, metadata: { resourceVersion: '' } }
    process.stdout.write(JSON.stringify(body, null, 4) + '\n')
  } else if (output === 'name') {
    const items = name ? [reply.body] : reply.body.items
    process.stdout.write(items.map((o) => `${singular(res)}/${o.metadata.name}\n`).join(''))
  } else {
    const items = name ? [reply.body] : reply.body.items
    if (!items.length) {
      process.stderr.write(ns ? `No resources found in ${ns} namespace.\n` : 'No resources found\n')
      return 0
    }
    process.stdout.write(table(res, items, allNs))
  }
  return 0
}

/** `get a,b -o json`: one List with the items of every type, in the order given, as kubectl prints it. */
async function getMany(kc, flags, types) {
  const api = await discover(kc)
  const resolved = types.map((t) => resolveType(api, t))
  const allNs = flags['all-namespaces'] === true
  const query = flags.selector ? `?labelSelector=${encodeURIComponent(flags.selector)}` : ''
  const items = []
  for (const res of resolved) {
    const ns = res.namespaced && !allNs ? namespaceOf(flags) : undefined
    const reply = await apiRequest(kc, 'GET', `${pathOf(res, ns)}${query}`)
    if (reply.code >= 300) throw serverError(reply)
    items.push(...reply.body.items)
  }
  process.stdout.write(
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items, metadata: { resourceVersion: '' } }, null, 4) + '\n'
  )
  return 0
}

async function del(kc, flags, positional) {
  let [type, name] = positional
  if (type?.includes('/')) [type, name] = type.split('/')
  const res = resolveType(await discover(kc), type)
  const reply = await apiRequest(kc, 'DELETE', pathOf(res, res.namespaced ? namespaceOf(flags) : undefined, name))
  if (reply.code === 404 && flags['ignore-not-found']) return 0
  if (reply.code >= 300) throw serverError(reply)
  process.stdout.write(`${singular(res)} "${name}" deleted\n`)
  return 0
}

function seconds(text, fallback) {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(text ?? '')
  if (!m) return fallback
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] ?? 's']
}

function conditionMet(obj, condition) {
  const [type, value = 'True'] = condition.split('=')
  return (obj.status?.conditions ?? []).some(
    (c) => c.type.toLowerCase() === type.toLowerCase() && c.status.toLowerCase() === value.toLowerCase()
  )
}

async function wait(kc, flags, positional) {
  const forWhat = flags.for ?? ''
  if (!forWhat.startsWith('condition=') && forWhat !== 'delete')
    throw new UsageError(`error: unrecognized condition: "${forWhat}"`)
  const [type, name] = positional[0]?.split('/') ?? []
  const res = resolveType(await discover(kc), type)
  const path = pathOf(res, res.namespaced ? namespaceOf(flags) : undefined, name)
  const deadline = Date.now() + seconds(flags.timeout, 30) * 1000
  for (;;) {
    const reply = await apiRequest(kc, 'GET', path)
    if (forWhat === 'delete' && reply.code === 404) {
      process.stdout.write(`${singular(res)}/${name} condition met\n`)
      return 0
    }
    if (reply.code === 404 && forWhat !== 'delete') throw serverError(reply)
    if (forWhat !== 'delete' && conditionMet(reply.body, forWhat.slice('condition='.length))) {
      process.stdout.write(`${singular(res)}/${name} condition met\n`)
      return 0
    }
    if (Date.now() >= deadline) {
      process.stderr.write(`error: timed out waiting for the condition on ${res.plural}/${name}\n`)
      return 1
    }
    await new Promise((r) => setTimeout(r, 100))
  }
}

async function label(kc, flags, positional) {
  let [type, name, ...pairs] = positional
  if (type?.includes('/')) {
    pairs = [name, ...pairs].filter(Boolean)
    ;[type, name] = type.split('/')
  }
  const res = resolveType(await discover(kc), type)
  const path = pathOf(res, res.namespaced ? namespaceOf(flags) : undefined, name)
  const current = await apiRequest(kc, 'GET', path)
  if (current.code >= 300) throw serverError(current)
  const labels = {}
  for (const p of pairs) {
    if (p.endsWith('-')) labels[p.slice(0, -1)] = null
    else {
      const [k, v] = p.split('=')
      const had = current.body.metadata.labels?.[k]
      if (had !== undefined && had !== v && !flags.overwrite)
        throw new UsageError(`error: '${k}' already has a value (${had}), and --overwrite is false`)
      labels[k] = v
    }
  }
  const reply = await apiRequest(kc, 'PATCH', path, { metadata: { labels } }, 'application/merge-patch+json')
  if (reply.code >= 300) throw serverError(reply)
  const same = reply.body.metadata.resourceVersion === current.body.metadata.resourceVersion
  process.stdout.write(`${singular(res)}/${name} ${same ? 'not labeled' : 'labeled'}\n`)
  return 0
}

/** kubectl cordon / uncordon NODE: spec.unschedulable through a merge patch, with kubectl's lines. */
async function cordon(kc, positional, on) {
  const [name] = positional
  const verb = on ? 'cordoned' : 'uncordoned'
  if (!name) throw new UsageError('error: resource(s) were provided, but no name was specified')
  const path = `/api/v1/nodes/${encodeURIComponent(name)}`
  const current = await apiRequest(kc, 'GET', path)
  if (current.code >= 300) throw serverError(current)
  if ((current.body.spec?.unschedulable === true) === on) {
    process.stdout.write(`node/${name} already ${verb}\n`)
    return 0
  }
  const reply = await apiRequest(
    kc,
    'PATCH',
    path,
    { spec: { unschedulable: on ? true : null } },
    'application/merge-patch+json'
  )
  if (reply.code >= 300) throw serverError(reply)
  process.stdout.write(`node/${name} ${verb}\n`)
  return 0
}

async function main(argv) {
  record('kubectl', argv)
  const [verb, ...rest] = argv
  const { flags, positional } = parseArgs(rest, BOOLS)
  if (verb === 'version' && flags.client) {
    process.stdout.write(
      flags.output === 'json'
        ? JSON.stringify({ clientVersion: { gitVersion: VERSION, platform: 'linux/amd64' } }, null, 2) + '\n'
        : `Client Version: ${VERSION}\nKustomize Version: v5.5.0\n`
    )
    return 0
  }
  const kc = loadKubeconfig(flags)
  switch (verb) {
    case 'apply':
      return apply(kc, flags)
    case 'get':
      return get(kc, flags, positional)
    case 'delete':
      return del(kc, flags, positional)
    case 'wait':
      return wait(kc, flags, positional)
    case 'label':
      return label(kc, flags, positional)
    case 'cordon':
    case 'uncordon':
      return cordon(kc, positional, verb === 'cordon')
    default:
      throw new UsageError(
        `error: unknown command "${verb}" for "kubectl" (the lab stand-in supports apply, get, delete, wait, label, cordon, uncordon, version --client)`
      )
  }
}

run(main)
