// Every artifact of each supported version (the defaults a cluster file gets and the runner tools the
// action pins), built with the same functions the phases use, so the digest catalog is keyed by exactly
// the upstream URLs the action asks for. scripts/refresh-digests.ts fills the catalog from this list;
// test/core/tools/digests.test.ts checks that the catalog covers it.
import type { ArtifactRequest } from '../../adapters/downloads/types.js'
import { DEFAULTS } from '../config/model.js'
import { HELM_VERSION, KUBECTL_VERSION } from '../phases/addons/tools.js'
import { MODELS, modelArtifact, rkllamaSource, rkllmRuntime, rknnRuntime } from '../kinds/k3s/npu/artifacts.js'
import { helm, k3sAirgap, k3sBinary, k3sInstallScript, kubectl, talosctl } from './catalog.js'

export function supportedArtifacts(): ArtifactRequest[] {
  return [
    talosctl(DEFAULTS.talosVersion, 'x64'),
    talosctl(DEFAULTS.talosVersion, 'arm64'),
    kubectl(KUBECTL_VERSION, 'x64'),
    kubectl(KUBECTL_VERSION, 'arm64'),
    helm(HELM_VERSION, 'x64'),
    helm(HELM_VERSION, 'arm64'),
    k3sBinary(DEFAULTS.k3sVersion, 'arm64'),
    k3sAirgap(DEFAULTS.k3sVersion, 'arm64'),
    k3sInstallScript(DEFAULTS.k3sVersion),
    rknnRuntime(DEFAULTS.rknnVersion),
    rkllmRuntime(DEFAULTS.rkllmVersion),
    rkllamaSource(),
    ...Object.values(MODELS).flatMap((byQuant) => Object.values(byQuant).map((entry) => modelArtifact(entry)))
  ]
}
