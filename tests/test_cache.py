"""The cache of rewritten code (SPEC §2): fresh or unused, atomic, never an error."""

from __future__ import annotations

import importlib.util
import json
import marshal
import os
import py_compile
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import autofuture
from autofuture.language import cache as _cache
from autofuture.language import hook
from autofuture.language import pipeline as _pipeline
from autofuture.language.rewrite import SCHEMA

SOURCE = "# autofuture\nprint('value', 1)\n\ndef double(x):\n    return 2 * x\n"

# What a process importing the marked module `marked` reports on its last
# line: which files the pipeline compiled, and which files under the module's
# directory (or the pycache prefix) were opened.
IMPORTER = """
import json, os, sys
from autofuture.language import hook
from autofuture.language import pipeline as _pipeline
compiled = []
real = _pipeline.source_to_code
def spy(source, filename):
    compiled.append(filename)
    return real(source, filename)
_pipeline.source_to_code = spy

opened = []
def audit(event, args):
    if event == "open" and isinstance(args[0], str):
        opened.append(os.path.abspath(args[0]))
sys.addaudithook(audit)

with hook.install():
    import marked
roots = tuple(sys.argv[1:])
print(json.dumps({"compiled": compiled, "opened": [p for p in opened if p.startswith(roots)]}))
"""


def package_roots() -> list[str]:
    # The directories holding the autofuture under test, so that a child
    # process imports this checkout, not some installed copy.
    return list(dict.fromkeys(str(Path(p).parent) for p in autofuture.__path__))


def child_env(**overrides: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX", "AUTOFUTURE_DEBUG")
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [*package_roots(), env.get("PYTHONPATH")]))
    env.update(overrides)
    return env


