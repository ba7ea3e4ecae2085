"""Run the command line as `python -m signal_job`."""

from signal_job.cli import main

main()
