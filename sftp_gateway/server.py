"""The asyncssh SFTP server: authentication, the jailed virtual tree, uploads that land
atomically, read-only outbox downloads, limits and audit.

Every SFTP request goes through a method below; anything not handled here is refused. The
client never names a real path: uploads are written to random names in a hidden staging
folder and outbox reads open ``homes/<participant>/outbox/<name>`` with O_NOFOLLOW.

An upload lands only on the client's own close request (or the rename of a temporary name
it closed): never when the session ends with the file still open (EOF, dropped connection,
shutdown), see :mod:`sftp_gateway.sftp_session`. Its bytes hold no hole: a write must start
at or before the end of the data already written.

Nothing that blocks (database, fsync, hashing, landing) runs on the event loop: it runs on
the gateway's one shared thread pool (:meth:`Gateway.blocking`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import posixpath
import stat as st
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh
from asyncssh import (
    FXF_READ,
    FXF_WRITE,
    SFTPAttrs,
    SFTPFailure,
    SFTPInvalidFilename,
    SFTPName,
    SFTPNoSuchFile,
    SFTPOpUnsupported,
    SFTPPermissionDenied,
    SFTPQuotaExceeded,
)
from sqlalchemy import Engine, func, select

from casslink.db.engine import session_scope
from casslink.db.models import LandedFile
from casslink.login_policy import login_or_none
from casslink.outbox import home_of
from casslink.participants import ParticipantRef, by_id
from casslink.settings import Settings
from casslink.sftp_gateway import accounts, landing
from casslink.sftp_gateway.jail import (
    DROP_AREAS,
    JailError,
    NameNotAllowed,
    VPath,
    is_temp_name,
    resolve,
    servable_name,
)
from casslink.sftp_gateway.policy import Audit, Limits, Lockout
from casslink.sftp_gateway.sftp_session import CLIENT_CLOSE, SFTPOnlySession

log = logging.getLogger("casslink.gateway")
# What ``ls -l`` shows: the owner bits are the user's own access, the group bits that of the
# other logins of the same participant (they share the folders), others have none.
ROOT_MODE = st.S_IFDIR | 0o550  # dr-xr-x---  list the three folders, create nothing
DROP_DIR_MODE = st.S_IFDIR | 0o330  # d-wx-wx---  put files; a listing shows only this session's
OUTBOX_DIR_MODE = st.S_IFDIR | 0o550  # dr-xr-x---  list and get; no put, rm or rename
OUTBOX_FILE_MODE = st.S_IFREG | 0o440  # -r--r-----
DROP_FILE_MODE = st.S_IFREG | 0o220  # --w--w----  an upload of this session: not readable
POOL_THREADS = 8
AUTH_THREADS = 2  # argon2 verifications: their own pool, so a password storm cannot starve
# the file work of signed-in sessions (and the work of signed-in sessions cannot delay logins)


@dataclass
class Upload:
    """An upload in progress (or closed, waiting for the client's rename)."""

    area: str
    name: str
    staged: Path
    fd: int
    size: int = 0  # end of the data written; no write may start beyond it (no holes)
    failed: str = ""
    closed: bool = False


@dataclass
class Gateway:
    """What every connection shares: settings, database, limits, lockout, audit, notifier,
    and the one thread pool every blocking call runs on."""

    settings: Settings
    engine: Engine
    limits: Limits = field(default_factory=Limits)
    notify: Callable[[int], None] | None = None
    sessions: Counter = field(default_factory=Counter)
    connections: set = field(default_factory=set)
    executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(
        POOL_THREADS, thread_name_prefix="gateway"))
    auth_executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(
        AUTH_THREADS, thread_name_prefix="gateway-auth"))

    def __post_init__(self) -> None:
        self.lockout = Lockout(self.engine, self.limits)
        self.audit = Audit(self.settings.logs_dir / "gateway-audit.log")

    async def blocking(self, fn, *args):
        """Run ``fn(*args)`` on the shared pool; the event loop goes on serving sessions."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def hashing(self, fn, *args):
        """Run a password verification (argon2: CPU for tens of milliseconds) on the
        authentication pool."""
        return await asyncio.get_running_loop().run_in_executor(self.auth_executor, fn, *args)

    def shutdown(self) -> None:
        """Wait for blocking work already started (a landing the client asked for). Blocks:
        from a coroutine, await :meth:`aclose` instead."""
        self.auth_executor.shutdown(wait=False, cancel_futures=True)
        self.executor.shutdown(wait=True)

    async def aclose(self) -> None:
        """:meth:`shutdown` off the event loop (the loop goes on closing connections)."""
        await asyncio.get_running_loop().run_in_executor(None, self.shutdown)


class GatewaySSHServer(asyncssh.SSHServer):
    """Authentication: argon2 passwords or public keys, under the shared login policy
    (``casslink.login_policy``): logins are canonical; a locked login or address is refused
    before any hashing; failures count against the canonical login and the address; a success
    counts only once authentication is complete, and resets only that login's own count."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw
        self.peer = "?"
        self.login: str | None = None  # canonical, once authenticated
        self._accepted: tuple[str, str] | None = None  # (login, method) awaiting completion

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
        login = await self._admit(username, "password")
        if login is None:
            return False
        creds = await self.gw.blocking(accounts.credentials, self.gw.engine, login)
        ok = await self.gw.hashing(accounts.verify_password, creds, password)
        return await self._decide(login, ok, "password")

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        login = await self._admit(username, "publickey")
        if login is None:
            return False
        creds = await self.gw.blocking(accounts.credentials, self.gw.engine, login)
        return await self._decide(login, accounts.key_matches(creds, key), "publickey",
                                  probe=True)

    async def _admit(self, username: str, method: str) -> str | None:
        """The canonical login if this attempt may go on to its credentials; None for a
        locked login or address (checked before any argon2 work) or a login that cannot be."""
        if await self._refused_locked(username, method):
            return None
        login = login_or_none(username)
        if login is None:
            await self._failed(username, method, probe=method != "password",
                               reason="invalid login")
        return login

    async def _refused_locked(self, login: str, method: str) -> bool:
        gw = self.gw
        locked = await gw.blocking(gw.lockout.locked, login, self.peer)
        if locked:
            gw.audit("login_refused", user=login[:100], addr=self.peer, method=method,
                     reason="locked out", keys=locked)
        return bool(locked)

    async def _failed(self, login: str, method: str, probe: bool, reason: str = "") -> None:
        gw = self.gw
        if not probe:  # clients offer every key they hold: only passwords count
            for k in await gw.blocking(gw.lockout.failure, login, self.peer):
                gw.audit("lockout", key=k, addr=self.peer)
        gw.audit("login_failed", user=login[:100], addr=self.peer, method=method,
                 **({"reason": reason} if reason else {}))

    async def _decide(self, login: str, ok: bool, method: str, probe: bool = False) -> bool:
        gw = self.gw
        if not ok:
            await self._failed(login, method, probe)
            return False
        # attempts running side by side may have locked it meanwhile
        if await self._refused_locked(login, method):
            return False
        if gw.sessions[login] >= gw.limits.max_sessions_per_user:
            gw.audit("login_refused", user=login, addr=self.peer, reason="session limit")
            return False
        self._accepted = (login, method)  # a key probe or an unsigned key is not a login yet
        return True

    async def auth_completed(self) -> None:
        gw = self.gw
        login = login_or_none(self.conn.get_extra_info("username") or "")
        if login is None:  # cannot happen: every accepted login is canonical
            self.conn.close()
            return
        method = self._accepted[1] if self._accepted and self._accepted[0] == login else "?"
        self.conn.set_extra_info(username=login)  # sessions, registry, audit: the canonical
        await gw.blocking(gw.lockout.success, login)
        gw.sessions[login] += 1
        self.login = login
        gw.audit("login", user=login, addr=self.peer, method=method)


