// Where the NPU pieces come from. Both runtimes are plain files committed in Rockchip's repositories
// (not release assets), fetched at the release tag through raw.githubusercontent.com; rkllama is the
// source tarball of a pinned tag. Models come from a small catalog of converted .rkllm files whose RKLLM
// version is known, because a model only loads with a runtime of the same RKLLM minor version.
import type { ArtifactRequest } from '../../../../adapters/downloads/types.js'
import { cacheVersion, viaMirror } from '../../../tools/catalog.js'

/** The fetch URL (under the mirror when set) and the upstream URL the digest catalog is keyed by. */
const at = (upstream: string, mirror?: string): { url: string; upstream: string } => ({
  url: viaMirror(upstream, mirror),
  upstream
})

/** rkllama release this action installs (its Python dependencies come from a hashed lock, scripts.ts). */
export const RKLLAMA_VERSION = '0.0.54'
/**
 * The commit that sets version 0.0.54 on rkllama's main branch: upstream tags no 0.0.x release after
 * 0.0.4, so the source archive is addressed by commit (which, unlike a tag, cannot be moved).
 */
export const RKLLAMA_COMMIT = '4c6ddce65ad5118ff6c6a3497fc6a31ea821b348'

export function rknnRuntime(version: string, mirror?: string): ArtifactRequest {
  return {
    tool: 'librknnrt',
    version: cacheVersion(version),
    arch: 'arm64',
    ...at(
      `https://raw.githubusercontent.com/airockchip/rknn-toolkit2/v${version}/rknpu2/runtime/Linux/librknn_api/aarch64/librknnrt.so`,
      mirror
    ),
    fileName: 'librknnrt.so'
  }
}

export function rkllmRuntime(version: string, mirror?: string): ArtifactRequest {
  return {
    tool: 'librkllmrt',
    version: cacheVersion(version),
    arch: 'arm64',
    ...at(
      `https://raw.githubusercontent.com/airockchip/rknn-llm/release-v${version}/rkllm-runtime/Linux/librkllm_api/aarch64/librkllmrt.so`,
      mirror
    ),
    fileName: 'librkllmrt.so'
  }
}

export function rkllamaSource(mirror?: string): ArtifactRequest {
  return {
    tool: 'rkllama',
    version: RKLLAMA_VERSION,
    arch: 'arm64',
    ...at(`https://github.com/NotPunchnox/rkllama/archive/${RKLLAMA_COMMIT}.tar.gz`, mirror),
    fileName: `rkllama-${RKLLAMA_VERSION}.tar.gz`
  }
}

export interface ModelEntry {
  /** Hugging Face repository (also where rkllama finds the tokenizer). */
  repo: string
  file: string
  /** RKLLM toolkit version the file was converted with. */
  rkllmVersion: string
}

/** name -> quantization -> file. Extend with care: rkllmVersion must be what the file was built with. */
export const MODELS: Record<string, Record<string, ModelEntry>> = {
  'qwen3-4b': {
    w8a8: {
      repo: 'dulimov/Qwen3-4B-rk3588-1.2.1-unsloth-16k',
      file: 'Qwen3-4B-rk3588-w8a8_g128-opt-1-hybrid-ratio-1.0.rkllm',
      rkllmVersion: '1.2.1'
    }
  },
  'gemma-3-1b': {
    w8a8: {
      repo: 'thanhtantran/gemma-3-1b-it-rk3588-1.2.0',
      file: 'gemma-3-1b-it-rk3588-w8a8-opt-1-hybrid-ratio-0.0.rkllm',
      rkllmVersion: '1.2.0'
    }
  }
}

const minor = (v: string): string => v.split('.').slice(0, 2).join('.')

/** The catalog entry for model/quantization, or a reason it cannot be used with this runtime. */
export function resolveModel(
  model: string,
  quantization: string,
  rkllmVersion: string
): { entry: ModelEntry } | { problem: string } {
  const byQuant = MODELS[model]
  if (!byQuant) return { problem: `unknown model ${JSON.stringify(model)}; known: ${Object.keys(MODELS).join(', ')}` }
  const entry = byQuant[quantization]
  if (!entry)
    return { problem: `model ${model} has no ${quantization} file; available: ${Object.keys(byQuant).join(', ')}` }
  if (minor(entry.rkllmVersion) !== minor(rkllmVersion))
    return {
      problem: `model ${model} (${quantization}) was converted with RKLLM ${entry.rkllmVersion} but rkllm_version is ${rkllmVersion}; RKLLM loads only models of its own minor version, so set rkllm_version to ${minor(entry.rkllmVersion)}.x or choose another model`
    }
  return { entry }
}

export function modelArtifact(entry: ModelEntry, mirror?: string): ArtifactRequest {
  return {
    tool: `rkllm-model-${entry.repo.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase()}`,
    version: cacheVersion(entry.rkllmVersion),
    arch: 'arm64',
    ...at(`https://huggingface.co/${entry.repo}/resolve/main/${entry.file}`, mirror),
    fileName: entry.file
  }
}
