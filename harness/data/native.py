"""The whole schema, copied the database's own way when source and target are the same kind.

PostgreSQL -> PostgreSQL: `pg_dump --schema-only` in two sections. The pre-data section
(schemas, types, enums, domains, sequences, tables with identity and generated columns and
check constraints, functions, views) is created before the rows; the post-data section
(primary keys, unique constraints, foreign keys, indexes, triggers) after them, so triggers
do not fire on the copied rows and indexes are built once. Sequences get the source's
values (then moved past the largest copied id). Rows go through `COPY` in text form:
kept columns pass through untouched, whatever their type (json, arrays, bytea, ranges...),
and only the masked columns are decoded, transformed and encoded again.

MariaDB/MySQL -> the same: `SHOW CREATE TABLE` for each table (AUTO_INCREMENT, JSON, ENUM,
SET, generated columns, checks, indexes, foreign keys), views and routines before the rows,
triggers after them; rows are loaded with foreign-key checks off.

Without `pg_dump` on the PATH, or across database kinds, the copy falls back to the schema
SQLAlchemy reflects (tables, keys, indexes, unique constraints and foreign keys only).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from harness.errors import HarnessError

SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")
_DEFINER = re.compile(r"\s*DEFINER\s*=\s*(`[^`]*`|'[^']*'|\S+)@(`[^`]*`|'[^']*'|\S+)", re.I)


def native_kind(source: Any, target: Any) -> str:
    """"postgresql" or "mysql" when the schema can be copied natively, else ""."""
    s, t = source.dialect.name, target.dialect.name
    if s == t == "postgresql" and shutil.which("pg_dump") and _pg_dump_fits(source):
        return "postgresql"
    if s in ("mysql", "mariadb") and t in ("mysql", "mariadb"):
        return "mysql"
    return ""


# --- PostgreSQL -----------------------------------------------------------------------------

def _pg_dump_fits(engine: Any) -> bool:
    """Whether the pg_dump on the PATH can read this server (its major version or newer)."""
    proc = subprocess.run(["pg_dump", "--version"], capture_output=True, text=True,
                          check=False, timeout=30)
    found = re.search(r"(\d+)(?:\.\d+)?", proc.stdout)
    if proc.returncode != 0 or not found:
        return False
    with engine.connect() as conn:
        server = conn.dialect.server_version_info or (0,)
    return int(found.group(1)) >= int(server[0])


def _libpq(engine: Any) -> tuple[str, dict[str, str]]:
    """A libpq URI for pg_dump (no password in it: that goes through PGPASSWORD)."""
    url = engine.url
    env = {"PGPASSWORD": url.password} if url.password else {}
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def pg_dump_schema(engine: Any, section: str, exclude: Sequence[str]) -> str:
    """The source's schema DDL for one section ("pre-data" or "post-data")."""
    uri, env = _libpq(engine)
    command = ["pg_dump", "--schema-only", f"--section={section}", "--no-owner",
               "--no-privileges", "--no-comments", "--dbname", uri]
    for pattern in exclude:
        command += ["--exclude-table", f"*.{pattern}"]
    proc = subprocess.run(command, capture_output=True, text=True, check=False,
                          env={**os.environ, **env}, timeout=600)
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or ["pg_dump failed"])[0]
        raise HarnessError(f"--source: pg_dump could not read the schema: {first}",
                           hint="pg_dump must be at least the server's version")
    # psql meta-commands (\restrict, \connect) are not SQL
    return "\n".join(line for line in proc.stdout.splitlines() if not line.startswith("\\"))


def pg_run_script(conn: Any, script: str, what: str) -> None:
    """Run a pg_dump script on the target inside the caller's transaction."""
    from sqlalchemy.exc import DBAPIError

    from harness.data.dburl import error_line

    try:
        conn.exec_driver_sql(script.replace("%", "%%"))
    except DBAPIError as exc:
        raise HarnessError(f"--target: creating the {what} failed: {error_line(exc)}",
                           hint="the target server needs the source's extensions and roles"
                           ) from None


