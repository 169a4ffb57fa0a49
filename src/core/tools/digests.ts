// The committed digest catalog: the sha256 of every artifact of each supported version, keyed by its
// upstream URL (never a mirror URL). A download is checked against, in order: a `sha256:` the user wrote
// in the cluster file, this catalog, the upstream project's own checksum file fetched over https from
// the upstream host. A mirror only serves bytes; it never supplies a digest.
//
// `source` says where each digest was read. Entries without a sha256 are versions whose digest could
// not be read where this catalog was last refreshed; they are listed so the gap is visible, and
// `npm run refresh-digests` (scripts/refresh-digests.ts) fills them from the upstream release pages.
import { readFileSync } from 'node:fs'
import type { DigestCatalog } from '../../adapters/downloads/types.js'

export const CATALOG: DigestCatalog = {
  // <catalog:begin> (scripts/refresh-digests.ts rewrites what is between the markers)
  'https://github.com/siderolabs/talos/releases/download/v1.9.0/talosctl-linux-amd64': {
    sha256: 'a06ebd06488067921f0f40732fcc52b8d977e3c86c80d0502f73783c338dc25b',
    source:
      'Formula/talosctl.rb in github.com/siderolabs/homebrew-tap (Sidero Labs own tap), commit b5c25fde351783c40df3780b100ed7cec0d6f02c "update talosctl to v1.9.0"; equals talosctl.hcl in github.com/cashapp/hermit-packages'
  },
  'https://github.com/siderolabs/talos/releases/download/v1.9.0/talosctl-linux-arm64': {
    sha256: '405ca47fcd659206ecb1e73f8bb817b9c9352d3929c03608d8a81f53c472f662',
    source:
      'Formula/talosctl.rb in github.com/siderolabs/homebrew-tap (Sidero Labs own tap), commit b5c25fde351783c40df3780b100ed7cec0d6f02c "update talosctl to v1.9.0"; equals talosctl.hcl in github.com/cashapp/hermit-packages'
  },
  'https://dl.k8s.io/release/v1.32.0/bin/linux/amd64/kubectl': {
    sha256: '646d58f6d98ee670a71d9cdffbf6625aeea2849d567f214bc43a35f8ccb7bf70',
    source:
      'version/components.json (kubectl amd64 v1.32.0) in github.com/kubesphere/kubekey, commit 17c1df861a1e7f2f21af4f0ef4e4d34907ddda7b; equals kubectl.hcl in github.com/cashapp/hermit-packages'
  },
  'https://dl.k8s.io/release/v1.32.0/bin/linux/arm64/kubectl': {
    sha256: 'ba4004f98f3d3a7b7d2954ff0a424caa2c2b06b78c17b1dccf2acc76a311a896',
    source:
      'version/components.json (kubectl arm64 v1.32.0) in github.com/kubesphere/kubekey, commit 17c1df861a1e7f2f21af4f0ef4e4d34907ddda7b; equals kubectl.hcl in github.com/cashapp/hermit-packages'
  },
  'https://get.helm.sh/helm-v3.19.0-linux-amd64.tar.gz': {
    sha256: 'a7f81ce08007091b86d8bd696eb4d86b8d0f2e1b9f6c714be62f82f96a594496',
    source:
      'helm v3.19.0 release notes (github.com/helm/helm/releases/tag/v3.19.0), the digests upstream lists beside each asset'
  },
  'https://get.helm.sh/helm-v3.19.0-linux-arm64.tar.gz': {
    sha256: '440cf7add0aee27ebc93fada965523c1dc2e0ab340d4348da2215737fc0d76ad',
    source:
      'helm v3.19.0 release notes (github.com/helm/helm/releases/tag/v3.19.0), the digests upstream lists beside each asset'
  },
  'https://github.com/k3s-io/k3s/releases/download/v1.31.3%2Bk3s1/k3s-arm64': {
    source:
      'not available offline when this catalog was written (no copy of k3s sha256sum-arm64.txt for v1.31.3+k3s1 was found in any independent source; until filled, that file is read from github.com over https); run npm run refresh-digests with network access'
  },
  'https://github.com/k3s-io/k3s/releases/download/v1.31.3%2Bk3s1/k3s-airgap-images-arm64.tar.zst': {
    sha256: '10f3f9f73f6e2705f3755e047d8f6c7560cd42f948201bfb360ad7d4c30d3046',
    source:
      'nixpkgs pkgs/applications/networking/cluster/k3s/1_31/images-versions.json for k3sVersion 1.31.3+k3s1 (github.com/FliegendeWurst/nixpkgs commit 290e273affe9d576e5b0d2d087db0c8eef6f281e, a nixpkgs fork), nix base32 0iih1p1x9mqa6vxin828z51csq3mdj7ps12yfprha9vf7zvzkwqh written as hex'
  },
  'https://raw.githubusercontent.com/k3s-io/k3s/v1.31.3%2Bk3s1/install.sh': {
    sha256: 'f60c3d8940dfc896f7d83aaf57726c91cf21afc4bca40036472df108d9700b4b',
    source:
      'sha256 of git blob b08e6054a4ea80835cc9fa3a2b93fec5199329e3 (install.sh at k3s commit 6e6af9885f20413c28da7ba15feac3774375e822, the v1.31.3+k3s1 tag: nixpkgs k3sCommit and "k3s version v1.31.3+k3s1 (6e6af988)"); equals install.sh.sha256sum that k3s commits beside it at that commit'
  },
  'https://raw.githubusercontent.com/airockchip/rknn-toolkit2/v2.3.2/rknpu2/runtime/Linux/librknn_api/aarch64/librknnrt.so':
    {
      sha256: 'd31fc19c85b85f6091b2bd0f6af9d962d5264a4e410bfb536402ec92bac738e8',
      source:
        'git blob e53a2b6ec332f2863df5c70cd9f6ebec9dbef397 at tag v2.3.2 (7726232 bytes); the same blob sits in airockchip/rknn-llm at 878f9361 and release-v1.2.3, which the Dockerfiles of github.com/functionland/blox-ai (sha256sum -c) and a pinned ADD --checksum build check against this digest; equals a Yocto recipe fetching this file at tag v2.3.2'
    },
  'https://raw.githubusercontent.com/airockchip/rknn-llm/release-v1.2.3/rkllm-runtime/Linux/librkllm_api/aarch64/librkllmrt.so':
    {
      sha256: 'bbcf28a8666b9fbf7361d6aad892b957920f6ea92400c074899b48f4c5b2c96f',
      source:
        'Dockerfile of github.com/functionland/blox-ai (commit 6d48a488aff44ad778a304be849741ae6f671882), which fetches this exact URL and checks it with sha256sum -c (git blob 0084abc34ab43359cfa9fd5d4c92ece34127dbd0 at tag release-v1.2.3); one independent source only, no second copy was found offline'
    },
  'https://github.com/NotPunchnox/rkllama/archive/4c6ddce65ad5118ff6c6a3497fc6a31ea821b348.tar.gz': {
    source:
      'not available offline when this catalog was written (GitHub source archive of rkllama 0.0.54, commit 4c6ddce65ad5118ff6c6a3497fc6a31ea821b348; GitHub builds archives on request, so only a download can tell its digest); run npm run refresh-digests with network access'
  },
  'https://huggingface.co/dulimov/Qwen3-4B-rk3588-1.2.1-unsloth-16k/resolve/main/Qwen3-4B-rk3588-w8a8_g128-opt-1-hybrid-ratio-1.0.rkllm':
    {
      source:
        'not available offline when this catalog was written (Hugging Face LFS file; its sha256 is the LFS oid the Hub lists); run npm run refresh-digests with network access'
    },
  'https://huggingface.co/thanhtantran/gemma-3-1b-it-rk3588-1.2.0/resolve/main/gemma-3-1b-it-rk3588-w8a8-opt-1-hybrid-ratio-0.0.rkllm':
    {
      source:
        'not available offline when this catalog was written (Hugging Face LFS file; its sha256 is the LFS oid the Hub lists); run npm run refresh-digests with network access'
    }
  // <catalog:end>
}

/**
 * A catalog that replaces CATALOG for a run: the lab's (TPI_LAB_CATALOG), whose mirror serves lab-built
 * bytes. Read from a local file the harness wrote, never from the mirror.
 */
export function readCatalogFile(path: string): DigestCatalog {
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown
  if (!parsed || typeof parsed !== 'object') throw new Error(`digest catalog ${path} is not a JSON object`)
  for (const [url, entry] of Object.entries(parsed as Record<string, { sha256?: unknown }>)) {
    if (entry?.sha256 !== undefined && !(typeof entry.sha256 === 'string' && /^[0-9a-f]{64}$/.test(entry.sha256)))
      throw new Error(
        `digest catalog ${path}: ${url} has sha256 ${JSON.stringify(entry.sha256)}, expected 64 lowercase hex digits`
      )
  }
  return parsed as DigestCatalog
}
