// The lab Kubernetes API, for TypeScript (index.d.mts) and for node stand-ins on simulated nodes alike.
export { startKubeApi } from './server.mjs'
export { kubeconfigFor } from './kubeconfig.mjs'
export { registerNode, setReady, deleteNode, listNodes } from './nodes.mjs'
export { readState, updateState, STATE_FILE } from './store.mjs'
export { READY_AT } from './objects.mjs'
