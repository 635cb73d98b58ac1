"""The SFTP subsystem of an SSH session, run so that the server can tell the client's own
close request from any other close.

asyncssh calls ``SFTPServer.close(file)`` both when the client sends SSH_FXP_CLOSE and when
the session is cleaned up (channel EOF, dropped connection, server shutdown) with handles
still open. Only the first may land an upload. :data:`CLIENT_CLOSE` is true exactly while the
client's close request is being handled (a context variable, so it follows the awaits of that
one request and nothing else); every other close sees it false.

This leans on two asyncssh internals (``SFTPServerHandler._packet_handlers`` and
``SSHServerStreamSession``), which is why asyncssh is pinned to one minor version;
tests/test_gateway_faults.py fails if either stops doing its job.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import ClassVar

import asyncssh
from asyncssh.constants import FXP_CLOSE
from asyncssh.packet import SSHPacket
from asyncssh.sftp import SFTPServerHandler
from asyncssh.stream import SSHReader, SSHServerStreamSession, SSHWriter

CLIENT_CLOSE: ContextVar[bool] = ContextVar("casslink_sftp_client_close", default=False)

ServerFactory = Callable[[asyncssh.SSHServerChannel],
                         asyncssh.SFTPServer | Awaitable[asyncssh.SFTPServer]]


class _ClientCloseHandler(SFTPServerHandler):
    """asyncssh's SFTP request handler, with the client's close request marked."""

    async def _process_close(self, packet: SSHPacket) -> None:
        token = CLIENT_CLOSE.set(True)
        try:
            await SFTPServerHandler._process_close(self, packet)
        finally:
            CLIENT_CLOSE.reset(token)

    _packet_handlers: ClassVar = {**SFTPServerHandler._packet_handlers, FXP_CLOSE: _process_close}


class SFTPOnlySession(SSHServerStreamSession):
    """An SSH session that offers the ``sftp`` subsystem and nothing else (no shell, no
    exec, no scp). ``factory`` makes the SFTP server for the channel and may be a
    coroutine function, so it can look things up off the event loop."""

    def __init__(self, factory: ServerFactory) -> None:
        super().__init__(None, factory, sftp_version=3, allow_scp=False)

    def session_started(self) -> None:
        if self._chan.get_subsystem() != "sftp":  # refused earlier by subsystem_requested
            self._chan.close()
            return
        reader = SSHReader(self, self._chan)
        writer = SSHWriter(self, self._chan)
        self._conn.create_task(_serve(self._init_sftp_server(), reader, writer),
                               reader.logger)


async def _serve(server, reader: SSHReader, writer: SSHWriter) -> None:
    if inspect.isawaitable(server):
        try:
            server = await server
        except Exception:
            writer.channel.close()
            raise
    await _ClientCloseHandler(server, reader, writer, 3).run()
