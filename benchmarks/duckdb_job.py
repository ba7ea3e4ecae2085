"""The same job as one DuckDB SQL query: a window average over the rows in timestamp order."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import duckdb
import yaml

QUERY = """
WITH candles AS (
    SELECT close,
           avg(close) OVER w AS rolling_mean,
           count(close) OVER w AS in_window
    FROM read_csv($path)
    WINDOW w AS (ORDER BY timestamp ROWS BETWEEN $preceding PRECEDING AND CURRENT ROW)
)
SELECT count(*) AS rows,
       sum(CASE WHEN in_window = $window AND close > rolling_mean THEN 1 ELSE 0 END) AS signals
FROM candles
"""


def main() -> None:
    started = time.perf_counter()
    parser = argparse.ArgumentParser()
    for option in ("--input", "--config", "--output", "--log-file"):
        parser.add_argument(option, required=True)
    args = parser.parse_args()
    with Path(args.config).open() as file:
        config = yaml.safe_load(file)
    window = config["window"]
    params = {"path": args.input, "preceding": window - 1, "window": window}
    result = duckdb.execute(QUERY, params).fetchone()
    if result is None:
        message = "DuckDB returned no result"
        raise SystemExit(message)
    rows, signals = result
    metrics = {
        "version": config["version"],
        "rows_processed": rows,
        "metric": "signal_rate",
        "value": round(signals / rows, 4),
        "latency_ms": int((time.perf_counter() - started) * 1000),
        "seed": config["seed"],
        "status": "success",
    }
    with Path(args.output).open("w") as file:
        json.dump(metrics, file, indent=2)
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
