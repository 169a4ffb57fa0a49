import { runPictures } from '../../report/pictures.js'
import { addonTable, nodeTable, renderText, timingTable } from '../../report/tables.js'
import type { VerbSpec } from './shared.js'

export const deploy: VerbSpec = {
  name: 'deploy',
  short: 'Flashes, bootstraps and configures the cluster; a re-run resumes and changes only what differs.',
  example:
    'TPI_BMC_PASSWORD=… TPI_SSH_PRIVATE_KEY_FILE=~/.ssh/id_ed25519 turingpi-cluster deploy --config cluster.yaml',
  render(result, io, json) {
    const o = result.outputs
    const pictures = json ? '' : runPictures(result, 'deploy').text
    if (pictures) io.out(pictures)
    if (json)
      io.out(
        JSON.stringify({
          status: result.status,
          apiEndpoint: o.apiEndpoint,
          nodes: o.nodeStatus,
          addons: o.addons,
          timings: o.timings
        })
      )
    else
      for (const t of [nodeTable(o.nodeStatus), addonTable(o.addons), timingTable(o.timings)])
        if (t.rows.length) io.out(renderText(t))
    return result.status === 'ok' ? 0 : 1
  }
}