def pg_drop_copied(conn: Any, schemas: Sequence[str], keep: str) -> None:
    """Drop what an earlier copy created in `schemas` (never the `keep` table)."""
    from sqlalchemy import text

    for schema in schemas:
        if schema != "public":
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    rel = conn.execute(text(
        "SELECT c.relkind, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = "
        "c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r','p','v','m','S','f') "
        "AND c.relname <> :keep AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = "
        "c.oid AND d.deptype = 'e')"), {"keep": keep}).all()
    kinds = {"v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE", "f": "FOREIGN TABLE"}
    for kind, name in rel:
        conn.execute(text(f'DROP {kinds.get(kind, "TABLE")} IF EXISTS public."{name}" CASCADE'))
    for (signature,) in conn.execute(text(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = "
            "p.pronamespace WHERE n.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_depend "
            "d WHERE d.objid = p.oid AND d.deptype = 'e')")).all():
        conn.execute(text(f"DROP ROUTINE IF EXISTS {signature} CASCADE"))
    for kind, name in conn.execute(text(
            "SELECT t.typtype, t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = "
            "t.typnamespace WHERE n.nspname = 'public' AND t.typtype IN ('e','d','c','r') AND "
            "(t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c') "
            "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND "
            "d.deptype = 'e')")).all():
        what = "DOMAIN" if kind == "d" else "TYPE"
        conn.execute(text(f'DROP {what} IF EXISTS public."{name}" CASCADE'))


def pg_sequence_values(engine: Any) -> list[tuple[str, int]]:
    """(qualified sequence, last value) of every used sequence of the source."""
    from sqlalchemy import text

    with engine.connect() as conn:
        return [(f'"{s}"."{n}"', int(v)) for s, n, v in conn.execute(text(
            "SELECT schemaname, sequencename, last_value FROM pg_sequences WHERE last_value "
            "IS NOT NULL AND schemaname NOT IN ('pg_catalog', 'information_schema')"))]


_UNESCAPE = re.compile(r"\\(.)")
_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def copy_unescape(field: str) -> str:
    """A field of COPY's text format as its value (the caller handles `\\N`)."""
    return _UNESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), field)


def copy_escape(value: str) -> str:
    """A value as a field of COPY's text format."""
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if "\t" in value or "\n" in value or "\r" in value:
        value = value.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


_NULL = "\\N"


def _decode(field: str) -> Any:
    if field == _NULL:
        return None
    return copy_unescape(field) if "\\" in field else field


def _encode(values: Any) -> list[str]:
    """Transformed values as COPY text fields (escaping only when a value needs it)."""
    texts = [v if v.__class__ is str else (None if v is None else _as_text(v)) for v in values]
    joined = "".join([t for t in texts if t is not None])
    if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
        texts = [None if t is None else copy_escape(t) for t in texts]
    return [_NULL if t is None else t for t in texts]


def pg_copy_table(conn: Any, source: Any, source_name: str, target_name: str,
                  columns: Sequence[str], transforms: Sequence[tuple[int, Callable[..., Any],
                                                                     int | None]],
                  progress: Any, batch_size: int, rows_hint: int = 0) -> int:
    """COPY a table out of the source and into the target (inside `conn`'s transaction),
    masking the transformed columns on the way; returns the rows copied.

    One pipeline, three stages at once: the source's `COPY ... TO STDOUT` runs in `psql` (or
    a reader thread) into an OS pipe; the pipe is cut into blocks of `batch_size` rows, each
    masked (only the transformed columns are decoded and encoded again), on worker processes
    for a big table on a machine with more than one core, in order; the masked blocks stream
    into one `COPY ... FROM STDIN` on the target. Memory holds a few blocks, never the table.
    A table with nothing to mask streams from pipe to target untouched.
    """
    quote = conn.dialect.identifier_preparer.quote
    column_list = ", ".join(quote(c) for c in columns)
    target_cursor = conn.connection.dbapi_connection.cursor()
    copy_in = f"COPY {target_name} ({column_list}) FROM STDIN"
    copy_out = f"COPY (SELECT {column_list} FROM {source_name}) TO STDOUT"
    big = rows_hint >= _PSQL_FROM_ROWS
    incoming, finish = _source_stream(source, copy_out, big)
    pool = _MaskPool(transforms, _workers() if big else 0)
    blocks = _blocks(incoming, batch_size) if transforms else _chunks(incoming)
    stream = _BlockReader(pool.masked(blocks) if transforms else blocks, progress)
    done = False
    try:
        target_cursor.copy_expert(copy_in, stream, size=1 << 20)
        done = True
    except BaseException:
        finish(abort=True)
        if stream.failure is not None:  # the driver reports it as "error in .read() call"
            raise stream.failure from None
        raise
    finally:
        target_cursor.close()
        pool.close(abort=not done)
    finish(abort=False)
    return stream.rows


