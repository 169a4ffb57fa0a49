import { describe, expect, it } from '@jest/globals'
import { createKube } from '../../../src/adapters/kube/exec-kube.js'
import type { LocalExec } from '../../../src/core/deps.js'

function recorder(): { exec: LocalExec; calls: { file: string; args: string[]; options: unknown }[] } {
  const calls: { file: string; args: string[]; options: unknown }[] = []
  const exec: LocalExec = async (file, args, options) => {
    calls.push({ file, args, options })
    return { stdout: 'ok', stderr: '', code: 0 }
  }
  return { exec, calls }
}

describe('createKube', () => {
  it('runs helm with the kubeconfig flag and private helm homes, and kubectl with stdin', async () => {
    const { exec, calls } = recorder()
    const kube = createKube(exec, {
      helm: '/cache/helm',
      kubectl: '/cache/kubectl',
      kubeconfig: '/state/kubeconfig',
      helmHome: '/tmp/helm',
      env: { TPI_LAB_DIR: '/lab' }
    })
    await kube.helm(['list', '--all-namespaces'], { timeoutMs: 5000 })
    await kube.kubectl(['apply', '-f', '-'], { stdin: 'kind: Namespace' })
    expect(calls).toEqual([
      {
        file: '/cache/helm',
        args: ['list', '--all-namespaces', '--kubeconfig', '/state/kubeconfig'],
        options: {
          timeoutMs: 5000,
          env: {
            TPI_LAB_DIR: '/lab',
            HELM_CACHE_HOME: '/tmp/helm/cache',
            HELM_CONFIG_HOME: '/tmp/helm/config',
            HELM_DATA_HOME: '/tmp/helm/data'
          }
        }
      },
      {
        file: '/cache/kubectl',
        args: ['apply', '-f', '-', '--kubeconfig', '/state/kubeconfig'],
        options: { stdin: 'kind: Namespace', env: { TPI_LAB_DIR: '/lab' } }
      }
    ])
  })
})
