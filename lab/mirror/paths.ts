// The lab's mirror URL convention: <mirror base>/<upstream host><upstream path>. Paths are compared
// decoded, so `v1.31.3+k3s1` and `v1.31.3%2Bk3s1` name the same file.
import { isAbsolute, join, normalize, relative } from 'node:path'

/** The mirror URL of an upstream URL, e.g. https://github.com/a/b → <base>/github.com/a/b. */
export function mirrorUrl(base: string, upstream: string): string {
  const u = new URL(upstream)
  return `${base.replace(/\/+$/, '')}/${u.host}${u.pathname}${u.search}`
}

/** `/github.com/x/v1%2B2` or `https://github.com/x/v1+2` → `github.com/x/v1+2` (decoded, no leading slash). */
export function canonicalPath(urlPath: string): string {
  const path = /^https?:\/\//.test(urlPath)
    ? (() => {
        const u = new URL(urlPath)
        return `/${u.host}${u.pathname}`
      })()
    : urlPath
  const decoded = path
    .split('/')
    .map((seg) => {
      try {
        return decodeURIComponent(seg)
      } catch {
        return seg
      }
    })
    .join('/')
  return normalize(decoded).replace(/^\/+/, '')
}

/** The file under root for a URL path; undefined when it would escape root. */
export function fileFor(root: string, urlPath: string): string | undefined {
  const rel = canonicalPath(urlPath)
  const file = join(root, rel)
  const back = relative(root, file)
  return back === '' || back.startsWith('..') || isAbsolute(back) ? undefined : file
}
