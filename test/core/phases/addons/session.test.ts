// The Session's read of the releases when Helm's Secrets cannot be read (a kubeconfig whose RBAC forbids
// Secrets): helm answers instead. A scripted Kube stands in for the two programs; the lab-backed reads are
// in phase.test.ts.
import { describe, expect, test } from '@jest/globals'
import type { Kube } from '../../../../src/adapters/kube/types.js'
import { Session } from '../../../../src/core/phases/addons/session.js'
import { valuesHash } from '../../../../src/core/phases/addons/values.js'

function scripted(answers: Record<string, { code: number; stdout?: string; stderr?: string }>) {
  const calls: string[] = []
  const answer = (tool: string) => async (args: string[]) => {
    const key = `${tool} ${args.slice(0, 3).join(' ')}`
    calls.push(key)
    const a = Object.entries(answers).find(([k]) => key.startsWith(k))?.[1]
    if (!a) throw new Error(`unexpected ${key}`)
    return { code: a.code, stdout: a.stdout ?? '', stderr: a.stderr ?? '' }
  }
  const kube: Kube = { helm: answer('helm'), kubectl: answer('kubectl') }
  return { kube, calls }
}

const LISTED = JSON.stringify([
  { name: 'traefik', namespace: 'traefik', revision: '3', status: 'deployed', chart: 'traefik-40.0.0' },
  { name: 'mine', namespace: 'default', revision: '1', status: 'deployed', chart: 'mine-1.0.0' }
])

describe('reading the releases', () => {
  test("when Helm's Secrets are forbidden, helm list and helm get values of each of our releases answer", async () => {
    const { kube, calls } = scripted({
      'kubectl get secrets': {
        code: 1,
        stderr: 'Error from server (Forbidden): secrets is forbidden: User "ci" cannot list resource "secrets"'
      },
      'helm list': { code: 0, stdout: LISTED },
      'helm get values traefik': { code: 0, stdout: '{"deployment":{"replicas":2}}' }
    })
    const read = await new Session(kube, 10_000).read(['ipaddresspools.metallb.io'])
    expect(read).toEqual({
      releases: [
        {
          name: 'traefik',
          namespace: 'traefik',
          revision: '3',
          status: 'deployed',
          chart: 'traefik-40.0.0',
          valuesHash: valuesHash({ deployment: { replicas: 2 } })
        }
      ]
    })
    // No objects came with it: the caller reads MetalLB's pool on its own.
    expect(read.objects).toBeUndefined()
    expect(calls).toEqual([
      'kubectl get secrets,ipaddresspools.metallb.io --all-namespaces',
      'helm list --all-namespaces --output',
      'helm get values traefik'
    ])
  })

  test("when the other kinds' CRDs are not installed, the Secrets are read alone and no such object exists", async () => {
    const { kube, calls } = scripted({
      'kubectl get secrets,ipaddresspools.metallb.io': {
        code: 1,
        stderr: 'error: the server doesn\'t have a resource type "ipaddresspools"'
      },
      'kubectl get secrets --all-namespaces': { code: 0, stdout: '{"apiVersion":"v1","kind":"List","items":[]}' }
    })
    expect(await new Session(kube, 10_000).read(['ipaddresspools.metallb.io'])).toEqual({ releases: [], objects: [] })
    expect(calls).toEqual([
      'kubectl get secrets,ipaddresspools.metallb.io --all-namespaces',
      'kubectl get secrets --all-namespaces'
    ])
  })
})
