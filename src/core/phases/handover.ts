// Values one phase hands to the next through outputs.values, named here so neither phase imports the other.

/** outputs.values key holding the UART snapshot the flash phase took right before power-on, for boot. */
export const uartSnapshotKey = (node: string): string => `boot:uart:${node}`

/** outputs.values key where os-bootstrap leaves installed packages (string[] or per node id), for the addons' iSCSI check. */
export const BOOTSTRAP_PACKAGES_KEY = 'os-bootstrap.packages'
