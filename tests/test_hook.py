"""The import hook, in-process (SPEC §2): who is claimed, what is never opened."""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.resources
import os
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

import autofuture
from autofuture._errors import RebindError
from autofuture.language import hook as _hook
from autofuture.language import pipeline
from autofuture.language.hook import (
    MarkedFinder,
    MarkedLoader,
    MarkedModuleImportedEarly,
    compile_path,
    install,
)

pytest_plugins = ["pytester"]

MARKED = "# autofuture\nprint('loaded', __name__)\n\ndef double(x):\n    return 2 * x\n"
REBINDS = "x = 1\nprint(x)\nx = 2\n"  # SPEC §3: a name is bound at most once


@pytest.fixture(autouse=True)
def isolated_imports(monkeypatch):
    """Each test imports from its own tmp_path and leaves the import system as it was."""
    modules = dict(sys.modules)
    path, meta_path = list(sys.path), list(sys.meta_path)
    importer_cache = dict(sys.path_importer_cache)
    # Cache writes are tested in test_cache.py; here they would only depend
    # on whether the environment sets PYTHONDONTWRITEBYTECODE.
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    # Marked modules that other test files imported plainly are not ours to
    # warn about; test_warns_about_... re-enables the warning with pytest.warns.
    warnings.filterwarnings("ignore", category=MarkedModuleImportedEarly)
    yield
    leaked = list(_hook._active)
    for handle in leaked:
        handle.uninstall()
    sys.modules.clear()
    sys.modules.update(modules)
    sys.path[:] = path
    sys.meta_path[:] = meta_path
    sys.path_importer_cache.clear()
    sys.path_importer_cache.update(importer_cache)
    importlib.invalidate_caches()
    assert not leaked, "a test left the hook installed"


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def root(tmp_path):
    sys.path.insert(0, str(tmp_path))
    importlib.invalidate_caches()
    return tmp_path


def finders() -> list[object]:
    return [f for f in sys.meta_path if isinstance(f, MarkedFinder)]


# -- who is claimed ---------------------------------------------------------


def test_marked_module_is_loaded_through_the_pipeline(root, capsys):
    write(root, "marked_mod.py", MARKED)
    with install():
        import marked_mod
    path = str(root / "marked_mod.py")
    assert type(marked_mod.__loader__) is MarkedLoader
    assert marked_mod.__spec__.loader is marked_mod.__loader__
    assert marked_mod.__file__ == path
    assert capsys.readouterr().out == "loaded marked_mod\n"
    code = marked_mod.__loader__.get_code("marked_mod")
    assert code == pipeline.source_to_code(MARKED, path)
    assert code != compile(MARKED, path, "exec", dont_inherit=True), "rewritten, not plain"


def test_rebinding_in_marked_module_fails_at_import_with_its_location(root, capsys):
    path = write(root, "rebinds.py", "# autofuture\n" + REBINDS)
    with install(), pytest.raises(RebindError) as info:
        import rebinds  # noqa: F401
    assert info.value.filename == str(path)
    assert info.value.lineno == 4
    assert "rebinds" not in sys.modules
    assert capsys.readouterr().out == "", "checked before any of it ran"


def test_same_rebinding_unmarked_is_plain_python(root, capsys):
    write(root, "plain_rebinds.py", REBINDS)
    with install():
        import plain_rebinds
    assert plain_rebinds.x == 2
    assert type(plain_rebinds.__loader__) is importlib.machinery.SourceFileLoader
    assert capsys.readouterr().out == "1\n"


def test_mark_in_body_does_not_count(root):
    write(root, "late_mark.py", "x = 1\n# autofuture\ny = '# autofuture'\nx = 2\n")
    with install():
        import late_mark
    assert late_mark.x == 2


def test_syntax_error_in_marked_module_is_reported_at_its_place(root):
    path = write(root, "broken.py", "# autofuture\nx = 1\ndef f(:\n    pass\n")
    with install(), pytest.raises(SyntaxError) as info:
        import broken  # noqa: F401
    assert (info.value.filename, info.value.lineno) == (str(path), 3)


def test_packages_and_submodules_are_judged_each_by_its_own_mark(root):
    write(root, "mpkg/__init__.py", MARKED)
    write(root, "mpkg/plain.py", REBINDS)
    write(root, "ppkg/__init__.py", "")
    write(root, "ppkg/marked.py", MARKED)
    write(root, "nspkg/marked.py", MARKED)  # namespace package: no __init__ to claim
    with install():
        import mpkg.plain
        import nspkg.marked
        import ppkg.marked
    assert type(mpkg.__loader__) is MarkedLoader
    assert mpkg.__path__ == [str(root / "mpkg")]
    assert type(mpkg.plain.__loader__) is importlib.machinery.SourceFileLoader
    assert type(ppkg.__loader__) is importlib.machinery.SourceFileLoader
    assert type(ppkg.marked.__loader__) is MarkedLoader
    assert type(nspkg.marked.__loader__) is MarkedLoader


