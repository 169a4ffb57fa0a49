// A fleet is a folder of cluster files. `config` names one file, a folder (every *.yaml / *.yml in it,
// not its subfolders) or a glob (`clusters/*.yaml`, `sites/**/cluster.yaml`). Node 20 has no fs.glob,
// so the few glob forms a user writes are matched here: `*` and `?` within one path segment, `**`
// across segments. Files come back sorted, so a matrix and a summary have a stable order.
import { readdir, stat } from 'node:fs/promises'
import { isAbsolute, join, relative, resolve, sep } from 'node:path'

const CLUSTER_FILE = /\.ya?ml$/i

export function isGlob(pattern: string): boolean {
  return /[*?[]/.test(pattern)
}

/** The glob as a RegExp on `/`-separated paths. */
export function globRegExp(pattern: string): RegExp {
  let out = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]
    if (c === '*' && pattern[i + 1] === '*') {
      // `**/` matches zero or more whole segments; a trailing `**` matches the rest.
      if (pattern[i + 2] === '/') {
        out += '(?:[^/]+/)*'
        i += 2
      } else {
        out += '.*'
        i += 1
      }
    } else if (c === '*') out += '[^/]*'
    else if (c === '?') out += '[^/]'
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${out}$`)
}

async function walk(dir: string, deep: boolean): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => [])
  const out: string[] = []
  for (const e of entries) {
    const path = join(dir, e.name)
    if (e.isDirectory() && deep && !e.name.startsWith('.')) out.push(...(await walk(path, deep)))
    else if (e.isFile()) out.push(path)
  }
  return out
}

export class FleetFilesError extends Error {}

/**
 * The cluster files `config` stands for, as paths relative to `cwd` (as the user wrote them). One file
 * stays one file, whatever its extension. A folder or glob that matches nothing is an error: a fleet
 * job that silently checks no cluster would look green.
 */
export async function clusterFiles(config: string, cwd = '.'): Promise<string[]> {
  const full = resolve(cwd, config)
  // As the user wrote it: relative to cwd, or absolute when config is.
  const shown = (f: string): string => (isAbsolute(config) ? f : relative(cwd, f).split(sep).join('/'))
  if (!isGlob(config)) {
    const info = await stat(full).catch(() => undefined)
    if (!info?.isDirectory()) return [config]
    const files = (await walk(full, false)).filter((f) => CLUSTER_FILE.test(f))
    if (!files.length) throw new FleetFilesError(`config ${config}: the folder holds no cluster file (*.yaml or *.yml)`)
    return files.map(shown).sort()
  }
  const normalized = config.replace(/^\.\//, '')
  const fixed = normalized.split('/').findIndex((s) => isGlob(s))
  const base = normalized.split('/').slice(0, fixed).join('/') || '.'
  const deep = normalized.includes('**') || normalized.split('/').length - fixed > 1
  const re = globRegExp(normalized)
  const files = (await walk(resolve(cwd, base), deep))
    .map(shown)
    .filter((f) => re.test(f))
    .sort()
  if (!files.length) throw new FleetFilesError(`config ${config}: no file matches`)
  return files
}
