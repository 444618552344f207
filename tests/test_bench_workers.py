"""The workers benchmark's arithmetic (medians, speed-up, the rounds' ratios) and a real run of the demo."""

from __future__ import annotations

import pytest


def test_report_gives_medians_speed_up_and_ratio_range(load_script):
    script = load_script("bench_workers")
    text = script.report([4.0, 5.0, 6.0], [2.0, 2.5, 4.0], workers=2)
    assert "--workers 1: median 5.00 s" in text and "--workers 2: median 2.50 s" in text
    assert "speed-up: 2.00x (rounds' ratios 1.50x-2.00x)" in text


def test_a_real_round_runs_both_settings(nb201_c10, capsys, load_script):
    script = load_script("bench_workers")
    assert script.main(["--rounds", "1", "--budget", "20", "--seeds", "2"]) == 0
    out = capsys.readouterr().out
    assert "round 1/1:" in out and "speed-up:" in out


def test_bad_rounds_are_refused(load_script, capsys):
    with pytest.raises(SystemExit):
        load_script("bench_workers").main(["--rounds", "0"])
    assert "--rounds must be at least 1, got 0" in capsys.readouterr().err
