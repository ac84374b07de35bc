"""The Streamlit server configuration the portal ships with."""

import subprocess
import sys
import tomllib
from pathlib import Path

CONFIG = Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml"


def test_the_server_refuses_uploads_over_one_megabyte():
    # The only upload is a stored log checkpoint of a few hundred bytes; Streamlit's default of
    # 200 MB let a single upload hold that much in the server's memory.
    assert tomllib.loads(CONFIG.read_text())["server"]["maxUploadSize"] == 1


def test_streamlit_watches_no_files_so_data_directories_inside_the_app_folder_do_not_flood_it():
    # Streamlit's watcher follows the app's folder recursively, var/ included; runOnSave is off, so it
    # could only ever offer a rerun. Read through Streamlit's own loader, as `streamlit run` does.
    shown = subprocess.run(
        [sys.executable, "-c", "from streamlit import config; "
         "print(config.get_option('server.fileWatcherType'), config.get_option('server.runOnSave'))"],
        cwd=CONFIG.parent.parent, capture_output=True, text=True, check=True, timeout=60,
    )
    assert shown.stdout.split() == ["none", "False"]


def test_streamlit_runs_no_full_garbage_collection_after_every_script_run():
    # With the domain loaded a full collection takes 0.1-0.2 CPU-s, and a sign-in runs the script three
    # times: that was half of the server's CPU for a sign-in (bench/bench_signin.py).
    shown = subprocess.run(
        [sys.executable, "-c", "from streamlit import config; print(config.get_option('runner.postScriptGC'))"],
        cwd=CONFIG.parent.parent, capture_output=True, text=True, check=True, timeout=60,
    )
    assert shown.stdout.split() == ["False"]


def test_no_folder_beside_the_app_is_named_pages():
    # Until a session has run st.navigation, Streamlit lists every file of a pages/ folder beside the
    # app to anyone, signed in or not, and runs the one a URL names without app.py's gate.
    assert not (CONFIG.parent.parent / "pages").exists()
    assert (CONFIG.parent.parent / "app_pages").is_dir()