def run_import(directory: Path, *roots: Path, **env: str) -> tuple[str, dict]:
    """Import `marked` from *directory* in a fresh process; its output and report.

    The report lists the files opened under *roots* (default: *directory*).
    """
    proc = subprocess.run(
        [sys.executable, "-c", IMPORTER, *map(str, roots or (directory,))],
        cwd=directory,
        env=child_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    *output, report = proc.stdout.splitlines()
    return "\n".join(output), json.loads(report)


def expected_name(stem: str = "marked") -> str:
    return f"{stem}.{sys.implementation.cache_tag}-autofuture-{_cache.version()}-s{SCHEMA}.pyc"


def cache_files(directory: Path) -> list[str]:
    pycache = directory / "__pycache__"
    return sorted(os.listdir(pycache)) if pycache.is_dir() else []


def assert_valid(pyc: Path, source: Path) -> None:
    code = _cache.unpack(pyc.read_bytes(), source.read_bytes(), str(source))
    assert code is not None, f"{pyc} is not a valid cache entry for {source}"


@pytest.fixture
def marked(tmp_path) -> Path:
    path = tmp_path / "marked.py"
    path.write_text(SOURCE)
    return path


@pytest.fixture
def writable(monkeypatch):
    """In-process tests write the cache whatever PYTHONDONTWRITEBYTECODE says."""
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(sys, "pycache_prefix", None)


@pytest.fixture
def compiles(monkeypatch) -> list[str]:
    """The files the pipeline compiles during an in-process test."""
    calls: list[str] = []
    real = _pipeline.source_to_code

    def spy(source, filename):
        calls.append(filename)
        return real(source, filename)

    monkeypatch.setattr(_pipeline, "source_to_code", spy)
    return calls


# -- across processes -------------------------------------------------------


def test_cold_import_writes_the_cache_and_a_warm_one_uses_it(marked):
    directory = marked.parent
    output, report = run_import(directory)
    assert output == "value 1"
    assert report["compiled"] == [str(marked)]
    assert cache_files(directory) == [expected_name()], "no plain .pyc, no temp file"
    pyc = directory / "__pycache__" / expected_name()
    data = pyc.read_bytes()
    assert data[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(data[4:8], "little") == 0b11, "PEP 552 checked hash"
    assert data[8:16] == importlib.util.source_hash(marked.read_bytes())
    assert_valid(pyc, marked)

    output, report = run_import(directory)
    assert output == "value 1"
    assert report["compiled"] == [], "the warm import compiles nothing"
    # The source is still read, to check the hash, and the entry is read.
    assert str(marked) in report["opened"]
    assert str(pyc) in report["opened"]


def test_an_edit_within_the_same_second_is_seen(marked):
    directory = marked.parent
    assert run_import(directory)[0] == "value 1"
    before = marked.stat()
    marked.write_text(SOURCE.replace("1", "2"))  # same size
    os.utime(marked, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = marked.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    output, report = run_import(directory)
    assert output == "value 2"
    assert report["compiled"] == [str(marked)]
    assert_valid(directory / "__pycache__" / expected_name(), marked)


def test_an_edit_with_old_times_restored_is_seen(marked, writable, compiles):
    # Not a same-second race: the file's times are set back an hour, as
    # ``cp -p``, ``tar`` or ``rsync -a`` of another version would, with the
    # size unchanged. The entry is checked against the source's hash.
    old = marked.stat().st_mtime_ns - 3600 * 10**9
    os.utime(marked, ns=(old, old))
    hook.compile_path(marked)
    marked.write_text(SOURCE.replace("1", "3"))
    os.utime(marked, ns=(old, old))
    code = hook.compile_path(marked)
    assert compiles == [str(marked)] * 2
    assert code == _pipeline.source_to_code(marked.read_bytes(), str(marked))
    assert_valid(marked.parent / "__pycache__" / expected_name(), marked)


def test_dont_write_bytecode_environment_writes_nothing(marked):
    directory = marked.parent
    output, report = run_import(directory, PYTHONDONTWRITEBYTECODE="1")
    assert output == "value 1"
    assert report["compiled"] == [str(marked)]
    assert not (directory / "__pycache__").exists()


def test_pycache_prefix_environment_holds_the_cache(marked, tmp_path_factory):
    directory = marked.parent
    prefix = tmp_path_factory.mktemp("prefix")
    output, _ = run_import(directory, PYTHONPYCACHEPREFIX=str(prefix))
    assert output == "value 1"
    assert not (directory / "__pycache__").exists()
    pyc = prefix / str(directory).lstrip(os.sep) / expected_name()
    assert_valid(pyc, marked)
    _, report = run_import(directory, directory, prefix, PYTHONPYCACHEPREFIX=str(prefix))
    assert report["compiled"] == []
    assert str(pyc) in report["opened"]


def test_many_processes_importing_at_once(marked):
    # A thousand MPI ranks in miniature: all start together on a cold cache.
    directory = marked.parent
    go = directory / "go"
    waiter = textwrap.dedent(
        f"""
        import os, sys, time
        while not os.path.exists({str(go)!r}):
            time.sleep(0.005)
        from autofuture.language import hook
        with hook.install():
            import marked
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", waiter],
            cwd=directory,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(64)
    ]
    try:
        time.sleep(0.5)
        go.touch()
        results = [proc.communicate(timeout=300) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for proc, (out, err) in zip(procs, results, strict=True):
        assert (proc.returncode, out, err) == (0, "value 1\n", "")
    assert cache_files(directory) == [expected_name()], "exactly one file, no temp files"
    assert_valid(directory / "__pycache__" / expected_name(), marked)


# -- cache failures are misses ----------------------------------------------


def _cpython_timestamp_pyc(pyc: Path, source: Path) -> None:
    py_compile.compile(str(source), cfile=str(pyc), doraise=True)


def _hash_of_other_source(pyc: Path, source: Path) -> None:
    data = bytearray(pyc.read_bytes())
    data[8:16] = importlib.util.source_hash(b"something else")
    pyc.write_bytes(bytes(data))


def _moved_file(pyc: Path, source: Path) -> None:
    code = compile(source.read_bytes(), "/elsewhere/marked.py", "exec")
    pyc.write_bytes(_cache.pack(source.read_bytes(), code))


def _header_with(flags: int | None = None, magic: bytes | None = None):
    def corrupt(pyc: Path, source: Path) -> None:
        data = bytearray(pyc.read_bytes())
        if flags is not None:
            data[4:8] = flags.to_bytes(4, "little")
        if magic is not None:
            data[:4] = magic
        pyc.write_bytes(bytes(data))

    return corrupt


CORRUPTIONS = {
    "empty": lambda pyc, src: pyc.write_bytes(b""),
    "garbage": lambda pyc, src: pyc.write_bytes(os.urandom(4096)),
    "truncated-header": lambda pyc, src: pyc.write_bytes(pyc.read_bytes()[:10]),
    "header-only": lambda pyc, src: pyc.write_bytes(pyc.read_bytes()[:16]),
    "truncated-code": lambda pyc, src: pyc.write_bytes(pyc.read_bytes()[:-20]),
    "corrupt-code": lambda pyc, src: pyc.write_bytes(pyc.read_bytes()[:16] + b"\xff" * 64),
    "not-code": lambda pyc, src: pyc.write_bytes(
        pyc.read_bytes()[:16] + marshal.dumps(("not", "code"))
    ),
    "wrong-magic": _header_with(magic=b"\x00\x00\r\n"),
    "timestamp-flags": _header_with(flags=0),
    "unchecked-hash-flags": _header_with(flags=0b01),
    "other-source-hash": _hash_of_other_source,
    "cpython-timestamp-pyc": _cpython_timestamp_pyc,
    "compiled-for-another-path": _moved_file,
}


@pytest.mark.parametrize("corrupt", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_a_bad_entry_is_a_miss_and_is_rewritten(marked, writable, compiles, corrupt, capsys):
    hook.compile_path(marked)
    pyc = marked.parent / "__pycache__" / expected_name()
    assert_valid(pyc, marked)
    corrupt(pyc, marked)
    compiles.clear()
    code = hook.compile_path(marked)
    assert compiles == [str(marked)]
    assert code == _pipeline.source_to_code(marked.read_bytes(), str(marked))
    assert code.co_filename == str(marked)
    assert_valid(pyc, marked)
    assert cache_files(marked.parent) == [expected_name()]


def test_a_directory_in_the_way_is_a_miss_and_no_error(marked, writable, compiles):
    pyc = marked.parent / "__pycache__" / expected_name()
    pyc.mkdir(parents=True)
    for _ in range(2):
        hook.compile_path(marked)
    assert compiles == [str(marked)] * 2
    assert cache_files(marked.parent) == [expected_name()] and pyc.is_dir()


def test_entries_of_another_schema_or_version_are_not_read(marked, writable, compiles, monkeypatch):
    hook.compile_path(marked)
    monkeypatch.setattr(_cache, "SCHEMA", SCHEMA + 1)
    hook.compile_path(marked)
    _cache.version.cache_clear()
    monkeypatch.setattr("autofuture._version.__version__", "99.0")
    try:
        hook.compile_path(marked)
        name_99 = _cache.cache_path(str(marked))
    finally:
        _cache.version.cache_clear()
    assert compiles == [str(marked)] * 3
    assert os.path.basename(name_99) == expected_name().replace(
        f"-{_cache.version()}-s{SCHEMA}", f"-99.0-s{SCHEMA + 1}"
    )
    assert len(cache_files(marked.parent)) == 3


def test_optimized_runs_have_their_own_entry(marked, writable, monkeypatch):
    monkeypatch.setattr(sys, "flags", type("flags", (), {"optimize": 2})())
    assert _cache.cache_path(str(marked)).endswith(expected_name()[: -len(".pyc")] + ".opt-2.pyc")


# -- when not to write ------------------------------------------------------


def test_dont_write_bytecode_writes_nothing_but_reads(marked, writable, compiles, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    hook.compile_path(marked)
    assert not (marked.parent / "__pycache__").exists()
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    hook.compile_path(marked)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    hook.compile_path(marked)
    assert compiles == [str(marked)] * 2, "an existing entry is still used, as CPython does"


def test_pycache_prefix_in_process(marked, writable, monkeypatch, tmp_path_factory):
    prefix = tmp_path_factory.mktemp("prefix")
    monkeypatch.setattr(sys, "pycache_prefix", str(prefix))
    hook.compile_path(marked)
    assert not (marked.parent / "__pycache__").exists()
    assert_valid(prefix / str(marked.parent).lstrip(os.sep) / expected_name(), marked)


def test_pycache_is_a_file(marked, writable, compiles):
    (marked.parent / "__pycache__").write_text("not a directory")
    hook.compile_path(marked)
    hook.compile_path(marked)
    assert compiles == [str(marked)] * 2
    assert sorted(os.listdir(marked.parent)) == ["__pycache__", "marked.py"]


def test_read_only_directory(marked, writable, compiles):
    os.chmod(marked.parent, 0o555)
    try:
        try:
            (marked.parent / "probe").touch()
        except PermissionError:
            pass
        else:
            pytest.skip("permissions do not bind this user (root); see the next test")
        hook.compile_path(marked)
    finally:
        os.chmod(marked.parent, 0o755)
    assert compiles == [str(marked)]
    assert sorted(os.listdir(marked.parent)) == ["marked.py"]


def test_unwritable_cache_directory(marked, writable, compiles, monkeypatch):
    # What a read-only __pycache__ does to a non-root user, for every user.
    pycache = str(marked.parent / "__pycache__")
    real_open = os.open

    def refuse(path, *args, **kwargs):
        if os.fspath(path).startswith(pycache):
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    code = hook.compile_path(marked)
    assert code.co_filename == str(marked)
    assert cache_files(marked.parent) == []


def test_a_failed_replace_leaves_no_temporary_file(marked, writable, monkeypatch):
    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    code = compile(SOURCE, str(marked), "exec")
    assert _cache.store(str(marked), marked.read_bytes(), code) is False
    assert cache_files(marked.parent) == []


def test_an_interrupted_write_leaves_no_temporary_file(marked, writable, monkeypatch):
    def interrupt(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupt)
    code = compile(SOURCE, str(marked), "exec")
    with pytest.raises(KeyboardInterrupt):
        _cache.store(str(marked), marked.read_bytes(), code)
    assert cache_files(marked.parent) == []


def test_store_then_load_round_trip(marked, writable):
    source = marked.read_bytes()
    code = compile(source, str(marked), "exec")
    assert _cache.store(str(marked), source, code)
    assert _cache.load(str(marked), source) == code
    assert _cache.load(str(marked), source + b"\n") is None, "stale: never used"
    assert _cache.load(str(marked.parent / "other.py"), source) is None
