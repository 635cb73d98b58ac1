"""The asyncssh SFTP server: authentication, the jailed virtual tree, uploads that land
atomically, read-only outbox downloads, limits and audit.

Every SFTP request goes through a method below; anything not handled here is refused. The
client never names a real path: uploads are written to random names in a hidden staging
folder and outbox reads open ``homes/<participant>/outbox/<safe name>`` with O_NOFOLLOW.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import os
import stat as st
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh
from asyncssh import (
    FXF_READ,
    FXF_WRITE,
    SFTPAttrs,
    SFTPFailure,
    SFTPName,
    SFTPNoSuchFile,
    SFTPOpUnsupported,
    SFTPPermissionDenied,
    SFTPQuotaExceeded,
)
from sqlalchemy import Engine, func, select

from casslink.db.engine import session_scope
from casslink.db.models import LandedFile
from casslink.outbox import home_of
from casslink.participants import ParticipantRef, by_id
from casslink.settings import Settings
from casslink.sftp_gateway import accounts, landing
from casslink.sftp_gateway.jail import DROP_AREAS, JailError, VPath, is_temp_name, resolve
from casslink.sftp_gateway.policy import Audit, Limits, Lockout

log = logging.getLogger("casslink.gateway")
DIR_MODE = st.S_IFDIR | 0o755
FILE_MODE = st.S_IFREG | 0o644


@dataclass
class Upload:
    """An upload in progress (or closed, waiting for the client's rename)."""

    area: str
    name: str
    staged: Path
    fd: int
    hasher: hashlib._Hash = field(default_factory=hashlib.sha256)
    hashed_upto: int = 0
    # sha256 runs on its own thread while the event loop receives the next packets
    # (hashlib releases the GIL); one worker keeps the updates in order
    hash_pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="sha256"))
    hashing: Future | None = None
    size: int = 0
    sequential: bool = True
    failed: str = ""
    closed: bool = False


