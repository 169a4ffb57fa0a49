// The `mirror` setting: one URL base for every download, and (K3s) the nodes' apt sources. It reaches
// the runner's HTTP client and, as data, scripts on the nodes, so it is held to a strict shape:
// http(s)://host[:port][/path] with a path of plain URL characters: no credentials, query, fragment,
// spaces, quotes or shell syntax. http is allowed because every byte it serves is checked against a
// digest that never comes from it.

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?'
const MIRROR = new RegExp(
  `^https?://(?:${LABEL}(?:\\.${LABEL})*|\\[[0-9A-Fa-f:.]+\\])(?::(\\d{1,5}))?(?:/[A-Za-z0-9._~%/-]*)?$`
)

/** The mirror base without trailing slashes, or a message saying what is wrong with it. */
export function checkMirror(value: string): { mirror: string } | { problem: string } {
  const m = MIRROR.exec(value)
  if (!m || (m[1] !== undefined && Number(m[1]) > 65535) || /%(?![0-9A-Fa-f]{2})/.test(value))
    return {
      problem: `mirror ${JSON.stringify(value)} is not a URL base of the form http(s)://host[:port][/path] (letters, digits and . _ ~ % - / only)`
    }
  return { mirror: value.replace(/\/+$/, '') }
}