_PSQL_FROM_ROWS = 50_000  # below this, starting a process costs more than it saves


def _source_stream(source: Any, copy_out: str, big: bool) -> tuple[Any, Callable[..., None]]:
    """The source's COPY text as a binary stream, and how to finish it (raising the reader's
    error). For a big table `psql` reads it in a process of its own when it is on the PATH
    (libpq in C on another core, no Python per row); otherwise a thread of this process."""
    import threading

    psql = shutil.which("psql") if big else None
    if psql:
        uri, env = _libpq(source)
        proc = subprocess.Popen(
            [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", uri, "-c", copy_out],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=1 << 20,
            env={**os.environ, **env, "PGCLIENTENCODING": "UTF8",
                 "PGOPTIONS": "-c default_transaction_read_only=on"})

        def finish_process(abort: bool) -> None:
            if abort:
                proc.kill()
            assert proc.stdout is not None and proc.stderr is not None
            proc.stdout.close()
            errors = proc.stderr.read().decode("utf-8", "replace")
            proc.stderr.close()
            code = proc.wait(timeout=60)
            if code != 0 and not abort:
                first = (errors.strip().splitlines() or [f"psql exit {code}"])[0]
                raise HarnessError(f"--source: reading the rows failed: {first}")

        return proc.stdout, finish_process
    read_fd, write_fd = os.pipe()
    incoming: Any = os.fdopen(read_fd, "rb", buffering=1 << 20)
    outgoing = os.fdopen(write_fd, "wb", buffering=1 << 20)
    failure: list[BaseException] = []

    def read() -> None:
        try:
            with source.connect() as src:
                cursor = src.connection.dbapi_connection.cursor()
                try:
                    cursor.copy_expert(copy_out, outgoing, size=1 << 20)
                finally:
                    cursor.close()
                    src.rollback()
        except BaseException as exc:  # raised by the caller once the pipe is drained
            failure.append(exc)
        finally:
            try:
                outgoing.close()
            except OSError:
                pass

    reader = threading.Thread(target=read, name="qgate-copy-reader", daemon=True)
    reader.start()

    def finish_thread(abort: bool) -> None:
        incoming.close()
        reader.join(timeout=30)
        if failure and not abort:
            raise failure[0]

    return incoming, finish_thread


def _chunks(stream: Any) -> Iterator[bytes]:
    """The pipe in blocks of about a megabyte (rows whole or not: nothing is decoded)."""
    while chunk := stream.read1(1 << 20):
        yield chunk


def _blocks(stream: Any, rows: int) -> Iterator[bytes]:
    """The pipe cut into blocks of at least `rows` whole rows (COPY text: one row a line)."""
    pending: list[bytes] = []
    count = 0
    for chunk in _chunks(stream):
        count += chunk.count(b"\n")
        pending.append(chunk)
        if count >= rows:
            data = b"".join(pending)
            cut = data.rfind(b"\n") + 1
            yield data[:cut]
            pending, count = [data[cut:]], 0
    if tail := b"".join(pending):
        yield tail if tail.endswith(b"\n") else tail + b"\n"


def _workers() -> int:
    """Worker processes for masking: the cores this process may use, at most 4 (the source
    and target servers need the rest); 0 on one core (a worker would only add copying)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return min(cores, 4) if cores > 1 else 0


_FORKED: Sequence[tuple[int, Callable[..., Any], int | None]] = ()


def _mask_worker(tasks: Any, results: Any) -> None:
    """A worker process: masks the blocks it is given with the transforms it inherited."""
    import pickle
    import signal

    # the parent stops the workers: Ctrl-C or a SIGTERM to the group is the parent's to handle
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    while (block := tasks.get()) is not None:
        try:
            results.put(("ok", mask_block(block, _FORKED)))
        except BaseException as exc:  # the parent raises it (as itself when it pickles)
            try:
                pickle.dumps(exc)
            except Exception:
                exc = RuntimeError(f"{type(exc).__name__}: {exc}")
            results.put(("error", exc))


class _MaskPool:
    """Worker processes masking blocks in their order, two blocks ahead each (bounded memory).

    The transforms are closures (keys, pools, caches): the workers are forked and inherit
    them; only blocks travel. Blocks go round-robin and come back in the same order. The
    workers touch no connection and are stopped (killed if need be) before the copy ends,
    so the parent's database sessions stay its own."""

    def __init__(self, transforms: Sequence[tuple[int, Callable[..., Any], int | None]],
                 workers: int) -> None:
        import multiprocessing

        global _FORKED
        self.transforms = transforms
        self.procs: list[Any] = []
        if not workers or "fork" not in multiprocessing.get_all_start_methods():
            return
        context = multiprocessing.get_context("fork")
        self.tasks = [context.Queue() for _ in range(workers)]
        self.results = [context.Queue() for _ in range(workers)]
        _FORKED = transforms
        try:
            for tasks, results in zip(self.tasks, self.results, strict=True):
                proc = context.Process(target=_mask_worker, args=(tasks, results),
                                       name="qgate-mask", daemon=True)
                proc.start()
                self.procs.append(proc)
        finally:
            _FORKED = ()

    def masked(self, blocks: Iterator[bytes]) -> Iterator[bytes]:
        """The blocks masked, in their order."""
        if not self.procs:
            yield from (mask_block(b, self.transforms) for b in blocks)
            return
        sent = received = 0
        ahead = 2 * len(self.procs)
        for block in blocks:
            self.tasks[sent % len(self.procs)].put(block)
            sent += 1
            if sent - received >= ahead:
                yield self._result(received)
                received += 1
        while received < sent:
            yield self._result(received)
            received += 1

    def _result(self, number: int) -> bytes:
        import queue

        which = number % len(self.procs)
        while True:
            try:
                kind, value = self.results[which].get(timeout=5)
                break
            except queue.Empty:
                if not self.procs[which].is_alive():
                    raise RuntimeError("a masking worker process ended (exit code "
                                       f"{self.procs[which].exitcode})") from None
        if kind == "error":
            raise value
        return value

    def close(self, abort: bool = False) -> None:
        """Stop the workers (killed on `abort`: what they hold is dropped) and their queues."""
        for tasks in getattr(self, "tasks", []):
            tasks.cancel_join_thread()
            if not abort:
                tasks.put(None)
        for proc in self.procs:
            proc.join(timeout=0 if abort else 5)
            if proc.is_alive():
                proc.kill()
                proc.join()
        for q in [*getattr(self, "tasks", []), *getattr(self, "results", [])]:
            q.cancel_join_thread()
            q.close()


class _BlockReader(io.RawIOBase):
    """Blocks of COPY text as the file the target's COPY reads, counting rows (newlines)
    for the progress line."""

    def __init__(self, blocks: Iterator[bytes], progress: Any) -> None:
        self.blocks = blocks
        self.progress = progress
        self.rows = 0
        self.left = memoryview(b"")
        #: what went wrong making a block (a transform's error): the copy's error, as itself
        self.failure: BaseException | None = None

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while not self.left:
            try:
                block = next(self.blocks, None)
            except BaseException as exc:
                self.failure = exc
                raise
            if block is None:
                return b""
            lines = block.count(b"\n")
            self.rows += lines
            self.progress.advance(lines)
            self.left = memoryview(block)
        size = len(self.left) if size is None or size < 0 else size
        data, self.left = self.left[:size], self.left[size:]
        return bytes(data)


def mask_block(block: bytes, transforms: Sequence[tuple[int, Callable[..., Any], int | None]]
               ) -> bytes:
    """COPY text rows with their transformed columns masked."""
    rows = [line.split("\t") for line in block.decode("utf-8").split("\n")[:-1]]
    if not rows:
        return b""
    originals: dict[int, list[Any]] = {}
    for index, _fn, by in transforms:
        for wanted in (index, by):
            if wanted is not None and wanted not in originals:
                originals[wanted] = [_decode(r[wanted]) for r in rows]
    for index, fn, by in transforms:
        column = originals[index]
        outs = _encode(map(fn, column) if by is None else map(fn, column, originals[by]))
        for row, out in zip(rows, outs, strict=True):
            row[index] = out
    return ("\n".join(["\t".join(r) for r in rows]) + "\n").encode("utf-8")


def _as_text(value: Any) -> str:
    import json

    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


# --- MariaDB / MySQL ------------------------------------------------------------------------

def _strip_definer(sql: str) -> str:
    return _DEFINER.sub("", sql, count=1)


def mysql_objects(engine: Any, exclude: Callable[[str], bool]) -> dict[str, Any]:
    """The source's DDL: tables (in the given order later), views, routines, triggers."""
    with engine.connect() as conn:
        full = conn.exec_driver_sql("SHOW FULL TABLES").all()
        tables = {name: conn.exec_driver_sql(f"SHOW CREATE TABLE `{name}`").one()[1]
                  for name, kind in full if kind == "BASE TABLE" and not exclude(name)}
        views = {name: _strip_definer(conn.exec_driver_sql(f"SHOW CREATE VIEW `{name}`").one()[1])
                 for name, kind in full if kind == "VIEW"}
        routines = []
        for name, kind in conn.exec_driver_sql(
                "SELECT routine_name, routine_type FROM information_schema.routines WHERE "
                "routine_schema = DATABASE()").all():
            row = conn.exec_driver_sql(f"SHOW CREATE {kind} `{name}`").one()
            if row[2]:
                routines.append((kind, name, _strip_definer(row[2])))
        triggers = []
        for row in conn.exec_driver_sql("SHOW TRIGGERS").all():
            created = conn.exec_driver_sql(f"SHOW CREATE TRIGGER `{row[0]}`").one()
            triggers.append((row[0], _strip_definer(created[2])))
    return {"tables": tables, "views": views, "routines": routines, "triggers": triggers}


def mysql_create(conn: Any, objects: dict[str, Any], order: Sequence[str]) -> None:
    """Tables (foreign-key checks off), routines and views on the target."""
    conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
    for name in order:
        if name in objects["tables"]:
            conn.exec_driver_sql(objects["tables"][name].replace("%", "%%"))
    for _kind, _name, sql in objects["routines"]:
        conn.exec_driver_sql(sql.replace("%", "%%"))
    pending = list(objects["views"].items())
    for _ in range(len(pending) + 1):  # views on views: until every one is created
        left = []
        for name, sql in pending:
            try:
                conn.exec_driver_sql(sql.replace("%", "%%"))
            except Exception:
                left.append((name, sql))
        if not left or len(left) == len(pending):
            pending = left
            break
        pending = left
    for _name, sql in pending:
        conn.exec_driver_sql(sql.replace("%", "%%"))  # raises with the server's reason
    conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 1")


def mysql_drop_copied(conn: Any, objects: dict[str, Any], keep: str) -> None:
    """Drop what an earlier copy created (tables, views, routines; never `keep`)."""
    conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
    for name in objects["views"]:
        conn.exec_driver_sql(f"DROP VIEW IF EXISTS `{name}`")
    for name in objects["tables"]:
        if name != keep:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS `{name}`")
    for kind, name, _sql in objects["routines"]:
        conn.exec_driver_sql(f"DROP {kind} IF EXISTS `{name}`")
    conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 1")


def mysql_create_triggers(conn: Any, objects: dict[str, Any]) -> None:
    """The source's triggers, once the rows are in."""
    for _name, sql in objects["triggers"]:
        conn.exec_driver_sql(sql.replace("%", "%%"))
