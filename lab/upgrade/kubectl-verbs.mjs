// The verbs a rolling upgrade needs from `k3s kubectl` in the lab, on the same object store the rest of
// the stand-in reads: cordon, uncordon, drain (evictions that honour PodDisruptionBudgets, DaemonSet pods
// skipped only with --ignore-daemonsets, pods without a controller refused without --force, a global
// --timeout) and `get pdb` with the status the disruption controller would compute. Messages follow
// kubectl 1.31's wording. Returns undefined for any other command, so the caller goes on.
import { readState, updateState } from '../kube/store.mjs'

const nodeKey = (name) => `/nodes//${name}`
const out = (s) => process.stdout.write(s)
const err = (s) => process.stderr.write(s)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

function parseArgs(args) {
  const positional = []
  const flags = {}
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    if (a === '-n' || a === '--namespace' || a === '-o' || a === '--output') flags[a.replace(/^-+/, '')[0]] = args[++i]
    else if (a.startsWith('--') && a.includes('=')) flags[a.slice(2, a.indexOf('='))] = a.slice(a.indexOf('=') + 1)
    else if (a.startsWith('-')) flags[a.replace(/^-+/, '')] = true
    else positional.push(a)
  }
  return { positional, flags }
}

/** kubectl's duration: 90s, 2m, 1m30s; 0 or absent = no limit. */
function duration(text) {
  if (!text || text === '0') return 0
  let ms = 0
  for (const [, n, unit] of String(text).matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g))
    ms += Number(n) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit]
  return ms
}

const matches = (selector, labels) => Object.entries(selector ?? {}).every(([k, v]) => (labels ?? {})[k] === v)
const healthy = (pod) => pod.status?.phase === 'Running' && !pod.metadata.deletionTimestamp

/** The status the disruption controller keeps on a budget: how many of its pods may go now. */
export function budgetStatus(state, pdb) {
  const pods = Object.entries(state.objects)
    .filter(([k]) => k.startsWith(`/pods/${pdb.metadata.namespace}/`))
    .map(([, p]) => p)
    .filter((p) => matches(pdb.spec?.selector?.matchLabels, p.metadata.labels))
  const current = pods.filter(healthy).length
  const expected = pods.length
  const desired =
    pdb.spec?.minAvailable !== undefined
      ? Number(pdb.spec.minAvailable)
      : Math.max(0, expected - Number(pdb.spec?.maxUnavailable ?? 0))
  return {
    currentHealthy: current,
    desiredHealthy: desired,
    expectedPods: expected,
    disruptionsAllowed: Math.max(0, current - desired)
  }
}

function setUnschedulable(dataDir, name, on) {
  return updateState(dataDir, (state) => {
    const node = state.objects[nodeKey(name)]
    if (!node) return 'missing'
    const was = node.spec?.unschedulable === true
    if (was === on) return 'already'
    node.spec = { ...(node.spec ?? {}) }
    if (on) node.spec.unschedulable = true
    else delete node.spec.unschedulable
    state.resourceVersion += 1
    node.metadata.resourceVersion = String(state.resourceVersion)
    return 'done'
  })
}

function cordonVerb(dataDir, name, on) {
  const r = setUnschedulable(dataDir, name, on)
  if (r === 'missing') {
    err(`Error from server (NotFound): nodes "${name}" not found\n`)
    return 1
  }
  out(`node/${name} ${r === 'already' ? 'already ' : ''}${on ? 'cordoned' : 'uncordoned'}\n`)
  return 0
}

