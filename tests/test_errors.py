"""The job's errors: what they carry besides their message."""

from __future__ import annotations

import pickle

from signal_job.errors import ClashError
from signal_job.options import Option


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
