#!/usr/bin/env node
// helm stand-in for the lab: upgrade --install, list, status, get values, uninstall and version against
// the emulated API. Releases are stored like Helm 3 stores them (Secrets sh.helm.release.v1.<name>.v<rev>
// of type helm.sh/release.v1, data.release = base64 of gzipped JSON, labels owner/name/status/version),
// so `kubectl get secrets` shows what a real cluster would. Charts come from the lab repositories in
// charts.mjs; nothing is downloaded.
import { readFileSync } from 'node:fs'
import { gunzipSync, gzipSync } from 'node:zlib'
import { parse } from 'yaml'
import { labRepos, renderChart } from './charts.mjs'
import { UsageError, apiRequest, discover, loadKubeconfig, parseArgs, pathOf, record, run } from './client.mjs'

const VERSION = process.env.HELM_STANDIN_VERSION || 'v3.19.0'
const BOOLS = ['install', 'create-namespace', 'wait', 'all-namespaces', 'keep-history', 'atomic']
const NS = { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false }
const SECRETS = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true }

const helmTime = (iso) =>
  iso
    .replace('T', ' ')
    .replace(/\.(\d+)Z$/, (_, f) => `.${f.padEnd(9, '0')} +0000 UTC`)
    .replace(/Z$/, ' +0000 UTC')

function fail(message) {
  return new UsageError(`Error: ${message}`)
}

async function releases(kc, namespace, name) {
  const selector = encodeURIComponent(`owner=helm${name ? `,name=${name}` : ''}`)
  const reply = await apiRequest(kc, 'GET', `${pathOf(SECRETS, namespace)}?labelSelector=${selector}`)
  if (reply.code === 401)
    throw new UsageError(
      'Error: Kubernetes cluster unreachable: the server has asked for the client to provide credentials'
    )
  if (reply.code >= 300) throw fail(reply.body?.message ?? `listing releases: HTTP ${reply.code}`)
  return (reply.body.items ?? []).map((s) => ({
    secret: s,
    release: JSON.parse(gunzipSync(Buffer.from(Buffer.from(s.data.release, 'base64').toString(), 'base64')).toString())
  }))
}

function latest(list) {
  return list.sort((a, b) => b.release.version - a.release.version)[0]
}

function secretFor(rel) {
  const packed = gzipSync(Buffer.from(JSON.stringify(rel))).toString('base64')
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'helm.sh/release.v1',
    metadata: {
      name: `sh.helm.release.v1.${rel.name}.v${rel.version}`,
      namespace: rel.namespace,
      labels: { name: rel.name, owner: 'helm', status: rel.info.status, version: String(rel.version) }
    },
    data: { release: Buffer.from(packed).toString('base64') }
  }
}

async function putObject(kc, resources, obj) {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion]
  const res = resources.find((r) => r.group === group && r.version === version && r.kind === obj.kind)
  if (!res)
    throw fail(
      `unable to build kubernetes objects from release manifest: resource mapping not found for name: "${obj.metadata.name}" namespace: "${obj.metadata.namespace ?? ''}" from "": no matches for kind "${obj.kind}" in version "${obj.apiVersion}"`
    )
  const path = pathOf(res, obj.metadata.namespace, obj.metadata.name)
  const existing = await apiRequest(kc, 'GET', path)
  const reply =
    existing.code === 404
      ? await apiRequest(kc, 'POST', pathOf(res, obj.metadata.namespace), obj)
      : await apiRequest(kc, 'PUT', path, {
          ...obj,
          metadata: { ...obj.metadata, resourceVersion: existing.body.metadata.resourceVersion }
        })
  if (reply.code >= 300) throw fail(reply.body?.message ?? `HTTP ${reply.code}`)
}

async function deleteObjects(kc, refs) {
  const resources = await discover(kc)
  for (const ref of refs) {
    const [group, version] = ref.apiVersion.includes('/') ? ref.apiVersion.split('/') : ['', ref.apiVersion]
    const res = resources.find((r) => r.group === group && r.version === version && r.kind === ref.kind)
    if (res) await apiRequest(kc, 'DELETE', pathOf(res, ref.namespace, ref.name))
  }
}

function seconds(text) {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(text ?? '')
  return m ? Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] ?? 's'] : 300
}

/** --wait: every Deployment/DaemonSet/StatefulSet of the release ready, within --timeout. */
async function waitReady(kc, objects, timeoutS) {
  const resources = await discover(kc)
  const deadline = Date.now() + timeoutS * 1000
  const workloads = objects.filter((o) => ['Deployment', 'DaemonSet', 'StatefulSet'].includes(o.kind))
  for (;;) {
    let pending = 0
    for (const o of workloads) {
      const res = resources.find((r) => r.group === 'apps' && r.kind === o.kind)
      const got = (await apiRequest(kc, 'GET', pathOf(res, o.metadata.namespace, o.metadata.name))).body
      const s = got.status ?? {}
      const ok =
        o.kind === 'DaemonSet'
          ? s.numberReady === s.desiredNumberScheduled
          : s.readyReplicas === (got.spec?.replicas ?? 1)
      if (!ok) pending++
    }
    if (!pending) return true
    if (Date.now() >= deadline) return false
    await new Promise((r) => setTimeout(r, 100))
  }
}

