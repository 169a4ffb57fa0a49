// Phase npu (K3s on Armbian, per node): refuse a kernel without the RKNPU driver, install the RKNN and
// RKLLM runtimes from the runner cache, optionally run rkllama with a model whose RKLLM version matches
// the runtime, probe its API from the node, and label the node turingpi.io/npu=rk3588.
import { createReadStream } from 'node:fs'
import type { ArtifactRequest } from '../../../../adapters/downloads/types.js'
import type { NodeSpec } from '../../../config/model.js'
import { PhaseError } from '../../../errors.js'
import { sha256, topology } from '../config.js'
import { parseFacts } from '../../../remote/script.js'
import { RESUME, runChecked, withPool, type ShellPool } from '../../../remote/shells.js'
import type { PhaseContext, PhaseModule, PlanStep, StepResult } from '../../../phases/types.js'
import { rkllamaLockText } from './lock.js'
import { modelArtifact, RKLLAMA_VERSION, rkllamaSource, rkllmRuntime, rknnRuntime } from './artifacts.js'
import { npuDrift } from './drift.js'
import { wantsNpu } from '../config.js'
import { askRkllama, NPU_LABEL, rkllamaAnswer, rkllamaUrl, wantedModel } from './rkllama.js'
import { changing, checkedSection, freshClusterSection, observeK3s, type NpuProbe } from '../observation.js'
import { changedInRun } from '../../../remote/observations.js'
import {
  DEFAULT_NPU_PATHS,
  MARKERS,
  modelScript,
  RKLLAMA_HOME,
  RKLLAMA_LOCK,
  rkllamaInstallScript,
  rkllamaUnit,
  runtimeScript,
  startUnitScript,
  type NpuPaths
} from './scripts.js'

export { NPU_LABEL } from './rkllama.js'

export interface NpuPhaseOptions {
  paths?: NpuPaths
  /** rkllama's HTTP port (8080 like upstream). */
  port?: number
}

async function push(
  ctx: PhaseContext,
  pool: ShellPool,
  node: NodeSpec,
  request: ArtifactRequest,
  path: string
): Promise<void> {
  const artifact = await ctx.deps.downloads.fetch(request)
  await (await pool.shell(node)).put(path, createReadStream(artifact.path), { mode: 0o644, owner: 'root:root' })
}

async function probe(
  ctx: PhaseContext,
  pool: ShellPool,
  node: NodeSpec,
  port: number,
  model?: string
): Promise<string> {
  const shell = await pool.shell(node)
  const url = rkllamaUrl(ctx, node, port)
  const tries = Math.max(1, Math.ceil(ctx.cluster.boot_timeout / 2))
  let last = ''
  for (let i = 0; i < tries; i++) {
    const answer = await askRkllama(shell, url, model)
    if ('models' in answer) return answer.models
    last = answer.problem
    if (i < tries - 1) await ctx.deps.sleep(2_000)
  }
  throw new PhaseError(
    'npu',
    node.id,
    `rkllama did not answer GET ${url} within ${ctx.cluster.boot_timeout} s: ${last}`,
    RESUME,
    { code: 'RkllamaNotReady' }
  )
}

async function label(ctx: PhaseContext, pool: ShellPool, node: NodeSpec, npuProbe: NpuProbe): Promise<boolean> {
  const first = topology(ctx.cluster).first
  const [key, value] = NPU_LABEL.split('=')
  // The first server's observation lists every node with its labels; trusted while no node changed since.
  const listed = changedInRun(ctx.outputs, first.id)
    ? undefined
    : await observeK3s(ctx, first, { phase: 'npu', shell: () => pool.shell(first), npu: npuProbe }).then(
        (firstSeen) => freshClusterSection(ctx, firstSeen, 'nodes'),
        () => undefined
      )
  if (listed?.code === 0) {
    const items = (
      JSON.parse(listed.stdout) as { items?: { metadata: { name: string; labels?: Record<string, string> } }[] }
    ).items
    const found = items?.find((n) => n.metadata.name === node.hostname)
    if (found && found.metadata.labels?.[key] === value) return false
  }
  const shell = await pool.shell(first)
  const got = await runChecked(
    shell,
    'npu',
    first,
    `reading node ${node.hostname}`,
    `k3s kubectl get node ${node.hostname} -o json`
  )
  const labels = (JSON.parse(got.stdout) as { metadata: { labels?: Record<string, string> } }).metadata.labels ?? {}
  if (labels[key] === value) return false
  await runChecked(
    shell,
    'npu',
    first,
    `labelling ${node.hostname}`,
    `k3s kubectl label node ${node.hostname} ${NPU_LABEL} --overwrite`
  )
  return true
}

