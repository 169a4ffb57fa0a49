// Read-only drift of the NPU stack on K3s nodes, with the observation script the phase itself uses: the
// RKNPU driver and render node, the runtime versions, rkllama's version, unit, model and service, one
// GET of its API from the node, and the node label. A service that is down explains an API that does
// not answer, and a kernel that is not the vendor one explains a missing driver: those are symptoms.
import type { RemoteShell } from '../../../../adapters/ssh/types.js'
import type { NodeSpec } from '../../../config/model.js'
import type { DriftFinding } from '../../../drift/types.js'
import { sha256, topology } from '../config.js'
import { clusterNodes, readNode } from '../drift-shell.js'
import { parseFacts } from '../../../remote/script.js'
import { withPool } from '../../../remote/shells.js'
import type { PhaseContext } from '../../../phases/types.js'
import { RKLLAMA_VERSION } from './artifacts.js'
import { NPU_LABEL, rkllamaAnswer, wantedModel } from './rkllama.js'
import { checkedSection, observeK3s } from '../observation.js'
import { rkllamaUnit, type NpuPaths } from './scripts.js'

const installed = (marker: string | undefined): string => (!marker || marker === 'none' ? 'not installed' : marker)

async function nodeRows(
  ctx: PhaseContext,
  node: NodeSpec,
  shell: RemoteShell,
  paths: NpuPaths,
  port: number
): Promise<DriftFinding[]> {
  const npu = ctx.cluster.npu!
  const row = (field: string, wanted: string, found: string, more: Partial<DriftFinding> = {}): DriftFinding => ({
    subject: node.id,
    field,
    wanted,
    found,
    kind: 'drift',
    fixedBy: ['npu'],
    path: node.path,
    ...more
  })
  const seen = await observeK3s(ctx, node, { phase: 'npu', shell: async () => shell, npu: { paths, port } })
  const facts = parseFacts(checkedSection(seen, 'npu', 'npu', 'observing the NPU').stdout)
  if (!facts.driver || facts.driver === 'none')
    return [
      row('npu.driver', 'RKNPU driver loaded (Armbian vendor kernel)', `none on kernel ${facts.kernel}`, {
        fixedBy: [],
        symptom: true
      })
    ]
  const rows: DriftFinding[] = []
  if (facts.render === 'none')
    rows.push(row('npu.render-node', `a render node in ${paths.driDir}`, 'none', { fixedBy: [] }))
  if (npu.install_rknn && facts.rknn !== npu.rknn_version)
    rows.push(row('npu.rknn', npu.rknn_version, installed(facts.rknn)))
  if ((npu.install_rkllm || npu.deploy_rkllama) && facts.rkllm !== npu.rkllm_version)
    rows.push(row('npu.rkllm', npu.rkllm_version, installed(facts.rkllm)))
  if (!npu.deploy_rkllama) return rows

  if (facts.rkllama !== RKLLAMA_VERSION)
    rows.push(row('npu.rkllama.version', RKLLAMA_VERSION, installed(facts.rkllama)))
  if (facts.unit_sha !== sha256(rkllamaUnit(port)))
    rows.push(
      row(
        'npu.rkllama.unit',
        `rkllama.service as rendered (port ${port})`,
        facts.unit_sha === 'none' ? 'absent' : 'differs'
      )
    )
  const model = wantedModel(ctx, node)
  if (model && npu.model) {
    const marker = `${npu.model}:${npu.model_quantization}:${model.file}`
    if (facts.model !== marker)
      rows.push(
        row(
          'npu.model',
          `${npu.model} (${npu.model_quantization})`,
          facts.model === 'none' || !facts.model ? 'not installed' : facts.model.split(':').slice(0, 2).join(' ')
        )
      )
  }
  if (facts.unit !== 'active') rows.push(row('npu.rkllama.service', 'active', facts.unit ?? 'unknown'))
  else {
    const answer = rkllamaAnswer(seen.sections.rkllama ?? { code: 1, stdout: '', stderr: 'not probed' }, npu.model)
    // Running but not answering: a deploy would only probe it again, so nothing it runs fixes this.
    if ('problem' in answer)
      rows.push(
        row('npu.rkllama.api', `answering GET /api/tags${npu.model ? ` with ${npu.model}` : ''}`, answer.problem, {
          fixedBy: [],
          symptom: true
        })
      )
  }
  return rows
}

/** The NPU label of every reachable node, from one read of the first server's API. */
async function labelRows(ctx: PhaseContext, shell: RemoteShell): Promise<DriftFinding[]> {
  const out = await clusterNodes(ctx, shell)
  if (out.code !== 0) return [] // the join module's k3s.api row reports an API that does not answer
  const [key, value] = NPU_LABEL.split('=') as [string, string]
  const labels = new Map(
    (
      (JSON.parse(out.stdout) as { items?: { metadata: { name: string; labels?: Record<string, string> } }[] }).items ??
      []
    ).map((n) => [n.metadata.name, n.metadata.labels ?? {}])
  )
  return ctx.nodes.flatMap((node): DriftFinding[] => {
    const have = labels.get(node.hostname)
    if (!have || have[key] === value) return [] // an unregistered node is the join module's row
    return [
      {
        subject: node.id,
        field: 'npu.label',
        wanted: NPU_LABEL,
        found: have[key] === undefined ? 'absent' : `${key}=${have[key]}`,
        kind: 'drift',
        fixedBy: ['npu'],
        path: node.path
      }
    ]
  })
}

export function npuDrift(ctx: PhaseContext, paths: NpuPaths, port: number): Promise<DriftFinding[]> {
  return withPool(ctx, 'npu', async (pool) => {
    const first = topology(ctx.cluster).first
    const readLabels = ctx.nodes.some((n) => n.id === first.id)
      ? readNode(ctx, pool, first, (shell) => labelRows(ctx, shell))
      : Promise.resolve([])
    const [labels, ...nodes] = await Promise.all([
      readLabels,
      ...ctx.nodes.map((node) => readNode(ctx, pool, node, (shell) => nodeRows(ctx, node, shell, paths, port)))
    ])
    // The phase labels a node only once its driver is there: a missing label is no news on a node without one.
    const noDriver = new Set(
      nodes
        .flat()
        .filter((r) => r.field === 'npu.driver')
        .map((r) => r.subject)
    )
    return [...nodes.flat(), ...labels.filter((r) => !noDriver.has(r.subject))]
  })
}