def test_resources_of_a_marked_package(root):
    write(root, "datapkg/__init__.py", MARKED)
    write(root, "datapkg/data.txt", "some data\n")
    with install():
        import datapkg
    assert type(datapkg.__loader__) is MarkedLoader
    text = importlib.resources.files(datapkg).joinpath("data.txt").read_text()
    assert text == "some data\n"
    assert datapkg.__loader__.get_source("datapkg") == MARKED  # the user's text


def test_compile_path_futurizes_whether_or_not_marked(tmp_path, monkeypatch):
    # ``python -m autofuture script.py``: the command is the mark.
    write(tmp_path, "script.py", REBINDS)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RebindError) as info:
        compile_path("script.py")
    assert info.value.filename == str(tmp_path / "script.py")
    write(tmp_path, "fine.py", "print('fine')\n")
    code = compile_path("fine.py")
    assert code.co_filename == str(tmp_path / "fine.py")  # absolute, like __main__'s


def test_a_cached_rewrite_of_an_unmarked_script_never_marks_its_module(root, monkeypatch):
    # ``python -m autofuture plain.py`` caches a rewrite of an unmarked file;
    # importing that file as a module must still give plain Python.
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    path = write(root, "plain_script.py", "values = [1]\nvalues.append(2)\n")
    compile_path(path)
    assert os.listdir(root / "__pycache__"), "the rewrite was cached"
    with install():
        import plain_script
    assert type(plain_script.__loader__) is importlib.machinery.SourceFileLoader
    assert plain_script.values == [1, 2]


def test_an_edit_that_keeps_size_and_times_is_seen_on_reimport(root, monkeypatch):
    # Times prove nothing: an editor, a checkout or a restored cache can give
    # a changed file the size and modification time it had.
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    path = write(root, "edited.py", "# autofuture\nvalue = 111\n")
    old = os.stat(path).st_mtime_ns - 3600 * 10**9  # well out of any "too recent" window
    os.utime(path, ns=(old, old))
    with install():
        assert fresh_import("edited").value == 111
        path.write_text("# autofuture\nvalue = 222\n")
        os.utime(path, ns=(old, old))
        assert fresh_import("edited").value == 222
        path.write_text("value = 333\n# autofuture\n")  # the mark is gone, same size
        os.utime(path, ns=(old, old))
        edited = fresh_import("edited")
    assert edited.value == 333
    assert type(edited.__loader__) is importlib.machinery.SourceFileLoader


def test_loader_source_to_code_is_futurized_too(root):
    path = write(root, "marked_mod.py", MARKED)
    loader = MarkedLoader("marked_mod", str(path))
    with pytest.raises(RebindError):
        loader.source_to_code(REBINDS.encode(), str(path))


# -- what is never opened ---------------------------------------------------

_opened_while_finding: list[str] | None = None
_audit_hook_added = False


def _record_finder_opens(event: str, args: tuple) -> None:
    # Audit hooks cannot be removed: this one is inert unless a test arms it.
    if event != "open" or _opened_while_finding is None or not isinstance(args[0], str):
        return
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code is MarkedFinder.find_spec.__code__:
            _opened_while_finding.append(os.path.realpath(args[0]))
            return
        frame = frame.f_back


@pytest.fixture
def finder_opens():
    global _opened_while_finding, _audit_hook_added
    if not _audit_hook_added:
        sys.addaudithook(_record_finder_opens)
        _audit_hook_added = True
    _opened_while_finding = []
    yield _opened_while_finding
    _opened_while_finding = None


def fresh_import(name: str):
    for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
        del sys.modules[key]
    importlib.invalidate_caches()
    return importlib.import_module(name)


def test_stdlib_and_site_packages_are_never_opened(root, finder_opens):
    import cloudpickle

    site_dir = str(Path(cloudpickle.__file__).resolve().parent.parent)
    stdlib = str(Path(os.__file__).resolve().parent)
    write(root, "mine.py", "x = 1\n")
    with install():
        json = fresh_import("json")
        fresh_import("json.tool")
        fresh_import("cloudpickle")
        fresh_import("mine")
    assert type(json.__loader__) is importlib.machinery.SourceFileLoader
    assert [p for p in finder_opens if p.startswith((site_dir, stdlib))] == []
    # The recorder works: the user's own module was opened to look for the mark.
    assert str((root / "mine.py").resolve()) in finder_opens


def test_links_into_the_stdlib_are_never_opened(root, finder_opens):
    # The finder remembers where each directory really is; a linked file, or
    # a file in a linked directory, is judged by where it leads.
    stdlib = Path(os.__file__).resolve().parent
    (root / "mytextwrap.py").symlink_to(stdlib / "textwrap.py")
    (root / "linked").symlink_to(stdlib, target_is_directory=True)
    write(root, "mine.py", "x = 1\n")
    with install():
        fresh_import("mine")  # the directory is remembered as the user's
        fresh_import("mytextwrap")
        sys.path.insert(0, str(root / "linked"))
        importlib.invalidate_caches()
        assert fresh_import("colorsys").__file__.startswith(str(root / "linked"))
    assert [p for p in finder_opens if p.startswith(str(stdlib))] == []
    assert str((root / "mine.py").resolve()) in finder_opens


