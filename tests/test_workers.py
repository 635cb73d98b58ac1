"""Chunks of a batch render in order, on threads or on forked worker processes."""

from __future__ import annotations

import gc
import os
import tempfile

import pytest

from casslink.outputs import workers
from casslink.outputs.workers import map_chunks

CHUNKS = [(0, 3), (3, 5), (5, 9), (9, 10)]


def test_processes_render_every_chunk_in_order_in_other_processes():
    table = list(range(100, 110))  # inherited by the forked workers, never sent to them
    got = list(map_chunks(lambda c: (sum(table[c[0]:c[1]]), os.getpid()), CHUNKS,
                          processes=True))
    assert [s for s, _ in got] == [sum(table[a:z]) for a, z in CHUNKS]
    assert os.getpid() not in {pid for _, pid in got}


@pytest.mark.parametrize("processes", [False, True])
def test_a_failing_chunk_fails_the_batch(processes):
    def render(chunk):
        if chunk == (5, 9):
            raise ValueError("bad chunk")
        return chunk

    with pytest.raises(ValueError, match="bad chunk"):
        list(map_chunks(render, CHUNKS, processes=processes))


def test_threads_and_a_single_chunk_stay_in_this_process():
    assert {pid for pid in map_chunks(lambda c: os.getpid(), CHUNKS)} == {os.getpid()}
    assert list(map_chunks(lambda c: os.getpid(), CHUNKS[:1], processes=True)) == \
        [os.getpid()]


def test_workers_do_not_collect_and_the_parent_is_left_as_it_was():
    """Workers render with the collector off; the parent's objects are frozen only while the
    workers fork, and its collector stays on."""
    got = list(map_chunks(lambda c: (gc.isenabled(), gc.get_freeze_count() > 0), CHUNKS,
                          processes=True))
    assert got == [(False, True)] * len(CHUNKS)
    assert gc.isenabled() and gc.get_freeze_count() == 0


@pytest.fixture(params=["memory", "temp"])
def scratch(request, tmp_path, monkeypatch):
    """The workers' files go to a folder of the test's own: as the in-memory folder, or (no
    such folder on this system) the temporary folder."""
    mine = tmp_path / "scratch"
    mine.mkdir()
    if request.param == "memory":
        monkeypatch.setattr(workers, "SCRATCH", str(mine))
    else:
        monkeypatch.setattr(workers, "SCRATCH", str(tmp_path / "none"))
        monkeypatch.setattr(tempfile, "tempdir", str(mine))
    return mine


def _chunk_files(folder) -> list[str]:
    return os.listdir(folder)


def test_files_come_back_from_the_workers_through_a_mapped_file(scratch, monkeypatch):
    """A chunk rendered to files, (key, bytes) pairs, comes back as read-only views of the
    same bytes (a mapped file in the scratch folder, not pickled), and the file is gone;
    anything else comes back as it was."""
    def render(chunk):
        return [(f"f{i}", bytes([i % 256]) * (i * 1000)) for i in range(*chunk)]

    folders, unshared = [], workers._unshared

    def seen(done):
        folders.append(os.path.dirname(done.path))
        return unshared(done)

    monkeypatch.setattr(workers, "_unshared", seen)
    got = [pair for done in map_chunks(render, CHUNKS, processes=True) for pair in done]
    assert [k for k, _ in got] == [f"f{i}" for i in range(10)]
    assert all(isinstance(v, memoryview) and v.readonly for _, v in got)
    assert [bytes(v) for _, v in got] == [bytes([i]) * (i * 1000) for i in range(10)]
    assert set(folders) == {str(scratch)} and not _chunk_files(scratch)
    monkeypatch.setattr(workers, "_unshared", unshared)
    mixed = list(map_chunks(lambda c: [("k", "not bytes")], CHUNKS, processes=True))
    assert mixed == [[("k", "not bytes")]] * len(CHUNKS)


@pytest.mark.parametrize("stop", ["failure", "early"])
def test_a_batch_that_stops_early_leaves_no_files(scratch, stop):
    """A failing chunk, or a caller that takes only the first chunk: the files of the chunks
    rendered but not taken are removed too."""
    def render(chunk):
        if stop == "failure" and chunk == (3, 5):
            raise ValueError("bad chunk")
        return [("k", b"x" * 100)]

    batch = map_chunks(render, CHUNKS, processes=True)
    assert bytes(next(batch)[0][1]) == b"x" * 100
    if stop == "failure":
        with pytest.raises(ValueError, match="bad chunk"):
            list(batch)
    else:
        batch.close()
    assert not _chunk_files(scratch)
