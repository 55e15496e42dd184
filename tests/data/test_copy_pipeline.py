"""The PostgreSQL copy's masking stage: COPY text cut into blocks of whole rows, masked on
forked worker processes in their order, the same bytes as one process masking them; a
transform that fails or a worker that dies is the copy's error, never a hang."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from typing import Any

import pytest

from harness.data.native import _blocks, _MaskPool, copy_escape, mask_block
from harness.data.providers import masking_pools
from harness.data.transforms import Keyring, Rule, build_transform
from harness.errors import HarnessError

Transforms = list[tuple[int, Callable[..., Any], int | None]]


def copy_text(rows: int) -> bytes:
    """COPY text of (id, name, email, phone, note, created_at) with NULLs and escapes."""
    lines = []
    for n in range(1, rows + 1):
        note = "\\N" if n % 7 == 0 else copy_escape(f"ring twice\tgate {n}\\back\nline é")
        lines.append("\t".join([str(n), f"Asha Rao {n % 50}", f"asha{n}@mail.example",
                                f"+9198{n:08d}" if n % 3 else f"(415) 555-{n % 10000:04d}",
                                note, f"2025-0{1 + n % 9}-1{n % 10} 10:2{n % 10}:00+00"]))
    return ("\n".join(lines) + "\n").encode()


def transforms() -> Transforms:
    keyring, pools = Keyring(b"pipeline-test-key-0123456789abcd"), masking_pools()

    def make(kind: str, **options: Any) -> Callable[..., Any]:
        fn = build_transform(Rule(kind, options), keyring, pools, ("IN", "US"))
        assert fn is not None
        return fn

    return [(1, make("fake", value="name"), None), (2, make("email"), None),
            (3, make("phone"), None), (4, make("scrub"), None),
            (5, make("date_shift", days=30), 0)]


def test_workers_mask_the_same_bytes_as_one_process_in_the_same_order() -> None:
    text = copy_text(5000)
    serial = b"".join(mask_block(b, transforms()) for b in _blocks(io.BytesIO(text), 97))
    pool = _MaskPool(transforms(), 2)
    try:
        assert len(pool.procs) == 2 and all(p.pid != os.getpid() for p in pool.procs)
        parallel = b"".join(pool.masked(_blocks(io.BytesIO(text), 97)))
    finally:
        pool.close()
    assert parallel == serial
    masked = parallel.decode().split("\n")
    assert len(masked) == 5001 and masked[-1] == ""
    assert [line.split("\t")[0] for line in masked[:-1]] == [str(n) for n in range(1, 5001)]
    assert b"asha17@mail.example" not in parallel and b"+919800000017" not in parallel
    assert not any(p.is_alive() for p in pool.procs)


def test_blocks_hold_whole_rows_whatever_the_read_size() -> None:
    text = copy_text(1000)

    class Trickle(io.BytesIO):
        def read1(self, size: int = -1) -> bytes:  # a pipe hands over odd-sized pieces
            return super().read1(333)

    blocks = list(_blocks(Trickle(text), 10))
    assert b"".join(blocks) == text
    assert all(b.endswith(b"\n") and b.count(b"\n") >= 10 for b in blocks[:-1])


def failing(value: Any) -> Any:
    if value == "asha33@mail.example":
        raise HarnessError("row 33: the value cannot be masked")
    return value


def dying(value: Any) -> Any:
    if value == "asha33@mail.example":
        os._exit(3)
    return value


@pytest.mark.parametrize(("transform", "error", "message"), [
    (failing, HarnessError, "row 33: the value cannot be masked"),  # the copy's own error
    (dying, RuntimeError, r"a masking worker process ended \(exit code 3\)"),  # not a hang
], ids=["a transform fails", "a worker dies"])
def test_what_goes_wrong_in_a_worker_is_the_copys_error(
        transform: Callable[[Any], Any], error: type[Exception], message: str) -> None:
    pool = _MaskPool([(2, transform, None)], 2)
    with pytest.raises(error, match=message):
        try:
            b"".join(pool.masked(_blocks(io.BytesIO(copy_text(200)), 10)))
        finally:
            pool.close(abort=True)
    assert not any(p.is_alive() for p in pool.procs)


def test_without_workers_the_same_process_masks() -> None:
    text = copy_text(300)
    pool = _MaskPool(transforms(), 0)
    assert pool.procs == []
    assert b"".join(pool.masked(_blocks(io.BytesIO(text), 50))) == \
        b"".join(mask_block(b, transforms()) for b in _blocks(io.BytesIO(text), 50))


def test_a_transform_failing_mid_copy_is_that_error_and_nothing_is_kept(
        new_database: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through a real COPY into PostgreSQL, on the worker processes: the driver would report
    the failure as "error in .read() call" (exit 4); the copy raises the transform's own
    error, and the target keeps no row."""
    from sqlalchemy import create_engine, text

    from harness.data import native

    monkeypatch.setattr(native, "_PSQL_FROM_ROWS", 1)  # the psql reader and the workers
    source, target = (create_engine(new_database("postgresql")) for _ in range(2))
    for engine in (source, target):
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (id int PRIMARY KEY, email text)"))
    with source.begin() as conn:
        conn.execute(text("INSERT INTO t SELECT i, 'asha' || i || '@mail.example' "
                          "FROM generate_series(1, 200) i"))

    class Quiet:
        def advance(self, rows: int) -> None:
            pass

    with target.connect() as conn, pytest.raises(HarnessError, match="row 33"):
        conn.begin()
        native.pg_copy_table(conn, source, "t", "t", ["id", "email"], [(1, failing, None)],
                             Quiet(), 10, 200)
    with target.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0
    source.dispose()
    target.dispose()
