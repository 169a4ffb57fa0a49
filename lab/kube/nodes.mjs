// Node registration straight into the state file: usable from any lab process (a k3s or Talos stand-in)
// with or without the API server running in it. The server reads the file on every request.
import { nodeObject, readyCondition } from './objects.mjs'
import { readState, updateState } from './store.mjs'

const key = (name) => `/nodes//${name}`

function bump(state, obj) {
  state.resourceVersion += 1
  obj.metadata.resourceVersion = String(state.resourceVersion)
}

export function registerNode(dataDir, node) {
  for (const f of ['name', 'ip', 'kubeletVersion', 'osImage', 'kernelVersion', 'containerRuntime'])
    if (typeof node[f] !== 'string' || !node[f])
      throw new Error(`lab kube: registerNode needs ${f} (a non-empty string), got ${JSON.stringify(node[f])}`)
  updateState(dataDir, (state) => {
    const obj = nodeObject(node, state.objects[key(node.name)])
    bump(state, obj)
    state.objects[key(node.name)] = obj
  })
}

export function setReady(dataDir, name, ready, reason) {
  updateState(dataDir, (state) => {
    const obj = state.objects[key(name)]
    if (!obj)
      throw new Error(
        `lab kube: setReady: no node "${name}" registered (known: ${nodeNames(state).join(', ') || 'none'})`
      )
    obj.status.conditions = [readyCondition(ready, reason)]
    bump(state, obj)
  })
}

export function deleteNode(dataDir, name) {
  updateState(dataDir, (state) => {
    delete state.objects[key(name)]
    state.resourceVersion += 1
  })
}

function nodeNames(state) {
  return Object.keys(state.objects)
    .filter((k) => k.startsWith('/nodes//'))
    .map((k) => k.slice(8))
}

export function listNodes(dataDir) {
  const state = readState(dataDir)
  return nodeNames(state).map((n) => state.objects[key(n)])
}
