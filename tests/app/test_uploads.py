"""Every file upload tells the person its size limit, and the limit is the server's."""

import ast
from pathlib import Path

from tests.app.conftest import ROOT, signed_in


def uploader_calls(path: Path) -> list[ast.Call]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute) and node.func.attr == "file_uploader"]


def test_every_file_uploader_in_the_pages_names_the_servers_size_limit_in_its_help():
    calls = {path.name: uploader_calls(path) for path in sorted((ROOT / "app_pages").glob("*.py"))}
    assert any(calls.values()), "no st.file_uploader found in app_pages/"
    for name, found in calls.items():
        for call in found:
            helps = [kw.value for kw in call.keywords if kw.arg == "help"]
            assert helps and "server.maxUploadSize" in ast.unparse(helps[0]), f"{name}:{call.lineno}"


def test_the_checkpoint_upload_says_files_over_one_megabyte_are_refused(app):
    at = app(signed_in("wanda"), script="app_pages/log_integrity.py")
    at.run()
    assert not at.exception
    uploader = at.file_uploader(key="stored-checkpoint")
    assert uploader.proto.max_upload_size_mb == 1
    assert "Files over 1 MB are refused" in uploader.help
