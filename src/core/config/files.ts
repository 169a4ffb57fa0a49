// Files the cluster file names on the runner. Values files and Talos patches are read and sent to the
// cluster, so a file edited in a pull request must not make `plan` read /etc/shadow or ../../secrets:
// they must resolve (after symlinks) inside the working directory. Local images may live anywhere on
// a self-hosted runner's disk, but are given absolute or inside the working directory, and must exist.
import { realpath, stat } from 'node:fs/promises'
import { isAbsolute, relative, resolve, sep } from 'node:path'
import type { Finding } from './checks.js'
import { rkllamaLock } from '../tools/python-lock.js'
import { RKLLAMA_VERSION } from '../kinds/k3s/npu/artifacts.js'
import { runnerPath } from './kinds.js'
import type { Cluster } from './model.js'
import type { YamlPath } from './positions.js'

const IMAGE_NAME = /\.(img|raw)(\.xz)?$/i

interface Named {
  at: YamlPath
  what: string
  path: string
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path)
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && !rel.startsWith(`..${sep}`))
}

/** Values files and patches: the files whose content is read and sent on. */
function contentFiles(c: Cluster): Named[] {
  const out: Named[] = Object.entries(c.addons.values).map(([addon, path]) => ({
    at: ['addons', 'values', addon],
    what: `values file of ${addon}`,
    path
  }))
  const lock = c.kind === 'k3s' ? c.npu?.rkllama_requirements_lock : undefined
  if (lock !== undefined)
    out.push({ at: ['npu_config', 'rkllama_requirements_lock'], what: 'rkllama requirements lock', path: lock })
  if (c.kind === 'talos') {
    for (const role of ['all', 'controlplane', 'worker'] as const)
      c.patches[role].forEach((path, i) => out.push({ at: ['patches', role, i], what: 'patch file', path }))
    for (const n of c.nodes)
      (n.patches ?? []).forEach((path, i) => out.push({ at: [...n.path, 'patches', i], what: 'patch file', path }))
  }
  return out
}

function localImage(c: Cluster): Named | undefined {
  if (c.kind === 'k3s') {
    const p = c.armbian_image.path
    return c.armbian_image.source === 'local' && p !== undefined
      ? { at: ['armbian_image', 'path'], what: 'armbian_image.path', path: p }
      : undefined
  }
  return c.image_source === 'local' && c.image_path !== undefined
    ? { at: ['image_path'], what: 'image_path', path: c.image_path }
    : undefined
}

const why = (e: unknown): string => {
  const code = (e as NodeJS.ErrnoException).code
  return code === 'ENOENT'
    ? 'does not exist'
    : code === 'EACCES'
      ? 'cannot be read (permission denied)'
      : (e as Error).message
}

export async function checkFiles(c: Cluster, workingDirectory: string): Promise<Finding[]> {
  const out: Finding[] = []
  let root: string
  try {
    root = await realpath(resolve(workingDirectory))
  } catch (e) {
    return [{ code: 'WorkingDirectoryMissing', at: [], message: `working-directory ${workingDirectory} ${why(e)}` }]
  }
  for (const f of contentFiles(c)) {
    if (runnerPath(f.path)) continue // already refused by its kind, at the same place
    const shown = JSON.stringify(f.path)
    const lexical = resolve(root, f.path)
    if (!inside(root, lexical)) {
      out.push({
        code: 'FileOutsideWorkingDirectory',
        at: f.at,
        message: `${f.what} ${shown} is outside the working directory ${workingDirectory}: expected a path inside it (the file is read and sent to the cluster)`
      })
      continue
    }
    try {
      const real = await realpath(lexical)
      if (!inside(root, real)) {
        out.push({
          code: 'FileOutsideWorkingDirectory',
          at: f.at,
          message: `${f.what} ${shown} leads (through a symbolic link) to ${real}, outside the working directory ${workingDirectory}`
        })
        continue
      }
      if (!(await stat(real)).isFile())
        out.push({ code: 'FileMissing', at: f.at, message: `${f.what} ${shown} is not a regular file` })
    } catch (e) {
      out.push({
        code: 'FileMissing',
        at: f.at,
        message: `${f.what} ${shown} ${why(e)} (relative to the working directory ${workingDirectory})`
      })
    }
  }
  out.push(...checkRkllamaLock(c, root, out))
  const image = localImage(c)
  if (image && !runnerPath(image.path)) {
    const shown = JSON.stringify(image.path)
    // The file is uploaded to the BMC and written to a node: only what is named like a disk image.
    if (!IMAGE_NAME.test(image.path))
      out.push({
        code: 'NotAnImage',
        at: image.at,
        message: `${image.what} ${shown} is not named like a disk image: expected a .img, .img.xz, .raw or .raw.xz file`
      })
    else if (!isAbsolute(image.path) && !inside(root, resolve(root, image.path))) {
      out.push({
        code: 'FileOutsideWorkingDirectory',
        at: image.at,
        message: `${image.what} ${shown} leaves the working directory: give an absolute path, or one inside ${workingDirectory}`
      })
    } else {
      try {
        if (!(await stat(resolve(root, image.path))).isFile())
          out.push({ code: 'FileMissing', at: image.at, message: `${image.what} ${shown} is not a regular file` })
      } catch (e) {
        out.push({ code: 'FileMissing', at: image.at, message: `${image.what} ${shown} ${why(e)}` })
      }
    }
  }
  return out
}

/** The lock the file names, once it passed the path checks above, must be a hashed lock. */
function checkRkllamaLock(c: Cluster, root: string, found: Finding[]): Finding[] {
  const path = c.kind === 'k3s' ? c.npu?.rkllama_requirements_lock : undefined
  const at: YamlPath = ['npu_config', 'rkllama_requirements_lock']
  if (path === undefined || runnerPath(path) || found.some((f) => f.at.join('.') === at.join('.'))) return []
  const lock = rkllamaLock(path, root, RKLLAMA_VERSION)
  return 'problem' in lock ? [{ code: 'RkllamaLockInvalid', at, message: lock.problem }] : []
}
