import { describe, expect, test } from '@jest/globals'
import { gzipSync } from 'node:zlib'
import { storedReleases, type StoredObject } from '../../../../src/core/phases/addons/release-secrets.js'

/** A release Secret as Helm 3 stores it and the API returns it: base64 (API) of base64 (Helm) of gzipped JSON. */
function stored(name: string, namespace: string, revision: number, status: string, config: unknown): StoredObject {
  const release = {
    name,
    namespace,
    version: revision,
    info: { status },
    chart: { metadata: { name, version: `1.${revision}.0`, appVersion: `v1.${revision}` } },
    config
  }
  const helm = gzipSync(JSON.stringify(release)).toString('base64')
  return {
    kind: 'Secret',
    metadata: { name: `sh.helm.release.v1.${name}.v${revision}`, namespace, labels: { owner: 'helm' } },
    type: 'helm.sh/release.v1',
    data: { release: Buffer.from(helm).toString('base64') }
  }
}

describe("every release and its values from one read of Helm's release Secrets", () => {
  test('lists what helm list lists: the latest revision of each release, deployed or failed, with its values', () => {
    const rows = storedReleases([
      stored('metallb', 'metallb-system', 2, 'deployed', { speaker: { logLevel: 'debug' } }),
      stored('metallb', 'metallb-system', 1, 'superseded', { speaker: { logLevel: 'info' } }),
      stored('traefik', 'traefik', 1, 'failed', null),
      stored('longhorn', 'longhorn-system', 1, 'deployed', {}),
      stored('longhorn', 'longhorn-system', 2, 'pending-upgrade', {}),
      stored('gone', 'x', 3, 'uninstalled', null),
      { kind: 'IPAddressPool', metadata: { name: 'turingpi-pool', namespace: 'metallb-system' }, spec: {} },
      { kind: 'Secret', metadata: { name: 'other', namespace: 'x' }, type: 'Opaque', data: { release: 'e30=' } }
    ])
    expect(rows).toEqual([
      {
        name: 'metallb',
        namespace: 'metallb-system',
        revision: '2',
        status: 'deployed',
        chart: 'metallb-1.2.0',
        app_version: 'v1.2',
        values: { speaker: { logLevel: 'debug' } }
      },
      {
        name: 'traefik',
        namespace: 'traefik',
        revision: '1',
        status: 'failed',
        chart: 'traefik-1.1.0',
        app_version: 'v1.1',
        values: null
      }
    ])
  })

  test('the same release name in two namespaces is two releases', () => {
    const rows = storedReleases([stored('a', 'one', 1, 'deployed', null), stored('a', 'two', 4, 'deployed', null)])
    expect(rows?.map((r) => `${r.namespace}/${r.name} r${r.revision}`)).toEqual(['one/a r1', 'two/a r4'])
  })

  test('a release Secret that does not decode makes the whole read unusable, so helm is asked instead', () => {
    const broken: StoredObject = {
      kind: 'Secret',
      metadata: { name: 'sh.helm.release.v1.broken.v1', namespace: 'x' },
      type: 'helm.sh/release.v1',
      data: { release: 'bm90IGd6aXA=' }
    }
    expect(storedReleases([stored('a', 'one', 1, 'deployed', null), broken])).toBeUndefined()
  })
})
