"""Files named on the command line: directories, unreadable paths and endless devices are named, not read."""

import os

import pytest

from portal.core import input_files
from portal.core.input_files import InputFileError


def test_a_directory_given_as_a_file_is_named():
    with pytest.raises(InputFileError, match="the bundle .* is a directory, not a file"):
        input_files.read_bytes(os.getcwd(), 1000, "the bundle")


def test_a_missing_file_cannot_be_read_and_says_why(tmp_path):
    with pytest.raises(InputFileError, match="cannot read the file .*nope.json: No such file or directory"):
        input_files.read_bytes(tmp_path / "nope.json", 1000)


def test_an_endless_device_stops_at_the_limit_instead_of_filling_memory():
    with pytest.raises(InputFileError, match="/dev/zero holds more than the limit of 1,000 bytes"):
        input_files.read_bytes("/dev/zero", 1000)


def test_a_regular_file_over_the_limit_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "big.json"
    path.write_bytes(b"x" * 2000)
    with pytest.raises(InputFileError, match="is 2,000 bytes, more than the limit of 1,000 bytes"):
        input_files.read_bytes(path, 1000)
    assert input_files.read_bytes(path, 2000) == b"x" * 2000


def test_text_that_is_not_utf8_is_named_with_its_byte(tmp_path):
    path = tmp_path / "key.pub"
    path.write_bytes(b"portal+\xff")
    with pytest.raises(InputFileError, match=r"the key file .* is not UTF-8 text \(byte 8\)"):
        input_files.read_text(path, 1000, "the key file")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_a_file_nobody_may_read_is_named(tmp_path):
    path = tmp_path / "secret.json"
    path.write_text("{}")
    path.chmod(0)
    with pytest.raises(InputFileError, match="cannot read the file .*Permission denied"):
        input_files.read_bytes(path, 1000)


def test_an_output_path_that_is_a_directory_or_in_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(InputFileError, match="--out .* is a directory; name a file"):
        input_files.check_output(tmp_path, "--out")
    with pytest.raises(InputFileError, match="the folder .*missing does not exist"):
        input_files.check_output(tmp_path / "missing" / "x.txt", "--out")
    assert input_files.check_output(tmp_path / "x.txt") == tmp_path / "x.txt"
