"""The Streamlit server configuration the portal ships with."""

import tomllib
from pathlib import Path

CONFIG = Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml"


def test_the_server_refuses_uploads_over_one_megabyte():
    # The only upload is a stored log checkpoint of a few hundred bytes; Streamlit's default of
    # 200 MB let a single upload hold that much in the server's memory.
    assert tomllib.loads(CONFIG.read_text())["server"]["maxUploadSize"] == 1
