// Console text an RK1 prints on UART9 (115200), modelled on real-samples B2 with RK1 board names (B1).
export const DDR_LINES =
  [
    'DDR 9fa84341ce typ 24/09/06-09:51:11,fwver: v1.18',
    'ch0 ttot10',
    'ch1 ttot10',
    'ch2 ttot10',
    'ch3 ttot10',
    'ch0 ttot18',
    'LPDDR4X, 2112MHz',
    'channel[0] BW=16 Col=10 Bk=8 CS0 Row=17 CS1 Row=17 CS=2 Die BW=8 Size=4096MB',
    'change to F0: 2112MHz',
    'out',
    ''
  ].join('\r\n') + '\r\n'

/**
 * The boot ROM loads the next stage from the eMMC the moment DDR init prints "out": on hardware the
 * loader's first line follows within milliseconds, whatever the rest of the boot takes. The lab keeps
 * that gap short however long a test makes its boots (the live-member rule reads "out" and then silence
 * as a blank eMMC).
 */
export const LOADER_AFTER_DDR_MS = 50

export const LOADER_LINES =
  [
    'U-Boot SPL 2024.10-armbian (Aug 06 2025 - 04:29:12 +0000)',
    'Trying to boot from MMC1',
    '## Checking hash(es) for config config-1 ... OK',
    '## Checking hash(es) for Image atf-1 ... sha256+ OK',
    '## Checking hash(es) for Image u-boot ... sha256+ OK',
    '## Checking hash(es) for Image fdt-1 ... sha256+ OK',
    'INFO:    Preloader serial: 9',
    'NOTICE:  BL31: v2.3():v2.3-868-g040d2de11:derrick.huang, fwver: v1.48',
    'INFO:    BL31: Preparing for EL3 exit to normal world',
    'INFO:    Entry point address = 0xa00000',
    'INFO:    SPSR = 0x3c9',
    '',
    '',
    'U-Boot 2024.10-armbian-2024.10 (Aug 06 2025 - 04:29:12 +0000)',
    '',
    'Model: Turing Machines RK1',
    'DRAM:  8 GiB (effective 7.7 GiB)',
    'MMC:   mmc@fe2c0000: 1, mmc@fe2e0000: 0',
    'In:    serial@febc0000',
    'Out:   serial@febc0000',
    'Err:   serial@febc0000',
    'Hit any key to stop autoboot:  0 ',
    'Scanning for bootflows in all bootdevs',
    "** Booting bootflow 'mmc@fe2e0000.bootdev.part_1' with script",
    'Boot script loaded from mmc 0:1',
    ''
  ].join('\r\n') + '\r\n'

export const KERNEL_LINES = 'Starting kernel ...\r\n\r\n\r\n'

export function armbianLogin(hostname: string): string {
  return `Armbian 25.8.1 Bookworm ttyS9 \r\n\r\n${hostname} login: `
}
