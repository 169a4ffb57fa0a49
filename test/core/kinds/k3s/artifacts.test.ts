import { describe, expect, test } from '@jest/globals'
import { k3sArtifacts } from '../../../../src/core/kinds/k3s/artifacts.js'
import {
  modelArtifact,
  rkllamaSource,
  rkllmRuntime,
  rknnRuntime
} from '../../../../src/core/kinds/k3s/npu/artifacts.js'

describe('air-gap artifacts', () => {
  test('k3s binary, images and install script of the version, verified against the release sums', () => {
    const a = k3sArtifacts('v1.31.3+k3s1')
    expect([a.binary.url, a.images.url, a.installer.url]).toEqual([
      'https://github.com/k3s-io/k3s/releases/download/v1.31.3%2Bk3s1/k3s-arm64',
      'https://github.com/k3s-io/k3s/releases/download/v1.31.3%2Bk3s1/k3s-airgap-images-arm64.tar.zst',
      'https://raw.githubusercontent.com/k3s-io/k3s/v1.31.3%2Bk3s1/install.sh'
    ])
    expect(a.images.checksum).toEqual({
      sumsUrl: 'https://github.com/k3s-io/k3s/releases/download/v1.31.3%2Bk3s1/sha256sum-arm64.txt',
      sumsEntry: 'k3s-airgap-images-arm64.tar.zst'
    })
    expect(a.binary.version).toBe('1.31.3-k3s1')
  })

  test('a mirror prefixes host and path', () => {
    expect(k3sArtifacts('v1.31.3+k3s1', 'http://127.0.0.1:8081/m/').binary.url).toBe(
      'http://127.0.0.1:8081/m/github.com/k3s-io/k3s/releases/download/v1.31.3%2Bk3s1/k3s-arm64'
    )
    expect(rknnRuntime('2.3.2', 'http://127.0.0.1:8081').url).toBe(
      'http://127.0.0.1:8081/raw.githubusercontent.com/airockchip/rknn-toolkit2/v2.3.2/rknpu2/runtime/Linux/librknn_api/aarch64/librknnrt.so'
    )
  })

  test('NPU runtimes are raw files in the Rockchip repositories at the release tag', () => {
    expect(rkllmRuntime('1.2.3').url).toBe(
      'https://raw.githubusercontent.com/airockchip/rknn-llm/release-v1.2.3/rkllm-runtime/Linux/librkllm_api/aarch64/librkllmrt.so'
    )
    expect(rkllamaSource().url).toBe(
      'https://github.com/NotPunchnox/rkllama/archive/4c6ddce65ad5118ff6c6a3497fc6a31ea821b348.tar.gz'
    )
    expect(modelArtifact({ repo: 'a/b', file: 'm.rkllm', rkllmVersion: '1.2.1' }).url).toBe(
      'https://huggingface.co/a/b/resolve/main/m.rkllm'
    )
  })
})