class JailedSFTPServer(asyncssh.SFTPServer):
    """One SFTP session of one user, inside its participant's virtual tree. Made by
    :func:`open_session`, which looks the user up off the event loop."""

    def __init__(self, chan: asyncssh.SSHServerChannel, gw: Gateway,
                 participant: ParticipantRef, home: Path) -> None:
        super().__init__(chan)
        self.gw = gw
        self.login = chan.get_extra_info("username")
        self.participant = participant
        self.home = home
        self.uploads: dict[int, Upload] = {}
        self.pending: dict[tuple[str, str], Upload] = {}  # closed temp names awaiting rename
        self.landed: dict[tuple[str, str], tuple[int, float]] = {}  # (size, time) this session
        self.last_activity = time.monotonic()
        self._idle = asyncio.get_running_loop().create_task(self._idle_watch())

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
            if isinstance(exc, NameNotAllowed):
                raise SFTPInvalidFilename(str(exc)) from exc
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

    def _discard(self, up: Upload, reason: str) -> None:
        """Drop an upload that will never land: its staged bytes go, nothing is registered."""
        if not up.closed:
            with contextlib.suppress(OSError):
                os.close(up.fd)
            up.closed = True
        up.staged.unlink(missing_ok=True)
        self._audit("upload_discarded", path=f"/{up.area}/{up.name}", reason=reason)

    # --- attributes and listings ----------------------------------------------------------
    @staticmethod
    def _dir_attrs(area: str | None) -> SFTPAttrs:
        mode = ROOT_MODE if area is None else DROP_DIR_MODE if area in DROP_AREAS \
            else OUTBOX_DIR_MODE
        now = int(time.time())
        return SFTPAttrs(type=asyncssh.FILEXFER_TYPE_DIRECTORY, permissions=mode, size=0,
                         nlink=1, atime=now, mtime=now)

    @staticmethod
    def _file_attrs(area: str, size: int, mtime: float) -> SFTPAttrs:
        mode = OUTBOX_FILE_MODE if area == "outbox" else DROP_FILE_MODE
        return SFTPAttrs(type=asyncssh.FILEXFER_TYPE_REGULAR, permissions=mode, size=size,
                         nlink=1, atime=int(mtime), mtime=int(mtime))

    def format_user(self, uid: int | None) -> str:
        return self.login

    def format_group(self, gid: int | None) -> str:
        return self.participant.code

    def _attrs(self, vp: VPath) -> SFTPAttrs:
        if vp.name is None:
            return self._dir_attrs(vp.area)
        if vp.area == "outbox":
            try:
                s = os.stat(self._outbox_file(vp.name), follow_symlinks=False)
            except OSError as exc:
                raise SFTPNoSuchFile("no such file") from exc
            if not st.S_ISREG(s.st_mode):
                raise SFTPNoSuchFile("no such file")
            return self._file_attrs("outbox", s.st_size, s.st_mtime)
        key = (vp.area, vp.name)
        if key in self.landed:
            return self._file_attrs(vp.area, *self.landed[key])
        up = self.pending.get(key) or next((u for u in self.uploads.values()
                                            if (u.area, u.name) == key), None)
        if up is not None:
            return self._file_attrs(vp.area, up.size, time.time())
        raise SFTPNoSuchFile("no such file")

    def stat(self, path: bytes) -> SFTPAttrs:
        return self._attrs(self._path(path))

    def lstat(self, path: bytes) -> SFTPAttrs:
        return self._attrs(self._path(path))

    def fstat(self, file_obj: object) -> SFTPAttrs:
        if isinstance(file_obj, Upload):
            return self._file_attrs(file_obj.area, file_obj.size, time.time())
        s = os.fstat(file_obj)
        return self._file_attrs("outbox", s.st_size, s.st_mtime)

    def realpath(self, path: bytes) -> bytes:
        self.last_activity = time.monotonic()
        try:
            return os.fsencode(resolve(path).text)
        except JailError:  # a client may ask for a not-yet-existing name: normalise only
            return posixpath.normpath(posixpath.join(b"/", path))

    async def scandir(self, path: bytes) -> AsyncIterator[SFTPName]:
        vp = self._path(path)
        if vp.name is not None:
            raise SFTPFailure("not a directory")
        yield SFTPName(b".", attrs=self._dir_attrs(vp.area))
        yield SFTPName(b"..", attrs=self._dir_attrs(None))
        if vp.area is None:
            for area in ("inbox", "outbox", "sandbox"):
                yield SFTPName(area.encode(), attrs=self._dir_attrs(area))
            return
        if vp.area == "outbox":
            self._audit("list", path=vp.text)
            for name, size, mtime in await self.gw.blocking(self._outbox_listing):
                yield SFTPName(os.fsencode(name), attrs=self._file_attrs("outbox", size,
                                                                         mtime))
            return
        for (area, name), (size, when) in sorted(self.landed.items()):
            if area == vp.area:
                yield SFTPName(name.encode(), attrs=self._file_attrs(area, size, when))

    def _outbox_listing(self) -> list[tuple[str, int, float]]:
        """Every outbox file a client can open: the names :func:`resolve` accepts."""
        out = []
        with os.scandir(self.home / "outbox") as entries:
            for e in entries:
                if servable_name(e.name) and e.is_file(follow_symlinks=False):
                    with contextlib.suppress(FileNotFoundError):  # removed meanwhile
                        s = e.stat(follow_symlinks=False)
                        out.append((e.name, s.st_size, s.st_mtime))
        return sorted(out, key=lambda x: os.fsencode(x[0]))

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
        replaced = self.pending.pop((vp.area, vp.name), None)
        if replaced is not None:  # a closed temp name opened anew: its first bytes go
            self._discard(replaced, "the client opened the same name again")
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

    async def read(self, file_obj: object, offset: int, size: int) -> bytes:
        """Read an outbox file on the pool: a slow disk never stalls the event loop."""
        self.last_activity = time.monotonic()
        if isinstance(file_obj, Upload):
            raise SFTPPermissionDenied("reading from a drop folder is not allowed")
        return await self.gw.blocking(os.pread, file_obj, size, offset)

    async def write(self, file_obj: object, offset: int, data: bytes) -> int:
        """Write at ``offset``, which must not lie beyond the data written so far: a write
        that would leave a hole (a sparse file bigger than what was sent) is refused, and so
        is one ending past the size limit. Either refusal fails the upload."""
        self.last_activity = time.monotonic()
        if not isinstance(file_obj, Upload):
            raise SFTPPermissionDenied("writing is not allowed here")
        up = file_obj
        if up.failed:
            raise SFTPFailure(up.failed)
        path = f"/{up.area}/{up.name}"
        if offset > up.size:
            up.failed = (f"write at offset {offset} would leave a hole after byte {up.size}: "
                         "write the file from its start, in order")
            self._audit("refused", op="upload", path=path, reason="hole", offset=offset)
            raise SFTPFailure(up.failed)
        if offset + len(data) > self.gw.limits.max_file_bytes:
            up.failed = "file too large"
            self._audit("refused", op="upload", path=path, reason="file too large")
            raise SFTPQuotaExceeded("file too large")
        # asyncssh serves a session's requests one after the other (each awaited), so no
        # other write of this upload runs meanwhile: the hole check above stays exact
        await self.gw.blocking(os.pwrite, up.fd, data, offset)
        up.size = max(up.size, offset + len(data))
        return len(data)

    async def close(self, file_obj: object) -> None:
        """The client's close request lands an upload (or keeps a temporary name for its
        rename); any other close (the session ending with the file open) discards it."""
        self.last_activity = time.monotonic()
        if not isinstance(file_obj, Upload):
            os.close(file_obj)
            return
        up = file_obj
        self.uploads.pop(up.fd, None)
        if not CLIENT_CLOSE.get():
            self._discard(up, "the session ended before the client closed the file")
            return
        if up.failed:
            self._discard(up, up.failed)
            raise SFTPFailure(f"upload refused, nothing landed: {up.failed}")
        up.closed = True
        await self.gw.blocking(_fsync_close, up.fd)
        if is_temp_name(up.name):
            self.pending[(up.area, up.name)] = up  # lands when the client renames it
            return
        await self._land(up, up.name)

    async def _land(self, up: Upload, name: str) -> None:
        channel = "sandbox" if up.area == "sandbox" else "inbox"
        result = await self.gw.blocking(landing.land_upload, self.gw.settings, self.gw.engine,
                                        up.staged, self.participant.id, self.login, name,
                                        channel)
        self.landed[(up.area, name)] = (result.size, time.time())
        self._audit("landed", path=f"/{up.area}/{name}", file_id=result.file_id,
                    sha256=result.sha256, size=result.size, channel=channel)
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

    async def fsync(self, file_obj: object) -> None:
        if isinstance(file_obj, Upload) and not file_obj.closed:
            await self.gw.blocking(os.fsync, file_obj.fd)

    def exit(self) -> None:
        """Session end: unfinished and never-renamed uploads are discarded, never landed."""
        self._idle.cancel()
        for up in list(self.uploads.values()) + list(self.pending.values()):
            self._discard(up, "the session ended before the upload was finished")
        self.uploads.clear()
        self.pending.clear()


