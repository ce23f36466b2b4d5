"""Benchmarks: measure how well agentctx finds the code a task needs.

``swebench`` scores bundles against the files and functions SWE-bench's gold patches
touched; ``baselines`` holds the lexical methods it is compared with.
"""
