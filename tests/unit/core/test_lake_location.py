import subprocess
import sys
from pathlib import Path

import pytest

from portal.core.lake_location import LakeLocation, LocationError, S3Access
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[3]
S3_ENV = {"AWS_ENDPOINT_URL": "https://s3.example.com", "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}


def test_no_lake_url_means_the_lake_directory_in_the_data_directory(tmp_path):
    location = LakeLocation.parse(None, tmp_path)
    assert location.is_local and location.root == str((tmp_path / "lake").resolve())
    assert location.uri("keystrokes") == str((tmp_path / "lake" / "keystrokes").resolve())
    assert location.storage_options is None
    assert location.derived("rollups").root == str((tmp_path / "rollups").resolve())


def test_an_s3_url_names_bucket_and_prefix_for_delta_and_for_the_file_system(tmp_path):
    location = LakeLocation.parse("s3://acme-lake/portal/prod/", tmp_path, S3_ENV)
    assert not location.is_local
    assert location.uri("keystrokes") == "s3://acme-lake/portal/prod/keystrokes"
    assert location.path("keystrokes", "x.parquet") == "acme-lake/portal/prod/keystrokes/x.parquet"
    assert location.derived("rollups").uri() == "s3://acme-lake/portal/prod/_portal/rollups"
    options = location.storage_options
    assert options["AWS_ENDPOINT_URL"] == "https://s3.example.com" and options["AWS_ACCESS_KEY_ID"] == "k"
    assert "AWS_ALLOW_HTTP" not in options
    with pytest.raises(LocationError, match="not in a local directory"):
        location.local_dir  # noqa: B018


@pytest.mark.parametrize(("url", "message"), [
    ("gs://bucket/x", "only local paths and s3://bucket/prefix"),
    ("s3:///prefix-without-bucket", "must look like s3://bucket"),
    ("s3://bucket/a/../b", "'..'"),
    ("s3://bucket/x?versionId=1", "must look like s3://bucket"),
])
def test_a_lake_url_that_is_not_a_path_or_an_s3_prefix_is_refused_naming_it(tmp_path, url, message):
    with pytest.raises(LocationError, match=message):
        LakeLocation.parse(url, tmp_path, S3_ENV)


def test_a_plain_http_endpoint_is_refused_unless_allowed_explicitly():
    with pytest.raises(LocationError, match="AWS_ALLOW_HTTP=true"):
        S3Access.from_environment({"AWS_ENDPOINT_URL": "http://10.0.0.5:9000"})
    allowed = S3Access.from_environment({"AWS_ENDPOINT_URL": "http://10.0.0.5:9000", "AWS_ALLOW_HTTP": "true"})
    assert allowed.storage_options()["AWS_ALLOW_HTTP"] == "true"
    with pytest.raises(LocationError, match="not an http"):
        S3Access.from_environment({"AWS_ENDPOINT_URL": "ftp://host"})


def test_credentials_are_never_part_of_a_locations_text():
    access = S3Access.from_environment({**S3_ENV, "AWS_SECRET_ACCESS_KEY": "very-secret"})
    location = LakeLocation("s3://b/p", Path("."), access, "postgresql://u:pw@h/db")
    assert "very-secret" not in repr(location) and "pw@" not in repr(location)


def test_settings_refuse_a_bad_lake_url_naming_the_setting(tmp_path):
    with pytest.raises(Exception, match="lake_url") as caught:
        make_settings(tmp_path, lake_url="ftp://somewhere/lake")
    assert "only local paths and s3://bucket/prefix" in str(caught.value)


def test_the_command_line_says_what_is_wrong_with_the_lake_url_and_exits_2(tmp_path):
    done = subprocess.run([sys.executable, "-m", "portal.cli", "catalog", "show"], capture_output=True, text=True,
                          cwd=ROOT, env={"PATH": "/usr/bin:/bin", "PORTAL_DATA_DIR": str(tmp_path),
                                         "PORTAL_LAKE_URL": "gs://bucket/lake"}, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "PORTAL_LAKE_URL" in done.stderr and "Traceback" not in done.stderr
