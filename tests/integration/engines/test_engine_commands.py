"""The commands that run batch work: ``portal aggregates --engine ray`` prints exactly what ``--engine local``
prints, and ``portal verify-erased`` finds the same leftovers on both engines (exit 0 clean, 1 found, 2 bad input)."""

from __future__ import annotations

import pytest

from portal import cli
from tests.integration.engines.conftest import RAY_CPUS, drop_derived


@pytest.fixture
def portal(company, monkeypatch, capsys):
    """Run the ``portal`` command in-process against the company; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("PORTAL_DATA_DIR", str(company.data_dir))
    for name in ("PORTAL_DATABASE_URL", "PORTAL_LAKE_URL", "PORTAL_ENGINE", "PORTAL_K_ANONYMITY",
                 "PORTAL_DP_EPSILON", "RAY_ADDRESS"):
        monkeypatch.delenv(name, raising=False)

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            code = cli.main(list(argv))
        except SystemExit as exc:  # argparse refuses an argument this way
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_portal_aggregates_prints_exactly_the_same_on_the_ray_engine_as_on_the_local_one(portal, company, ray_engine):
    # The finest view; the others and the CSV are cut from the same release (tests/integration/council).
    args = ("--by", "department,category", "--period", "week", "--format", "json")
    printed = {}
    for engine in ("local", "ray"):
        drop_derived(company)  # computed from the data files on each engine, not read from the other's release
        code, out, err = portal("aggregates", *args, "--engine", engine, *(("--workers", str(RAY_CPUS))
                                                                            if engine == "ray" else ()))
        assert code == 0, err
        printed[engine] = (out, err.strip().splitlines()[-1])
    assert printed["ray"] == printed["local"]
    assert printed["local"][0].count("\n") > 100 and "people are rounded" in printed["local"][1]


def test_verify_erased_finds_nothing_on_a_clean_lake_on_either_engine(portal, ray_engine, monkeypatch):
    code, out, err = portal("verify-erased")
    assert (code, err) == (0, "")
    assert "on the local engine" in out and out.strip().endswith("No row of an erased person remains.")
    monkeypatch.setenv("PORTAL_ENGINE", "ray")  # the setting, without --engine
    code, out, _ = portal("verify-erased")
    assert code == 0 and "on the ray engine" in out and "No row of an erased person remains." in out


def test_verify_erased_exits_1_naming_the_leftover_file_and_its_request_on_both_engines(portal, leftover,
                                                                                       ray_engine):
    erasure, path = leftover
    reports = {}
    for engine in ("local", "ray"):
        code, out, err = portal("verify-erased", "--engine", engine)
        assert (code, err) == (1, ""), out
        reports[engine] = out.splitlines()[1:]  # the first line names the engine and the time taken
    assert reports["ray"] == reports["local"]
    found = "\n".join(reports["local"])
    assert "FOUND: 3 row(s) in 1 file(s)" in found
    assert f"keystrokes  {erasure.subject_id} ({erasure.request_id}, erased " in found and path.name in found
    # By subject, every row in every table counts: the leftover's later rows too, and the performance
    # records an erasure keeps.
    code, out, _ = portal("verify-erased", "--subject", erasure.subject_id, "--engine", "ray")
    assert code == 1 and f"keystrokes  {erasure.subject_id}: 5 row(s) in " in out
    assert f"performance_records  {erasure.subject_id}: " in out


@pytest.mark.parametrize(("args", "message"), [
    (("--subject", " "), "argument --subject: is empty"),
    (("--subject", "E1\x07"), "is not a subject id"),
    (("--engine", "spark"), "invalid choice: 'spark'"),
    (("--engine", "ray", "--workers", "0"), "must be from 1 to 1,024"),
    (("--workers", "2"), "--workers sizes the ray engine's cluster"),
])
def test_verify_erased_refuses_bad_input_with_exit_2_naming_the_problem(portal, args, message):
    code, out, err = portal("verify-erased", *args)
    assert (code, out) == (2, "")
    assert message in err and "Traceback" not in err
