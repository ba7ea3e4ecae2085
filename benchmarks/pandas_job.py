"""The original task's job, the way its run.py does it in pandas: the baseline users compare with.

Same command line as `signal-job run`; reads the whole CSV, takes a float rolling mean, compares;
with `--signals`, also writes each row's timestamp, close, rolling mean and signal (pyarrow).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import pandas as pd
import yaml


def main() -> None:
    started = time.perf_counter()
    parser = argparse.ArgumentParser()
    for option in ("--input", "--config", "--output", "--log-file"):
        parser.add_argument(option, required=True)
    parser.add_argument("--signals")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        handlers=[logging.FileHandler(args.log_file), logging.StreamHandler()],
    )
    with Path(args.config).open() as file:
        config = yaml.safe_load(file)
    df = pd.read_csv(args.input)
    df["rolling_mean"] = df["close"].rolling(window=config["window"]).mean()
    df["signal"] = (df["close"] > df["rolling_mean"]).astype(int)
    if args.signals:
        df["timestamp"] = pd.to_datetime(df["timestamp"], format="%Y-%m-%d %H:%M:%S")
        df["signal"] = df["signal"].astype("int8")
        df[["timestamp", "close", "rolling_mean", "signal"]].to_parquet(args.signals, index=False)
    metrics = {
        "version": config["version"],
        "rows_processed": len(df),
        "metric": "signal_rate",
        "value": round(float(df["signal"].mean()), 4),
        "latency_ms": int((time.perf_counter() - started) * 1000),
        "seed": config["seed"],
        "status": "success",
    }
    logging.info("metrics: %s", metrics)
    with Path(args.output).open("w") as file:
        json.dump(metrics, file, indent=2)
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
