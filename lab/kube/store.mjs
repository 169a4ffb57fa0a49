// The emulated Kubernetes API's state: one JSON file in the data folder, so the API server, the kubectl and
// helm stand-ins and other lab programs (k3s/Talos stand-ins registering nodes) all see the same objects,
// even from separate processes. Writers hold an exclusive lock file; every update is synchronous so a
// registerNode() from any process is a plain function call.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { withFileLock } from './lock.mjs'
import { heldSnapshot, loadFromEtcd, saveToEtcd } from '../etcd/kube-store.mjs'

export const STATE_FILE = 'kube-state.json'

export function emptyState() {
  return { resourceVersion: 1, token: '', version: 'v1.31.3', objects: {} }
}

export function stateFile(dataDir) {
  return join(dataDir, STATE_FILE)
}

// A data folder with etcd.json keeps its ConfigMaps in that etcd (lab/etcd/kube-store.mjs), the rest here.
export function readState(dataDir) {
  let state
  try {
    state = JSON.parse(readFileSync(stateFile(dataDir), 'utf8'))
  } catch {
    state = emptyState()
  }
  return loadFromEtcd(dataDir, state)
}

/** Runs fn(state) under the lock and saves the state; returns what fn returned. */
export function updateState(dataDir, fn) {
  const file = stateFile(dataDir)
  mkdirSync(dataDir, { recursive: true })
  return withFileLock(file, 'lab kube: state', () => {
    const state = readState(dataDir)
    const before = heldSnapshot(dataDir, state)
    const result = fn(state)
    const tmp = `${file}.${process.pid}.tmp`
    writeFileSync(tmp, JSON.stringify(saveToEtcd(dataDir, before, state), null, 1))
    renameSync(tmp, file)
    return result
  })
}
