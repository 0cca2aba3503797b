"""The pytest plugin: a user's fresh project gets the sandbox fixtures with no code of its own.

Each test writes a small project with ``pytester`` and runs pytest on it; the plugin is
found through the installed package's ``pytest11`` entry point, as in a user's project
(nothing here registers it by hand). The inner tests assert on what the sandbox counted.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SANDBOX_PAGE = Path(__file__).resolve().parents[1] / "docs" / "src" / "sandbox.md"

pytest_plugins = ["pytester"]

#: A user's test module: enrich through the fixtures, assert on the sandbox's counters.
USER_TESTS = """
    import sys

    import pandas as pd


    def test_loading_the_plugin_imported_no_sandbox():
        assert "salesql_frames.sandbox" not in sys.modules


    def test_enrich(salesql_sandbox, salesql_client):
        leads = pd.DataFrame({"LinkedIn": ["linkedin.com/in/ada", "https://www.linkedin.com/in/ADA/",
                                           "linkedin.com/in/grace"]})
        out = leads.salesql.enrich_persons(client=salesql_client, progress=False, cache=False)
        truth = salesql_sandbox.lookup_person({"linkedin_url": "https://linkedin.com/in/ada"})
        assert salesql_sandbox.counters.searches == 2
        assert salesql_sandbox.counters.requests["persons_bulk"] == 1
        assert out["salesql_full_name"].tolist()[:2] == [truth["full_name"]] * 2


    def test_each_test_gets_a_fresh_sandbox(salesql_sandbox):
        assert salesql_sandbox.counters.searches == 0
        assert salesql_sandbox.base_url.startswith("http://127.0.0.1:")
"""


def test_a_fresh_project_runs_against_the_sandbox(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_faults_are_retried_on_the_shared_fake_clock(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_retry(salesql_sandbox, salesql_client, salesql_clock):
            salesql_sandbox.faults.add("rate_limit", endpoint="allowance", retry_after=7)
            assert salesql_client.allowance().emails_and_phones == 10_000
            assert salesql_sandbox.counters.faults_served == {"rate_limit": 1}
            assert salesql_sandbox.counters.requests["allowance"] == 2
            assert salesql_clock.sleeps == [7]  # Retry-After, on the fake clock
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_seed_and_shape_from_the_command_line_and_the_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nsalesql_seed = 5\nsalesql_shape = lean\n")
    pytester.makepyfile(
        """
        import pytest

        def test_ini(salesql_sandbox, pytestconfig):
            expected = pytestconfig.getoption("salesql_seed") or 5
            assert (salesql_sandbox.seed, salesql_sandbox.shape) == (expected, "lean")
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    pytester.runpytest("-p", "no:cacheprovider", "--salesql-seed=11").assert_outcomes(passed=1)


def test_the_marker_sets_any_sandbox_option_per_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        pytestmark = pytest.mark.salesql_sandbox(seed=3, credits=5)

        @pytest.mark.salesql_sandbox(shape="lean", credits=2, daily_limit=1)
        def test_marked(salesql_sandbox, salesql_client):
            assert (salesql_sandbox.seed, salesql_sandbox.shape) == (3, "lean")  # closest wins
            assert salesql_client.allowance().emails_and_phones == 2
            salesql_client.enrich_person(linkedin_url="https://linkedin.com/in/ada")
            assert salesql_sandbox.counters.searches == 1

        def test_module_mark(salesql_sandbox):
            assert (salesql_sandbox.seed, salesql_sandbox.credits_remaining) == (3, 5)
        """
    )
    pytester.runpytest("-p", "no:cacheprovider", "--strict-markers").assert_outcomes(passed=2)


def test_the_env_fixture_serves_code_that_builds_its_own_client(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import os

        import pandas as pd
        import salesql_frames

        def test_env(salesql_env):
            assert os.environ["SALESQL_BASE_URL"] == salesql_env.base_url
            leads = pd.DataFrame({"LinkedIn": ["linkedin.com/in/ada"]})
            leads.salesql.enrich_persons(progress=False)  # key, URL and cache from the env
            leads.salesql.enrich_persons(progress=False)  # the second run is served by the store
            assert salesql_env.counters.searches == 1
            assert salesql_frames.cache_info().entries >= 1
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_a_wrong_shape_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(salesql_sandbox):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--salesql-shape=verbose")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--salesql-shape*must be one of*'verbose'*"])


def test_the_plugin_can_be_disabled(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(salesql_sandbox):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:salesql_frames")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'salesql_sandbox' not found*"])


def test_the_example_on_the_sandbox_page_passes_as_a_users_test(pytester: pytest.Pytester) -> None:
    section = SANDBOX_PAGE.read_text(encoding="utf-8").split("## In your own tests", 1)[1]
    example = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert example
    assert "def test_" in example[1]
    pytester.makepyfile(test_leads=example[1])
    result = pytester.runpytest("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=example[1].count("\ndef test_"))