export function createNpuPhase(options: NpuPhaseOptions = {}): PhaseModule {
  const paths = options.paths ?? DEFAULT_NPU_PATHS
  const port = options.port ?? 8080

  async function runNode(ctx: PhaseContext, node: NodeSpec): Promise<StepResult> {
    const npu = ctx.cluster.npu!
    const model = wantedModel(ctx, node)
    const mirror = ctx.settings.mirror
    return withPool(ctx, 'npu', async (pool) => {
      const seen = await observeK3s(ctx, node, { phase: 'npu', shell: () => pool.shell(node), npu: { paths, port } })
      const facts = parseFacts(checkedSection(seen, 'npu', 'npu', 'observing the NPU').stdout)
      if (facts.driver === 'none' || !facts.driver)
        throw new PhaseError(
          'npu',
          node.id,
          `no RKNPU driver on kernel ${facts.kernel}: ${paths.versionFile} is missing; the NPU needs Armbian's vendor kernel (vendor-rk35xx)`,
          'flash an Armbian vendor-kernel image or disable npu_config',
          { code: 'NpuDriverMissing' }
        )
      if (facts.render === 'none')
        throw new PhaseError(
          'npu',
          node.id,
          `RKNPU driver ${facts.driver} is loaded but no render node exists in ${paths.driDir}`,
          'check the kernel and re-run',
          { code: 'NpuDriverMissing' }
        )
      const changes: string[] = []
      const run = async (what: string, text: string, timeoutMs = 120_000): Promise<void> => {
        changing(ctx, node)
        const { result } = await runChecked(await pool.shell(node), 'npu', node, what, text, { timeoutMs })
        if (result?.changed) changes.push(result.details)
      }
      if (npu.install_rknn && facts.rknn !== npu.rknn_version) {
        await push(ctx, pool, node, rknnRuntime(npu.rknn_version, mirror), `${MARKERS}/librknnrt.so.new`)
        await run('installing librknnrt.so', runtimeScript('rknn', 'librknnrt.so', npu.rknn_version))
      }
      if ((npu.install_rkllm || npu.deploy_rkllama) && facts.rkllm !== npu.rkllm_version) {
        await push(ctx, pool, node, rkllmRuntime(npu.rkllm_version, mirror), `${MARKERS}/librkllmrt.so.new`)
        await run('installing librkllmrt.so', runtimeScript('rkllm', 'librkllmrt.so', npu.rkllm_version))
      }
      let probed = ''
      if (npu.deploy_rkllama) {
        if (facts.rkllama !== RKLLAMA_VERSION) {
          const lock = rkllamaLockText(ctx, node.id, RKLLAMA_VERSION)
          await push(ctx, pool, node, rkllamaSource(mirror), `${RKLLAMA_HOME}/rkllama.tar.gz`)
          changing(ctx, node)
          await (await pool.shell(node)).put(RKLLAMA_LOCK, lock, { mode: 0o644, owner: 'root:root' })
          await run(
            'installing rkllama',
            rkllamaInstallScript({ version: RKLLAMA_VERSION, ...(mirror ? { mirror } : {}) }),
            900_000
          )
        }
        const unit = rkllamaUnit(port)
        if (facts.unit_sha !== sha256(unit)) {
          changing(ctx, node)
          await (
            await pool.shell(node)
          ).put('/etc/systemd/system/rkllama.service', unit, {
            mode: 0o644,
            owner: 'root:root'
          })
          changes.push('rkllama.service')
        }
        if (model && npu.model) {
          const marker = `${npu.model}:${npu.model_quantization}:${model.file}`
          if (facts.model !== marker) {
            await push(
              ctx,
              pool,
              node,
              modelArtifact(model, mirror),
              `${RKLLAMA_HOME}/models/${npu.model}/${model.file}.new`
            )
            await run(
              `installing model ${npu.model}`,
              modelScript({ name: npu.model, file: model.file, repo: model.repo, marker })
            )
          }
        }
        if (changes.length || facts.unit !== 'active') await run('starting rkllama', startUnitScript('rkllama'))
        // rkllama answered the observation and nothing changed since: that answer stands.
        const answered =
          !changedInRun(ctx.outputs, node.id) && seen.sections.rkllama
            ? rkllamaAnswer(seen.sections.rkllama, npu.model)
            : undefined
        probed = answered && 'models' in answered ? answered.models : await probe(ctx, pool, node, port, npu.model)
      }
      if (await label(ctx, pool, node, { paths, port })) changes.push(`label ${NPU_LABEL}`)
      const status = (ctx.outputs.nodeStatus[node.id] ??= { node: node.id, role: node.role, ip: node.ip })
      status.npu = `RKNPU ${facts.driver}`
      const tail = probed ? `; rkllama answers (models: ${probed})` : ''
      return {
        changed: changes.length > 0,
        summary: `${changes.length ? `changed: ${changes.join(', ')}` : 'NPU stack unchanged'} (driver ${facts.driver})${tail}`
      }
    })
  }

  return {
    name: 'npu',
    scope: 'node',
    appliesTo: (cluster) => cluster.kind === 'k3s' && wantsNpu(cluster),
    async plan(ctx): Promise<PlanStep[]> {
      return ctx.nodes.map((node) => {
        try {
          const model = wantedModel(ctx, node)
          return {
            phase: 'npu',
            node: node.id,
            action: 'run',
            reason: `check the RKNPU driver, install the runtimes${ctx.cluster.npu?.deploy_rkllama ? `, rkllama ${RKLLAMA_VERSION}` : ''}${model ? ` with ${model.file}` : ''}`
          }
        } catch (error) {
          return { phase: 'npu', node: node.id, action: 'blocked', reason: (error as Error).message }
        }
      })
    },
    runNode,
    drift: (ctx) => npuDrift(ctx, paths, port)
  }
}

export const npuPhase: PhaseModule = createNpuPhase()