function chartSource(chart, repo) {
  const repos = labRepos()
  const entry = repos[chart]
  if (!entry) throw fail(`chart "${chart}" not found in ${repo} repository`)
  // The repository must be the chart's own, or that URL under a loopback mirror (<mirror>/<host><path>).
  const upstream = new URL(entry.repo)
  const suffix = `/${upstream.host}${upstream.pathname}`.replace(/\/+$/, '')
  const given = repo.replace(/\/+$/, '')
  const viaMirror = /^https?:\/\/127\./.test(given) && given.endsWith(suffix)
  if (given !== entry.repo.replace(/\/+$/, '') && !viaMirror)
    throw fail(`chart "${chart}" not found in ${repo} repository`)
  return entry
}

async function upgrade(kc, flags, positional) {
  const [name, chart] = positional
  if (!flags.install) throw fail('the lab stand-in supports only upgrade --install')
  const ns = flags.namespace || 'default'
  const entry = chartSource(chart, flags.repo ?? '')
  const version = flags.version ?? entry.versions[0]
  if (!entry.versions.includes(version))
    throw fail(`chart "${chart}" version "${version}" not found in ${flags.repo} repository`)
  const values = (Array.isArray(flags.values) ? flags.values : [flags.values].filter(Boolean)).reduce(
    (acc, file) => ({ ...acc, ...(parse(readFileSync(file, 'utf8')) ?? {}) }),
    {}
  )
  const nsReply = await apiRequest(kc, 'GET', pathOf(NS, undefined, ns))
  if (nsReply.code === 401)
    throw new UsageError(
      'Error: Kubernetes cluster unreachable: the server has asked for the client to provide credentials'
    )
  if (nsReply.code === 404) {
    if (!flags['create-namespace']) throw fail(`create: failed to create: namespaces "${ns}" not found`)
    await apiRequest(kc, 'POST', pathOf(NS), {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns, labels: { name: ns } }
    })
  }
  const history = await releases(kc, ns, name)
  const previous = latest(history)
  const objects = renderChart(chart, name, ns, values)
  // CRDs first, as Helm installs them before the templates that use them.
  const resourcesBefore = await discover(kc)
  for (const o of objects.filter((x) => x.kind === 'CustomResourceDefinition')) await putObject(kc, resourcesBefore, o)
  const resources = await discover(kc)
  for (const o of objects.filter((x) => x.kind !== 'CustomResourceDefinition')) await putObject(kc, resources, o)
  const refs = objects.map((o) => ({
    apiVersion: o.apiVersion,
    kind: o.kind,
    name: o.metadata.name,
    namespace: o.metadata.namespace
  }))
  if (previous) {
    const stale = (previous.release.objects ?? []).filter(
      (p) => !refs.some((r) => r.kind === p.kind && r.name === p.name && r.namespace === p.namespace)
    )
    await deleteObjects(kc, stale)
  }
  const now = new Date().toISOString()
  const ok = flags.wait ? await waitReady(kc, objects, seconds(flags.timeout)) : true
  const rel = {
    name,
    namespace: ns,
    version: (previous?.release.version ?? 0) + 1,
    info: {
      first_deployed: previous?.release.info.first_deployed ?? now,
      last_deployed: now,
      deleted: '',
      description: ok
        ? previous
          ? 'Upgrade complete'
          : 'Install complete'
        : 'Release "' + name + '" failed: context deadline exceeded',
      status: ok ? 'deployed' : 'failed'
    },
    chart: { metadata: { name: chart, version, appVersion: `v${version}` } },
    config: Object.keys(values).length ? values : null,
    manifest: objects
      .map((o) => `---\n# Source: ${chart}/templates/${o.kind.toLowerCase()}.yaml\n${JSON.stringify(o)}`)
      .join('\n'),
    objects: refs
  }
  if (previous) {
    const sup = secretFor({ ...previous.release, info: { ...previous.release.info, status: 'superseded' } })
    await apiRequest(kc, 'PUT', pathOf(SECRETS, ns, sup.metadata.name), sup)
  }
  const created = await apiRequest(kc, 'POST', pathOf(SECRETS, ns), secretFor(rel))
  if (created.code >= 300) throw fail(created.body?.message ?? `storing release: HTTP ${created.code}`)
  if (!ok) throw fail(`${previous ? 'UPGRADE' : 'INSTALLATION'} FAILED: context deadline exceeded`)
  process.stdout.write(
    previous
      ? `Release "${name}" has been upgraded. Happy Helming!\n`
      : `Release "${name}" does not exist. Installing it now.\n`
  )
  process.stdout.write(
    `NAME: ${name}\nLAST DEPLOYED: ${new Date(now).toUTCString().replace(/,/g, '')}\nNAMESPACE: ${ns}\nSTATUS: deployed\nREVISION: ${rel.version}\nTEST SUITE: None\n`
  )
  return 0
}