@dataclass
class Gateway:
    """What every connection shares: settings, database, limits, lockout, audit, notifier."""

    settings: Settings
    engine: Engine
    limits: Limits = field(default_factory=Limits)
    notify: Callable[[int], None] | None = None
    sessions: Counter = field(default_factory=Counter)
    connections: set = field(default_factory=set)

    def __post_init__(self) -> None:
        self.lockout = Lockout(self.limits)
        self.audit = Audit(self.settings.logs_dir / "gateway-audit.log")

    async def blocking(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


class GatewaySSHServer(asyncssh.SSHServer):
    """Authentication: argon2 passwords or public keys; lockout per login and per address."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw
        self.peer = "?"
        self.login: str | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        self.gw.connections.add(conn)
        peer = conn.get_extra_info("peername")
        self.peer = peer[0] if peer else "?"

    def connection_lost(self, exc: Exception | None) -> None:
        self.gw.connections.discard(self.conn)
        if self.login and self.gw.sessions[self.login] > 0:
            self.gw.sessions[self.login] -= 1

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    async def validate_password(self, username: str, password: str) -> bool:
        creds = await self.gw.blocking(accounts.credentials, self.gw.engine, username)
        ok = await self.gw.blocking(accounts.verify_password, creds, password)
        return self._decide(username, ok, "password")

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        creds = await self.gw.blocking(accounts.credentials, self.gw.engine, username)
        return self._decide(username, accounts.key_matches(creds, key), "publickey",
                            probe=True)

    def _decide(self, username: str, ok: bool, method: str, probe: bool = False) -> bool:
        gw, keys = self.gw, (f"user:{username}", f"addr:{self.peer}")
        if gw.lockout.locked(*keys):
            gw.audit("login_refused", user=username, addr=self.peer, method=method,
                     reason="locked out")
            return False
        if not ok:
            if not probe:  # clients offer every key they hold: only passwords count
                for k in gw.lockout.failure(*keys):
                    gw.audit("lockout", key=k, addr=self.peer)
            gw.audit("login_failed", user=username, addr=self.peer, method=method)
            return False
        if gw.sessions[username] >= gw.limits.max_sessions_per_user:
            gw.audit("login_refused", user=username, addr=self.peer, reason="session limit")
            return False
        gw.lockout.success(*keys)
        gw.sessions[username] += 1
        self.login = username
        gw.audit("login", user=username, addr=self.peer, method=method)
        return True


class JailedSFTPServer(asyncssh.SFTPServer):
    """One SFTP session of one user, inside its participant's virtual tree."""

    def __init__(self, chan: asyncssh.SSHServerChannel, gw: Gateway) -> None:
        super().__init__(chan)
        self.gw = gw
        self.login = chan.get_extra_info("username")
        creds = accounts.credentials(gw.engine, self.login)
        self.participant: ParticipantRef = by_id(gw.engine, creds.participant_id)
        self.home = home_of(gw.settings, self.participant.code)
        self.uploads: dict[int, Upload] = {}
        self.pending: dict[tuple[str, str], Upload] = {}  # closed temp names awaiting rename
        self.landed: dict[tuple[str, str], tuple[int, float]] = {}  # (size, time) this session
        self.last_activity = time.monotonic()
        self._idle = asyncio.get_event_loop().create_task(self._idle_watch())

    # --- plumbing ---------------------------------------------------------------------------
    def _audit(self, event: str, **fields) -> None:
        self.gw.audit(event, user=self.login, participant=self.participant.code, **fields)

    def _path(self, path: bytes) -> VPath:
        self.last_activity = time.monotonic()
        try:
            return resolve(path)
        except JailError as exc:
            self._audit("refused", path=path.decode("utf-8", "replace")[:200],
                        reason=str(exc))
            raise SFTPNoSuchFile(str(exc)) from exc

    def _deny(self, what: str, vp: VPath | None = None) -> None:
        self._audit("refused", op=what, path=vp.text if vp else "")
        raise SFTPPermissionDenied(f"{what} is not allowed here")

    async def _idle_watch(self) -> None:
        limit = self.gw.limits.idle_timeout_s
        while True:
            await asyncio.sleep(min(limit, 30.0) / 2)
            if time.monotonic() - self.last_activity > limit:
                self._audit("idle_timeout")
                self.channel.get_connection().close()
                return

    def _outbox_file(self, name: str) -> Path:
        return self.home / "outbox" / name

    # --- attributes and listings ----------------------------------------------------------
    @staticmethod
    def _dir_attrs() -> SFTPAttrs:
        now = int(time.time())
        return SFTPAttrs(type=asyncssh.FILEXFER_TYPE_DIRECTORY, permissions=DIR_MODE,
                         size=0, atime=now, mtime=now)

    @staticmethod
    def _file_attrs(size: int, mtime: float) -> SFTPAttrs:
        return SFTPAttrs(type=asyncssh.FILEXFER_TYPE_REGULAR, permissions=FILE_MODE,
                         size=size, atime=int(mtime), mtime=int(mtime))

    def _attrs(self, vp: VPath) -> SFTPAttrs:
        if vp.name is None:
            return self._dir_attrs()
        if vp.area == "outbox":
            try:
                s = os.stat(self._outbox_file(vp.name), follow_symlinks=False)
            except OSError as exc:
                raise SFTPNoSuchFile("no such file") from exc
            if not st.S_ISREG(s.st_mode):
                raise SFTPNoSuchFile("no such file")
            return self._file_attrs(s.st_size, s.st_mtime)
        key = (vp.area, vp.name)
        if key in self.landed:
            return self._file_attrs(*self.landed[key])
        up = self.pending.get(key) or next((u for u in self.uploads.values()
                                            if (u.area, u.name) == key), None)
        if up is not None:
            return self._file_attrs(up.size, time.time())
        raise SFTPNoSuchFile("no such file")

    def stat(self, path: bytes) -> SFTPAttrs:
        return self._attrs(self._path(path))

    def lstat(self, path: bytes) -> SFTPAttrs:
        return self._attrs(self._path(path))

    def fstat(self, file_obj: object) -> SFTPAttrs:
        if isinstance(file_obj, Upload):
            return self._file_attrs(file_obj.size, time.time())
        return SFTPAttrs.from_local(os.fstat(file_obj))

    def realpath(self, path: bytes) -> bytes:
        self.last_activity = time.monotonic()
        try:
            return resolve(path).text.encode()
        except JailError:  # a client may ask for a not-yet-existing name: normalise only
            import posixpath

            return posixpath.normpath(posixpath.join(b"/", path))

    async def scandir(self, path: bytes) -> AsyncIterator[SFTPName]:
        vp = self._path(path)
        if vp.name is not None:
            raise SFTPFailure("not a directory")
        for dot in (b".", b".."):
            yield SFTPName(dot, attrs=self._dir_attrs())
        if vp.area is None:
            for area in ("inbox", "outbox", "sandbox"):
                yield SFTPName(area.encode(), attrs=self._dir_attrs())
            return
        if vp.area == "outbox":
            self._audit("list", path=vp.text)
            with os.scandir(self.home / "outbox") as entries:
                for e in sorted(entries, key=lambda e: e.name):
                    if e.name.startswith(".") or not e.is_file(follow_symlinks=False):
                        continue
                    s = e.stat(follow_symlinks=False)
                    yield SFTPName(e.name.encode(), attrs=self._file_attrs(s.st_size,
                                                                           s.st_mtime))
            return
        for (area, name), (size, when) in sorted(self.landed.items()):
            if area == vp.area:
                yield SFTPName(name.encode(), attrs=self._file_attrs(size, when))

    # --- files ----------------------------------------------------------------------------
    async def open(self, path: bytes, pflags: int, attrs: SFTPAttrs) -> object:
        vp = self._path(path)
        if vp.name is None:
            raise SFTPFailure("is a directory")
        if vp.area == "outbox":
            if pflags & FXF_WRITE:
                self._deny("writing to the outbox", vp)
            try:
                fd = os.open(self._outbox_file(vp.name), os.O_RDONLY | os.O_NOFOLLOW)
            except OSError as exc:
                raise SFTPNoSuchFile("no such file") from exc
            if not st.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                raise SFTPNoSuchFile("no such file")
            self._audit("download", path=vp.text)
            return fd
        if pflags & FXF_READ or not pflags & FXF_WRITE:
            self._deny("reading from a drop folder", vp)
        if await self._quota_left() <= 0:
            self._audit("refused", op="upload", path=vp.text, reason="quota")
            raise SFTPQuotaExceeded("daily quota exceeded")
        staged = landing.new_staging_path(self.gw.settings)
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        up = Upload(vp.area, vp.name, staged, fd)
        self.uploads[fd] = up
        self.pending.pop((vp.area, vp.name), None)
        self._audit("upload_start", path=vp.text)
        return up

    async def _quota_left(self) -> int:
        def used() -> int:
            today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            with session_scope(self.gw.engine) as s:
                return int(s.scalar(select(func.coalesce(func.sum(LandedFile.size), 0)).where(
                    LandedFile.participant_id == self.participant.id,
                    LandedFile.landed_at >= today)) or 0)

        return self.gw.limits.daily_quota_bytes - await self.gw.blocking(used)

    def read(self, file_obj: object, offset: int, size: int) -> bytes:
        self.last_activity = time.monotonic()
        if isinstance(file_obj, Upload):
            raise SFTPPermissionDenied("reading from a drop folder is not allowed")
        return os.pread(file_obj, size, offset)

    def write(self, file_obj: object, offset: int, data: bytes) -> int:
        self.last_activity = time.monotonic()
        if not isinstance(file_obj, Upload):
            raise SFTPPermissionDenied("writing is not allowed here")
        up = file_obj
        if up.failed:
            raise SFTPFailure(up.failed)
        if offset + len(data) > self.gw.limits.max_file_bytes:
            up.failed = "file too large"
            self._audit("refused", op="upload", path=f"/{up.area}/{up.name}",
                        reason="file too large")
            raise SFTPQuotaExceeded("file too large")
        os.pwrite(up.fd, data, offset)
        if up.sequential and offset == up.hashed_upto:
            up.hashing = up.hash_pool.submit(up.hasher.update, data)
            up.hashed_upto += len(data)
        else:
            up.sequential = False
        up.size = max(up.size, offset + len(data))
        return len(data)

    async def close(self, file_obj: object) -> None:
        self.last_activity = time.monotonic()
        if not isinstance(file_obj, Upload):
            os.close(file_obj)
            return
        up = file_obj
        self.uploads.pop(up.fd, None)
        if self.channel.is_closing() and not up.failed:
            # asyncssh closes the handles a vanished client left open: not a client's close
            up.failed = "the session ended before the client closed the file"
            self._audit("upload_discarded", path=f"/{up.area}/{up.name}", reason=up.failed)
        try:
            if not up.failed:
                await self.gw.blocking(os.fsync, up.fd)
        finally:
            os.close(up.fd)
        up.closed = True
        if up.failed:
            up.hash_pool.shutdown(wait=False)
            up.staged.unlink(missing_ok=True)
            return
        if is_temp_name(up.name):
            self.pending[(up.area, up.name)] = up  # lands when the client renames it
            return
        await self._land(up, up.name)

    async def _land(self, up: Upload, name: str) -> None:
        if up.hashing is not None:
            await asyncio.wrap_future(up.hashing)
        up.hash_pool.shutdown(wait=False)
        sha = up.hasher.hexdigest() if up.sequential and up.hashed_upto == up.size else \
            await self.gw.blocking(landing.sha256_of, up.staged)
        channel = "sandbox" if up.area == "sandbox" else "inbox"
        result = await self.gw.blocking(landing.land, self.gw.settings, self.gw.engine,
                                        up.staged, sha, up.size, self.participant.id,
                                        self.login, name, channel)
        self.landed[(up.area, name)] = (up.size, time.time())
        self._audit("landed", path=f"/{up.area}/{name}", file_id=result.file_id, sha256=sha,
                    size=up.size, channel=channel)
        if self.gw.notify is not None:
            self.gw.notify(result.file_id)

    def fsetstat(self, file_obj: object, attrs: SFTPAttrs) -> None:
        if not isinstance(file_obj, Upload):
            raise SFTPPermissionDenied("changing attributes is not allowed here")

    def setstat(self, path: bytes, attrs: SFTPAttrs) -> None:
        vp = self._path(path)
        key = (vp.area, vp.name)
        if vp.area in DROP_AREAS and (key in self.landed or key in self.pending):
            return  # clients set times after an upload; harmless, ignored
        self._deny("changing attributes", vp)

    def lsetstat(self, path: bytes, attrs: SFTPAttrs) -> None:
        self.setstat(path, attrs)

    async def rename(self, oldpath: bytes, newpath: bytes) -> None:
        old, new = self._path(oldpath), self._path(newpath)
        up = self.pending.get((old.area, old.name)) if old.name else None
        if up is None or new.area != old.area or new.name is None:
            self._deny("rename", old)
        if (new.area, new.name) in self.pending and new != old:
            self.pending.pop((new.area, new.name)).staged.unlink(missing_ok=True)
        del self.pending[(old.area, old.name)]
        if is_temp_name(new.name):
            up.name = new.name
            self.pending[(new.area, new.name)] = up
            return
        await self._land(up, new.name)

    async def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        await self.rename(oldpath, newpath)

    def remove(self, path: bytes) -> None:
        vp = self._path(path)
        up = self.pending.pop((vp.area, vp.name), None) if vp.name else None
        if up is None:
            self._deny("remove", vp)
        up.hash_pool.shutdown(wait=False)
        up.staged.unlink(missing_ok=True)  # a client dropping its own unfinished upload

    def mkdir(self, path: bytes, attrs: SFTPAttrs) -> None:
        self._deny("mkdir", self._path(path))

    def rmdir(self, path: bytes) -> None:
        self._deny("rmdir", self._path(path))

    def readlink(self, path: bytes) -> bytes:
        self._deny("readlink", self._path(path))

    def symlink(self, oldpath: bytes, newpath: bytes) -> None:
        self._deny("symlink")

    def link(self, oldpath: bytes, newpath: bytes) -> None:
        self._deny("link")

    def lock(self, file_obj, offset, length, flags) -> None:
        raise SFTPOpUnsupported("locking is not supported")

    def unlock(self, file_obj, offset, length) -> None:
        raise SFTPOpUnsupported("locking is not supported")

    def statvfs(self, path: bytes):
        raise SFTPOpUnsupported("statvfs is not supported")

    def fstatvfs(self, file_obj: object):
        raise SFTPOpUnsupported("statvfs is not supported")

    def fsync(self, file_obj: object) -> None:
        if isinstance(file_obj, Upload):
            os.fsync(file_obj.fd)

    def exit(self) -> None:
        """Session end: unfinished and never-renamed uploads are discarded, never landed."""
        self._idle.cancel()
        for up in list(self.uploads.values()) + list(self.pending.values()):
            if not up.closed:
                with contextlib.suppress(OSError):
                    os.close(up.fd)
            up.hash_pool.shutdown(wait=False)
            up.staged.unlink(missing_ok=True)
            self._audit("upload_discarded", path=f"/{up.area}/{up.name}")
        self.uploads.clear()
        self.pending.clear()


def host_key(settings: Settings) -> asyncssh.SSHKey:
    """The gateway's ed25519 host key: generated once, kept in the data root's secrets."""
    path = settings.secrets_dir / "ssh_host_ed25519_key"
    settings.secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        key = asyncssh.generate_private_key("ssh-ed25519")
        tmp = path.with_suffix(".tmp")
        key.write_private_key(str(tmp))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    return asyncssh.read_private_key(str(path))


async def start(gw: Gateway, host: str, port: int) -> asyncssh.SSHAcceptor:
    key = host_key(gw.settings)
    await gw.blocking(landing.recover, gw.settings, gw.engine)
    return await asyncssh.create_server(
        lambda: GatewaySSHServer(gw), host, port, server_host_keys=[key],
        sftp_factory=lambda chan: JailedSFTPServer(chan, gw), allow_scp=False,
        agent_forwarding=False, allow_pty=False, x11_forwarding=False,
        line_editor=False, login_timeout=60, keepalive_interval=60)
