// talosctl's command line as cobra parses it: flags anywhere, --flag value, --flag=value, short
// aliases, repeatable string arrays, booleans that take =false.
const ALIASES = {
  n: 'nodes',
  e: 'endpoints',
  f: 'file',
  o: 'output',
  t: 'output-types',
  p: 'config-patch',
  i: 'insecure',
  m: 'mode',
  c: 'config'
}
const BOOLEAN = new Set([
  'insecure',
  'dry-run',
  'force',
  'merge',
  'with-docs',
  'with-examples',
  'client',
  'short',
  'strict',
  'server',
  'with-kubespan',
  'with-cluster-discovery',
  'persist',
  'wait',
  'preserve',
  'stage',
  'graceful',
  'reboot',
  'recover-skip-hash-check'
])
const REPEATED = new Set([
  'config-patch',
  'config-patch-control-plane',
  'config-patch-worker',
  'nodes',
  'endpoints',
  'output-types',
  'control-plane-nodes',
  'worker-nodes',
  'additional-sans',
  'system-labels-to-wipe'
])

export function parseArgs(argv) {
  const flags = {}
  const positional = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--') {
      positional.push(...argv.slice(i + 1))
      break
    }
    const m = /^--?([^=]+)(?:=(.*))?$/.exec(a)
    if (!m || a === '-') {
      positional.push(a)
      continue
    }
    const name = ALIASES[m[1]] ?? m[1]
    let value
    if (BOOLEAN.has(name)) value = m[2] === undefined ? true : m[2] !== 'false'
    else if (m[2] !== undefined) value = m[2]
    else {
      value = argv[++i]
      if (value === undefined) throw new Error(`flag needs an argument: --${name}`)
    }
    if (REPEATED.has(name)) {
      const parts =
        name === 'config-patch' || name.startsWith('config-patch-') ? [value] : String(value).split(',').filter(Boolean)
      flags[name] = [...(flags[name] ?? []), ...parts]
    } else flags[name] = value
  }
  return { flags, positional }
}
