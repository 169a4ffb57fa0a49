import { describe, expect, test } from '@jest/globals'
import { gzipSync } from 'node:zlib'
import { releaseSecretName, releaseValues } from '../../../../src/core/phases/addons/release-secrets.js'

/** A release Secret as Helm 3 stores it and the API returns it: base64 (API) of base64 (Helm) of gzipped JSON. */
function stored(name: string, namespace: string, revision: number, config: unknown): unknown {
  const helm = gzipSync(JSON.stringify({ name, namespace, version: revision, config })).toString('base64')
  return {
    metadata: { name: releaseSecretName(name, String(revision)), namespace, labels: { owner: 'helm' } },
    type: 'helm.sh/release.v1',
    data: { release: Buffer.from(helm).toString('base64') }
  }
}

describe("every release's values from one read of Helm's release Secrets", () => {
  test('maps each revision to its user values, null when it has none, and skips what is not a release', () => {
    const list = JSON.stringify({
      items: [
        stored('metallb', 'metallb-system', 1, { speaker: { logLevel: 'info' } }),
        stored('metallb', 'metallb-system', 2, { speaker: { logLevel: 'debug' } }),
        stored('traefik', 'traefik', 1, null),
        { metadata: { name: 'other', namespace: 'x' }, type: 'Opaque', data: { release: 'e30=' } },
        {
          metadata: { name: 'sh.helm.release.v1.broken.v1', namespace: 'x' },
          type: 'helm.sh/release.v1',
          data: { release: 'bm90IGd6aXA=' }
        }
      ]
    })
    expect([...releaseValues(list)]).toEqual([
      ['metallb-system/sh.helm.release.v1.metallb.v1', { speaker: { logLevel: 'info' } }],
      ['metallb-system/sh.helm.release.v1.metallb.v2', { speaker: { logLevel: 'debug' } }],
      ['traefik/sh.helm.release.v1.traefik.v1', null]
    ])
  })
})
