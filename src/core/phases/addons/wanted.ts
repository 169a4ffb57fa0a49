// The wanted state of every enabled addon: chart from the table, values from the cluster file overlaid
// with the repository's values file, the hash idempotence compares, and a refusal when a node lacks a
// prerequisite.
import { readFile } from 'node:fs/promises'
import { isAbsolute, join } from 'node:path'
import { parse } from 'yaml'
import type { NodeSpec } from '../../config/model.js'
import { PhaseError } from '../../errors.js'
import type { PhaseContext } from '../types.js'
import { CHARTS, type AddonName } from './charts.js'
import { enabledAddons, type WantedAddon } from './decide.js'
import { longhornRefusal, type PackageProbe } from './prerequisites.js'
import { baseValues, mergeValues, valuesHash, type Values } from './values.js'

export interface WantedWithValues extends WantedAddon {
  values: Values
}

/** addons.values[name], relative to the working directory; must hold a YAML mapping. */
export async function userValues(ctx: PhaseContext, addon: AddonName): Promise<Values> {
  const rel = ctx.cluster.addons.values[addon]
  if (!rel) return {}
  const path = isAbsolute(rel) ? rel : join(ctx.settings.workingDirectory, rel)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    throw new PhaseError(
      'addons',
      undefined,
      `values file ${rel} of addon ${addon} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}), expected a YAML file relative to ${ctx.settings.workingDirectory}`,
      'fix addons.values in the cluster file and re-run',
      { code: 'AddonValuesInvalid' }
    )
  }
  let parsed: unknown
  try {
    parsed = parse(text) ?? {}
  } catch (e) {
    throw new PhaseError(
      'addons',
      undefined,
      `values file ${rel} of addon ${addon} is not valid YAML: ${(e as Error).message.split('\n')[0]}`,
      'fix the file and re-run',
      { code: 'AddonValuesInvalid' }
    )
  }
  if (typeof parsed !== 'object' || Array.isArray(parsed))
    throw new PhaseError(
      'addons',
      undefined,
      `values file ${rel} of addon ${addon} holds a ${Array.isArray(parsed) ? 'list' : typeof parsed}, expected a mapping of Helm values`,
      'fix the file and re-run',
      { code: 'AddonValuesInvalid' }
    )
  return parsed as Values
}

export async function wantedAddons(
  ctx: PhaseContext,
  probe: PackageProbe,
  nodes?: NodeSpec[]
): Promise<Map<AddonName, WantedWithValues>> {
  const wanted = new Map<AddonName, WantedWithValues>()
  for (const addon of enabledAddons(ctx.cluster)) {
    const values = mergeValues(baseValues(addon, ctx.cluster), await userValues(ctx, addon))
    const refused = addon === 'longhorn' ? await longhornRefusal(ctx, probe, nodes) : undefined
    wanted.set(addon, { spec: CHARTS[addon], values, hash: valuesHash(values), ...(refused ? { refused } : {}) })
  }
  return wanted
}
