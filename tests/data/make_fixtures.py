"""Write the small fixture files in tests/data/: the same synthetic candles in every spelling.

Run from the project root: `python tests/data/make_fixtures.py`. The files are committed; this
script says how they were made. Every file holds the rows of `candles.csv`.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl

from signal_job.synthetic import candles

HERE = Path(__file__).parent
ROWS, SEED = 400, 7


def main() -> None:
    """Write every fixture."""
    frame = next(candles(ROWS, seed=SEED))
    clean = HERE / "candles.csv"
    frame.write_csv(clean)
    lines = clean.read_text().splitlines()
    header, rows = lines[0], lines[1:]

    def write(name: str, text_lines: list[str], *, eol: str = "\n", final: bool = True) -> None:
        (HERE / name).write_bytes((eol.join(text_lines) + (eol if final else "")).encode())

    write("shipped.csv", [f'"{line}"' for line in lines], eol="\r\n", final=False)
    write("wrapped_lf.csv", [f'"{line}"' for line in lines])
    write("crlf.csv", lines, eol="\r\n")
    write("cr.csv", lines, eol="\r")  # old Mac tools: a bare carriage return ends each line
    write("padded.csv", [" , ".join(header.split(","))] + [f"  {row} \t" for row in rows])
    write("padded_shipped.csv", [f'  "{line}"  ' for line in lines], eol="\r\n")
    blank = []
    for i, row in enumerate(rows):
        blank.append(row)
        if i % 97 == 5:
            blank += ["", " \t ", ""]
    write("blank_lines.csv", [header, *blank, "", "   ", ""])
    write("leading_blank_lines.csv", ["", "  ", header, *rows])
    (HERE / "bom_upper.csv").write_bytes(
        b"\xef\xbb\xbf" + ("\n".join([header.upper(), *rows]) + "\n").encode()
    )
    write("title_case.csv", [header.title(), *rows])
    write("semicolon.csv", [line.replace(",", ";") for line in lines])
    write("tab.tsv", [line.replace(",", "\t") for line in lines])
    write("pipe.csv", [line.replace(",", "|") for line in lines])
    (HERE / "candles.csv.gz").write_bytes(gzip.compress(clean.read_bytes(), mtime=0))
    (HERE / "cr.csv.gz").write_bytes(gzip.compress((HERE / "cr.csv").read_bytes(), mtime=0))
    frame.lazy().sink_csv(HERE / "candles.csv.zst", compression="zstd", check_extension=False)
    floats = frame.with_columns(pl.col("close").cast(pl.Float64))
    floats.write_parquet(HERE / "float_close.parquet")
    frame.write_parquet(HERE / "decimal_close.parquet")
    # Whole cents: the comparison is scale-free, so the counts stay the same.
    frame.with_columns((pl.col("close") * 100).cast(pl.Int64)).write_parquet(HERE / "cents_close.parquet")
    floats.write_ipc(HERE / "candles.arrow")
    floats.write_ipc(HERE / "candles.feather")


if __name__ == "__main__":
    main()
