import { runPictures } from '../../report/pictures.js'
import { planTable, renderText } from '../../report/tables.js'
import type { VerbSpec } from './shared.js'

export const plan: VerbSpec = {
  name: 'plan',
  short: 'Shows what a deploy would do on each node and phase, and why. Changes nothing.',
  example: 'TPI_BMC_PASSWORD=… turingpi-cluster plan --config cluster.yaml',
  render(result, io, json) {
    const pictures = json ? '' : runPictures(result, 'plan').text
    if (pictures) io.out(pictures)
    io.out(json ? JSON.stringify(result.plan ?? []) : renderText(planTable(result.plan ?? [])))
    return 0
  }
}
