export {
  buildArmbianImage,
  buildTalosImage,
  buildBenchImage,
  writeGarbageImage,
  armbianTree,
  ARMBIAN_KERNEL,
  ARMBIAN_VERSION,
  DEFAULT_SCHEMATIC
} from './build.js'
export type { ArmbianImageOptions, TalosImageOptions } from './build.js'
export { readImageFile, writeImageFiles, readPartitions, rootPartition, fsSpec } from './disk.js'
export type { BuiltImage, Partition } from './disk.js'
