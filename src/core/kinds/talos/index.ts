// Talos phases and what other phases call (the flash phase resolves the factory image through here).
export { talosInstallPhase } from './install-phase.js'
export { talosJoinPhase } from './join-phase.js'
export { resolveTalosImage, ensureSchematic, localSchematic, postSchematic, type TalosImage } from './factory.js'
export { buildSchematic, marshalSchematic, schematicId, installerImage, LONGHORN_EXTENSIONS } from './schematic.js'
export { TALOS_LONGHORN_PATH } from './patches.js'
