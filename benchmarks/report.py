"""What the quality benchmarks share: their common arguments, the progress log and the written
results."""

import argparse
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


def parser(doc, datasets):
    """An argument parser with the common ``--only``, ``--json`` and ``--markdown``."""
    p = argparse.ArgumentParser(description=doc.split("\n")[0])
    p.add_argument("--only", default=",".join(datasets),
                   help=f"comma-separated data sets of {', '.join(datasets)}")
    p.add_argument("--json", help="write the summary here")
    p.add_argument("--markdown", help="write the table here")
    return p


def chosen(p, text, known, what="data set"):
    """The comma-separated names of ``text``, each checked against ``known``."""
    names = text.split(",")
    for name in names:
        if name not in known:
            p.error(f"unknown {what} {name!r}")
    return names
