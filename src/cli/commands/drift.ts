import { runPictures } from '../../report/pictures.js'
import { driftTable, renderText } from '../../report/tables.js'
import type { VerbSpec } from './shared.js'

/** Exit codes like `terraform plan -detailed-exitcode`: 0 in sync, 2 drift, 1 could not check. */
export const drift: VerbSpec = {
  name: 'drift',
  short: 'Compares the running cluster with the file. Exit 0 in sync, 2 drift, 1 could not check.',
  example: 'TPI_BMC_PASSWORD=… turingpi-cluster drift --config cluster.yaml',
  render(result, io, json) {
    const findings = result.findings ?? []
    const pictures = json ? '' : runPictures(result, 'drift').text
    if (pictures) io.out(pictures)
    if (json) io.out(JSON.stringify(findings))
    else io.out(findings.length ? renderText(driftTable(findings)) : 'in sync: no drift found')
    if (result.status === 'error') return 1
    return result.status === 'drift' ? 2 : 0
  }
}
