"""What the quality benchmarks share: the progress log and the written results."""

import json
import os
import sys

import numpy as np


def log(line):
    """A progress line on standard error (the table goes to standard output)."""
    print(line, file=sys.stderr, flush=True)


def write(table, summary, args, **meta):
    """Print the markdown table; write it to ``args.markdown`` and the summary rows, with
    NumPy's version and ``meta``, to ``args.json`` where those are given."""
    print(table)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"numpy": np.__version__, **meta, "rows": summary}, f, indent=1)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table + "\n")
