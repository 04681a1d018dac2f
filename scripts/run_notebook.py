#!/usr/bin/env python3
"""Executes a notebook headless (nbclient, its own directory as the working
directory) and fails on the first cell that raises; the cells check their own
outputs with asserts, so the example cannot rot.

    python3 scripts/run_notebook.py examples/notebook/pedestal_and_veto.ipynb
"""
import os
import sys
import time

import nbformat
from nbclient import NotebookClient


def main():
    path = sys.argv[1]
    nb = nbformat.read(path, as_version=4)
    t0 = time.time()
    client = NotebookClient(nb, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}})
    client.execute()
    outputs = sum(len(c.get("outputs", [])) for c in nb.cells if c.cell_type == "code")
    code = sum(1 for c in nb.cells if c.cell_type == "code")
    print(f"{path}: {code} code cells ran ({outputs} outputs) in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
