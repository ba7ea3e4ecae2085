"""The job's errors: what they carry besides their message."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest

from signal_job.errors import IMAGE_VARIABLE, ClashError, install_hint
from signal_job.options import Option
from signal_job.version import __version__


def test_a_clash_keeps_its_options_when_pickled_to_another_process() -> None:
    clash = ClashError("out clashes", options=(Option.OUTPUT, Option.SIGNALS), shared=True)
    clash.version = "v1"
    loaded = pickle.loads(pickle.dumps(clash))  # noqa: S301 - as a multiprocessing pool sends it back
    assert (str(loaded), loaded.options, loaded.shared, loaded.version) == (
        "out clashes",
        (Option.OUTPUT, Option.SIGNALS),
        True,
        "v1",
    )


@pytest.mark.parametrize("extra", ["dask", "cloud", "mlflow"])
def test_an_extra_installs_from_a_checkout_or_a_wheel_not_from_an_index(
    extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(IMAGE_VARIABLE, raising=False)
    hint = install_hint(extra)
    # signal-job is on no index: `pip install 'signal-job[dask]'` finds "No matching distribution".
    assert f"signal-job[{extra}]" not in hint
    assert hint == (
        f"pip install '.[{extra}]' from a checkout of signal-job, "
        f"or 'signal_job-{__version__}-py3-none-any.whl[{extra}]' from its wheel"
    )


def test_inside_the_image_an_extra_comes_with_a_rebuilt_image_not_pip(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(IMAGE_VARIABLE, "1")
    hint = install_hint("dask")
    assert hint == "rebuild the image with the build argument EXTRAS=dask (docs/docker.md)"
    assert "pip" not in hint


def test_the_dockerfile_sets_the_variable_that_tells_the_job_it_runs_in_the_image() -> None:
    dockerfile = (Path(__file__).resolve().parents[1] / "Dockerfile").read_text(encoding="utf-8")
    final_stage = dockerfile.rsplit("\nFROM ", 1)[1]  # the image that runs, not the wheel's build stage
    assert re.search(rf"^(ENV|    ) *.*\b{IMAGE_VARIABLE}=1\b", final_stage, re.MULTILINE)
    assert 'ARG EXTRAS=""' in final_stage  # no extra by default: the default image stays small