/** One eviction: refused (429) when a budget of the pod allows no disruption; else the pod moves on. */
function evict(dataDir, key) {
  return updateState(dataDir, (state) => {
    const pod = state.objects[key]
    if (!pod) return 'gone'
    const budgets = Object.entries(state.objects)
      .filter(([k]) => k.startsWith(`/poddisruptionbudgets/${pod.metadata.namespace}/`))
      .map(([, b]) => b)
      .filter((b) => matches(b.spec?.selector?.matchLabels, pod.metadata.labels))
    if (budgets.some((b) => budgetStatus(state, b).disruptionsAllowed < 1)) return 'blocked'
    // The controller that owns it starts a replacement on a schedulable Ready node, if there is one.
    const target = Object.entries(state.objects)
      .filter(([k, n]) => k.startsWith('/nodes//') && n.metadata.name !== pod.spec?.nodeName && !n.spec?.unschedulable)
      .map(([, n]) => n)
      .find((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
    pod.spec = { ...(pod.spec ?? {}) }
    if (target) pod.spec.nodeName = target.metadata.name
    else {
      delete pod.spec.nodeName
      pod.status = { phase: 'Pending' }
    }
    state.resourceVersion += 1
    return 'evicted'
  })
}

async function drainVerb(dataDir, name, flags) {
  const timeoutMs = duration(flags.timeout)
  const deadline = timeoutMs ? Date.now() + timeoutMs : Infinity
  const c = setUnschedulable(dataDir, name, true)
  if (c === 'missing') {
    err(`Error from server (NotFound): nodes "${name}" not found\n`)
    return 1
  }
  out(`node/${name} ${c === 'already' ? 'already ' : ''}cordoned\n`)
  const state = readState(dataDir)
  const onNode = Object.entries(state.objects).filter(([k, p]) => k.startsWith('/pods/') && p.spec?.nodeName === name)
  const ownerKind = (p) => p.metadata.ownerReferences?.[0]?.kind
  const daemons = onNode.filter(([, p]) => ownerKind(p) === 'DaemonSet')
  const bare = onNode.filter(([, p]) => !ownerKind(p))
  const problems = []
  if (daemons.length && !flags['ignore-daemonsets'])
    problems.push(
      `cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): ${daemons.map(([, p]) => `${p.metadata.namespace}/${p.metadata.name}`).join(', ')}`
    )
  if (bare.length && !flags.force)
    problems.push(
      `cannot delete Pods that declare no controller (use --force to override): ${bare.map(([, p]) => `${p.metadata.namespace}/${p.metadata.name}`).join(', ')}`
    )
  if (problems.length) {
    err(
      `error: unable to drain node "${name}" due to error: [${problems.join(', ')}], continuing command...\nThere are pending nodes to be drained:\n ${name}\n${problems.map((p) => `error: ${p}`).join('\n')}\n`
    )
    return 1
  }
  if (daemons.length)
    err(
      `Warning: ignoring DaemonSet-managed Pods: ${daemons.map(([, p]) => `${p.metadata.namespace}/${p.metadata.name}`).join(', ')}\n`
    )
  let pending = onNode.filter(([, p]) => ownerKind(p) !== 'DaemonSet')
  for (const [, p] of pending) out(`evicting pod ${p.metadata.namespace}/${p.metadata.name}\n`)
  for (;;) {
    const left = []
    for (const [key, p] of pending) {
      const r = evict(dataDir, key)
      if (r === 'blocked') {
        left.push([key, p])
        err(
          `error when evicting pods/"${p.metadata.name}" -n "${p.metadata.namespace}" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.\n`
        )
      } else out(`pod/${p.metadata.name} evicted\n`)
    }
    pending = left
    if (!pending.length) break
    if (Date.now() + 5000 > deadline) {
      await sleep(Math.max(0, deadline - Date.now()))
      const why = pending
        .map(
          ([, p]) =>
            `error when evicting pods/"${p.metadata.name}" -n "${p.metadata.namespace}": global timeout reached: ${flags.timeout}`
        )
        .join(', ')
      err(
        `There are pending pods in node "${name}" when an error occurred: [${why}]\nerror: unable to drain node "${name}" due to error: [${why}], continuing command...\nThere are pending nodes to be drained:\n ${name}\nerror: [${why}]\n`
      )
      return 1
    }
    await sleep(5000)
  }
  out(`node/${name} drained\n`)
  return 0
}

function getPdbs(dataDir, flags, namespace) {
  const state = readState(dataDir)
  const prefix = flags.A || flags['all-namespaces'] ? '/poddisruptionbudgets/' : `/poddisruptionbudgets/${namespace}/`
  const items = Object.entries(state.objects)
    .filter(([k]) => k.startsWith(prefix))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, b]) => ({ ...b, status: { ...(b.status ?? {}), ...budgetStatus(state, b) } }))
  out(JSON.stringify({ apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } }, null, 4) + '\n')
  return 0
}

/** Handles the upgrade verbs; undefined for anything else. */
export async function upgradeKubectl(dataDir, args) {
  const { positional, flags } = parseArgs(args)
  const [verb, what, name] = positional
  if (verb === 'cordon' && what) return cordonVerb(dataDir, what, true)
  if (verb === 'uncordon' && what) return cordonVerb(dataDir, what, false)
  if (verb === 'drain' && what) return drainVerb(dataDir, what, flags)
  if (verb === 'get' && /^(pdb|pdbs|poddisruptionbudgets?)$/.test(what ?? '') && !name)
    return getPdbs(dataDir, flags, flags.n ?? 'default')
  return undefined
}
