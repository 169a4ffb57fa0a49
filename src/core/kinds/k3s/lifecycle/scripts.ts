// The bash run on K3s nodes for backup, restore, removal and wipe: pure builders (parameters quoted at the top, never
// interpolated), so tests assert them and shellcheck reads them. Paths are K3s's own.
import type { NodeSpec } from '../../../config/model.js'
import { q, script } from '../../../remote/script.js'
import { K3S_SERVER_TOKEN, K3S_TOKEN_FILE } from '../config.js'

export const DB_DIR = '/var/lib/rancher/k3s/server/db'
export const SNAPSHOT_DIR = `${DB_DIR}/snapshots`
/** Where restore puts the snapshot it uploads (0600, removed after the reset). */
export const RESTORE_FILE = `${SNAPSHOT_DIR}/turingpi-restore.db`
/** Where restore puts a SQLite datastore copy it uploads (0600, moved into place by sqliteRestoreScript). */
export const SQLITE_RESTORE_FILE = `${DB_DIR}/turingpi-restore.state.db`

/** key=value facts: datastore (etcd|sqlite|none), version, token present. */
export function observeServerScript(): string {
  return script(
    { DB: DB_DIR, SERVER_TOKEN: K3S_SERVER_TOKEN },
    `
if [ -d "$DB/etcd/member" ]; then echo datastore=etcd
elif [ -f "$DB/state.db" ]; then echo datastore=sqlite
else echo datastore=none; fi
echo "version=$(k3s --version 2>/dev/null | awk 'NR == 1 {print $3}')"
if [ -s "$SERVER_TOKEN" ]; then echo token=yes; else echo token=no; fi`
  )
}

/**
 * k3s etcd-snapshot save --name NAME, then prints the snapshot's path (k3s names it NAME-<node>-<time> and
 * logs rather than prints it). On-demand snapshots are outside k3s's retention: the caller deletes it
 * after copying it off.
 */
export function etcdSnapshotScript(name: string): string {
  return script(
    { NAME: name, DIR: SNAPSHOT_DIR },
    `
if ! out=$(k3s etcd-snapshot save --name "$NAME" 2>&1); then printf '%s\\n' "$out" | tail -n 5 >&2; exit 1; fi
file=''
for f in "$DIR/$NAME"-*; do
  if [ -e "$f" ] && { [ -z "$file" ] || [ "$f" -nt "$file" ]; }; then file=$f; fi
done
[ -n "$file" ] || { echo "k3s etcd-snapshot save reported success but no $DIR/$NAME-* exists" >&2; exit 1; }
echo "$file"`
  )
}

/**
 * A consistent copy of a single server's SQLite datastore: SQLite's online backup when the sqlite3 CLI is
 * there, else k3s stopped for the copy (state.db plus its -wal) and started again. Prints the copy's path.
 */
export function sqliteCopyScript(dest: string): string {
  return script(
    { DB: DB_DIR, DEST: dest },
    `
umask 077
if command -v sqlite3 >/dev/null 2>&1; then
  sqlite3 "$DB/state.db" ".backup '$DEST'"
else
  systemctl stop k3s
  trap 'systemctl start k3s' EXIT
  sqlite3_wal="$DB/state.db-wal"
  cp "$DB/state.db" "$DEST"
  if [ -f "$sqlite3_wal" ]; then cp "$sqlite3_wal" "$DEST-wal"; fi
fi
echo "$DEST"`
  )
}

export function readServerTokenScript(): string {
  return script({ SERVER_TOKEN: K3S_SERVER_TOKEN }, 'cat "$SERVER_TOKEN"')
}

/** Stops k3s (server) or k3s-agent; a unit that is not installed is not an error. */
export function stopScript(unit: 'k3s' | 'k3s-agent'): string {
  return script({ UNIT: unit }, 'systemctl stop "$UNIT" || true')
}

/**
 * On the first server: the backup's token into the token file (stdin), then `k3s server --cluster-reset
 * --cluster-reset-restore-path`, then k3s started again on the restored single-member datastore.
 */
export function clusterResetScript(): string {
  return script(
    { TOKEN_FILE: K3S_TOKEN_FILE, SNAP: RESTORE_FILE },
    `
umask 077
cat > "$TOKEN_FILE"
if ! out=$(k3s server --cluster-reset --cluster-reset-restore-path="$SNAP" 2>&1); then printf '%s\\n' "$out" | tail -n 5 >&2; exit 1; fi
rm -f "$SNAP"
systemctl start k3s
echo "tpi-result: changed reset-from=$SNAP"`
  )
}