def test_scan_site_packages_opens_site_packages_but_never_the_stdlib(root, finder_opens):
    import cloudpickle

    stdlib = str(Path(os.__file__).resolve().parent)
    with install(scan_site_packages=True):
        fresh_import("json")
        module = fresh_import("cloudpickle")
    assert os.path.realpath(module.__file__) in finder_opens
    site_dir = str(Path(cloudpickle.__file__).resolve().parent.parent)
    stdlib_opens = [p for p in finder_opens if p.startswith(stdlib) and not p.startswith(site_dir)]
    assert stdlib_opens == []


# -- install, uninstall, idempotence ----------------------------------------


def test_context_manager_and_uninstall(root):
    write(root, "after.py", MARKED)
    with install() as handle:
        assert len(finders()) == 1
        assert handle.installed
        assert sys.meta_path[0] is finders()[0]
    assert finders() == []
    assert not handle.installed
    handle.uninstall()  # again: harmless
    import after

    assert type(after.__loader__) is importlib.machinery.SourceFileLoader


def test_installing_twice_keeps_one_finder_until_the_last_uninstall():
    outer = install()
    inner = install()
    assert len(finders()) == 1
    inner.uninstall()
    assert len(finders()) == 1, "a nested install must not remove the outer one"
    inner.uninstall()
    assert len(finders()) == 1, "uninstalling one handle twice counts once"
    outer.uninstall()
    assert finders() == []


def test_reinstalls_when_meta_path_was_reset():
    with install():
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, MarkedFinder)]
        with install():
            assert len(finders()) == 1


@pytest.mark.parametrize("installer", [install, autofuture.install], ids=["_hook", "public"])
def test_warns_about_a_marked_module_imported_before_install(root, installer):
    write(root, "early_bird.py", MARKED)
    write(root, "early_plain.py", "x = 1\n")
    import early_bird  # noqa: F401
    import early_plain  # noqa: F401

    with pytest.warns(MarkedModuleImportedEarly) as record:
        handle = installer()
    try:
        ours = [w for w in record if str(root) in str(w.message)]
        assert len(ours) == 1
        message = str(ours[0].message)
        assert "'early_bird'" in message and str(root / "early_bird.py") in message
        assert ours[0].filename == __file__, "points at the caller of install()"
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            install().uninstall()  # already warned: silent
        # The advice in the message works.
        reloaded = importlib.reload(sys.modules["early_bird"])
        assert type(reloaded.__loader__) is MarkedLoader
    finally:
        handle.uninstall()


def test_debug_prints_the_rewritten_source(root, monkeypatch, capsys):
    path = write(root, "shown.py", MARKED)
    monkeypatch.setenv("AUTOFUTURE_DEBUG", "1")
    with install():
        import shown  # noqa: F401
    err = capsys.readouterr().err
    assert f"# autofuture: rewritten source of {path}\n" in err
    assert pipeline.show(MARKED, str(path)) in err
    monkeypatch.setenv("AUTOFUTURE_DEBUG", "0")
    write(root, "quiet.py", MARKED)
    with install():
        import quiet  # noqa: F401
    assert capsys.readouterr().err == ""


# -- living with pytest's own rewriting hook --------------------------------


def test_coexists_with_pytest_assertion_rewriting(pytester, monkeypatch):
    package_roots = {str(Path(p).parent) for p in autofuture.__path__}
    pythonpath = [*package_roots, os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, pythonpath)))
    pytester.makepyfile(
        marked_helper=MARKED,
        marked_rebinds="# autofuture\n" + REBINDS,
        test_together=f"""
            import pytest
            from autofuture._errors import RebindError
            from autofuture.language.hook import MarkedLoader, install

            MARKED = {MARKED!r}

            def test_marked_module_is_futurized():
                with install():
                    import marked_helper
                    with pytest.raises(RebindError):
                        import marked_rebinds
                assert isinstance(marked_helper.__loader__, MarkedLoader)
                code = marked_helper.__loader__.get_code("marked_helper")
                plain = compile(MARKED, marked_helper.__file__, "exec", dont_inherit=True)
                assert code != plain

            def test_plain_assert_is_still_rewritten():
                with install():
                    import marked_helper
                values = [1, 2, 3]
                assert values == [1, 2, 4]
        """,
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    # Only pytest's rewritten assert explains itself like this.
    result.stdout.re_match_lines([r"E +assert \[1, 2, 3\] == \[1, 2, 4\]", r"E +At index 2 diff"])
