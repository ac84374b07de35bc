"""Owner-only files and directories, whatever the umask."""

import os
import stat

import pytest

from portal.core import file_modes


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def loose_umask():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_files_written_while_owner_only_holds_are_private_and_the_umask_comes_back(tmp_path, loose_umask):
    with file_modes.owner_only():
        (tmp_path / "inner").mkdir()
        (tmp_path / "inner" / "data.parquet").write_bytes(b"x")
    assert mode(tmp_path / "inner") == 0o700 and mode(tmp_path / "inner" / "data.parquet") == 0o600
    assert os.umask(0o022) == 0o022


def test_nested_owner_only_blocks_keep_the_tight_umask_until_the_outermost_ends(tmp_path, loose_umask):
    with file_modes.owner_only():
        with file_modes.owner_only():
            pass
        (tmp_path / "after-inner").write_text("x")
    assert mode(tmp_path / "after-inner") == 0o600
    assert os.umask(0o022) == 0o022


def test_an_entry_point_restricting_the_process_inside_a_block_stays_restricted_after_it(loose_umask):
    with file_modes.owner_only():
        file_modes.restrict_process()
    assert os.umask(0o022) == file_modes.OWNER_ONLY_UMASK


def test_a_private_file_is_created_0600_and_an_existing_loose_one_is_tightened(tmp_path, loose_umask):
    created = file_modes.private_file(tmp_path / "portal.db")
    assert mode(created) == 0o600 and created.read_bytes() == b""
    loose = tmp_path / "old.db"
    loose.write_bytes(b"content")
    loose.chmod(0o644)
    file_modes.private_file(loose)
    assert mode(loose) == 0o600 and loose.read_bytes() == b"content"


def test_a_private_directory_is_created_0700_and_an_existing_loose_one_is_tightened(tmp_path, loose_umask):
    assert mode(file_modes.private_dir(tmp_path / "new" / "data")) == 0o700
    existing = tmp_path / "existing"
    existing.mkdir(mode=0o755)
    file_modes.private_dir(existing)
    assert mode(existing) == 0o700


def test_tightening_a_missing_file_is_not_an_error(tmp_path):
    file_modes.tighten_if_present(tmp_path / "portal.db-wal")