/**
 * On a single server on SQLite: k3s stopped, the current state.db (and its -wal/-shm) moved aside to
 * state.db.before-restore-<time> (kept: the way back), the uploaded copy put in its place, the backup's
 * token (stdin) written to the token file and to server/token (where it was read from, so the datastore's
 * bootstrap data decrypts), then k3s started again.
 */
export function sqliteRestoreScript(): string {
  return script(
    { TOKEN_FILE: K3S_TOKEN_FILE, SERVER_TOKEN: K3S_SERVER_TOKEN, DB: DB_DIR, COPY: SQLITE_RESTORE_FILE },
    `
umask 077
token=$(cat)
[ -n "$token" ] || { echo "no token on stdin" >&2; exit 1; }
[ -s "$COPY" ] || { echo "$COPY is missing or empty" >&2; exit 1; }
systemctl stop k3s
aside="state.db.before-restore-$(date -u +%Y%m%dT%H%M%SZ)"
for suffix in '' -wal -shm; do
  if [ -e "$DB/state.db$suffix" ]; then mv "$DB/state.db$suffix" "$DB/$aside$suffix"; fi
done
mv "$COPY" "$DB/state.db"
printf '%s\n' "$token" > "$TOKEN_FILE"
printf '%s\n' "$token" > "$SERVER_TOKEN"
systemctl start k3s
echo "tpi-result: changed restored=$DB/state.db aside=$DB/$aside"`
  )
}

/** On the other servers: the backup's token (stdin), their datastore cleared, k3s started: they rejoin. */
export function rejoinServerScript(): string {
  return script(
    { TOKEN_FILE: K3S_TOKEN_FILE, DB: DB_DIR },
    `
umask 077
cat > "$TOKEN_FILE"
rm -rf "$DB"
systemctl start k3s
echo "tpi-result: changed rejoined"`
  )
}

/** On agents: the backup's token (stdin) and a restart, so they reconnect to the restored servers. */
export function restartAgentScript(): string {
  return script(
    { TOKEN_FILE: K3S_TOKEN_FILE },
    `
umask 077
cat > "$TOKEN_FILE"
systemctl restart k3s-agent
echo "tpi-result: changed restarted"`
  )
}

export function drainScript(hostname: string): string {
  return script(
    { NODE_NAME: hostname },
    `
k3s kubectl cordon "$NODE_NAME" >/dev/null
k3s kubectl drain "$NODE_NAME" --ignore-daemonsets --delete-emptydir-data --timeout=300s >/dev/null
echo "tpi-result: changed drained=$NODE_NAME"`
  )
}

/** On a node being removed: k3s stopped and disabled, so it does not register again once its Node is gone. */
export function stopNodeScript(role: NodeSpec['role']): string {
  return script(
    { UNIT: role === 'controlplane' ? 'k3s' : 'k3s-agent' },
    'systemctl disable --now "$UNIT" >/dev/null 2>&1 || true\necho "tpi-result: changed stopped=$UNIT"'
  )
}

/** The uninstall script K3s's installer left on the node (server or agent). */
export function uninstallScript(role: NodeSpec['role']): string {
  const file = role === 'controlplane' ? '/usr/local/bin/k3s-uninstall.sh' : '/usr/local/bin/k3s-agent-uninstall.sh'
  return `set -eu\nif [ -x ${file} ]; then ${file} >/dev/null 2>&1; echo uninstalled; else echo absent; fi\n`
}

/** The Secret in which K3s keeps a node's password hash (checked when the node's agent registers). */
export function nodePasswordSecret(hostname: string): string {
  return `${hostname}.node-password.k3s`
}

/**
 * The kubectl argv that deletes one node's node-password Secret: a restored datastore holds those of the
 * install the backup was taken from, and a node flashed since then has a new password, so its agent would
 * be refused ("Node password rejected") until the old Secret is gone. A missing Secret is not an error.
 */
export function deleteNodePasswordArgv(hostname: string): string[] {
  return [
    'k3s',
    'kubectl',
    '--namespace',
    'kube-system',
    'delete',
    'secret',
    '--ignore-not-found',
    nodePasswordSecret(hostname)
  ]
}

/** One deleteNodePasswordArgv per node (each word quoted), run on the first server once its API answers. */
export function deleteNodePasswordsScript(hostnames: readonly string[]): string {
  const lines = hostnames.map((h) => `${deleteNodePasswordArgv(h).map(q).join(' ')} >/dev/null`)
  return script({}, [...lines, `echo "tpi-result: changed node-passwords-deleted=${hostnames.length}"`].join('\n'))
}
