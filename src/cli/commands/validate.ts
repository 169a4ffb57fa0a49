import type { VerbSpec } from './shared.js'

export const validate: VerbSpec = {
  name: 'validate',
  short: 'Checks the cluster file and prints every problem with its line and column.',
  example: 'turingpi-cluster validate --config examples/k3s-cluster.yaml',
  render(result, io, json) {
    if (json)
      io.out(JSON.stringify({ valid: true, cluster: result.cluster?.name, nodes: result.cluster?.nodes.length }))
    else io.out(`${result.cluster?.name}: valid (${result.cluster?.kind}, ${result.cluster?.nodes.length} nodes)`)
    return 0
  }
}
