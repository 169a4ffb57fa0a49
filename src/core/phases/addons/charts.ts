// The one table of addon charts: repository, chart, pinned version and namespace. Bump versions here only;
// the plan, drift and the lab's chart catalog read them from this table.
//
// Versions checked against the upstream release trackers (2026): MetalLB 0.16.1, ingress-nginx 4.14.1 (the
// project was retired in March 2026; kept for clusters that still use it), Traefik chart 40.0.0 (Traefik
// 3.7), Longhorn 1.12.1, kube-prometheus-stack 89.1.0, Portainer agent chart 1.0.0 (agent 2.27.4).

/** Addon names as the cluster file spells them under `addons:`. */
export const ADDON_NAMES = ['metallb', 'traefik', 'nginx_ingress', 'longhorn', 'prometheus', 'portainer_agent'] as const
export type AddonName = (typeof ADDON_NAMES)[number]

export interface ChartSpec {
  addon: AddonName
  /** Helm release name. */
  release: string
  repo: string
  chart: string
  version: string
  namespace: string
}

export const CHARTS: Record<AddonName, ChartSpec> = {
  metallb: {
    addon: 'metallb',
    release: 'metallb',
    repo: 'https://metallb.github.io/metallb',
    chart: 'metallb',
    version: '0.16.1',
    namespace: 'metallb-system'
  },
  traefik: {
    addon: 'traefik',
    release: 'traefik',
    repo: 'https://traefik.github.io/charts',
    chart: 'traefik',
    version: '40.0.0',
    namespace: 'traefik'
  },
  nginx_ingress: {
    addon: 'nginx_ingress',
    release: 'ingress-nginx',
    repo: 'https://kubernetes.github.io/ingress-nginx',
    chart: 'ingress-nginx',
    version: '4.14.1',
    namespace: 'ingress-nginx'
  },
  longhorn: {
    addon: 'longhorn',
    release: 'longhorn',
    repo: 'https://charts.longhorn.io',
    chart: 'longhorn',
    version: '1.12.1',
    namespace: 'longhorn-system'
  },
  prometheus: {
    addon: 'prometheus',
    release: 'kube-prometheus-stack',
    repo: 'https://prometheus-community.github.io/helm-charts',
    chart: 'kube-prometheus-stack',
    version: '89.1.0',
    namespace: 'monitoring'
  },
  portainer_agent: {
    addon: 'portainer_agent',
    release: 'portainer-agent',
    repo: 'https://portainer.github.io/k8s',
    chart: 'portainer-agent',
    version: '1.0.0',
    namespace: 'portainer'
  }
}

/** helm list's chart column: "<chart>-<version>". */
export const chartRef = (spec: ChartSpec): string => `${spec.chart}-${spec.version}`

/** The release an installed (release, namespace) pair belongs to, if it is one of ours. */
export function specOfRelease(release: string, namespace: string): ChartSpec | undefined {
  return Object.values(CHARTS).find((c) => c.release === release && c.namespace === namespace)
}
