"""Simulated source systems for chiso's demo, tests and benchmarks.

They are real HTTP services and file generators that reach chiso only through its public
doors (the push API, pull connectors, file upload), never through its internals.
"""
