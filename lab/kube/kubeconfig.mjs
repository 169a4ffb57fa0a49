// A kubeconfig for the emulated API: the server URL the caller gives (usually the cluster's LAN endpoint,
// which lab clients map to loopback through address-map.json), the API's CA, its bearer token and fake
// client certificate data (present because real kubeconfigs carry them; the lab API checks only the token).
export function kubeconfigFor(api, serverUrl, name = 'lab') {
  const u = new URL(serverUrl)
  const scheme = api.caPem ? 'https' : 'http'
  const server = `${scheme}://${u.host}`
  const b64 = (t) => Buffer.from(t).toString('base64')
  const cluster = api.caPem ? `    certificate-authority-data: ${b64(api.caPem)}\n` : ''
  return `apiVersion: v1
clusters:
- cluster:
${cluster}    server: ${server}
  name: ${name}
contexts:
- context:
    cluster: ${name}
    user: ${name}-admin
  name: ${name}
current-context: ${name}
kind: Config
preferences: {}
users:
- name: ${name}-admin
  user:
    client-certificate-data: ${b64(`lab client certificate for ${name}`)}
    client-key-data: ${b64(`lab client key for ${name}`)}
    token: ${api.token}
`
}
