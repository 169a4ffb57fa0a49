// Real etcd members for the lab's simulated control planes; see README.md.
export { startEtcdMember, stopAllEtcd, freePort, etcdArgs, initialClusterFlag } from './member.mjs'
export {
  memberList,
  memberAdd,
  joinPeers,
  memberRemove,
  healthy,
  waitHealthy,
  snapshotSave,
  snapshotRestore,
  getPrefixSync,
  putSync,
  delSync
} from './ctl.mjs'
export { ETCD_FILE, attachEtcd, etcdConfig, loadFromEtcd, saveToEtcd, heldSnapshot } from './kube-store.mjs'
export {
  serveK3sEtcd,
  k3sSnapshotSave,
  k3sClusterReset,
  listSnapshots,
  wipeK3sEtcd,
  ETCD_DATA,
  SNAPSHOT_DIR
} from './k3s.mjs'
