// The NVMe script: a filesystem is created only on a blank device. A device carrying our own ext4
// label is reused as it is (a reflashed eMMC must not lose the Longhorn data on the NVMe); anything
// else on it is refused unless the cluster file says nvme_format: true. Mounted by UUID via fstab.
import { script } from '../../../remote/script.js'

/** The ext4 label of a filesystem this action created; reused without formatting. */
export const NVME_LABEL = 'tpi-longhorn'

export function nvmeScript(input: { device: string; mount: string; allowFormat: boolean }): string {
  return script(
    { DEVICE: input.device, MOUNT_POINT: input.mount, ALLOW_FORMAT: input.allowFormat ? '1' : '0', LABEL: NVME_LABEL },
    `
if [ ! -b "$DEVICE" ]; then
  echo "NVMe device $DEVICE not found (has_nvme: true); block devices: $(lsblk -dn -o NAME 2>/dev/null | tr '\\n' ' ')" >&2
  exit 3
fi
fstype=$(blkid -p -s TYPE -o value "$DEVICE" 2>/dev/null || true)
label=$(blkid -p -s LABEL -o value "$DEVICE" 2>/dev/null || true)
signatures=$(wipefs -n -O TYPE --noheadings "$DEVICE" 2>/dev/null | tr '\\n' ' ' || true)
parts=$(lsblk -n -o NAME "$DEVICE" 2>/dev/null | tail -n +2 | tr -d ' ' | tr '\\n' ' ' || true)
if [ "$fstype" = ext4 ] && [ "$label" = "$LABEL" ]; then
  : # ours from an earlier run: keep the data
elif [ -z "$fstype" ] && [ -z "\${signatures// /}" ] && [ -z "\${parts// /}" ]; then
  mkfs.ext4 -q -L "$LABEL" "$DEVICE"
  changed "mkfs=$DEVICE"
elif [ "$ALLOW_FORMAT" = 1 ]; then
  wipefs -a -q "$DEVICE"
  mkfs.ext4 -q -F -L "$LABEL" "$DEVICE"
  changed "reformatted=$DEVICE(nvme_format)"
else
  echo "refusing to format $DEVICE: it holds data (filesystem: \${fstype:-none}, signatures: \${signatures:-none}, partitions: \${parts:-none}); set nvme_format: true on this node to erase it" >&2
  exit 4
fi
uuid=$(blkid -p -s UUID -o value "$DEVICE")
line="UUID=$uuid $MOUNT_POINT ext4 defaults,nofail 0 2"
if ! grep -qxF "$line" /etc/fstab 2>/dev/null; then
  { awk -v m="$MOUNT_POINT" '$1 ~ /^#/ || $2 != m' /etc/fstab 2>/dev/null || true; echo "$line"; } > /etc/fstab.tpi
  mv -f /etc/fstab.tpi /etc/fstab
  changed "fstab=$MOUNT_POINT"
fi
mkdir -p "$MOUNT_POINT"
if ! mountpoint -q "$MOUNT_POINT"; then
  mount "$MOUNT_POINT"
  changed "mounted=$MOUNT_POINT"
fi
result`
  )
}
