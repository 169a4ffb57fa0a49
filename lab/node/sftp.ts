import {
  closeSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeSync,
  fchmodSync,
  chmodSync,
  fchownSync,
  chownSync,
  type Stats
} from 'node:fs'
import { join, normalize } from 'node:path'
import ssh2 from 'ssh2'
import type { SFTPWrapper } from 'ssh2'

const { STATUS_CODE, OPEN_MODE } = ssh2.utils.sftp

// Minimal SFTP server mapped into the node root: enough for put/get with mode and owner.
export function serveSftp(sftp: SFTPWrapper, rootDir: string): void {
  const handles = new Map<number, number>()
  let next = 1
  const real = (p: string): string => join(rootDir, normalize('/' + p))
  const attrs = (s: Stats) => ({
    mode: s.mode,
    uid: s.uid,
    gid: s.gid,
    size: s.size,
    atime: Math.floor(s.atimeMs / 1000),
    mtime: Math.floor(s.mtimeMs / 1000)
  })
  const handleOf = (h: Buffer): number | undefined => handles.get(h.readUInt32BE(0))
  const fail = (id: number, e: unknown): void => {
    const code = (e as NodeJS.ErrnoException).code
    sftp.status(
      id,
      code === 'ENOENT'
        ? STATUS_CODE.NO_SUCH_FILE
        : code === 'EACCES'
          ? STATUS_CODE.PERMISSION_DENIED
          : STATUS_CODE.FAILURE
    )
  }
  const buf = (n: number): Buffer => {
    const b = Buffer.alloc(4)
    b.writeUInt32BE(n)
    return b
  }
  sftp.on('OPEN', (id, path, flags, a) => {
    try {
      let f = 'r'
      if (flags & OPEN_MODE.WRITE)
        f =
          flags & OPEN_MODE.APPEND
            ? 'a'
            : flags & OPEN_MODE.TRUNC
              ? 'w'
              : flags & OPEN_MODE.CREAT
                ? flags & OPEN_MODE.EXCL
                  ? 'wx'
                  : 'w'
                : 'r+'
      if (flags & OPEN_MODE.READ && flags & OPEN_MODE.WRITE) f = f === 'w' ? 'w+' : f === 'a' ? 'a+' : 'r+'
      const fd = openSync(real(path), f, a?.mode ?? 0o644)
      if (a?.mode !== undefined) fchmodSync(fd, a.mode & 0o7777)
      const h = next++
      handles.set(h, fd)
      sftp.handle(id, buf(h))
    } catch (e) {
      fail(id, e)
    }
  })
  sftp.on('WRITE', (id, h, offset, data) => {
    const fd = handleOf(h)
    if (fd === undefined) return sftp.status(id, STATUS_CODE.FAILURE)
    try {
      writeSync(fd, data, 0, data.length, offset)
      sftp.status(id, STATUS_CODE.OK)
    } catch (e) {
      fail(id, e)
    }
  })
  sftp.on('READ', (id, h, offset, len) => {
    const fd = handleOf(h)
    if (fd === undefined) return sftp.status(id, STATUS_CODE.FAILURE)
    const b = Buffer.alloc(len)
    const n = readSync(fd, b, 0, len, offset)
    if (n === 0) sftp.status(id, STATUS_CODE.EOF)
    else sftp.data(id, b.subarray(0, n))
  })
  sftp.on('CLOSE', (id, h) => {
    const k = h.readUInt32BE(0)
    const fd = handles.get(k)
    if (fd !== undefined) {
      closeSync(fd)
      handles.delete(k)
    }
    sftp.status(id, STATUS_CODE.OK)
  })
  sftp.on('FSTAT', (id, h) => {
    const fd = handleOf(h)
    if (fd === undefined) return sftp.status(id, STATUS_CODE.FAILURE)
    sftp.attrs(id, attrs(fstatSync(fd)))
  })
  sftp.on('STAT', (id, p) => {
    try {
      sftp.attrs(id, attrs(statSync(real(p))))
    } catch (e) {
      fail(id, e)
    }
  })
  sftp.on('LSTAT', (id, p) => {
    try {
      sftp.attrs(id, attrs(lstatSync(real(p))))
    } catch (e) {
      fail(id, e)
    }
  })
  sftp.on('SETSTAT', (id, p, a) => {
    try {
      if (a.mode !== undefined) chmodSync(real(p), a.mode & 0o7777)
      if (a.uid !== undefined && a.gid !== undefined) chownSync(real(p), a.uid, a.gid)
      sftp.status(id, STATUS_CODE.OK)
    } catch (e) {
      fail(id, e)
    }
  })
  sftp.on('FSETSTAT', (id, h, a) => {
    const fd = handleOf(h)
    if (fd === undefined) return sftp.status(id, STATUS_CODE.FAILURE)
    try {
      if (a.mode !== undefined) fchmodSync(fd, a.mode & 0o7777)
      if (a.uid !== undefined && a.gid !== undefined) fchownSync(fd, a.uid, a.gid)
      sftp.status(id, STATUS_CODE.OK)
    } catch (e) {
      fail(id, e)
    }
  })
  sftp.on('MKDIR', (id, p, a) => {
    try {
      mkdirSync(real(p), { mode: a?.mode ?? 0o755 })
      sftp.status(id, STATUS_CODE.OK)
    } catch (e) {
      fail(id, e)
    }
  })
  sftp.on('RMDIR', (id, p) => {
    try {
      rmdirSync(real(p))
      sftp.status(id, STATUS_CODE.OK)
    } catch (e) {
      fail(id, e)
    }
  })
  sftp.on('REMOVE', (id, p) => {
    try {
      unlinkSync(real(p))
      sftp.status(id, STATUS_CODE.OK)
    } catch (e) {
      fail(id, e)
    }
  })
  sftp.on('RENAME', (id, a, b) => {
    try {
      renameSync(real(a), real(b))
      sftp.status(id, STATUS_CODE.OK)
    } catch (e) {
      fail(id, e)
    }
  })
  sftp.on('REALPATH', (id, p) => {
    const r = normalize('/' + (p === '.' || p === '' ? 'root' : p))
    sftp.name(id, [{ filename: r, longname: r, attrs: {} as never }])
  })
  sftp.on('end', () => {
    for (const fd of handles.values()) closeSync(fd)
    handles.clear()
  })
}