function row(rel) {
  return {
    name: rel.name,
    namespace: rel.namespace,
    revision: String(rel.version),
    updated: helmTime(rel.info.last_deployed),
    status: rel.info.status,
    chart: `${rel.chart.metadata.name}-${rel.chart.metadata.version}`,
    app_version: rel.chart.metadata.appVersion
  }
}

async function list(kc, flags) {
  const all = await releases(kc, flags['all-namespaces'] ? undefined : flags.namespace || 'default')
  const byName = new Map()
  for (const r of all) {
    const key = `${r.release.namespace}/${r.release.name}`
    if (!byName.has(key) || byName.get(key).release.version < r.release.version) byName.set(key, r)
  }
  const rows = [...byName.values()]
    .map((r) => row(r.release))
    .filter((r) => ['deployed', 'failed'].includes(r.status))
    .sort((a, b) => a.name.localeCompare(b.name))
  if (flags.output === 'json') process.stdout.write(JSON.stringify(rows) + '\n')
  else {
    process.stdout.write('NAME\tNAMESPACE\tREVISION\tUPDATED\tSTATUS\tCHART\tAPP VERSION\n')
    for (const r of rows)
      process.stdout.write(
        `${r.name}\t${r.namespace}\t${r.revision}\t${r.updated}\t${r.status}\t${r.chart}\t${r.app_version}\n`
      )
  }
  return 0
}

async function current(kc, flags, name) {
  const found = latest(await releases(kc, flags.namespace || 'default', name))
  if (!found) throw fail('release: not found')
  return found.release
}

async function status(kc, flags, positional) {
  const rel = await current(kc, flags, positional[0])
  const { objects: _objects, chart: _chart, ...shown } = rel
  if (flags.output === 'json') process.stdout.write(JSON.stringify(shown) + '\n')
  else
    process.stdout.write(
      `NAME: ${rel.name}\nLAST DEPLOYED: ${new Date(rel.info.last_deployed).toUTCString().replace(/,/g, '')}\nNAMESPACE: ${rel.namespace}\nSTATUS: ${rel.info.status}\nREVISION: ${rel.version}\nTEST SUITE: None\n`
    )
  return 0
}

async function getValues(kc, flags, positional) {
  const rel = await current(kc, flags, positional[0])
  if (flags.output === 'json') process.stdout.write(JSON.stringify(rel.config) + '\n')
  else process.stdout.write(`USER-SUPPLIED VALUES:\n${rel.config ? JSON.stringify(rel.config, null, 2) : 'null'}\n`)
  return 0
}

async function uninstall(kc, flags, positional) {
  const name = positional[0]
  const ns = flags.namespace || 'default'
  const history = await releases(kc, ns, name)
  const last = latest(history)
  if (!last) throw fail(`uninstall: Release not loaded: ${name}: release: not found`)
  await deleteObjects(kc, last.release.objects ?? [])
  for (const h of history) await apiRequest(kc, 'DELETE', pathOf(SECRETS, ns, h.secret.metadata.name))
  process.stdout.write(`release "${name}" uninstalled\n`)
  return 0
}

async function main(argv) {
  record('helm', argv)
  const [verb, ...rest] = argv
  if (verb === 'version') {
    process.stdout.write(
      `version.BuildInfo{Version:"${VERSION}", GitCommit:"lab", GitTreeState:"clean", GoVersion:"go1.24.7"}\n`
    )
    return 0
  }
  const sub = verb === 'get' ? rest.shift() : undefined
  const { flags, positional } = parseArgs(rest, BOOLS)
  const kc = loadKubeconfig(flags)
  if (verb === 'upgrade') return upgrade(kc, flags, positional)
  if (verb === 'list' || verb === 'ls') return list(kc, flags)
  if (verb === 'status') return status(kc, flags, positional)
  if (verb === 'get' && sub === 'values') return getValues(kc, flags, positional)
  if (verb === 'uninstall' || verb === 'delete') return uninstall(kc, flags, positional)
  throw new UsageError(
    `Error: unknown command "${verb}${sub ? ` ${sub}` : ''}" for "helm" (the lab stand-in supports upgrade --install, list, status, get values, uninstall, version)`
  )
}

run(main)