def _fsync_close(fd: int) -> None:
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


async def open_session(chan: asyncssh.SSHServerChannel, gw: Gateway) -> JailedSFTPServer:
    """The SFTP server of a new session: the user's participant looked up off the loop."""

    def lookup() -> tuple[ParticipantRef, Path]:
        login = chan.get_extra_info("username")
        creds = accounts.credentials(gw.engine, login)
        if creds is None or creds.disabled:  # removed or disabled since it signed in
            raise PermissionError(f"account {login!r} no longer exists or is disabled")
        participant = by_id(gw.engine, creds.participant_id)
        return participant, home_of(gw.settings, participant.code)

    participant, home = await gw.blocking(lookup)
    return JailedSFTPServer(chan, gw, participant, home)


class SFTPGatewayServer(GatewaySSHServer):
    """The SSH server of one connection: its sessions offer SFTP only (see
    :mod:`sftp_gateway.sftp_session`)."""

    def session_requested(self) -> SFTPOnlySession:
        return SFTPOnlySession(lambda chan: open_session(chan, self.gw))


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
        lambda: SFTPGatewayServer(gw), host, port, server_host_keys=[key], allow_scp=False,
        agent_forwarding=False, allow_pty=False, x11_forwarding=False,
        line_editor=False, login_timeout=60, keepalive_interval=60)
