// What the NPU phase and the drift checks share: whether the file wants the NPU stack at all, which model
// it wants on a node, where rkllama answers and whether it lists that model.
import { q } from '../../../remote/script.js'
import type { RemoteShell } from '../../../../adapters/ssh/types.js'
import type { NodeSpec } from '../../../config/model.js'
import { PhaseError } from '../../../errors.js'
import type { PhaseContext } from '../../../phases/types.js'
import { resolveModel, type ModelEntry } from './artifacts.js'

export const NPU_LABEL = 'turingpi.io/npu=rk3588'

export function wantedModel(ctx: PhaseContext, node: NodeSpec): ModelEntry | undefined {
  const npu = ctx.cluster.npu
  if (!npu?.deploy_rkllama || !npu.model) return undefined
  const resolved = resolveModel(npu.model, npu.model_quantization, npu.rkllm_version)
  if ('problem' in resolved)
    throw new PhaseError('npu', node.id, resolved.problem, 'fix npu_config in the cluster file and re-run', {
      code: 'NpuModelMismatch'
    })
  return resolved.entry
}

/** rkllama's API address as the node itself reaches it. */
export const rkllamaUrl = (ctx: PhaseContext, node: NodeSpec, port: number): string => {
  const to = ctx.deps.net.map(node.ip, port)
  return `http://${to.host}:${to.port}/api/tags`
}

/** The node-side command of one GET /api/tags (also part of the node's observation). */
export const rkllamaProbeCommand = (url: string): string => `curl -fsS --max-time 5 ${q(url)}`

/** What one GET /api/tags answered: the models it lists, or what went wrong. */
export function rkllamaAnswer(
  out: { code: number; stdout: string; stderr: string },
  model?: string
): { models: string } | { problem: string } {
  if (out.code !== 0) return { problem: out.stderr.trim().split('\n').pop() ?? `exit ${out.code}` }
  try {
    const names = ((JSON.parse(out.stdout) as { models?: { name: string }[] }).models ?? []).map((m) => m.name)
    if (!model || names.some((n) => n === model || n.startsWith(`${model}:`)))
      return { models: names.join(', ') || 'no models' }
    return { problem: `model ${model} not listed (listed: ${names.join(', ') || 'none'})` }
  } catch {
    return { problem: `not JSON: ${out.stdout.slice(0, 80)}` }
  }
}

/** One GET /api/tags from the node: the models it lists, or what went wrong. */
export async function askRkllama(
  shell: RemoteShell,
  url: string,
  model?: string
): Promise<{ models: string } | { problem: string }> {
  return rkllamaAnswer(await shell.exec(rkllamaProbeCommand(url), { timeoutMs: 15_000 }), model)
}
