// Pure argv builders for every helm and kubectl call of the addons phase (tests assert exact values). The
// kubeconfig is added by the Kube adapter; secrets never appear here.
import { viaMirror } from '../../tools/catalog.js'
import type { ChartSpec } from './charts.js'
import { OWNER, OWNER_LABEL } from './manifests.js'

/** The chart repository URL, under the mirror when one is set (`<mirror>/<host><path>`). */
export function repoUrl(spec: ChartSpec, mirror?: string): string {
  return viaMirror(spec.repo, mirror)
}

export function upgradeInstallArgs(
  spec: ChartSpec,
  valuesFile: string,
  timeoutSeconds: number,
  mirror?: string
): string[] {
  return [
    'upgrade',
    '--install',
    spec.release,
    spec.chart,
    '--repo',
    repoUrl(spec, mirror),
    '--version',
    spec.version,
    '--namespace',
    spec.namespace,
    '--create-namespace',
    '--values',
    valuesFile,
    '--wait',
    '--timeout',
    `${timeoutSeconds}s`
  ]
}

export const listArgs = (): string[] => ['list', '--all-namespaces', '--output', 'json']

export const getValuesArgs = (spec: ChartSpec): string[] => [
  'get',
  'values',
  spec.release,
  '--namespace',
  spec.namespace,
  '--output',
  'json'
]

export const uninstallArgs = (spec: ChartSpec, timeoutSeconds: number): string[] => [
  'uninstall',
  spec.release,
  '--namespace',
  spec.namespace,
  '--wait',
  '--timeout',
  `${timeoutSeconds}s`
]

export function waitAvailableArgs(namespace: string, deployment: string, timeoutSeconds: number): string[] {
  return [
    'wait',
    '--namespace',
    namespace,
    '--for=condition=Available',
    `deployment/${deployment}`,
    `--timeout=${timeoutSeconds}s`
  ]
}

/** Server-side apply of a manifest read from stdin; one field manager so reruns own the same fields. */
export const applyArgs = (): string[] => [
  'apply',
  '--server-side',
  '--field-manager=turingpi-cluster',
  '--force-conflicts',
  '-f',
  '-'
]

export const getJsonArgs = (kind: string, name: string, namespace?: string): string[] => [
  'get',
  kind,
  name,
  ...(namespace ? ['--namespace', namespace] : []),
  '--output',
  'json'
]

/**
 * Helm 3 keeps each release revision in a Secret labelled owner=helm: one read gives every release and its
 * values. Objects this action applies carry owner=turingpi-cluster (manifests.ts), so their kinds can come
 * in the same read: kubectl lists several kinds in one call, with one label selector for all of them.
 */
export const releaseSecretsArgs = (kinds: string[] = []): string[] => [
  'get',
  ['secrets', ...kinds].join(','),
  '--all-namespaces',
  '--selector',
  kinds.length ? `${OWNER_LABEL} in (helm,${OWNER})` : `${OWNER_LABEL}=helm`,
  '--output',
  'json'
]
